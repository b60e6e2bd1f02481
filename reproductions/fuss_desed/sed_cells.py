"""Registry tables of the SED half filled from a finished run's metrics (``metrics["sed"]``):
one pure function per table. Interface used by :mod:`.cells`: TABLES, EXPLANATIONS,
HEADLINE, NOT_MEASURED.

Our run of the DCASE 2020 baseline recipe (the mean-teacher CRNN, :mod:`.sed_pipeline`)
fills the report's **Baseline** column of Table 2 and the official README's "without sound
separation" column. F-scores are in % (the registry's unit), PSDS unitless; the PSDS compared
is the one at psds_eval's 50 operating points (the baseline's method, emulated:
:mod:`.sed_evaluation`), the exact-sweep value is in metrics.json beside it. Nothing fills the
report's **Ours** column: the report does not say what it changed (see :data:`OURS_REASON`).
A class-wise cell is filled only where the class was evaluated (reference or detected events
in the validation set): on the mini corpus most DESED classes have no recording.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from common.runs import cell

# Table 2 row -> DESED class name
T2_CLASS_ROWS = {
    "Alarm-bell ringing": "Alarm_bell_ringing", "Blender": "Blender", "Cat": "Cat",
    "Dishes": "Dishes", "Dog": "Dog", "Electric shaver": "Electric_shaver_toothbrush",
    "Frying": "Frying", "Running water": "Running_water", "Speech": "Speech",
    "Vacuum cleaner": "Vacuum_cleaner",
}
BASELINE_SYSTEM = "mean_teacher"
README_COLUMN = "Baseline without sound separation"
OURS_REASON = (
    "The report's 'Ours' column has no recipe to run: it says only that the baseline was "
    "'fine-tuned' with W&B gradient visualisation (no changed setting is named) and that the "
    "data were augmented with extra Scaper-generated synthetic soundscapes (amount and "
    "parameters not given). Its cells stay NOT_RUN rather than being filled by a guess.")


def _corpus(sed: dict) -> str:
    return "mini" if sed["is_mini"] else "real"


def _validation(m: dict) -> tuple[dict | None, str]:
    sed = m.get("sed")
    if not sed:
        return None, ""
    val = sed["systems"].get(BASELINE_SYSTEM, {}).get("validation")
    return val, _corpus(sed)


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _psds(val: dict, key: str) -> float | None:
    return val.get("psds_psds_eval_50", {}).get(key, {}).get("values", {}).get("psds")


PSDS_NOTE = ("psds_eval's 50 operating points, emulated with sed_scores_eval "
             "(sed_evaluation.py); exact sweep: {exact:.3f}")


def t2(m: dict) -> list[dict]:
    """Table 2, Baseline column: event macro F1, PSDS and class-wise event F1 (validation)."""
    val, corpus = _validation(m)
    if val is None:
        return []
    out = [cell("T2", "Overall F-score", "Baseline", 100 * val["event_macro_f1"],
                corpus=corpus, note="event-based macro F1 (sed_eval), our mean-teacher run")]
    p = _psds(val, "psds")
    if _ok(p):
        exact = val["psds_exact"]["psds"]["values"]["psds"]
        out.append(cell("T2", "PSDS", "Baseline", p, corpus=corpus,
                        note=PSDS_NOTE.format(exact=exact)))
    for row, cls in T2_CLASS_ROWS.items():
        v = val["event_class_f1"].get(cls)
        if _ok(v):
            out.append(cell("T2", row, "Baseline", 100 * v, corpus=corpus))
    return out


def b_sed_readme(m: dict) -> list[dict]:
    """The official baseline's README results, 'without sound separation' column."""
    val, corpus = _validation(m)
    if val is None:
        return []
    out = [cell("B-sed-readme", "Event-based", README_COLUMN, 100 * val["event_macro_f1"],
                corpus=corpus)]
    mf = val.get("psds_macro_f1", {}).get("macro")
    if _ok(mf):
        out.append(cell("B-sed-readme", "PSDS macro F1", README_COLUMN, 100 * mf, corpus=corpus,
                        note="intersection-based F1 at threshold 0.5 (dtc/gtc 0.5), macro"))
    for row, key in (("PSDS", "psds"), ("PSDS cross-trigger", "psds_cross_trigger"),
                     ("PSDS macro", "psds_macro")):
        p = _psds(val, key)
        if _ok(p):
            exact = val["psds_exact"][key]["values"]["psds"]
            out.append(cell("B-sed-readme", row, README_COLUMN, p, corpus=corpus,
                            note=PSDS_NOTE.format(exact=exact)))
    return out


TABLES: dict[str, Callable[[dict], list[dict]]] = {"T2": t2, "B-sed-readme": b_sed_readme}
EXPLANATIONS: dict = {}
HEADLINE: list[tuple[str, str, str]] = [("T2", "Overall F-score", "Baseline"),
                                        ("T2", "PSDS", "Baseline")]
NOT_MEASURED: dict[str, str] = {}
