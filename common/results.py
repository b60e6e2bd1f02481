"""Measured numbers next to published ones, and the status of every cell.

Statuses:
- REPRODUCED  within tolerance, computed on the real dataset with the full recipe (or analytic)
- PARTIAL     within tolerance on the real dataset but with a reduced profile (e.g. smoke)
- DEVIATES    outside tolerance (or an exact quantity differs) on the real dataset / analytically
- MINI_CORPUS computed on a mini corpus: shown, never counted as reproduced
- NOT_RUN     nothing computed yet
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from common.registry import PublishedRow, Registry, format_number

REPRODUCED, PARTIAL, DEVIATES, MINI_CORPUS, NOT_RUN = (
    "REPRODUCED", "PARTIAL", "DEVIATES", "MINI_CORPUS", "NOT_RUN")
STATUSES = (REPRODUCED, PARTIAL, DEVIATES, MINI_CORPUS, NOT_RUN)
TAGS = {REPRODUCED: "✅", PARTIAL: "◐", DEVIATES: "❌", MINI_CORPUS: "ᴹ", NOT_RUN: "–"}
# where a number came from: a real dataset, a mini corpus, or no data at all (parameter counts)
SOURCES = ("real", "mini", "analytic", "this_machine")


@dataclass(frozen=True)
class Measurement:
    table: str
    row: str
    column: str
    value: float | None
    corpus: str          # real | mini | analytic | this_machine
    profile: str         # full | smoke | analytic
    run_id: str | None = None
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.table, self.row, self.column)


@dataclass(frozen=True)
class ResultRow:
    published: PublishedRow
    measurement: Measurement | None
    status: str
    explanation: str | None  # known, explained deviation (does not fail `repro check`)

    @property
    def delta(self) -> float | None:
        m, p = self.measurement, self.published
        if m is None or m.value is None or p.value is None:
            return None
        return m.value - p.value

    @property
    def unexplained_deviation(self) -> bool:
        return self.status == DEVIATES and self.explanation is None

    def to_json(self) -> dict:
        p, m = self.published, self.measurement
        return {"paper": p.paper, "table": p.table, "row": p.row, "column": p.column,
                "published": p.value, "published_text": p.text, "unit": p.unit,
                "ours": None if m is None else m.value, "delta": self.delta,
                "tolerance": p.tolerance.describe(), "tolerance_reason": p.tolerance.reason,
                "status": self.status, "data": None if m is None else m.corpus,
                "profile": None if m is None else m.profile,
                "run_id": None if m is None else m.run_id, "kind": p.kind, "origin": p.origin,
                "pointer": p.pointer, "explanation": self.explanation}


def status_of(published: PublishedRow, m: Measurement | None) -> str:
    if m is None or m.value is None or (isinstance(m.value, float) and math.isnan(m.value)):
        return NOT_RUN
    if m.corpus == "mini":
        return MINI_CORPUS
    within = published.value is not None and published.tolerance.within(published.value, m.value)
    if not within:
        return DEVIATES
    return PARTIAL if m.profile == "smoke" else REPRODUCED


def compare(registry: Registry, measurements: list[Measurement],
            explanations: dict[tuple[str, str, str], str] | None = None) -> list[ResultRow]:
    """One ResultRow per published cell, in registry order. Unknown measurement keys raise, so a
    typo in a recipe's table/row/column cannot silently leave a cell NOT_RUN."""
    explanations = explanations or {}
    by_key: dict[tuple, Measurement] = {}
    known = {r.key for r in registry.rows}
    for m in measurements:
        if m.key not in known:
            raise KeyError(f"{registry.paper}: measurement for unknown cell {m.key}")
        by_key[m.key] = m
    rows = []
    for p in registry.rows:
        m = by_key.get(p.key)
        status = status_of(p, m)
        rows.append(ResultRow(p, m, status, explanations.get(p.key) if status == DEVIATES else None))
    return rows


def counts(rows: list[ResultRow]) -> dict[str, int]:
    return {s: sum(r.status == s for r in rows) for s in STATUSES}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return format_number(value)
