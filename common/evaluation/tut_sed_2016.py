"""``repro evaluate tut-sed-2016``: sed_eval 0.2.1 metrics of a DCASE event list against the
TUT-SED Synthetic 2016 ground truth (specs/drossos_sed.md §3.1 layout, §4.2 metric).

- Segment-based F1 and ER with 1 s segments (sed_eval ``SegmentBasedMetrics`` default, the
  spec's §4.2), micro over all files, and per class.
- Event-based F1/ER (sed_eval ``EventBasedMetrics``) with the sed_eval 0.2.1 defaults:
  onset collar 0.2 s, offset collar max(0.2 s, 0.5 x reference length), onset and offset
  evaluated. The spec names no event-based setting for this dataset; these are the library's
  defaults (also the DCASE 2016 task 3 setting described by Mesaros et al. 2016, Appl. Sci.
  6(6) 162 — not re-checked against the challenge page here).

Files are evaluated one by one and the counts accumulated (sed_eval's protocol). A
ground-truth file with no prediction line is evaluated against an empty estimate (each of its
reference events is missed), as sed_eval's file-pair loop does, and is listed under
``files_without_predictions``. The evaluated length of a file is sed_eval's default: the last
offset of its reference and estimated events (no audio is read).

Labels: the label list is the ground truth's labels (sorted), or ``--labels`` when given; a
label outside that list, in either file, is an error naming the file, line and column (sed_eval
would silently drop it). Use ``--labels`` with the dataset's full list when a small test split
lacks some classes a system may output. ``--file-list`` (e.g. ``evaluation_setup/test.txt``)
limits a ``meta/`` folder, which holds every file of the dataset, to the split predicted.
"""
from __future__ import annotations

import math
from pathlib import Path

from common.evaluation import Argument, EvaluationTask
from common.evaluation.formats import (
    EventList,
    check_label,
    match_predictions,
    parse_label_list,
    read_event_list,
    read_ground_truth_events,
    restrict_files,
)
from common.metrics.sed import segment_based_metrics
from common.metrics.sed_event_based import (
    DEFAULT_PERCENTAGE_OF_LENGTH,
    DEFAULT_T_COLLAR,
    event_based_metrics,
)

NAME = "tut-sed-2016"
SEGMENT_SECONDS = 1.0
T_COLLAR = DEFAULT_T_COLLAR
PERCENTAGE_OF_LENGTH = DEFAULT_PERCENTAGE_OF_LENGTH


def _null(x: float) -> float | None:
    """NaN (undefined, e.g. F1 of a class never output) is written as JSON null."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _check_labels(events: EventList, labels: list[str]) -> None:
    for ev in events.events:
        check_label(ev.event_label, labels, events.sources[ev.filename], ev.line, "event_label")


def evaluate(ground_truth: str | Path, predictions: str | Path,
             labels: str | None = None, file_list: str | Path | None = None) -> dict:
    """Score ``predictions`` (a DCASE event list) against ``ground_truth`` (an event list or
    a ``meta/`` folder). ``labels``: optional comma-separated label list (default: the labels
    of the ground truth). ``file_list``: optional list of the files to evaluate (e.g. the
    dataset's ``evaluation_setup/test.txt``; first column), so a whole ``meta/`` folder can be
    scored on one split. Returns the JSON contract documented in common/evaluation/README.md."""
    truth = read_ground_truth_events(ground_truth)
    if file_list is not None:
        truth = restrict_files(truth, file_list)
    estimate = read_event_list(predictions)
    label_list = parse_label_list(labels)
    if label_list is None:
        label_list = sorted({ev.event_label for ev in truth.events})
    else:
        _check_labels(truth, label_list)
    _check_labels(estimate, label_list)
    pairs, missing = match_predictions(truth.files, truth.lines, truth.path,
                                       estimate.files, estimate.lines, estimate.path)

    reference = {name: [ev.as_sed_eval() for ev in evs] for name, evs in truth.files.items()}
    estimated: dict[str, list[dict]] = {name: [] for name in truth.files}
    for name, evs in estimate.files.items():
        target = pairs[name]
        estimated[target] += [dict(ev.as_sed_eval(), filename=target) for ev in evs]

    segment = segment_based_metrics(reference, estimated, label_list,
                                    time_resolution=SEGMENT_SECONDS)
    event = event_based_metrics(reference, estimated, label_list, t_collar=T_COLLAR,
                                percentage_of_length=PERCENTAGE_OF_LENGTH,
                                evaluate_onset=True, evaluate_offset=True)
    sv, ev = segment.values, event.values
    return {
        "segment_f1": _null(sv["segment_f1"]),
        "segment_er": _null(sv["segment_error_rate"]),
        "segment_precision": _null(sv["segment_precision"]),
        "segment_recall": _null(sv["segment_recall"]),
        "segment_substitution_rate": _null(sv["segment_substitution_rate"]),
        "segment_deletion_rate": _null(sv["segment_deletion_rate"]),
        "segment_insertion_rate": _null(sv["segment_insertion_rate"]),
        "class_f1": {lab: _null(sv[f"segment_f1/{lab}"]) for lab in label_list},
        "segment_class_er": {lab: _null(sv[f"segment_error_rate/{lab}"]) for lab in label_list},
        "event_f1": _null(ev["event_f1"]),
        "event_er": _null(ev["event_error_rate"]),
        "event_class_f1": {lab: _null(ev[f"event_f1/{lab}"]) for lab in label_list},
        "labels": label_list,
        "n_files": len(truth.files),
        "n_reference_events": len(truth.events),
        "n_predicted_events": len(estimate.events),
        "files_without_predictions": missing,
        "counts": {"segment": {k: segment.counts[k]
                               for k in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")},
                   "event": {k: event.counts[k] for k in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")}},
        "params": {
            "segment_length_seconds": SEGMENT_SECONDS,
            "t_collar_seconds": T_COLLAR,
            "percentage_of_length": PERCENTAGE_OF_LENGTH,
            "evaluate_onset": True,
            "evaluate_offset": True,
            "event_matching_type": event.params["event_matching_type"],
            "averaging": "micro (counts pooled over files and classes); class_f1 per class",
            "evaluated_length": "sed_eval default: last offset of the file's reference and "
                                "estimated events",
            "missing_predictions": "evaluated against an empty estimate (every reference "
                                   "event missed)",
            "file_matching": "base name without folder and extension",
            "labels_from": "--labels" if labels is not None else "ground truth",
            "file_list": None if file_list is None else str(file_list),
            "undefined_values": "null (e.g. F1 of a class with no reference and no output)",
            "library": "sed_eval",
            "library_version": segment.params["library_version"],
            "dcase_util_version": segment.params["dcase_util_version"],
        },
    }


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def describe(result: dict) -> str:
    p = result["params"]
    lines = [
        (f"TUT-SED 2016 (sed_eval {p['library_version']}), {result['n_files']} files, "
         f"{result['n_reference_events']} reference / {result['n_predicted_events']} "
         "predicted events"),
        (f"segment-based ({p['segment_length_seconds']:g} s): "
         f"F1 {_fmt(result['segment_f1'])}  ER {_fmt(result['segment_er'])}"),
        (f"event-based (collar {p['t_collar_seconds']:g} s, offset "
         f"{p['percentage_of_length']:g} x length): F1 {_fmt(result['event_f1'])}  "
         f"ER {_fmt(result['event_er'])}"),
        "class                      seg F1   seg ER   event F1",
    ]
    for lab in result["labels"]:
        lines.append(f"{lab:<26} {_fmt(result['class_f1'][lab]):>7}  "
                     f"{_fmt(result['segment_class_er'][lab]):>7}  "
                     f"{_fmt(result['event_class_f1'][lab]):>8}")
    missing = result["files_without_predictions"]
    if missing:
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        lines.append(f"{len(missing)} ground-truth files without predictions (scored as "
                     f"all missed): {shown}")
    return "\n".join(lines)


TASK = EvaluationTask(
    name=NAME,
    help="TUT-SED Synthetic 2016: sed_eval segment-based F1/ER (1 s) and event-based F1",
    arguments=(
        Argument("--ground-truth", "event list (filename, onset, offset, event_label; "
                                   "tab-separated) or the dataset's meta/ folder"),
        Argument("--predictions", "event list in the same format (no header)"),
        Argument("--labels", "comma-separated label list (default: labels of the ground "
                             "truth)", required=False),
        Argument("--file-list", "evaluate only these ground-truth files (first column, e.g. "
                                "evaluation_setup/test.txt)", required=False),
    ),
    evaluate=evaluate,
    describe=describe,
)
