"""Config of the DESED SED half (spec §1.2, §2.2, §4.2): the ``sed:`` block."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SedConfig:
    enabled: bool = True


def check_sed(cfg: SedConfig) -> SedConfig:
    return cfg
