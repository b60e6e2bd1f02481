"""sed_eval event-based metrics (collar matching), file by file: the companion of
:func:`common.metrics.sed.segment_based_metrics` for ``repro evaluate`` and the DCASE tasks.

An estimated event matches a reference event of the same label when its onset is within
``t_collar`` of the reference onset and (if ``evaluate_offset``) its offset within
max(``t_collar``, ``percentage_of_length`` x reference length) of the reference offset;
sed_eval 0.2.1 pairs them by optimal (graph) matching. F = 2TP / (2TP + FP + FN) pooled over
files (micro); ER = (S + D + I) / N_ref.
"""
from __future__ import annotations

from collections.abc import Sequence

from common.errors import ConfigError
from common.metrics import MetricResult
from common.metrics.sed import EventLists, _group_by_file, _unique_labels, sed_eval_values

# sed_eval 0.2.1 EventBasedMetrics defaults (tut-arg.github.io/sed_eval, EventBasedMetrics).
DEFAULT_T_COLLAR = 0.2
DEFAULT_PERCENTAGE_OF_LENGTH = 0.5


def event_based_metrics(
    reference: EventLists,
    estimated: EventLists,
    labels: Sequence[str],
    *,
    t_collar: float = DEFAULT_T_COLLAR,
    percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
    evaluate_onset: bool = True,
    evaluate_offset: bool = True,
) -> MetricResult:
    """sed_eval ``EventBasedMetrics`` evaluated file by file over the union of files of
    ``reference`` and ``estimated`` (a file missing on one side is evaluated against an empty
    list). Values: ``event_f1/precision/recall``, ``event_error_rate`` and its rates (micro),
    per-class ``event_f1/<label>`` and ``event_error_rate/<label>``, class-wise averages."""
    import sed_eval

    labels = _unique_labels(labels)
    if t_collar < 0 or not 0 <= percentage_of_length <= 1:
        raise ConfigError(f"t_collar must be >= 0 and percentage_of_length in [0, 1], got "
                          f"{t_collar}, {percentage_of_length}")
    if not (evaluate_onset or evaluate_offset):
        raise ConfigError("evaluate_onset and evaluate_offset cannot both be False")
    ref = _group_by_file(reference, labels, "reference")
    est = _group_by_file(estimated, labels, "estimated")
    files = sorted(set(ref) | set(est))
    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=labels, evaluate_onset=evaluate_onset, evaluate_offset=evaluate_offset,
        t_collar=float(t_collar), percentage_of_length=float(percentage_of_length))
    for f in files:
        metric.evaluate(reference_event_list=ref.get(f, []), estimated_event_list=est.get(f, []))
    values = sed_eval_values(metric, labels, "event")
    counts = {k: int(metric.overall[k]) for k in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys")}
    counts.update({"substitutions": int(metric.overall["Nsubs"]), "n_files": len(files)})
    params = {
        "labels": labels,
        "t_collar": float(t_collar),
        "percentage_of_length": float(percentage_of_length),
        "evaluate_onset": evaluate_onset,
        "evaluate_offset": evaluate_offset,
        "event_matching_type": metric.event_matching_type,
        "library": "sed_eval",
        "library_version": sed_eval.__version__,
        "metric": "sed_eval.sound_event.EventBasedMetrics, evaluated file by file",
    }
    return MetricResult(values=values, params=params, counts=counts)
