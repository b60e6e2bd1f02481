"""Stages of the DESED SED half (spec fuss_desed.md §1.2, §2.2, §4.2); its metrics land under
``metrics["sed"]``. Interface used by :mod:`.pipeline`: :func:`run` and :func:`trained_models`.

Stages (each resumable through :func:`common.runs.stage_result`; training also resumes
mid-way, epoch by epoch, :mod:`.sed_training`):

- ``sed_data``: clip, event and class counts per subset, the synthetic 80/20 split, skipped
  files (the linear mels are cached across runs by :mod:`.sed_data`);
- ``sed_mean_teacher``: the baseline (student + EMA teacher, 6 weak + 12 unlabelled + 6
  synthetic per batch), model selection on the held-out synthetic clips, then the official
  evaluation of the selected student on the validation set (Table 2) and public eval;
- ``sed_weak_only``: the same network trained on the weak clips only, no consistency (the
  issue's floor that the mean teacher must clear);
- ``sed_constant``: a constant predictor (every class seen in training, whole clip);
- ``sed_figures``: PSD-ROC, class-wise F1 bars, gradient norms, one validation event roll.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import DatasetError
from common.progress import stage
from common.runs import Run, stage_result
from reproductions.fuss_desed import sed_data as D
from reproductions.fuss_desed import sed_evaluation as E
from reproductions.fuss_desed.sed_config import SedConfig

VARIANT_STUDENT = "baseline_crnn"
EVAL_SUBSETS = ("validation", "eval_public")


def model_overrides(cfg: SedConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cfg.model.filters is not None:
        out["filters"] = tuple(cfg.model.filters)
    if cfg.model.rnn_units is not None:
        out["rnn_units"] = cfg.model.rnn_units
    if cfg.model.dropout is not None:
        out["dropout"] = cfg.model.dropout
    return out


def build_network(cfg: SedConfig, name: str):
    from reproductions.fuss_desed import sed_models as M
    return M.build(cfg.model.variant, name=name, **model_overrides(cfg))


class _Data:
    """The corpus, loaded on first use only (a resumed run whose stages are done never reads
    the features)."""

    def __init__(self, cfg: SedConfig, report):
        self.cfg, self.report = cfg, report

    @functools.cached_property
    def sets(self) -> dict[str, D.ClipSet]:
        stage("sed: DESED linear mels (cached)")
        sets = D.load_clips(self.report.root, self.report, workers=self.cfg.workers)
        for name in ("weak", "unlabel_in_domain", "synthetic", "validation"):
            if not len(sets[name]):
                raise DatasetError(f"desed at {self.report.root}: subset {name} has no usable "
                                   "clip")
        return sets

    @functools.cached_property
    def synthetic_split(self) -> tuple[D.ClipSet, D.ClipSet]:
        t = self.cfg.train
        return D.split_synthetic(self.sets["synthetic"], t.synthetic_valid_fraction,
                                 t.synthetic_valid_seed)

    @functools.cached_property
    def scaler(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.sets
        return D.fit_scaler([s["weak"], s["unlabel_in_domain"], self.synthetic_split[0]])

    def inputs(self, cs: D.ClipSet) -> np.ndarray:
        return D.student_inputs(cs, *self.scaler)


def _predict(model, x: np.ndarray) -> np.ndarray:
    if not len(x):
        return np.zeros((0, D.N_OUT_FRAMES, len(D.LABELS)), np.float32)
    strong, _ = model.predict(x, batch_size=32, verbose=0)
    return np.asarray(strong)


def data_stage(run_: Run, data: _Data, mini: bool) -> dict:
    def compute():
        s = data.sets
        train_s, valid_s = data.synthetic_split
        subsets = {name: {"clips": len(cs), "class_counts": D.class_counts(cs),
                          "events": sum(len(v) for v in (cs.events or {}).values()),
                          "skipped": cs.skipped} for name, cs in s.items()}
        return {"subsets": subsets, "synthetic_train": len(train_s),
                "synthetic_valid": len(valid_s), "labels": D.LABELS, "is_mini": mini,
                "classes_with_training_labels": [
                    c for c in D.LABELS if D.class_counts(s["weak"])[c]
                    or D.class_counts(train_s)[c]],
                "classes_with_validation_events": [
                    c for c in D.LABELS if D.class_counts(s["validation"])[c]]}
    return stage_result(run_, "sed_data", compute)


def _example(cs: D.ClipSet, strong: np.ndarray, cfg: SedConfig) -> dict:
    """Reference and detected events of one validation clip (the event-roll figure)."""
    if not len(cs):
        return {}
    wanted = cfg.eval.example_clip
    f = wanted if wanted in cs.files else max(cs.files, key=lambda n: (len(cs.events[n]), n))
    i = cs.files.index(f)
    scores = E.filtered_scores(strong[i:i + 1], E.median_window(cfg.eval))
    est = E.events_of(scores, [f], cfg.eval.threshold, [cs.durations[i]])[f]
    return {"clip": f, "duration": cs.durations[i],
            "reference": [{"onset": a, "offset": b, "event_label": c} for a, b, c in cs.events[f]],
            "estimated": [{k: v for k, v in e.items() if k != "filename"} for e in est],
            "frame_scores": np.round(scores[0], 4).tolist()}


def train_stage(run_: Run, cfg: SedConfig, data: _Data, name: str, weak_only: bool) -> dict:
    """Train one system, select its epoch, evaluate it on validation and public eval."""
    from reproductions.fuss_desed import sed_training as T
    from reproductions.fuss_desed.sed_models import count_params

    def compute():
        s = data.sets
        train_s, valid_s = data.synthetic_split
        streams = T.Streams(s["weak"], s["unlabel_in_domain"], train_s)
        layout = tuple(cfg.weak_only_layout if weak_only else cfg.train.batch_layout)
        mean, std = data.scaler
        select = None
        if cfg.train.select_best and len(valid_s):
            x_valid = data.inputs(valid_s)

            def select(student) -> float:
                res = E.evaluate(valid_s, _predict(student, x_valid), cfg.eval, psds=False)
                v = res["event_macro_f1"]
                return float("nan") if v is None else float(v)
        stage(f"sed: train {name} ({cfg.train.epochs} epochs, batch layout {list(layout)})")
        student, summary = T.train(
            functools.partial(build_network, cfg), streams, layout, cfg.train, mean, std,
            run_.seed, run_.checkpoints / name, run_.logs / f"{name}.csv",
            None if weak_only else run_.logs / f"{name}_grad_norms.csv", select,
            max_consistency=0.0 if weak_only else None, desc=f"DESED {name}")
        stage(f"sed: evaluate {name}")
        out: dict[str, Any] = {"model": cfg.model.variant, "overrides": model_overrides(cfg),
                               "trainable_params": count_params(student)["trainable"],
                               "train": summary, "weak_only": weak_only}
        for subset in EVAL_SUBSETS:
            cs = s[subset]
            if not len(cs):
                continue
            strong = _predict(student, data.inputs(cs))
            out[subset] = E.evaluate(cs, strong, cfg.eval, run_.dir / "predictions" / subset,
                                     name)
            if subset == "validation":
                out["example"] = _example(cs, strong, cfg)
        return out
    return stage_result(run_, f"sed_{name}", compute)


def constant_stage(run_: Run, cfg: SedConfig, data: _Data, classes: list[str]) -> dict:
    def compute():
        out = {"classes_on": classes,
               "rule": "probability 1 for every class with training labels, whole clip"}
        for subset in EVAL_SUBSETS:
            cs = data.sets[subset]
            if len(cs):
                out[subset] = E.evaluate(cs, E.constant_predictions(cs, classes), cfg.eval,
                                         name="constant")
        return out
    return stage_result(run_, "sed_constant", compute)


def run(run_: Run, cfg: SedConfig, root: Path, mini: bool, report) -> dict:
    """Every stage of this half (each resumable) and its figures; returns its metrics."""
    data = _Data(cfg, report)
    facts = data_stage(run_, data, mini)
    systems = {"mean_teacher": train_stage(run_, cfg, data, "mean_teacher", weak_only=False)}
    if cfg.weak_only:
        systems["weak_only"] = train_stage(run_, cfg, data, "weak_only", weak_only=True)
    systems["constant"] = constant_stage(run_, cfg, data,
                                         facts["classes_with_training_labels"])
    metrics = {"is_mini": mini, "data": facts, "systems": systems,
               "model_variant": cfg.model.variant, "small": bool(model_overrides(cfg))}
    from reproductions.fuss_desed import sed_figures
    metrics["figures"] = stage_result(run_, "sed_figures",
                                      lambda: sed_figures.all_figures(run_, metrics))
    return metrics


def trained_models(cfg: SedConfig) -> list[str]:
    """The MODEL_VARIANTS (:mod:`.sed_models`) this config trains, under their
    ``complexity_models`` names (``sed_`` + variant, apart from the separation half's)."""
    return [f"sed_{cfg.model.variant}"] if cfg.enabled else []
