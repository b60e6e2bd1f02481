"""Stages of the separation half (spec fuss_desed.md §1.1, §2.1, §4.1); metrics land under
``metrics["separation"]``. Interface used by :mod:`.pipeline`: :func:`run`, :func:`trained_models`.

Every stage stores its result (:func:`common.runs.stage_result`), so a resumed run skips it:

* ``sep_complexity`` — the full-size FUSS baseline built and counted (9,179,401 expected, spec
  §1.1) and the size of the model this profile trains.
* ``sep_data`` — examples per version, split and number of sources; for a mini corpus the
  RT60 it measured against its targets (MINI.json).
* per FUSS version (``ssdata_reverb`` then ``ssdata``):
  ``sep_<version>_grid`` — ``GridSearchCV`` over ``separation.grid`` with a ``PredefinedSplit``
  (fit on train, score on validation; the scorer is the official metric, refit on multi-source
  SI-SNRi), the whole ``cv_results_``, the refit best model scored on eval (Table 1 "Ours").
  The scorer also records every point's eval scores (never used to select). The baseline's
  settings are a grid point, so Table 1's "Baseline" rows are that point's model (trained on
  train, as GridSearchCV fitted it); a grid without that point trains it in
  ``sep_<version>_baseline``;
  ``sep_<version>_identity`` — the identity floor (estimates = mixture / n), validation and eval.
* ``sep_timing`` — real-time factor of the full-size model on 10 s mixtures, batched, on this CPU.

Why the "Ours, Val" cells come from ``cv_results_`` and not from the refit model: with a
predefined split GridSearchCV refits the best parameters on train ∪ validation (its documented
behaviour), so the refit model has seen the validation mixtures; the best point's validation
score in ``cv_results_`` comes from a model trained on train only, as the baseline's.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.progress import stage
from common.runs import Run, stage_result
from common.training import write_log
from data_prep.fuss import SPLITS
from reproductions.fuss_desed.separation_config import (
    VERSION_LABEL,
    SeparationConfig,
    baseline_params,
)

SAMPLE_RATE = 16000


# --------------------------------------------------------------------------------- helpers

def estimator_kwargs(cfg: SeparationConfig, seed: int) -> dict:
    """The estimator settings every grid point shares (model widths, training length)."""
    crop = cfg.train.crop_seconds
    return {"bottleneck": cfg.model.bottleneck, "dilations": tuple(cfg.model.dilations),
            "steps": cfg.train.steps, "batch_size": cfg.train.batch_size,
            "decay_steps": cfg.train.decay_steps, "decay_rate": cfg.train.decay_rate,
            "crop_samples": None if crop is None else int(round(crop * SAMPLE_RATE)),
            "log_every": cfg.train.log_every, "predict_batch_size": cfg.eval_batch_size,
            "random_state": seed}


def make_estimator(cfg: SeparationConfig, seed: int, desc: str, **params):
    from reproductions.fuss_desed.separation_estimator import TdcnppSeparator
    return TdcnppSeparator(**{**estimator_kwargs(cfg, seed), **baseline_params(cfg), **params},
                           desc=desc)


def _scores(split, estimates) -> dict:
    """Official scores overall and by number of listed sources."""
    from reproductions.fuss_desed.separation_estimator import official_scores
    out = official_scores(split.sources, estimates)
    out["by_listed_sources"] = {
        str(n): official_scores(split.sources[split.n_sources == n],
                                estimates[split.n_sources == n])
        for n in sorted({int(k) for k in split.n_sources})}
    return out


def write_estimates(folder: Path, root: Path, split, estimates: np.ndarray) -> Path:
    """The estimates of ``split`` as the baseline's inference writes them (16 kHz float WAV,
    ``<mixture without .wav>_sources/estimate{j}.wav`` under ``folder``) plus the lines of the
    official list for exactly these mixtures (``<split>_example_list.txt``), so that
    ``repro evaluate fuss --list … --root <version folder> --estimates folder`` scores them.
    Returns the list written."""
    from common.audio_io import write_audio
    from common.evaluation.fuss import estimate_paths
    from common.fileio import atomic_write_text
    from data_prep import fuss as fuss_data

    vroot = Path(root) / split.version
    wanted = set(split.ids)
    lines = [line for line in
             fuss_data.list_path(vroot, split.split).read_text(encoding="utf-8").splitlines()
             if line.split("\t")[0] in wanted]
    for mixture, est in zip(split.ids, estimates):
        for path, audio in zip(estimate_paths(folder, mixture), est):
            write_audio(path, audio.astype(np.float32), SAMPLE_RATE, "FLOAT")
    out = Path(folder) / f"{split.split}_example_list.txt"
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def cross_check_cli(folder: Path, root: Path, split, in_memory: dict) -> dict:
    """``repro evaluate fuss`` (common.evaluation.fuss) on the written estimates, beside the
    in-memory scores of the same estimates: the two must agree (WAV float32 round trip)."""
    from common.evaluation.fuss import evaluate
    listed = Path(folder) / f"{split.split}_example_list.txt"
    cli = evaluate(str(listed), str(Path(root) / split.version), str(folder))
    keys = ("multi_source_si_snri", "single_source_si_snr")
    diff = {k: (None if cli[k] is None or in_memory[k] is None else abs(cli[k] - in_memory[k]))
            for k in keys}
    return {"repro_evaluate_fuss": cli, "abs_difference_db": diff}


def _head(split, n: int):
    """The first ``n`` examples of a split (a learning check on mixtures the model saw)."""
    from dataclasses import replace
    return replace(split, mixtures=split.mixtures[:n], sources=split.sources[:n],
                   n_sources=split.n_sources[:n], ids=split.ids[:n])


def example_index(split) -> int:
    """The eval example shown in the spectrogram figure: the first with the most sources."""
    return int(np.argmax(split.n_sources))


def _per_pair_si_snr(references: np.ndarray, estimates: np.ndarray) -> tuple[np.ndarray, list]:
    """Estimates aligned to the references by the official permutation, and each pair's
    SI-SNR (None for an all-zero reference)."""
    from common.metrics.fuss import example_scores
    s = example_scores(references, estimates)
    aligned = np.asarray(estimates)[list(s.permutation)]
    return aligned, [float(v) if a else None for v, a in zip(s.si_snr_separated,
                                                             s.active_references)]


# --------------------------------------------------------------------------------- stages

def complexity_stage(run_: Run, cfg: SeparationConfig) -> dict:
    def compute():
        from reproductions.fuss_desed import separation_models as M
        from reproductions.fuss_desed.separation_layers import HOP_SECONDS
        full_model = M.build(cfg.model.variant)
        trained_model = make_estimator(cfg, run_.seed, "count").build_model()
        return {"variant": cfg.model.variant,
                "expected_trainable_params": M.MODEL_VARIANTS[cfg.model.variant]
                ["expected_trainable_params"],
                "full_size_trainable_params": M.count_params(full_model)["trainable"],
                "trained_model_trainable_params": M.count_params(trained_model)["trainable"],
                "full_size_receptive_field_frames": M.receptive_field_frames(full_model),
                "trained_model_receptive_field_frames": M.receptive_field_frames(trained_model),
                "frame_step_seconds": HOP_SECONDS}
    return stage_result(run_, "sep_complexity", compute)


def data_stage(run_: Run, cfg: SeparationConfig, root: Path, mini: bool, report) -> dict:
    def compute():
        from reproductions.fuss_desed.separation_data import load_split
        out: dict = {"root": str(root), "is_mini": mini, "versions": {}}
        for v in cfg.versions:
            out["versions"][v] = {}
            for split in ("train", "validation", "eval"):
                s = load_split(root, v, split, report.manifest)
                out["versions"][v][split] = {
                    "examples": len(s), "seconds": s.mixtures.shape[1] / SAMPLE_RATE,
                    "by_listed_sources": {str(n): int((s.n_sources == n).sum())
                                          for n in sorted({int(k) for k in s.n_sources})}}
        if mini:
            from data_prep.mini import read_mini
            info = read_mini(root)
            out["mini"] = {"rt60_summary": info.get("rt60_summary"),
                           "counts": info.get("counts"), "note": info.get("note"),
                           "foreground_pools": _foreground_pools(info)}
        out["files_skipped"] = int(len(report.bad))
        return out
    return stage_result(run_, "sep_data", compute)


def _foreground_pools(info: dict) -> dict:
    """Per split and foreground pool of the mini corpus: distinct recordings on offer and
    events placed (MINI.json; empty for a version-1 corpus, which had one pool)."""
    out: dict = {}
    per_split = info.get("recordings_per_split") or {}
    for split in [s for s in SPLITS if s in per_split]:
        for pool, ids in per_split[split].items():
            if pool != "background":
                out.setdefault(split, {})[pool] = {"recordings": len(ids), "events": 0}
    for ex in info.get("examples", []):
        for src in ex["sources"][1:]:
            if src.get("pool") in out.get(ex["split"], {}):
                out[ex["split"]][src["pool"]]["events"] += 1
    return out


def identity_stage(run_: Run, cfg: SeparationConfig, root: Path, version: str, report) -> dict:
    def compute():
        from reproductions.fuss_desed.separation_data import load_split
        from reproductions.fuss_desed.separation_estimator import identity_estimates
        out = {}
        for split in ("validation", "eval"):
            s = load_split(root, version, split, report.manifest)
            out[split] = _scores(s, identity_estimates(s.mixtures, s.n_sources))
        return out
    return stage_result(run_, f"sep_{version}_identity", compute)


def baseline_stage(run_: Run, cfg: SeparationConfig, root: Path, version: str, report) -> dict:
    """The baseline's settings trained on train, scored on validation and eval."""
    def compute():
        from reproductions.fuss_desed.separation_data import load_split
        tr, va, ev = (load_split(root, version, s, report.manifest)
                      for s in ("train", "validation", "eval"))
        est = make_estimator(cfg, run_.seed, f"{version} baseline")
        est.fit(tr.mixtures, tr.sources)
        write_log(run_.logs / f"sep_{version}_baseline.csv", est.history_)
        est.model_.save_weights(run_.checkpoints / f"sep_{version}_baseline.weights.h5")
        pred_va, pred_ev = est.predict(va.mixtures), est.predict(ev.mixtures)
        i = example_index(ev)
        aligned, pair = _per_pair_si_snr(ev.sources[i], pred_ev[i])
        np.savez_compressed(run_.stage_dir(f"sep_{version}_grid") / "baseline_example.npz",
                            mixture=ev.mixtures[i], references=ev.sources[i], estimates=aligned)
        return {"params": baseline_params(cfg), "history": est.history_, "source": "own training",
                "fit_seconds": est.fit_seconds_, "validation": _scores(va, pred_va),
                "eval": _scores(ev, pred_ev),
                "example": {"mixture": ev.ids[i], "si_snr": pair}}
    return stage_result(run_, f"sep_{version}_baseline", compute)


class RecordingScorer:
    """The GridSearchCV scorer: the official validation scores that rank the grid points
    (:func:`.separation_estimator.fuss_scores`), and, recorded beside them but never used for
    selection, each point's full validation and eval scores, its training history and — for
    the baseline's point — the example estimates. So the baseline, when it is a grid point,
    needs no training of its own: its model is the one GridSearchCV fitted on train."""

    def __init__(self, validation, evaluation, baseline: dict, example_path: Path):
        self.validation, self.evaluation = validation, evaluation
        self.baseline, self.example_path = baseline, example_path
        self.records: list[dict] = []

    def __call__(self, estimator, X, y) -> dict[str, float]:
        from reproductions.fuss_desed.separation_estimator import SCORE_KEYS
        if len(X) != len(self.validation):
            raise ValueError(f"scorer: {len(X)} mixtures scored, the validation split has "
                             f"{len(self.validation)}")
        va, ev = self.validation, self.evaluation
        pred_va, pred_ev = estimator.predict(X), estimator.predict(ev.mixtures)
        params = {k: v for k, v in estimator.get_params().items() if k in self.baseline}
        record = {"params": params, "validation": _scores(va, pred_va),
                  "eval": _scores(ev, pred_ev), "history": estimator.history_,
                  "fit_seconds": estimator.fit_seconds_}
        if params == self.baseline and not self.example_path.is_file():
            i = example_index(ev)
            aligned, pair = _per_pair_si_snr(ev.sources[i], pred_ev[i])
            np.savez_compressed(self.example_path, mixture=ev.mixtures[i],
                                references=ev.sources[i], estimates=aligned)
            record["example"] = {"mixture": ev.ids[i], "si_snr": pair}
        self.records.append(record)
        return {k: (float("nan") if record["validation"][k] is None else record["validation"][k])
                for k in SCORE_KEYS}


def _plain(params: dict) -> dict:
    return {n: (bool(p) if isinstance(p, (bool, np.bool_)) else
                float(p) if isinstance(p, float) else int(p)) for n, p in params.items()}


def grid_stage(run_: Run, cfg: SeparationConfig, root: Path, version: str, report) -> dict:
    """GridSearchCV (PredefinedSplit: train → validation), refit on the best point."""
    def compute():
        from sklearn.model_selection import GridSearchCV, PredefinedSplit

        from reproductions.fuss_desed.separation_data import load_split
        from reproductions.fuss_desed.separation_estimator import REFIT_SCORE
        tr, va, ev = (load_split(root, version, s, report.manifest)
                      for s in ("train", "validation", "eval"))
        X = np.concatenate([tr.mixtures, va.mixtures])
        y = np.concatenate([tr.sources, va.sources])
        fold = np.r_[np.full(len(tr), -1), np.zeros(len(va), dtype=int)]  # -1: train only
        example = run_.stage_dir(f"sep_{version}_grid") / "baseline_example.npz"
        example.unlink(missing_ok=True)
        scorer = RecordingScorer(va, ev, _plain(baseline_params(cfg)), example)
        search = GridSearchCV(make_estimator(cfg, run_.seed, f"{version} grid"),
                              cfg.grid.param_grid(), scoring=scorer, refit=REFIT_SCORE
                              if cfg.grid.refit else False, cv=PredefinedSplit(fold),
                              n_jobs=1, error_score="raise", return_train_score=False)
        t0 = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - t0
        cv = search.cv_results_

        def num(v):
            v = float(v)
            return None if np.isnan(v) else v

        rows = []
        for k, params in enumerate(cv["params"]):
            rec = scorer.records[k]
            if _plain(params) != {n: rec["params"][n] for n in params}:
                raise RuntimeError(f"grid point {k}: scorer saw {rec['params']}, "
                                   f"cv_results_ says {params}")
            rows.append({"params": _plain(params),
                         **{f"mean_test_{s}": num(cv[f"mean_test_{s}"][k])
                            for s in ("multi_source_si_snri", "single_source_si_snr")},
                         "rank": int(cv[f"rank_test_{REFIT_SCORE}"][k]),
                         "mean_fit_time": float(cv["mean_fit_time"][k]),
                         "mean_score_time": float(cv["mean_score_time"][k]),
                         "eval_multi_source_si_snri": rec["eval"]["multi_source_si_snri"],
                         "eval_single_source_si_snr": rec["eval"]["single_source_si_snr"]})
        best = int(np.argmin([r["rank"] for r in rows]))
        out = {"n_points": len(rows), "cv_results": rows, "best_index": best,
               "best_params": rows[best]["params"], "search_seconds": seconds,
               "refit_on": "train+validation" if cfg.grid.refit else None,
               "n_train": len(tr), "n_validation": len(va),
               "points": scorer.records[:len(rows)]}
        if cfg.grid.refit:
            est = search.best_estimator_
            write_log(run_.logs / f"sep_{version}_grid_refit.csv", est.history_)
            est.model_.save_weights(run_.checkpoints / f"sep_{version}_grid_refit.weights.h5")
            pred_ev = est.predict(ev.mixtures)
            i = example_index(ev)
            aligned, pair = _per_pair_si_snr(ev.sources[i], pred_ev[i])
            np.savez_compressed(run_.stage_dir(f"sep_{version}_grid") / "example.npz",
                                estimates=aligned)
            scores_ev = _scores(ev, pred_ev)
            # learning check: the same model on as many of its own training mixtures
            seen = _head(tr, len(ev))
            folder = run_.dir / "estimates" / version
            write_estimates(folder, root, ev, pred_ev)
            out.update({"history": est.history_, "refit_seconds": float(search.refit_time_),
                        "eval": scores_ev,
                        "eval_cross_check": {"estimates_folder": f"estimates/{version}",
                                             **cross_check_cli(folder, root, ev, scores_ev)},
                        "validation_seen_in_refit": _scores(va, est.predict(va.mixtures)),
                        "train_seen_in_refit": {"examples": len(seen),
                                                **_scores(seen, est.predict(seen.mixtures))},
                        "example": {"mixture": ev.ids[i], "si_snr": pair}})
        return out
    return stage_result(run_, f"sep_{version}_grid", compute)


def baseline_from_grid(cfg: SeparationConfig, grid: dict) -> dict | None:
    """The baseline's result when its settings are a grid point (the model GridSearchCV fitted
    on train for that point, scored on validation and eval); None when they are not."""
    want = _plain(baseline_params(cfg))
    for k, rec in enumerate(grid.get("points", [])):
        if rec["params"] == want:
            return {**rec, "source": f"grid point #{k}"}
    return None


def timing_stage(run_: Run, cfg: SeparationConfig) -> dict:
    """Seconds of audio separated per second by the full-size model (batched 10 s mixtures)."""
    def compute():
        from reproductions.fuss_desed import separation_models as M
        t = cfg.timing
        model = M.build(cfg.model.variant, n_samples=None)
        x = np.random.default_rng(run_.seed).standard_normal(
            (t.batch_size, int(t.seconds * SAMPLE_RATE))).astype(np.float32) * 0.1
        model.predict_on_batch(x)  # trace and warm up
        times = []
        for _ in range(t.repeats):
            t0 = time.perf_counter()
            model.predict_on_batch(x)
            times.append(time.perf_counter() - t0)
        best = min(times)
        return {"variant": cfg.model.variant, "batch_size": t.batch_size,
                "mixture_seconds": t.seconds, "seconds_per_batch": times,
                "real_time_factor": t.batch_size * t.seconds / best}
    return stage_result(run_, "sep_timing", compute)


# --------------------------------------------------------------------------------- figures

def figures(run_: Run, cfg: SeparationConfig, metrics: dict, root: Path) -> None:
    from common import plots
    from reproductions.fuss_desed import separation_figures as F

    versions = metrics["versions"]
    grids = {VERSION_LABEL[v]: r["grid"] for v, r in versions.items() if "grid" in r}
    if grids:
        F.grid_scores(grids, cfg.grid.searched(), run_.figures / "sep_grid_scores.png",
                      "GridSearchCV: validation score of every grid point")
    groups = ["2", "3", "4"]
    series = {}
    for v, r in versions.items():
        for system, res in (("baseline", r.get("baseline")), ("ours", r.get("grid"))):
            if res and "eval" in res:
                by = res["eval"]["by_listed_sources"]
                series[f"{VERSION_LABEL[v]} {system}"] = [
                    by.get(g, {}).get("multi_source_si_snri") for g in groups]
    if series:
        plots.grouped_bars([f"{g} sources" for g in groups], series,
                           run_.figures / "sep_si_snri_by_sources.png",
                           "Eval SI-SNRi by number of sources", "SI-SNRi (dB)")
    for v, r in versions.items():
        base_dir = run_.stage_dir(f"sep_{v}_grid") / "baseline_example.npz"
        grid_dir = run_.stage_dir(f"sep_{v}_grid") / "example.npz"
        if not base_dir.is_file():
            continue
        b = np.load(base_dir)
        estimates = {"baseline": b["estimates"]}
        scores = {"baseline": r["baseline"]["example"]["si_snr"]}
        if grid_dir.is_file():
            estimates["ours (grid best)"] = np.load(grid_dir)["estimates"]
            scores["ours (grid best)"] = r["grid"]["example"]["si_snr"]
        F.separation_example(b["mixture"], b["references"], estimates,
                             run_.figures / f"sep_example_{v}.png",
                             f"{VERSION_LABEL[v]} eval {r['baseline']['example']['mixture']}",
                             scores=scores)


# --------------------------------------------------------------------------------- the half

def run(run_: Run, cfg: SeparationConfig, root: Path, mini: bool, report) -> dict:
    """Every stage of this half (each resumable) and its figures; returns its metrics."""
    root = Path(root)
    stage("separation: model size and data")
    metrics: dict = {"is_mini": bool(mini), "complexity": complexity_stage(run_, cfg),
                     "data": data_stage(run_, cfg, root, mini, report), "versions": {}}
    for v in cfg.versions:
        stage(f"separation: {v} (identity floor, baseline, grid of {cfg.grid.size})")
        grid = grid_stage(run_, cfg, root, v, report)
        # the baseline's settings are normally a grid point: its CV model is the baseline
        baseline = baseline_from_grid(cfg, grid) or baseline_stage(run_, cfg, root, v, report)
        metrics["versions"][v] = {"identity": identity_stage(run_, cfg, root, v, report),
                                  "baseline": baseline, "grid": grid}
    if cfg.timing.enabled:
        stage("separation: real-time factor of the full-size model")
        metrics["timing"] = timing_stage(run_, cfg)
    figures(run_, cfg, metrics, root)
    return metrics


def trained_models(cfg: SeparationConfig) -> list[str]:
    """The MODEL_VARIANTS (:mod:`.separation_models`) this config trains."""
    return [cfg.model.variant] if cfg.enabled else []
