import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("REPRO_NO_PROGRESS", "1")


@pytest.fixture
def results_tmp(tmp_path, monkeypatch):
    """A throw-away results folder (the registry is still read from the repository)."""
    from common.paths import REPO_ROOT
    monkeypatch.setenv("REPRO_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("REPRO_PUBLISHED_DIR", str(REPO_ROOT / "results" / "published"))
    return tmp_path / "results"
