"""Numbers that need no data, from both halves (:mod:`.separation_analytic`,
:mod:`.sed_analytic`): settings read from configs/full.yaml and counts read from built models."""
from __future__ import annotations

from common.results import Measurement
from reproductions.fuss_desed import sed_analytic, separation_analytic


def _merge(*tables: dict) -> dict:
    out: dict = {}
    for t in tables:
        for table, fns in t.items():
            out[table] = (*out.get(table, ()), *fns)
    return out


TABLES = _merge(separation_analytic.TABLES, sed_analytic.TABLES)


def measurements() -> list[Measurement]:
    return separation_analytic.measurements() + sed_analytic.measurements()


def explanations() -> dict:
    return {**separation_analytic.explanations(), **sed_analytic.explanations()}
