"""Seed report 001 (depthwise-separable + dilated SED, after Drossos et al. 2020): the runner's
contract (``reproductions/README.md``) and nothing else. The work lives in pipeline.py (stages,
figures), cells.py (tables from a run), analytic.py (tables from built models and the config)
and sections.py (REPORT.md prose, figures, deviations)."""
from __future__ import annotations

import os
from pathlib import Path

from common.progress import stage
from common.results import Measurement
from common.runs import finish_run, measurements_from_runs
from reproductions.drossos_sed import analytic, cells, sections
from reproductions.drossos_sed import config as config_mod
from reproductions.run_folder import open_run

PAPER = "drossos_sed"
TITLE = "Depthwise-separable and dilated convolutions for SED (report 001, after Drossos et al. 2020)"
DATASETS = ("urbansound8k", "tut_sed_2016")
ROOT_VARS = ("URBANSOUND8K_ROOT", "TUT_SED_2016_ROOT")


def run(profile: str | None = None, seed: int = 2021, overrides=(), rerun: bool = False) -> Path:
    """Train and evaluate every enabled model; returns the run folder."""
    from data_prep import datasets
    from reproductions.drossos_sed import pipeline

    if profile is None:
        profile = "full" if any(os.environ.get(v, "").strip() for v in ROOT_VARS) else "smoke"
    cfg = config_mod.load(profile, list(overrides))
    # the strategy exists before any other TensorFlow op (MultiWorkerMirroredStrategy requires
    # it) and a bad TF_CONFIG fails here, before feature extraction
    from common.distribute import make_strategy
    make_strategy(cfg.train.strategy)
    wanted = [n for n, on in zip(DATASETS, (cfg.mono.enabled, cfg.poly.enabled)) if on]
    stage("datasets: validate the roots, or build the mini corpora")
    resolved = datasets.resolve(wanted, seed=cfg.mini_seed)
    corpus = "mini" if any(mini for _, mini, _ in resolved.values()) else "real"
    run_ = open_run(PAPER, cfg, seed, corpus, resolved, rerun)
    if run_.finished:
        return run_.dir
    stage("features, training and evaluation")
    metrics: dict = {"load_average": pipeline.load_average()}
    if "urbansound8k" in resolved:
        metrics["mono"] = pipeline.run_mono(run_, cfg, *resolved["urbansound8k"])
    if "tut_sed_2016" in resolved:
        metrics["poly"] = pipeline.run_poly(run_, cfg, *resolved["tut_sed_2016"])
    pipeline.figures(run_, cfg, metrics)
    metrics["load_average_end"] = pipeline.load_average()
    finish_run(run_, cells.run_cells(metrics), metrics)
    return run_.dir


def measurements() -> list[Measurement]:
    return measurements_from_runs(PAPER) + analytic.measurements()


def explanations() -> dict:
    return {**cells.EXPLANATIONS, **analytic.explanations()}


def headline() -> list[tuple[str, str, str]]:
    """The report's headline numbers, for the table printed after `repro run`."""
    return [("T4", "Baseline", "f1-score"), ("T4", "Proposed Model avg pooling", "f1-score"),
            ("T4", "Baseline", "Number of parameters"),
            ("T4", "Proposed Model avg pooling", "Number of parameters"),
            ("X-mono-results", "baseline", "accuracy")]


# registry tables no function fills, with the reason
NOT_MEASURED = {
    "X-software": "the software versions of the report's own machine (Keras 2.2.4 for PlaidML, "
                  "TF 1.15 for DirectML): a description of its environment, not a result",
}


def trained_models(cfg) -> list[str]:
    """The MODEL_VARIANTS a config trains (the consistency test builds them at full size)."""
    return [*cfg.mono.models, *cfg.poly.models, *cfg.poly.extra_models]


report_sections = sections.report_sections
deviations = sections.deviations
complexity_models = sections.complexity_models
