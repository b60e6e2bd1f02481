"""Report 002's tables filled from a finished run: one pure function per registry table, each fed
from the run's metrics (``metrics.json``), returning that table's cells.

The metrics hold ``systems`` (CNN+VGGish1 / CNN+VGGish2 with the official scores),
``hierarchical``, ``baseline`` (``fine`` / ``coarse``), ``embeddings`` (which VGGish weights and
PCA ran) and ``corpus``.

**VGGish rule.** Every row of Tables 3 and 4 uses VGGish embeddings. When the run did not have
the official weights *and* PCA parameters (``$VGGISH_CHECKPOINT`` / ``$VGGISH_PCA``), the
embeddings are those of a seeded random network with a PCA fitted on our training split: not
VGGish. On the mini corpus such numbers are shown (MINI_CORPUS, with a note); on the real data
they are **not** entered into the tables at all, so no row can come out REPRODUCED or PARTIAL
without VGGish (they stay in the run's metrics and in the report's run section).
"""
from __future__ import annotations

from collections.abc import Callable

from common.runs import cell

LEVEL_COLUMNS = {("fine", "micro_auprc"): "Fine Micro AUPRC", ("fine", "micro_f1"): "Fine Micro F1",
                 ("fine", "macro_auprc"): "Fine Macro AUPRC",
                 ("coarse", "micro_auprc"): "Coarse Micro AUPRC",
                 ("coarse", "micro_f1"): "Coarse Micro F1",
                 ("coarse", "macro_auprc"): "Coarse Macro AUPRC"}
RANDOM_VGGISH_NOTE = ("VGGish with seeded random weights and a PCA fitted on the training split "
                      "(no $VGGISH_CHECKPOINT / $VGGISH_PCA given): not VGGish")


def official_vggish(m: dict) -> bool:
    e = m["embeddings"]
    return bool(e["official_weights"] and e["official_pca"])


def _vggish_rows_allowed(m: dict) -> bool:
    """Rows that use VGGish enter the tables on the mini corpus (never compared) or with the
    official VGGish; not on the real data with random weights (module docstring)."""
    return official_vggish(m) or m["corpus"]["is_mini"]


def _note(m: dict, extra: str | None = None) -> str | None:
    parts = [p for p in (None if official_vggish(m) else RANDOM_VGGISH_NOTE, extra) if p]
    return "; ".join(parts) or None


def _score_cells(table: str, row: str, scores: dict, m: dict, levels=("fine", "coarse"),
                 note: str | None = None) -> list[dict]:
    return [cell(table, row, col, scores[level][key], note=_note(m, note))
            for (level, key), col in LEVEL_COLUMNS.items() if level in levels]


def t3(m: dict) -> list[dict]:
    """Table 3: CNN+VGGish1 (best-coarse checkpoint), CNN+VGGish2 (best-fine checkpoint) and the
    hierarchical system on validate, official metric."""
    if not _vggish_rows_allowed(m):
        return []
    out = []
    for system, r in m["systems"].items():
        out += _score_cells("T3", system, r["scores"], m,
                            note=f"checkpoint of epoch {r['epoch']} ({r['selected_by']})")
    if m.get("hierarchical"):
        out += _score_cells("T3", "Hierarchical", m["hierarchical"]["scores"], m,
                            note="M_C = CNN+VGGish1; fine models "
                                 + ", ".join(f"M_F{c}" for c in m["hierarchical"]["fine_models"]))
    return out


def _baseline_cells(table: str, rows: dict[str, str], m: dict) -> list[dict]:
    if not _vggish_rows_allowed(m):
        return []
    out = []
    for mode, row in rows.items():
        r = (m.get("baseline") or {}).get(mode)
        if r is None:
            continue
        # the coarse-level model predicts no fine tags: its fine cells are "-" in the report
        levels = ("fine", "coarse") if mode == "fine" else ("coarse",)
        out += _score_cells(table, row, r["scores"], m, levels,
                            note=f"early stopping at epoch {r['fit']['best_epoch']}")
    return out


def t4(m: dict) -> list[dict]:
    """Table 4: the official baseline, fine-level and coarse-level models, retrained here."""
    return _baseline_cells("T4", {"fine": "Fine-level", "coarse": "Coarse-level"}, m)


def b_readme(m: dict) -> list[dict]:
    """The official baseline's README numbers (full precision): the same retrained models."""
    return _baseline_cells("B-readme", {"fine": "Fine-level model",
                                        "coarse": "Coarse-level model"}, m)


# registry table id -> the function that fills it from a run (analytic tables: analytic.py)
TABLES: dict[str, Callable[[dict], list[dict]]] = {
    "T3": t3, "T4": t4, "B-readme": b_readme,
}

EXPLANATIONS: dict[tuple[str, str, str], str] = {}


def run_cells(metrics: dict) -> list[dict]:
    """Every cell a finished run fills, table by table."""
    return [c for fill in TABLES.values() for c in fill(metrics)]
