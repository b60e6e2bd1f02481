"""End to end on the mini corpora (the same code path as `make reproduce-swishnet`, tiny epochs):
determinism, stage resume, a user's own roots, bad files skipped and listed."""
import json
import shutil

import pytest

from common.errors import DatasetError

from common.runs import measurements_from_runs
from data_prep import datasets

pytestmark = [pytest.mark.slow, pytest.mark.needs_debian_audio]

TINY = ["train.epochs=2", "finetune.epochs=1", "benchmark.repeats=3", "benchmark.warmup=1",
        "split.also_report_other_mode=false"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    try:
        musan, _ = datasets.get("musan").root(None, mini_if_unset=True)
        gtzan, _ = datasets.get("gtzan").root(None, mini_if_unset=True)
    except Exception as exc:  # Debian recordings missing
        pytest.skip(f"mini corpora unavailable: {exc}")
    base = tmp_path_factory.mktemp("e2e")
    return {"base": base, "musan": musan, "gtzan": gtzan}


@pytest.fixture
def isolated(env, monkeypatch):
    monkeypatch.setenv("REPRO_RESULTS_DIR", str(env["base"] / "results"))
    monkeypatch.setenv("REPRO_CACHE_DIR", str(env["base"] / "cache"))
    monkeypatch.delenv("MUSAN_ROOT", raising=False)
    monkeypatch.delenv("GTZAN_ROOT", raising=False)
    return env


def _tables(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    return {(c["table"], c["row"], c["column"]): c["value"] for c in m["cells"]
            if c["table"] in ("T1", "T2")}


def test_same_seed_twice_identical_tables_and_stage_resume(isolated):
    from reproductions.swishnet import recipe
    first = recipe.run(profile="smoke", seed=7, overrides=TINY)
    t1 = _tables(first)
    assert len([k for k in t1 if k[0] == "T1"]) == 6 and len([k for k in t1 if k[0] == "T2"]) == 15
    # the same command again returns the finished run untouched
    assert recipe.run(profile="smoke", seed=7, overrides=TINY) == first
    second = recipe.run(profile="smoke", seed=7, overrides=TINY, rerun=True)
    assert second != first and _tables(second) == t1
    # a lost stage (crash before its done marker) is recomputed alone, with the same numbers
    shutil.rmtree(second / "stages" / "gtzan_2s")
    (second / "metrics.json").unlink()
    third = recipe.run(profile="smoke", seed=7, overrides=TINY, rerun=True)  # resumes -r2
    assert third == second and _tables(third) == t1
    kinds = {m.corpus for m in measurements_from_runs("swishnet") if m.table == "T1"}
    assert kinds == {"mini"}


def test_user_roots_are_used_and_bad_files_listed(isolated, monkeypatch):
    from reproductions.swishnet import recipe
    base = isolated["base"]
    # a "user's" MUSAN: the mini corpus's files in the official layout (no MINI.json) + one corrupt wav
    user_musan = base / "user_musan"
    shutil.copytree(isolated["musan"], user_musan,
                    ignore=shutil.ignore_patterns("MINI.json", ".done"))
    bad = next(p for p in (user_musan / "speech").iterdir() if p.is_dir()) / "speech-broken-9999.wav"
    bad.write_bytes(b"RIFF....WAVEfmt not really audio")
    user_gtzan = base / "user_gtzan"
    shutil.copytree(isolated["gtzan"], user_gtzan,
                    ignore=shutil.ignore_patterns("MINI.json", ".done"))
    monkeypatch.setenv("MUSAN_ROOT", str(user_musan))
    monkeypatch.setenv("GTZAN_ROOT", str(user_gtzan))
    # far fewer files than the official MUSAN: validation fails and nothing runs
    with pytest.raises(DatasetError, match=r"(?s)musan.*failed validation.*expected 660"):
        recipe.run(profile="smoke", seed=3, overrides=TINY + ["clip_seconds=[2.0]"])
    # the same trees as complete datasets: pretend the official counts are theirs
    from data_prep import gtzan, musan
    for mod, root in ((musan, user_musan), (gtzan, user_gtzan)):
        monkeypatch.setattr(mod, "EXPECTED", dict(mod.validate(root).found))
    run_dir = recipe.run(profile="smoke", seed=3, overrides=TINY + ["clip_seconds=[2.0]"])
    data = json.loads((run_dir / "data.json").read_text())["datasets"]
    assert data["gtzan"]["root"].startswith(str(user_gtzan)) and not data["gtzan"]["is_mini"]
    assert data["musan"]["files_skipped"] == 1
    listed = (run_dir / "data" / "musan" / "bad_files.csv").read_text()
    assert "speech-broken-9999.wav" in listed
    assert "real" in run_dir.name
