"""How the development set is divided (spec §2, §3).

* Pre-training, fine-tuning and KD students: fold-1 ``train``; everything is scored on fold-1
  ``test`` (the report's Table 2: 29,680 segments, S4–S6 never seen in training).
* KD teachers (seed §3.2): ``kd.teacher_data: report`` trains them on the **whole development
  set, train + test**, as the report did. The students then learn from a teacher that has seen
  the test segments' labels: the Table 2 KD rows are optimistic (a leak the report does not
  discuss). ``leak_free`` trains the teachers on fold-1 train only.
"""
from __future__ import annotations

import numpy as np

TEACHER_DATA = ("report", "leak_free")


def fold_indices(split: np.ndarray) -> dict[str, np.ndarray]:
    """Indices of fold-1 train and test segments."""
    return {"train": np.flatnonzero(split == "train"), "test": np.flatnonzero(split == "test")}


def teacher_indices(split: np.ndarray, mode: str) -> np.ndarray:
    """Segments a KD teacher trains on: train + test (``report``) or train (``leak_free``)."""
    if mode == "report":
        return np.flatnonzero((split == "train") | (split == "test"))
    if mode == "leak_free":
        return np.flatnonzero(split == "train")
    raise ValueError(f"kd.teacher_data must be one of {TEACHER_DATA}, got {mode!r}")


def teacher_test_overlap(split: np.ndarray, mode: str) -> int:
    """How many test segments the teacher trained on (the leak, 0 when leak-free)."""
    return int(np.sum(split[teacher_indices(split, mode)] == "test"))
