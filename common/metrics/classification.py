"""Clip-level classification metrics (scikit-learn), as defined in specs/swishnet.md §4.

Inputs are 1-D integer class labels (argmax already taken by the caller). ``labels`` fixes
both which classes are scored and the order of every per-class table.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sklearn
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from common.errors import ConfigError
from common.metrics import MetricResult

ABSENT_CLASS_POLICY = (
    "precision/recall/F1 with a zero denominator are NaN (sklearn zero_division=nan): recall of a "
    "class absent from y_true is NaN and is left out of recall_macro; macro/weighted averages "
    "skip NaN entries (sklearn semantics), so a class absent from y_true but predicted keeps "
    "F1=0 inside f1_macro; confusion-matrix rows of absent classes are NaN when normalised"
)


def _as_labels(y: Sequence[int] | np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected 1-D integer class labels, got shape {arr.shape} "
                         "(take the argmax over classes first)")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{what}: class labels must be integers")
        arr = arr.astype(np.int64)
    return arr


def _check_label_args(labels: Sequence[int], names: Sequence[str]) -> tuple[list[int], list[str]]:
    labels = [int(v) for v in labels]
    names = [str(n) for n in names]
    if len(labels) != len(names):
        raise ConfigError(f"labels {labels} and names {names} differ in length")
    if len(set(labels)) != len(labels) or len(set(names)) != len(names):
        raise ConfigError(f"labels {labels} / names {names} contain duplicates")
    return labels, names


def _unknown(values: np.ndarray, labels: list[int]) -> list[int]:
    return sorted(int(v) for v in set(np.unique(values).tolist()) - set(labels))


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[int],
    names: Sequence[str],
    *,
    allow_pred_outside_labels: bool = False,
) -> MetricResult:
    """Accuracy, per-class precision/recall/F1, macro & weighted F1, average recall,
    confusion matrix (counts and row-normalised, rows = true) in the order of ``labels``.

    ``allow_pred_outside_labels``: predictions of classes not in ``labels`` (e.g. the noise
    output of a 3-class head scored on a 2-class test set) count as errors: they lower
    accuracy and the recall of the true class, and appear in no confusion-matrix column (so
    such rows sum to less than 1 once normalised by the true support).
    """
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred")
    labels, names = _check_label_args(labels, names)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true {yt.shape} and y_pred {yp.shape} differ in length")
    if yt.size == 0:
        raise ValueError("classification_metrics: no samples")
    bad_true = _unknown(yt, labels)
    if bad_true:
        raise ConfigError(f"y_true holds classes {bad_true} that are not in labels {labels}")
    bad_pred = _unknown(yp, labels)
    if bad_pred and not allow_pred_outside_labels:
        raise ConfigError(f"y_pred holds classes {bad_pred} that are not in labels {labels} "
                          "(pass allow_pred_outside_labels=True to count them as errors)")

    precision, recall, f1, support = precision_recall_fscore_support(
        yt, yp, labels=labels, average=None, zero_division=np.nan)
    _, _, f1_macro, _ = precision_recall_fscore_support(
        yt, yp, labels=labels, average="macro", zero_division=np.nan)
    _, _, f1_weighted, _ = precision_recall_fscore_support(
        yt, yp, labels=labels, average="weighted", zero_division=np.nan)

    counts_cm = confusion_matrix(yt, yp, labels=labels)
    true_support = np.array([(yt == lab).sum() for lab in labels], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Divide by the true support (not the row sum) so predictions outside `labels` still
        # count against the row; identical to sklearn normalize="true" otherwise.
        normalized = np.where(true_support[:, None] > 0,
                              counts_cm / true_support[:, None], np.nan)

    absent = [n for n, s in zip(names, true_support) if s == 0]
    values: dict[str, float] = {"accuracy": float(np.mean(yt == yp))}
    for n, p, r, f in zip(names, precision, recall, f1):
        values[f"precision/{n}"] = float(p)
        values[f"recall/{n}"] = float(r)
        values[f"f1/{n}"] = float(f)
    values["precision_macro"] = _nanmean(precision)
    values["recall_macro"] = _nanmean(recall)
    values["f1_macro"] = float(f1_macro)
    values["f1_weighted"] = float(f1_weighted)
    n_outside = int(np.isin(yp, labels, invert=True).sum())
    if allow_pred_outside_labels:
        values["pred_outside_labels_rate"] = n_outside / yt.size

    counts = {"n_samples": int(yt.size), "n_pred_outside_labels": n_outside}
    counts.update({f"support/{n}": int(s) for n, s in zip(names, support)})
    params = {
        "labels": labels,
        "names": names,
        "library": "scikit-learn",
        "library_version": sklearn.__version__,
        "accuracy": "fraction of samples with y_pred == y_true (all samples)",
        "recall_macro": "average recall: mean of per-class recalls over labels present in y_true",
        "f1_macro": "sklearn precision_recall_fscore_support(average='macro', labels=labels)",
        "f1_weighted": "sklearn average='weighted' (weights = true support)",
        "zero_division": "nan",
        "absent_class_policy": ABSENT_CLASS_POLICY,
        "absent_classes": absent,
        "allow_pred_outside_labels": allow_pred_outside_labels,
        "confusion_matrix": "rows = true class, columns = predicted class, order = labels; "
                            "normalised = counts / true support",
    }
    arrays = {"confusion_matrix": counts_cm.tolist(),
              "confusion_matrix_normalized": normalized.tolist()}
    return MetricResult(values=values, params=params, arrays=arrays, counts=counts)


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.mean(x[~np.isnan(x)])) if np.any(~np.isnan(x)) else float("nan")


def speech_nonspeech_accuracy(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    speech_label: int,
) -> MetricResult:
    """SwishNet SNS accuracy: binary accuracy of (y_pred == speech) against (y_true == speech);
    confusions among the non-speech classes (noise vs music) are not errors."""
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true {yt.shape} and y_pred {yp.shape} differ in length")
    if yt.size == 0:
        raise ValueError("speech_nonspeech_accuracy: no samples")
    correct = int(np.sum((yt == speech_label) == (yp == speech_label)))
    return MetricResult(
        values={"sns_accuracy": correct / yt.size},
        params={"speech_label": int(speech_label),
                "definition": "accuracy of (y_pred == speech_label) vs (y_true == speech_label) "
                              "after argmax (specs/swishnet.md §4)"},
        counts={"n_samples": int(yt.size), "n_correct": correct},
    )


def binary_subset_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[int],
    names: Sequence[str],
) -> MetricResult:
    """Metrics over the classes present in a test set scored by a wider head (SwishNet GTZAN:
    labels = [music, speech] from a noise/music/speech model).

    Values: everything of :func:`classification_metrics` (accuracy, ``recall/<name>``,
    ``recall_macro`` = average recall, ``f1/<name>``) plus ``f1`` = the macro average over
    ``labels``, i.e. the "macro avg" F1 of sklearn ``classification_report(labels=labels)``.
    Predictions of other classes count as errors.
    """
    base = classification_metrics(y_true, y_pred, labels, names, allow_pred_outside_labels=True)
    values = dict(base.values)
    values["f1"] = values["f1_macro"]
    params = dict(base.params)
    params["f1_definition"] = (
        "macro average of per-class F1 over labels (sklearn classification_report 'macro avg' "
        "with labels=labels); the seed's F1 is undefined in its text, macro avg is the most "
        "likely reading; f1_weighted kept as the alternative")
    return MetricResult(values=values, params=params, arrays=base.arrays, counts=base.counts)
