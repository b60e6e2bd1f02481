"""From a validated DESED root (:mod:`data_prep.desed`) to the mean-teacher's inputs and
targets (spec fuss_desed.md §2.2, §3.2).

- Linear mel magnitudes of every listed clip, extracted once per corpus in worker processes
  and cached in HDF5 (:func:`common.feature_cache.map_cached`); the log, padding and
  normalisation happen per batch because the teacher's noise goes on the *linear* mel
  (:func:`reproductions.fuss_desed.mean_teacher.student_teacher_inputs`). A clip that does
  not decode is skipped and listed.
- The synthetic soundscapes are split by file as the baseline does (pandas
  ``sample(frac=0.8, random_state=26)`` of the unique file names): 80 % train, 20 % for
  model selection.
- The scaler is fitted on the log-mels of weak + unlabelled + synthetic-train, each padded to
  628 frames (the baseline's ``Scaler.calculate_scaler`` over its concatenated train set).
- Targets at the pooled resolution (157 frames): synthetic clips from their strong events,
  weak clips every frame of their tags, unlabelled clips zeros (masked out of the loss).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common import feature_cache
from common.fileio import stable_hash
from common.paths import cache_dir
from data_prep import desed
from reproductions.fuss_desed import mean_teacher as MT
from reproductions.fuss_desed import sed_features as SF

PIPELINE_VERSION = "desed-linear-mel-v1"
LABELS = list(desed.CLASSES)
N_OUT_FRAMES = SF.N_FRAMES // 4  # the CNN pools time by 2 × 2 (sed_models.TIME_POOLING): 157


@dataclass
class ClipSet:
    """The usable clips of one subset (or part of one)."""
    name: str
    files: list[str]                                  # DESED file names (tsv ``filename``)
    mels: list[np.ndarray]                            # linear mel (frames, 128) per file
    durations: list[float]                            # seconds (PSDS needs them)
    events: dict[str, list[tuple[float, float, str]]] | None = None  # strong subsets
    tags: dict[str, tuple[str, ...]] | None = None                   # weak subset
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, keep: list[str], name: str) -> "ClipSet":
        idx = {f: i for i, f in enumerate(self.files)}
        sel = [idx[f] for f in keep if f in idx]
        return ClipSet(name, [self.files[i] for i in sel], [self.mels[i] for i in sel],
                       [self.durations[i] for i in sel],
                       None if self.events is None else {self.files[i]: self.events[self.files[i]]
                                                         for i in sel},
                       None if self.tags is None else {self.files[i]: self.tags[self.files[i]]
                                                       for i in sel})


def _cache_path(root: Path) -> Path:
    key = {"features": SF.FEATURE_SETTINGS, "pipeline": PIPELINE_VERSION}
    return cache_dir() / "fuss_desed" / f"desed-{stable_hash([str(root), key], 10)}.h5"


def load_clips(root: Path, report, workers: int | None = None) -> dict[str, ClipSet]:
    """Every DESED subset of a validated root as a :class:`ClipSet` (features cached)."""
    root = Path(report.root)
    manifest = report.manifest
    items = [str(root / p) for p in manifest["path"]]
    key = {"features": SF.FEATURE_SETTINGS, "pipeline": PIPELINE_VERSION}
    path = feature_cache.map_cached(items, SF.clip_linear_mel, _cache_path(root), key,
                                    workers=workers, desc="DESED linear mel",
                                    names=dict(zip(items, manifest["path"])).__getitem__)
    mels = {name: arrays["mel"] for name, arrays in feature_cache.load_groups(path)}
    skipped = feature_cache.read_skipped(path)
    out: dict[str, ClipSet] = {}
    for subset, (meta_rel, audio_rel, kind) in desed.SUBSETS.items():
        rows = manifest[manifest["subset"] == subset]
        rows = rows[[p in mels for p in rows["path"]]]
        files = list(rows["filename"])
        cs = ClipSet(subset, files, [mels[p] for p in rows["path"]],
                     [float(d) for d in rows["duration"]],
                     skipped=[s for s in skipped if s[0].startswith(audio_rel)])
        if kind == "strong":
            df = desed.read_strong(root / meta_rel)
            ev: dict[str, list] = {f: [] for f in files}
            for f, on, off, lab in zip(df["filename"], df["onset"], df["offset"],
                                       df["event_label"]):
                if f in ev and isinstance(lab, str):
                    ev[f].append((float(on), float(off), lab))
            cs.events = ev
        elif kind == "weak":
            df = desed.read_weak(root / meta_rel)
            tags = dict(zip(df["filename"], df["event_labels"]))
            cs.tags = {f: tuple(tags[f]) for f in files}
        out[subset] = cs
    return out


def split_synthetic(synth: ClipSet, valid_fraction: float, seed: int) -> tuple[ClipSet, ClipSet]:
    """The baseline's file split of the synthetic soundscapes: a pandas sample of
    ``1 - valid_fraction`` of the unique file names (``random_state=seed``) trains, the rest
    selects the model."""
    names = pd.Series(list(dict.fromkeys(synth.files)))
    train = names.sample(frac=1.0 - valid_fraction, random_state=seed)
    keep = set(train)
    return (synth.subset([f for f in synth.files if f in keep], "synthetic_train"),
            synth.subset([f for f in synth.files if f not in keep], "synthetic_valid"))


def log_mel(mel: np.ndarray) -> np.ndarray:
    """Un-normalised network input of one clip: dB, then pad/truncate to 628 frames."""
    return SF.pad_or_truncate(SF.amplitude_to_db(mel), SF.N_FRAMES)


def fit_scaler(train_sets: list[ClipSet]) -> tuple[np.ndarray, np.ndarray]:
    return SF.fit_scaler(log_mel(m) for cs in train_sets for m in cs.mels)


def student_inputs(cs: ClipSet, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Clean, normalised inputs (n, 628, 128, 1) of every clip (evaluation)."""
    if not len(cs):
        return np.zeros((0, SF.N_FRAMES, SF.N_MELS, 1), np.float32)
    return np.stack([SF.normalise(log_mel(m), mean, std) for m in cs.mels])[..., None]


def targets(cs: ClipSet, i: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(strong (157, 10), weak (10,)) targets of clip ``i`` of a set of ``kind``
    weak | unlabelled | strong."""
    f = cs.files[i]
    if kind == "strong":
        strong = MT.frame_labels(cs.events[f], LABELS, N_OUT_FRAMES)
    elif kind == "weak":
        strong = MT.weak_frame_labels(cs.tags[f], LABELS, N_OUT_FRAMES)
    else:
        strong = np.zeros((N_OUT_FRAMES, len(LABELS)), np.float32)
    return strong, strong.max(axis=0)


def class_counts(cs: ClipSet) -> dict[str, int]:
    """Events (strong sets) or tagged clips (weak set) per class; 0 for absent classes."""
    counts = {c: 0 for c in LABELS}
    if cs.events is not None:
        for evs in cs.events.values():
            for _, _, lab in evs:
                counts[lab] += 1
    if cs.tags is not None:
        for tags in cs.tags.values():
            for lab in tags:
                counts[lab] += 1
    return counts

