"""DESED (DCASE 2020 Task 4) data layer: tsv readers and the validator on hand-made
official-layout trees (no-event rows included), weak labels from strong ones, and the mini
corpus built from Debian recordings."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import datasets, desed
from data_prep.sources import PACKAGES

CLASSES = ["Alarm_bell_ringing", "Blender", "Cat", "Dishes", "Dog", "Electric_shaver_toothbrush",
           "Frying", "Running_water", "Speech", "Vacuum_cleaner"]


def wav(path: Path, sr: int = 44100, seconds: float = 10.0, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    y = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))
    sf.write(path, y.astype(np.float32), sr)


def tiny_tree(root: Path) -> Path:
    """Two files per subset; validation has a file with no event (the official empty row)."""
    meta = root / "metadata"
    (meta / "train" / "synthetic20").mkdir(parents=True)
    (meta / "validation").mkdir()
    (meta / "eval").mkdir()
    (meta / "train" / "weak.tsv").write_text(
        "filename\tevent_labels\nYaaa_0.000_10.000.wav\tDog,Speech\nYbbb_30.000_40.000.wav\tCat\n")
    (meta / "train" / "unlabel_in_domain.tsv").write_text(
        "filename\nYccc_10.000_20.000.wav\nYddd_0.000_10.000.wav\n")
    (meta / "train" / "synthetic20" / "soundscapes.tsv").write_text(
        "filename\tonset\toffset\tevent_label\n0.wav\t0.5\t2.25\tBlender\n1.wav\t3\t4\tFrying\n"
        "1.wav\t5.5\t9.0\tSpeech\n")
    (meta / "validation" / "validation.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nYeee_0.000_10.000.wav\t0.163\t0.665\tAlarm_bell_ringing\n"
        "Yeee_0.000_10.000.wav\t1.000\t10.000\tSpeech\nYfff_20.000_30.000.wav\t\t\t\n")
    (meta / "eval" / "public.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nYggg_0.000_10.000.wav\t0.0\t10.0\tVacuum_cleaner\n"
        "Yhhh_0.000_10.000.wav\t2.0\t3.0\tDishes\n")
    audio = {"train/weak": ["Yaaa_0.000_10.000.wav", "Ybbb_30.000_40.000.wav"],
             "train/unlabel_in_domain": ["Yccc_10.000_20.000.wav", "Yddd_0.000_10.000.wav"],
             "train/synthetic20/soundscapes": ["0.wav", "1.wav"],
             "validation": ["Yeee_0.000_10.000.wav", "Yfff_20.000_30.000.wav"],
             "eval/public": ["Yggg_0.000_10.000.wav", "Yhhh_0.000_10.000.wav"]}
    for i, (folder, names) in enumerate(audio.items()):
        for j, name in enumerate(names):
            # Official clips come at the rates YouTube gave them: mix 44.1 and 48 kHz.
            wav(root / "audio" / folder / name, sr=48000 if j else 44100, seed=10 * i + j)
    return root


def test_registered_and_official_counts():
    assert datasets.get("desed") is desed
    assert desed.ENV_VAR == "DESED_ROOT"
    assert list(desed.CLASSES) == CLASSES
    assert desed.EXPECTED == {"weak_files": 1578, "unlabel_in_domain_files": 14412,
                              "synthetic_files": 2584, "validation_files": 1168,
                              "validation_rows": 4251, "eval_public_files": 692,
                              "eval_public_rows": 2765}


def test_read_strong_keeps_the_no_event_row_as_nan(tmp_path):
    root = tiny_tree(tmp_path / "dataset")
    df = desed.read_strong(root / "metadata/validation/validation.tsv")
    assert len(df) == 3
    empty = df[df["filename"] == "Yfff_20.000_30.000.wav"].iloc[0]
    assert math.isnan(empty["onset"]) and math.isnan(empty["offset"])
    assert pd.isna(empty["event_label"])
    assert df["event_label"].notna().sum() == 2
    # pandas reads the official file the same way (NaN in all three columns).
    ref = pd.read_csv(root / "metadata/validation/validation.tsv", sep="\t")
    assert ref["onset"].isna().tolist() == df["onset"].isna().tolist()


def test_validate_tiny_official_tree(tmp_path, monkeypatch):
    tiny_tree(tmp_path / "dataset")
    monkeypatch.setenv("DESED_ROOT", str(tmp_path))    # the parent of dataset/ is accepted
    rep = desed.validate()
    assert rep.root == tmp_path / "dataset"
    assert rep.missing.empty and rep.bad.empty, rep.summary()
    assert rep.found == {"weak_files": 2, "unlabel_in_domain_files": 2, "synthetic_files": 2,
                         "synthetic_rows": 3, "synthetic_events": 3, "validation_files": 2,
                         "validation_rows": 3, "validation_events": 2, "eval_public_files": 2,
                         "eval_public_rows": 2, "eval_public_events": 2}
    assert not rep.ok and rep.count_mismatches["validation_rows"] == (3, 4251)
    events = dict(zip(rep.manifest["filename"], rep.manifest["events"]))
    assert events["Yfff_20.000_30.000.wav"] == 0 and events["Yeee_0.000_10.000.wav"] == 2
    assert events["Yaaa_0.000_10.000.wav"] == 2       # weak: number of labels
    assert set(rep.manifest["samplerate"]) == {44100, 48000}
    dur = desed.durations(rep, "validation")
    assert list(dur.columns) == ["filename", "duration"] and np.allclose(dur["duration"], 10.0)


def test_validate_lists_missing_and_bad_files(tmp_path):
    root = tiny_tree(tmp_path / "dataset")
    (root / "audio/validation/Yfff_20.000_30.000.wav").unlink()
    (root / "audio/train/weak/Ybbb_30.000_40.000.wav").write_bytes(b"garbage")
    (root / "metadata/train/unlabel_in_domain.tsv").unlink()
    wav(root / "audio/eval/public/Yzzz_0.000_10.000.wav")      # not listed in public.tsv
    rep = desed.validate(root)
    assert set(rep.missing["path"]) == {"audio/validation/Yfff_20.000_30.000.wav",
                                        "metadata/train/unlabel_in_domain.tsv"}
    assert list(rep.bad["path"]) == ["audio/train/weak/Ybbb_30.000_40.000.wav"]
    assert any("Yzzz" in n for n in rep.notes)
    assert rep.found["validation_files"] == 1 and rep.found["validation_rows"] == 3


@pytest.mark.parametrize("line, what", [
    ("X.wav\tabc\t1.0\tSpeech", "column 'onset'"),
    ("X.wav\t2.0\t1.0\tSpeech", "0 <= onset < offset"),
    ("X.wav\t1.0\t2.0\tToaster", "unknown class 'Toaster'"),
    ("X.wav\t1.0\t\t", "column 'offset'"),
])
def test_bad_strong_row_names_file_line_and_column(tmp_path, line, what):
    path = tmp_path / "validation.tsv"
    path.write_text(f"filename\tonset\toffset\tevent_label\nA.wav\t0\t1\tDog\n{line}\n")
    with pytest.raises(DatasetError) as err:
        desed.read_strong(path)
    assert str(path) in str(err.value) and "line 3" in str(err.value) and what in str(err.value)


def test_bad_weak_label_and_missing_column(tmp_path):
    path = tmp_path / "weak.tsv"
    path.write_text("filename\tevent_labels\nA.wav\tDog,Speach\n")
    with pytest.raises(DatasetError, match=r"line 2, column 'event_labels'.*Speach"):
        desed.read_weak(path)
    path.write_text("filename\tlabels\nA.wav\tDog\n")
    with pytest.raises(DatasetError, match="event_labels"):
        desed.read_weak(path)


def test_weak_from_strong():
    strong = pd.DataFrame({"filename": ["a.wav", "a.wav", "a.wav", "b.wav", "c.wav"],
                           "event_label": ["Speech", "Dog", "Speech", np.nan, "Cat"]})
    weak = desed.weak_from_strong(strong)
    assert weak.to_dict("list") == {"filename": ["a.wav", "b.wav", "c.wav"],
                                    "event_labels": ["Dog,Speech", "", "Cat"]}


# ------------------------------------------------------------------ mini corpus

needs_audio = pytest.mark.skipif(
    not all(PACKAGES[p].location.exists() for p in
            ("openttd-opensfx", "ufoai-sound", "asterisk-core-sounds-en-wav",
             "asterisk-core-sounds-fr-wav", "asterisk-core-sounds-it-wav")),
    reason="Debian recordings not installed")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return desed.write_mini(tmp_path_factory.mktemp("desed") / "mini", seed=0)


@pytest.mark.needs_debian_audio
@needs_audio
def test_mini_builds_and_validates(mini):
    rep = desed.validate(mini, mini=True)
    assert rep.ok and rep.bad.empty, rep.summary()
    assert {k: rep.found[k] for k in ("weak_files", "unlabel_in_domain_files", "synthetic_files",
                                      "validation_files", "eval_public_files")} == {
        "weak_files": 40, "unlabel_in_domain_files": 60, "synthetic_files": 40,
        "validation_files": 24, "eval_public_files": 16}
    assert set(rep.manifest["samplerate"]) == {16000}
    assert np.allclose(rep.manifest["duration"], 10.0)
    with pytest.raises(DatasetError, match="mini=True"):
        desed.validate(mini)
    info = json.loads((mini / "MINI.json").read_text())
    used = set(info["used_classes"])
    assert used == {"Speech", "Running_water", "Alarm_bell_ringing"}
    # Unused classes never appear; same-class events never overlap or touch (sed_scores_eval).
    for subset in ("synthetic", "validation", "eval_public"):
        df = desed.read_strong(mini / desed.SUBSETS[subset][0])
        assert set(df["event_label"].dropna()) <= used
        for (_, _), ev in df.dropna().groupby(["filename", "event_label"]):
            ev = ev.sort_values("onset")
            assert (ev["onset"].to_numpy()[1:] > ev["offset"].to_numpy()[:-1]).all()
    val = desed.read_strong(mini / "metadata/validation/validation.tsv")
    assert val["event_label"].isna().sum() == 2           # round(0.1 * 24) clips with no event
    # Weak labels are the classes of the clips' placed events.
    weak = desed.read_weak(mini / "metadata/train/weak.tsv")
    placed = {Path(f["path"]).name: tuple(sorted({e["label"] for e in f["events"]}))
              for f in info["files"] if f["subset"] == "weak"}
    assert dict(zip(weak["filename"], weak["event_labels"])) == placed
    assert all(placed.values())
    unl = (mini / "metadata/train/unlabel_in_domain.tsv").read_text().splitlines()
    assert unl[0] == "filename" and len(unl) == 61
    # No recording group on both sides (training subsets vs validation + eval).
    sides = {}
    for f in info["files"]:
        for g in [info["sources"][s["source"]]["group"] for s in f["sources"]] + [f["group"]]:
            sides.setdefault(g, set()).add(f["side"])
    assert all(len(s) == 1 for s in sides.values())


@pytest.mark.needs_debian_audio
@needs_audio
def test_mini_is_byte_identical_for_a_seed(tmp_path):
    from data_prep.desed_mini import DesedMiniConfig, write_mini

    cfg = DesedMiniConfig(weak=2, unlabel_in_domain=2, synthetic=2, validation=2, eval_public=1,
                          speech_prompts=6)
    a = write_mini(tmp_path / "a", seed=5, config=cfg)
    b = write_mini(tmp_path / "b", seed=5, config=cfg)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != ".done")
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != ".done")
    assert len([f for f in files if f.suffix == ".wav"]) == 9
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    c = write_mini(tmp_path / "c", seed=6, config=cfg)
    assert (c / "metadata/train/weak.tsv").read_bytes() != (a / "metadata/train/weak.tsv").read_bytes()


def test_subset_paths(tmp_path):
    meta, audio = desed.subset_paths(tmp_path, "synthetic")
    assert meta == tmp_path / "metadata/train/synthetic20/soundscapes.tsv"
    assert audio == tmp_path / "audio/train/synthetic20/soundscapes"
    with pytest.raises(DatasetError, match="weak"):
        desed.subset_paths(tmp_path, "strong")
