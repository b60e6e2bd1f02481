"""Where the suite keeps things. Everything can be moved with an environment variable."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    """Committed results: registry, reports, runs ($REPRO_RESULTS_DIR, default <repo>/results)."""
    return Path(os.environ.get("REPRO_RESULTS_DIR", REPO_ROOT / "results"))


def published_dir() -> Path:
    return Path(os.environ.get("REPRO_PUBLISHED_DIR", REPO_ROOT / "results" / "published"))


def cache_dir() -> Path:
    """Features and other derived data, never committed ($REPRO_CACHE_DIR, default <repo>/cache)."""
    return Path(os.environ.get("REPRO_CACHE_DIR", REPO_ROOT / "cache"))


def paper_results_dir(paper: str) -> Path:
    return results_dir() / paper
