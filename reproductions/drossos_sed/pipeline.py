"""The experiments, stage by stage. Every stage stores its ``result.json`` and a done marker
(:func:`common.runs.stage_result`), so a rerun skips finished stages and an interrupted
training resumes from its last epoch (:func:`common.training.fit`).

Stages: ``mono_<variant>`` (UrbanSound8K: train, early stopping on validation loss, best
weights restored, test), ``poly_<variant>`` (TUT-SED: the same, then frame and 1-s segment
metrics on whole test mixtures) and ``mono_baselines`` / ``poly_baselines`` (constant
predictors on the same test data, the floor a trained model must clear).
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from common import distribute
from common.metrics import (
    classification_metrics,
    frame_f1_er,
    frames_to_events,
    per_class_f1,
    segment_based_metrics,
)
from common.errors import DatasetError
from common.runs import Run, stage_result
from common.training import fit, predict, seed_everything
from reproductions.drossos_sed import data as D
from reproductions.drossos_sed import facts as FACTS
from reproductions.drossos_sed import splits as SP
from reproductions.drossos_sed.cells import BASELINE, DND_SED
from reproductions.drossos_sed.config import DrossosConfig

# Keras clips probabilities to [eps, 1 - eps] inside its cross-entropies; the test losses
# below use the same clip so they are the numbers model.evaluate would print.
KERAS_EPSILON = 1e-7


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------

def size_overrides(name: str, cfg: DrossosConfig, n_frames: int) -> dict[str, int]:
    """The profile's widths and input length, restricted to what the variant's builder takes."""
    from reproductions.drossos_sed import models as M

    # _accepted_params follows the thin wrappers' **kwargs to the builder that takes them
    accepted = M._accepted_params(M.MODEL_VARIANTS[name]["builder"])
    wanted = {"n_frames": n_frames, "channels": cfg.model.channels,
              "dilated_channels": cfg.model.dilated_channels, "rnn_units": cfg.model.rnn_units}
    return {k: v for k, v in wanted.items() if k in accepted}


def build_model(name: str, cfg: DrossosConfig, n_frames: int, seed: int):
    from reproductions.drossos_sed import models as M
    seed_everything(seed)
    return M.build(name, **size_overrides(name, cfg, n_frames))


def _compile(model, lr: float, poly: bool):
    import keras
    if poly:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                      loss="binary_crossentropy", metrics=["binary_accuracy"])
    else:
        # integer targets: the same numbers as the report's one-hot categorical cross-entropy
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _trainable(model) -> int:
    from reproductions.drossos_sed.models import count_params
    return count_params(model)["trainable"]


# ---------------------------------------------------------------------------------------------
# losses and scores
# ---------------------------------------------------------------------------------------------

def categorical_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y)), y], KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    return float(-np.mean(np.log(p)))


def binary_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(np.asarray(proba, np.float64), KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    y = np.asarray(y, np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _events(df, mixture: str) -> list[dict]:
    return [{"event_label": str(lab), "onset": float(on), "offset": float(off),
             "filename": mixture}
            for on, off, lab in zip(df["onset"], df["offset"], df["event_label"])]


def poly_scores(data: D.PolySet, idx: list[int], probs: list[np.ndarray], threshold: float,
                segment_seconds: float) -> dict[str, Any]:
    """Every number of one system on whole mixtures ``idx`` (no padding frames):
    binary frame accuracy and cross-entropy (Keras' binary_accuracy / binary_crossentropy over
    frames × classes), the dnd-sed frame micro F1 / ER, per-class frame F1, and sed_eval
    segment-based F1 / ER over ``segment_seconds`` segments against the annotation files."""
    y = np.concatenate([data.labels[i] for i in idx]).astype(np.float32)
    p = np.concatenate(probs).astype(np.float32)
    active = p >= threshold
    frame = frame_f1_er(y, p, threshold=threshold)
    per_class = per_class_f1(y, active, data.label_names)
    ref, est = [], []
    for i, prob in zip(idx, probs):
        mid = data.mixtures[i]
        ref += _events(data.events[i], mid)
        est += frames_to_events(prob >= threshold, data.hop_seconds, data.label_names, mid)
    seg = segment_based_metrics(ref, est, data.label_names, time_resolution=segment_seconds,
                                evaluated_lengths={data.mixtures[i]: data.durations[i]
                                                   for i in idx})
    return {"accuracy": float(np.mean(active == (y > 0.5))), "loss": binary_loss(y, p),
            "frame": {"values": frame.to_dict()["values"], "counts": frame.counts},
            "per_class": per_class.to_dict()["values"],
            "per_class_support": {k.split("/", 1)[1]: v for k, v in per_class.counts.items()
                                  if k.startswith("support/")},
            "segment": {"values": seg.to_dict()["values"], "counts": seg.counts,
                        "params": {"time_resolution": segment_seconds,
                                   "library_version": seg.params["library_version"]}},
            "n_frames": len(y)}


def _example(data: D.PolySet, idx: list[int], probs: list[np.ndarray], threshold: float,
             wanted: str | None) -> dict:
    """Reference and predicted events of one test mixture (the event-roll figure)."""
    ids = [data.mixtures[i] for i in idx]
    if not ids:
        return {}
    mid = wanted if wanted in ids else min(ids, key=D.natural_key)
    k = ids.index(mid)
    i = idx[k]
    est = frames_to_events(probs[k] >= threshold, data.hop_seconds, data.label_names, mid)
    return {"mixture": mid, "duration": data.durations[i],
            "reference": [{k2: v for k2, v in e.items() if k2 != "filename"}
                          for e in _events(data.events[i], mid)],
            "estimated": [{k2: v for k2, v in e.items() if k2 != "filename"} for e in est]}


# ---------------------------------------------------------------------------------------------
# training stages
# ---------------------------------------------------------------------------------------------

def _fit_and_time(run: Run, cfg: DrossosConfig, stage: str, model, x_tr, y_tr, x_va, y_va,
                  desc: str, epochs: int) -> dict:
    t0 = time.perf_counter()
    res = fit(model, x_tr, y_tr, epochs=epochs, batch_size=cfg.train.batch_size,
              seed=run.seed, state_dir=run.checkpoints / stage, validation=(x_va, y_va),
              monitor="val_loss", mode="min", patience=cfg.train.patience, desc=desc,
              log_path=run.logs / f"{stage}.csv",
              strategy=distribute.make_strategy(cfg.train.strategy))
    seconds = time.perf_counter() - t0
    # a resumed fit times only the epochs of this call: extrapolate to every epoch run
    timed_epochs = max(1, res.epochs_run - res.resumed_from_epoch)
    per_epoch = seconds / timed_epochs if res.epochs_run > res.resumed_from_epoch else None
    return {"fit": res.to_dict(), "history": res.history,
            "seconds_per_epoch": per_epoch,
            "train_seconds": None if per_epoch is None else per_epoch * res.epochs_run,
            "min_val_loss": min((h["val_loss"] for h in res.history), default=None)}


def train_mono(run: Run, cfg: DrossosConfig, data: D.MonoSet, parts: dict[str, np.ndarray],
               name: str) -> dict:
    """Train one UrbanSound8K model, restore the best-validation-loss weights, test it."""
    stage = f"mono_{name}"

    def compute():
        tr, va, te = parts["train"], parts["validation"], parts["test"]
        with distribute.scope(distribute.make_strategy(cfg.train.strategy)):
            model = _compile(build_model(name, cfg, data.x.shape[1], run.seed),
                             cfg.train.learning_rate, poly=False)
        out = _fit_and_time(run, cfg, stage, model, data.x[tr], data.y[tr], data.x[va],
                            data.y[va], f"UrbanSound8K {name}",
                            cfg.mono.epochs or cfg.train.epochs)
        proba = predict(model, data.x[te], batch_size=256)
        labels = list(range(len(data.class_names)))
        cls = classification_metrics(data.y[te], proba.argmax(1), labels, data.class_names)
        model.save_weights(run.checkpoints / f"{stage}.weights.h5")
        return {"model": name, "trainable_params": _trainable(model),
                "n_slices": {k: len(v) for k, v in parts.items()},
                "test_loss": categorical_loss(data.y[te], proba),
                "classification": cls.to_dict(), **out}
    return stage_result(run, stage, compute)


def train_poly(run: Run, cfg: DrossosConfig, data: D.PolySet, parts: dict[str, list[int]],
               name: str) -> dict:
    """Train one TUT-SED model on sequences, restore the best weights, score whole mixtures."""
    stage = f"poly_{name}"

    def compute():
        T = cfg.poly.sequence_frames
        seqs = {s: D.chunk([data.features[i] for i in parts[s]],
                           [data.labels[i] for i in parts[s]], T) for s in D.SPLITS}
        with distribute.scope(distribute.make_strategy(cfg.train.strategy)):
            model = _compile(build_model(name, cfg, T, run.seed), cfg.train.learning_rate,
                             poly=True)
        (x_tr, y_tr, _), (x_va, y_va, _) = seqs["train"], seqs["validation"]
        out = _fit_and_time(run, cfg, stage, model, x_tr, y_tr, x_va, y_va, f"TUT-SED {name}",
                            cfg.train.epochs)
        x_te, _, owner = seqs["test"]
        te = parts["test"]
        probs = D.unchunk(predict(model, x_te, batch_size=64), owner,
                          [len(data.features[i]) for i in te])
        scores = poly_scores(data, te, probs, cfg.poly.threshold, cfg.poly.segment_seconds)
        model.save_weights(run.checkpoints / f"{stage}.weights.h5")
        return {"model": name, "trainable_params": _trainable(model),
                "n_sequences": {s: len(seqs[s][0]) for s in D.SPLITS},
                "n_mixtures": {s: len(parts[s]) for s in D.SPLITS},
                "test": scores, **out,
                "example": _example(data, te, probs, cfg.poly.threshold,
                                    cfg.poly.example_mixture)}
    return stage_result(run, stage, compute)


# ---------------------------------------------------------------------------------------------
# constant predictors
# ---------------------------------------------------------------------------------------------

def best_constant_set(labels: np.ndarray) -> list[int]:
    """Classes a constant predictor should always switch on to maximise micro F1 on ``labels``
    (frames × classes): with per-class activity n_c of N frames, switching on set S gives
    F1 = 2Σ_S n_c / (Σ_S n_c + |S|·N + Σ_all n_c), maximised by the k most active classes for
    some k."""
    n = labels.reshape(-1, labels.shape[-1]).sum(axis=0).astype(float)
    frames = labels.reshape(-1, labels.shape[-1]).shape[0]
    order = np.argsort(-n, kind="stable")
    best, best_f1 = [], 0.0
    for k in range(1, len(order) + 1):
        chosen = order[:k]
        tp = n[chosen].sum()
        f1 = 2 * tp / (tp + k * frames + n.sum()) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = [int(c) for c in chosen], f1
    return sorted(best)


def poly_baselines(run: Run, cfg: DrossosConfig, data: D.PolySet,
                   parts: dict[str, list[int]]) -> dict:
    """All-zero, best constant class set (chosen on training frames) and the oracle constant
    set (chosen on the test frames themselves); the loss floor is the cross-entropy of the
    training class priors."""
    def compute():
        te = parts["test"]
        y_tr = np.concatenate([data.labels[i] for i in parts["train"]])
        y_te = np.concatenate([data.labels[i] for i in te])
        lengths = [len(data.labels[i]) for i in te]

        def constant(vector: np.ndarray) -> list[np.ndarray]:
            return [np.broadcast_to(vector, (n, len(vector))).astype(np.float32) for n in lengths]

        n_cls = len(data.label_names)
        out = {}
        for key, chosen in (("all_zero", []), ("best_constant_train", best_constant_set(y_tr)),
                            ("best_constant_test_oracle", best_constant_set(y_te))):
            vec = np.zeros(n_cls, np.float32)
            vec[chosen] = 1.0
            scores = poly_scores(data, te, constant(vec), cfg.poly.threshold,
                                 cfg.poly.segment_seconds)
            scores.pop("loss")  # a 0/1 "probability" has no meaningful cross-entropy
            out[key] = {"classes_on": [data.label_names[c] for c in chosen], **scores}
        prior = y_tr.mean(axis=0).astype(np.float32)
        out["train_prior_loss"] = binary_loss(y_te, np.broadcast_to(prior, y_te.shape))
        return out
    return stage_result(run, "poly_baselines", compute)


def mono_baselines(run: Run, data: D.MonoSet, parts: dict[str, np.ndarray]) -> dict:
    """Majority class of the training slices, and the cross-entropy of the training priors."""
    def compute():
        y_tr, y_te = data.y[parts["train"]], data.y[parts["test"]]
        n_cls = len(data.class_names)
        counts = np.bincount(y_tr, minlength=n_cls)
        majority = int(np.argmax(counts))
        cls = classification_metrics(y_te, np.full(len(y_te), majority),
                                     list(range(n_cls)), data.class_names)
        prior = np.clip(counts / max(1, counts.sum()), KERAS_EPSILON, 1.0)
        return {"majority_class": data.class_names[majority],
                "majority": cls.to_dict(),
                "train_prior_loss": categorical_loss(y_te, np.tile(prior, (len(y_te), 1)))}
    return stage_result(run, "mono_baselines", compute)


# ---------------------------------------------------------------------------------------------
# the two experiments and their figures

def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def run_mono(run_: Run, cfg: DrossosConfig, root, is_mini: bool, rep) -> dict:
    """UrbanSound8K: dataset facts, features, split, the monophonic models and baselines."""
    from data_prep import urbansound8k as us8k

    facts = stage_result(run_, "facts_urbansound8k", lambda: FACTS.us8k_facts(rep.root, rep.manifest))
    info = us8k.mini_info(rep.root, True) if is_mini else None
    mono, skipped = D.mono_features(rep.manifest, rep.root, cfg.mono.n_frames,
                                    D.class_names_of(rep.root), info)
    if skipped:
        print(f"urbansound8k: {len(skipped)} file(s) failed feature extraction (listed in "
              f"metrics.json, mono.skipped_files)")
    parts = SP.mono_split(mono, cfg.mono.split, cfg.split, cfg.mono)
    stats = D.standardize_mono(mono, parts["train"]) if cfg.mono.standardize else None
    results = {name: train_mono(run_, cfg, mono, parts, name) for name in cfg.mono.models}
    base = mono_baselines(run_, mono, parts)
    m = {"facts": facts, "models": results, "baselines": base, "class_names": mono.class_names,
         "split": {"mode": cfg.mono.split, "sizes": {k: len(v) for k, v in parts.items()},
                   "groups_in_train_and_test": SP.shared_groups(parts, mono.groups),
                   "n_groups": len(set(mono.groups))},
         "padding": {"n_frames": int(mono.x.shape[1]),
                     "longest_raw_frames": int(mono.raw_frames.max()),
                     "slices_cut": int((mono.raw_frames > mono.x.shape[1]).sum())},
         "standardization": stats, "skipped_files": skipped, "is_mini": is_mini}
    return m


def run_poly(run_: Run, cfg: DrossosConfig, root, is_mini: bool, rep) -> dict:
    """TUT-SED Synthetic 2016: dataset facts, features, split, the polyphonic models."""

    facts = stage_result(run_, "facts_tut_sed_2016", lambda: FACTS.tut_facts(rep.root, rep.manifest))
    poly, skipped = D.poly_features(rep.manifest, rep.root, cfg.poly.features)
    if skipped:
        print(f"tut_sed_2016: {len(skipped)} mixture(s) failed feature extraction (listed in "
              f"metrics.json, poly.skipped_files)")
    ids = SP.poly_split(poly.mixtures, cfg.poly.split, cfg.split, rep.root)
    parts = {s: poly.index(v) for s, v in ids.items()}
    for s in D.SPLITS:
        if not parts[s]:
            raise DatasetError(f"tut_sed_2016 at {rep.root}: the {s} split has no usable mixture")
    stats = D.standardize_poly(poly, parts["train"]) if cfg.poly.standardize else None
    results = {name: train_poly(run_, cfg, poly, parts, name)
               for name in (*cfg.poly.models, *cfg.poly.extra_models)}
    base = poly_baselines(run_, cfg, poly, parts)
    m = {"facts": facts, "models": results, "baselines": base, "label_names": poly.label_names,
         "split": {"mode": cfg.poly.split, "mixtures": ids},
         "hop_seconds": poly.hop_seconds, "features": cfg.poly.features,
         "sequence_frames": cfg.poly.sequence_frames, "standardization": stats,
         "skipped_files": skipped,
         "is_mini": is_mini}
    return m


def figures(run_, cfg: DrossosConfig, metrics: dict) -> None:
    from common import plots
    mono, poly = metrics.get("mono"), metrics.get("poly")
    if mono and mono["models"]:
        plots.training_curves({k: r["history"] for k, r in mono["models"].items()},
                              run_.figures / "mono_training_curves.png",
                              "UrbanSound8K training (report Figures 9 and 10)",
                              metrics=("loss", "accuracy"))
        names = mono["class_names"]
        plots.grouped_bars(names, {k: [r["classification"]["values"].get(f"f1/{n}") or np.nan
                                       for n in names] for k, r in mono["models"].items()},
                           run_.figures / "mono_per_class_f1.png",
                           "UrbanSound8K test F1 per class (report Table 3)", "F1")
    if poly and poly["models"]:
        plots.training_curves({k: r["history"] for k, r in poly["models"].items()},
                              run_.figures / "poly_training_curves.png",
                              "TUT-SED training (report Figures 11-15)",
                              metrics=("loss", "binary_accuracy"))
        support = next(iter(poly["models"].values()))["test"].get("per_class_support", {})
        labels = [lab for lab in poly["label_names"] if support.get(lab, 0) > 0]
        plots.grouped_bars(labels, {k: [r["test"]["per_class"].get(f"f1/{lab}") or 0.0
                                        for lab in labels] for k, r in poly["models"].items()},
                           run_.figures / "poly_per_class_f1.png",
                           "TUT-SED test frame F1 per class (labels active in the test mixtures)",
                           "F1")
        for name in (BASELINE, DND_SED):
            ex = poly["models"].get(name, {}).get("example")
            if ex:
                plots.event_roll(ex["reference"], ex["estimated"], poly["label_names"],
                                 run_.figures / f"event_roll_{name}.png",
                                 f"mixture {ex['mixture']}: ground truth vs {name}",
                                 duration=ex["duration"])
