import json

from common.runs import measurements_from_runs
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


def _tree(root, sizes):
    for rel, n in sizes.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * n)
    return root


def test_data_fingerprint_names_the_content_not_the_place(tmp_path):
    import json

    from data_prep.datasets import fingerprint
    files = {"audio/a.wav": 10, "audio/b.wav": 20, "meta/a.ann": 3}
    a = fingerprint(_tree(tmp_path / "clone1" / "data", files), is_mini=False)
    b = fingerprint(_tree(tmp_path / "elsewhere" / "copy", files), is_mini=False)
    assert a == b and a["files"] == 3 and a["bytes"] == 33
    (tmp_path / "elsewhere" / "copy" / "audio" / "b.wav").write_bytes(b"x" * 21)
    assert fingerprint(tmp_path / "elsewhere" / "copy", is_mini=False) != a
    # the same run id follows: same config, seed and data in two places
    ids = {make_run_id("full", "real", 1, {"config": {"lr": 1}, "data": {"d": fp}})
           for fp in (a, fingerprint(tmp_path / "clone1" / "data", is_mini=False))}
    assert len(ids) == 1
    # a mini corpus is named by its build recipe and seed, wherever it was built
    info = {"dataset": "musan", "mini_version": 1, "seed": 0, "config": {"n": 3}, "files": []}
    for where in ("m1", "m2"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "MINI.json").write_text(json.dumps({**info, "built_at": where}))
    assert fingerprint(tmp_path / "m1", True) == fingerprint(tmp_path / "m2", True)


def test_resuming_a_finished_run_keeps_its_data_record(results_tmp):
    from common.runs import finish_run, start_run
    run = start_run("swishnet", "smoke", "mini", 1, {"x": 1}, data={"root": "/first"})
    finish_run(run, [], {})
    again = start_run("swishnet", "smoke", "mini", 1, {"x": 1}, data={"root": "/second"})
    assert again.dir == run.dir
    assert json.loads((run.dir / "data.json").read_text()) == {"root": "/first"}
