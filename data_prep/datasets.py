"""Registry of dataset modules, imported lazily by name.

Every dataset module exposes: NAME, ENV_VAR, SAMPLERATE, EXPECTED,
validate(root, *, mini=False), write_mini(dest=None, seed=0), root(root=None, *, mini_if_unset=True, seed=0).
"""
from __future__ import annotations

import importlib
from types import ModuleType

from common.errors import ConfigError

DATASETS: dict[str, str] = {
    "musan": "data_prep.musan",
    "gtzan": "data_prep.gtzan",
    "urbansound8k": "data_prep.urbansound8k",
    "tut_sed_2016": "data_prep.tut_sed_2016",
}


def get(name: str) -> ModuleType:
    """The dataset module registered under ``name``."""
    try:
        module = DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None
    return importlib.import_module(module)


def names() -> list[str]:
    return sorted(DATASETS)
