"""Registry of dataset modules, imported lazily by name.

Every dataset module exposes: NAME, ENV_VAR, SAMPLERATE, EXPECTED,
validate(root, *, mini=False), write_mini(dest=None, seed=0), root(root=None, *, mini_if_unset=True, seed=0).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from common.errors import ConfigError, DatasetError

DATASETS: dict[str, str] = {
    "musan": "data_prep.musan",
    "gtzan": "data_prep.gtzan",
    "urbansound8k": "data_prep.urbansound8k",
    "tut_sed_2016": "data_prep.tut_sed_2016",
    "tau22": "data_prep.tau22",
    "fuss": "data_prep.fuss",
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


def resolve(names: Iterable[str], seed: int = 0) -> dict[str, tuple[Path, bool, object]]:
    """For each dataset: (root, is_mini, ValidationReport). The user's root (``<NAME>_ROOT``)
    when set, else the mini corpus (built on first use). A dataset without a single usable
    file is a DatasetError listing what was wrong; bad files alone are skipped and listed."""
    out = {}
    for name in names:
        mod = get(name)
        root, is_mini = mod.root(None, mini_if_unset=True, seed=seed)
        report = mod.validate(root, mini=is_mini)
        if report.manifest.empty:
            raise DatasetError(f"{name}: no usable audio under {root}:\n{report.summary()}")
        out[name] = (root, is_mini, report)
    return out


def provenance(resolved: dict) -> dict:
    """What a run records about its data (REPORT.md provenance reads these keys)."""
    return {name: {**rep.to_dict(), "root": str(root), "is_mini": mini,
                   "files_found": int(len(rep.manifest)), "files_skipped": int(len(rep.bad))}
            for name, (root, mini, rep) in resolved.items()}


def identity(provenance_: dict) -> dict:
    """The part of the data that names a run (enters the run id): root, mini or not, file count."""
    return {n: {"root": d["root"], "is_mini": d["is_mini"], "files": d["files_found"]}
            for n, d in provenance_.items()}


def write_reports(resolved: dict, folder: Path) -> None:
    """manifest.csv, missing_files.csv and bad_files.csv per dataset; say what was skipped."""
    for name, (_, _, rep) in resolved.items():
        rep.write(Path(folder) / name)
        if len(rep.bad):
            print(f"{name}: skipped {len(rep.bad)} bad file(s), listed in "
                  f"{Path(folder) / name / 'bad_files.csv'}")
