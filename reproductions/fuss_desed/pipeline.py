"""A run of report 000: the separation half (:mod:`.separation_pipeline`) and the SED half
(:mod:`.sed_pipeline`), each with its own resumable stages, on its own dataset."""
from __future__ import annotations

import os

from common.runs import Run
from reproductions.fuss_desed.config import FussDesedConfig

HALVES = (("separation", "fuss"), ("sed", "desed"))


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def datasets_wanted(cfg: FussDesedConfig) -> list[str]:
    return [ds for half, ds in HALVES if getattr(cfg, half).enabled]


def run_stages(run_: Run, cfg: FussDesedConfig, resolved: dict) -> dict:
    from reproductions.fuss_desed import sed_pipeline, separation_pipeline
    metrics: dict = {"load_average": load_average()}
    if cfg.separation.enabled:
        metrics["separation"] = separation_pipeline.run(run_, cfg.separation, *resolved["fuss"])
    if cfg.sed.enabled:
        metrics["sed"] = sed_pipeline.run(run_, cfg.sed, *resolved["desed"])
    metrics["load_average_end"] = load_average()
    return metrics


def trained_models(cfg: FussDesedConfig) -> list[str]:
    from reproductions.fuss_desed import sed_pipeline, separation_pipeline
    return [*separation_pipeline.trained_models(cfg.separation),
            *sed_pipeline.trained_models(cfg.sed)]
