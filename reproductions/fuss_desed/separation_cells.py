"""Registry tables of the separation half filled from a finished run's metrics
(``metrics["separation"]``): one pure function per table. Interface used by :mod:`.cells`:
TABLES, EXPLANATIONS, HEADLINE, NOT_MEASURED.

Table 1 (report §3): single-source SI-SNR and multi-source SI-SNRi (official FUSS metric, spec
§4.1), Val and Eval, for the baseline and for "Ours" (the GridSearchCV best), reverberant and
dry. Where each number comes from:

* Baseline, Val / Eval — the baseline's settings trained on train, scored on validation / eval.
* Ours, Val — the best grid point's validation score in ``cv_results_`` (trained on train only).
* Ours, Eval — the refit best model (train ∪ validation, GridSearchCV's refit) on eval.

A number of a mini corpus is MINI_CORPUS (shown, never counted as reproduced).
"""
from __future__ import annotations

from collections.abc import Callable

from common.runs import cell
from reproductions.fuss_desed.separation_config import VERSION_LABEL

METRIC_ROW = {"single_source_si_snr": "Single-source SI-SNR",
              "multi_source_si_snri": "Multi-source SI-SNRi"}
VAL, EVAL = "Val (db)", "Eval (db)"


def row_name(system: str, version: str, metric: str) -> str:
    """Table 1's row, e.g. 'Ours, Reverbant, Multi-source SI-SNRi' (the report's spelling)."""
    return f"{system}, {VERSION_LABEL[version]}, {METRIC_ROW[metric]}"


def _count_note(scores: dict, metric: str) -> str:
    key = "single_source_count" if metric == "single_source_si_snr" else "multi_source_count"
    return f"{scores.get(key, '?')} scored source pairs"


def t1(m: dict) -> list[dict]:
    """Table 1 from the separation half's stages (module docstring)."""
    sep = m.get("separation")
    if not sep:
        return []
    corpus = "mini" if sep["is_mini"] else "real"
    out = []
    for version, res in sep["versions"].items():
        base, grid = res.get("baseline"), res.get("grid")
        for metric in METRIC_ROW:
            if base:
                for col, split in ((VAL, "validation"), (EVAL, "eval")):
                    v = base[split].get(metric)
                    if v is not None:
                        out.append(cell("T1", row_name("Baseline", version, metric), col, v,
                                        note=_count_note(base[split], metric), corpus=corpus))
            if grid:
                best = grid["cv_results"][grid["best_index"]]
                v = best.get(f"mean_test_{metric}")
                if v is not None:
                    out.append(cell("T1", row_name("Ours", version, metric), VAL, v,
                                    note=f"GridSearchCV best point {best['params']}, "
                                         "trained on train, scored on validation",
                                    corpus=corpus))
                ev = grid.get("eval", {}).get(metric)
                if ev is not None:
                    out.append(cell("T1", row_name("Ours", version, metric), EVAL, ev,
                                    note="best point refit on train+validation; "
                                         + _count_note(grid["eval"], metric), corpus=corpus))
    return out


def _explanation(system: str) -> str:
    what = ("the baseline's settings" if system == "Baseline" else
            "the best point of our documented grid (the report gives none)")
    return (f"{what}, trained from scratch for `separation.train.steps` steps (the official "
            "baseline trains up to 20,000,000 steps, and the report fine-tuned the released "
            "checkpoint, which this suite does not load); one seed")


EXPLANATIONS = {
    ("T1", row_name(system, version, metric), col): _explanation(system)
    for system in ("Baseline", "Ours") for version in VERSION_LABEL for metric in METRIC_ROW
    for col in (VAL, EVAL)
}

TABLES: dict[str, Callable[[dict], list[dict]]] = {"T1": t1}
HEADLINE: list[tuple[str, str, str]] = [
    ("T1", row_name("Ours", "ssdata_reverb", "multi_source_si_snri"), EVAL),
    ("T1", row_name("Ours", "ssdata", "multi_source_si_snri"), EVAL),
]
NOT_MEASURED: dict[str, str] = {}
