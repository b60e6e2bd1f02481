"""Post-processing, official output files and the DCASE 2020 Task 4 metrics of one system on
one DESED subset (spec fuss_desed.md §2.2, §4.2).

- Frame probabilities (157 × 10 per clip) are median-filtered along time (7 frames, scipy's
  'reflect' border). A median filter commutes with thresholding (both are monotone), so
  "threshold, then filter" at any threshold — what the baseline does for its 0.5 operating
  point and for each of psds_eval's 50 thresholds — equals "filter the scores, then
  threshold". That lets one filtered score table serve the event F1 (threshold 0.5) and the
  PSDS sweeps.
- Event-based F1 (sed_eval, 200 ms / max(200 ms, 20 %) collars, macro over classes) and
  segment-based F1 (1 s): :mod:`common.metrics.desed`, as the baseline calls sed_eval.
- PSDS (DTC 0.5, GTC 0.5, CTTC 0.3, e_max 100/h) through ``sed_scores_eval`` in two ways,
  both recorded with their method:

  * ``exact``: every distinct score is an operating point (sed_scores_eval's own sweep);
  * ``psds_eval_50``: the baseline's psds_eval operating points 0.01, 0.03 … 0.99, emulated by
    flooring each score to the largest grid threshold not above it (0 below 0.01): a clip is
    active at grid threshold t after flooring exactly when it was before, so the sweep over
    the floored scores visits exactly psds_eval's 50 operating points (psds_eval itself does
    not run on pandas 3). This is the number compared with the report's PSDS.

  "PSDS macro F1" is psds_eval's ``compute_macro_f_score`` at threshold 0.5: the
  intersection-based (DTC/GTC) F1 per class, averaged — from sed_scores_eval's
  ``intersection_based.fscore``.
- Classes scored: those with at least one reference event in the evaluated subset (all 10 on
  the real validation set; on the mini corpus only the populated ones — a class with no
  reference event has no TPR and would make PSDS undefined).
- Output files in the official formats: a predictions tsv (``filename, onset, offset,
  event_label``; clips without detection have no row, as the baseline writes it) and a folder
  of sed_scores_eval score tables (one tsv per clip: ``onset, offset, <class>...``), the inputs
  of ``repro evaluate desed``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common.fileio import atomic_write_text
from common.metrics import desed as DM
from reproductions.fuss_desed import mean_teacher as MT
from reproductions.fuss_desed.sed_config import SedEvalConfig
from reproductions.fuss_desed.sed_data import LABELS, ClipSet


def median_window(cfg: SedEvalConfig) -> int:
    """Frames of the median filter: max(int(window_s × output frames per s), 1) (= 7)."""
    return max(int(cfg.median_window_s / MT.OUTPUT_FRAME_SECONDS), 1)


def filtered_scores(strong: np.ndarray, window: int) -> np.ndarray:
    """(n, T, C) probabilities median-filtered along time, per clip and class."""
    from scipy.ndimage import median_filter

    strong = np.asarray(strong, np.float64)
    if strong.ndim != 3:
        raise ValueError(f"filtered_scores expects (clips, frames, classes), got {strong.shape}")
    return np.stack([median_filter(s, size=(window, 1)) for s in strong]) if len(strong) else strong


def frame_edges(n_frames: int, duration: float) -> np.ndarray:
    """Frame boundaries in seconds (frame × 4·255/16000), the last one clipped to the clip's
    duration as the baseline clips event offsets."""
    edges = np.arange(n_frames + 1) * MT.OUTPUT_FRAME_SECONDS
    edges[-1] = min(edges[-1], max(duration, edges[-2] + 1e-6))
    return edges


def events_of(scores: np.ndarray, files: Sequence[str], threshold: float,
              durations: Sequence[float]) -> dict[str, list[dict]]:
    """Detected events per clip from already filtered scores (threshold, runs → seconds)."""
    out = {}
    for s, f, d in zip(scores, files, durations):
        out[f] = MT.probabilities_to_events(s, LABELS, f, threshold=threshold, median_window=1,
                                            max_seconds=float(d))
    return out


def reference_events(cs: ClipSet) -> dict[str, list[dict]]:
    return {f: [{"onset": on, "offset": off, "event_label": lab} for on, off, lab in evs]
            for f, evs in cs.events.items()}


def write_predictions(path: Path, events: dict[str, list[dict]]) -> Path:
    """The baseline's predictions tsv: filename, onset, offset, event_label."""
    lines = ["filename\tonset\toffset\tevent_label"]
    for f, evs in events.items():
        lines += [f"{f}\t{e['onset']:.3f}\t{e['offset']:.3f}\t{e['event_label']}" for e in evs]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_durations(path: Path, cs: ClipSet) -> Path:
    lines = ["filename\tduration"] + [f"{f}\t{d:.3f}" for f, d in zip(cs.files, cs.durations)]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_ground_truth(path: Path, cs: ClipSet) -> Path:
    lines = ["filename\tonset\toffset\tevent_label"]
    for f in cs.files:
        evs = cs.events[f]
        lines += ([f"{f}\t{on:.3f}\t{off:.3f}\t{lab}" for on, off, lab in evs]
                  or [f"{f}\t\t\t"])
    return atomic_write_text(path, "\n".join(lines) + "\n")


def score_tables(scores: np.ndarray, cs: ClipSet, classes: Sequence[str]) -> dict[str, Any]:
    """sed_scores_eval score DataFrames of ``classes`` keyed by audio id (file stem)."""
    cols = [LABELS.index(c) for c in classes]
    return {Path(f).stem: DM.score_dataframe(s[:, cols], frame_edges(len(s), d), classes)
            for s, f, d in zip(scores, cs.files, cs.durations)}


def write_score_folder(folder: Path, tables: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, df in tables.items():
        atomic_write_text(folder / f"{stem}.tsv", df.to_csv(sep="\t", index=False))
    return folder


def floor_to_grid(scores: np.ndarray, n_thresholds: int) -> np.ndarray:
    """Each score replaced by the largest of psds_eval's thresholds (linspace(0.01, 0.99, n))
    not above it, 0 below the first: thresholding the result at a grid threshold gives
    exactly what thresholding the original gives."""
    grid = np.linspace(0.01, 0.99, n_thresholds)
    idx = np.searchsorted(grid, np.asarray(scores, np.float64), side="right") - 1
    return np.where(idx >= 0, grid[np.clip(idx, 0, None)], 0.0)


def psds_macro_f1(tables: dict[str, Any], ground_truth: dict, cfg: SedEvalConfig) -> dict:
    """psds_eval ``compute_macro_f_score`` at the single threshold: intersection-based F1."""
    from sed_scores_eval.intersection_based import fscore

    with DM.writable_sed_scores_eval():
        f, p, r, _ = fscore(tables, ground_truth, cfg.threshold, dtc_threshold=cfg.dtc,
                            gtc_threshold=cfg.gtc)
    return {"macro": float(f["macro_average"]),
            "class": {k: float(v) for k, v in f.items() if k not in ("macro_average",
                                                                       "micro_average")}}


def evaluate(cs: ClipSet, strong: np.ndarray, cfg: SedEvalConfig, out_dir: Path | None = None,
             name: str = "system", psds: bool = True) -> dict:
    """Every official number of one system's frame probabilities ``strong`` (n, 157, 10) on
    the strong subset ``cs``; writes the output files under ``out_dir`` when given."""
    window = median_window(cfg)
    scores = filtered_scores(strong, window)
    est = events_of(scores, cs.files, cfg.threshold, cs.durations)
    ref = reference_events(cs)
    ev = DM.event_based_f1(ref, est, t_collar=cfg.t_collar_s,
                           percentage_of_length=cfg.percentage_of_length)
    seg = DM.segment_based_f1(ref, est, time_resolution=cfg.segment_s)
    out: dict[str, Any] = {
        "system": name, "n_clips": len(cs), "median_window_frames": window,
        "event": ev.to_dict(), "segment": seg.to_dict(),
        "event_macro_f1": ev.values["event_macro_f1"],
        "event_class_f1": {k.split("/", 1)[1]: v for k, v in ev.values.items()
                           if k.startswith("event_f1/")},
        "segment_macro_f1_1s": seg.values["segment_macro_f1"],
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_predictions(out_dir / f"{name}_predictions.tsv", est)
        # the reference and durations beside them: `repro evaluate desed` reads the folder
        write_ground_truth(out_dir / "ground_truth.tsv", cs)
        write_durations(out_dir / "durations.tsv", cs)
    if not psds:
        return out
    classes = [c for c in LABELS if any(lab == c for evs in cs.events.values()
                                         for _, _, lab in evs)]
    out["psds_classes"] = classes
    if not classes:
        return out
    gt = {Path(f).stem: [(on, off, lab) for on, off, lab in cs.events[f]] for f in cs.files}
    durations = {Path(f).stem: d for f, d in zip(cs.files, cs.durations)}
    bad = DM.ground_truth_overlaps(gt)
    if bad:
        raise ValueError(f"{cs.name}: same-class reference events overlap in {bad[:5]}")
    exact_tables = score_tables(scores, cs, classes)
    grid_tables = score_tables(floor_to_grid(scores, cfg.psds_thresholds), cs, classes)
    if out_dir is not None:
        write_score_folder(out_dir / f"{name}_scores", exact_tables)
    for method, tables in (("exact", exact_tables), ("psds_eval_50", grid_tables)):
        res = {}
        for key, (a_ct, a_st) in DM.PSDS_VARIANTS.items():
            r = DM.psds(tables, gt, durations, alpha_ct=a_ct, alpha_st=a_st,
                        dtc_threshold=cfg.dtc, gtc_threshold=cfg.gtc, cttc_threshold=cfg.cttc,
                        max_efpr=cfg.max_efpr_per_hour)
            d = r.to_dict()
            if key != "psds":
                d.pop("arrays", None)
            res[key] = d
        res["method"] = ("exact sweep over every score (sed_scores_eval)" if method == "exact"
                         else f"psds_eval's {cfg.psds_thresholds} operating points "
                              "0.01…0.99, emulated by flooring the scores to that grid, "
                              "swept by sed_scores_eval")
        out[f"psds_{method}"] = res
    out["psds_macro_f1"] = psds_macro_f1(exact_tables, gt, cfg)
    return out


def constant_predictions(cs: ClipSet, classes: Sequence[str]) -> np.ndarray:
    """The constant predictor: probability 1 for ``classes`` (those seen in training) at
    every frame of every clip, 0 for the rest."""
    p = np.zeros((len(cs), 157, len(LABELS)), np.float32)
    for c in classes:
        p[:, :, LABELS.index(c)] = 1.0
    return p
