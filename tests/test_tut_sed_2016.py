"""TUT-SED Synthetic 2016 annotations, frame targets, setup lists and validator on tiny
official-layout fixtures; the seeded mixer; and the mini corpus built from Debian recordings."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import tut_sed_2016 as tut
from data_prep.mixer import (EventClip, MixerConfig, active_extent, max_polyphony, mix_events,
                             trim_silence)
from data_prep.sources import PACKAGES

debian_installed = pytest.mark.skipif(
    not all(PACKAGES[p].location.exists() for p in tut.MINI_PACKAGES),
    reason="Debian recordings (openttd-opensfx, ufoai-sound) not installed")

SR = 44100


def events(*rows):
    return pd.DataFrame(rows, columns=tut.ANNOTATION_COLUMNS)


# ------------------------------------------------------------------ annotations and frame labels

def test_read_annotations(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("0.5\t1.25\tdog_barking\n\n3\t4.5\train\r\n")
    df = tut.read_annotations(path)
    assert df.to_dict("records") == [
        {"onset": 0.5, "offset": 1.25, "event_label": "dog_barking"},
        {"onset": 3.0, "offset": 4.5, "event_label": "rain"}]


@pytest.mark.parametrize("line, what", [
    ("0.5\t1.0", "3 tab-separated columns"),
    ("0.5\tabc\train", "not numbers"),
    ("2.0\t1.0\train", "not before offset"),
    ("1.0\t1.0\train", "not before offset"),
    ("-1\t1.0\train", ">= 0"),
    ("0.5\t1.0\tlawnmower", "unknown event label 'lawnmower'"),
])
def test_bad_annotation_line_names_file_and_line(tmp_path, line, what):
    path = tmp_path / "TUT-SED-synthetic-2016-annot-7.txt"
    path.write_text(f"0.1\t0.2\tbus\n{line}\n")
    with pytest.raises(DatasetError) as err:
        tut.read_annotations(path)
    msg = str(err.value)
    assert str(path) in msg and "line 2" in msg and what in msg


def test_frame_labels_follow_floor_ceil_rule():
    hop = 0.02
    ev = events((0.06, 0.10, "bus"),        # exact multiples: frames 3, 4
                (0.065, 0.101, "rain"),     # floor(3.25)=3 .. ceil(5.05)=6 -> frames 3, 4, 5
                (0.19, 10.0, "thunder"))    # clipped at n_frames
    roll = tut.frame_labels(ev, n_frames=12, hop_seconds=hop)
    assert roll.dtype == np.uint8 and roll.shape == (12, 16)
    col = {lab: i for i, lab in enumerate(tut.LABELS)}
    assert np.flatnonzero(roll[:, col["bus"]]).tolist() == [3, 4]
    assert np.flatnonzero(roll[:, col["rain"]]).tolist() == [3, 4, 5]
    assert np.flatnonzero(roll[:, col["thunder"]]).tolist() == list(range(9, 12))
    assert roll.sum() == 2 + 3 + 3


def test_frame_labels_unknown_label():
    with pytest.raises(DatasetError, match="lawnmower"):
        tut.frame_labels(events((0.0, 1.0, "lawnmower")), 10, 0.02)


# ------------------------------------------------------------------ setup lists

def test_read_setup_list_any_numbering_and_format(tmp_path):
    path = tmp_path / "train+validate.txt"
    path.write_text("audio/TUT-SED-synthetic-2016-mix-0.wav\t0.1\t0.5\tbus\n"
                    "audio/TUT-SED-synthetic-2016-mix-0.wav\t1.1\t1.5\train\n"
                    "C:\\data\\audio\\TUT-SED-synthetic-2016-mix-12.wav\n"
                    "\n"
                    "TUT-SED-synthetic-2016-annot-3.txt\n")
    assert tut.read_setup_list(path) == ["0", "12", "3"]
    path.write_text("audio/mix.wav\n")
    with pytest.raises(DatasetError, match="line 1"):
        tut.read_setup_list(path)


# ------------------------------------------------------------------ official-layout fixture

FIXTURE_EVENTS = {
    "0": [(0.0, 1.0, "bus"), (0.5, 1.5, "rain"), (0.7, 0.9, "footsteps")],   # polyphony 3
    "1": [(0.2, 0.4, "footsteps")],
    "2": [(1.0, 2.0, "thunder"), (2.0, 2.5, "thunder")],                      # touching: poly 1
    "3": [(0.0, 0.3, "gun_shot")],
    "4": [(0.1, 0.9, "footsteps")],
}


def make_official(root, features=False):
    rng = np.random.default_rng(0)
    for mid, evs in FIXTURE_EVENTS.items():
        tut.mixture_path(root, mid).parent.mkdir(parents=True, exist_ok=True)
        tut.annotation_path(root, mid).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tut.mixture_path(root, mid), 0.05 * rng.standard_normal(3 * SR), SR,
                 subtype="FLOAT")
        tut.annotation_path(root, mid).write_text(tut.format_annotations(events(*evs)))
    setup = root / "evaluation_setup"
    setup.mkdir()
    rel = lambda m: f"audio/{tut.MIX_PREFIX}{m}.wav"   # noqa: E731
    setup.joinpath("train+validate.txt").write_text(
        "".join(tut.format_annotations(events(*FIXTURE_EVENTS[m]), prefix=rel(m)) for m in "012"))
    setup.joinpath("validate.txt").write_text(rel("2") + "\n")
    setup.joinpath("test.txt").write_text(rel("3") + "\n" + rel("4") + "\n")
    setup.joinpath("evaluate.txt").write_text(
        "".join(tut.format_annotations(events(*FIXTURE_EVENTS[m]), prefix=rel(m)) for m in "34"))
    if features:
        (root / "features").mkdir()
    return root


def test_evaluation_splits_read_from_lists(tmp_path):
    splits = tut.evaluation_splits(make_official(tmp_path))
    assert splits == {"train": ["0", "1"], "validate": ["2"], "test": ["3", "4"]}


def test_validate_official_fixture(tmp_path):
    report = tut.validate(make_official(tmp_path))
    assert report.found == {"mixtures": 5, "labels": 5, "events": 8}
    assert report.missing.empty and report.bad.empty
    assert report.count_mismatches == {"mixtures": (5, 100), "labels": (5, 16)}
    assert not report.ok
    assert any("features/" in n for n in report.notes)
    m = report.manifest.set_index("mixture")
    assert m.loc["3", "split"] == "test" and m.loc["2", "split"] == "validate"
    assert m.loc["0", "events"] == 3 and m.loc["0", "samplerate"] == SR
    assert not any("features/" in n for n in tut.validate(make_official(tmp_path / "f", True)).notes)


def test_validate_lists_missing_annotation_mixture_and_setup_entries(tmp_path):
    root = make_official(tmp_path)
    tut.annotation_path(root, "1").unlink()
    tut.mixture_path(root, "4").unlink()
    report = tut.validate(root)
    reasons = dict(zip([p.split("/")[-1] for p in report.missing["path"]], report.missing["reason"]))
    assert "annotation of mixture 1" in reasons["TUT-SED-synthetic-2016-annot-1.txt"]
    assert "not in audio/" in reasons["TUT-SED-synthetic-2016-mix-4.wav"]
    assert not report.ok


def test_validate_missing_setup_list_and_wrong_rate(tmp_path):
    root = make_official(tmp_path)
    (root / "evaluation_setup" / "validate.txt").unlink()
    sf.write(tut.mixture_path(root, "3"), np.zeros(SR // 2) + 0.1, 22050)
    report = tut.validate(root)
    assert any(p.endswith("validate.txt") for p in report.missing["path"])
    assert [p.split("/")[-1] for p in report.bad["path"]] == ["TUT-SED-synthetic-2016-mix-3.wav"]
    assert "44100" in report.bad["reason"][0]


def test_validate_bad_annotation_names_file_and_line(tmp_path):
    root = make_official(tmp_path)
    path = tut.annotation_path(root, "2")
    path.write_text(path.read_text() + "2.5\t3.0\n")
    with pytest.raises(DatasetError) as err:
        tut.validate(root)
    assert str(path) in str(err.value) and "line 3" in str(err.value)


def test_event_counts_table(tmp_path):
    counts = tut.event_counts(make_official(tmp_path))
    table = dict(zip(counts.per_class["event_label"], counts.per_class["count"]))
    assert len(table) == 16 and table["footsteps"] == 3 and table["thunder"] == 2
    assert table["dog_barking"] == 0
    assert list(counts.per_class["count"]) == sorted(counts.per_class["count"], reverse=True)
    assert (counts.total_events, counts.mixtures, counts.max_polyphony) == (8, 5, 3)


# ------------------------------------------------------------------ mixer

def burst(lead_s, tone_s, tail_s, freq=440.0, sr=8000):
    t = np.arange(int(tone_s * sr)) / sr
    return np.concatenate([np.zeros(int(lead_s * sr)), 0.5 * np.sin(2 * np.pi * freq * t),
                           np.zeros(int(tail_s * sr))]).astype(np.float32)


def test_trim_silence_and_silent_clip():
    y = burst(0.3, 0.5, 0.2)
    start, stop = active_extent(y, 8000)
    assert abs(start - 0.3 * 8000) <= 80 and abs(stop - 0.8 * 8000) <= 80   # within a 10 ms frame
    assert trim_silence(y, 8000).size == stop - start
    with pytest.raises(ValueError, match="silent"):
        active_extent(np.zeros(100, dtype=np.float32), 8000)


def clips(n=12):
    rng = np.random.default_rng(1)
    return [EventClip(f"l{i % 3}", burst(rng.uniform(0, 0.3), rng.uniform(0.2, 1.0),
                                         rng.uniform(0, 0.3), freq=200 + 50 * i), f"src{i}")
            for i in range(n)]


def test_mixer_is_deterministic_for_a_seed():
    cfg = MixerConfig(samplerate=8000, duration_s=5.0, max_polyphony=3)
    a_mix, a_ev = mix_events(clips(), cfg, 7)
    b_mix, b_ev = mix_events(clips(), cfg, 7)
    c_mix, c_ev = mix_events(clips(), cfg, 8)
    assert np.array_equal(a_mix, b_mix) and a_ev == b_ev
    assert not np.array_equal(a_mix, c_mix)


@pytest.mark.parametrize("poly", [1, 2, 3])
def test_mixer_annotations_hold_all_event_energy(poly):
    cfg = MixerConfig(samplerate=8000, duration_s=6.0, max_polyphony=poly, gain_db=(-10.0, -2.0))
    source = clips()
    mixture, placed = mix_events(source, cfg, 3)
    assert placed and max_polyphony([(e.onset, e.offset) for e in placed]) <= poly
    inside = np.zeros(mixture.size, dtype=bool)
    by_source = {c.source: c for c in source}
    for e in placed:
        assert e.onset == e.onset_sample / 8000 and e.offset == (e.onset_sample + e.n_samples) / 8000
        assert -10.0 <= e.gain_db <= -2.0
        # the span is exactly the trimmed clip: it starts and ends in sound, not in padding
        assert e.n_samples == trim_silence(by_source[e.source].audio, 8000).size
        inside[e.onset_sample:e.onset_sample + e.n_samples] = True
    assert not np.any(mixture[~inside])                    # no event energy outside annotations
    assert np.sqrt(np.mean(mixture[inside] ** 2)) > 0.05


def test_mixer_full_canvas_skips_events():
    cfg = MixerConfig(samplerate=8000, duration_s=1.0, max_polyphony=1, max_tries=20)
    long = [EventClip("a", burst(0, 0.9, 0), f"s{i}") for i in range(4)]
    _, placed = mix_events(long, cfg, 0)
    assert len(placed) == 1


# ------------------------------------------------------------------ mini corpus (Debian audio)

@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return tut.write_mini(tmp_path_factory.mktemp("tut_mini"), seed=0)


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_validates_and_counts_match_mini_json(mini):
    info = json.loads((mini / "MINI.json").read_text())
    report = tut.validate(mini, mini=True)
    assert report.ok, report.summary()
    assert report.bad.empty and set(report.manifest["samplerate"]) == {tut.SAMPLERATE}
    counts = tut.event_counts(mini)
    table = dict(zip(counts.per_class["event_label"], counts.per_class["count"]))
    assert table == info["events_per_label"]
    assert counts.total_events == info["counts"]["events"]
    assert counts.max_polyphony == info["max_polyphony"] <= tut.MIXER.max_polyphony
    assert all(table[lab] == 0 for lab in info["unused_labels"])
    assert all(table[lab] > 0 for lab in info["used_labels"])
    splits = tut.evaluation_splits(mini)
    assert {k: len(v) for k, v in splits.items()} == tut.MINI_MIXTURES


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_splits_share_no_source_group(mini):
    info = json.loads((mini / "MINI.json").read_text())
    groups = {}
    for split, ids in tut.evaluation_splits(mini).items():
        groups[split] = {info["sources"][s]["group"] for m in ids for s in info["mixture_sources"][m]}
        assert all(info["sources"][s]["split"] == split
                   for m in ids for s in info["mixture_sources"][m])
    assert not groups["train"] & groups["validate"]
    assert not groups["train"] & groups["test"]
    assert not groups["validate"] & groups["test"]


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_mixture_is_silent_outside_annotations(mini):
    mid = tut.mixture_ids(mini)[0]
    y, sr = sf.read(tut.mixture_path(mini, mid), dtype="float32")
    ev = tut.read_annotations(tut.annotation_path(mini, mid))
    inside = np.zeros(y.size, dtype=bool)
    for on, off in zip(ev["onset"], ev["offset"]):
        inside[int(round(on * sr)):int(round(off * sr))] = True
    assert not np.any(y[~inside]) and np.any(y[inside])


@pytest.mark.needs_debian_audio
@debian_installed
def test_mini_is_not_mistaken_for_the_official_dataset(mini):
    with pytest.raises(DatasetError, match="mini=True"):
        tut.validate(mini)
