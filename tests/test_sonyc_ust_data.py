"""SONYC-UST v1 data layer: the 70-column annotations, the validator on hand-made official-layout
trees, the two label modes on hand-made rows, and the mini corpus built from Debian recordings."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import datasets
from data_prep import sonyc_ust as ust
from data_prep.sources import PACKAGES

# The official taxonomy, written out here (spec vggish_fusion.md §3), not taken from the module.
FINE = ["1-1_small-sounding-engine", "1-2_medium-sounding-engine", "1-3_large-sounding-engine",
        "1-X_engine-of-uncertain-size", "2-1_rock-drill", "2-2_jackhammer", "2-3_hoe-ram",
        "2-4_pile-driver", "2-X_other-unknown-impact-machinery", "3-1_non-machinery-impact",
        "4-1_chainsaw", "4-2_small-medium-rotating-saw", "4-3_large-rotating-saw",
        "4-X_other-unknown-powered-saw", "5-1_car-horn", "5-2_car-alarm", "5-3_siren",
        "5-4_reverse-beeper", "5-X_other-unknown-alert-signal", "6-1_stationary-music",
        "6-2_mobile-music", "6-3_ice-cream-truck", "6-X_music-from-uncertain-source",
        "7-1_person-or-small-group-talking", "7-2_person-or-small-group-shouting",
        "7-3_large-crowd", "7-4_amplified-speech", "7-X_other-unknown-human-voice",
        "8-1_dog-barking-whining"]
COARSE = ["1_engine", "2_machinery-impact", "3_non-machinery-impact", "4_powered-saw",
          "5_alert-signal", "6_music", "7_human-voice", "8_dog"]
HEADER = (["split", "sensor_id", "audio_filename", "annotator_id"]
          + [f"{t}_presence" for t in FINE] + [f"{t}_proximity" for t in FINE]
          + [f"{t}_presence" for t in COARSE])
TAXONOMY_YAML = """coarse:
  1: engine
  2: machinery-impact
  3: non-machinery-impact
  4: powered-saw
  5: alert-signal
  6: music
  7: human-voice
  8: dog
fine:
  1: {1: small-sounding-engine, 2: medium-sounding-engine, 3: large-sounding-engine, X: engine-of-uncertain-size}
  2: {1: rock-drill, 2: jackhammer, 3: hoe-ram, 4: pile-driver, X: other-unknown-impact-machinery}
  3: {1: non-machinery-impact}
  4: {1: chainsaw, 2: small-medium-rotating-saw, 3: large-rotating-saw, X: other-unknown-powered-saw}
  5: {1: car-horn, 2: car-alarm, 3: siren, 4: reverse-beeper, X: other-unknown-alert-signal}
  6: {1: stationary-music, 2: mobile-music, 3: ice-cream-truck, X: music-from-uncertain-source}
  7: {1: person-or-small-group-talking, 2: person-or-small-group-shouting, 3: large-crowd, 4: amplified-speech, X: other-unknown-human-voice}
  8: {1: dog-barking-whining}
"""


def row(split, name, annotator, positives=(), coarse=(), sensor=0):
    """One annotations.csv row: ``positives`` fine tags 1.0 (others 0.0), coarse as given."""
    r = {"split": split, "sensor_id": str(sensor), "audio_filename": name,
         "annotator_id": str(annotator)}
    r.update({f"{t}_presence": "1.0" if t in positives else "0.0" for t in FINE})
    r.update({f"{t}_proximity": "near" if t in positives else "-1" for t in FINE})
    r.update({f"{t}_presence": "1" if t in coarse else "0" for t in COARSE})
    return r


def tiny_tree(root: Path, sr: int = 44100) -> Path:
    rows = [row("train", "00_000001.wav", 11, ["2-2_jackhammer"], ["2_machinery-impact"]),
            row("train", "00_000001.wav", 12),
            row("train", "01_000002.wav", 13, ["7-1_person-or-small-group-talking"], ["7_human-voice"], 1),
            row("validate", "05_000003.wav", 0, ["4-1_chainsaw"], ["4_powered-saw"], 5),
            row("validate", "05_000003.wav", 14, sensor=5),
            row("validate", "05_000004.wav", 0, sensor=5)]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=HEADER).to_csv(root / "annotations.csv", index=False)
    (root / "dcase-ust-taxonomy.yaml").write_text(TAXONOMY_YAML)
    rng = np.random.default_rng(0)
    for r in rows:
        path = root / r["split"] / r["audio_filename"]
        path.parent.mkdir(exist_ok=True)
        sf.write(path, (0.1 * rng.standard_normal(10 * sr)).astype(np.float32), sr)
    return root


# ------------------------------------------------------------------ layout constants

def test_columns_are_the_official_70_in_order():
    assert len(HEADER) == 70
    assert list(ust.COLUMNS) == HEADER
    assert ust.LABEL_ORDER == tuple(COARSE + FINE)


def test_registered():
    assert datasets.get("sonyc_ust") is ust
    assert ust.ENV_VAR == "SONYC_UST_ROOT" and ust.SAMPLERATE == 44100
    assert ust.EXPECTED == {"train_files": 2351, "validate_files": 443, "annotation_rows": 10349}


def test_taxonomy_yaml_round_trip(tmp_path):
    (tmp_path / "t.yaml").write_text(TAXONOMY_YAML)
    ust.read_taxonomy(tmp_path / "t.yaml")
    (tmp_path / "w.yaml").write_text(ust.taxonomy_yaml())
    import yaml
    assert yaml.safe_load(ust.taxonomy_yaml()) == yaml.safe_load(TAXONOMY_YAML)
    (tmp_path / "bad.yaml").write_text(TAXONOMY_YAML.replace("jackhammer", "drill"))
    with pytest.raises(DatasetError, match="bad.yaml"):
        ust.read_taxonomy(tmp_path / "bad.yaml")


# ------------------------------------------------------------------ validator

def test_validate_tiny_official_tree(tmp_path):
    root = tiny_tree(tmp_path / "ust")
    rep = ust.validate(root)
    assert rep.missing.empty and rep.bad.empty, rep.summary()
    assert rep.found == {"annotation_rows": 6, "train_files": 2, "validate_files": 2}
    # A four-file tree is not the official release: the counts say so.
    assert not rep.ok
    assert rep.count_mismatches["train_files"] == (2, 2351)
    assert sorted(rep.manifest["path"]) == ["train/00_000001.wav", "train/01_000002.wav",
                                            "validate/05_000003.wav", "validate/05_000004.wav"]
    assert dict(zip(rep.manifest["audio_filename"], rep.manifest["annotations"])) == {
        "00_000001.wav": 2, "01_000002.wav": 1, "05_000003.wav": 2, "05_000004.wav": 1}


def test_validate_lists_missing_and_bad_files(tmp_path, monkeypatch):
    root = tiny_tree(tmp_path / "ust")
    (root / "train" / "01_000002.wav").unlink()
    (root / "validate" / "05_000003.wav").write_bytes(b"not a wav file")
    sf.write(root / "validate" / "05_000004.wav", np.zeros(220500, np.float32) + 0.1, 22050)
    (root / "dcase-ust-taxonomy.yaml").unlink()
    monkeypatch.setenv("SONYC_UST_ROOT", str(root))
    rep = ust.validate()
    assert set(rep.missing["path"]) == {"train/01_000002.wav", "dcase-ust-taxonomy.yaml"}
    assert set(rep.bad["path"]) == {"validate/05_000003.wav", "validate/05_000004.wav"}
    reasons = dict(zip(rep.bad["path"], rep.bad["reason"]))
    assert "22050" in reasons["validate/05_000004.wav"]
    assert list(rep.manifest["path"]) == ["train/00_000001.wav"]


def test_wrong_column_order_names_the_column(tmp_path):
    root = tiny_tree(tmp_path / "ust")
    df = pd.read_csv(root / "annotations.csv", dtype=str)
    cols = list(df.columns)
    cols[4], cols[5] = cols[5], cols[4]
    df[cols].to_csv(root / "annotations.csv", index=False)
    with pytest.raises(DatasetError) as err:
        ust.validate(root)
    msg = str(err.value)
    assert "annotations.csv" in msg and "column 5" in msg
    assert "1-2_medium-sounding-engine_presence" in msg and "1-1_small-sounding-engine_presence" in msg


def test_missing_column_and_bad_value(tmp_path):
    root = tiny_tree(tmp_path / "ust")
    df = pd.read_csv(root / "annotations.csv", dtype=str)
    df.drop(columns=["8_dog_presence"]).to_csv(root / "annotations.csv", index=False)
    with pytest.raises(DatasetError, match="column 70"):
        ust.read_annotations(root / "annotations.csv")
    df.loc[2, "5-3_siren_proximity"] = "close"
    df.to_csv(root / "annotations.csv", index=False)
    with pytest.raises(DatasetError, match=r"line 4, column '5-3_siren_proximity'.*'close'"):
        ust.read_annotations(root / "annotations.csv")


# ------------------------------------------------------------------ label modes

def votes_frame(spec):
    """spec: [(file, annotator, jackhammer vote)] -> annotations with the other tags 0."""
    rows = []
    for name, annotator, vote in spec:
        r = row("validate" if name.startswith("v") else "train", name, annotator)
        r["2-2_jackhammer_presence"] = vote
        r["2_machinery-impact_presence"] = vote
        rows.append(r)
    df = pd.DataFrame(rows, columns=HEADER)
    return df.assign(annotator_id=df["annotator_id"].astype(int))


def test_report_mode_majority_of_non_missing_votes():
    ann = votes_frame([("a.wav", 1, "1"), ("a.wav", 2, "0"), ("a.wav", 3, "1"),   # 2/3 -> 1
                       ("b.wav", 1, "1"), ("b.wav", 2, "0"),                      # 1/2 -> 0
                       ("c.wav", 1, "1"), ("c.wav", 2, "-1"), ("c.wav", 3, "-1"),  # 1/1 -> 1
                       ("d.wav", 1, "-1"), ("d.wav", 2, "-1"),                    # none -> 0
                       ("v.wav", 0, "0"), ("v.wav", 4, "1"), ("v.wav", 5, "1")])  # 2/3 -> 1
    lab = ust.labels(ann, "report")
    assert lab["2-2_jackhammer"].to_dict() == {"a.wav": 1, "b.wav": 0, "c.wav": 1, "d.wav": 0,
                                               "v.wav": 1}
    assert lab["2_machinery-impact"].to_dict() == lab["2-2_jackhammer"].to_dict()
    assert lab["1-1_small-sounding-engine"].sum() == 0
    assert list(lab.columns) == ["split"] + COARSE + FINE


def test_official_baseline_mode_annotator_zero_else_any():
    ann = votes_frame([("a.wav", 1, "1"), ("a.wav", 2, "0"), ("a.wav", 3, "0"),   # any -> 1
                       ("b.wav", 1, "0"), ("b.wav", 2, "0"),                      # 0
                       ("c.wav", 1, "1"), ("c.wav", 2, "-1"),                     # sum 0 -> 0
                       ("v.wav", 4, "1"), ("v.wav", 0, "0"), ("v.wav", 5, "1"),   # annotator 0 -> 0
                       ("w.wav", 4, "0"), ("w.wav", 0, "1")])                     # annotator 0 -> 1
    lab = ust.labels(ann, "official_baseline")
    assert lab["2-2_jackhammer"].to_dict() == {"a.wav": 1, "b.wav": 0, "c.wav": 0, "v.wav": 0,
                                               "w.wav": 1}


def test_coarse_truth_comes_from_coarse_columns():
    r = row("validate", "v.wav", 0, positives=(), coarse=["1_engine"])
    ann = pd.DataFrame([r], columns=HEADER).astype({"annotator_id": int})
    for mode in ust.LABEL_MODES:
        lab = ust.labels(ann, mode)
        assert lab.loc["v.wav", "1_engine"] == 1
        assert lab.loc["v.wav", [t for t in FINE if t.startswith("1-")]].sum() == 0


def test_unknown_label_mode():
    with pytest.raises(ValueError, match="official_baseline"):
        ust.labels(votes_frame([("a.wav", 1, "1")]), "majority")


# ------------------------------------------------------------------ mini corpus

needs_audio = pytest.mark.skipif(
    not all(PACKAGES[p].location.exists() for p in
            ("openttd-opensfx", "ufoai-sound", "heroes-sound-effects", "drascula-music",
             "asterisk-core-sounds-en-wav", "asterisk-core-sounds-fr-wav",
             "asterisk-core-sounds-it-wav")),
    reason="Debian recordings not installed")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return ust.write_mini(tmp_path_factory.mktemp("ust") / "mini", seed=0)


@pytest.mark.needs_debian_audio
@needs_audio
def test_mini_builds_and_validates(mini):
    from data_prep.sonyc_ust_mini import TAG_SOURCES

    rep = ust.validate(mini, mini=True)
    assert rep.ok and rep.bad.empty, rep.summary()
    assert rep.found["train_files"] == 60 and rep.found["validate_files"] == 24
    assert set(rep.manifest["samplerate"]) == {44100}
    assert np.allclose(rep.manifest["duration"], 10.0)
    assert (mini / "NOTICE").is_file()
    with pytest.raises(DatasetError, match="mini=True"):
        ust.validate(mini)
    info = json.loads((mini / "MINI.json").read_text())
    ann = ust.read_annotations(mini / "annotations.csv")
    # Annotator 0 (validate) holds exactly the tags of the events placed in the file.
    truth = {Path(f["path"]).name: set(f["tags"]) for f in info["files"]}
    zero = ann[ann["annotator_id"] == 0]
    assert len(zero) == 24 and set(zero["split"]) == {"validate"}
    for _, r in zero.iterrows():
        marked = {t for t in FINE if r[f"{t}_presence"] == 1}
        assert marked == truth[r["audio_filename"]]
    # Tags without a real recording are never positive, in any row.
    never = [t for t in FINE if t not in TAG_SOURCES]
    assert len(never) == 17
    assert (ann[[f"{t}_presence" for t in never]] == 0).all().all()
    assert (ann["8_dog_presence"] == 0).all()
    # No recording group is heard on both sides.
    sides = {}
    for f in info["files"]:
        for g in [info["sources"][e["source"]]["group"] for e in f["events"]] + [f["group"]]:
            sides.setdefault(g, set()).add(f["split"])
    assert all(len(s) == 1 for s in sides.values())
    # Both label modes give something to learn on the mini corpus.
    for mode in ust.LABEL_MODES:
        assert ust.labels(ann, mode)[list(COARSE[:7])].sum().min() > 0


@pytest.mark.needs_debian_audio
@needs_audio
def test_mini_is_byte_identical_for_a_seed(tmp_path):
    from data_prep.sonyc_ust_mini import SonycMiniConfig, write_mini

    cfg = SonycMiniConfig(train_files=3, validate_files=2, speech_prompts=4, music_tracks=2)
    a = write_mini(tmp_path / "a", seed=3, config=cfg)
    b = write_mini(tmp_path / "b", seed=3, config=cfg)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != ".done")
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != ".done")
    assert len([f for f in files if f.suffix == ".wav"]) == 5
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_file_labels_join_usable_files_with_labels(tmp_path):
    root = tiny_tree(tmp_path / "ust")
    (root / "train" / "01_000002.wav").unlink()
    table = ust.file_labels(ust.validate(root), "official_baseline")
    assert list(table["path"]) == ["train/00_000001.wav", "validate/05_000003.wav",
                                   "validate/05_000004.wav"]
    assert list(table.columns[:3]) == ["path", "split", "sensor_id"]
    assert table["2-2_jackhammer"].tolist() == [1, 0, 0]
    assert table["4-1_chainsaw"].tolist() == [0, 1, 0]
    assert table["4_powered-saw"].tolist() == [0, 1, 0]
