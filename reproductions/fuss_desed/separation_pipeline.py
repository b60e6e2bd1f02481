"""Stages of the separation half (spec §1.1, §2.1, §4.1); metrics land under ``metrics["separation"]``.

Interface used by :mod:`.pipeline`: :func:`run` and :func:`trained_models`."""
from __future__ import annotations

from pathlib import Path

from common.runs import Run
from reproductions.fuss_desed.separation_config import SeparationConfig


def run(run_: Run, cfg: SeparationConfig, root: Path, mini: bool, report) -> dict:
    """Every stage of this half (each resumable) and its figures; returns its metrics."""
    return {}


def trained_models(cfg: SeparationConfig) -> list[str]:
    """The MODEL_VARIANTS (:mod:`.separation_models`) this config trains."""
    return []
