"""The two ways the clips are divided into train / validation / test.

``clip`` is what the report's code did: sklearn ``train_test_split`` over *clips*
(random_state 2021): 35 % held out, then 25/35 of that to test. Clips of one file overlap by
50 %, so neighbouring, half-identical clips land on both sides of the split — test accuracy is
optimistic. ``file`` is what the paper did: every category's *files* (or, in a mini corpus, the
source recordings they were cut from) split 65/10/25, all clips of a file on one side.
"""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from data_prep.splits import group_split


def clip_split(n: int, train: float, validation: float, test: float, random_state: int
               ) -> dict[str, np.ndarray]:
    idx = np.arange(n)
    held = validation + test
    tr, hold = train_test_split(idx, test_size=held, random_state=random_state)
    va, te = train_test_split(hold, test_size=test / held, random_state=random_state)
    return {"train": tr, "validation": va, "test": te}


def file_split(file_index: np.ndarray, labels: np.ndarray, groups: list[str], train: float,
               validation: float, test: float, random_state: int) -> dict[str, np.ndarray]:
    """Split the *groups* of every class separately, then take each group's clips."""
    return group_fractions(file_index, labels, groups,
                           {"train": train, "validation": validation, "test": test}, random_state)


def group_fractions(file_index: np.ndarray, labels: np.ndarray, groups: list[str],
                    fractions: dict[str, float], random_state: int) -> dict[str, np.ndarray]:
    """Clip indices per part: every class's file groups divided by ``fractions``."""
    out: dict[str, list] = {name: [] for name in fractions}
    for label in np.unique(labels):
        files = np.unique(file_index[labels == label])
        keys = [str(f) for f in files]
        parts = group_split(keys, [groups[f] for f in files], fractions, random_state)
        for name, members in parts.items():
            chosen = np.isin(file_index, np.array([int(k) for k in members], dtype=int))
            out[name].append(np.flatnonzero(chosen & (labels == label)))
    return {k: np.sort(np.concatenate(v)) if v else np.zeros(0, int) for k, v in out.items()}


def split(mode: str, file_index, labels, groups, cfg) -> dict[str, np.ndarray]:
    if mode == "clip":
        return clip_split(len(labels), cfg.train, cfg.validation, cfg.test, cfg.random_state)
    if mode == "file":
        return file_split(file_index, labels, groups, cfg.train, cfg.validation, cfg.test,
                          cfg.random_state)
    raise ValueError(f"split mode must be 'clip' or 'file', got {mode!r}")


def finetune_split(mode: str, file_index, labels, groups, share: float, random_state: int
                   ) -> dict[str, np.ndarray]:
    """GTZAN fine-tune / test parts. ``clip`` is the report's call,
    ``train_test_split(test_size=1 - share, random_state)`` over clips, which puts 50 %-overlapping
    neighbours of a test clip into fine-tuning; ``file`` (default) keeps every file's clips on
    one side, ``share`` of each class's files for fine-tuning."""
    if mode == "clip":
        ft, te = train_test_split(np.arange(len(labels)), test_size=1.0 - share,
                                  random_state=random_state)
        return {"finetune": ft, "test": te}
    if mode == "file":
        return group_fractions(file_index, labels, groups,
                               {"finetune": share, "test": 1.0 - share}, random_state)
    raise ValueError(f"finetune split mode must be 'clip' or 'file', got {mode!r}")


def shared_files(parts: dict[str, np.ndarray], file_index: np.ndarray) -> int:
    """How many files have clips in both the training (or fine-tuning) and the test split (the
    leak)."""
    first = parts["train"] if "train" in parts else parts["finetune"]
    return len(set(file_index[first]) & set(file_index[parts["test"]]))
