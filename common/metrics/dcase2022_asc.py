"""DCASE 2022 Task 1 (low-complexity acoustic scene classification) evaluation, spec §4.

As the challenge's baseline computed it (``dcase2022_task1_baseline/task1.py``,
``do_evaluation``):

* **Log loss** — scikit-learn ``log_loss`` as it was before version 1.2: probabilities clipped
  to [1e-15, 1 − 1e-15], then every row renormalised to sum to 1, then the mean of −ln p(true
  class). scikit-learn ≥ 1.2 clips to the dtype's machine epsilon and no longer renormalises
  (it only warns), which changes the value of any row that does not sum to 1 — so the rule is
  implemented here explicitly (:func:`legacy_log_loss_items`). Columns are the scene labels in
  alphabetical order (:data:`SCENE_LABELS`).
  - ``log_loss``: over all items (the baseline's ``logloss_overall``);
  - ``class_log_loss[scene]``: over the items of one true scene (all columns kept);
  - ``macro_class_log_loss``: the mean of the class-wise values — the challenge's ranking
    metric, the README's "Average" row;
  - ``device_log_loss[device]``: over all items of one device (``source_label``);
  - ``device_class_log_loss[device][scene]``: per device and scene (the baseline's table).
* **Accuracy** — sed_eval ``SceneClassificationMetrics`` on the *predicted scene label*:
  class-wise accuracy Ncorr / (Nref + ε), ε = ``numpy.spacing(1)``, averaged over all scene
  labels (``class_wise_average``); also per device. sed_eval's quirk is kept: a scene with no
  reference items scores 0 and still enters the average.

A scene (or device-scene cell) without items has no log loss (NaN); the macro averages skip
NaN cells — the baseline itself would have crashed there (scikit-learn refuses an empty
``y_true``), so this is our extension, stated in ``params``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import PurePath

import numpy as np

from common.errors import ConfigError
from common.metrics import MetricResult

SCENE_LABELS: tuple[str, ...] = (
    "airport", "bus", "metro", "metro_station", "park", "public_square", "shopping_mall",
    "street_pedestrian", "street_traffic", "tram",
)
DEVELOPMENT_DEVICES: tuple[str, ...] = ("a", "b", "c", "s1", "s2", "s3", "s4", "s5", "s6")
LEGACY_EPS = 1e-15            # scikit-learn < 1.2 log_loss default eps
SED_EVAL_EPS = float(np.spacing(1))

LOG_LOSS_RULE = (
    "scikit-learn < 1.2 log_loss: clip probabilities to [1e-15, 1 - 1e-15], renormalise each "
    "row to sum 1, mean of -ln p(true class); natural log"
)
ACCURACY_RULE = (
    "sed_eval SceneClassificationMetrics: per scene Ncorr / (Nref + numpy.spacing(1)) on the "
    "predicted scene labels, averaged over all scene labels (a scene without items counts 0)"
)


def device_from_filename(filename: str) -> str:
    """Device of a TAU 2022 file name ``<scene>-<city>-<location>-<segment>-<sub>-<device>.wav``:
    the last dash-separated token of the stem, as the baseline parses it."""
    stem = PurePath(str(filename)).stem
    if "-" not in stem:
        raise ConfigError(f"file name {filename!r} has no '-<device>' suffix")
    device = stem.rsplit("-", 1)[1]
    if not device:
        raise ConfigError(f"file name {filename!r} ends in an empty device token")
    return device


def legacy_log_loss_items(y_true: Sequence[int] | np.ndarray,
                          probabilities: np.ndarray, eps: float = LEGACY_EPS) -> np.ndarray:
    """Per-item −ln p(true class) after clipping to [eps, 1 − eps] and renormalising rows."""
    proba = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(y_true)
    if proba.ndim != 2:
        raise ValueError(f"probabilities must be (items, classes), got shape {proba.shape}")
    if labels.shape != (proba.shape[0],):
        raise ValueError(f"y_true has shape {labels.shape}, expected ({proba.shape[0]},)")
    if labels.size and (labels.min() < 0 or labels.max() >= proba.shape[1]):
        raise ValueError(f"y_true holds class indices outside 0..{proba.shape[1] - 1}")
    if not np.all(np.isfinite(proba)):
        raise ValueError("probabilities contain NaN or infinite values")
    clipped = np.clip(proba, eps, 1.0 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return -np.log(clipped[np.arange(labels.size), labels.astype(np.int64)])


def legacy_log_loss(y_true: Sequence[int] | np.ndarray, probabilities: np.ndarray,
                    eps: float = LEGACY_EPS) -> float:
    """scikit-learn < 1.2 ``log_loss(y_true, y_pred, labels=range(n_classes))``; NaN when
    there are no items."""
    losses = legacy_log_loss_items(y_true, probabilities, eps)
    return float(losses.mean()) if losses.size else math.nan


def class_wise_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """sed_eval's Ncorr / (Nref + spacing(1)) per class (0 for a class without items)."""
    acc = np.zeros(n_classes)
    for k in range(n_classes):
        ref = y_true == k
        acc[k] = float(np.sum(y_pred[ref] == k)) / (float(np.sum(ref)) + SED_EVAL_EPS)
    return acc


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def dcase2022_asc_metrics(
    y_true: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    devices: Sequence[str],
    y_pred: Sequence[int] | np.ndarray | None = None,
    labels: Sequence[str] = SCENE_LABELS,
) -> MetricResult:
    """The DCASE 2022 Task 1 figures (module docstring) for integer true classes (indices
    into ``labels``), their (items, classes) probabilities, each item's device, and the
    predicted classes (default: argmax of the probabilities, first maximum on ties — what the
    baseline's frame_max binarization writes as ``scene_label``).

    ``values`` keys: ``log_loss``, ``macro_class_log_loss``, ``accuracy``,
    ``class_log_loss/<scene>``, ``class_accuracy/<scene>``, ``device_log_loss/<device>``,
    ``device_accuracy/<device>``, ``device_macro_class_log_loss/<device>``,
    ``device_class_log_loss/<device>/<scene>``. Devices are ordered as the development set's
    (a, b, c, s1–s6) first, others alphabetically.
    """
    labels = [str(label) for label in labels]
    proba = np.asarray(probabilities, dtype=np.float64)
    yt = np.asarray(y_true).astype(np.int64)
    if proba.ndim != 2 or proba.shape[1] != len(labels):
        raise ValueError(f"probabilities have shape {proba.shape}; expected (items, "
                         f"{len(labels)}) columns in the order {labels}")
    if proba.shape[0] == 0:
        raise ValueError("no items to evaluate")
    yp = np.argmax(proba, axis=1) if y_pred is None else np.asarray(y_pred).astype(np.int64)
    dev = np.asarray([str(d) for d in devices])
    if not (yt.shape == yp.shape == dev.shape == (proba.shape[0],)):
        raise ValueError(f"y_true {yt.shape}, y_pred {yp.shape}, devices {dev.shape} and "
                         f"probabilities {proba.shape} disagree in length")
    losses = legacy_log_loss_items(yt, proba)
    n_classes = len(labels)

    def per_class(mask: np.ndarray) -> np.ndarray:
        return np.array([losses[mask & (yt == k)].mean() if np.any(mask & (yt == k))
                         else math.nan for k in range(n_classes)])

    everything = np.ones_like(yt, dtype=bool)
    class_ll = per_class(everything)
    class_acc = class_wise_accuracy(yt, yp, n_classes)
    values: dict[str, float] = {
        "log_loss": float(losses.mean()),
        "macro_class_log_loss": _nanmean(class_ll),
        "accuracy": float(class_acc.mean()),
    }
    for k, label in enumerate(labels):
        values[f"class_log_loss/{label}"] = float(class_ll[k])
        values[f"class_accuracy/{label}"] = float(class_acc[k])
    present = set(dev.tolist())
    ordered = [d for d in DEVELOPMENT_DEVICES if d in present]
    ordered += sorted(present - set(DEVELOPMENT_DEVICES))
    counts: dict[str, int] = {"items": int(yt.size)}
    table = []
    for d in ordered:
        mask = dev == d
        cell = per_class(mask)
        table.append(cell.tolist())
        values[f"device_log_loss/{d}"] = float(losses[mask].mean())
        values[f"device_accuracy/{d}"] = float(class_wise_accuracy(yt[mask], yp[mask],
                                                                    n_classes).mean())
        values[f"device_macro_class_log_loss/{d}"] = _nanmean(cell)
        for k, label in enumerate(labels):
            values[f"device_class_log_loss/{d}/{label}"] = float(cell[k])
        counts[f"items/{d}"] = int(mask.sum())
    for k, label in enumerate(labels):
        counts[f"items/{label}"] = int(np.sum(yt == k))
    return MetricResult(
        values=values,
        params={"labels": labels, "devices": ordered, "log_loss_rule": LOG_LOSS_RULE,
                "accuracy_rule": ACCURACY_RULE, "eps": LEGACY_EPS,
                "empty_cells": "log loss of a class / device-class cell without items is NaN "
                               "and skipped by the macro averages"},
        arrays={"device_class_log_loss": table},
        counts=counts,
    )
