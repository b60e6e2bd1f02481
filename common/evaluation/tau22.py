"""``repro evaluate tau22``: DCASE 2022 Task 1 scores of a prediction file (spec §3–4).

Inputs, both tab-separated with a header row:

* ``--meta``: the official ``meta.csv`` of TAU Urban Acoustic Scenes 2022 Mobile
  (``filename``, ``scene_label``, ``identifier``, ``source_label``); ``source_label`` is the
  device and must agree with the device token that ends the file name.
* ``--predictions``: the baseline's output format (``res_fold_1.csv``): ``filename``,
  ``scene_label`` (the predicted scene) and one probability column per scene label.

Every file of the predictions is scored against its scene and device in the meta file (files
are matched by base name, as the baseline does). Log loss uses the probability columns under
the pre-1.2 scikit-learn rule, accuracy the predicted ``scene_label`` column (sed_eval), see
:mod:`common.metrics.dcase2022_asc`.

JSON keys: ``log_loss``, ``accuracy``, ``macro_class_log_loss``, ``device_log_loss``,
``device_accuracy``, ``class_log_loss`` (the contract), plus ``class_accuracy``,
``device_class_log_loss``, ``n_files`` and ``rules``. Undefined values (a scene without files)
are null.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path, PurePath

import numpy as np

from common.errors import ConfigError, PredictionFileError
from common.evaluation import Argument, EvaluationTask
from common.metrics.dcase2022_asc import (
    ACCURACY_RULE,
    LOG_LOSS_RULE,
    SCENE_LABELS,
    dcase2022_asc_metrics,
    device_from_filename,
)

META_COLUMNS = ("filename", "scene_label", "source_label")
PROBABILITY_TOLERANCE = 1e-6  # float32 softmax outputs may exceed 1 by rounding


def _read_table(path: str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, fields) rows of a tab-separated file; blank lines skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictionFileError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PredictionFileError(path, f"cannot read: {err}") from None
    rows = [(number, fields) for number, fields in
            enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1)
            if any(field.strip() for field in fields)]
    if not rows:
        raise PredictionFileError(path, "empty file (expected a tab-separated header row)")
    header = [field.strip() for field in rows[0][1]]
    if len(header) == 1 and ("," in header[0] or ";" in header[0]):
        raise PredictionFileError(path, "header has a single column; the file must be "
                                  "tab-separated", line=rows[0][0])
    for number, fields in rows[1:]:
        if len(fields) != len(header):
            raise PredictionFileError(path, f"{len(fields)} fields, the header has "
                                      f"{len(header)}", line=number)
    return header, rows[1:]


def _require_columns(path, header, required, line) -> None:
    missing = [name for name in required if name not in header]
    if missing:
        raise PredictionFileError(path, f"missing column(s) {missing}; header is {header}",
                                  line=line, column=missing[0])


def read_meta(path: str | Path) -> dict[str, tuple[str, str]]:
    """Base file name → (scene label, device) from the official meta.csv."""
    header, rows = _read_table(path)
    _require_columns(path, header, META_COLUMNS, 1)
    col = {name: header.index(name) for name in META_COLUMNS}
    meta: dict[str, tuple[str, str]] = {}
    first_line: dict[str, int] = {}
    for number, fields in rows:
        name = PurePath(fields[col["filename"]].strip()).name
        scene = fields[col["scene_label"]].strip()
        device = fields[col["source_label"]].strip()
        if scene not in SCENE_LABELS:
            raise PredictionFileError(path, f"unknown scene {scene!r}; known: "
                                      f"{list(SCENE_LABELS)}", line=number, column="scene_label")
        try:
            from_name = device_from_filename(name)
        except ConfigError as err:
            raise PredictionFileError(path, str(err), line=number, column="filename") from None
        if device != from_name:
            raise PredictionFileError(path, f"source_label {device!r} disagrees with the device "
                                      f"{from_name!r} in the file name", line=number,
                                      column="source_label")
        if name in meta:
            raise PredictionFileError(path, f"file {name!r} listed again (first on line "
                                      f"{first_line[name]})", line=number, column="filename")
        meta[name] = (scene, device)
        first_line[name] = number
    return meta


def read_predictions(path: str | Path) -> tuple[list[str], list[str], np.ndarray, list[int]]:
    """(base file names, predicted scene labels, probabilities in SCENE_LABELS order,
    line numbers) of a prediction file in the baseline's format."""
    header, rows = _read_table(path)
    _require_columns(path, header, ("filename", "scene_label", *SCENE_LABELS), 1)
    unknown = [name for name in header if name not in ("filename", "scene_label", *SCENE_LABELS)]
    if unknown:
        raise PredictionFileError(path, f"column {unknown[0]!r} is neither filename, "
                                  "scene_label nor a scene label", line=1, column=unknown[0])
    if not rows:
        raise PredictionFileError(path, "no predictions after the header")
    col = {name: header.index(name) for name in ("filename", "scene_label", *SCENE_LABELS)}
    names, predicted, lines = [], [], []
    proba = np.zeros((len(rows), len(SCENE_LABELS)))
    seen: dict[str, int] = {}
    for i, (number, fields) in enumerate(rows):
        name = PurePath(fields[col["filename"]].strip()).name
        if name in seen:
            raise PredictionFileError(path, f"file {name!r} predicted again (first on line "
                                      f"{seen[name]})", line=number, column="filename")
        seen[name] = number
        scene = fields[col["scene_label"]].strip()
        if scene not in SCENE_LABELS:
            raise PredictionFileError(path, f"unknown scene {scene!r}; known: "
                                      f"{list(SCENE_LABELS)}", line=number, column="scene_label")
        for k, label in enumerate(SCENE_LABELS):
            raw = fields[col[label]].strip()
            try:
                value = float(raw)
            except ValueError:
                raise PredictionFileError(path, f"probability {raw!r} is not a number",
                                          line=number, column=label) from None
            if not math.isfinite(value):
                raise PredictionFileError(path, f"probability {raw!r} is not finite",
                                          line=number, column=label)
            if value < 0:
                raise PredictionFileError(path, f"probability {value} is negative",
                                          line=number, column=label)
            if value > 1 + PROBABILITY_TOLERANCE:
                raise PredictionFileError(path, f"probability {value} is greater than 1",
                                          line=number, column=label)
            proba[i, k] = value
        names.append(name)
        predicted.append(scene)
        lines.append(number)
    return names, predicted, proba, lines


def evaluate(meta: str | Path, predictions: str | Path) -> dict:
    """Scores of every file in ``predictions`` (module docstring)."""
    reference = read_meta(meta)
    names, predicted, proba, lines = read_predictions(predictions)
    y_true, devices = [], []
    for name, number in zip(names, lines):
        if name not in reference:
            raise PredictionFileError(predictions, f"file {name!r} is not in {meta}",
                                      line=number, column="filename")
        scene, device = reference[name]
        y_true.append(SCENE_LABELS.index(scene))
        devices.append(device)
    y_pred = [SCENE_LABELS.index(scene) for scene in predicted]
    result = dcase2022_asc_metrics(y_true, proba, devices, y_pred=y_pred)
    v = result.values
    ordered = result.params["devices"]

    def clean(x: float) -> float | None:
        return None if math.isnan(x) else x

    return {
        "log_loss": clean(v["log_loss"]),
        "accuracy": clean(v["accuracy"]),
        "macro_class_log_loss": clean(v["macro_class_log_loss"]),
        "device_log_loss": {d: clean(v[f"device_log_loss/{d}"]) for d in ordered},
        "device_accuracy": {d: clean(v[f"device_accuracy/{d}"]) for d in ordered},
        "class_log_loss": {s: clean(v[f"class_log_loss/{s}"]) for s in SCENE_LABELS},
        "class_accuracy": {s: clean(v[f"class_accuracy/{s}"]) for s in SCENE_LABELS},
        "device_class_log_loss": {
            d: {s: clean(v[f"device_class_log_loss/{d}/{s}"]) for s in SCENE_LABELS}
            for d in ordered},
        "n_files": len(names),
        "rules": {"log_loss": LOG_LOSS_RULE, "accuracy": ACCURACY_RULE},
    }


def _fmt(x: float | None, percent: bool = False) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f} %" if percent else f"{x:.3f}"


def describe(result: dict) -> str:
    devices = list(result["device_log_loss"])
    lines = [
        f"DCASE 2022 Task 1 — {result['n_files']} files",
        f"log loss (all files)          {_fmt(result['log_loss'])}",
        f"macro class-wise log loss     {_fmt(result['macro_class_log_loss'])}  (ranking metric)",
        f"accuracy (class-wise average) {_fmt(result['accuracy'], percent=True)}",
        "",
        "device      " + " ".join(f"{d:>7}" for d in devices),
        "log loss    " + " ".join(f"{_fmt(result['device_log_loss'][d]):>7}" for d in devices),
        "accuracy    " + " ".join(f"{_fmt(result['device_accuracy'][d], True):>7}"
                                  for d in devices),
        "",
    ]
    lines += [f"{scene:<18} log loss {_fmt(result['class_log_loss'][scene])}  accuracy "
              f"{_fmt(result['class_accuracy'][scene], True)}" for scene in SCENE_LABELS]
    return "\n".join(lines) + "\n"


TASK = EvaluationTask(
    name="tau22",
    help="DCASE 2022 Task 1 (TAU Urban Acoustic Scenes 2022 Mobile): log loss (scikit-learn "
         "< 1.2 rule), macro class-wise log loss, class-wise accuracy (sed_eval), per device",
    arguments=(
        Argument("--meta", "the dataset's meta.csv (tab-separated: filename, scene_label, "
                           "identifier, source_label)"),
        Argument("--predictions", "predictions in the baseline's format (tab-separated: "
                                  "filename, scene_label, one probability column per scene)"),
    ),
    evaluate=evaluate,
    describe=describe,
)
