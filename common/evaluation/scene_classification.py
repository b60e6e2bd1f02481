"""``repro evaluate scene-classification``: accuracy of one label per file (DCASE acoustic
scene classification; UrbanSound8K-style clip classification).

- ``accuracy``: correct files / ground-truth files.
- ``class_accuracy``: per class, correct files / files of that class (= recall), the DCASE
  "class-wise accuracy"; ``macro_class_accuracy`` is their mean over the classes present in
  the ground truth (= scikit-learn ``balanced_accuracy_score``).
- ``confusion_matrix``: rows = true label, columns = predicted label, order = sorted
  ground-truth labels (or ``--labels`` as given).

A ground-truth file with no prediction counts as wrong: it lowers ``accuracy`` and the class
accuracy of its true class, falls in no confusion-matrix column (its row sums to less than the
class's file count), and is listed under ``files_without_predictions``. A predicted label not
in the label list, or a prediction for a file not in the ground truth, is an error naming the
file, line and column. Counting is done by :func:`common.metrics.classification.
classification_metrics` (scikit-learn).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from common.evaluation import Argument, EvaluationTask
from common.evaluation.formats import (
    check_label,
    match_predictions,
    parse_label_list,
    read_scene_labels,
)
from common.metrics.classification import classification_metrics

NAME = "scene-classification"
# Stands for "no prediction": outside every label index, so it counts as an error.
_NO_PREDICTION = -1


def _null(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def evaluate(ground_truth: str | Path, predictions: str | Path,
             labels: str | None = None) -> dict:
    """Score ``predictions`` against ``ground_truth`` (both ``filename,label`` tables; see
    :func:`common.evaluation.formats.read_scene_labels`). ``labels``: optional
    comma-separated label list fixing the classes and their order (default: sorted labels of
    the ground truth)."""
    truth = read_scene_labels(ground_truth)
    estimate = read_scene_labels(predictions)
    label_list = parse_label_list(labels)
    if label_list is None:
        label_list = sorted(set(truth.labels.values()))
    else:
        for name, lab in truth.labels.items():
            check_label(lab, label_list, truth.path, truth.lines[name], truth.label_column)
    for name, lab in estimate.labels.items():
        check_label(lab, label_list, estimate.path, estimate.lines[name], estimate.label_column)
    pairs, missing = match_predictions(truth.labels, truth.lines, truth.path,
                                       estimate.labels, estimate.lines, estimate.path)

    index = {lab: i for i, lab in enumerate(label_list)}
    predicted_of = {truth_name: estimate.labels[pred_name]
                    for pred_name, truth_name in pairs.items()}
    names = list(truth.labels)
    y_true = np.array([index[truth.labels[n]] for n in names])
    y_pred = np.array([index[predicted_of[n]] if n in predicted_of else _NO_PREDICTION
                       for n in names])
    res = classification_metrics(y_true, y_pred, labels=list(range(len(label_list))),
                                 names=label_list, allow_pred_outside_labels=True)
    present = [lab for lab in label_list if res.counts[f"support/{lab}"] > 0]
    return {
        "accuracy": float(res.values["accuracy"]),
        "class_accuracy": {lab: _null(res.values[f"recall/{lab}"]) for lab in label_list},
        "macro_class_accuracy": _null(res.values["recall_macro"]),
        "confusion_matrix": {"labels": label_list,
                             "matrix": [[int(v) for v in row]
                                        for row in res.arrays["confusion_matrix"]]},
        "n_files": len(names),
        "n_correct": int(np.sum(y_true == y_pred)),
        "class_files": {lab: res.counts[f"support/{lab}"] for lab in label_list},
        "files_without_predictions": missing,
        "params": {
            "labels_from": "--labels" if labels is not None else "ground truth (sorted)",
            "confusion_matrix": "rows = true label, columns = predicted label",
            "macro_class_accuracy": f"mean of class_accuracy over the {len(present)} labels "
                                    "present in the ground truth",
            "missing_predictions": "counted as wrong; in no confusion-matrix column",
            "file_matching": "base name without folder and extension",
            "undefined_values": "null (class accuracy of a --labels class with no file)",
            "library": res.params["library"],
            "library_version": res.params["library_version"],
        },
    }


def describe(result: dict) -> str:
    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    labels = result["confusion_matrix"]["labels"]
    lines = [(f"scene classification, {result['n_files']} files: accuracy "
              f"{fmt(result['accuracy'])} ({result['n_correct']}/{result['n_files']}), "
              f"macro class-wise accuracy {fmt(result['macro_class_accuracy'])}"),
             "class                      files  accuracy"]
    for lab in labels:
        lines.append(f"{lab:<26} {result['class_files'][lab]:>5}  "
                     f"{fmt(result['class_accuracy'][lab]):>8}")
    width = max(3, *(len(str(v)) for row in result["confusion_matrix"]["matrix"] for v in row))
    lines.append("confusion matrix (rows true, columns predicted, order as above):")
    lines += [" ".join(f"{v:>{width}}" for v in row)
              for row in result["confusion_matrix"]["matrix"]]
    missing = result["files_without_predictions"]
    if missing:
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        lines.append(f"{len(missing)} ground-truth files without predictions (counted as "
                     f"wrong): {shown}")
    return "\n".join(lines)


TASK = EvaluationTask(
    name=NAME,
    help="acoustic scene / clip classification: accuracy, class-wise accuracy, confusion "
         "matrix (DCASE convention, scikit-learn)",
    arguments=(
        Argument("--ground-truth", "table filename,label (CSV) or filename<TAB>scene_label"),
        Argument("--predictions", "table in the same format"),
        Argument("--labels", "comma-separated label list and order (default: sorted labels "
                             "of the ground truth)", required=False),
    ),
    evaluate=evaluate,
    describe=describe,
)
