from common.recipes import measurements_from_runs
from common.runs import cell, finish_run, finished_runs, make_run_id, start_run


def test_run_id_has_seed_and_config_hash():
    a = make_run_id("smoke", "mini", 7, {"lr": 1})
    assert "seed7" in a and a != make_run_id("smoke", "mini", 7, {"lr": 2})
    assert a == make_run_id("smoke", "mini", 7, {"lr": 1})


def test_finished_run_is_never_overwritten(results_tmp):
    run = start_run("swishnet", "smoke", "mini", 1, {"x": 1})
    finish_run(run, [cell("T1", "0.5s", "Overall", 90.0)], {})
    first = (run.dir / "metrics.json").read_text()
    again = start_run("swishnet", "smoke", "mini", 1, {"x": 1}, rerun=True)
    assert again.dir != run.dir and again.run_id.endswith("-r2")
    assert (run.dir / "metrics.json").read_text() == first
    assert len(finished_runs("swishnet")) == 1


def test_best_source_wins(results_tmp):
    r1 = start_run("swishnet", "smoke", "mini", 1, {"x": 1})
    finish_run(r1, [cell("T1", "0.5s", "Overall", 90.0)], {})
    r2 = start_run("swishnet", "full", "real", 1, {"x": 1})
    finish_run(r2, [cell("T1", "0.5s", "Overall", 97.0)], {})
    r3 = start_run("swishnet", "smoke", "mini", 2, {"x": 1})
    finish_run(r3, [cell("T1", "0.5s", "Overall", 91.0)], {})
    (m,) = measurements_from_runs("swishnet")
    assert m.value == 97.0 and m.corpus == "real" and m.run_id == r2.run_id


def test_empty_environment_variable_counts_as_unset(monkeypatch):
    # `make` exports variables it was not given as empty strings
    from common.paths import REPO_ROOT, cache_dir, results_dir
    monkeypatch.setenv("REPRO_CACHE_DIR", "")
    monkeypatch.setenv("REPRO_RESULTS_DIR", " ")
    assert cache_dir() == REPO_ROOT / "cache" and results_dir() == REPO_ROOT / "results"
