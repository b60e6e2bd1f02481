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
    "sonyc_ust": "data_prep.sonyc_ust",
    "desed": "data_prep.desed",
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
    when set, else the mini corpus (built on first use). A dataset counts as what it claims to
    be only when its validator passed: a root that fails validation (missing files, counts
    that differ from the official ones, no usable audio) stops the run with the reasons. Bad
    (corrupt) files alone are skipped and listed."""
    out = {}
    for name in names:
        mod = get(name)
        root, is_mini = mod.root(None, mini_if_unset=True, seed=seed)
        report = mod.validate(root, mini=is_mini)
        if not report.ok or report.manifest.empty:
            what = "mini corpus" if is_mini else f"{name} root (${mod.ENV_VAR})"
            raise DatasetError(f"{name}: the {what} at {root} failed validation; nothing was "
                               f"run.\n{report.summary()}")
        out[name] = (root, is_mini, report)
    return out


def provenance(resolved: dict) -> dict:
    """What a run records about its data (REPORT.md provenance reads these keys)."""
    return {name: {**rep.to_dict(), "root": str(root), "is_mini": mini,
                   "files_found": int(len(rep.manifest)), "files_skipped": int(len(rep.bad))}
            for name, (root, mini, rep) in resolved.items()}


def fingerprint(root: Path, is_mini: bool) -> dict:
    """What determines a dataset's content, never where it lies (so the same data gives the same
    run id in every clone): for a mini corpus its dataset, build recipe version, seed and
    configuration (MINI.json); for a real root the sorted list of its files, relative to the
    validated layout folder, with their sizes (hashed)."""
    from common.fileio import stable_hash
    from data_prep.mini import read_mini

    root = Path(root)
    if is_mini:
        info = read_mini(root)
        return {"mini": True, **{k: info.get(k) for k in ("dataset", "mini_version", "seed",
                                                          "config")}}
    files = sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".")
                                              for part in p.relative_to(root).parts))
    return {"mini": False, "files": len(files), "bytes": sum(size for _, size in files),
            "listing_sha": stable_hash(files, 16)}


def identity(resolved: dict) -> dict:
    """The part of the data that names a run (enters the run id): each dataset's fingerprint."""
    return {name: fingerprint(rep.root, is_mini) for name, (_, is_mini, rep) in resolved.items()}


def write_reports(resolved: dict, folder: Path) -> None:
    """manifest.csv, missing_files.csv and bad_files.csv per dataset; say what was skipped."""
    for name, (_, _, rep) in resolved.items():
        rep.write(Path(folder) / name)
        if len(rep.bad):
            print(f"{name}: skipped {len(rep.bad)} bad file(s), listed in "
                  f"{Path(folder) / name / 'bad_files.csv'}")
