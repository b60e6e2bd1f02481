"""Typed configuration of the report-000 reproduction (``configs/full.yaml``, ``configs/smoke.yaml``).

The report has two halves, each with its own config block and modules: ``separation`` (FUSS,
TDCN++ fine-tuned by grid search; :mod:`.separation_config`) and ``sed`` (DESED, the mean-teacher
CRNN; :mod:`.sed_config`). Either half can be switched off (``--set sed.enabled=false``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common.config import load_config
from common.errors import ConfigError
from reproductions.fuss_desed.sed_config import SedConfig, check_sed
from reproductions.fuss_desed.separation_config import SeparationConfig, check_separation

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class FussDesedConfig:
    profile: Literal["smoke", "full"] = "full"
    separation: SeparationConfig = field(default_factory=SeparationConfig)
    sed: SedConfig = field(default_factory=SedConfig)
    mini_seed: int = 0


def check(cfg: FussDesedConfig) -> FussDesedConfig:
    """Value checks the type system cannot express; ConfigError names the key."""
    if not (cfg.separation.enabled or cfg.sed.enabled):
        raise ConfigError("separation.enabled and sed.enabled are both false: nothing to run")
    check_separation(cfg.separation)
    check_sed(cfg.sed)
    return cfg


def load(profile: str = "full", overrides: list[str] | tuple[str, ...] = ()) -> FussDesedConfig:
    path = CONFIG_DIR / f"{profile}.yaml"
    if not path.exists():
        raise ConfigError(f"unknown profile {profile!r}: no {path}")
    return check(load_config(FussDesedConfig, path, overrides))
