"""The SwishNet experiment, stage by stage. Every stage writes its own ``result.json`` and a done
marker into the run folder, so a rerun skips finished stages and resumes an interrupted
training from its last epoch (``common.training.fit``).

Stages: ``musan_<len>s[_<split>]`` (train + test on MUSAN), ``gtzan_<len>s`` (zero-shot and
fine-tuned GTZAN), ``question1``, ``benchmark`` (the paper's Table I on this machine).
"""
from __future__ import annotations

import os
import time

import numpy as np

from common import distribute
from common.metrics import binary_subset_metrics, classification_metrics, speech_nonspeech_accuracy
from common.runs import Run, stage_result
from common.schedules import SGDRConfig, constant_lr, sgdr_lr
from common.training import fit, predict, seed_everything
from reproductions.swishnet import splits
from reproductions.swishnet.config import CLASS_NAMES, LABELS, SwishNetConfig
from reproductions.swishnet.data import ClipSet


def _compile(model, lr: float):
    import keras
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_model(cfg: SwishNetConfig, frames: int, seed: int):
    from reproductions.swishnet.models import build_swishnet
    seed_everything(seed)
    return build_swishnet(input_shape=(frames, cfg.features.numcep), classes=3,
                          width=cfg.model.width, variant=cfg.model.variant, init=cfg.model.init)


def musan_stage_name(seconds: float, mode: str, default_mode: str) -> str:
    return f"musan_{seconds:g}s" + ("" if mode == default_mode else f"_{mode}split")


def train_musan(run: Run, cfg: SwishNetConfig, clips: ClipSet, seconds: float, mode: str) -> dict:
    """Split, train with SGDR + early stopping on val accuracy, restore best, test."""
    name = musan_stage_name(seconds, mode, cfg.split.mode)

    def compute():
        parts = splits.split(mode, clips.file_index, clips.y, clips.groups, cfg.split)
        tr, va, te = parts["train"], parts["validation"], parts["test"]
        strategy = distribute.make_strategy(cfg.train.strategy)
        with distribute.scope(strategy):
            model = _compile(build_model(cfg, clips.x.shape[1], run.seed), cfg.train.max_lr)
        steps = int(np.ceil(len(tr) / distribute.global_batch(cfg.train.batch_size, strategy)))
        sgdr = SGDRConfig(cfg.train.min_lr, cfg.train.max_lr, cfg.train.lr_decay,
                          cfg.train.first_cycle_epochs, cfg.train.cycle_mult)
        t0 = time.perf_counter()
        res = fit(model, clips.x[tr], clips.y[tr], epochs=cfg.train.epochs,
                  batch_size=cfg.train.batch_size, seed=run.seed,
                  state_dir=run.checkpoints / name, lr_fn=lambda s: sgdr_lr(s, steps, sgdr),
                  validation=(clips.x[va], clips.y[va]), monitor=cfg.train.monitor, mode="max",
                  patience=cfg.train.patience, desc=f"MUSAN {seconds:g}s ({mode} split)",
                  log_path=run.logs / f"{name}.csv", strategy=strategy)
        seconds_taken = time.perf_counter() - t0
        pred = predict(model, clips.x[te]).argmax(axis=1)
        cls = classification_metrics(clips.y[te], pred, list(LABELS.values()), CLASS_NAMES)
        sns = speech_nonspeech_accuracy(clips.y[te], pred, LABELS["speech"])
        model.save_weights(run.checkpoints / f"{name}.weights.h5")
        return {"clip_seconds": seconds, "split_mode": mode,
                "n_clips": {k: int(len(v)) for k, v in parts.items()},
                "n_files": len(clips.files),
                "files_in_train_and_test": splits.shared_files(parts, clips.file_index),
                "classification": cls.to_dict(), "sns": sns.to_dict(),
                "fit": res.to_dict(), "history": res.history, "train_seconds": seconds_taken}
    return stage_result(run, name, compute)


def gtzan(run: Run, cfg: SwishNetConfig, clips: ClipSet, seconds: float) -> dict:
    """Zero-shot GTZAN test with the MUSAN model, then the report's fine-tuning (25 %, no
    validation, constant lr) and the test on the other 75 % — of the files by default, of the
    clips with ``finetune.split: clip`` (the report's leaky split)."""
    name = f"gtzan_{seconds:g}s"

    def compute():
        parts = splits.finetune_split(cfg.finetune.split, clips.file_index, clips.y, clips.groups,
                                      cfg.finetune.share, cfg.finetune.random_state)
        ft, te = parts["finetune"], parts["test"]
        strategy = distribute.make_strategy(cfg.train.strategy)
        with distribute.scope(strategy):
            model = _compile(build_model(cfg, clips.x.shape[1], run.seed), cfg.finetune.lr)
        model.load_weights(run.checkpoints / f"{musan_stage_name(seconds, cfg.split.mode, cfg.split.mode)}.weights.h5")
        labels, names = [LABELS["music"], LABELS["speech"]], ["music", "speech"]
        zero = binary_subset_metrics(clips.y[te], predict(model, clips.x[te]).argmax(1), labels,
                                     names)
        res = fit(model, clips.x[ft], clips.y[ft], epochs=cfg.finetune.epochs,
                  batch_size=cfg.finetune.batch_size, seed=run.seed,
                  state_dir=run.checkpoints / name, lr_fn=constant_lr(cfg.finetune.lr),
                  desc=f"GTZAN fine-tune {seconds:g}s", log_path=run.logs / f"{name}.csv",
                  strategy=strategy)
        pred = predict(model, clips.x[te]).argmax(1)
        tuned = binary_subset_metrics(clips.y[te], pred, labels, names)
        return {"clip_seconds": seconds, "n_clips": {"finetune": len(ft), "test": len(te)},
                "n_files": len(clips.files), "split_mode": cfg.finetune.split,
                "files_in_finetune_and_test": splits.shared_files(parts, clips.file_index),
                "zero_shot": zero.to_dict(),
                "finetuned": tuned.to_dict(), "history": res.history}
    return stage_result(run, name, compute)


def question1(run: Run) -> dict:
    def compute():
        from reproductions.swishnet.models import question1_prediction
        # init="keras2" replays standalone Keras 2's numpy-seeded initialisers (the report's
        # environment); keras3 is what a plain port gets, made repeatable with a Keras seed
        return {"reference_report_procedure": question1_prediction("reference", init="keras2").tolist(),
                "paper_variant_report_procedure": question1_prediction("paper", init="keras2").tolist(),
                "reference_keras3_seeded_twice": [
                    question1_prediction("reference", seed_keras=True, init="keras3").tolist()
                    for _ in range(2)]}
    return stage_result(run, "question1", compute)


def benchmark(run: Run, cfg: SwishNetConfig, frames: dict[float, int]) -> dict:
    """The paper's Table I on this machine: parameters, weight-file size and CPU milliseconds per
    clip (batch 1, median of ``repeats`` calls after ``warmup``) for the four variants."""
    def compute():
        import tensorflow as tf

        from reproductions.swishnet.models import TABLE_I_VARIANTS, build_table_i_variant
        out = {}
        for key in TABLE_I_VARIANTS:
            seed_everything(run.seed)
            row = {}
            for seconds in cfg.clip_seconds:
                model = build_table_i_variant(key, input_shape=(frames[seconds], cfg.features.numcep))
                row["params"] = int(model.count_params())
                x = tf.constant(np.random.default_rng(0).normal(
                    size=(1, frames[seconds], cfg.features.numcep)).astype("float32"))
                call = tf.function(lambda v, m=model: m(v, training=False))
                for _ in range(cfg.benchmark.warmup):
                    call(x)
                times = []
                for _ in range(cfg.benchmark.repeats):
                    t0 = time.perf_counter()
                    call(x).numpy()
                    times.append(time.perf_counter() - t0)
                row[f"cpu_ms_{seconds:g}s"] = 1000 * float(np.median(times))
            out[key] = row
        out["threads"] = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                          "cpu_count": os.cpu_count()}
        return out
    return stage_result(run, "benchmark", compute)


def figures(run_, cfg, musan_results, other_results, gtzan_results, other) -> None:
    from common import plots
    plots.training_curves({f"{s:g} s": r["history"] for s, r in musan_results.items()},
                          run_.figures / "training_curves.png",
                          f"MUSAN training ({cfg.split.mode}-level split; report Figure 1)")
    cms = {f"{s:g} s": np.array(r["classification"]["arrays"]["confusion_matrix_normalized"],
                                dtype=float) for s, r in musan_results.items()}
    plots.confusion_matrices(cms, CLASS_NAMES, run_.figures / "confusion_matrices.png",
                             f"MUSAN test, row-normalised ({cfg.split.mode}-level split; report Figure 2)")
    if other_results:
        cms = {f"{s:g} s": np.array(r["classification"]["arrays"]["confusion_matrix_normalized"],
                                    dtype=float) for s, r in other_results.items()}
        plots.confusion_matrices(cms, CLASS_NAMES, run_.figures / f"confusion_matrices_{other}split.png",
                                 f"MUSAN test, row-normalised ({other}-level split)")
    plots.grouped_bars([f"{s:g} s" for s in gtzan_results],
                       {"zero-shot": [100 * r["zero_shot"]["values"]["accuracy"] for r in gtzan_results.values()],
                        "fine-tuned": [100 * r["finetuned"]["values"]["accuracy"] for r in gtzan_results.values()]},
                       run_.figures / "gtzan_accuracy.png", "GTZAN music/speech test accuracy",
                       "accuracy (%)")
