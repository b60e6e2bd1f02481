"""Measured numbers next to published ones, and the status of every cell.

Every measurement has a **kind**, which says what could have made it come out otherwise:

- ``computed``  produced by running code on a model, data or a metric (parameter counts of a
  built model, MACs, model outputs, dataset statistics read from files, trained metrics)
- ``setting``   a value the suite was configured with (a YAML/dataclass field or a literal): it
  could not have come out differently, so it is shown "as configured", never reproduced
- ``timing``    a time measured on this machine: shown beside the report's hardware, never
  compared
- ``chosen``    computed from an ambiguous architecture read the way that gives the published
  count: the number decided the reading, so it cannot also confirm it

Statuses (one per published cell):

- REPRODUCED      a ``computed`` number within tolerance: analytic (no data) or on the real
  dataset with the full recipe
- PARTIAL         within tolerance on the real dataset with a reduced profile (e.g. smoke)
- DEVIATES        outside tolerance (or an exact quantity differs), analytic or real data
- CHOSEN_READING  within tolerance, but from a reading chosen to match (counted apart)
- SETTING         as configured; ✓ equal to the report, ✗ deliberately set otherwise
- TIMING          measured on this machine; shown, never compared
- MINI_CORPUS     computed on a mini corpus: shown, never counted as reproduced
- NOT_RUN         nothing computed yet
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from common.registry import PublishedRow, Registry, format_number

REPRODUCED, PARTIAL, DEVIATES, CHOSEN_READING, SETTING, TIMING, MINI_CORPUS, NOT_RUN = (
    "REPRODUCED", "PARTIAL", "DEVIATES", "CHOSEN_READING", "SETTING", "TIMING", "MINI_CORPUS",
    "NOT_RUN")
STATUSES = (REPRODUCED, PARTIAL, DEVIATES, CHOSEN_READING, SETTING, TIMING, MINI_CORPUS, NOT_RUN)
TAGS = {REPRODUCED: "✅", PARTIAL: "◐", DEVIATES: "❌", CHOSEN_READING: "◇", SETTING: "⚙",
        TIMING: "⏱", MINI_CORPUS: "ᴹ", NOT_RUN: "–"}
STATUS_MEANING = {
    REPRODUCED: "computed, within tolerance: analytic, or real data with the full recipe",
    PARTIAL: "computed on the real data with a reduced profile, within tolerance",
    DEVIATES: "computed, outside tolerance",
    CHOSEN_READING: "reading chosen to match: an ambiguous architecture read the way that gives "
                    "the published count, so the count cannot also confirm it",
    SETTING: "as configured (✓ equal to the report, ✗ set otherwise on purpose): never reproduced",
    TIMING: "measured on this machine: shown beside the report's hardware, never compared",
    MINI_CORPUS: "computed on a mini corpus: shown, never counted as reproduced",
    NOT_RUN: "nothing computed yet",
}
COMPUTED, SETTING_KIND, TIMING_KIND, CHOSEN = "computed", "setting", "timing", "chosen"
KINDS = (COMPUTED, SETTING_KIND, TIMING_KIND, CHOSEN)
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
    kind: str = COMPUTED  # computed | setting | timing | chosen

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"measurement {self.key}: kind {self.kind!r} not in {KINDS}")
        if self.corpus not in SOURCES:
            raise ValueError(f"measurement {self.key}: corpus {self.corpus!r} not in {SOURCES}")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.table, self.row, self.column)


def setting(table: str, row: str, column: str, value: float, source: str) -> Measurement:
    """A value the suite is configured with, named by where it is configured."""
    return Measurement(table, row, column, float(value), "analytic", "analytic", note=source,
                       kind=SETTING_KIND)


@dataclass(frozen=True)
class ResultRow:
    published: PublishedRow
    measurement: Measurement | None
    status: str
    matches: bool | None        # within tolerance of the published number (None: not compared)
    explanation: str | None     # why it differs (or which reading was chosen), from the recipe

    @property
    def delta(self) -> float | None:
        m, p = self.measurement, self.published
        if m is None or m.value is None or p.value is None:
            return None
        return m.value - p.value

    @property
    def unexplained_deviation(self) -> bool:
        """A computed number outside tolerance, or a setting that differs from the report,
        with no recorded reason: `repro check` fails on these."""
        differs = self.status == DEVIATES or (self.status == SETTING and self.matches is False)
        return differs and self.explanation is None

    @property
    def mark(self) -> str:
        if self.status == SETTING and self.matches is not None:
            return TAGS[SETTING] + ("✓" if self.matches else "✗")
        return TAGS[self.status]

    def to_json(self) -> dict:
        p, m = self.published, self.measurement
        return {"paper": p.paper, "table": p.table, "row": p.row, "column": p.column,
                "published": p.value, "published_text": p.text, "unit": p.unit,
                "ours": None if m is None else m.value, "delta": self.delta,
                "tolerance": p.tolerance.describe(), "tolerance_reason": p.tolerance.reason,
                "status": self.status, "matches": self.matches,
                "data": None if m is None else m.corpus,
                "profile": None if m is None else m.profile,
                "measurement_kind": None if m is None else m.kind,
                "run_id": None if m is None else m.run_id, "kind": p.kind, "origin": p.origin,
                "pointer": p.pointer, "explanation": self.explanation}


def _missing(m: Measurement | None) -> bool:
    return m is None or m.value is None or (isinstance(m.value, float) and math.isnan(m.value))


def status_of(published: PublishedRow, m: Measurement | None) -> str:
    if _missing(m):
        return NOT_RUN
    # what the number *is* decides first: nothing a setting or a timing does can reproduce
    if m.kind == SETTING_KIND or published.kind == "setting":
        return SETTING
    if m.kind == TIMING_KIND or m.corpus == "this_machine" or published.kind == "timing":
        return TIMING
    if m.corpus == "mini":
        return MINI_CORPUS
    if not _within(published, m):
        return DEVIATES
    if m.kind == CHOSEN:
        return CHOSEN_READING
    return PARTIAL if m.profile == "smoke" else REPRODUCED


def _within(published: PublishedRow, m: Measurement) -> bool:
    return published.value is not None and published.tolerance.within(published.value, m.value)


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
        matches = None if _missing(m) or p.value is None else _within(p, m)
        explained = status in (DEVIATES, CHOSEN_READING) or (status == SETTING and matches is False)
        rows.append(ResultRow(p, m, status, matches,
                              explanations.get(p.key) if explained else None))
    return rows


def counts(rows: list[ResultRow]) -> dict[str, int]:
    return {s: sum(r.status == s for r in rows) for s in STATUSES}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return format_number(value)
