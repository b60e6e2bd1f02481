"""UrbanSound8K validator and Table-1 distribution on tiny official-layout fixtures, plus the
mini corpus built from the Debian recordings (fold hygiene, counts vs MINI.json)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import urbansound8k as us
from data_prep.sources import PACKAGES

debian_installed = pytest.mark.skipif(
    not all(PACKAGES[p].location.exists() for p in us.MINI_PACKAGES),
    reason="Debian recordings (openttd-opensfx, ufoai-sound) not installed")

# (fsID, classID, occurrence, slice, fold, samplerate, subtype)
ROWS = [
    (100, 0, 0, 0, 1, 22050, "PCM_16"),
    (100, 0, 0, 1, 1, 22050, "PCM_16"),
    (200, 1, 0, 0, 2, 44100, "PCM_24"),
    (300, 3, 1, 0, 3, 16000, "PCM_U8"),
    (301, 3, 0, 0, 3, 48000, "FLOAT"),
]


def make_official(root, rows=ROWS, drop_column=None):
    rng = np.random.default_rng(0)
    records = []
    for fs_id, cid, occ, sl, fold, sr, subtype in rows:
        name = us.slice_file_name(fs_id, cid, occ, sl)
        path = root / "audio" / f"fold{fold}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, 0.1 * rng.standard_normal(int(0.5 * sr)), sr, subtype=subtype)
        records.append({"slice_file_name": name, "fsID": fs_id, "start": 0.0, "end": 0.5,
                        "salience": 1, "fold": fold, "classID": cid, "class": us.CLASSES[cid]})
    df = pd.DataFrame(records)
    if drop_column:
        df = df.drop(columns=[drop_column])
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    df.to_csv(root / "metadata" / "UrbanSound8K.csv", index=False)
    return root


def test_validate_counts_and_manifest(tmp_path):
    report = us.validate(make_official(tmp_path))
    assert report.found == {"slices": 5, "air_conditioner": 2, "car_horn": 1, "dog_bark": 2}
    assert report.missing.empty and report.bad.empty
    # Official counts (8,732 slices) are not met by a 5-file fixture.
    assert not report.ok
    assert report.count_mismatches["slices"] == (5, 8732)
    assert list(report.manifest.columns) == us.MANIFEST_COLUMNS
    assert sorted(report.manifest["samplerate"]) == [16000, 22050, 22050, 44100, 48000]
    assert np.allclose(report.manifest["duration"], 0.5)


def test_label_distribution_matches_metadata(tmp_path):
    table = us.label_distribution(make_official(tmp_path))
    assert list(table.columns) == ["class", "classID", "count"]
    assert table.to_dict("records") == [
        {"class": "air_conditioner", "classID": 0, "count": 2},
        {"class": "car_horn", "classID": 1, "count": 1},
        {"class": "dog_bark", "classID": 3, "count": 2}]


def test_missing_column_names_file_and_column(tmp_path):
    root = make_official(tmp_path, drop_column="salience")
    with pytest.raises(DatasetError) as err:
        us.validate(root)
    assert "salience" in str(err.value) and "UrbanSound8K.csv" in str(err.value)


def test_missing_and_bad_files_are_listed(tmp_path):
    root = make_official(tmp_path)
    (root / "audio" / "fold2" / "200-1-0-0.wav").unlink()
    (root / "audio" / "fold3" / "301-3-0-0.wav").write_bytes(b"RIFF not a wav at all")
    report = us.validate(root)
    assert [p.split("/")[-1] for p in report.missing["path"]] == ["200-1-0-0.wav"]
    assert [p.split("/")[-1] for p in report.bad["path"]] == ["301-3-0-0.wav"]
    assert len(report.manifest) == 3
    assert not report.ok


def test_file_in_wrong_fold_is_missing(tmp_path):
    root = make_official(tmp_path)
    src = root / "audio" / "fold1" / "100-0-0-1.wav"
    src.rename(root / "audio" / "fold2" / src.name)
    report = us.validate(root)
    assert list(report.missing["path"]) == [str(src)]
    assert any("not in the metadata" in n for n in report.notes)


def test_class_id_conflict_is_an_error(tmp_path):
    root = make_official(tmp_path)
    csv = root / "metadata" / "UrbanSound8K.csv"
    df = pd.read_csv(csv)
    df.loc[1, "class"] = "car_horn"         # classID 0 now has two names
    df.to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="classID 0"):
        us.validate(root)


def test_wrong_official_class_name_is_an_error(tmp_path):
    root = make_official(tmp_path)
    csv = root / "metadata" / "UrbanSound8K.csv"
    df = pd.read_csv(csv)
    df["class"] = df["class"].replace("dog_bark", "dog")
    df.to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="official"):
        us.validate(root)


def test_non_integer_fold_names_line(tmp_path):
    root = make_official(tmp_path)
    csv = root / "metadata" / "UrbanSound8K.csv"
    df = pd.read_csv(csv)
    df["fold"] = df["fold"].astype(object)
    df.loc[2, "fold"] = "x"
    df.to_csv(csv, index=False)
    with pytest.raises(DatasetError, match=r"'fold'.*\[4\]"):
        us.validate(root)


def test_root_prefers_argument_and_reports_mini(tmp_path, monkeypatch):
    monkeypatch.delenv(us.ENV_VAR, raising=False)
    root = make_official(tmp_path)
    assert us.root(root) == (root, False)
    with pytest.raises(DatasetError, match=us.ENV_VAR):
        us.root(None, mini_if_unset=False)


def test_write_mini_refuses_a_folder_that_is_not_a_mini_corpus(tmp_path):
    root = make_official(tmp_path)
    with pytest.raises(DatasetError, match="not a mini corpus"):
        us.write_mini(root)
    assert (root / "metadata" / "UrbanSound8K.csv").is_file()


def test_leak_group_merges_repeated_shots():
    class R:
        def __init__(self, group):
            self.group = group
    assert us.leak_group(R("ufoai/weapons/bullet-rifle-3x")) == "ufoai/weapons/bullet-rifle"
    assert us.leak_group(R("ufoai/weapons/bullet-shotgunmini")) == "ufoai/weapons/bullet-shotgun"
    assert us.leak_group(R("ufoai/weapons/bullet-sniper")) == "ufoai/weapons/bullet-sniper"
    assert us.leak_group(R("ufoai/ugv/diesel-move")) == "ufoai/ugv/diesel"
    assert us.leak_group(R("ufoai/civilians/civfemdeath02a")) == "ufoai/civilians/civfemdeath"


# ------------------------------------------------------------------ mini corpus (Debian audio)

@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return us.write_mini(tmp_path_factory.mktemp("us8k_mini"), seed=0)


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_validates_against_its_own_counts(mini):
    info = json.loads((mini / "MINI.json").read_text())
    report = us.validate(mini, mini=True)
    assert report.ok, report.summary()
    assert report.bad.empty
    assert set(report.manifest["samplerate"]) == {us.MINI_SAMPLERATE}
    assert report.manifest["duration"].max() <= us.MAX_SLICE_S + 1e-6
    table = us.label_distribution(mini)
    assert dict(zip(table["class"], table["count"])) == \
        {k: v for k, v in info["counts"].items() if k != "slices"}
    assert table["count"].sum() == info["counts"]["slices"]
    assert list(table["class"]) == sorted(us.MINI_CLASSES)   # all ten classes present


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_folds_never_share_a_recording_or_group(mini):
    info = json.loads((mini / "MINI.json").read_text())
    meta = us.read_metadata(mini)
    assert (meta.groupby("fsID")["fold"].nunique() == 1).all()
    meta["group"] = [info["sources"][str(f)]["group"] for f in meta["fsID"]]
    assert (meta.groupby("group")["fold"].nunique() == 1).all()
    # fsID is the recording index; its class is the recording's class
    assert all(info["sources"][str(f)]["class"] == c for f, c in zip(meta["fsID"], meta["class"]))
    assert set(meta["fold"]) == set(us.FOLDS)


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_is_idempotent_and_deterministic(mini, tmp_path):
    marker = (mini / ".done").stat().st_mtime_ns
    assert us.write_mini(mini, seed=0) == mini
    assert (mini / ".done").stat().st_mtime_ns == marker          # not rebuilt
    other = us.write_mini(tmp_path / "again", seed=0)
    assert (other / us.CSV_RELPATH).read_text() == (mini / us.CSV_RELPATH).read_text()


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_is_not_mistaken_for_the_official_dataset(mini):
    with pytest.raises(DatasetError, match="mini=True"):
        us.validate(mini)
