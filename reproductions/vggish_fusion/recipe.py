"""CNN + VGGish fusion (report 002): the runner's contract (``reproductions/README.md``) and
nothing else. The work lives in pipeline.py (stages, figures), cells.py (tables from a run),
analytic.py (tables from built models and the config) and sections.py (REPORT.md prose)."""
from __future__ import annotations

import os
from pathlib import Path

from common.progress import stage
from common.results import Measurement
from common.runs import finish_run, measurements_from_runs, stage_result
from reproductions.run_folder import open_run
from reproductions.vggish_fusion import analytic, cells, sections
from reproductions.vggish_fusion import config as config_mod

PAPER = "vggish_fusion"
TITLE = "CNN + VGGish fusion on SONYC-UST (DCASE2019 Task 5, report 002)"
DATASETS = ("sonyc_ust",)


def run(profile: str | None = None, seed: int = 2021, overrides=(), rerun: bool = False) -> Path:
    from data_prep import datasets
    from data_prep import sonyc_ust as ust
    from reproductions.vggish_fusion import data, pipeline, splits

    if profile is None:
        profile = "full" if os.environ.get(ust.ENV_VAR, "").strip() else "smoke"
    cfg = config_mod.load(profile, list(overrides))
    stage("datasets: validate the root, or build the mini corpus")
    resolved = datasets.resolve(DATASETS, seed=cfg.mini_seed)
    _, is_mini, report = resolved["sonyc_ust"]
    run_ = open_run(PAPER, cfg, seed, "mini" if is_mini else "real", resolved, rerun)
    if run_.finished:
        return run_.dir

    stage("features: log-mel 128 x 862 and VGGish input 10 x 96 x 64 (HDF5 cache)")
    clips = data.extract(report.manifest, Path(report.root), cfg.features)
    stage("VGGish embeddings")
    raw, weights, throughput = data.vggish_embeddings(clips, cfg.embedding)
    labels = ust.file_labels(report, cfg.labels.mode)
    base_labels = ust.file_labels(report, "official_baseline")
    train_mask = labels.set_index("path").loc[clips.paths, "split"].to_numpy() == "train"
    emb, pca_official = data.postprocessed(raw, train_mask, cfg.embedding)
    fd = data.dataset(clips, labels, base_labels, emb, raw)
    parts = splits.official(fd.split)
    annotations = ust.read_annotations(Path(report.root) / ust.ANNOTATIONS)
    emb_info = stage_result(run_, "embeddings", lambda: {
        "weights": weights.source, "official_weights": weights.official,
        "official_pca": pca_official, "throughput": throughput,
        "n_train": int(len(parts["train"])), "n_validate": int(len(parts["validate"])),
        "logmel_shape": list(fd.logmel.shape[1:3]), "embedding_shape": list(fd.embeddings.shape[1:]),
        "shared_sensors": splits.shared_sensors(report.manifest)})

    stage("constant predictor at the training prevalence (the floor)")
    const = pipeline.constant(run_, fd, annotations, parts)
    stage("CNN+VGGish: the report's training loop")
    fus = pipeline.fusion(run_, cfg, fd, annotations, parts)
    fine, hier = {}, None
    if cfg.hierarchical.enabled:
        for c in cfg.hierarchical.fine_models:
            stage(f"hierarchical: fine model M_F{c}")
            fine[c] = pipeline.fine_model(run_, cfg, fd, parts, c)
        stage("hierarchical: inference rule")
        hier = pipeline.hierarchical(run_, cfg, fd, annotations, parts, fus, fine)
    base = {}
    if cfg.baseline.enabled:
        for mode in ("fine", "coarse"):
            stage(f"official baseline, {mode}-level")
            base[mode] = pipeline.baseline(run_, cfg, fd, annotations, parts, mode)
    bench = {}
    if cfg.benchmark.enabled:
        stage("benchmark: full-size bilinear head, one training step")
        bench = pipeline.benchmark(run_, cfg)
    stage("figures")
    pipeline.figures(run_, fus, hier, fine)
    metrics = {"embeddings": emb_info, "constant": const,
               "fusion": {k: v for k, v in fus.items() if k != "systems"},
               "systems": {s: {k: v for k, v in r.items() if k not in ("probs",)}
                           for s, r in fus["systems"].items()},
               "hierarchical": hier, "baseline": base, "benchmark": bench,
               "fine_models": {str(c): {k: v for k, v in r.items() if k != "probs"}
                               for c, r in fine.items()},
               "corpus": {"is_mini": bool(is_mini), "files": int(len(fd.names)),
                          "skipped": clips.skipped},
               "profile": cfg.profile}
    finish_run(run_, cells.run_cells(metrics), metrics)
    return run_.dir


def measurements() -> list[Measurement]:
    return measurements_from_runs(PAPER) + analytic.measurements()


def explanations() -> dict:
    return {**analytic.explanations(), **cells.EXPLANATIONS}


def headline() -> list[tuple[str, str, str]]:
    """The report's headline numbers, for the table printed after `repro run`."""
    return [("T3", "CNN+VGGish1", "Coarse Micro AUPRC"), ("T3", "CNN+VGGish1", "Fine Micro AUPRC"),
            ("T3", "Hierarchical", "Fine Micro AUPRC"),
            ("T4", "Fine-level", "Coarse Micro AUPRC")]


# registry tables no function fills, with the reason
NOT_MEASURED: dict[str, str] = {}


def trained_models(cfg) -> list[str]:
    """The MODEL_VARIANTS a config trains, at full size (the consistency test builds them)."""
    fc1 = cfg.model.fc1
    names = [f"fusion_{fc1}_{cfg.labels.outputs}" if fc1 == "bilinear"
             else "fusion_concat_all"]
    if cfg.hierarchical.enabled:
        names += [f"hierarchical_fine_{c}" for c in cfg.hierarchical.fine_models]
    if cfg.baseline.enabled:
        names += ["baseline_fine", "baseline_coarse"]
    return names


report_sections = sections.report_sections
deviations = sections.deviations
complexity_models = sections.complexity_models
