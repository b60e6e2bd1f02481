"""BC-Res2Net ASC (report 003): the runner's contract (``reproductions/README.md``) and
nothing else. The work lives in pipeline.py (stages, figures), int8.py, cells.py (tables
from a run), analytic.py (tables from built models and the config) and sections.py (REPORT.md
prose, deviations)."""
from __future__ import annotations

import os
from pathlib import Path

from common.progress import stage
from common.results import Measurement
from common.runs import finish_run, measurements_from_runs
from reproductions.bcres2net_asc import analytic, cells, sections
from reproductions.bcres2net_asc import config as config_mod
from reproductions.run_folder import open_run

PAPER = "bcres2net_asc"
TITLE = ("BC-Res2Net + MFA + FPM with KD and device-aware fine-tuning on TAU Urban Acoustic "
         "Scenes 2022 Mobile (report 003)")
DATASETS = ("tau22",)


def run(profile: str | None = None, seed: int = 2021, overrides=(), rerun: bool = False) -> Path:
    from data_prep import datasets
    from reproductions.bcres2net_asc import data, pipeline

    if profile is None:
        profile = "full" if os.environ.get("TAU22_ROOT", "").strip() else "smoke"
    cfg = config_mod.load(profile, list(overrides))
    stage("datasets: validate $TAU22_ROOT, or build the mini corpus")
    resolved = datasets.resolve(DATASETS, seed=cfg.mini_seed)
    _, is_mini, report = resolved["tau22"]
    run_ = open_run(PAPER, cfg, seed, "mini" if is_mini else "real", resolved, rerun)
    if run_.finished:
        return run_.dir

    f = cfg.features
    stage(f"features: {f.samplerate} Hz log-mel {f.n_mels} × {f.n_frames} (cached)")
    scene_set, skipped = data.extract(report.manifest, cfg.features)
    metrics = pipeline.run_everything(run_, cfg, scene_set, report, skipped)
    finish_run(run_, cells.run_cells(metrics), metrics)
    return run_.dir


def measurements() -> list[Measurement]:
    return measurements_from_runs(PAPER) + analytic.measurements()


def explanations() -> dict:
    return {**analytic.explanations(), **cells.EXPLANATIONS}


def headline() -> list[tuple[str, str, str]]:
    """The report's headline numbers, printed after every `repro run`."""
    return [("T2", "no KD, no FT", "Average log loss"), ("T2", "no KD, no FT", "Acc."),
            ("T2", "KD small (C=40), FT λ=0.4", "Average log loss"),
            ("T2", "KD small (C=40), FT λ=0.4", "Acc."),
            ("X-complexity", "BC-Res2Net w/ MFA w/ FPM (C=40)", "parameters"),
            ("X-complexity", "BC-Res2Net w/ MFA w/ FPM (C=40)", "MACs")]


# registry tables no function fills, with the reason
NOT_MEASURED = {
    "B-dev": "the official DCASE 2022 baseline's 10-run device-wise scores: we build its network "
             "(B-complexity) but do not train it — its 40-band, 44.1 kHz features are a second "
             "front end; its numbers are the reference the report compares with, shown as published",
}


def trained_models(cfg) -> list[str]:
    """The MODEL_VARIANTS a config trains (at full size: the consistency test builds them)."""
    names = ["bcres2net_c40"]
    if "large" in cfg.kd.teachers:
        names.append("bcres2net_c80")
    return names


report_sections = sections.report_sections
deviations = sections.deviations
complexity_models = sections.complexity_models
