"""Run folders: ``results/<paper>/runs/<run-id>/``.

A run id names the profile, the corpus, the seed and a hash of the resolved config, so the same
command resumes the same folder (every stage has a done marker) and a different config or seed
never lands on top of another run. A finished run is never rewritten: asking for it again
returns it as it is, and ``rerun=True`` starts a sibling folder with a numbered suffix.
"""
from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.fileio import atomic_write_json, atomic_write_text, is_done, mark_done, read_json, stable_hash
from common.paths import paper_results_dir
from common.provenance import collect_env
from common.results import Measurement

CORPORA = ("mini", "real")
PROFILES = ("smoke", "full")


@dataclass(frozen=True)
class Run:
    paper: str
    run_id: str
    dir: Path
    profile: str
    corpus: str
    seed: int

    def stage_dir(self, stage: str) -> Path:
        d = self.dir / "stages" / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    def stage_done(self, stage: str) -> bool:
        return is_done(self.dir / "stages" / stage)

    def mark_stage(self, stage: str, **info: Any) -> None:
        mark_done(self.stage_dir(stage), None, finished=_now(), **info)

    @property
    def figures(self) -> Path:
        d = self.dir / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def logs(self) -> Path:
        """Per-epoch CSV training logs (committed with the run)."""
        d = self.dir / "logs"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def checkpoints(self) -> Path:
        """Weights live here; .gitignore keeps them out of the repository."""
        d = self.dir / "checkpoints"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def finished(self) -> bool:
        return (self.dir / "metrics.json").is_file()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def make_run_id(profile: str, corpus: str, seed: int, config: dict) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if corpus not in CORPORA:
        raise ValueError(f"corpus must be one of {CORPORA}, got {corpus!r}")
    return f"{profile}-{corpus}-seed{seed}-{stable_hash(config, 8)}"


def runs_dir(paper: str) -> Path:
    return paper_results_dir(paper) / "runs"


def start_run(paper: str, profile: str, corpus: str, seed: int, config: dict,
              data: dict | None = None, rerun: bool = False) -> Run:
    """Open (or resume) the run folder for this exact config; write config, env and data info."""
    base = make_run_id(profile, corpus, seed, config)
    run_id = base
    if rerun:
        k = 2
        while (runs_dir(paper) / run_id / "metrics.json").is_file():
            run_id, k = f"{base}-r{k}", k + 1
    run = Run(paper, run_id, runs_dir(paper) / run_id, profile, corpus, seed)
    run.dir.mkdir(parents=True, exist_ok=True)
    if not (run.dir / "config.yaml").is_file():
        atomic_write_text(run.dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
        atomic_write_json(run.dir / "env.json", collect_env())
    # a finished run keeps the data record it was computed from (a resume must not rewrite it)
    if data is not None and not (run.dir / "metrics.json").is_file():
        atomic_write_json(run.dir / "data.json", data)
    return run


def finish_run(run: Run, cells: list[dict], metrics: dict, extra: dict | None = None) -> Path:
    """Write ``metrics.json`` (the only file reports read numbers from) atomically."""
    payload = {"paper": run.paper, "run_id": run.run_id, "profile": run.profile,
               "corpus": run.corpus, "seed": run.seed, "finished": _now(),
               "cells": cells, "metrics": metrics, **(extra or {})}
    return atomic_write_json(run.dir / "metrics.json", payload)


def cell(table: str, row: str, column: str, value: float | None, note: str | None = None,
         corpus: str | None = None, kind: str = "computed") -> dict:
    """One measured number for a registry cell; ``corpus`` overrides the run's own (a number
    that depends on a second dataset, or on no data at all); ``kind`` is the measurement kind
    of :mod:`common.results` (a time measured on this machine is ``timing``)."""
    out = {"table": table, "row": row, "column": column,
           "value": None if value is None else float(value), "note": note, "kind": kind}
    if corpus is not None:
        out["corpus"] = corpus
    return out


def finished_runs(paper: str) -> list[dict]:
    """Every finished run's metrics.json (plus its folder), oldest first."""
    out = []
    d = runs_dir(paper)
    if not d.is_dir():
        return out
    for path in sorted(d.glob("*/metrics.json")):
        m = read_json(path)
        m["dir"] = str(path.parent)
        for name in ("env.json", "data.json"):
            p = path.parent / name
            m[name.split(".")[0]] = read_json(p) if p.is_file() else {}
        out.append(m)
    return sorted(out, key=lambda m: m.get("finished", ""))


def remove_run(run: Run) -> None:
    shutil.rmtree(run.dir, ignore_errors=True)


def stage_result(run: Run, name: str, compute: Callable[[], dict]) -> dict:
    """Run ``compute()`` once per run folder: its result goes to ``stages/<name>/result.json``
    and the stage gets a done marker; afterwards (a resumed or repeated run) the stored result
    is read back instead of recomputed. A stage interrupted before its marker runs again."""
    path = run.stage_dir(name) / "result.json"
    if run.stage_done(name) and path.is_file():
        return read_json(path)
    result = compute()
    atomic_write_json(path, result)
    run.mark_stage(name)
    return result


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
            kind = c.get("kind") or ("timing" if corpus == "this_machine" else "computed")
            m = Measurement(c["table"], c["row"], c["column"], c["value"], corpus, profile,
                            run["run_id"], c.get("note"), kind)
            rank = _RANK.get((m.corpus, m.profile), 0)
            cand = (rank, run.get("finished", ""), m)
            if m.key not in best or cand[:2] >= best[m.key][:2]:
                best[m.key] = cand
    return [v[2] for v in best.values()]


def runs_used(paper: str, measurements: list[Measurement]) -> list[dict]:
    ids = {m.run_id for m in measurements if m.run_id}
    return [r for r in finished_runs(paper) if r["run_id"] in ids]
