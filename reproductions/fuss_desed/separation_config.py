"""Config of the FUSS separation half (spec §1.1, §2.1, §4.1): the ``separation:`` block."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeparationConfig:
    enabled: bool = True


def check_separation(cfg: SeparationConfig) -> SeparationConfig:
    return cfg
