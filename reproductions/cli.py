"""``repro``: the suite's command line. Its JSON output is a stable contract for scripts and CI.

    repro list | env | published <paper> | complexity <paper> | prepare <dataset> |
          run <paper> | report <paper>|--all | check <paper>|--all | evaluate <task> ...

It sits with the papers (``reproductions/``): it is the one layer that knows them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up notices (oneDNN, NodeDef attributes) are not errors of ours;
# real failures still surface as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common.errors import ReproError  # noqa: E402
from common.registry import PAPERS, load_registry  # noqa: E402


def _print_json(obj) -> None:
    from common.fileio import to_jsonable
    print(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))


def cmd_list(args) -> int:
    from data_prep import datasets
    from reproductions import runner
    rows = []
    for paper in PAPERS:
        rec = runner.load(paper)
        rows.append({"paper": paper, "report": load_registry(paper).report,
                     "implemented": bool(getattr(rec, "IMPLEMENTED", False)),
                     "make_target": runner.make_target(paper),
                     "datasets": list(getattr(rec, "DATASETS", ()))})
    if args.json:
        _print_json({"papers": rows, "datasets": sorted(datasets.DATASETS)})
    else:
        for r in rows:
            print(f"{r['paper']:<15} {'implemented' if r['implemented'] else 'not yet':<12} "
                  f"make {r['make_target']:<26} {r['report']}")
        print("datasets:", ", ".join(sorted(datasets.DATASETS)))
    return 0


def cmd_env(args) -> int:
    from common.provenance import collect_env
    _print_json(collect_env())
    return 0


def cmd_published(args) -> int:
    reg = load_registry(args.paper)
    rows = [{"table": r.table, "row": r.row, "column": r.column, "value": r.value, "text": r.text,
             "unit": r.unit, "tolerance": r.tolerance.describe(), "kind": r.kind,
             "origin": r.origin, "pointer": r.pointer, "note": r.note} for r in reg.rows]
    if args.json:
        _print_json({"paper": reg.paper, "report": reg.report, "rows": rows})
    else:
        for t in reg.tables:
            print(f"\n{t.id} [{t.origin}] {t.caption} ({t.pointer})")
            for r in reg.rows_of(t.id):
                print(f"  {r.row:<28} {r.column:<28} {r.display():>12} {r.unit}")
    return 0


def cmd_prepare(args) -> int:
    from data_prep import datasets
    mod = datasets.get(args.dataset)
    if args.mini:
        root = mod.write_mini(seed=args.seed)
        is_mini = True
    else:
        root, is_mini = mod.root(args.root, mini_if_unset=False)
    report = mod.validate(root, mini=is_mini)
    from common.paths import cache_dir
    # never write into the user's dataset folder: it may be read-only or shared
    out = Path(args.out) if args.out else cache_dir() / "manifests" / (
        f"{args.dataset}-mini" if is_mini else args.dataset)
    report.write(out)
    summary = report.to_dict()
    summary["manifest_dir"] = str(out)
    if args.json:
        _print_json(summary)
    else:
        print(report.summary())
        print(f"manifest, missing_files.csv and bad_files.csv written to {out}")
    return 0 if report.ok else 1


def cmd_run(args) -> int:
    from common.progress import stage
    from reproductions import runner
    recipe = runner.load(args.paper)
    run_dir = recipe.run(profile=args.profile, seed=args.seed, overrides=args.set or [],
                         rerun=args.rerun)
    stage("report")
    report, _ = runner.render([args.paper])
    _, rows, _ = runner.evaluate(args.paper)
    print(headline_table(recipe, rows))
    print(f"run folder: {run_dir}")
    print(f"report: {report}")
    return 0


def headline_table(recipe, rows) -> str:
    """The report's headline numbers, ours beside published with their status."""
    from common.markdown import md_table
    from common.results import fmt
    keys = list(recipe.headline()) if hasattr(recipe, "headline") else []
    by_key = {r.published.key: r for r in rows}
    body = []
    for key in keys:
        r = by_key[key]
        ours = r.measurement.value if r.measurement else None
        body.append([f"{key[0]} / {key[1]} / {key[2]}", fmt(ours), r.published.display(),
                     f"{r.status} {r.mark}"])
    return md_table(["headline number", "ours", "published", "status"], body)


def _papers(args) -> list[str]:
    if args.all:
        return list(PAPERS)
    if not args.paper:
        raise ReproError("name a paper or pass --all")
    return [args.paper]


def cmd_report(args) -> int:
    from reproductions.runner import evaluate, render
    papers = _papers(args)
    written = [str(p) for p in render(papers)]
    if args.json:
        rows = []
        for p in papers:
            _, res, _ = evaluate(p)
            rows += [r.to_json() for r in res]
        _print_json({"written": written, "rows": rows})
    else:
        print("\n".join(f"wrote {w}" for w in written))
    return 0


def cmd_check(args) -> int:
    from reproductions.runner import evaluate
    from common.results import counts
    bad = []
    summary = {}
    for p in _papers(args):
        _, rows, _ = evaluate(p)
        summary[p] = counts(rows)
        bad += [r.to_json() for r in rows if r.unexplained_deviation]
    if args.json:
        _print_json({"ok": not bad, "counts": summary, "unexplained_deviations": bad})
    else:
        for p, c in summary.items():
            print(f"{p:<15} " + " ".join(f"{k}={v}" for k, v in c.items()))
        for b in bad:
            print(f"DEVIATES {b['paper']} {b['table']} / {b['row']} / {b['column']}: ours "
                  f"{b['ours']} vs published {b['published']} ({b['tolerance']})")
        print("check: " + ("OK" if not bad else f"{len(bad)} unexplained deviation(s)"))
    return 1 if bad else 0


def cmd_complexity(args) -> int:
    from common.complexity import count_model
    from reproductions import runner
    models = runner.load(args.paper).complexity_models()
    if not models:
        raise ReproError(f"{args.paper}: no models yet (reproduction not implemented)")
    costs = {name: count_model(v.build()) for name, v in models.items()}
    if args.json:
        out = {}
        for name, c in costs.items():
            d = c.to_dict()
            if not args.layers:
                d.pop("layers", None)
            expected = models[name].expected_params
            out[name] = {**d, "expected_params": expected, "counted": models[name].counted,
                         "matches_expected": None if expected is None
                         else models[name].measured(c) == expected, "note": models[name].note}
        _print_json({"paper": args.paper, "models": out})
    else:
        for name, c in costs.items():
            expected = models[name].expected_params
            check = "" if expected is None else (
                f"; {models[name].counted} = spec" if models[name].measured(c) == expected
                else f"; spec {models[name].counted}: {expected:,}!")
            print(f"\n## {name}: {c.params:,} params ({c.trainable_params:,} trainable{check}), "
                  f"{c.macs:,} MACs — {models[name].note}")
            if args.layers:
                print(c.to_markdown(per_layer=True))
    return 0


def cmd_evaluate(args) -> int:
    task = args.evaluation_task
    result = task.evaluate(**{a.keyword: getattr(args, a.keyword) for a in task.arguments})
    if args.json:
        _print_json(result)
    else:
        print(task.describe(result))
    return 0


def _add_evaluate(sub) -> None:
    from common import evaluation
    p = sub.add_parser("evaluate", help="score your own predictions with a report's exact metric",
                       description="Score predictions in an official submission format with the "
                                   "official metric of a report (see README, `repro evaluate`).")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for name in evaluation.names():
        task = evaluation.get(name)
        t = tasks.add_parser(name, help=task.help, description=task.help)
        t.add_argument("--json", action="store_true", help="print the result as JSON")
        for a in task.arguments:
            t.add_argument(a.flag, dest=a.keyword, required=a.required, default=a.default,
                           help=a.help)
        t.set_defaults(fn=cmd_evaluate, evaluation_task=task)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="repro", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="papers, their status and datasets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)
    sub.add_parser("env", help="versions, git hash, hardware (JSON)").set_defaults(fn=cmd_env)
    p = sub.add_parser("published", help="the registry rows of one paper")
    p.add_argument("paper", choices=PAPERS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_published)
    p = sub.add_parser("prepare", help="validate a dataset root (or build the mini corpus)")
    p.add_argument("dataset")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--root", help="dataset root in the official layout (default: $<NAME>_ROOT)")
    g.add_argument("--mini", action="store_true", help="build/validate the mini corpus")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="where to write manifest.csv, missing_files.csv, bad_files.csv")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_prepare)
    p = sub.add_parser("run", help="train and evaluate one reproduction")
    p.add_argument("paper", choices=PAPERS)
    p.add_argument("--profile", choices=("smoke", "full"), default=None,
                   help="default: full when the paper's real dataset root is set, else smoke")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override")
    p.add_argument("--rerun", action="store_true",
                   help="run again into a new folder even if this exact run has finished")
    p.set_defaults(fn=cmd_run)
    for name, fn, hlp in (("report", cmd_report, "regenerate REPORT.md files and SUMMARY.md"),
                          ("check", cmd_check, "exit 1 on an unexplained deviation")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("paper", nargs="?", choices=PAPERS)
        p.add_argument("--all", action="store_true")
        p.add_argument("--json", action="store_true")
        p.set_defaults(fn=fn)
    p = sub.add_parser("complexity", help="parameters and MACs per model variant")
    p.add_argument("paper", choices=PAPERS)
    p.add_argument("--json", action="store_true")
    p.add_argument("--layers", action="store_true", help="per layer")
    p.set_defaults(fn=cmd_complexity)
    _add_evaluate(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ReproError as exc:
        print(f"repro: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
