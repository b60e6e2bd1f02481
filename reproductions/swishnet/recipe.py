"""SwishNet (report 004): the runner's contract (``reproductions/README.md``) and nothing else.
The work lives in pipeline.py (stages, figures), cells.py (tables from a run), analytic.py
(tables from built models and the config) and sections.py (REPORT.md prose, deviations)."""
from __future__ import annotations

import os
from pathlib import Path

from common.progress import stage
from common.results import Measurement
from common.runs import finish_run, measurements_from_runs
from reproductions.run_folder import open_run
from reproductions.swishnet import analytic, cells, sections
from reproductions.swishnet import config as config_mod

PAPER = "swishnet"
TITLE = "SwishNet on MUSAN, fine-tuned on GTZAN music/speech (report 004)"
DATASETS = ("musan", "gtzan")


def run(profile: str | None = None, seed: int = 2021, overrides=(), rerun: bool = False) -> Path:
    from data_prep import datasets
    from reproductions.swishnet import data, pipeline

    if profile is None:
        profile = "full" if os.environ.get("MUSAN_ROOT", "").strip() else "smoke"
    cfg = config_mod.load(profile, list(overrides))
    # the strategy exists before any other TensorFlow op (MultiWorkerMirroredStrategy requires
    # it) and a bad TF_CONFIG fails here, before feature extraction
    from common.distribute import make_strategy
    make_strategy(cfg.train.strategy)
    stage("datasets: validate the roots, or build the mini corpora")
    resolved = datasets.resolve(DATASETS, seed=cfg.mini_seed)
    _, musan_mini, musan_rep = resolved["musan"]
    _, _, gtzan_rep = resolved["gtzan"]
    run_ = open_run(PAPER, cfg, seed, "mini" if musan_mini else "real", resolved, rerun)
    if run_.finished:
        return run_.dir

    stage("features")
    # manifest paths are relative to the layout folder the validator resolved (report.root)
    musan, musan_skip = data.extract(musan_rep.manifest, musan_rep.root, cfg.features,
                                     cfg.clip_seconds, "musan")
    gtz, gtzan_skip = data.extract(gtzan_rep.manifest, gtzan_rep.root, cfg.features, cfg.clip_seconds,
                                   "gtzan", denoise=cfg.finetune.denoise,
                                   silence_hop=cfg.features.gtzan_silence_hop)

    stage("training and evaluation")
    musan_results, other_results, gtzan_results = {}, {}, {}
    other = "file" if cfg.split.mode == "clip" else "clip"
    for s in cfg.clip_seconds:
        musan_results[s] = pipeline.train_musan(run_, cfg, musan[s], s, cfg.split.mode)
        if cfg.split.also_report_other_mode:
            other_results[s] = pipeline.train_musan(run_, cfg, musan[s], s, other)
        gtzan_results[s] = pipeline.gtzan(run_, cfg, gtz[s], s)
    q1 = pipeline.question1(run_)
    frames = {s: int(musan[s].x.shape[1]) for s in cfg.clip_seconds}
    bench = pipeline.benchmark(run_, cfg, frames) if cfg.benchmark.enabled else {}
    pipeline.figures(run_, cfg, musan_results, other_results, gtzan_results, other)
    metrics = {"musan": {f"{s:g}s": r for s, r in musan_results.items()},
               f"musan_{other}_split": {f"{s:g}s": r for s, r in other_results.items()},
               "gtzan": {f"{s:g}s": r for s, r in gtzan_results.items()},
               "question1": q1, "benchmark": bench,
               "corpora": cells.corpus_statistics(resolved),
               "skipped_files": {"musan": musan_skip, "gtzan": gtzan_skip},
               "split_modes": {"default": cfg.split.mode, "other": other}}
    finish_run(run_, cells.run_cells(metrics), metrics)
    return run_.dir


def measurements() -> list[Measurement]:
    return measurements_from_runs(PAPER) + analytic.measurements()


def explanations() -> dict:
    return analytic.explanations()


def headline() -> list[tuple[str, str, str]]:
    """The report's headline numbers, for the table printed after `repro run`."""
    return [("T1", "2.0s", "Overall (%)"), ("T1", "2.0s", "SNS (%)"),
            ("T2", "2.0s", "Overall Accuracy (%)"), ("P-T1", "SwishNet-slim", "No. of Parameters"),
            ("X-q1-sanity", "keras impl [8], sample 0", "class 0")]


# registry tables no function fills, with the reason
NOT_MEASURED = {
    "X-versions": "the software versions of the report's own machine (Python 3.7.4, TF 1.15, "
                  "h5py 2.10.0): a description of its environment, not a result",
    "P-T5": "the paper's frame-wise segmentation of 500 long files: the report did not run it and "
            "its test set is not public",
    "P-X-method": "the paper's own settings, including distillation and segmentation, which the "
                  "report did not run; the report's settings are compared in X-preprocessing, "
                  "X-training and X-gtzan",
}


def trained_models(cfg) -> list[str]:
    """The MODEL_VARIANTS a config trains (the consistency test builds them)."""
    return [f"{cfg.model.variant}-{'slim' if cfg.model.width == 1 else 'wide'}"]


report_sections = sections.report_sections
deviations = sections.deviations
complexity_models = sections.complexity_models
