"""Where the suite keeps things. Everything can be moved with an environment variable."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env_path(name: str, default: Path) -> Path:
    # an empty variable counts as unset (make exports variables it was not given as empty)
    value = os.environ.get(name, "").strip()
    return Path(value) if value else default


def results_dir() -> Path:
    """Committed results: registry, reports, runs ($REPRO_RESULTS_DIR, default <repo>/results)."""
    return _env_path("REPRO_RESULTS_DIR", REPO_ROOT / "results")


def published_dir() -> Path:
    return _env_path("REPRO_PUBLISHED_DIR", REPO_ROOT / "results" / "published")


def cache_dir() -> Path:
    """Features and other derived data, never committed ($REPRO_CACHE_DIR, default <repo>/cache)."""
    return _env_path("REPRO_CACHE_DIR", REPO_ROOT / "cache")


def paper_results_dir(paper: str) -> Path:
    return results_dir() / paper
