"""mini.build_mini: the one publish path of every mini corpus (staging, NOTICE, MINI.json, done
marker, swap), and the validator modules' access to their writers (mini.writer_attr)."""
from __future__ import annotations

import json

import pytest

from common.errors import DatasetError
from data_prep import mini


def _fill_with(text: str, calls: list):
    def fill(folder):
        calls.append(folder)
        (folder / "data.txt").write_text(text)
        return mini.Built({"dataset": "toy", "n": 1}, [], [], {"files": 1})
    return fill


def test_build_mini_publishes_notice_manifest_and_marker(tmp_path):
    dest, calls = tmp_path / "toy", []
    assert mini.build_mini(dest, "k1", _fill_with("a", calls), seconds_in_manifest=True) == dest
    assert (dest / "data.txt").read_text() == "a"
    assert (dest / "NOTICE").read_text().startswith("NOTICE")
    manifest = json.loads((dest / "MINI.json").read_text())
    assert manifest["dataset"] == "toy" and manifest["n"] == 1 and manifest["build_seconds"] >= 0
    assert calls[0] != dest and not calls[0].exists()   # built elsewhere, then moved
    assert not list(tmp_path.glob(".toy.*"))             # no staging or old folder left behind


def test_build_mini_without_seconds_keeps_the_manifest_as_given(tmp_path):
    mini.build_mini(tmp_path / "toy", "k1", _fill_with("a", []))
    assert json.loads((tmp_path / "toy" / "MINI.json").read_text()) == {"dataset": "toy", "n": 1}


def test_build_mini_keeps_a_matching_corpus_and_rebuilds_on_a_new_key(tmp_path):
    dest, calls = tmp_path / "toy", []
    mini.build_mini(dest, "k1", _fill_with("a", calls))
    mini.build_mini(dest, "k1", _fill_with("b", calls))
    assert len(calls) == 1 and (dest / "data.txt").read_text() == "a"
    mini.build_mini(dest, "k2", _fill_with("b", calls))
    assert len(calls) == 2 and (dest / "data.txt").read_text() == "b"


def test_a_failed_build_leaves_the_previous_corpus(tmp_path):
    dest = tmp_path / "toy"
    mini.build_mini(dest, "k1", _fill_with("a", []))

    def broken(folder):
        (folder / "data.txt").write_text("half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        mini.build_mini(dest, "k2", broken)
    assert (dest / "data.txt").read_text() == "a"


def test_build_mini_refuses_a_folder_that_is_not_a_mini_corpus(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "precious.wav").write_bytes(b"x")
    with pytest.raises(DatasetError, match="not a mini corpus"):
        mini.build_mini(tmp_path / "user", "k", _fill_with("a", []))
    assert (tmp_path / "user" / "precious.wav").read_bytes() == b"x"


@pytest.mark.parametrize("dataset", ["musan", "gtzan", "urbansound8k", "tut_sed_2016"])
def test_validator_modules_hand_out_their_writers_names(dataset):
    import importlib

    validator = importlib.import_module(f"data_prep.{dataset}")
    writer = importlib.import_module(f"data_prep.{dataset}_mini")
    assert validator.write_mini is writer.write_mini
    assert validator.mini_key is writer.mini_key
    with pytest.raises(AttributeError, match="no_such_name"):
        validator.no_such_name
    with pytest.raises(AttributeError):
        validator._private_of_the_writer
