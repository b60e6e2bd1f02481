"""Training utilities: seeding, a resumable epoch loop, early stopping with best-weight restore,
per-batch learning-rate schedules and CSV logs.

Why our own loop around ``model.fit``: Keras' EarlyStopping/ModelCheckpoint lose their state when a
process dies, and a shuffled ``tf.data`` pipeline restarts its order on resume. Here the epoch
permutation is ``rng(seed, epoch)``, the learning rate is a pure function of the global step, and
the loop state (epoch, best score, patience counter, history) is saved atomically with the model
after every epoch — so an interrupted run resumes exactly where it stopped, with the same numbers.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from common import distribute
from common.errors import ReproError
from common.fileio import atomic_write_json, read_json


def quiet_tensorflow() -> None:
    """Silence retracing notices and Keras' note that a weights file also held optimizer slots
    (we restore model weights on purpose, the optimizer starts fresh)."""
    import warnings

    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")


def seed_everything(seed: int) -> None:
    """Python, NumPy and TensorFlow seeds plus op determinism (bit-identical CPU training)."""
    import keras
    import tensorflow as tf

    quiet_tensorflow()
    os.environ["PYTHONHASHSEED"] = str(seed)
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass


class _EpochPermutedBatches:
    """Batches of (x, y) in the order ``rng([seed, epoch])``: the epoch is set by the training
    callback before each epoch, so the order depends on nothing but the seed and the epoch."""

    def __new__(cls, x, y, batch_size: int, seed: int):
        import keras

        class Seq(keras.utils.PyDataset):
            def __init__(self):
                super().__init__(workers=1, use_multiprocessing=False)
                self.epoch = 0
                self._order_epoch, self._order = None, None

            def __len__(self):
                return int(math.ceil(len(x) / batch_size))

            def __getitem__(self, i):
                if self._order_epoch != self.epoch:
                    self._order = np.random.default_rng([seed, self.epoch]).permutation(len(x))
                    self._order_epoch = self.epoch
                idx = self._order[i * batch_size:(i + 1) * batch_size]
                return x[idx], y[idx]

        return Seq()


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    resumed_from_epoch: int = 0
    epochs_run: int = 0

    def to_dict(self) -> dict:
        return {"best_epoch": self.best_epoch, "best_score": self.best_score,
                "stopped_early": self.stopped_early, "resumed_from_epoch": self.resumed_from_epoch,
                "epochs_run": self.epochs_run}


def _improved(score: float, best: float | None, mode: str) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(score)
    return score > best if mode == "max" else score < best


def fit(model, x_train, y_train, *, epochs: int, batch_size: int, seed: int,
        state_dir: Path, lr_fn: Callable[[int], float] | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        monitor: str | None = None, mode: str = "max", patience: int | None = None,
        restore_best: bool = True, desc: str = "train", interrupt_after: int | None = None,
        progress: bool = True, log_path: Path | None = None, strategy=None) -> FitResult:
    """Train ``model`` (already compiled) for up to ``epochs`` with resumable state in ``state_dir``.

    ``monitor`` (e.g. "val_accuracy") drives early stopping (``patience`` epochs without
    improvement) and best-weight restore. Without validation every epoch's end state is kept.
    ``interrupt_after`` stops after that many epochs *of this call* (tests of resume).
    Files in ``state_dir``: ``last.ckpt.npz`` (model, optimizer and loop state),
    ``best.weights.h5``, ``state.json`` (the loop state for people); the per-epoch CSV log goes to ``log_path`` (default ``state_dir/log.csv``).

    ``strategy`` (``common.distribute.make_strategy``; ``None`` = the default path, unchanged):
    ``batch_size`` is then per replica, each step takes ``batch_size × replicas`` examples
    (``lr_fn`` counts those global steps) and ``model`` must have been built and compiled under
    ``strategy.scope()``. A run resumes only with the global batch it started with.
    """
    import keras
    from tqdm.auto import tqdm

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    state_path, ckpt_path = state_dir / "state.json", state_dir / "last.ckpt.npz"
    best_path = state_dir / "best.weights.h5"
    log_path = Path(log_path) if log_path is not None else state_dir / "log.csv"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if strategy is not None and distribute.is_multi_worker(strategy):
        raise ReproError(f"{desc}: Keras Model.fit does not run under MultiWorkerMirroredStrategy "
                         f"({distribute.MULTI_WORKER_FIT_ISSUE}); use the mirrored strategy")
    if strategy is not None and model.distribute_strategy is not strategy:
        raise ReproError(f"{desc}: the model was not built under this strategy; build and "
                         "compile it inside common.distribute.scope(strategy)")
    gbatch = distribute.global_batch(batch_size, strategy)
    in_scope = distribute.scope  # a no-op context for the default path
    result = FitResult()
    start_epoch, best, wait = 0, None, 0
    st = read_json(state_path) if state_path.is_file() else {}
    if st.get("finished"):
        model.load_weights(best_path if (restore_best and best_path.is_file()) else
                           state_dir / "final.weights.h5")
        result.history = st["history"]
        result.best_epoch, result.best_score = st["best_epoch"], st["best"]
        result.stopped_early, result.epochs_run = st["stopped_early"], len(st["history"])
        result.resumed_from_epoch = len(st["history"])
        return result
    if ckpt_path.is_file():
        with in_scope(strategy):
            st = _load_checkpoint(ckpt_path, model)
        if st.get("global_batch", gbatch) != gbatch:
            raise ReproError(f"{ckpt_path}: this run started with a global batch of "
                             f"{st['global_batch']} examples, now it would be {gbatch} "
                             f"({distribute.replicas(strategy)} replica(s) × {batch_size}); "
                             "resume it with the same strategy and number of devices")
        start_epoch, best, wait = st["epoch"], st["best"], st["wait"]
        result.history, result.best_epoch = st["history"], st["best_epoch"]
        result.resumed_from_epoch = start_epoch

    n = len(x_train)
    steps_per_epoch = int(math.ceil(n / gbatch))
    data = _EpochPermutedBatches(x_train, y_train, gbatch, seed)
    bar = tqdm(total=epochs, initial=start_epoch, desc=desc, unit="epoch", leave=False,
               disable=not progress or os.environ.get("REPRO_NO_PROGRESS") == "1")
    loop = {"best": best, "wait": wait, "stopped": False, "this_call": 0}

    class _Loop(keras.callbacks.Callback):
        """Order, learning rate, early stopping, best weights and the saved loop state."""

        def on_epoch_begin(self, epoch, logs=None):
            data.epoch = epoch
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if lr_fn is not None:
                self.model.optimizer.learning_rate.assign(lr_fn(self.epoch * steps_per_epoch + batch))

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            row["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            result.history.append(row)
            if monitor is not None:
                score = row[monitor]
                if _improved(score, loop["best"], mode):
                    loop["best"], loop["wait"], result.best_epoch = score, 0, epoch + 1
                    self.model.save_weights(best_path)
                else:
                    loop["wait"] += 1
                if patience is not None and loop["wait"] >= patience:
                    loop["stopped"] = True
                    self.model.stop_training = True
            bar.update(1)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "epoch"})
            write_log(log_path, result.history)
            state = {"epoch": epoch + 1, "best": loop["best"], "wait": loop["wait"],
                     "best_epoch": result.best_epoch, "history": result.history,
                     "finished": False, "global_batch": gbatch}
            save_checkpoint(ckpt_path, self.model, state)
            atomic_write_json(state_path, state)  # for people; resume reads the checkpoint
            loop["this_call"] += 1
            if (interrupt_after is not None and loop["this_call"] >= interrupt_after
                    and epoch + 1 < epochs and not loop["stopped"]):
                raise TrainingInterrupted(epoch + 1)

    if start_epoch < epochs:
        with in_scope(strategy):
            model.fit(data, epochs=epochs, initial_epoch=start_epoch, verbose=0, shuffle=False,
                      validation_data=validation, validation_batch_size=max(gbatch, 256),
                      callbacks=[_Loop()])
    bar.close()
    best, wait, stopped = loop["best"], loop["wait"], loop["stopped"]
    model.save_weights(state_dir / "final.weights.h5")
    if monitor is not None and restore_best and best_path.is_file():
        model.load_weights(best_path)
    result.best_score, result.stopped_early = best, stopped
    result.epochs_run = len(result.history)
    atomic_write_json(state_path, {"epoch": result.epochs_run, "best": best, "wait": wait,
                                   "best_epoch": result.best_epoch, "history": result.history,
                                   "finished": True, "stopped_early": stopped})
    return result


class TrainingInterrupted(RuntimeError):
    """Raised by ``fit(interrupt_after=...)``: simulates a crash for resume tests."""

    def __init__(self, epoch: int):
        super().__init__(f"training interrupted after epoch {epoch}")
        self.epoch = epoch


def save_checkpoint(path: Path, model, state: dict) -> None:
    """Model variables (incl. dropout seed-generator states, which a .keras file does not
    restore), optimizer variables and the loop state in ONE atomically replaced file, so the
    weights and the epoch counter can never disagree after a crash."""
    arrays = {f"m{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays.update({f"o{i}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, state=np.array(json.dumps(state)), **arrays)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model) -> dict:
    with np.load(path) as ck:
        n_model = sum(k.startswith("m") for k in ck.files)
        if n_model != len(model.variables):
            raise RuntimeError(f"{path}: checkpoint holds {n_model} variables, the model "
                               f"{len(model.variables)}: it belongs to another model")
        for i, v in enumerate(model.variables):
            v.assign(ck[f"m{i}"])
        model.optimizer.build(model.trainable_variables)
        n_opt = sum(k.startswith("o") for k in ck.files)
        if n_opt != len(model.optimizer.variables):
            raise RuntimeError(f"{path}: checkpoint holds {n_opt} optimizer variables, the "
                               f"optimizer {len(model.optimizer.variables)}")
        for i, v in enumerate(model.optimizer.variables):
            v.assign(ck[f"o{i}"])
        return json.loads(str(ck["state"]))


def write_log(path: Path, history: list[dict]) -> None:
    """One CSV row per history entry (columns: every key seen, in order), written atomically."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, path)


def predict(model, x, batch_size: int = 512) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
