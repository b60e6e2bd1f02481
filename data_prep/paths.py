"""Where data lives and how a user's dataset root is resolved."""
from __future__ import annotations

import os
from pathlib import Path

from common.errors import DatasetError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV_VAR = "REPRO_DATA_DIR"


def data_home() -> Path:
    """``$REPRO_DATA_DIR`` when set, else ``<repo root>/data`` (gitignored)."""
    env = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else REPO_ROOT / "data"


def mini_root(dataset: str) -> Path:
    """Default folder of a dataset's mini corpus."""
    return data_home() / "mini" / dataset


def dataset_root(dataset: str, env_var: str, root: str | Path | None = None) -> Path:
    """Explicit ``root`` first, then ``$env_var``; errors say how to fix the problem."""
    source = "the root argument"
    if root is None or str(root).strip() == "":
        root = os.environ.get(env_var, "").strip() or None
        source = f"${env_var}"
    if root is None:
        raise DatasetError(
            f"{env_var} is not set and no {dataset} root was given: run "
            f"`repro prepare {dataset} --mini` to build the mini corpus from Debian recordings, "
            f"or set {env_var}=/path/to/{dataset}")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"{dataset} root {path} (from {source}) does not exist; "
                           f"set {env_var} to the folder that holds the dataset")
    if not path.is_dir():
        raise DatasetError(f"{dataset} root {path} (from {source}) is not a folder")
    return path
