"""The runner above the papers: finds each paper's package, compares its numbers with the
registry and writes the reports. The contract a package fulfils is ``reproductions/README.md``.

A paper without ``recipe.py`` is "not implemented yet": its registry is still rendered, every
row NOT_RUN, and ``run`` fails with a clear message.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType, SimpleNamespace

from common.errors import ReproError
from common.provenance import collect_env
from common.registry import PAPERS, load_registry
from common.report import compare_recipe, render_paper, render_summary
from common.results import ResultRow


class NotImplementedReproduction(ReproError):
    pass


def make_target(paper: str) -> str:
    """`make` target of a paper: its name with dashes (the Makefile derives it the same way)."""
    return "reproduce-" + paper.replace("_", "-")


def _planned(paper: str) -> SimpleNamespace:
    def run(*args, **kwargs):
        raise NotImplementedReproduction(
            f"the reproduction of '{paper}' is not implemented yet: its published numbers are in "
            f"results/published/{paper}.yaml and its report lists every row as NOT_RUN")

    return SimpleNamespace(PAPER=paper, TITLE=load_registry(paper).report, DATASETS=(),
                           IMPLEMENTED=False, run=run, measurements=lambda: [],
                           explanations=lambda: {}, report_sections=lambda rows: [],
                           deviations=lambda: [], complexity_models=lambda: {},
                           headline=lambda rows: [], not_measured=lambda: {})


def load(paper: str) -> ModuleType | SimpleNamespace:
    """``reproductions.<paper>.recipe``, or a stand-in for a paper not implemented yet."""
    if paper not in PAPERS:
        raise ReproError(f"unknown paper {paper!r}; known: {', '.join(PAPERS)}")
    try:
        mod = importlib.import_module(f"reproductions.{paper}.recipe")
    except ModuleNotFoundError as exc:
        if exc.name in (f"reproductions.{paper}.recipe", f"reproductions.{paper}"):
            return _planned(paper)
        raise
    mod.IMPLEMENTED = True
    return mod


def tables(paper: str) -> dict[str, tuple]:
    """Registry table id -> the functions that fill it: ``cells.TABLES`` (from a run) and
    ``analytic.TABLES`` (no data) of the paper's package (``reproductions/README.md``)."""
    out: dict[str, tuple] = {}
    for part in ("cells", "analytic"):
        try:
            mod = importlib.import_module(f"reproductions.{paper}.{part}")
        except ModuleNotFoundError:
            continue
        for table, fill in mod.TABLES.items():
            out[table] = out.get(table, ()) + (fill if isinstance(fill, tuple) else (fill,))
    return out


def evaluate(paper: str) -> tuple[object, list[ResultRow], list[dict]]:
    """(recipe, result rows, runs used) for one paper."""
    recipe = load(paper)
    rows, runs = compare_recipe(recipe)
    return recipe, rows, runs


def render(papers: list[str] | tuple[str, ...] = PAPERS) -> list[Path]:
    """REPORT.md of each paper given, then SUMMARY.md (and the README status table) of all."""
    env = collect_env(include_gpu=False)
    recipes = {p: load(p) for p in PAPERS}
    written = [render_paper(recipes[p], env) for p in papers]
    written.append(render_summary([recipes[p] for p in PAPERS], env))
    return written
