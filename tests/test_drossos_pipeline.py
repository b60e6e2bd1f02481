"""The Drossos/seed-001 reproduction's config, data and pipeline on synthetic fixtures:
config checks, splits (no leakage), feature shapes, frame-label alignment, Table 1 from a
metadata CSV, metrics of constant and perfect systems, cells matching the registry, and one
tiny training stage that must give identical numbers twice."""
from __future__ import annotations

import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.errors import ConfigError
from common.registry import load_registry
from common.results import REPRODUCED, Measurement, compare
from common.runs import Run, stage_result
from data_prep import tut_sed_2016 as tut
from data_prep import urbansound8k as us8k
from reproductions.drossos_sed import config as C
from reproductions.drossos_sed import data as D
from reproductions.drossos_sed import splits as SP
from reproductions.drossos_sed import pipeline as P
from reproductions.drossos_sed import cells as CELLS

BUS = tut.LABELS.index("bus")


# ------------------------------------------------------------------------------ config

def test_profiles_load_and_differ_only_in_sizes():
    full, smoke = C.load("full"), C.load("smoke")
    assert full.model.channels == 256 and full.poly.sequence_frames == 1024
    # full pads to the longest slice of the data (null), as the report did
    assert full.mono.n_frames is None and full.train.batch_size == 16 == smoke.train.batch_size
    assert full.train.patience == 30 == smoke.train.patience
    # same models and features; full = the report (raw MFCC, random splits), smoke = standardised
    # features and leak-free splits (documented in smoke.yaml and the report)
    for a, b in ((full.mono, smoke.mono), (full.poly, smoke.poly)):
        assert a.models == b.models
        assert a.split == "random" and not a.standardize and b.standardize
    assert smoke.mono.split == "group" and smoke.poly.split == "setup"
    assert full.poly.features == smoke.poly.features and full.split == smoke.split


@pytest.mark.parametrize("override, fragment", [
    ("mono.bogus=1", "mono.bogus"),
    ("poly.features=cqt", "poly.features"),
    ("poly.models=[no_such_model]", "no_such_model"),
    ("mono.models=[report_poly_crnn]", "polyphonic"),
    ("mono.test_folds=[6]", "folds"),
    ("split.train=0.7", "sum to 1"),
    ("model.channels=4", "model.channels"),
])
def test_bad_config_is_rejected_naming_the_key(override, fragment):
    with pytest.raises(ConfigError) as err:
        C.load("smoke", [override])
    assert fragment in str(err.value)


# ------------------------------------------------------------------------------ splits

def _groups(n_classes=3, groups_per_class=10, per_group=(1, 4), seed=0):
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for c in range(n_classes):
        for g in range(groups_per_class):
            k = int(rng.integers(*per_group))
            labels += [c] * k
            groups += [f"c{c}g{g}"] * k
    return np.array(labels), groups


def test_group_split_is_60_20_20_per_class_without_leakage():
    labels, groups = _groups()
    parts = SP.group_split_per_class(labels, groups, {"train": .6, "validation": .2, "test": .2}, 7)
    allidx = np.concatenate(list(parts.values()))
    assert sorted(allidx) == list(range(len(labels)))            # every slice exactly once
    g = np.array(groups)
    for a, b in itertools.combinations(parts, 2):
        assert not set(g[parts[a]]) & set(g[parts[b]])           # no recording in two splits
    for c in np.unique(labels):
        n = (labels == c).sum()
        assert abs((labels[parts["train"]] == c).sum() / n - 0.6) < 0.2
        assert (labels[parts["test"]] == c).sum() > 0
    again = SP.group_split_per_class(labels, groups, {"train": .6, "validation": .2, "test": .2}, 7)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)


def test_classes_with_fewer_groups_than_splits_never_leak():
    labels = np.array([0] * 5 + [1] * 3 + [1] * 2)
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 2
    parts = SP.group_split_per_class(labels, groups, {"train": .6, "validation": .2, "test": .2}, 0)
    assert set(parts["train"]) >= set(range(5))                 # the single group: train only
    assert SP.shared_groups(parts, groups) == 0


def _monoset(n=60, seed=0):
    rng = np.random.default_rng(seed)
    fs = rng.integers(0, 20, n)
    return D.MonoSet(x=np.zeros((n, 4, 40, 1), np.float32), y=fs % 3, paths=[str(i) for i in range(n)],
                     fs_id=fs, fold=(fs % 10) + 1, groups=[f"fs{f}" for f in fs],
                     class_names=["a", "b", "c"], raw_frames=np.full(n, 4), n_samples=np.full(n, 9))


def test_mono_split_modes():
    data, cfg = _monoset(), C.load("smoke")
    group = SP.mono_split(data, "group", cfg.split, cfg.mono)
    assert SP.shared_groups(group, data.groups) == 0
    folds = SP.mono_split(data, "folds", cfg.split, cfg.mono)
    assert set(data.fold[folds["test"]]) <= {9, 10} and set(data.fold[folds["train"]]) <= set(range(1, 7))
    rand = SP.mono_split(data, "random", cfg.split, cfg.mono)
    assert [len(rand[s]) for s in D.SPLITS] == [36, 12, 12]
    # the report's random split of slices leaks recordings between train and test
    assert SP.shared_groups(rand, data.groups) > 0


def _write_setup(root, train, val, test):
    setup = root / "evaluation_setup"
    setup.mkdir(parents=True)
    line = "audio/TUT-SED-synthetic-2016-mix-{}.wav\t0.5\t1.0\tbus\n"
    (setup / "train+validate.txt").write_text("".join(line.format(m) for m in train + val))
    (setup / "validate.txt").write_text("".join(line.format(m) for m in val))
    (setup / "test.txt").write_text("".join(f"audio/{tut.MIX_PREFIX}{m}.wav\n" for m in test))


def test_poly_split_follows_the_setup_lists_or_a_seeded_partition(tmp_path):
    mixtures = [str(i) for i in range(1, 11)]
    _write_setup(tmp_path, ["3", "1", "4", "10", "5", "9"], ["2", "6"], ["7", "8"])
    cfg = C.load("smoke")
    setup = SP.poly_split(mixtures, "setup", cfg.split, tmp_path)
    assert setup == {"train": ["3", "1", "4", "10", "5", "9"], "validation": ["2", "6"],
                     "test": ["7", "8"]}
    rand = SP.poly_split(mixtures, "random", cfg.split, None)
    assert [len(rand[s]) for s in D.SPLITS] == [6, 2, 2]
    assert sorted((m for ids in rand.values() for m in ids), key=int) == mixtures
    assert rand == SP.poly_split(mixtures, "random", cfg.split, None)


# ------------------------------------------------------------------------------ features

def test_mono_features_are_174_by_40(tmp_path):
    sr = 44100
    rng = np.random.default_rng(0)
    short, long_ = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, 0.1 * rng.standard_normal(int(1.0 * sr)), sr)
    sf.write(long_, 0.1 * rng.standard_normal(int(4.1 * sr)), sr)
    fcfg = D.MONO_MFCC
    a = D.mono_file_features(str(short), fcfg)
    b = D.mono_file_features(str(long_), fcfg)
    assert a["mfcc"].shape == (1 + 22050 // 512, 40)             # librosa centred frames
    assert int(b["n_samples"]) == round(4.1 * 22050)
    for m in (a["mfcc"], b["mfcc"]):
        assert D.pad_or_trim(m, 174).shape == (174, 40)
    padded = D.pad_or_trim(a["mfcc"], 174)
    assert np.all(padded[len(a["mfcc"]):] == 0)                  # zero padding at the end


def _mixture(root, mid, seconds=12.0, sr=44100, events=((1.0, 2.0, "bus"),)):
    """A quiet noise mixture with a loud tone exactly where each event is."""
    rng = np.random.default_rng(int(mid))
    y = 0.001 * rng.standard_normal(int(seconds * sr))
    for on, off, _ in events:
        t = np.arange(int(on * sr), int(off * sr))
        y[t] += 0.5 * np.sin(2 * np.pi * 1000 * t / sr)
    wav = root / "audio" / f"{tut.MIX_PREFIX}{mid}.wav"
    ann = root / "meta" / f"{tut.ANNOT_PREFIX}{mid}.txt"
    wav.parent.mkdir(parents=True, exist_ok=True)
    ann.parent.mkdir(parents=True, exist_ok=True)
    sf.write(wav, y, sr, subtype="FLOAT")
    ann.write_text("".join(f"{on}\t{off}\t{lab}\n" for on, off, lab in events))
    return str(wav), str(ann)


@pytest.mark.parametrize("kind, hop", [("report_mfcc", 220 / 22050), ("paper_logmel", 0.02)])
def test_poly_features_and_frame_labels_are_aligned(tmp_path, kind, hop):
    item = _mixture(tmp_path, "1")
    out = D.poly_file_features(item, D.poly_feature_config(kind))
    feats, labels = out["features"], out["labels"]
    assert feats.shape[1] == 40 and labels.shape == (len(feats), 16)
    active = np.flatnonzero(labels[:, BUS])
    # floor(onset / hop) .. ceil(offset / hop) - 1, on the feature frame grid
    assert active[0] == int(np.floor(1.0 / hop)) and active[-1] == int(np.ceil(2.0 / hop)) - 1
    assert labels.sum() == len(active)
    # the tone (the event's sound) is where the targets are: frame t is centred at t * hop
    energy = feats[:, 0] if kind == "report_mfcc" else feats.mean(axis=1)
    inside = energy[active[3]:active[-3]].min()
    outside = np.concatenate([energy[:active[0] - 5], energy[active[-1] + 6:]]).max()
    assert inside > outside


def test_sequences_are_1024_by_40_and_unchunk_inverts_chunk():
    rng = np.random.default_rng(1)
    feats = [rng.normal(size=(n, 40)).astype(np.float32) for n in (2500, 1024, 10)]
    labs = [(rng.random((len(f), 16)) < 0.2).astype(np.uint8) for f in feats]
    x, y, owner = D.chunk(feats, labs, 1024)
    assert x.shape == (3 + 1 + 1, 1024, 40) and y.shape == (5, 1024, 16)
    assert list(owner) == [0, 0, 0, 1, 2]
    assert np.all(x[2, 2500 - 2048:] == 0) and np.all(y[4, 10:] == 0)  # padding at the end
    back = D.unchunk(y, owner, [len(f) for f in feats])
    assert all(np.array_equal(a, b) for a, b in zip(back, labs))


def test_standardisation_uses_training_frames_and_keeps_padding_zero():
    data = _monoset(n=6)
    data.x = np.random.default_rng(0).normal(5, 3, data.x.shape).astype(np.float32)
    data.raw_frames = np.array([2, 4, 4, 3, 4, 1])
    data.x[0, 2:] = 0
    data.x[3, 3:] = 0
    data.x[5, 1:] = 0
    stats = D.standardize_mono(data, np.array([0, 1, 2]))
    real = np.arange(4)[None, :] < data.raw_frames[:, None]
    train_frames = data.x[:3, :, :, 0][real[:3]]
    assert np.allclose(train_frames.mean(0), 0, atol=1e-5) and np.allclose(train_frames.std(0), 1, atol=1e-4)
    assert np.all(data.x[~real] == 0) and len(stats["mean"]) == 40


# ------------------------------------------------------------------------------ Table 1

def _metadata(root, counts: dict[str, int]) -> None:
    rows = []
    for cid, name in enumerate(counts):
        rows += [{"slice_file_name": us8k.slice_file_name(1000 + i, cid, 0, 0), "fsID": 1000 + i,
                  "start": 0.0, "end": 1.0, "salience": 1, "fold": i % 10 + 1, "classID": cid,
                  "class": name} for i in range(counts[name])]
    (root / "metadata").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "metadata" / "UrbanSound8K.csv", index=False)


def test_table1_is_regenerated_exactly_from_the_metadata(tmp_path):
    _metadata(tmp_path, us8k.CLASS_COUNTS)
    cells = CELLS.t1({"mono": {"is_mini": False,
                               "facts": {"table1": D.label_distribution(tmp_path)}}})
    ms = [Measurement(c["table"], c["row"], c["column"], c["value"], "real", "full") for c in cells]
    rows = [r for r in compare(load_registry("drossos_sed"), ms) if r.published.table == "T1"]
    assert len(rows) == 10 and all(r.status == REPRODUCED for r in rows)
    assert sum(c["value"] for c in cells) == 8732


def test_mini_corpus_fills_no_table1_cell_even_for_a_shared_class_name(tmp_path):
    _metadata(tmp_path, {"breaking": 3, "gun_shot": 2})
    facts = {"table1": D.label_distribution(tmp_path)}
    assert CELLS.t1({"mono": {"is_mini": True, "facts": facts}}) == []
    assert len(CELLS.t1({"mono": {"is_mini": False, "facts": facts}})) == 1


# ------------------------------------------------------------------------------ metrics

def _polyset(n_mix=6, frames=200, seed=0):
    rng = np.random.default_rng(seed)
    hop = 0.02
    data = D.PolySet([], [], [], [], [], hop, list(tut.LABELS))
    for i in range(n_mix):
        ev = []
        for lab in ("bus", "rain", "thunder"):
            on = float(rng.uniform(0, frames * hop - 1.2))
            ev.append((round(on, 2), round(on + float(rng.uniform(0.3, 1.0)), 2), lab))
        df = pd.DataFrame(ev, columns=tut.ANNOTATION_COLUMNS)
        lab = tut.frame_labels(df, frames, hop)
        f = rng.normal(size=(frames, 40)).astype(np.float32)
        f[:, :16] += 3 * lab  # learnable: the targets are visible in the features
        data.mixtures.append(str(i + 1))
        data.features.append(f)
        data.labels.append(lab)
        data.events.append(df)
        data.durations.append(frames * hop)
    return data


def test_scores_of_perfect_and_all_zero_systems():
    data = _polyset()
    idx = [0, 1, 2]
    perfect = P.poly_scores(data, idx, [data.labels[i].astype(np.float32) for i in idx], 0.5, 1.0)
    assert perfect["accuracy"] == 1.0 and perfect["frame"]["values"]["frame_f1"] == pytest.approx(1.0)
    assert perfect["frame"]["values"]["frame_error_rate"] == 0.0
    assert perfect["segment"]["values"]["segment_f1"] == pytest.approx(1.0)
    zero = P.poly_scores(data, idx, [np.zeros_like(data.labels[i], np.float32) for i in idx], 0.5, 1.0)
    assert zero["frame"]["values"]["frame_f1"] == 0.0
    assert zero["frame"]["values"]["frame_error_rate"] == pytest.approx(1.0)
    assert zero["segment"]["values"]["segment_error_rate"] == pytest.approx(1.0)


def test_best_constant_set_is_the_best_subset():
    rng = np.random.default_rng(3)
    labels = (rng.random((500, 5)) < np.array([0.6, 0.3, 0.05, 0.45, 0.0])).astype(np.uint8)

    def f1(subset):
        pred = np.zeros_like(labels)
        pred[:, list(subset)] = 1
        tp = (pred & labels).sum()
        return 2 * tp / (2 * tp + (pred & ~labels.astype(bool)).sum() + (labels & (1 - pred)).sum())

    best = max((s for k in range(1, 6) for s in itertools.combinations(range(5), k)), key=f1)
    assert P.best_constant_set(labels) == sorted(best)


# ------------------------------------------------------------------------------ cells

def _fake_poly_result(f1: float, seconds: float) -> dict:
    frame = {"frame_f1": f1, "frame_error_rate": 1 - f1}
    return {"test": {"accuracy": 0.9, "loss": 0.2, "frame": {"values": frame},
                     "segment": {"values": {"segment_f1": f1, "segment_error_rate": 1 - f1}},
                     "per_class": {}},
            "fit": {"epochs_run": 10, "best_epoch": 4}, "train_seconds": seconds,
            "seconds_per_epoch": seconds / 10, "min_val_loss": 0.2}


def test_cells_name_only_registry_cells():
    poly = {"facts": {"table2": {lab: 1 for lab in tut.LABELS}, "max_polyphony": 4,
                      "mixtures": 20, "events": 16, "labels_with_events": 16,
                      "channels": {"majority": 1}, "bit_depth": {"majority": 32},
                      "samplerate": {"majority": 44100}},
            "models": {name: _fake_poly_result(0.5 + k / 20, 60.0 + k)
                       for k, name in enumerate([*C.T4_MODELS.values(), CELLS.DND_SED])},
            "is_mini": False}
    mono_model = {"classification": {"values": {"accuracy": 0.8, **{f"f1/{c}": 0.7
                                                                   for c in us8k.CLASSES}}},
                  "fit": {"epochs_run": 50, "best_epoch": 20}, "min_val_loss": 0.5,
                  "test_loss": 0.6, "train_seconds": 100.0}
    mono = {"facts": {"table1": dict(us8k.CLASS_COUNTS), "recordings": 8732, "classes": 10,
                      "max_duration_s": 4.0, "classes_below_1000": 3, "shorter_than_fft_window": 3,
                      "bit_depth": {"min": 4, "max": 32, "majority": 16},
                      "samplerate": {"min": 8000, "max": 192000, "majority": 44100}},
            "padding": {"longest_raw_frames": 174},
            "models": {"report_mono_crnn": mono_model, "report_mono_proposed": mono_model},
            "is_mini": False}
    cells = CELLS.run_cells({"poly": poly, "mono": mono})
    ms = [Measurement(c["table"], c["row"], c["column"], c["value"], "real", "full")
          for c in cells]
    rows = compare(load_registry("drossos_sed"), ms)  # raises on a cell the registry lacks
    filled = {r.published.table for r in rows if r.measurement is not None}
    assert {"T1", "T2", "T3", "T4", "X-us8k", "X-tut", "X-mono-results", "X-poly-results",
            "X-claims", "P-X-abstract"} <= filled
    t4 = {(r.published.row, r.published.column) for r in rows
          if r.published.table == "T4" and r.measurement is not None}
    assert all((row, col) in t4 for row in C.T4_MODELS
               for col in ("Accuracy", "Loss", "Training time", "f1-score"))
    mini = dict(mono, is_mini=True)
    assert not [c for c in CELLS.run_cells({"mono": mini}) if c["table"] in ("T1", "T3")]


# ------------------------------------------------------------------------------ stages

def _run(tmp_path, name="r") -> Run:
    d = tmp_path / name
    d.mkdir()
    return Run("drossos_sed", name, d, "smoke", "mini", 5)


def test_stage_result_computes_once(tmp_path):
    run, calls = _run(tmp_path), []

    def compute():
        calls.append(1)
        return {"x": 1}
    assert stage_result(run, "s", compute) == {"x": 1} == stage_result(run, "s", compute)
    assert len(calls) == 1 and (run.dir / "stages" / "s" / "result.json").is_file()


def test_tiny_training_stage_is_deterministic(tmp_path):
    data = _polyset()
    parts = {"train": [0, 1, 2], "validation": [3], "test": [4, 5]}
    cfg = C.load("smoke", ["model.channels=8", "model.rnn_units=8", "model.dilated_channels=8",
                           "poly.sequence_frames=50", "train.epochs=2"])
    a = P.train_poly(_run(tmp_path, "a"), cfg, data, parts, "report_poly_crnn")
    b = P.train_poly(_run(tmp_path, "b"), cfg, data, parts, "report_poly_crnn")
    assert a["history"][-1]["loss"] == b["history"][-1]["loss"]
    assert a["test"] == b["test"] and a["example"] == b["example"]
    assert a["n_sequences"] == {"train": 12, "validation": 4, "test": 8}
    assert a["example"]["mixture"] == "5"
