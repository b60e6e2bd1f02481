"""Registry tables filled from a finished run: the separation half's (Table 1,
:mod:`.separation_cells`) and the SED half's (Table 2 and the official baseline's,
:mod:`.sed_cells`), one pure function per table."""
from __future__ import annotations

from reproductions.fuss_desed import sed_cells, separation_cells

TABLES = {**separation_cells.TABLES, **sed_cells.TABLES}
EXPLANATIONS = {**separation_cells.EXPLANATIONS, **sed_cells.EXPLANATIONS}
HEADLINE = [*separation_cells.HEADLINE, *sed_cells.HEADLINE]
NOT_MEASURED = {**separation_cells.NOT_MEASURED, **sed_cells.NOT_MEASURED}


def run_cells(metrics: dict) -> list[dict]:
    """Every cell a finished run fills, table by table."""
    return [c for fill in TABLES.values() for c in fill(metrics)]
