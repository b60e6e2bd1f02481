"""DCASE 2020 Task 4 (DESED) evaluation (specs/fuss_desed.md §4.2), as the baseline's
``evaluation_measures.py`` computes it, with the field's libraries.

- :func:`event_based_f1`: sed_eval ``EventBasedMetrics``, onset collar 200 ms, offset collar
  max(200 ms, 20 % of the reference length), ``empty_system_output_handling='zero_score'``;
  the ranked number is the **macro** F1 (sed_eval's class-wise average, a NaN-skipping mean).
  Baseline quirks kept: only files of the reference are evaluated (predictions for other files
  are ignored and counted), and the label list is the union of labels found in the reference
  and the predictions (a class absent from both is not averaged; a class only predicted has
  F = NaN, skipped by the mean).
- :func:`segment_based_f1`: sed_eval ``SegmentBasedMetrics`` with 1 s segments over the same
  files, through :func:`common.metrics.sed.segment_based_metrics` (evaluated length = sed_eval's
  default, as the baseline passes none).
- :func:`psds`: Polyphonic Sound Detection Score with the DCASE 2020 parameters (DTC 0.5,
  GTC 0.5, CTTC 0.3, max eFPR 100 per hour) from frame scores, computed exactly over all
  thresholds by ``sed_scores_eval`` 0.0.4 (Ebbers et al., ICASSP 2022). The 2020 baseline used
  ``psds_eval`` with 50 thresholds (0.01 … 0.99), which does not run on pandas 3 and gives a
  slightly lower (coarser) value than the exact sweep; every result records which one it is.

sed_scores_eval 0.0.4 on pandas 3: ``DataFrame.to_numpy()`` returns read-only views
(copy-on-write) and the Cython kernels ``onset_offset_curves`` (scores, timestamps) and
``cy_medfilt`` (per-class filter lengths given as an array) declare writable memoryviews, so
they raise ``ValueError: buffer source array is read-only``. (``cy_medfilt`` concatenates the
scores and timestamps into new arrays first, so with a scalar filter length it runs.)
:func:`writable_sed_scores_eval` swaps in wrappers that pass writable float64 copies; the
numbers are unchanged (the kernels do not write to their inputs).
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from common.errors import ConfigError
from common.metrics import MetricResult
from common.metrics.sed import segment_based_metrics

T_COLLAR = 0.2
PERCENTAGE_OF_LENGTH = 0.2
SEGMENT_SECONDS = 1.0
DTC_THRESHOLD = 0.5
GTC_THRESHOLD = 0.5
CTTC_THRESHOLD = 0.3
MAX_EFPR = 100.0  # per hour
# (alpha_ct, alpha_st) of the three DCASE 2020 PSDS figures (spec §4.2).
PSDS_VARIANTS = {"psds": (0.0, 0.0), "psds_cross_trigger": (1.0, 0.0), "psds_macro": (0.0, 1.0)}

Events = Mapping[str, Sequence[Mapping[str, Any]]]  # filename -> [{onset, offset, event_label}]


def _labels_of(*event_maps: Events) -> list[str]:
    found = {str(ev["event_label"]) for events in event_maps for evs in events.values()
             for ev in evs}
    return sorted(found)


def _as_sed_eval(filename: str, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ev in events:
        onset, offset = float(ev["onset"]), float(ev["offset"])
        if offset < onset:
            raise ConfigError(f"{filename}: event {dict(ev)} ends before it starts")
        out.append({"filename": filename, "event_label": str(ev["event_label"]),
                    "onset": onset, "offset": offset})
    return out


def event_based_f1(reference: Events, estimated: Events,
                   t_collar: float = T_COLLAR,
                   percentage_of_length: float = PERCENTAGE_OF_LENGTH) -> MetricResult:
    """The baseline's ``event_based_evaluation_df``: sed_eval event-based metrics over the
    reference files. ``reference`` must list every evaluated file (an empty list for a file
    without events); ``estimated`` may omit files (no detection).

    Values: ``event_macro_f1`` (class-wise average F1, the ranked number), ``event_micro_f1``,
    ``event_f1/<label>``, ``event_error_rate``; fractions, NaN where undefined."""
    import sed_eval

    if not reference:
        raise ConfigError("event_based_f1: the reference lists no file")
    labels = _labels_of(reference, estimated)
    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=labels, t_collar=float(t_collar),
        percentage_of_length=float(percentage_of_length),
        empty_system_output_handling="zero_score")
    for f in reference:
        metric.evaluate(reference_event_list=_as_sed_eval(f, reference[f]),
                        estimated_event_list=_as_sed_eval(f, estimated.get(f, [])))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        res = metric.results()
    values = {
        "event_macro_f1": res["class_wise_average"]["f_measure"]["f_measure"],
        "event_micro_f1": res["overall"]["f_measure"]["f_measure"],
        "event_error_rate": res["overall"]["error_rate"]["error_rate"],
    }
    for lab in labels:
        values[f"event_f1/{lab}"] = res["class_wise"][lab]["f_measure"]["f_measure"]
    counts = {k: int(metric.overall[k]) for k in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")}
    counts["n_files"] = len(reference)
    counts["n_estimated_files_not_in_reference"] = len(set(estimated) - set(reference))
    for lab in labels:
        counts[f"Nref/{lab}"] = int(metric.class_wise[lab]["Nref"])
        counts[f"Nsys/{lab}"] = int(metric.class_wise[lab]["Nsys"])
    params = {
        "labels": labels, "t_collar": float(t_collar),
        "percentage_of_length": float(percentage_of_length),
        "empty_system_output_handling": "zero_score", "files": "reference files only",
        "labels_rule": "union of labels in reference and estimated (baseline)",
        "library": "sed_eval", "library_version": sed_eval.__version__,
        "definition": "turpaultn/dcase20_task4 baseline/evaluation_measures.py "
                      "event_based_evaluation_df; macro = class_wise_average (nanmean)",
    }
    return MetricResult(values=values, params=params, counts=counts)


def segment_based_f1(reference: Events, estimated: Events,
                     time_resolution: float = SEGMENT_SECONDS) -> MetricResult:
    """The baseline's ``segment_based_evaluation_df`` (1 s segments) over the reference files:
    ``segment_macro_f1`` (class-wise average) and ``segment_micro_f1`` plus the wrapper's
    per-class values."""
    if not reference:
        raise ConfigError("segment_based_f1: the reference lists no file")
    labels = _labels_of(reference, estimated)
    ref = {f: _as_sed_eval(f, evs) for f, evs in reference.items()}
    est = {f: _as_sed_eval(f, estimated.get(f, [])) for f in reference}
    result = segment_based_metrics(ref, est, labels, time_resolution=time_resolution)
    values = {"segment_macro_f1": result.values["segment_f1_classwise_average"],
              "segment_micro_f1": result.values["segment_f1"],
              **{k: v for k, v in result.values.items() if k.startswith("segment_f1/")}}
    params = {**result.params, "files": "reference files only",
              "labels_rule": "union of labels in reference and estimated (baseline)"}
    return MetricResult(values=values, params=params, counts=result.counts)


# --------------------------------------------------------------------------------------------
# sed_scores_eval shim


def _writable(a: Any) -> Any:
    return None if a is None else np.array(a, dtype=np.float64, copy=True)


@contextlib.contextmanager
def writable_sed_scores_eval() -> Iterator[None]:
    """Within the block, sed_scores_eval's Cython kernels receive writable float64 copies of
    their array arguments (see the module docstring). Restores the originals on exit."""
    from sed_scores_eval.base_modules import postprocessing, statistics

    original_curves = statistics.onset_offset_curves
    original_medfilt = postprocessing.cy_medfilt

    def onset_offset_curves(scores, timestamps, change_point_candidates=None):
        return original_curves(_writable(scores), _writable(timestamps),
                               _writable(change_point_candidates))

    def cy_medfilt(scores, timestamps, filter_length_in_sec=None, **kwargs):
        # per-class filter lengths (an array, e.g. from a pandas Series) reach a typed
        # memoryview too; a scalar is passed through
        if filter_length_in_sec is not None and not np.isscalar(filter_length_in_sec):
            filter_length_in_sec = _writable(filter_length_in_sec)
        return original_medfilt(_writable(scores), _writable(timestamps),
                                filter_length_in_sec=filter_length_in_sec, **kwargs)

    statistics.onset_offset_curves = onset_offset_curves
    postprocessing.cy_medfilt = cy_medfilt
    try:
        yield
    finally:
        statistics.onset_offset_curves = original_curves
        postprocessing.cy_medfilt = original_medfilt


def score_dataframe(scores: np.ndarray, timestamps: Sequence[float],
                    labels: Sequence[str]) -> Any:
    """A sed_scores_eval score table: ``scores`` (T, C), ``timestamps`` T + 1 frame edges."""
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    return create_score_dataframe(np.asarray(scores, dtype=np.float64),
                                  np.asarray(timestamps, dtype=np.float64), list(labels))


def psds(scores: Mapping[str, Any], ground_truth: Mapping[str, Sequence[tuple]],
         durations: Mapping[str, float], *, alpha_ct: float = 0.0, alpha_st: float = 0.0,
         dtc_threshold: float = DTC_THRESHOLD, gtc_threshold: float = GTC_THRESHOLD,
         cttc_threshold: float = CTTC_THRESHOLD, max_efpr: float = MAX_EFPR) -> MetricResult:
    """PSDS from score tables (``{audio_id: DataFrame}``, see :func:`score_dataframe`),
    ground truth ``{audio_id: [(onset, offset, label), ...]}`` (every scored clip, empty list
    when it has no event) and durations in seconds. ``cttc_threshold`` is used only when
    ``alpha_ct > 0`` (sed_scores_eval refuses it otherwise).

    Values: ``psds`` and ``psds/<label>`` (single-class PSDS). Arrays: the PSD-ROC
    (``etpr``, ``efpr``) for plotting."""
    import sed_scores_eval
    from sed_scores_eval.intersection_based import psds as sse_psds

    ids = set(scores)
    if ids != set(ground_truth):
        raise ConfigError(f"psds: score and ground-truth clips differ: only scores "
                          f"{sorted(ids - set(ground_truth))[:5]}, only ground truth "
                          f"{sorted(set(ground_truth) - ids)[:5]}")
    if ids - set(durations):
        raise ConfigError(f"psds: no duration for {sorted(ids - set(durations))[:5]}")
    gt = {k: [(float(a), float(b), str(c)) for a, b, c in v] for k, v in ground_truth.items()}
    with writable_sed_scores_eval():
        value, per_class, (etpr, efpr), _ = sse_psds(
            scores=dict(scores), ground_truth=gt,
            audio_durations={k: float(durations[k]) for k in ids},
            dtc_threshold=dtc_threshold, gtc_threshold=gtc_threshold,
            cttc_threshold=cttc_threshold if alpha_ct > 0 else None,
            alpha_ct=alpha_ct, alpha_st=alpha_st, unit_of_time="hour", max_efpr=max_efpr)
    values = {"psds": float(value)}
    values.update({f"psds/{k}": float(v) for k, v in per_class.items()})
    params = {"dtc_threshold": dtc_threshold, "gtc_threshold": gtc_threshold,
              "cttc_threshold": cttc_threshold if alpha_ct > 0 else None,
              "alpha_ct": alpha_ct, "alpha_st": alpha_st, "max_efpr_per_hour": max_efpr,
              "method": "exact sweep over all score thresholds (sed_scores_eval), not the "
                        "baseline's psds_eval with 50 thresholds",
              "library": "sed_scores_eval",
              "library_version": getattr(sed_scores_eval, "__version__", "0.0.4"),
              "shim": "writable float64 copies into onset_offset_curves / cy_medfilt"}
    counts = {"n_files": len(ids),
              "n_ground_truth_events": sum(len(v) for v in gt.values())}
    finite = np.isfinite(efpr)
    arrays = {"etpr": np.asarray(etpr)[finite].tolist(), "efpr": np.asarray(efpr)[finite].tolist()}
    return MetricResult(values=values, params=params, counts=counts, arrays=arrays)


def ground_truth_overlaps(ground_truth: Mapping[str, Sequence[tuple]]) -> list[tuple[str, str]]:
    """(clip, label) pairs whose same-label reference events overlap or touch — sed_scores_eval
    asserts they do not; callers turn this into an error naming the file."""
    bad = []
    for clip, events in ground_truth.items():
        by_label: dict[str, list[tuple[float, float]]] = {}
        for onset, offset, label in events:
            by_label.setdefault(str(label), []).append((float(onset), float(offset)))
        for label, spans in by_label.items():
            spans.sort()
            if any(spans[i + 1][0] <= spans[i][1] for i in range(len(spans) - 1)):
                bad.append((clip, label))
    return bad
