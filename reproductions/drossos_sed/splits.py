"""How report 001's data is divided: the report's random 60/20/20 split, and the leak-free ones
(whole recording groups per class, UrbanSound8K's official folds, TUT-SED's
evaluation_setup lists), as named options (config ``mono.split`` / ``poly.split``)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from common.errors import DatasetError
from data_prep import tut_sed_2016 as tut
from data_prep.splits import group_split
from reproductions.drossos_sed.data import SPLITS, MonoSet, natural_key


def _fractions(train: float, validation: float, test: float) -> dict[str, float]:
    return {"train": train, "validation": validation, "test": test}


def group_split_per_class(labels: np.ndarray, groups: list[str], fractions: dict[str, float],
                          seed: int) -> dict[str, np.ndarray]:
    """Indices per split: every class's groups split by ``fractions`` (whole groups only).

    A class with fewer groups than splits cannot fill all three without cutting a group:
    two groups go to train and test, one group to train (a class then has no test slice;
    better than a leak)."""
    labels = np.asarray(labels)
    groups_arr = np.asarray(groups, dtype=object)
    out: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        unique = sorted(set(groups_arr[idx]))
        if len(unique) >= len(SPLITS):
            keys = [str(i) for i in idx]
            parts = group_split(keys, list(groups_arr[idx]), fractions,
                                seed=seed + int(label))
            assign = {int(k): s for s, ks in parts.items() for k in ks}
        else:
            rng = np.random.default_rng([seed, int(label)])
            order = [unique[i] for i in rng.permutation(len(unique))]
            sizes = Counter(groups_arr[idx])
            order.sort(key=lambda g: -sizes[g])
            where = dict(zip(order, ("train", "test")))
            assign = {int(i): where[groups_arr[i]] for i in idx}
        for s in SPLITS:
            out[s].append(np.array(sorted(i for i, v in assign.items() if v == s), int))
    return {s: np.sort(np.concatenate(v)) if v else np.zeros(0, int) for s, v in out.items()}


def random_split(n: int, fractions: dict[str, float], seed: int) -> dict[str, np.ndarray]:
    """Seeded random 60/20/20 of ``n`` items (no grouping)."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = round(fractions["train"] * n)
    n_val = round(fractions["validation"] * n)
    return {"train": np.sort(order[:n_train]), "validation": np.sort(order[n_train:n_train + n_val]),
            "test": np.sort(order[n_train + n_val:])}


def mono_split(data: MonoSet, mode: str, split_cfg, mono_cfg) -> dict[str, np.ndarray]:
    """Slice indices per split (see MonoConfig.split)."""
    fr = _fractions(split_cfg.train, split_cfg.validation, split_cfg.test)
    if mode == "group":
        return group_split_per_class(data.y, data.groups, fr, split_cfg.seed)
    if mode == "random":
        return random_split(len(data), fr, split_cfg.seed)
    if mode == "folds":
        return {"train": np.flatnonzero(np.isin(data.fold, mono_cfg.train_folds)),
                "validation": np.flatnonzero(np.isin(data.fold, mono_cfg.validation_folds)),
                "test": np.flatnonzero(np.isin(data.fold, mono_cfg.test_folds))}
    raise DatasetError(f"mono.split must be group, random or folds, got {mode!r}")


def shared_groups(parts: dict[str, np.ndarray], groups: list[str]) -> int:
    """Leak groups (recordings) with slices in both training and test."""
    g = np.asarray(groups, dtype=object)
    return len(set(g[parts["train"]]) & set(g[parts["test"]]))


def poly_split(mixtures: list[str], mode: str, split_cfg, root: Path | None = None
               ) -> dict[str, list[str]]:
    """Mixture ids per split: the evaluation_setup lists ("setup") or a seeded random
    60/20/20 ("random"). Setup entries whose mixture is unusable are dropped."""
    if mode == "setup":
        if root is None:
            raise DatasetError("poly.split=setup needs the dataset root")
        lists = tut.evaluation_splits(root)
        present = set(mixtures)
        return {"train": [m for m in lists["train"] if m in present],
                "validation": [m for m in lists["validate"] if m in present],
                "test": [m for m in lists["test"] if m in present]}
    if mode == "random":
        ids = sorted(mixtures, key=natural_key)
        parts = random_split(len(ids), _fractions(split_cfg.train, split_cfg.validation,
                                                  split_cfg.test), split_cfg.seed)
        return {s: [ids[i] for i in parts[s]] for s in SPLITS}
    raise DatasetError(f"poly.split must be setup or random, got {mode!r}")
