"""Sound-event-detection metrics (specs/drossos_sed.md §4).

- :func:`frame_f1_er`: the dnd-sed reference metric (``tools/metrics.py``): micro F1 and
  error rate per frame, pooled over every frame of every sequence of a split.
- :func:`segment_based_metrics`: sed_eval ``SegmentBasedMetrics`` (DCASE convention), file by
  file, on event lists; :func:`frames_to_events` turns frame activity into such lists.
- :func:`per_class_f1`: frame-level per-class F1 (scikit-learn).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from common.errors import ConfigError
from common.metrics import MetricResult

# dnd-sed adds torch.finfo(torch.float32).eps to the F1 and ER denominators.
DND_SED_EPS = float(np.finfo(np.float32).eps)
# Event times are rounded to 1 ns: far below any sample period, and it turns float noise such
# as 3*0.02 = 0.06000000000000001 into the intended frame boundary before sed_eval floors/ceils it.
EVENT_TIME_DECIMALS = 9


def _binary_array(y: Any, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim < 2:
        raise ValueError(f"{what}: expected (..., T, C) frame activity, got shape {arr.shape}")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{what}: must be binary (0/1 or bool)")
    return arr.astype(bool)


def frame_f1_er(
    y_true: Any,
    y_score: Any,
    threshold: float = 0.5,
    score_kind: Literal["probability", "logit"] = "probability",
) -> MetricResult:
    """dnd-sed frame metrics: predictions are ``y_score >= threshold``; counts are pooled over
    all sequences, frames and classes.

    F1 = 2TP / (2TP + FP + FN + eps), 0 when TP = FP = FN = 0.
    ER = (S + D + I) / (N_ref + eps) with, per frame, S = min(FN, FP), D = max(0, FN - FP),
    I = max(0, FP - FN) (over classes) and N_ref = number of active reference (frame, class)
    cells. eps = float32 machine epsilon, as in the reference.

    ``score_kind`` says what ``y_score`` holds; the threshold is applied to the scores as given.
    The dnd-sed test loop thresholds raw logits at 0.5: reproduce it with
    ``score_kind="logit", threshold=0.5`` (equivalent probability threshold sigmoid(0.5) ≈ 0.6225,
    recorded in params); probabilities at 0.5 correspond to logits at 0.0.
    """
    yt = _binary_array(y_true, "y_true")
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.shape != yt.shape:
        raise ValueError(f"y_true {yt.shape} and y_score {scores.shape} differ in shape")
    if np.isnan(scores).any():
        raise ValueError("y_score contains NaN")
    if score_kind == "probability":
        if scores.size and (scores.min() < 0.0 or scores.max() > 1.0):
            raise ValueError("y_score has values outside [0, 1] but score_kind='probability' "
                             "(pass score_kind='logit' for raw network outputs)")
        prob_threshold = float(threshold)
    elif score_kind == "logit":
        prob_threshold = float(1.0 / (1.0 + np.exp(-threshold)))
    else:
        raise ConfigError(f"score_kind must be 'probability' or 'logit', got {score_kind!r}")

    n_classes = yt.shape[-1]
    yt2 = yt.reshape(-1, n_classes)
    yp2 = (scores >= threshold).reshape(-1, n_classes)

    tp_c = yt2 & yp2
    fp_c = ~yt2 & yp2
    fn_c = yt2 & ~yp2
    tp, fp, fn = int(tp_c.sum()), int(fp_c.sum()), int(fn_c.sum())
    tn = int(yt2.size - tp - fp - fn)
    fn_t = fn_c.sum(axis=1)
    fp_t = fp_c.sum(axis=1)
    subs = int(np.minimum(fn_t, fp_t).sum())
    dels = int(np.maximum(0, fn_t - fp_t).sum())
    ins = int(np.maximum(0, fp_t - fn_t).sum())
    n_ref = int(yt2.sum())

    f1 = 0.0 if tp == fp == fn == 0 else 2 * tp / (2 * tp + fp + fn + DND_SED_EPS)
    denom = n_ref + DND_SED_EPS
    values = {
        "frame_f1": f1,
        "frame_error_rate": (subs + dels + ins) / denom,
        "frame_substitution_rate": subs / denom,
        "frame_deletion_rate": dels / denom,
        "frame_insertion_rate": ins / denom,
        "frame_precision": tp / (tp + fp) if tp + fp else float("nan"),
        "frame_recall": tp / (tp + fn) if tp + fn else float("nan"),
    }
    counts = {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "substitutions": subs,
              "deletions": dels, "insertions": ins, "n_ref": n_ref, "n_sys": tp + fp,
              "n_frames": int(yt2.shape[0]), "n_classes": int(n_classes)}
    params = {
        "threshold": float(threshold),
        "comparison": "score >= threshold",
        "score_kind": score_kind,
        "equivalent_probability_threshold": prob_threshold,
        "eps": DND_SED_EPS,
        "pooling": "micro: all sequences x frames x classes of the split pooled",
        "definition": "dr-costas/dnd-sed tools/metrics.py f1_per_frame / error_rate_per_frame",
        "extras": "frame_precision/frame_recall/rates are not in the reference; same counts",
    }
    return MetricResult(values=values, params=params, counts=counts)


def frames_to_events(
    active: Any,
    hop_seconds: float,
    labels: Sequence[str],
    filename: str,
) -> list[dict[str, Any]]:
    """Frame activity (T, C) -> event list: each run of consecutive active frames of a class is
    one event with onset = first_frame * hop and offset = (last_frame + 1) * hop (seconds,
    rounded to 1 ns). Sorted by onset, then label order."""
    act = np.asarray(active)
    if act.ndim != 2:
        raise ValueError(f"{filename}: active must be (T, C), got shape {act.shape}")
    if act.shape[1] != len(labels):
        raise ConfigError(f"{filename}: active has {act.shape[1]} classes but "
                          f"{len(labels)} labels were given")
    if hop_seconds <= 0:
        raise ConfigError(f"{filename}: hop_seconds must be > 0, got {hop_seconds}")
    act = _binary_array(act, f"{filename}: active")
    events: list[tuple[int, int, int]] = []
    for c in range(act.shape[1]):
        edges = np.diff(np.concatenate(([0], act[:, c].astype(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        events.extend((int(s), c, int(e)) for s, e in zip(starts, ends))
    events.sort()
    return [{"event_label": str(labels[c]),
             "onset": round(s * hop_seconds, EVENT_TIME_DECIMALS),
             "offset": round(e * hop_seconds, EVENT_TIME_DECIMALS),
             "filename": str(filename)}
            for s, c, e in events]


EventLists = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]]


def _group_by_file(events: EventLists, labels: Sequence[str], what: str
                   ) -> dict[str, list[dict[str, Any]]]:
    """Accept a flat event list (each event has 'filename') or {filename: events}; return
    {filename: [normalised event dicts]} with onset/offset keys and checked labels."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    if isinstance(events, Mapping):
        pairs = [(str(f), ev) for f, evs in events.items() for ev in evs]
        for f in events:
            grouped.setdefault(str(f), [])
    else:
        pairs = []
        for i, ev in enumerate(events):
            if "filename" not in ev:
                raise ConfigError(f"{what} event #{i} has no 'filename' key: {dict(ev)}")
            pairs.append((str(ev["filename"]), ev))
    known = set(labels)
    for f, ev in pairs:
        onset = ev.get("onset", ev.get("event_onset"))
        offset = ev.get("offset", ev.get("event_offset"))
        label = ev.get("event_label")
        if onset is None or offset is None or label is None:
            raise ConfigError(f"{what} event in {f} lacks event_label/onset/offset: {dict(ev)}")
        if label not in known:
            raise ConfigError(f"{what} event in {f} has label {label!r} not in labels")
        if float(offset) < float(onset):
            raise ConfigError(f"{what} event in {f} ends before it starts: {dict(ev)}")
        grouped.setdefault(f, []).append({"event_label": str(label), "onset": float(onset),
                                          "offset": float(offset), "filename": f})
    return grouped


def _unique_labels(labels: Sequence[str]) -> list[str]:
    """``labels`` as strings; ConfigError when one repeats."""
    labels = [str(lab) for lab in labels]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"labels contain duplicates: {labels}")
    return labels


def sed_eval_values(metric, labels: Sequence[str], prefix: str) -> dict[str, float]:
    """The values of a filled sed_eval ``SegmentBasedMetrics`` / ``EventBasedMetrics`` under
    ``prefix`` ("segment" / "event"): F1, precision, recall, error rate and its substitution /
    deletion / insertion rates (overall = micro), the class-wise averages (NaN-skipping means),
    then ``<prefix>_f1/<label>`` and ``<prefix>_error_rate/<label>`` per label."""
    with warnings.catch_warnings():
        # sed_eval's class-wise averages are nanmeans; all-NaN is a documented NaN, not a fault.
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        res = metric.results()
    f_measure, error_rate = res["overall"]["f_measure"], res["overall"]["error_rate"]
    values = {
        f"{prefix}_f1": f_measure["f_measure"],
        f"{prefix}_precision": f_measure["precision"],
        f"{prefix}_recall": f_measure["recall"],
        f"{prefix}_error_rate": error_rate["error_rate"],
        f"{prefix}_substitution_rate": error_rate["substitution_rate"],
        f"{prefix}_deletion_rate": error_rate["deletion_rate"],
        f"{prefix}_insertion_rate": error_rate["insertion_rate"],
        f"{prefix}_f1_classwise_average": res["class_wise_average"]["f_measure"]["f_measure"],
        f"{prefix}_error_rate_classwise_average":
            res["class_wise_average"]["error_rate"]["error_rate"],
    }
    for lab in labels:
        cw = res["class_wise"][lab]
        values[f"{prefix}_f1/{lab}"] = cw["f_measure"]["f_measure"]
        values[f"{prefix}_error_rate/{lab}"] = cw["error_rate"]["error_rate"]
    return values


def segment_based_metrics(
    reference: EventLists,
    estimated: EventLists,
    labels: Sequence[str],
    time_resolution: float = 1.0,
    evaluated_lengths: Mapping[str, float] | None = None,
) -> MetricResult:
    """sed_eval segment-based metrics, evaluated file by file and accumulated (sed_eval's own
    protocol). Files are the union of files in reference, estimated and ``evaluated_lengths``;
    a file missing on one side is evaluated against an empty list. A file's evaluated length
    is ``evaluated_lengths[file]`` when given, else sed_eval's default (max offset of the two
    lists).

    Values: segment_f1/precision/recall and segment_error_rate with its substitution/deletion/
    insertion rates (overall = micro), per-class ``segment_f1/<label>`` and
    ``segment_error_rate/<label>``, and sed_eval's class-wise averages (NaN-skipping means).
    """
    import dcase_util
    import sed_eval

    labels = _unique_labels(labels)
    if time_resolution <= 0:
        raise ConfigError(f"time_resolution must be > 0, got {time_resolution}")
    ref = _group_by_file(reference, labels, "reference")
    est = _group_by_file(estimated, labels, "estimated")
    lengths = {str(k): float(v) for k, v in (evaluated_lengths or {}).items()}
    files = sorted(set(ref) | set(est) | set(lengths))

    # sed_eval rejects an int resolution ("needs to be float"), hence float().
    metric = sed_eval.sound_event.SegmentBasedMetrics(
        event_label_list=labels, time_resolution=float(time_resolution))
    for f in files:
        metric.evaluate(reference_event_list=ref.get(f, []),
                        estimated_event_list=est.get(f, []),
                        evaluated_length_seconds=lengths.get(f))
    values = sed_eval_values(metric, labels, "segment")

    counts = {k: int(metric.overall[k]) for k in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")}
    counts.update({"substitutions": int(metric.overall["S"]),
                   "deletions": int(metric.overall["D"]),
                   "insertions": int(metric.overall["I"]),
                   "n_files": len(files)})
    for lab in labels:
        counts[f"Nref/{lab}"] = int(metric.class_wise[lab]["Nref"])
        counts[f"Nsys/{lab}"] = int(metric.class_wise[lab]["Nsys"])
    params = {
        "time_resolution": float(time_resolution),
        "labels": labels,
        "library": "sed_eval",
        "library_version": sed_eval.__version__,
        "dcase_util_version": dcase_util.__version__,
        "metric": "sed_eval.sound_event.SegmentBasedMetrics, evaluated file by file",
        "evaluated_length": ("evaluated_lengths[file] where given, else max offset of the "
                             "file's reference and estimated events"),
        "evaluated_length_seconds": float(metric.evaluated_length_seconds),
        "empty_system_output_handling": ("sed_eval default: precision NaN when Nsys = 0, so F1 "
                                         "of a class never output is NaN and the class-wise "
                                         "averages (nanmean) skip it"),
    }
    return MetricResult(values=values, params=params, counts=counts)


def per_class_f1(y_true: Any, y_pred: Any, names: Sequence[str]) -> MetricResult:
    """Frame-level F1 per class with scikit-learn on binary (..., C) activity (frames of all
    sequences pooled). A class with no reference and no predicted frames gets NaN, skipped by
    f1_macro."""
    import sklearn
    from sklearn.metrics import f1_score

    yt = _binary_array(y_true, "y_true")
    yp = _binary_array(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true {yt.shape} and y_pred {yp.shape} differ in shape")
    names = [str(n) for n in names]
    if yt.shape[-1] != len(names):
        raise ConfigError(f"arrays have {yt.shape[-1]} classes but {len(names)} names given")
    yt2 = yt.reshape(-1, yt.shape[-1]).astype(np.int8)
    yp2 = yp.reshape(-1, yp.shape[-1]).astype(np.int8)
    per_class = f1_score(yt2, yp2, average=None, zero_division=np.nan)
    values = {f"f1/{n}": float(v) for n, v in zip(names, per_class)}
    values["f1_macro"] = float(f1_score(yt2, yp2, average="macro", zero_division=np.nan))
    values["f1_micro"] = float(f1_score(yt2, yp2, average="micro", zero_division=np.nan))
    counts = {f"support/{n}": int(s) for n, s in zip(names, yt2.sum(axis=0))}
    counts["n_frames"] = int(yt2.shape[0])
    params = {"names": names, "library": "scikit-learn", "library_version": sklearn.__version__,
              "definition": "sklearn f1_score on frames (multilabel indicator), frames pooled",
              "zero_division": "nan", "f1_micro_note": "equals frame_f1 up to its eps term"}
    return MetricResult(values=values, params=params, counts=counts)
