import pytest

from common.errors import ConfigError
from common.registry import parse_registry
from common.results import (CHOSEN_READING, DEVIATES, MINI_CORPUS, NOT_RUN, PARTIAL, REPRODUCED,
                            SETTING, STATUSES, TIMING, Measurement, compare, setting)

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


SETTING_REG = {
    "paper": "demo", "report": "Demo", "report_file": "x.txt",
    "tolerances": {"exact": {"kind": "exact", "reason": "stated"},
                   "t": {"kind": "rel", "value": 0.5, "reason": "hardware"}},
    "tables": [
        {"id": "X", "caption": "settings", "pointer": "§2", "tolerance": "exact", "kind": "setting",
         "rows": [{"row": "batch", "column": "value", "value": 128},
                  {"row": "hop", "column": "value", "value": 10}]},
        {"id": "P", "caption": "params", "pointer": "Table I", "tolerance": "exact",
         "kind": "deterministic", "rows": [{"row": "slim", "column": "params", "value": 5483},
                                           {"row": "wide", "column": "params", "value": 100},
                                           {"row": "cpu", "column": "ms", "value": 2.0,
                                            "kind": "timing", "tolerance": "t"}]},
    ]}


def test_settings_are_shown_as_configured_never_reproduced():
    reg = parse_registry(SETTING_REG, "demo.yaml")
    rows = compare(reg, [setting("X", "batch", "value", 128, "full.yaml"),
                         setting("X", "hop", "value", 15, "full.yaml")],
                   {("X", "hop", "value"): "the report's code steps 15 ms"})
    by = {r.published.row: r for r in rows}
    assert by["batch"].status == SETTING and by["batch"].matches and by["batch"].mark == "⚙✓"
    assert by["hop"].status == SETTING and by["hop"].matches is False and by["hop"].mark == "⚙✗"
    assert not by["hop"].unexplained_deviation
    # a differing setting without a reason fails `repro check`
    (bare,) = [r for r in compare(reg, [setting("X", "hop", "value", 15, "f")]) if r.measurement]
    assert bare.unexplained_deviation


def test_a_setting_cannot_be_reproduced_whatever_its_source():
    reg = parse_registry(SETTING_REG, "demo.yaml")
    for corpus, profile in (("real", "full"), ("analytic", "analytic"), ("real", "smoke")):
        # a computed measurement of a registry setting, and a setting of a computed cell
        ms = [Measurement("X", "batch", "value", 128, corpus, profile),
              Measurement("P", "slim", "params", 5483, corpus, profile, kind="setting")]
        assert {r.status for r in compare(reg, ms) if r.measurement} == {SETTING}


def test_chosen_reading_and_timing_are_counted_apart():
    reg = parse_registry(SETTING_REG, "demo.yaml")
    rows = compare(reg, [Measurement("P", "slim", "params", 5483, "analytic", "analytic",
                                     kind="chosen"),
                         Measurement("P", "wide", "params", 99, "analytic", "analytic",
                                     kind="chosen"),
                         Measurement("P", "cpu", "ms", 2.1, "real", "full")])
    st = {r.published.row: r.status for r in rows}
    # a chosen reading that matches is not a confirmation; one that misses still deviates
    assert st == {"batch": NOT_RUN, "hop": NOT_RUN, "slim": CHOSEN_READING, "wide": DEVIATES,
                  "cpu": TIMING}


def test_measurement_kind_is_checked():
    with pytest.raises(ValueError, match="kind"):
        Measurement("P", "slim", "params", 1, "analytic", "analytic", kind="guess")


def test_every_measured_setting_of_every_paper_is_a_setting():
    """Walk every cell any implemented recipe measures (analytic and stored runs): no row the
    registry calls a setting, and no measurement made from a configured value, may carry a
    status that claims a computation (REPRODUCED, PARTIAL, DEVIATES, CHOSEN_READING)."""
    from reproductions import runner
    from common.registry import PAPERS, load_registry
    claims = {REPRODUCED, PARTIAL, DEVIATES, CHOSEN_READING}
    walked = 0
    for paper in PAPERS:
        recipe = runner.load(paper)
        if not getattr(recipe, "IMPLEMENTED", False):
            continue
        reg = load_registry(paper)
        for r in compare(reg, recipe.measurements(), recipe.explanations()):
            if r.measurement is None:
                continue
            walked += 1
            if r.published.kind == "setting" or r.measurement.kind == "setting":
                assert r.status not in claims, (paper, r.published.key, r.status)
            if r.measurement.kind == "timing" or r.measurement.corpus == "this_machine":
                assert r.status == TIMING, (paper, r.published.key, r.status)
            if r.status == REPRODUCED:
                assert r.measurement.kind == "computed" and r.measurement.corpus in (
                    "real", "analytic"), (paper, r.published.key)
    assert walked > 50
    assert len(STATUSES) == len(set(STATUSES))
