"""Training loop of report 003: AdamW, mixup, knowledge distillation, device-aware
data-random-drop and the L2-SP penalty of fine-tuning, all in ONE traced train step.

Why our own loop: the report's losses (KD, the penalty towards the pre-trained weights) and its
per-batch device drop do not fit ``model.fit``; and on a CPU the first trace of this deep graph
costs more than a minute, so every stage that trains the same network reuses one
:class:`Trainer` (one traced step): its switches (learning rate, weight decay, KD weight and
temperature, penalty weight) are TensorFlow variables, and the batch dimension is dynamic, so
a dropped sample is really removed from the batch (BatchNorm statistics included) without a
retrace.

AdamW is PyTorch's (the authors' framework): decoupled decay θ ← θ(1 − lr·wd) on every
parameter, then Adam with β = (0.9, 0.999), ε = 1e-8 and bias correction.

Determinism: batch order and every augmentation draw come from ``rng([seed, stage, epoch,
batch])``; the model is seeded by the caller. A stage resumes from its last finished epoch
(``last.npz`` holds model, optimizer and loop state).
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.fileio import atomic_write_json
from reproductions.bcres2net_asc import features as feats
from reproductions.bcres2net_asc.config import AugmentConfig, FeatureConfig

BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
CLASSIFIER = "classifier"


class Trainer:
    """One model, its AdamW state, a traced train step and a traced inference function."""

    def __init__(self, model, n_classes: int):
        import tensorflow as tf

        self.model = model
        self.n_classes = n_classes
        self.params = list(model.trainable_variables)
        zeros = [np.zeros(v.shape, np.float32) for v in self.params]
        self.m = [tf.Variable(z, trainable=False) for z in zeros]
        self.v = [tf.Variable(z, trainable=False) for z in zeros]
        self.t = tf.Variable(0.0, trainable=False)
        self.lr = tf.Variable(0.0, trainable=False)
        self.wd = tf.Variable(0.0, trainable=False)
        self.kd_alpha = tf.Variable(0.0, trainable=False)
        self.kd_temperature = tf.Variable(1.0, trainable=False)
        self.penalty = tf.Variable(0.0, trainable=False)       # λ of λ·Σ(θ − θ₀)²
        self.penalty_divisor = tf.Variable(1.0, trainable=False)  # 1 (sum) or #params (mean)
        self.anchor = [tf.Variable(np.asarray(p.numpy()), trainable=False) for p in self.params]
        self.anchor_mask = [tf.Variable(0.0, trainable=False) for _ in self.params]
        shape = model.input_shape[1:]
        spec_x = tf.TensorSpec((None,) + tuple(shape), tf.float32)
        spec_k = tf.TensorSpec((None, n_classes), tf.float32)
        self._step = tf.function(self._train_step, jit_compile=False, reduce_retracing=True,
                                 input_signature=[spec_x, spec_k, spec_k])
        self._infer = tf.function(lambda x: model(x, training=False), jit_compile=False,
                                  input_signature=[spec_x])

    # -- the traced parts ---------------------------------------------------------------------

    def _train_step(self, x, y, teacher_logits):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            logits = tf.cast(self.model(x, training=True), tf.float32)
            ce = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)
            t = self.kd_temperature
            p_teacher = tf.nn.softmax(teacher_logits / t)
            kl = tf.reduce_sum(p_teacher * (tf.math.log(p_teacher + 1e-12)
                                            - tf.nn.log_softmax(logits / t)), axis=-1) * t * t
            data_loss = tf.reduce_mean((1.0 - self.kd_alpha) * ce + self.kd_alpha * kl)
            drift = tf.add_n([m * tf.reduce_sum(tf.square(p - a)) for p, a, m in
                              zip(self.params, self.anchor, self.anchor_mask)])
            loss = data_loss + self.penalty * drift / self.penalty_divisor
        grads = tape.gradient(loss, self.params)
        self.t.assign_add(1.0)
        c1 = 1.0 - tf.pow(BETA1, self.t)
        c2 = 1.0 - tf.pow(BETA2, self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            p.assign(p * (1.0 - self.lr * self.wd))
            m.assign(BETA1 * m + (1.0 - BETA1) * g)
            v.assign(BETA2 * v + (1.0 - BETA2) * tf.square(g))
            p.assign_sub(self.lr * (m / c1) / (tf.sqrt(v / c2) + ADAM_EPS))
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(y, -1)), tf.float32))
        return data_loss, loss, acc

    # -- state --------------------------------------------------------------------------------

    def reset_optimizer(self, lr: float, weight_decay: float) -> None:
        for s in self.m + self.v:
            s.assign(np.zeros(s.shape, np.float32))
        self.t.assign(0.0)
        self.lr.assign(lr)
        self.wd.assign(weight_decay)

    def configure(self, *, kd_alpha: float = 0.0, kd_temperature: float = 1.0,
                  penalty: float = 0.0, penalty_mode: str = "sum") -> None:
        self.kd_alpha.assign(kd_alpha)
        self.kd_temperature.assign(kd_temperature)
        self.penalty.assign(penalty)
        n = sum(int(a.numpy().sum() > 0) * int(np.prod(p.shape))
                for p, a in zip(self.params, self.anchor_mask))
        self.penalty_divisor.assign(float(max(n, 1)) if penalty_mode == "mean" else 1.0)

    def set_anchor(self, exclude: str = CLASSIFIER) -> None:
        """θ₀ := the current parameters, for every parameter not in layer ``exclude``."""
        for p, a, m in zip(self.params, self.anchor, self.anchor_mask):
            a.assign(p)
            m.assign(0.0 if exclude and exclude in p.path else 1.0)

    def clear_anchor(self) -> None:
        for m in self.anchor_mask:
            m.assign(0.0)

    def reinit_classifier(self, seed: int) -> None:
        """Fresh classifier (seed §3.3: "except for the classifier layer"): kernel N(0, 0.02)
        as the builder's initialiser, bias 0."""
        rng = np.random.default_rng([seed, 7])
        layer = self.model.get_layer(CLASSIFIER)
        kernel, bias = layer.kernel, layer.bias
        kernel.assign(rng.normal(0.0, 0.02, kernel.shape).astype(np.float32))
        bias.assign(np.zeros(bias.shape, np.float32))

    def get_state(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.model.variables]

    def set_state(self, arrays: list[np.ndarray]) -> None:
        if len(arrays) != len(self.model.variables):
            raise ValueError(f"{len(arrays)} arrays for {len(self.model.variables)} variables")
        for v, a in zip(self.model.variables, arrays):
            v.assign(a)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, *self.get_state())
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        with np.load(path) as z:
            self.set_state([z[f"arr_{i}"] for i in range(len(z.files))])

    # -- use ----------------------------------------------------------------------------------

    def logits(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        out = [self._infer(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.n_classes), np.float32)

    def probabilities(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        z = self.logits(x, batch_size).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class StagePlan:
    """What one training stage does; everything else is the Trainer's current state."""

    name: str
    epochs: int
    batch_size: int
    lr_fn: Callable[[int, int], float]          # (global step, steps per epoch) -> lr
    augment: bool = True
    mixup_alpha: float = 0.0
    teacher: Trainer | None = None
    drop_rate_fn: Callable[[int], float] | None = None   # epoch -> device-A drop rate
    drop_device: str = "a"
    stage_code: int = 0
    qat: object | None = None      # qat.WeightQAT: steps on INT8-grid weights (qat.py)


def _state_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    arrays = {f"m{i}": a for i, a in enumerate(trainer.get_state())}
    arrays.update({f"o{i}": np.asarray(s.numpy()) for i, s in enumerate(trainer.m + trainer.v)})
    arrays["t"] = np.asarray(trainer.t.numpy())
    return arrays


def _restore(trainer: Trainer, path: Path) -> dict:
    with np.load(path) as z:
        trainer.set_state([z[f"m{i}"] for i in range(len(trainer.model.variables))])
        for i, s in enumerate(trainer.m + trainer.v):
            s.assign(z[f"o{i}"])
        trainer.t.assign(float(z["t"]))
        return json.loads(str(z["state"]))


def run_stage(trainer: Trainer, plan: StagePlan, x: np.ndarray, y: np.ndarray,
              device: np.ndarray, *, seed: int, stats: tuple[float, float],
              augment_cfg: AugmentConfig, feature_cfg: FeatureConfig, state_dir: Path,
              evaluate: Callable[[Trainer, int], dict] | None = None,
              progress: Callable[[str], None] | None = None) -> list[dict]:
    """Train for ``plan.epochs`` on raw patches ``x`` (n, F, T) and labels ``y``; resumable.

    Every epoch: a fresh permutation; per batch: device-A samples dropped at the epoch's rate,
    roll + SpecAugment, mixup (targets mixed too), teacher logits on the same augmented input,
    the learning rate of the step, one traced train step. ``evaluate(trainer, epoch)`` (test
    curves for the figures, never used to select a model) is appended to the epoch's row.
    """
    from tqdm.auto import tqdm

    state_dir.mkdir(parents=True, exist_ok=True)
    ckpt = state_dir / "last.npz"
    history: list[dict] = []
    start = 0
    if ckpt.is_file():
        st = _restore(trainer, ckpt)
        history, start = st["history"], st["epoch"]
        if plan.qat is not None:
            with np.load(ckpt) as z:
                plan.qat.load([z[f"q{i}"] for i in range(len(plan.qat.shadow))])
    n = len(x)
    steps = int(np.ceil(n / plan.batch_size))
    eye = np.eye(trainer.n_classes, dtype=np.float32)
    mean, std = stats
    bar = tqdm(total=plan.epochs, initial=start, desc=plan.name, unit="epoch", leave=False,
               disable=os.environ.get("REPRO_NO_PROGRESS") == "1")
    for epoch in range(start, plan.epochs):
        t0 = time.perf_counter()
        order = np.random.default_rng([seed, plan.stage_code, epoch]).permutation(n)
        rate = plan.drop_rate_fn(epoch) if plan.drop_rate_fn else 0.0
        losses, totals, accs, seen, dropped = [], [], [], 0, 0
        for b in range(steps):
            rng = np.random.default_rng([seed, plan.stage_code, epoch, b])
            idx = order[b * plan.batch_size:(b + 1) * plan.batch_size]
            if rate > 0:
                drop = (device[idx] == plan.drop_device) & (rng.random(len(idx)) < rate)
                dropped += int(drop.sum())
                idx = idx[~drop]
            if len(idx) < 2:      # BatchNorm needs two items; such a batch is skipped
                continue
            xb = x[idx]
            if plan.augment:
                xb = feats.augment_batch(xb, augment_cfg, feature_cfg, rng)
            yb = eye[y[idx]]
            if plan.mixup_alpha > 0:
                xb, yb, _, _ = feats.mixup(xb, yb, plan.mixup_alpha, rng)
            xin = ((xb - mean) / std)[..., None].astype(np.float32)
            tl = (plan.teacher.logits(xin) if plan.teacher is not None
                  else np.zeros((len(idx), trainer.n_classes), np.float32))
            trainer.lr.assign(plan.lr_fn(epoch * steps + b, steps))
            data_loss, loss, acc = trainer._step(xin, yb, tl.astype(np.float32))
            if plan.qat is not None:
                plan.qat.after_step()
            losses.append(float(data_loss))
            totals.append(float(loss))
            accs.append(float(acc))
            seen += len(idx)
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else float("nan"),
               "total_loss": float(np.mean(totals)) if totals else float("nan"),
               "train_accuracy": float(np.mean(accs)) if accs else float("nan"),
               "lr": float(trainer.lr.numpy()), "drop_rate": rate, "samples": seen,
               "device_a_dropped": dropped, "seconds": time.perf_counter() - t0}
        if evaluate is not None:
            row.update(evaluate(trainer, epoch))
        history.append(row)
        arrays = _state_arrays(trainer)
        arrays["state"] = np.array(json.dumps({"epoch": epoch + 1, "history": history}))
        if plan.qat is not None:          # the float shadow weights of QAT, same file
            arrays.update({f"q{i}": a for i, a in enumerate(plan.qat.shadow)})
        tmp = state_dir / "last.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, ckpt)
        atomic_write_json(state_dir / "history.json", history)
        bar.update(1)
        bar.set_postfix({"loss": f"{row['loss']:.3f}", "lr": f"{row['lr']:.2g}"})
    bar.close()
    return history
