import pytest

from common.errors import ConfigError
from common.registry import parse_registry
from common.results import (DEVIATES, MINI_CORPUS, NOT_RUN, PARTIAL, REPRODUCED, Measurement,
                            compare)

REG = {
    "paper": "demo", "report": "Demo report", "report_file": "x.txt",
    "tolerances": {"exact": {"kind": "exact", "reason": "deterministic"},
                   "acc": {"kind": "abs", "value": 1.0, "reason": "seed spread"},
                   "r10": {"kind": "rel", "value": 0.1, "reason": "rounded"}},
    "tables": [
        {"id": "T1", "caption": "acc", "pointer": "Table 1", "origin": "report", "unit": "%",
         "tolerance": "acc", "rows": [{"row": "0.5s", "column": "Overall", "value": 97.0},
                                      {"row": "1s", "column": "Overall", "value": 98.0},
                                      {"row": "2s", "column": "Overall", "value": 99.0}]},
        {"id": "P", "caption": "params", "pointer": "Table I", "origin": "paper",
         "tolerance": "exact", "kind": "deterministic",
         "rows": [{"row": "slim", "column": "params", "value": 5483},
                  {"row": "big", "column": "params", "value": 3700000, "text": "3.7M",
                   "tolerance": "r10"}]},
    ]}


def test_status_rules():
    reg = parse_registry(REG, "demo.yaml")
    ms = [Measurement("T1", "0.5s", "Overall", 96.5, "real", "full"),
          Measurement("T1", "1s", "Overall", 95.0, "real", "full"),
          Measurement("T1", "2s", "Overall", 50.0, "mini", "smoke"),
          Measurement("P", "slim", "params", 7195, "analytic", "analytic"),
          Measurement("P", "big", "params", 3684368, "analytic", "analytic")]
    rows = compare(reg, ms, {("P", "slim", "params"): "reference code uses plain convs"})
    st = {r.published.key: r.status for r in rows}
    assert st[("T1", "0.5s", "Overall")] == REPRODUCED
    assert st[("T1", "1s", "Overall")] == DEVIATES
    assert st[("T1", "2s", "Overall")] == MINI_CORPUS
    assert st[("P", "slim", "params")] == DEVIATES
    assert st[("P", "big", "params")] == REPRODUCED
    unexplained = [r.published.key for r in rows if r.unexplained_deviation]
    assert unexplained == [("T1", "1s", "Overall")]
    assert rows[1].to_json()["delta"] == pytest.approx(-3.0)


def test_smoke_on_real_data_is_partial_and_missing_is_not_run():
    reg = parse_registry(REG, "demo.yaml")
    rows = compare(reg, [Measurement("T1", "1s", "Overall", 98.2, "real", "smoke")])
    st = {r.published.key: r.status for r in rows}
    assert st[("T1", "1s", "Overall")] == PARTIAL
    assert st[("T1", "2s", "Overall")] == NOT_RUN


def test_measurement_for_unknown_cell_raises():
    reg = parse_registry(REG, "demo.yaml")
    with pytest.raises(KeyError, match="Overal"):
        compare(reg, [Measurement("T1", "1s", "Overal", 98.2, "real", "full")])


def test_registry_rejects_unknown_keys_and_tolerances():
    bad = {**REG, "tables": [{**REG["tables"][0], "colour": "red"}]}
    with pytest.raises(ConfigError, match="colour"):
        parse_registry(bad, "demo.yaml")
    bad = {**REG, "tables": [{**REG["tables"][0], "tolerance": "nope"}]}
    with pytest.raises(ConfigError, match="nope"):
        parse_registry(bad, "demo.yaml")
    dup = {**REG, "tables": [REG["tables"][0], REG["tables"][0]]}
    with pytest.raises(ConfigError, match="duplicate"):
        parse_registry(dup, "demo.yaml")
