"""Stages of the sed half (spec §1.2, §2.2, §4.2); metrics land under ``metrics["sed"]``.

Interface used by :mod:`.pipeline`: :func:`run` and :func:`trained_models`."""
from __future__ import annotations

from pathlib import Path

from common.runs import Run
from reproductions.fuss_desed.sed_config import SedConfig


def run(run_: Run, cfg: SedConfig, root: Path, mini: bool, report) -> dict:
    """Every stage of this half (each resumable) and its figures; returns its metrics."""
    return {}


def trained_models(cfg: SedConfig) -> list[str]:
    """The MODEL_VARIANTS (:mod:`.sed_models`) this config trains."""
    return []
