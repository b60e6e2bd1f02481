"""The three training procedures of report 002 (spec §1.4, §2.4), each resumable per epoch.

* :func:`train_report_loop` — ``train.py``: Adam, BCE-with-logits with ``pos_weight``; after
  every epoch the official coarse and fine micro-AUPRC on validate. A checkpoint is written when
  either improves, and then *both* bests are set to the current values (the code's rule, so a
  drop of one metric lowers its best); otherwise the stagnation counter grows. When it exceeds
  ``stagnation`` the learning rate is multiplied by the factor — or, once at or below
  ``min_lr``, reset to ``lr`` with the factor raised by ``factor_step`` — with a fresh Adam and
  the counter back at 0 (the code creates a new optimiser at each change; resetting the counter
  is our reading, the report only says "repeated"). The checkpoints with the best coarse and the
  best fine micro-AUPRC are kept: CNN+VGGish1 and CNN+VGGish2 of report Table 3 (spec §1.4).
* :func:`train_plateau_loop` — the hierarchical fine models: RMSprop (PyTorch defaults), plain
  BCE-with-logits, ReduceLROnPlateau and EarlyStopping on the validation loss, best weights
  (lowest validation loss) restored.
* The baseline trains with :func:`common.training.fit` (pipeline.py).

State per epoch (``state.json`` + ``last.npz`` with model and optimiser variables) lets an
interrupted stage resume at the next epoch with the same numbers.
"""
from __future__ import annotations

import json
import math
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from common.fileio import atomic_write_json, read_json


def class_pos_weights(labels: np.ndarray, root: float, zero_indices=()) -> np.ndarray:
    """``pos_weight`` per output: (negatives / positives) ** (1 / root) on the training labels
    (report §5: the tenth root of each class weight). A class without training positives gets
    1 (no weighting); ``zero_indices`` get 0 (the code's three zeros, spec §1.5 item 5)."""
    y = np.asarray(labels, dtype=np.float64)
    pos = y.sum(axis=0)
    neg = len(y) - pos
    w = np.where(pos > 0, neg / np.maximum(pos, 1.0), 1.0) ** (1.0 / root)
    w[list(zero_indices)] = 0.0
    return w.astype(np.float32)


def weighted_bce_with_logits(pos_weight: np.ndarray | None) -> Callable:
    """PyTorch ``BCEWithLogitsLoss(pos_weight=w)``: mean over outputs and examples of
    ``w·y·softplus(−z) + (1−y)·softplus(z)``."""
    from keras import ops

    pw = None if pos_weight is None else np.asarray(pos_weight, dtype=np.float32)

    def loss(y_true, logits):
        y = ops.cast(y_true, logits.dtype)
        pos_term = y * ops.softplus(-logits)
        if pw is not None:
            pos_term = pos_term * ops.convert_to_tensor(pw)
        return ops.mean(pos_term + (1.0 - y) * ops.softplus(logits), axis=-1)

    loss.__name__ = "bce_with_logits"
    return loss


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


# ------------------------------------------------------------------------------ state files


def _save(path: Path, model, state: dict) -> None:
    arrays = {f"m{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays.update({f"o{i}": np.asarray(v.numpy())
                   for i, v in enumerate(model.optimizer.variables)})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, state=np.array(json.dumps(state)), **arrays)
    os.replace(tmp, path)


def _load(path: Path, model) -> dict:
    with np.load(path) as ck:
        for i, v in enumerate(model.variables):
            v.assign(ck[f"m{i}"])
        model.optimizer.build(model.trainable_variables)
        n_opt = sum(k.startswith("o") for k in ck.files)
        if n_opt == len(model.optimizer.variables):
            for i, v in enumerate(model.optimizer.variables):
                v.assign(ck[f"o{i}"])
        return json.loads(str(ck["state"]))


def _batches(n: int, batch_size: int, seed: int, epoch: int):
    order = np.random.default_rng([seed, epoch]).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


# ------------------------------------------------------------------------------ report loop


def train_report_loop(model, make_optimizer: Callable[[float], object], loss: Callable,
                      x_train: list[np.ndarray], y_train: np.ndarray,
                      evaluate: Callable[[object], dict], *, lr: float, batch_size: int,
                      max_epochs: int, stagnation: int, min_lr: float, factor: float,
                      factor_step: float, seed: int, state_dir: Path, jit_compile: bool = False,
                      desc: str = "CNN+VGGish") -> dict:
    """Train with the report's selection and restart rule; ``evaluate(model)`` returns
    ``{"coarse": {"micro_auprc": …}, "fine": {…}}`` on validate. Returns the history, the
    checkpoint epochs and the best-coarse / best-fine epochs (weights in ``state_dir``)."""
    from tqdm.auto import tqdm

    state_dir.mkdir(parents=True, exist_ok=True)
    last, state_path = state_dir / "last.npz", state_dir / "state.json"
    st = read_json(state_path) if state_path.is_file() else {}
    if st.get("finished"):
        return st

    def compile_(rate: float) -> None:
        model.compile(optimizer=make_optimizer(rate), loss=loss, jit_compile=jit_compile)

    state = {"epoch": 0, "lr": lr, "factor": factor, "stagnation": 0, "best_coarse": -1.0,
             "best_fine": -1.0, "top_coarse": -1.0, "top_fine": -1.0, "best_coarse_epoch": None,
             "best_fine_epoch": None, "checkpoints": [], "history": [], "restarts": 0,
             "step_seconds": [], "finished": False}
    compile_(lr)
    if last.is_file():
        state = _load(last, model)
        compile_(state["lr"])
        _load(last, model)  # the optimiser of the new compile gets its saved moments back
    n = len(y_train)
    bar = tqdm(total=max_epochs, initial=state["epoch"], desc=desc, unit="epoch", leave=False,
               disable=os.environ.get("REPRO_NO_PROGRESS") == "1")
    while state["epoch"] < max_epochs:
        epoch = state["epoch"]
        losses, t0 = [], time.perf_counter()
        for idx in _batches(n, batch_size, seed, epoch):
            out = model.train_on_batch([x[idx] for x in x_train], y_train[idx])
            losses.append(float(np.ravel(out)[0]))
        train_s = time.perf_counter() - t0
        scores = evaluate(model)
        coarse, fine = scores["coarse"]["micro_auprc"], scores["fine"]["micro_auprc"]
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": state["lr"],
               "coarse_micro_auprc": coarse, "fine_micro_auprc": fine,
               "coarse_macro_auprc": scores["coarse"]["macro_auprc"],
               "fine_macro_auprc": scores["fine"]["macro_auprc"], "train_seconds": train_s}
        state["step_seconds"].append(train_s / max(1, math.ceil(n / batch_size)))
        if coarse > state["best_coarse"] or fine > state["best_fine"]:
            state["best_coarse"], state["best_fine"] = coarse, fine   # the code sets both
            state["stagnation"] = 0
            state["checkpoints"].append(epoch + 1)
            row["checkpoint"] = 1
            if coarse > state["top_coarse"]:
                state["top_coarse"], state["best_coarse_epoch"] = coarse, epoch + 1
                model.save_weights(state_dir / "best_coarse.weights.h5")
            if fine > state["top_fine"]:
                state["top_fine"], state["best_fine_epoch"] = fine, epoch + 1
                model.save_weights(state_dir / "best_fine.weights.h5")
        else:
            state["stagnation"] += 1
        if state["stagnation"] > stagnation:
            if state["lr"] <= min_lr * (1 + 1e-9):
                state["lr"], state["factor"] = lr, state["factor"] + factor_step
                state["restarts"] += 1
                row["event"] = "restart"
            else:
                state["lr"] = state["lr"] * state["factor"]
                row["event"] = "reduce"
            state["stagnation"] = 0
            compile_(state["lr"])   # a fresh Adam at every change (the code)
        state["history"].append(row)
        state["epoch"] = epoch + 1
        _save(last, model, state)
        atomic_write_json(state_path, state)
        bar.update(1)
        bar.set_postfix(coarse=f"{coarse:.3f}", fine=f"{fine:.3f}", lr=f"{row['lr']:.0e}")
    bar.close()
    state["finished"] = True
    state["peak_rss_gb"] = peak_rss_gb()
    atomic_write_json(state_path, state)
    return state


# ------------------------------------------------------------------------------ plateau loop


def train_plateau_loop(model, make_optimizer: Callable[[float], object], loss: Callable,
                       x_train: list[np.ndarray], y_train: np.ndarray,
                       x_val: list[np.ndarray], y_val: np.ndarray, *, lr: float,
                       batch_size: int, max_epochs: int, plateau_patience: int,
                       plateau_factor: float, early_stopping: int, seed: int, state_dir: Path,
                       desc: str = "fine model") -> dict:
    """Poutyne's ReduceLROnPlateau + EarlyStopping on the validation loss (the hierarchical
    script), best-validation-loss weights restored at the end."""
    from keras import ops

    state_dir.mkdir(parents=True, exist_ok=True)
    last, state_path = state_dir / "last.npz", state_dir / "state.json"
    best_path = state_dir / "best.weights.h5"
    st = read_json(state_path) if state_path.is_file() else {}
    if st.get("finished"):
        model.load_weights(best_path)
        return st
    model.compile(optimizer=make_optimizer(lr), loss=loss)
    state = {"epoch": 0, "lr": lr, "best": math.inf, "best_epoch": None, "wait_plateau": 0,
             "wait_stop": 0, "history": [], "stopped_early": False, "finished": False}
    if last.is_file():
        state = _load(last, model)
    n = len(y_train)
    while state["epoch"] < max_epochs:
        epoch = state["epoch"]
        model.optimizer.learning_rate.assign(state["lr"])
        losses = [float(np.ravel(model.train_on_batch([x[idx] for x in x_train],
                                                      y_train[idx]))[0])
                  for idx in _batches(n, batch_size, seed, epoch)]
        logits = model.predict(x_val, batch_size=256, verbose=0)
        val = float(np.mean(ops.convert_to_numpy(loss(y_val, ops.convert_to_tensor(logits)))))
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                                 "val_loss": val, "lr": state["lr"]})
        if val < state["best"]:
            state["best"], state["best_epoch"] = val, epoch + 1
            state["wait_plateau"] = state["wait_stop"] = 0
            model.save_weights(best_path)
        else:
            state["wait_plateau"] += 1
            state["wait_stop"] += 1
            if state["wait_plateau"] >= plateau_patience:
                state["lr"] *= plateau_factor
                state["wait_plateau"] = 0
        state["epoch"] = epoch + 1
        if state["wait_stop"] >= early_stopping:
            state["stopped_early"] = True
            state["epoch"] = max_epochs   # nothing left to run on resume
        _save(last, model, state)
        atomic_write_json(state_path, state)
    model.load_weights(best_path)
    state["finished"] = True
    atomic_write_json(state_path, state)
    return state
