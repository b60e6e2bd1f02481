"""REPORT.md prose: the run summary, then each half's sections (:mod:`.separation_sections`,
:mod:`.sed_sections`), the deviations of both and every network for ``repro complexity``."""
from __future__ import annotations

from common.markdown import Section
from common.runs import finished_runs, measurements_from_runs
from reproductions.fuss_desed import sed_sections, separation_sections

PAPER = "fuss_desed"


def best_run() -> dict | None:
    """The newest finished run whose cells the report uses."""
    used = {m.run_id for m in measurements_from_runs(PAPER)}
    runs = [r for r in finished_runs(PAPER) if r["run_id"] in used]
    return runs[-1] if runs else None


def _summary(run_: dict | None) -> Section:
    if run_ is None:
        return Section("How to run", "No finished run yet. `make reproduce-fuss-desed` runs the "
                       "smoke profile on the mini corpora (or the full recipe when `FUSS_ROOT` / "
                       "`DESED_ROOT` are set).")
    m, hw = run_["metrics"], run_.get("env", {}).get("hardware", {})
    halves = [h for h in ("separation", "sed") if h in m]
    return Section("Run summary", (
        f"Run `{run_['run_id']}`: profile **{run_['profile']}**, corpus **{run_['corpus']}**, "
        f"seed {run_['seed']}, halves run: {', '.join(halves) or 'none'}; on "
        f"{hw.get('cpu', '?')} ({hw.get('cores', '?')} cores), load average at start "
        f"{m.get('load_average')} and end {m.get('load_average_end')} (1/5/15 min)."))


def report_sections(rows) -> list[Section]:
    run_ = best_run()
    return [_summary(run_), *separation_sections.report_sections(rows, run_),
            *sed_sections.report_sections(rows, run_)]


def deviations() -> list[str]:
    return [*separation_sections.deviations(), *sed_sections.deviations()]


def complexity_models() -> dict:
    return {**separation_sections.complexity_models(), **sed_sections.complexity_models()}
