"""Consistency of every implemented paper package with its registry (SpeechBrain-style): every
YAML loads and builds the models it trains with their expected parameter counts, every
registry table has a function that fills it or a stated reason why not, and every table
function runs on the committed run and fills only its own table's cells."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common.complexity import count_model  # noqa: E402
from common.registry import PAPERS, load_registry  # noqa: E402
from common.runs import finished_runs  # noqa: E402
from reproductions import runner  # noqa: E402

IMPLEMENTED = [p for p in PAPERS if getattr(runner.load(p), "IMPLEMENTED", False)]


def _profiles(paper: str) -> list[str]:
    folder = Path(importlib.import_module(f"reproductions.{paper}").__file__).parent / "configs"
    return sorted(p.stem for p in folder.glob("*.yaml"))


def test_two_papers_at_least_are_implemented():
    assert {"swishnet", "drossos_sed"} <= set(IMPLEMENTED)


@pytest.mark.parametrize("paper", IMPLEMENTED)
def test_every_yaml_loads_and_builds_its_models_with_their_counts(paper):
    recipe = runner.load(paper)
    config = importlib.import_module(f"reproductions.{paper}.config")
    variants = recipe.complexity_models()
    profiles = _profiles(paper)
    assert {"full", "smoke"} <= set(profiles)
    wanted = set()
    for profile in profiles:
        cfg = config.load(profile)
        assert cfg.profile == profile
        names = recipe.trained_models(cfg)
        assert names and set(names) <= set(variants), (profile, set(names) - set(variants))
        wanted |= set(names)
    for name in sorted(wanted):
        v = variants[name]
        if v.expected_params is not None:
            assert v.measured(count_model(v.build())) == v.expected_params, name


@pytest.mark.parametrize("paper", IMPLEMENTED)
def test_every_registry_table_has_a_function_or_a_reason(paper):
    recipe = runner.load(paper)
    registry = {t.id for t in load_registry(paper).tables}
    filled, skipped = set(runner.tables(paper)), set(recipe.NOT_MEASURED)
    assert filled <= registry, f"functions for tables the registry lacks: {filled - registry}"
    assert skipped <= registry and not filled & skipped
    assert registry == filled | skipped, f"tables with neither: {registry - filled - skipped}"
    assert all(len(reason) > 20 for reason in recipe.NOT_MEASURED.values())


@pytest.mark.parametrize("paper", IMPLEMENTED)
def test_every_table_function_runs_and_fills_only_its_table(paper):
    cells_mod = importlib.import_module(f"reproductions.{paper}.cells")
    runs = finished_runs(paper)
    if not runs:
        pytest.skip(f"{paper}: no committed run to feed the table functions")
    metrics = runs[-1]["metrics"]
    known = {r.key for r in load_registry(paper).rows}
    for table, functions in runner.tables(paper).items():
        for fill in functions:
            if fill in cells_mod.TABLES.values():
                produced = [(c["table"], c["row"], c["column"]) for c in fill(metrics)]
            else:
                produced = [m.key for m in fill()]
            assert set(produced) <= known, (fill.__name__, set(produced) - known)
            if fill in cells_mod.TABLES.values():
                assert {k[0] for k in produced} <= {table}, (fill.__name__, table)
