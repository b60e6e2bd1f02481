"""``repro``: the suite's command line. Its JSON output is a stable contract for scripts and CI.

    repro list | env | published <paper> | complexity <paper> | prepare <dataset> |
          run <paper> | report <paper>|--all | check <paper>|--all
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
    from common import recipes
    from data_prep import datasets
    rows = []
    for paper in PAPERS:
        rec = recipes.load(paper)
        rows.append({"paper": paper, "report": load_registry(paper).report,
                     "implemented": bool(getattr(rec, "IMPLEMENTED", False)),
                     "make_target": recipes.MAKE_TARGETS[paper],
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
    from common import recipes
    recipe = recipes.load(args.paper)
    run_dir = recipe.run(profile=args.profile, seed=args.seed, overrides=args.set or [],
                         rerun=args.rerun)
    from common.report import render_paper, render_summary
    render_paper(args.paper)
    render_summary()
    print(f"run folder: {run_dir}")
    print(f"report: {Path('results') / args.paper / 'REPORT.md'}")
    return 0


def _papers(args) -> list[str]:
    if args.all:
        return list(PAPERS)
    if not args.paper:
        raise ReproError("name a paper or pass --all")
    return [args.paper]


def cmd_report(args) -> int:
    from common.report import evaluate, render_paper, render_summary
    papers = _papers(args)
    written = [str(render_paper(p)) for p in papers]
    written.append(str(render_summary()))
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
    from common.report import evaluate
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
    from common import recipes
    from common.complexity import count_model
    models = recipes.load(args.paper).complexity_models()
    if not models:
        raise ReproError(f"{args.paper}: no models yet (reproduction not implemented)")
    costs = [count_model(build()) for build in models.values()]
    if args.json:
        out = []
        for name, c in zip(models, costs):
            d = c.to_dict()
            if not args.layers:
                d.pop("layers", None)
            out.append({"variant": name, **d})
        _print_json({"paper": args.paper, "models": out})
    else:
        for name, c in zip(models, costs):
            print(f"\n## {name}: {c.params:,} params ({c.trainable_params:,} trainable), "
                  f"{c.macs:,} MACs")
            if args.layers:
                print(c.to_markdown(per_layer=True))
    return 0


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
