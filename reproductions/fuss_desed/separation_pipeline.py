"""Stages of the separation half (spec fuss_desed.md §1.1, §2.1, §4.1); metrics land under
``metrics["separation"]``. Interface used by :mod:`.pipeline`: :func:`run`, :func:`trained_models`.

Every stage stores its result (:func:`common.runs.stage_result`), so a resumed run skips it:

* ``sep_complexity`` — the full-size FUSS baseline built and counted (9,179,401 expected, spec
  §1.1) and the size of the model this profile trains.
* ``sep_data`` — examples per version, split and number of sources; for a mini corpus the
  RT60 it measured against its targets (MINI.json).
* per FUSS version (``ssdata_reverb`` then ``ssdata``):
  ``sep_<version>_identity`` — the identity floor (estimates = mixture / n) on validation and eval;
  ``sep_<version>_baseline`` — the baseline's settings trained on train, scored on validation
  and eval with the official metric (Table 1 "Baseline" rows);
  ``sep_<version>_grid`` — ``GridSearchCV`` over ``separation.grid`` with a ``PredefinedSplit``
  (fit on train, score on validation; the scorer is the official metric, refit on multi-source
  SI-SNRi), the whole ``cv_results_``, the refit best model scored on eval (Table 1 "Ours").
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


def _write_log(path: Path, history: list[dict]) -> None:
    import csv
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "loss", "seconds"])
        writer.writeheader()
        writer.writerows(history)


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
        full = M.count_params(M.build(cfg.model.variant))["trainable"]
        est = make_estimator(cfg, run_.seed, "count")
        trained = M.count_params(est.build_model())["trainable"]
        return {"variant": cfg.model.variant,
                "expected_trainable_params": M.MODEL_VARIANTS[cfg.model.variant]
                ["expected_trainable_params"],
                "full_size_trainable_params": full, "trained_model_trainable_params": trained}
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
                           "counts": info.get("counts"), "note": info.get("note")}
        out["files_skipped"] = int(len(report.bad))
        return out
    return stage_result(run_, "sep_data", compute)


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
        _write_log(run_.logs / f"sep_{version}_baseline.csv", est.history_)
        est.model_.save_weights(run_.checkpoints / f"sep_{version}_baseline.weights.h5")
        pred_va, pred_ev = est.predict(va.mixtures), est.predict(ev.mixtures)
        i = example_index(ev)
        aligned, pair = _per_pair_si_snr(ev.sources[i], pred_ev[i])
        np.savez_compressed(run_.stage_dir(f"sep_{version}_baseline") / "example.npz",
                            mixture=ev.mixtures[i], references=ev.sources[i], estimates=aligned)
        return {"params": baseline_params(cfg), "history": est.history_,
                "fit_seconds": est.fit_seconds_, "validation": _scores(va, pred_va),
                "eval": _scores(ev, pred_ev),
                "example": {"mixture": ev.ids[i], "si_snr": pair}}
    return stage_result(run_, f"sep_{version}_baseline", compute)


def grid_stage(run_: Run, cfg: SeparationConfig, root: Path, version: str, report) -> dict:
    """GridSearchCV (PredefinedSplit: train → validation), refit on the best point."""
    def compute():
        from sklearn.model_selection import GridSearchCV, PredefinedSplit

        from reproductions.fuss_desed.separation_data import load_split
        from reproductions.fuss_desed.separation_estimator import REFIT_SCORE, fuss_scores
        tr, va, ev = (load_split(root, version, s, report.manifest)
                      for s in ("train", "validation", "eval"))
        X = np.concatenate([tr.mixtures, va.mixtures])
        y = np.concatenate([tr.sources, va.sources])
        fold = np.r_[np.full(len(tr), -1), np.zeros(len(va), dtype=int)]  # -1: train only
        search = GridSearchCV(make_estimator(cfg, run_.seed, f"{version} grid"),
                              cfg.grid.param_grid(), scoring=fuss_scores, refit=REFIT_SCORE
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
            rows.append({"params": {n: (bool(p) if isinstance(p, (bool, np.bool_)) else
                                        float(p) if isinstance(p, float) else int(p))
                                    for n, p in params.items()},
                         **{f"mean_test_{s}": num(cv[f"mean_test_{s}"][k])
                            for s in ("multi_source_si_snri", "single_source_si_snr")},
                         "rank": int(cv[f"rank_test_{REFIT_SCORE}"][k]),
                         "mean_fit_time": float(cv["mean_fit_time"][k]),
                         "mean_score_time": float(cv["mean_score_time"][k])})
        best = int(np.argmin([r["rank"] for r in rows]))
        out = {"n_points": len(rows), "cv_results": rows, "best_index": best,
               "best_params": rows[best]["params"], "search_seconds": seconds,
               "refit_on": "train+validation" if cfg.grid.refit else None,
               "n_train": len(tr), "n_validation": len(va)}
        if cfg.grid.refit:
            est = search.best_estimator_
            _write_log(run_.logs / f"sep_{version}_grid_refit.csv", est.history_)
            est.model_.save_weights(run_.checkpoints / f"sep_{version}_grid_refit.weights.h5")
            pred_ev = est.predict(ev.mixtures)
            i = example_index(ev)
            aligned, pair = _per_pair_si_snr(ev.sources[i], pred_ev[i])
            np.savez_compressed(run_.stage_dir(f"sep_{version}_grid") / "example.npz",
                                estimates=aligned)
            out.update({"history": est.history_, "refit_seconds": float(search.refit_time_),
                        "eval": _scores(ev, pred_ev),
                        "validation_seen_in_refit": _scores(va, est.predict(va.mixtures)),
                        "example": {"mixture": ev.ids[i], "si_snr": pair}})
        return out
    return stage_result(run_, f"sep_{version}_grid", compute)


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
        base_dir = run_.stage_dir(f"sep_{v}_baseline") / "example.npz"
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
        metrics["versions"][v] = {
            "identity": identity_stage(run_, cfg, root, v, report),
            "baseline": baseline_stage(run_, cfg, root, v, report),
            "grid": grid_stage(run_, cfg, root, v, report)}
    if cfg.timing.enabled:
        stage("separation: real-time factor of the full-size model")
        metrics["timing"] = timing_stage(run_, cfg)
    figures(run_, cfg, metrics, root)
    return metrics


def trained_models(cfg: SeparationConfig) -> list[str]:
    """The MODEL_VARIANTS (:mod:`.separation_models`) this config trains."""
    return [cfg.model.variant] if cfg.enabled else []
