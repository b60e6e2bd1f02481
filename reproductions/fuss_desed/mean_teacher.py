"""Mean-teacher training pieces of the DCASE 2020 Task 4 SED baseline (specs/fuss_desed.md
§2.2; ``turpaultn/dcase20_task4`` ``baseline/main.py``, ``utilities/ramps.py``,
``utilities/Transforms.py``, ``evaluation_measures.py``).

Baseline facts these functions encode:

- ``global_step`` = 0-based index of the batch (epoch·batches_per_epoch + i). The ramp-up
  r = exp(−5(1 − min(step, R)/R)²), R = 50 epochs of batches, scales both the learning rate
  (0.001·r) and the consistency weight (2·r), both evaluated at the step *before* the update.
- After the optimizer step the counter is incremented and the teacher updated with
  α = min(1 − 1/(step + 1), 0.999) using that incremented step (α = 0.5 after the first
  update): θ_teacher ← α·θ_teacher + (1 − α)·θ_student, over PyTorch ``parameters()`` only,
  i.e. the Keras trainable weights. The teacher's BatchNorm running statistics are not
  averaged: the teacher runs in training mode (``crnn_ema.train()``), so its own forward pass
  updates them from the noisy batch, and its dropout is active too.
- Batch of 24 = 6 weak, 12 unlabelled, 6 synthetic (strong), in that order. Loss =
  BCE(weak student, weak labels)[weak rows] + BCE(strong student, frame labels)[synthetic rows]
  + 2r·[MSE(strong student, strong teacher) + MSE(weak student, weak teacher)] over all rows;
  BCE and MSE are PyTorch means over every element (BCE log terms clamped at −100 as
  ``nn.BCELoss``).
- Teacher input: Gaussian noise added to the *linear* mel (before the log), std per mel bin
  sqrt(mean_t(x²)·10^(−SNR/10)), SNR 30 dB; the student gets the clean features.
- Post-processing: threshold (≥ 0.5, dcase_util ``global_threshold``), then a median filter of
  7 output frames along time (``scipy.ndimage.median_filter`` size (7, 1), its default
  'reflect' border), runs → events, frame index × 4·255/16000 s, clipped to [0, 10] s.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from common.errors import ConfigError
from common.metrics.sed import frames_to_events
from reproductions.fuss_desed import sed_features

BATCH_LAYOUT = (6, 12, 6)  # weak, unlabelled, synthetic (strong)
MAX_CONSISTENCY = 2.0
MAX_LEARNING_RATE = 1e-3
RAMPUP_EPOCHS = 50
EMA_MAX_ALPHA = 0.999
NOISE_SNR_DB = 30.0
THRESHOLD = 0.5
MEDIAN_WINDOW_SECONDS = 0.45
BCE_LOG_CLAMP = -100.0  # torch.nn.BCELoss clamps log(p) and log(1-p) at -100
OUTPUT_FRAME_SECONDS = 4 * sed_features.HOP_LENGTH / sed_features.SAMPLE_RATE  # 0.06375 s
# int(0.45 s × 15.686 frames/s) = 7 (baseline: max(int(median_window_s · frames/s), 1)).
MEDIAN_WINDOW = max(int(MEDIAN_WINDOW_SECONDS / OUTPUT_FRAME_SECONDS), 1)


# --------------------------------------------------------------------------------------------
# schedules


def sigmoid_rampup(step: float, rampup_steps: float) -> float:
    """exp(−5(1 − clip(step, 0, R)/R)²); 1.0 when R = 0 (baseline ``ramps.exp_rampup``)."""
    if rampup_steps < 0:
        raise ConfigError(f"rampup_steps must be >= 0, got {rampup_steps}")
    if rampup_steps == 0:
        return 1.0
    phase = 1.0 - min(max(float(step), 0.0), float(rampup_steps)) / float(rampup_steps)
    return float(math.exp(-5.0 * phase * phase))


def _sigmoid_rampup_tensor(step, rampup_steps: float):
    ops = keras.ops
    if rampup_steps == 0:
        return ops.convert_to_tensor(1.0)
    phase = 1.0 - ops.clip(ops.cast(step, "float32"), 0.0, float(rampup_steps)) / rampup_steps
    return ops.exp(-5.0 * phase * phase)


def consistency_weight(step: float, rampup_steps: float,
                       max_weight: float = MAX_CONSISTENCY) -> float:
    """The baseline's ``max_consistency_cost · r(step)``."""
    return max_weight * sigmoid_rampup(step, rampup_steps)


def ema_alpha(step: int, max_alpha: float = EMA_MAX_ALPHA) -> float:
    """min(1 − 1/(step + 1), max_alpha); ``step`` = number of optimizer updates done (≥ 1)."""
    return min(1.0 - 1.0 / (step + 1.0), max_alpha)


@keras.saving.register_keras_serializable(package="fuss_desed")
class RampupLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = max_lr · r(step) with the optimizer's 0-based iteration count (the baseline's
    ``adjust_learning_rate`` before each step)."""

    def __init__(self, max_lr: float, rampup_steps: float):
        self.max_lr, self.rampup_steps = float(max_lr), float(rampup_steps)

    def __call__(self, step):
        return self.max_lr * _sigmoid_rampup_tensor(step, self.rampup_steps)

    def get_config(self) -> dict[str, float]:
        return {"max_lr": self.max_lr, "rampup_steps": self.rampup_steps}


# --------------------------------------------------------------------------------------------
# teacher input


def teacher_noise(linear_mel: np.ndarray, rng: np.random.Generator,
                  snr_db: float = NOISE_SNR_DB) -> np.ndarray:
    """Linear mel + N(0, σ_f²) with σ_f = sqrt(mean_t(x_f²) · 10^(−snr/10)) per mel bin f
    (time axis −2), as ``AugmentGaussianNoise.gaussian_noise``."""
    x = np.asarray(linear_mel, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"teacher_noise expects (frames, bins), got shape {x.shape}")
    std = np.sqrt(np.mean(x * x * 10.0 ** (-snr_db / 10.0), axis=-2))
    return (x + rng.normal(0.0, 1.0, x.shape) * std).astype(np.float32)


def student_teacher_inputs(linear_mel: np.ndarray, mean: np.ndarray, std: np.ndarray,
                           rng: np.random.Generator, snr_db: float = NOISE_SNR_DB,
                           n_frames: int = sed_features.N_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(student, teacher) network inputs from one example's linear mel, in the baseline's
    transform order: [noise] → amplitude_to_db → pad/truncate → normalise."""
    def finish(x: np.ndarray) -> np.ndarray:
        db = sed_features.amplitude_to_db(x)
        return sed_features.normalise(sed_features.pad_or_truncate(db, n_frames), mean, std)

    return finish(linear_mel), finish(teacher_noise(linear_mel, rng, snr_db))


# --------------------------------------------------------------------------------------------
# losses


def batch_slices(layout: Sequence[int] = BATCH_LAYOUT) -> dict[str, slice]:
    """Row slices of the weak, unlabelled and synthetic (strong) parts of a batch."""
    if len(layout) != 3 or any(int(n) < 0 for n in layout):
        raise ConfigError(f"batch layout must be 3 counts (weak, unlabelled, synthetic), got "
                          f"{layout}")
    n_weak, n_unlab, n_strong = (int(n) for n in layout)
    return {"weak": slice(0, n_weak), "unlabelled": slice(n_weak, n_weak + n_unlab),
            "strong": slice(n_weak + n_unlab, n_weak + n_unlab + n_strong)}


def bce(pred, target):
    """``torch.nn.BCELoss()``: mean of −[t·log p + (1−t)·log(1−p)], logs clamped at −100."""
    ops = keras.ops
    log_p = ops.maximum(ops.log(pred), BCE_LOG_CLAMP)
    log_q = ops.maximum(ops.log(1.0 - pred), BCE_LOG_CLAMP)
    return -ops.mean(target * log_p + (1.0 - target) * log_q)


def mse(a, b):
    """``torch.nn.MSELoss()``: mean over every element."""
    return keras.ops.mean(keras.ops.square(a - b))


def mean_teacher_losses(student_strong, student_weak, teacher_strong, teacher_weak,
                        strong_target, weak_target, weight,
                        layout: Sequence[int] = BATCH_LAYOUT) -> dict[str, Any]:
    """Supervised and consistency terms of one batch laid out as ``layout``. Targets are given
    for every row (unlabelled rows are ignored); ``weight`` = 2·r(step). A part with 0 rows
    contributes 0 (the baseline's masks would be ``None`` there)."""
    parts = batch_slices(layout)
    zero = keras.ops.convert_to_tensor(0.0)
    weak_loss = (bce(student_weak[parts["weak"]], weak_target[parts["weak"]])
                 if layout[0] else zero)
    strong_loss = (bce(student_strong[parts["strong"]], strong_target[parts["strong"]])
                   if layout[2] else zero)
    cons_strong = mse(student_strong, keras.ops.stop_gradient(teacher_strong))
    cons_weak = mse(student_weak, keras.ops.stop_gradient(teacher_weak))
    total = weak_loss + strong_loss + weight * (cons_strong + cons_weak)
    return {"loss": total, "weak_bce": weak_loss, "strong_bce": strong_loss,
            "consistency_strong": cons_strong, "consistency_weak": cons_weak,
            "consistency_weight": weight}


def ema_update(teacher_variables: Sequence[Any], student_variables: Sequence[Any],
               alpha) -> None:
    """θ_t ← α·θ_t + (1 − α)·θ_s for every pair (same architecture, same order)."""
    if len(teacher_variables) != len(student_variables):
        raise ConfigError(f"teacher has {len(teacher_variables)} variables, student "
                          f"{len(student_variables)}")
    for t, s in zip(teacher_variables, student_variables):
        if tuple(t.shape) != tuple(s.shape):
            raise ConfigError(f"EMA pair {t.path} {tuple(t.shape)} vs {s.path} "
                              f"{tuple(s.shape)} differ in shape")
        t.assign(alpha * t + (1.0 - alpha) * keras.ops.cast(s, t.dtype))


# --------------------------------------------------------------------------------------------
# trainer


class MeanTeacher(keras.Model):
    """Student + EMA teacher with the baseline's training step (TensorFlow backend).

    ``fit`` data: ``((student_x, teacher_x), (strong_target, weak_target))`` with batches laid
    out as ``layout``. Only the student is optimised; after each update the teacher follows by
    :func:`ema_update` with α = :func:`ema_alpha` of the new update count. Per-variable gradient
    L2 norms of the last step are kept in ``grad_norms`` (one entry per student trainable
    variable, in ``student.trainable_variables`` order) for :class:`GradientNormCSVLogger`.

    The baseline initialises the teacher with its own ``weights_init`` draw (not a copy of the
    student); build both from the registry after one seed to do the same.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, rampup_steps: float,
                 layout: Sequence[int] = BATCH_LAYOUT, max_consistency: float = MAX_CONSISTENCY,
                 ema_max_alpha: float = EMA_MAX_ALPHA, **kwargs: Any):
        super().__init__(**kwargs)
        if student is teacher:
            raise ConfigError("student and teacher must be two model instances")
        self.student, self.teacher = student, teacher
        self.rampup_steps = float(rampup_steps)
        self.layout = tuple(int(n) for n in layout)
        batch_slices(self.layout)
        self.max_consistency = float(max_consistency)
        self.ema_max_alpha = float(ema_max_alpha)
        n_vars = len(student.trainable_variables)
        self.grad_norms = self.add_weight(shape=(n_vars,), initializer="zeros",
                                          trainable=False, name="grad_norms")
        self.grad_norm_names = [v.path for v in student.trainable_variables]

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def build_optimizer(self) -> None:
        """Create the optimizer slots for the student only (Keras would otherwise build them
        for every variable of this wrapper, teacher included)."""
        if not self.optimizer.built:
            self.optimizer.build(self.student.trainable_variables)

    def train_step(self, data):
        import tensorflow as tf

        # fit gives (x, y); train_on_batch gives (x, y, sample_weight)
        (x_student, x_teacher), (strong_target, weak_target), _ = (
            keras.utils.unpack_x_y_sample_weight(data))
        ops = keras.ops
        step = self.optimizer.iterations  # 0-based: the baseline's global_step before update
        weight = self.max_consistency * _sigmoid_rampup_tensor(step, self.rampup_steps)
        # The baseline's teacher runs in training mode: batch statistics, dropout, and its
        # own BN running-statistics update.
        t_strong, t_weak = self.teacher(x_teacher, training=True)
        with tf.GradientTape() as tape:
            s_strong, s_weak = self.student(x_student, training=True)
            losses = mean_teacher_losses(s_strong, s_weak, t_strong, t_weak,
                                         ops.cast(strong_target, s_strong.dtype),
                                         ops.cast(weak_target, s_weak.dtype), weight,
                                         self.layout)
        variables = self.student.trainable_variables
        grads = tape.gradient(losses["loss"], variables)
        self.grad_norms.assign(ops.stack([ops.sqrt(ops.sum(ops.square(g))) for g in grads]))
        self.optimizer.apply(grads, variables)
        done = ops.cast(self.optimizer.iterations, "float32")  # update count after the step
        alpha = ops.minimum(1.0 - 1.0 / (done + 1.0), self.ema_max_alpha)
        ema_update(self.teacher.trainable_variables, variables, alpha)
        return {k: v for k, v in losses.items()} | {"ema_alpha": alpha}


class GradientNormCSVLogger(keras.callbacks.Callback):
    """Every ``every`` optimizer steps, append one CSV row: ``step`` then the L2 norm of the
    gradient of each student trainable variable (one column per variable, named by its path)
    — the offline stand-in for the report's W&B gradient panels. Appends to an existing file
    with the same header (resumed runs); a different header is an error."""

    def __init__(self, path: str | Path, every: int = 1):
        super().__init__()
        if every < 1:
            raise ConfigError(f"GradientNormCSVLogger: every must be >= 1, got {every}")
        self.path, self.every = Path(path), int(every)

    def on_train_begin(self, logs=None):
        header = ["step"] + list(self.model.grad_norm_names)
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as fh:
                existing = next(csv.reader(fh))
            if existing != header:
                raise ConfigError(f"{self.path}: existing gradient-norm log has a different "
                                  "header (another model?)")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="") as fh:
                csv.writer(fh).writerow(header)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every:
            return
        norms = np.asarray(self.model.grad_norms.numpy(), dtype=np.float64)
        with self.path.open("a", newline="") as fh:
            csv.writer(fh).writerow([step] + [f"{v:.8g}" for v in norms])


# --------------------------------------------------------------------------------------------
# post-processing


def median_filter_frames(active: np.ndarray, window: int = MEDIAN_WINDOW) -> np.ndarray:
    """Median filter of ``window`` frames along time (axis 0) per class, scipy's default
    'reflect' border, as the baseline's ``median_filter(pred, (window, 1))``."""
    from scipy.ndimage import median_filter

    a = np.asarray(active)
    if a.ndim != 2:
        raise ConfigError(f"median_filter_frames expects (frames, classes), got {a.shape}")
    if window < 1:
        raise ConfigError(f"median window must be >= 1, got {window}")
    return median_filter(a, size=(window, 1))


def probabilities_to_events(strong: np.ndarray, labels: Sequence[str], filename: str,
                            threshold: float = THRESHOLD, median_window: int = MEDIAN_WINDOW,
                            frame_seconds: float = OUTPUT_FRAME_SECONDS,
                            max_seconds: float = sed_features.CLIP_SECONDS) -> list[dict]:
    """Frame probabilities (T, C) → event dicts (filename, event_label, onset, offset):
    p ≥ threshold → median filter → runs → seconds, clipped to [0, max_seconds]."""
    probs = np.asarray(strong, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(labels):
        raise ConfigError(f"{filename}: strong predictions {probs.shape} do not match "
                          f"{len(labels)} labels")
    active = median_filter_frames((probs >= threshold).astype(np.int8), median_window)
    events = frames_to_events(active, frame_seconds, labels, filename)
    out = []
    for ev in events:
        onset = min(max(ev["onset"], 0.0), max_seconds)
        offset = min(max(ev["offset"], 0.0), max_seconds)
        out.append({**ev, "onset": onset, "offset": offset})
    return out


def frame_labels(events: Sequence[tuple[float, float, str]], labels: Sequence[str],
                 n_frames: int = sed_features.N_FRAMES // 4) -> np.ndarray:
    """Strong targets (n_frames, C) at the pooled resolution: frame = floor(t·16000/255/4)
    (the baseline's ``onset * sample_rate // hop_size // pooling_time_ratio``), offset frame
    excluded as ``ManyHotEncoder.encode_strong_df`` (``y[onset:offset] = 1``)."""
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.zeros((n_frames, len(labels)), dtype=np.float32)
    for onset, offset, label in events:
        if label not in index:
            raise ConfigError(f"frame_labels: unknown label {label!r}")
        start = int(onset * sed_features.SAMPLE_RATE // sed_features.HOP_LENGTH // 4)
        stop = int(offset * sed_features.SAMPLE_RATE // sed_features.HOP_LENGTH // 4)
        y[start:stop, index[label]] = 1.0
    return y



def weak_frame_labels(tags: Sequence[str], labels: Sequence[str],
                      n_frames: int = sed_features.N_FRAMES // 4) -> np.ndarray:
    """A weakly labelled clip's targets (n_frames, C): every frame of each tagged class, as
    ``ManyHotEncoder.encode_strong_df`` encodes a list of labels; the weak target is then the
    max over time (= the tags), as ``target.max(-2)`` in the baseline's train loop."""
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.zeros((n_frames, len(labels)), dtype=np.float32)
    for tag in tags:
        if tag not in index:
            raise ConfigError(f"weak_frame_labels: unknown label {tag!r}")
        y[:, index[tag]] = 1.0
    return y
