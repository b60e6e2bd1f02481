"""From dataset roots to model inputs: features, frame targets, sequences and splits.

UrbanSound8K (monophonic): per slice, librosa 40 MFCC at 22,050 Hz (n_fft 2048, hop 512),
zero-padded (or cut) to 174 frames, input (174, 40, 1), integer class targets.

TUT-SED Synthetic 2016 (polyphonic): per mixture, 40 MFCC at 22,050 Hz with 20 ms / 10 ms
framing (report) or 40 log-mel at 44.1 kHz with 40 ms / 20 ms (paper); frame targets
(frames, 16) from the annotation file by the floor/ceil rule of ``tut_sed_2016.frame_labels``
on the feature frame grid (librosa centres frame t at t·hop). Each mixture is cut into
consecutive sequences of ``sequence_frames`` frames, the last one zero-padded (features and
targets); predictions are stitched back per mixture and cut to its real length before any
metric is computed.

Per-file features are extracted once, in parallel, into an HDF5 cache
(:func:`common.feature_cache.map_cached`); files that do not decode are skipped and listed.
"""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common import feature_cache
from common.audio_io import load_audio
from common.errors import AudioError, DatasetError
from common.features import (
    LibrosaMfccConfig,
    LogMelConfig,
    librosa_logmel,
    librosa_mfcc,
    pad_or_trim,
)
from common.fileio import stable_hash
from common.paths import cache_dir
from reproductions.drossos_sed.features import MONO_MFCC, POLY_PAPER_LOGMEL, POLY_REPORT_MFCC
from data_prep import tut_sed_2016 as tut
from data_prep import urbansound8k as us8k

PIPELINE_VERSION = "drossos-sed-data-v1"
SPLITS = ("train", "validation", "test")
# libsndfile subtypes -> bits per sample (the report's "bit depth", UrbanSound8K §2.1)
SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
                "FLOAT": 32, "DOUBLE": 64, "ULAW": 8, "ALAW": 8, "IMA_ADPCM": 4,
                "MS_ADPCM": 4, "GSM610": 13}


# ---------------------------------------------------------------------------------------------
# feature presets
# ---------------------------------------------------------------------------------------------

def poly_feature_config(kind: str) -> LibrosaMfccConfig | LogMelConfig:
    if kind == "report_mfcc":
        return POLY_REPORT_MFCC
    if kind == "paper_logmel":
        return POLY_PAPER_LOGMEL
    raise DatasetError(f"poly.features must be 'report_mfcc' or 'paper_logmel', got {kind!r}")


def natural_key(text: str) -> list:
    """Sort key that orders mixture ids 2 < 10 (ids are strings, numbered 0- or 1-based)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def hop_seconds(fcfg: LibrosaMfccConfig | LogMelConfig) -> float:
    return fcfg.hop_length / fcfg.sr


def _extract(y: np.ndarray, fcfg: LibrosaMfccConfig | LogMelConfig) -> np.ndarray:
    return librosa_mfcc(y, fcfg) if isinstance(fcfg, LibrosaMfccConfig) else librosa_logmel(y, fcfg)


# ---------------------------------------------------------------------------------------------
# per-file workers (run in feature-cache processes: no TensorFlow here)
# ---------------------------------------------------------------------------------------------

def mono_file_features(path: str, fcfg: LibrosaMfccConfig) -> dict[str, np.ndarray]:
    """Unpadded MFCCs (frames, 40) of one slice and its length in samples at ``fcfg.sr``.
    Silent slices are data (UrbanSound8K has near-silent ones), not errors."""
    y, _ = load_audio(path, sr=fcfg.sr, allow_silent=True)
    return {"mfcc": _extract(y, fcfg), "n_samples": np.array(len(y), np.int64)}


def poly_file_features(item: tuple[str, str], fcfg: LibrosaMfccConfig | LogMelConfig
                       ) -> dict[str, np.ndarray]:
    """Features (frames, 40) of one mixture and its frame targets (frames, 16)."""
    wav, annotation = item
    y, _ = load_audio(wav, sr=fcfg.sr, allow_silent=True)
    feats = _extract(y, fcfg)
    try:
        events = tut.read_annotations(annotation)
    except DatasetError as exc:  # a broken annotation makes the mixture unusable, not the run
        raise AudioError(annotation, str(exc)) from exc
    labels = tut.frame_labels(events, len(feats), hop_seconds(fcfg))
    return {"features": feats, "labels": labels, "n_samples": np.array(len(y), np.int64)}


def _cache_path(dataset: str, root: Path, key_cfg: dict) -> Path:
    return cache_dir() / "drossos_sed" / f"{dataset}-{stable_hash([str(root), key_cfg], 10)}.h5"


# ---------------------------------------------------------------------------------------------
# UrbanSound8K
# ---------------------------------------------------------------------------------------------

@dataclass
class MonoSet:
    """Every usable slice: model inputs and where each came from."""
    x: np.ndarray              # (n, n_frames, 40, 1) float32
    y: np.ndarray              # (n,) int classID
    paths: list[str]           # fold<k>/<slice_file_name>
    fs_id: np.ndarray          # (n,) freesound recording id
    fold: np.ndarray           # (n,) official fold
    groups: list[str]          # leak group per slice (fsID; mini corpus: its recording group)
    class_names: list[str]     # index = classID
    raw_frames: np.ndarray     # (n,) frames before padding
    n_samples: np.ndarray      # (n,) samples at 22,050 Hz

    def __len__(self) -> int:
        return len(self.y)


def leak_groups(manifest: pd.DataFrame, mini_info: dict | None) -> list[str]:
    """The unit no split may cut: the freesound recording (fsID) on the real dataset; on the
    mini corpus the leak group of the source recording (edits of one original share it)."""
    if mini_info is None:
        return [f"fs{int(f)}" for f in manifest["fsID"]]
    sources = mini_info.get("sources", {})
    return [sources.get(str(int(f)), {}).get("group", f"fs{int(f)}") for f in manifest["fsID"]]


def mono_features(manifest: pd.DataFrame, root: Path, n_frames: int | None,
                  class_names: list[str], mini_info: dict | None = None,
                  workers: int | None = None) -> tuple[MonoSet, list[tuple[str, str]]]:
    """Features of every manifest slice (validated UrbanSound8K manifest) plus skipped files.
    Every slice is zero-padded (or cut) to ``n_frames``; ``None`` pads to the longest slice of
    the data, as the report did ("padded with zeros to reach the dimension of the longer
    audio")."""
    fcfg = MONO_MFCC
    root = Path(root)
    rel = [str(Path(p).relative_to(root / "audio")) for p in manifest["path"]]
    items = list(manifest["path"].astype(str))
    key_cfg = {"features": asdict(fcfg), "pipeline": PIPELINE_VERSION}
    path = feature_cache.map_cached(
        items, functools.partial(mono_file_features, fcfg=fcfg),
        _cache_path("urbansound8k", root, key_cfg), key_cfg, workers=workers,
        desc="UrbanSound8K MFCC", names=dict(zip(items, rel)).__getitem__)
    skipped = feature_cache.read_skipped(path)
    row_of = {r: i for i, r in enumerate(rel)}
    groups_all = leak_groups(manifest, mini_info)
    raw, keep, samples = [], [], []
    for name, arrays in feature_cache.load_groups(path):
        raw.append(arrays["mfcc"])
        samples.append(int(arrays["n_samples"]))
        keep.append(row_of[name])
    frames = [len(m) for m in raw]
    if n_frames is None:
        n_frames = max(frames, default=1)
    xs = [pad_or_trim(m, n_frames) for m in raw]
    sub = manifest.iloc[keep]
    x = (np.stack(xs)[..., None] if xs else np.zeros((0, n_frames, fcfg.n_mfcc, 1), np.float32))
    return MonoSet(x=x.astype(np.float32), y=sub["classID"].to_numpy(int),
                   paths=[rel[i] for i in keep], fs_id=sub["fsID"].to_numpy(int),
                   fold=sub["fold"].to_numpy(int), groups=[groups_all[i] for i in keep],
                   class_names=list(class_names), raw_frames=np.array(frames, int),
                   n_samples=np.array(samples, int)), skipped


def class_names_of(root: Path) -> list[str]:
    """classID -> class from the metadata (official names, or the mini corpus's own)."""
    df = us8k.read_metadata(root)
    table = us8k.class_table(df, us8k.csv_path(root))
    return [table[i] for i in range(max(table) + 1)] if table else []


def label_distribution(root: Path) -> dict[str, int]:
    """Report Table 1 from the metadata CSV alone: slices per class, in classID order."""
    df = us8k.label_distribution(root)
    return {str(c): int(n) for c, n in zip(df["class"], df["count"])}


# ---------------------------------------------------------------------------------------------
# TUT-SED Synthetic 2016
# ---------------------------------------------------------------------------------------------

@dataclass
class PolySet:
    """Whole mixtures (variable length): features, frame targets and reference events."""
    mixtures: list[str]                 # mixture ids
    features: list[np.ndarray]          # (frames, 40) float32 each
    labels: list[np.ndarray]            # (frames, 16) uint8 each
    events: list[pd.DataFrame]          # onset, offset, event_label (annotation file)
    durations: list[float]              # seconds
    hop_seconds: float
    label_names: list[str]

    def index(self, ids: list[str]) -> list[int]:
        pos = {m: i for i, m in enumerate(self.mixtures)}
        return [pos[m] for m in ids if m in pos]


def poly_features(manifest: pd.DataFrame, root: Path, kind: str, workers: int | None = None
                  ) -> tuple[PolySet, list[tuple[str, str]]]:
    """Features and frame targets of every mixture of a validated TUT-SED manifest."""
    fcfg = poly_feature_config(kind)
    usable = manifest[manifest["annotation"].astype(str) != ""]
    items = [(str(w), str(a)) for w, a in zip(usable["path"], usable["annotation"])]
    ids = [str(m) for m in usable["mixture"]]
    key_cfg = {"features": asdict(fcfg), "kind": kind, "labels": list(tut.LABELS),
               "pipeline": PIPELINE_VERSION}
    path = feature_cache.map_cached(
        items, functools.partial(poly_file_features, fcfg=fcfg),
        _cache_path("tut_sed_2016", Path(root), key_cfg), key_cfg, workers=workers,
        desc="TUT-SED features", names=dict(zip(items, ids)).__getitem__)
    skipped = feature_cache.read_skipped(path)
    annotation_of = dict(zip(ids, (a for _, a in items)))
    out = PolySet([], [], [], [], [], hop_seconds(fcfg), list(tut.LABELS))
    for mid, arrays in feature_cache.load_groups(path):
        out.mixtures.append(mid)
        out.features.append(arrays["features"].astype(np.float32))
        out.labels.append(arrays["labels"].astype(np.uint8))
        out.events.append(tut.read_annotations(annotation_of[mid]))
        out.durations.append(float(arrays["n_samples"]) / fcfg.sr)
    return out, skipped


def chunk(features: list[np.ndarray], labels: list[np.ndarray], sequence_frames: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive, non-overlapping sequences of every mixture (the last zero-padded).

    Returns x (n, T, F), y (n, T, C) and owner (n,): the position in the input lists."""
    xs, ys, owner = [], [], []
    for i, (f, lab) in enumerate(zip(features, labels)):
        n = max(1, -(-len(f) // sequence_frames))
        for k in range(n):
            sl = slice(k * sequence_frames, (k + 1) * sequence_frames)
            xs.append(pad_or_trim(f[sl], sequence_frames))
            ys.append(pad_or_trim(lab[sl], sequence_frames))
            owner.append(i)
    if not xs:
        nf = features[0].shape[1] if features else 40
        nc = labels[0].shape[1] if labels else len(tut.LABELS)
        return (np.zeros((0, sequence_frames, nf), np.float32),
                np.zeros((0, sequence_frames, nc), np.float32), np.zeros(0, int))
    return (np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32),
            np.array(owner, int))


def unchunk(sequences: np.ndarray, owner: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    """Inverse of :func:`chunk`: per-mixture (length, C) arrays, padding dropped."""
    out = []
    for i, n in enumerate(lengths):
        seq = sequences[owner == i]
        out.append(seq.reshape(-1, sequences.shape[-1])[:n])
    return out


# ---------------------------------------------------------------------------------------------
# standardisation (an option: the report feeds raw MFCCs)
# ---------------------------------------------------------------------------------------------

def coefficient_stats(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and standard deviation of (n, F) frames (float64 accumulation)."""
    if len(frames) == 0:
        raise DatasetError("cannot standardise features: the training split has no frames")
    f = np.asarray(frames, np.float64)
    sd = f.std(axis=0)
    return f.mean(axis=0).astype(np.float32), np.where(sd > 0, sd, 1.0).astype(np.float32)


def standardize_mono(data: MonoSet, train: np.ndarray) -> dict:
    """z-score every real frame with statistics of the training slices' real frames; the zero
    padding stays zero. Returns the statistics."""
    n = data.x.shape[1]
    real = np.arange(n)[None, :] < np.minimum(data.raw_frames, n)[:, None]
    mu, sd = coefficient_stats(data.x[train, :, :, 0][real[train]])
    data.x = np.where(real[..., None, None], (data.x - mu[None, None, :, None])
                      / sd[None, None, :, None], 0.0).astype(np.float32)
    return {"mean": mu.tolist(), "std": sd.tolist()}


def standardize_poly(data: PolySet, train: list[int]) -> dict:
    """z-score every mixture's frames with statistics of the training mixtures' frames."""
    mu, sd = coefficient_stats(np.concatenate([data.features[i] for i in train]))
    data.features = [((f - mu) / sd).astype(np.float32) for f in data.features]
    return {"mean": mu.tolist(), "std": sd.tolist()}
