"""Rendering of ``results/<paper>/REPORT.md``, ``results/SUMMARY.md`` and the README status table.

Reports are generated, never hand-edited: a provenance header, every registry table in the
report's own shape (ours beside published, a status mark per cell), the recipe's sections and
figures, and the deviations. Numbers come only from the registry and from finished runs.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

from common.fileio import atomic_write_text
from common.paths import REPO_ROOT, paper_results_dir, results_dir
from common.provenance import collect_env
from common.markdown import md_table
from common.registry import load_registry
from common.results import (CHOSEN_READING, DEVIATES, MINI_CORPUS, NOT_RUN, SETTING,
                            STATUS_MEANING, STATUSES, TAGS, ResultRow, compare, counts, fmt)
from common.runs import runs_used

LEGEND = "Cell marks: " + " · ".join(f"{TAGS[s]} {s} ({STATUS_MEANING[s]})" for s in STATUSES) + "."


def compare_recipe(recipe) -> tuple[list[ResultRow], list[dict]]:
    """(result rows, runs used) of one paper's recipe: any object with the recipe contract of
    ``reproductions/README.md`` (PAPER, measurements(), explanations(), ...)."""
    ms = recipe.measurements()
    rows = compare(load_registry(recipe.PAPER), ms, recipe.explanations())
    return rows, runs_used(recipe.PAPER, ms)


def _grid(rows: list[ResultRow]) -> str:
    """The table in the report's shape: one line per published row label, for every published
    column an 'ours' and a 'published' column."""
    row_labels = list(OrderedDict.fromkeys(r.published.row for r in rows))
    col_labels = list(OrderedDict.fromkeys(r.published.column for r in rows))
    cells = {(r.published.row, r.published.column): r for r in rows}
    header = [""]
    for c in col_labels:
        header += [f"{c} (ours)", f"{c} (published)"]
    body = []
    for rl in row_labels:
        line = [rl]
        for c in col_labels:
            r = cells.get((rl, c))
            if r is None:
                line += ["", ""]
                continue
            ours = r.measurement.value if r.measurement else None
            line += [f"{fmt(ours)} {r.mark}" if ours is not None else TAGS[NOT_RUN],
                     r.published.display()]
        body.append(line)
    return md_table(header, body)


def _long(rows: list[ResultRow]) -> str:
    body = []
    for r in rows:
        p, m = r.published, r.measurement
        body.append([p.row, p.column, p.display(), fmt(m.value) if m else "–",
                     fmt(r.delta) if r.delta is not None else "–", p.tolerance.describe(),
                     f"{r.status} {r.mark}" + (" (explained)" if r.explanation else ""),
                     m.corpus if m else "–", (m.run_id or m.profile) if m else "–"])
    return md_table(["row", "column", "published", "ours", "Δ", "tolerance", "status", "data",
                      "run"], body)


def _provenance(paper: str, runs: list[dict], env: dict) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in env["libraries"].items())
    hw = env["hardware"]
    lines = [f"- Generated: {env['date']} by `repro report {paper}`",
             f"- Git: `{env['git']['short']}`{' (uncommitted changes)' if env['git']['dirty'] else ''}",
             f"- Python {env['python']} · {libs}",
             f"- Hardware now: {hw['cpu']} · {hw['cores']} cores · "
             f"{hw.get('memory_gib')} GiB · GPUs: {', '.join(hw.get('gpus') or []) or 'none'}"]
    if not runs:
        lines.append("- Runs used: none yet (every trained number is NOT_RUN)")
    for run in runs:
        renv = run.get("env", {})
        rhw = renv.get("hardware", {})
        lines.append(f"- Run `{run['run_id']}`: profile **{run['profile']}**, corpus "
                     f"**{run['corpus']}**, seed {run['seed']}, finished {run['finished']}, "
                     f"git `{renv.get('git', {}).get('short', '?')}`"
                     f"{' **with uncommitted changes**' if renv.get('git', {}).get('dirty') else ' (clean)'}, "
                     f"{rhw.get('cores', '?')} cores, GPUs: {', '.join(rhw.get('gpus') or []) or 'none'}")
        for name, ds in (run.get("data", {}).get("datasets") or {}).items():
            expected = ds.get("files_expected")
            if isinstance(expected, dict):
                expected = f"{sum(expected.values())} ({', '.join(f'{k} {v}' for k, v in expected.items())})"
            lines.append(f"  - dataset `{name}`: {'mini corpus' if ds.get('is_mini') else 'real'} "
                         f"at `{ds.get('root')}`: {ds.get('files_found')} files found / "
                         f"{expected} expected"
                         + (f" ({ds.get('files_skipped')} skipped: see bad_files.csv)"
                            if ds.get("files_skipped") else ""))
    return "\n".join(lines)


def render_paper(recipe, env: dict | None = None) -> Path:
    env = env or collect_env(include_gpu=False)
    paper = recipe.PAPER
    rows, runs = compare_recipe(recipe)
    reg = load_registry(paper)
    out_dir = paper_results_dir(paper)
    n = counts(rows)
    parts = [f"# {paper}: {reg.report}",
             "",
             "_Generated file — do not edit. Regenerate with `repro report "
             f"{paper}` (or `make report`)._",
             "",
             "## Provenance",
             _provenance(paper, runs, env),
             "",
             "## Status",
             ("This reproduction is **not implemented yet**; every published number is listed "
              "below as NOT_RUN.\n" if not getattr(recipe, "IMPLEMENTED", False) else "")
             + " · ".join(f"{s}: {n[s]}" for s in STATUSES) + f" (of {len(rows)} published numbers)",
             "",
             LEGEND,
             ""]
    if any(r.status == MINI_CORPUS for r in rows):
        parts += ["> **Mini corpus.** Trained numbers below were computed on the mini corpora "
                  "built from Debian-packaged recordings in the official layouts. They show that "
                  "the pipeline runs and learns; they are **not** a reproduction of the published "
                  "numbers, which need the real datasets (see the README).", ""]
    for table in reg.tables:
        trows = [r for r in rows if r.published.table == table.id]
        if not trows:
            continue
        origin = {"report": "", "paper": " — numbers of the original paper, for comparison",
                  "official_baseline": " — official baseline numbers"}[table.origin]
        parts += [f"### {table.id}: {table.caption}", "",
                  f"_Source: {table.pointer}{origin}._", "", _grid(trows), "",
                  "<details><summary>Cell by cell (Δ, tolerance, data, run)</summary>", "",
                  _long(trows), "", "</details>", ""]
    for section in recipe.report_sections(rows):
        parts += [f"## {section.title}", "", section.body, ""]
        for caption, rel in section.figures:
            parts += [f"![{caption}]({rel})", "", f"_{caption}_", ""]
    parts += ["## Deviations and contradictions", ""]
    devs = list(recipe.deviations())
    for r in rows:
        p = r.published
        if r.status == DEVIATES or (r.status == SETTING and r.matches is False):
            why = r.explanation or "not explained yet: investigate"
            what = "configured" if r.status == SETTING else "ours"
            devs.append(f"{p.table} / {p.row} / {p.column}: {what} {fmt(r.measurement.value)} vs "
                        f"published {p.display()} ({p.tolerance.describe()}): {why}")
        elif r.status == CHOSEN_READING:
            devs.append(f"{p.table} / {p.row} / {p.column}: {fmt(r.measurement.value)} equals the "
                        f"published {p.display()} because the reading was chosen to match "
                        f"(not a confirmation): {r.explanation or 'reading not recorded'}")
    parts += [f"- {d}" for d in devs] if devs else ["- None recorded."]
    parts.append("")
    text = "\n".join(parts)
    return atomic_write_text(out_dir / "REPORT.md", text)


def summary_rows(recipes: list) -> list[list[str]]:
    body = []
    for recipe in recipes:
        paper = recipe.PAPER
        rows, runs = compare_recipe(recipe)
        n = counts(rows)
        last = max((r["finished"] for r in runs), default="–")
        body.append([f"[{paper}]({paper}/REPORT.md)", load_registry(paper).report,
                     "yes" if getattr(recipe, "IMPLEMENTED", False) else "not yet",
                     str(len(rows)), *(str(n[s]) for s in STATUSES), last[:10]])
    return body


SUMMARY_HEADER = ["paper", "report", "implemented", "published numbers", *STATUSES, "last run"]


def render_summary(recipes: list, env: dict | None = None) -> Path:
    env = env or collect_env(include_gpu=False)
    body = summary_rows(recipes)
    text = "\n".join([
        "# audio-repro: summary of all reproductions", "",
        "_Generated file — regenerate with `repro report --all`._", "",
        f"- Generated: {env['date']} · git `{env['git']['short']}`"
        f"{' (uncommitted changes)' if env['git']['dirty'] else ''}", "",
        md_table(SUMMARY_HEADER, body), "", LEGEND, ""])
    _update_readme(body)
    return atomic_write_text(results_dir() / "SUMMARY.md", text)


def _update_readme(body: list[list[str]]) -> None:
    """Refresh the status table between markers in README.md (only when they exist)."""
    readme = REPO_ROOT / "README.md"
    if os.environ.get("REPRO_RESULTS_DIR", "").strip() or not readme.is_file():
        return  # a relocated results folder must not rewrite the repository's README
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- status:start -->", "<!-- status:end -->"
    if start not in text or end not in text:
        return
    linked = [[re.sub(r"\]\((\w+)/REPORT.md\)", r"](results/\1/REPORT.md)", row[0]), *row[1:]]
              for row in body]
    table = md_table(SUMMARY_HEADER, linked)
    new = re.sub(re.escape(start) + r".*?" + re.escape(end), f"{start}\n{table}\n{end}", text,
                 flags=re.S)
    if new != text:
        atomic_write_text(readme, new)
