"""Structural and content checks for the published-number registry (results/published/*.yaml).

Uses only PyYAML (the project's registry loader is written separately). The checks are:
schema (allowed keys, required keys, enum values), unique ids and (table, row, column) keys,
tolerance references, table-id prefix vs origin, spot transcription checks of report tables
against the report text, and a content pin per file so that a published value cannot change
silently.
"""

from __future__ import annotations

import hashlib
import os
import json
import math
import re
from pathlib import Path

import pytest
import yaml

# Content pins: sha256 of json.dumps(yaml.safe_load(file), sort_keys=True) and the number of rows.
# To change a registry file deliberately: edit the YAML, run
#   /tmp/venv/bin/python -c "import json,hashlib,yaml,sys; d=yaml.safe_load(open(sys.argv[1])); \
#     print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest(), \
#     sum(len(t['rows']) for t in d['tables']))" results/published/<name>.yaml
# and paste both numbers here in the same commit, saying in the commit message which value changed
# and why (a re-read of the report, a typo fix). Never update a pin just to make this test pass.
PINS: dict[str, dict[str, object]] = {
    "swishnet": {"sha256": "fa1423f9fb87a943f9c0482c81a90df7d162215a70337edb4fe73249238ce68c", "rows": 257},
    "drossos_sed": {"sha256": "a65a7aae67ff33347905b25c460917939cfccd2a45193762e00bb99e80d1716a", "rows": 189},
    "vggish_fusion": {"sha256": "884a98552aed23bb645d855eddfe3d4451de9c507237a8505af4ff6498b2362f", "rows": 133},
    "bcres2net_asc": {"sha256": "f48f3a46ddb9b5bb29a50d96d33337c7a000d5b2ab42b32887841fef804cd8c1", "rows": 204},
    "fuss_desed": {"sha256": "59ad2edcc0b588dab13ddc452dde3f8b975969f5738b70332ef58d04abc3a836", "rows": 65},
}

REPO_ROOT = Path(__file__).resolve().parents[1]
REGISTRY_DIR = REPO_ROOT / "results" / "published"
# The reports sit beside the project: <checkout>/../shared/papers (as CI lays them out).
PAPERS_DIR = REPO_ROOT.parent / "shared" / "papers"

# Which report file belongs to which package (from /work/shared/papers/README.md).
EXPECTED_REPORT_FILES = {
    "swishnet": "004_3aa1e0c3756e7d7e.txt",
    "drossos_sed": "001_81bbf9184a5f273e.txt",
    "vggish_fusion": "002_c875c80a09dbccc4.txt",
    "bcres2net_asc": "003_4f5e6f91bdabb020.txt",
    "fuss_desed": "000_9ce0d4707d0ede8c.txt",
}

TOP_KEYS = {"paper", "report", "report_file", "tolerances", "tables"}
TOLERANCE_KEYS = {"kind", "value", "reason"}
TOLERANCE_KINDS = {"exact", "abs", "rel"}
TABLE_KEYS = {"id", "caption", "pointer", "origin", "unit", "tolerance", "kind", "rows"}
ROW_KEYS = {"row", "column", "value", "text", "unit", "tolerance", "kind", "note"}
ROW_REQUIRED = {"row", "column", "value"}
ORIGINS = {"report", "paper", "official_baseline"}
KINDS = {"trained", "deterministic", "setting", "timing", "claim"}

# Table-id prefix -> the only origin it may carry.
ID_PATTERNS = [
    (re.compile(r"^T\d+$"), "report"),
    (re.compile(r"^X-[A-Za-z0-9-]+$"), "report"),
    (re.compile(r"^P-T\d+$"), "paper"),
    (re.compile(r"^P-X-[A-Za-z0-9-]+$"), "paper"),
    (re.compile(r"^B-[A-Za-z0-9-]+$"), "official_baseline"),
]


def _load(name: str) -> dict:
    with open(REGISTRY_DIR / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _is_number(value: object) -> bool:
    # bool is an int subclass; a YAML 'yes'/'true' slipping in must not count as a number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rows(data: dict):
    for table in data["tables"]:
        for row in table["rows"]:
            yield table, row


@pytest.fixture(scope="module", params=sorted(EXPECTED_REPORT_FILES))
def registry(request) -> tuple[str, dict]:
    return request.param, _load(request.param)


def test_registry_holds_exactly_the_five_packages():
    found = {path.stem for path in REGISTRY_DIR.glob("*.yaml")}
    assert found == set(EXPECTED_REPORT_FILES)
    assert set(PINS) == set(EXPECTED_REPORT_FILES)


def test_top_level_keys_and_identity(registry):
    name, data = registry
    assert isinstance(data, dict), f"{name}: top level must be a mapping"
    assert set(data) == TOP_KEYS, f"{name}: top-level keys {sorted(set(data) ^ TOP_KEYS)} wrong"
    assert data["paper"] == name
    assert data["report_file"] == EXPECTED_REPORT_FILES[name]
    assert isinstance(data["report"], str) and data["report"].strip()
    if PAPERS_DIR.is_dir():
        assert (PAPERS_DIR / data["report_file"]).is_file(), f"{name}: report file missing"


def test_tolerance_definitions(registry):
    name, data = registry
    tolerances = data["tolerances"]
    assert isinstance(tolerances, dict) and tolerances, f"{name}: no tolerances"
    for tol_name, tol in tolerances.items():
        where = f"{name}: tolerance {tol_name!r}"
        assert isinstance(tol, dict), where
        assert set(tol) <= TOLERANCE_KEYS, f"{where}: unknown keys {sorted(set(tol) - TOLERANCE_KEYS)}"
        assert tol.get("kind") in TOLERANCE_KINDS, f"{where}: bad kind {tol.get('kind')!r}"
        assert isinstance(tol.get("reason"), str) and tol["reason"].strip(), f"{where}: no reason"
        if tol["kind"] == "exact":
            assert "value" not in tol, f"{where}: exact takes no value"
        else:
            assert _is_number(tol.get("value")) and tol["value"] > 0, f"{where}: needs value > 0"
        if tol["kind"] == "rel":
            assert tol["value"] <= 1.0, f"{where}: a relative band above 100 % is meaningless"


def test_table_schema_and_unique_ids(registry):
    name, data = registry
    tables = data["tables"]
    assert isinstance(tables, list) and tables, f"{name}: no tables"
    ids = [table.get("id") for table in tables]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"{name}: duplicate table ids {sorted(duplicates)}"
    for table in tables:
        where = f"{name}: table {table.get('id')!r}"
        assert set(table) == TABLE_KEYS, f"{where}: keys differ by {sorted(set(table) ^ TABLE_KEYS)}"
        for key in ("id", "caption", "pointer"):
            assert isinstance(table[key], str) and table[key].strip(), f"{where}: empty {key}"
        assert isinstance(table["unit"], str), f"{where}: unit must be a string ('' if none)"
        assert table["origin"] in ORIGINS, f"{where}: bad origin {table['origin']!r}"
        assert table["kind"] in KINDS, f"{where}: bad kind {table['kind']!r}"
        assert isinstance(table["rows"], list) and table["rows"], f"{where}: no rows"
        origins = [origin for pattern, origin in ID_PATTERNS if pattern.match(table["id"])]
        assert origins, f"{where}: id does not follow T<n>/X-/P-T<n>/P-X-/B- naming"
        assert table["origin"] == origins[0], f"{where}: id prefix implies origin {origins[0]}"


def test_row_schema(registry):
    name, data = registry
    for table, row in _rows(data):
        where = f"{name}: {table['id']} row {row!r}"
        assert isinstance(row, dict), where
        assert set(row) <= ROW_KEYS, f"{where}: unknown keys {sorted(set(row) - ROW_KEYS)}"
        assert ROW_REQUIRED <= set(row), f"{where}: missing {sorted(ROW_REQUIRED - set(row))}"
        assert isinstance(row["row"], str) and row["row"].strip(), where
        assert isinstance(row["column"], str) and row["column"].strip(), where
        value = row["value"]
        if value is None:
            # A non-number cell must still say what the report printed.
            assert isinstance(row.get("text"), str) and row["text"].strip(), f"{where}: null without text"
        else:
            assert _is_number(value), f"{where}: value {value!r} is not a number"
            assert math.isfinite(value), f"{where}: value not finite"
        for key in ("text", "unit", "note"):
            if key in row:
                assert isinstance(row[key], str), f"{where}: {key} must be a string"
        if "kind" in row:
            assert row["kind"] in KINDS, f"{where}: bad kind {row['kind']!r}"


def test_tolerance_references_resolve_and_all_are_used(registry):
    name, data = registry
    defined = set(data["tolerances"])
    used = set()
    for table in data["tables"]:
        assert table["tolerance"] in defined, f"{name}: {table['id']} uses unknown {table['tolerance']!r}"
        used.add(table["tolerance"])
        for row in table["rows"]:
            if "tolerance" in row:
                assert row["tolerance"] in defined, (
                    f"{name}: {table['id']}/{row['row']}/{row['column']} uses unknown {row['tolerance']!r}"
                )
                used.add(row["tolerance"])
    assert defined == used, f"{name}: tolerances defined but never used: {sorted(defined - used)}"


def test_cell_keys_unique(registry):
    name, data = registry
    seen = set()
    for table, row in _rows(data):
        key = (table["id"], row["row"], row["column"])
        assert key not in seen, f"{name}: duplicate cell {key}"
        seen.add(key)


def test_deterministic_and_setting_cells_are_not_given_loose_trained_bands(registry):
    # Settings are stated hyper-parameters: they must be matched exactly, never within a band.
    name, data = registry
    for table, row in _rows(data):
        kind = row.get("kind", table["kind"])
        tol = data["tolerances"][row.get("tolerance", table["tolerance"])]
        if kind == "setting":
            assert tol["kind"] == "exact", f"{name}: setting {table['id']}/{row['row']} not exact"


def _number_spellings(value: float) -> set[str]:
    """Spellings of `value` at its full registered precision (trailing zeros allowed).

    Coarser roundings are deliberately excluded: they would match unrelated numbers and let a
    transcription typo pass.
    """
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    spellings = {f"{value:.{k}f}" for k in range(decimals, decimals + 3)}
    if float(value).is_integer():
        spellings |= {str(int(value)), f"{int(value):,}"}
    # Reports write fractions without the leading zero ('.5') in places.
    spellings |= {s[1:] for s in list(spellings) if s.startswith("0.")}
    return spellings


def _spelled_in(report: str, value: float) -> bool:
    # The spelling must stand alone: '0.938' must not match inside '10.938' or '0.9381'.
    return any(
        re.search(rf"(?<![\d.]){re.escape(spelling)}(?![\d])", report)
        for spelling in _number_spellings(value)
    )


def test_report_table_values_appear_in_the_report_text(registry):
    """Every numeric cell of a report table (T<n>) is spelled somewhere in the report.

    This catches transcription typos (a swapped digit rarely spells another number that
    also occurs in the report). Cells whose value is a conversion of the printed text
    (h:mm -> minutes, '3.7M' -> params) are checked through their verbatim `text` instead.
    """
    name, data = registry
    report = _report_text(data)
    compact = re.sub(r"\s+", "", report)
    missing = []
    for table, row in _rows(data):
        if table["origin"] != "report" or not re.match(r"^T\d+$", table["id"]):
            continue
        if "text" in row:
            # Table cells can be split over lines in the text copy ('large' / '(C=80)'), so a
            # cell passes when it appears whole or when each of its words appears.
            text = row["text"]
            whole = re.sub(r"\s+", "", text) in compact
            if row["value"] is not None and not whole and not all(w in report for w in text.split()):
                missing.append((table["id"], row["row"], row["column"], text))
            continue
        if row["value"] is None:
            continue
        if not _spelled_in(report, row["value"]):
            missing.append((table["id"], row["row"], row["column"], row["value"]))
    assert not missing, f"{name}: report-table cells not found in the report text: {missing}"


def _report_text(data: dict) -> str:
    """The report's text; missing reports fail under CI (where they are always laid out) and
    are skipped, with the reason shown by `-ra`, elsewhere."""
    path = PAPERS_DIR / data["report_file"]
    if not path.is_file():
        message = f"report text {path} not found (expected at <checkout>/../shared/papers)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def _norm(label: str) -> str:
    return re.sub(r"[^0-9a-z.]+", "", label.lower())


def _tab_blocks(report: str) -> dict[str, list[list[str]]]:
    """The text copies' tables: runs of consecutive tab-separated lines, as rows of fields,
    keyed by the table id ("T3") of the "Table 3" caption that follows (or precedes) them
    within three lines."""
    lines = report.splitlines()
    runs, start = [], None
    for i, line in enumerate(lines + [""]):
        if "\t" in line and start is None:
            start = i
        elif "\t" not in line and start is not None:
            runs.append((start, i))
            start = None
    blocks: dict[str, list[list[str]]] = {}
    for a, b in runs:
        near = lines[b:b + 3] + lines[max(0, a - 3):a][::-1]
        for line in near:
            m = re.match(r"^\W*Table\s+(\d+)", line.strip())
            if m:
                blocks.setdefault(f"T{m.group(1)}",
                                  [[f.strip() for f in ln.split("\t")] for ln in lines[a:b]])
                break
    return blocks


def _locate(block: list[list[str]], row_label: str, column_label: str) -> list[str] | None:
    """The printed field(s) of cell (row, column): the line whose first field is the row
    label; of it, the column whose header field (a line above) is the column label, or every
    field when the header is split over several lines (multi-level headers)."""
    want_row, want_col = _norm(row_label), _norm(column_label)
    for i, fields in enumerate(block):
        if not fields or _norm(fields[0]) != want_row:
            continue
        for header in block[:i]:
            names = [_norm(f) for f in header]
            if names.count(want_col) == 1:
                j = names.index(want_col)
                return [fields[j]] if j < len(fields) else []
        return fields[1:]
    return None


def _rows_by_order(data: dict, blocks: dict) -> dict[tuple[str, str], list[str]]:
    """For a table whose printed rows carry no labels of ours (e.g. a systems table whose
    first columns are ticks), the k-th registered row label is the k-th printed data line
    (a line holding a number), used only when the counts agree."""
    out = {}
    for table in data["tables"]:
        block = blocks.get(table["id"])
        if block is None:
            continue
        labels = list(dict.fromkeys(str(r["row"]) for r in table["rows"]))
        data_lines = [f for f in block if any(re.search(r"\d\.\d", x) for x in f[1:])]
        data_lines = [f for f in data_lines if not any(_norm(f[0]) == _norm(lb) for lb in labels)]
        if len(data_lines) == len(labels):
            out.update({(table["id"], lb): f for lb, f in zip(labels, data_lines)})
    return out


def test_report_table_cells_sit_at_their_row_and_column(registry):
    """Where the text copy lays a table out as tab-separated lines, each registered cell's
    value is printed in its row (and, where the header names the column once, in its column),
    not only somewhere in the report. At least half of each report's table cells must be
    locatable, so the check cannot quietly degrade into a presence test."""
    name, data = registry
    blocks = _tab_blocks(_report_text(data))
    cells = [(t, r) for t, r in _rows(data) if t["id"] in blocks and t["origin"] == "report"
             and r["value"] is not None]
    if not cells:
        pytest.skip(f"{name}: no report table is laid out as tab-separated lines")
    located, wrong = 0, []
    by_order = _rows_by_order(data, blocks)
    for table, row in cells:
        fields = _locate(blocks[table["id"]], str(row["row"]), str(row["column"]))
        if fields is None:
            fields = by_order.get((table["id"], row["row"]))
        if fields is None:
            continue
        located += 1
        printed = row.get("text", None)
        # a printed text split over two lines ('large' / '(C=80)') matches by its first part
        ok = any((printed is not None and _norm(f) and (_norm(f) in _norm(printed)))
                 or _spelled_in(f, row["value"]) for f in fields)
        field = fields
        if not ok:
            wrong.append((table["id"], row["row"], row["column"], row["value"], field))
    assert not wrong, f"{name}: cells whose printed value at (row, column) differs: {wrong}"
    assert located >= len(cells) / 2, f"{name}: only {located} of {len(cells)} cells located"


def _canonical_sha256(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def test_content_is_pinned(registry):
    name, data = registry
    n_rows = sum(len(table["rows"]) for table in data["tables"])
    assert n_rows == PINS[name]["rows"], f"{name}: row count {n_rows} != pinned {PINS[name]['rows']}"
    assert _canonical_sha256(data) == PINS[name]["sha256"], (
        f"{name}: registry content changed; if deliberate, update PINS (see comment at top)"
    )
