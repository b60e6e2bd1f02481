"""Seed report 000 (Hou, Radzikowski, Farid: fine-tuning the DCASE 2020 Task 4 baselines by grid
search): the runner's contract (``reproductions/README.md``) and nothing else. The report has two
halves, FUSS separation and DESED detection; each has its own modules (``separation_*``,
``sed_*``) and the files below combine them."""
from __future__ import annotations

import os
from pathlib import Path

from common.progress import stage
from common.results import Measurement
from common.runs import finish_run, measurements_from_runs
from reproductions.fuss_desed import analytic, cells, sections
from reproductions.fuss_desed import config as config_mod
from reproductions.run_folder import open_run

PAPER = "fuss_desed"
TITLE = "Grid-searched FUSS separation and mean-teacher DESED detection (report 000)"
DATASETS = ("fuss", "desed")
ROOT_VARS = ("FUSS_ROOT", "DESED_ROOT")


def run(profile: str | None = None, seed: int = 2021, overrides=(), rerun: bool = False) -> Path:
    """Run every enabled half; returns the run folder."""
    from data_prep import datasets
    from reproductions.fuss_desed import pipeline

    if profile is None:
        profile = "full" if any(os.environ.get(v, "").strip() for v in ROOT_VARS) else "smoke"
    cfg = config_mod.load(profile, list(overrides))
    stage("datasets: validate the roots, or build the mini corpora")
    resolved = datasets.resolve(pipeline.datasets_wanted(cfg), seed=cfg.mini_seed)
    corpus = "mini" if any(mini for _, mini, _ in resolved.values()) else "real"
    run_ = open_run(PAPER, cfg, seed, corpus, resolved, rerun)
    if run_.finished:
        return run_.dir
    metrics = pipeline.run_stages(run_, cfg, resolved)
    finish_run(run_, cells.run_cells(metrics), metrics)
    return run_.dir


def measurements() -> list[Measurement]:
    return measurements_from_runs(PAPER) + analytic.measurements()


def explanations() -> dict:
    return {**cells.EXPLANATIONS, **analytic.explanations()}


def headline() -> list[tuple[str, str, str]]:
    """The report's headline numbers, printed after `repro run`."""
    return list(cells.HEADLINE)


NOT_MEASURED = cells.NOT_MEASURED


def trained_models(cfg) -> list[str]:
    from reproductions.fuss_desed import pipeline
    return pipeline.trained_models(cfg)


report_sections = sections.report_sections
deviations = sections.deviations
complexity_models = sections.complexity_models
