"""The registry of published numbers: ``results/published/<paper>.yaml``.

Each file transcribes one report's tables (and the numbers it quotes from the original paper or
an official baseline) with a pointer to table, row and column, and a tolerance saying how close a
reproduced number must come. The loader is strict: an unknown key is an error, so a typo cannot
silently drop a published number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from common.errors import ConfigError
from common.paths import published_dir

PAPERS = ("swishnet", "drossos_sed", "vggish_fusion", "bcres2net_asc", "fuss_desed")
ORIGINS = ("report", "paper", "official_baseline")
KINDS = ("trained", "deterministic", "setting", "timing", "claim")
_FILE_KEYS = {"paper", "report", "report_file", "tolerances", "tables"}
_TABLE_KEYS = {"id", "caption", "pointer", "origin", "unit", "tolerance", "kind", "rows"}
_ROW_KEYS = {"row", "column", "value", "text", "unit", "tolerance", "kind", "note"}
_TOL_KEYS = {"kind", "value", "reason"}


@dataclass(frozen=True)
class Tolerance:
    name: str
    kind: str  # exact | abs | rel
    value: float
    reason: str

    def within(self, published: float, ours: float) -> bool:
        if ours is None or published is None or (isinstance(ours, float) and math.isnan(ours)):
            return False
        if self.kind == "exact":
            return ours == published
        if self.kind == "abs":
            return abs(ours - published) <= self.value + 1e-12
        return abs(ours - published) <= self.value * abs(published) + 1e-12

    def describe(self) -> str:
        if self.kind == "exact":
            return "exact"
        if self.kind == "abs":
            return f"±{self.value:g}"
        return f"±{self.value * 100:g} %"


@dataclass(frozen=True)
class TableInfo:
    paper: str
    id: str
    caption: str
    pointer: str
    origin: str


@dataclass(frozen=True)
class PublishedRow:
    paper: str
    table: str
    row: str
    column: str
    value: float | None
    text: str | None
    unit: str
    tolerance: Tolerance
    kind: str
    note: str | None
    pointer: str
    origin: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.table, self.row, self.column)

    def display(self) -> str:
        if self.text is not None:
            return self.text
        if self.value is None:
            return "–"
        return format_number(self.value)


@dataclass(frozen=True)
class Registry:
    paper: str
    report: str
    report_file: str
    tables: tuple[TableInfo, ...]
    rows: tuple[PublishedRow, ...]

    def table(self, table_id: str) -> TableInfo:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(f"{self.paper}: no table {table_id!r} in the registry")

    def rows_of(self, table_id: str) -> list[PublishedRow]:
        return [r for r in self.rows if r.table == table_id]

    def get(self, table: str, row: str, column: str) -> PublishedRow:
        for r in self.rows:
            if r.key == (table, row, column):
                return r
        raise KeyError(f"{self.paper}: no published number at {table} / {row} / {column}")


def format_number(v: float) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    return f"{v:.6g}"


def _check_keys(obj: dict, allowed: set, where: str) -> None:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: expected a mapping, got {obj!r}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} (allowed: {sorted(allowed)})")


def parse_registry(data: dict, source: str) -> Registry:
    _check_keys(data, _FILE_KEYS, source)
    paper = data["paper"]
    tolerances = {}
    for name, t in (data.get("tolerances") or {}).items():
        _check_keys(t, _TOL_KEYS, f"{source}: tolerance {name}")
        if t.get("kind") not in ("exact", "abs", "rel"):
            raise ConfigError(f"{source}: tolerance {name}: kind must be exact, abs or rel")
        tolerances[name] = Tolerance(name, t["kind"], float(t.get("value", 0.0)), t.get("reason", ""))
    tables, rows, seen = [], [], set()
    for t in data.get("tables") or []:
        _check_keys(t, _TABLE_KEYS, f"{source}: table {t.get('id')}")
        where = f"{source}: table {t['id']}"
        if t.get("origin", "report") not in ORIGINS:
            raise ConfigError(f"{where}: origin must be one of {ORIGINS}")
        info = TableInfo(paper, str(t["id"]), t.get("caption", ""), t.get("pointer", ""),
                         t.get("origin", "report"))
        if any(x.id == info.id for x in tables):
            raise ConfigError(f"{where}: duplicate table id")
        tables.append(info)
        for r in t.get("rows") or []:
            _check_keys(r, _ROW_KEYS, f"{where}: row {r.get('row')}/{r.get('column')}")
            tol_name = r.get("tolerance", t.get("tolerance", "exact"))
            if tol_name not in tolerances:
                if tol_name == "exact":
                    tolerances["exact"] = Tolerance("exact", "exact", 0.0, "deterministic quantity")
                else:
                    raise ConfigError(f"{where}: unknown tolerance {tol_name!r}")
            kind = r.get("kind", t.get("kind", "trained"))
            if kind not in KINDS:
                raise ConfigError(f"{where}: kind {kind!r} not in {KINDS}")
            value = r.get("value")
            row = PublishedRow(paper, info.id, str(r["row"]), str(r["column"]),
                               None if value is None else (value if isinstance(value, int) else float(value)),
                               None if r.get("text") is None else str(r["text"]),
                               str(r.get("unit", t.get("unit", ""))), tolerances[tol_name], kind,
                               r.get("note"), info.pointer, info.origin)
            if row.key in seen:
                raise ConfigError(f"{where}: duplicate cell {row.row!r} / {row.column!r}")
            seen.add(row.key)
            rows.append(row)
    return Registry(paper, data.get("report", ""), data.get("report_file", ""), tuple(tables),
                    tuple(rows))


@lru_cache(maxsize=None)
def _load_cached(path: str, mtime: float) -> Registry:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML ({exc})") from exc
    return parse_registry(data, str(p))


def load_registry(paper: str, folder: Path | None = None) -> Registry:
    path = (folder or published_dir()) / f"{paper}.yaml"
    if not path.is_file():
        raise ConfigError(f"no registry file for paper {paper!r} at {path}")
    return _load_cached(str(path), path.stat().st_mtime)
