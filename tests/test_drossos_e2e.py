"""End to end on the mini corpora (the code path of `make reproduce-drossos-sed`, tiny models and
epochs, throw-away results/cache folders): the expected cells, a finished run recognised as
such, same seed -> same numbers, stage resume, and a user's root with a corrupt file."""
from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from common.errors import DatasetError

from common.errors import ReproError
from data_prep import datasets

pytestmark = [pytest.mark.slow, pytest.mark.needs_debian_audio]

TINY = ["train.epochs=2", "mono.epochs=2", "model.channels=8", "model.rnn_units=8",
        "model.dilated_channels=8", "poly.sequence_frames=64"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    try:
        us8k, _ = datasets.get("urbansound8k").root(None, mini_if_unset=True)
        tut, _ = datasets.get("tut_sed_2016").root(None, mini_if_unset=True)
    except (ReproError, OSError) as exc:  # Debian recordings missing
        pytest.skip(f"mini corpora unavailable: {exc}")
    return {"base": tmp_path_factory.mktemp("drossos_e2e"), "us8k": us8k, "tut": tut}


@pytest.fixture
def isolated(env, monkeypatch):
    monkeypatch.setenv("REPRO_RESULTS_DIR", str(env["base"] / "results"))
    monkeypatch.setenv("REPRO_CACHE_DIR", str(env["base"] / "cache"))
    for var in ("URBANSOUND8K_ROOT", "TUT_SED_2016_ROOT"):
        monkeypatch.delenv(var, raising=False)
    return env


def _trained_cells(run_dir) -> dict:
    """Every cell except the timings (wall-clock numbers differ between identical runs)."""
    m = json.loads((run_dir / "metrics.json").read_text())
    timing = ("Training time", "training time", "training-time factor",
              "mean time-per-epoch reduction")
    return {(c["table"], c["row"], c["column"]): c["value"] for c in m["cells"]
            if c["column"] not in timing}


def test_whole_recipe_gives_the_expected_cells_and_is_recognised_as_finished(isolated):
    from reproductions.runner import evaluate, render
    from reproductions.drossos_sed import recipe
    from reproductions.drossos_sed.config import T4_MODELS

    first = recipe.run(seed=3, overrides=TINY)
    payload = json.loads((first / "metrics.json").read_text())
    assert payload["profile"] == "smoke" and payload["corpus"] == "mini"
    cells = {(c["table"], c["row"], c["column"]) for c in payload["cells"]}
    for row in T4_MODELS:
        for col in ("Accuracy", "Loss", "Training time", "f1-score"):
            assert ("T4", row, col) in cells
    assert ("X-mono-results", "baseline", "accuracy") in cells
    assert ("X-tut", "recordings (mixtures)", "count") in cells
    assert ("T2", "footsteps", "number of elements") in cells
    # mini corpus: its own class names cannot fill UrbanSound8K's Table 1 / Table 3 rows
    assert not {c for c in cells if c[0] in ("T1", "T3")}
    assert (first / "data" / "urbansound8k" / "bad_files.csv").is_file()
    for fig in ("poly_training_curves", "mono_training_curves", "poly_per_class_f1",
                "event_roll_report_poly_crnn"):
        assert (first / "figures" / f"{fig}.png").is_file()
    poly = payload["metrics"]["poly"]
    assert set(poly["models"]) == {*T4_MODELS.values(), "poly_dnd_sed_k3_d10"}
    assert poly["baselines"]["all_zero"]["frame"]["values"]["frame_f1"] == 0.0
    assert (first / "logs" / "poly_report_poly_crnn.csv").is_file()

    # every cell is a registry cell, and the report renders with the run's sections
    _, _, runs = evaluate("drossos_sed")
    assert [r["run_id"] for r in runs] == [payload["run_id"]]
    report = render(["drossos_sed"])[0].read_text()
    assert "Polyphonic (TUT-SED Synthetic 2016) results" in report and "event_roll" in report

    # the identical command recognises the finished run and recomputes nothing
    metrics_path = first / "metrics.json"
    before = (metrics_path.read_text(), os.stat(metrics_path).st_mtime_ns)
    assert recipe.run(seed=3, overrides=TINY) == first
    assert (metrics_path.read_text(), os.stat(metrics_path).st_mtime_ns) == before



def test_same_seed_same_numbers_and_a_lost_stage_is_recomputed_alone(isolated):
    from reproductions.drossos_sed import recipe
    small = TINY + ["mono.models=[report_mono_crnn]", "poly.models=[report_poly_dessed]",
                    "poly.extra_models=[]"]
    first = recipe.run(seed=4, overrides=small)
    second = recipe.run(seed=4, overrides=small, rerun=True)
    assert second != first and _trained_cells(second) == _trained_cells(first)
    # a crash before the stage's done marker: only that stage runs again, with the same numbers
    shutil.rmtree(second / "stages" / "poly_report_poly_dessed")
    shutil.rmtree(second / "checkpoints" / "poly_report_poly_dessed")
    (second / "metrics.json").unlink()
    done = (second / "stages" / "mono_report_mono_crnn" / ".done").stat().st_mtime_ns
    assert recipe.run(seed=4, overrides=small, rerun=True) == second
    assert (second / "stages" / "mono_report_mono_crnn" / ".done").stat().st_mtime_ns == done
    assert _trained_cells(second) == _trained_cells(first)


def test_user_root_fills_table1_and_lists_a_corrupt_file(isolated, monkeypatch):
    from data_prep import urbansound8k as us
    from reproductions.drossos_sed import recipe

    # a "user's" UrbanSound8K: the mini corpus in the official layout, official class names,
    # no MINI.json, and one listed slice that is not audio
    user = isolated["base"] / "user_us8k"
    shutil.copytree(isolated["us8k"], user, ignore=shutil.ignore_patterns("MINI.json", ".done"))
    csv = user / "metadata" / "UrbanSound8K.csv"
    meta = pd.read_csv(csv)
    meta["class"] = [us.CLASSES[c] for c in meta["classID"]]
    meta.to_csv(csv, index=False)
    broken = us.slice_path(user, meta["fold"][0], meta["slice_file_name"][0])
    broken.write_bytes(b"RIFF....WAVEfmt not really audio")
    monkeypatch.setenv("URBANSOUND8K_ROOT", str(user))
    small = TINY + ["poly.enabled=false", "mono.models=[report_mono_crnn]"]
    with pytest.raises(DatasetError, match=r"(?s)urbansound8k.*failed validation.*8732"):
        recipe.run(profile="smoke", seed=3, overrides=small)
    # the same tree as a complete dataset: pretend the official counts are its own
    monkeypatch.setattr(us, "EXPECTED", dict(us.validate(user).found))

    run_dir = recipe.run(profile="smoke", seed=3,
                         overrides=TINY + ["poly.enabled=false", "mono.models=[report_mono_crnn]"])
    assert "real" in run_dir.name
    data = json.loads((run_dir / "data.json").read_text())["datasets"]["urbansound8k"]
    assert data["files_skipped"] == 1 and not data["is_mini"]
    assert broken.name in (run_dir / "data" / "urbansound8k" / "bad_files.csv").read_text()
    cells = {(c["table"], c["row"]): c["value"]
             for c in json.loads((run_dir / "metrics.json").read_text())["cells"]}
    counts = meta.groupby("class").size()
    assert {r: v for (t, r), v in cells.items() if t == "T1"} == {k: float(v) for k, v in counts.items()}
    assert {r for (t, r) in cells if t == "T3"} <= set(us.CLASSES) and any(t == "T3" for t, _ in cells)
