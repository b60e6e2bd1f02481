"""The contract between the shared runner and one reproduction package.

Each implemented paper has ``reproductions/<paper>/recipe.py`` exposing:

- ``PAPER``, ``TITLE``, ``DATASETS`` (names in ``data_prep.datasets``), ``MAKE_TARGET``
- ``run(profile, seed, overrides, rerun=False) -> Path``: train/evaluate, write a run folder
- ``measurements() -> list[Measurement]``: numbers for the registry's cells (analytic ones are
  computed on the spot, trained ones read from finished runs)
- ``explanations() -> dict[(table, row, column), str]``: deviations we understand and document
- ``report_sections(rows) -> list[Section]``: extra markdown (figures, checks) for REPORT.md
- ``deviations() -> list[str]``: where report, paper and reference code disagree
- ``complexity_models() -> dict[str, Callable[[], keras.Model]]``

A paper without ``recipe.py`` is "not implemented yet": its registry is still rendered, every row
NOT_RUN, and ``run`` fails with a clear message.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import SimpleNamespace

from common.errors import ReproError
from common.registry import PAPERS, load_registry
from common.results import Measurement
from common.runs import finished_runs

MAKE_TARGETS = {"swishnet": "reproduce-swishnet", "drossos_sed": "reproduce-drossos-sed",
                "vggish_fusion": "reproduce-vggish-fusion", "bcres2net_asc": "reproduce-bcres2net-asc",
                "fuss_desed": "reproduce-fuss-desed"}


@dataclass(frozen=True)
class Section:
    title: str
    body: str
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, path relative to REPORT.md)


class NotImplementedReproduction(ReproError):
    pass


def _planned(paper: str) -> SimpleNamespace:
    reg = load_registry(paper)

    def run(*args, **kwargs):
        raise NotImplementedReproduction(
            f"the reproduction of '{paper}' is not implemented yet: its published numbers are in "
            f"results/published/{paper}.yaml and its report lists every row as NOT_RUN")

    return SimpleNamespace(PAPER=paper, TITLE=reg.report, DATASETS=(), IMPLEMENTED=False,
                           MAKE_TARGET=MAKE_TARGETS[paper], run=run, measurements=lambda: [],
                           explanations=lambda: {}, report_sections=lambda rows: [],
                           deviations=lambda: [], complexity_models=lambda: {})


def load(paper: str):
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


_RANK = {("real", "full"): 3, ("real", "smoke"): 2, ("mini", "full"): 1, ("mini", "smoke"): 1}


def measurements_from_runs(paper: str) -> list[Measurement]:
    """For every cell, the number from the best finished run: real data before mini corpus, full
    profile before smoke, then the newest."""
    best: dict[tuple, tuple[int, str, Measurement]] = {}
    for run in finished_runs(paper):
        for c in run.get("cells", []):
            corpus = c.get("corpus", run["corpus"])
            # a number that depends on no data (analytic) or only on the machine (timing)
            # does not depend on the training profile either
            profile = "analytic" if corpus in ("analytic", "this_machine") else run["profile"]
            m = Measurement(c["table"], c["row"], c["column"], c["value"], corpus, profile,
                            run["run_id"], c.get("note"))
            key = m.key
            rank = _RANK.get((m.corpus, m.profile), 0)
            cand = (rank, run.get("finished", ""), m)
            if key not in best or cand[:2] >= best[key][:2]:
                best[key] = cand
    return [v[2] for v in best.values()]


def runs_used(paper: str, measurements: list[Measurement]) -> list[dict]:
    ids = {m.run_id for m in measurements if m.run_id}
    return [r for r in finished_runs(paper) if r["run_id"] in ids]


def complexity_section(paper: str, models: dict, title: str, unit: str) -> Section:
    """Parameters and MACs of every model variant, with the counting rule, for REPORT.md."""
    from common.complexity import COUNTING_RULE, count_model
    from common.report import md_table

    rows = []
    for key, build in models.items():
        c = count_model(build())
        rows.append([key, f"{c.params:,}", f"{c.trainable_params:,}", f"{c.macs:,}"])
    return Section(title, md_table(["variant", "params", "trainable", f"MACs per {unit}"], rows)
                   + f"\n\nCounting rule: {COUNTING_RULE}\n\nPer layer: "
                   f"`repro complexity {paper} --layers`.")


def open_run(paper: str, cfg, seed: int, corpus: str, resolved: dict, rerun: bool = False):
    """The run folder for this config, seed and data (see common.runs.start_run), with the
    datasets' provenance recorded and their manifests / bad-file lists written. When exactly
    this run has already finished (``run.finished``) nothing is written: the caller returns."""
    from common.config import identity_dict
    from common.runs import start_run
    from data_prep import datasets

    info = datasets.provenance(resolved)
    # identity_dict: a default train.strategy is not part of the id (common.distribute)
    identity = {"config": identity_dict(cfg), "data": datasets.identity(info)}
    run = start_run(paper, cfg.profile, corpus, seed, identity, data={"datasets": info},
                    rerun=rerun)
    if run.finished:
        print(f"run {run.run_id} already finished: nothing recomputed "
              f"(use --rerun for a new run folder)")
        return run
    datasets.write_reports(resolved, run.dir / "data")
    return run
