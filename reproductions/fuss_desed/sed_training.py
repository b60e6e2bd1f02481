"""The mean-teacher training loop of the DCASE 2020 Task 4 baseline (spec fuss_desed.md §2.2),
resumable epoch by epoch.

One epoch = ``min_i(n_i // b_i)`` batches over the streams with a positive batch share
``b_i`` of the layout (weak, unlabelled, synthetic-train): each stream is shuffled on its own
every epoch, as the baseline's ``MultiStreamBatchSampler`` draws from its three sub-datasets
(our reading of its epoch length: the shortest stream ends the epoch). A batch is the weak,
unlabelled and synthetic rows in that order; the student gets the clean normalised log-mel,
the teacher the same clip with Gaussian noise at 30 dB SNR on the linear mel
(:func:`mean_teacher.student_teacher_inputs`). The learning rate and the consistency weight
ramp up over ``rampup_epochs × steps_per_epoch`` optimizer steps.

After every epoch the student's event macro F1 on the held-out synthetic clips picks the best
epoch (the baseline's ``save_best``), and the whole state — student, teacher, optimizer, loop
state — is saved in one atomically replaced file, so a killed run resumes at the last finished
epoch with the same numbers (batch order and noise are functions of the seed and the epoch).
Per-variable gradient norms go to a CSV every ``grad_log_every`` steps
(:class:`mean_teacher.GradientNormCSVLogger`).
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.fileio import atomic_write_json, read_json
from common.training import save_checkpoint, write_log
from reproductions.fuss_desed import mean_teacher as MT
from reproductions.fuss_desed import sed_data as D
from reproductions.fuss_desed.sed_config import SedTrainConfig

KINDS = ("weak", "unlabelled", "strong")


@dataclass
class Streams:
    weak: D.ClipSet
    unlabelled: D.ClipSet
    strong: D.ClipSet

    def as_list(self) -> list[D.ClipSet]:
        return [self.weak, self.unlabelled, self.strong]


def steps_per_epoch(streams: Streams, layout: tuple[int, int, int]) -> int:
    """min over the used streams of n_i // b_i; ValueError when a used stream is too small."""
    used = [(cs, b) for cs, b in zip(streams.as_list(), layout) if b > 0]
    steps = min(len(cs) // b for cs, b in used)
    if steps < 1:
        small = [(cs.name, len(cs), b) for cs, b in used if len(cs) < b]
        raise ValueError(f"a stream has fewer clips than its batch share: {small}")
    return steps


def epoch_batches(streams: Streams, layout: tuple[int, int, int], seed: int,
                  epoch: int) -> list[list[tuple[int, int]]]:
    """The batches of one epoch as lists of (stream index, clip index), weak rows first."""
    rng = np.random.default_rng([seed, epoch, 0])
    steps = steps_per_epoch(streams, layout)
    orders = [rng.permutation(len(cs)) if b > 0 else np.zeros(0, int)
              for cs, b in zip(streams.as_list(), layout)]
    out = []
    for s in range(steps):
        rows = []
        for k, b in enumerate(layout):
            rows += [(k, int(i)) for i in orders[k][s * b:(s + 1) * b]]
        out.append(rows)
    return out


def make_batch(streams: Streams, rows: list[tuple[int, int]], mean: np.ndarray,
               std: np.ndarray, rng: np.random.Generator, snr_db: float):
    """((student_x, teacher_x), (strong_target, weak_target)) of one batch."""
    sets = streams.as_list()
    xs, xt, ys, yw = [], [], [], []
    for k, i in rows:
        s, t = MT.student_teacher_inputs(sets[k].mels[i], mean, std, rng, snr_db)
        st, wk = D.targets(sets[k], i, KINDS[k])
        xs.append(s), xt.append(t), ys.append(st), yw.append(wk)
    return ((np.stack(xs)[..., None], np.stack(xt)[..., None]),
            (np.stack(ys), np.stack(yw)))


def _load(path: Path, trainer) -> dict:
    """common.training's checkpoint reader, minus its optimizer.build: the mean-teacher
    trainer's optimizer is already built here, and building it twice adds variables."""
    with np.load(path) as ck:
        n = sum(k.startswith("m") for k in ck.files)
        if n != len(trainer.variables):
            raise RuntimeError(f"{path}: checkpoint holds {n} variables, the trainer "
                               f"{len(trainer.variables)}: it belongs to another model")
        for i, v in enumerate(trainer.variables):
            v.assign(ck[f"m{i}"])
        for i, v in enumerate(trainer.optimizer.variables):
            v.assign(ck[f"o{i}"])
        return json.loads(str(ck["state"]))


def train(build: Callable[[str], Any], streams: Streams, layout: tuple[int, int, int],
          cfg: SedTrainConfig, mean: np.ndarray, std: np.ndarray, seed: int, state_dir: Path,
          log_path: Path, grad_log_path: Path | None,
          select: Callable[[Any], float] | None, max_consistency: float | None = None,
          desc: str = "mean teacher") -> tuple[Any, dict]:
    """Train a student/teacher pair; returns (student with the selected weights, summary).

    ``build(name)`` builds one seeded network; ``select(student)`` scores the student after
    an epoch (higher is better) or None to keep the last epoch."""
    import keras
    from tqdm.auto import tqdm

    from common.training import seed_everything

    state_dir.mkdir(parents=True, exist_ok=True)
    ckpt, best_path = state_dir / "last.ckpt.npz", state_dir / "best_student.weights.h5"
    state_path = state_dir / "state.json"
    seed_everything(seed)
    student, teacher = build("student"), build("teacher")
    steps = steps_per_epoch(streams, layout)
    rampup = cfg.rampup_epochs * steps
    trainer = MT.MeanTeacher(student, teacher, rampup_steps=rampup, layout=layout,
                             max_consistency=cfg.max_consistency if max_consistency is None
                             else max_consistency, ema_max_alpha=cfg.ema_max_alpha)
    trainer.compile(optimizer=keras.optimizers.Adam(
        MT.RampupLearningRate(cfg.max_learning_rate, rampup), beta_1=cfg.adam_beta_1,
        beta_2=cfg.adam_beta_2))
    trainer.build_optimizer()
    logger = None
    if grad_log_path is not None:
        logger = MT.GradientNormCSVLogger(grad_log_path, every=cfg.grad_log_every)
        logger.set_model(trainer)

    st = read_json(state_path) if state_path.is_file() else {}
    if st.get("finished"):
        student.load_weights(best_path if best_path.is_file() else state_dir / "final_student.weights.h5")
        return student, st["summary"]
    start, history, best, best_epoch = 0, [], None, None
    if ckpt.is_file():
        st = _load(ckpt, trainer)
        start, history, best, best_epoch = st["epoch"], st["history"], st["best"], st["best_epoch"]
    if logger is not None:
        logger.on_train_begin()
    bar = tqdm(total=cfg.epochs, initial=start, desc=desc, unit="epoch", leave=False,
               disable=os.environ.get("REPRO_NO_PROGRESS") == "1")
    t_train = t_prep = t_select = 0.0
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        noise_rng = np.random.default_rng([seed, epoch, 1])
        sums: dict[str, float] = {}
        batches = epoch_batches(streams, layout, seed, epoch)
        for b, rows in enumerate(batches):
            tp = time.perf_counter()
            x, y = make_batch(streams, rows, mean, std, noise_rng, cfg.noise_snr_db)
            t_prep += time.perf_counter() - tp
            logs = trainer.train_on_batch(x, y, return_dict=True)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if logger is not None:
                logger.on_train_batch_end(b)
        row = {"epoch": epoch + 1, **{k: v / len(batches) for k, v in sums.items()},
               "learning_rate_end": float(cfg.max_learning_rate * MT.sigmoid_rampup(
                   int(trainer.optimizer.iterations.numpy()) - 1, rampup))}
        t_train += time.perf_counter() - t0
        if select is not None:
            ts = time.perf_counter()
            score = float(select(student))
            t_select += time.perf_counter() - ts
            row["synthetic_valid_event_macro_f1"] = score
            if best is None or (not math.isnan(score) and score > best):
                best, best_epoch = score, epoch + 1
                student.save_weights(best_path)
        history.append(row)
        write_log(log_path, history)
        state = {"epoch": epoch + 1, "history": history, "best": best, "best_epoch": best_epoch,
                 "steps_per_epoch": steps, "finished": False}
        save_checkpoint(ckpt, trainer, state)
        atomic_write_json(state_path, {k: v for k, v in state.items() if k != "history"})
        bar.update(1)
        bar.set_postfix({"loss": f"{row.get('loss', float('nan')):.4g}",
                         **({"val_f1": f"{row['synthetic_valid_event_macro_f1']:.3f}"}
                            if "synthetic_valid_event_macro_f1" in row else {})})
    bar.close()
    student.save_weights(state_dir / "final_student.weights.h5")
    if select is not None and best_path.is_file():
        student.load_weights(best_path)
    timed = cfg.epochs - start
    summary = {"epochs": cfg.epochs, "steps_per_epoch": steps, "rampup_steps": rampup,
               "batch_layout": list(layout), "best_epoch": best_epoch if select else cfg.epochs,
               "best_synthetic_valid_event_macro_f1": best,
               "resumed_from_epoch": start, "history": history,
               "seconds_per_epoch": t_train / timed if timed else None,
               "seconds_batch_preparation": t_prep, "seconds_model_selection": t_select,
               "optimizer_steps": int(trainer.optimizer.iterations.numpy()),
               "selected": "best synthetic-validation epoch" if select else "last epoch"}
    atomic_write_json(state_path, {"finished": True, "summary": summary})
    return student, summary
