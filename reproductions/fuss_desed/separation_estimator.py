"""The FUSS TDCN++ separator as a scikit-learn estimator, for ``GridSearchCV`` (report §2.1:
"Grid Search … implemented using Scikit Learn … in conjunction with the Keras deep learning
library"; spec §1.3 item 1).

Why our own ``BaseEstimator`` (see /work/shared/stack_notes.md): scikeras is unmaintained and,
with scikit-learn 1.9, loses its estimator type; ``keras.wrappers.SKLearnRegressor`` rejects
3-D targets. GridSearchCV only clones the estimator (from :meth:`get_params`) and indexes X and
y, so a small class whose ``fit(X, y)`` takes mixtures (N, T) and reference sources (N, 4, T)
is all it needs.

* :meth:`TdcnppSeparator.fit` builds the TDCN++ (:func:`.separation_models.tdcn_pp_separator`)
  with the estimator's parameters, seeds everything with ``random_state``, and trains for
  ``steps`` steps of ``batch_size`` examples with Adam and the baseline's exponential decay
  (spec §2.1) on the PIT SNR-capped log-MSE (:mod:`.separation_loss`). Batches come from a
  seeded permutation per epoch; with ``crop_samples`` each example is a seeded random window
  (the smoke profile's short mixtures), without it the whole mixture (the baseline).
* :meth:`predict` separates whole mixtures of any length (the network is fully convolutional
  in time).
* :func:`fuss_scores` is the scorer: the official FUSS metric (:mod:`common.metrics.fuss`) of
  the estimates, as a dict, so GridSearchCV records single-source SI-SNR and multi-source
  SI-SNRi per grid point and refits on the latter.
"""
from __future__ import annotations

import math
import time

import numpy as np
from sklearn.base import BaseEstimator

from common.metrics.fuss import fuss_separation_metrics

SCORE_KEYS = ("multi_source_si_snri", "single_source_si_snr")
REFIT_SCORE = "multi_source_si_snri"   # the official ranking metric of DCASE 2020 Task 4 SS


class TdcnppSeparator(BaseEstimator):
    """TDCN++ mask-based separator (spec §1.1) trained as the FUSS baseline (spec §2.1).

    Every constructor argument is a hyper-parameter GridSearchCV may set; fitted state ends in
    ``_`` (``model_``, ``history_``, ``fit_seconds_``), as scikit-learn expects."""

    def __init__(self, learning_rate: float = 1e-4, mixture_consistency: bool = True,
                 n_repeats: int = 4, conv_channels: int = 512, bottleneck: int = 256,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128),
                 n_sources: int = 4, steps: int = 1000, batch_size: int = 3,
                 decay_steps: int = 2_000_000, decay_rate: float = 0.5,
                 crop_samples: int | None = None, log_every: int = 100,
                 predict_batch_size: int = 4, random_state: int = 0, desc: str = ""):
        self.learning_rate = learning_rate
        self.mixture_consistency = mixture_consistency
        self.n_repeats = n_repeats
        self.conv_channels = conv_channels
        self.bottleneck = bottleneck
        self.dilations = dilations
        self.n_sources = n_sources
        self.steps = steps
        self.batch_size = batch_size
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.crop_samples = crop_samples
        self.log_every = log_every
        self.predict_batch_size = predict_batch_size
        self.random_state = random_state
        self.desc = desc

    # ---------------------------------------------------------------------------- building

    def build_model(self):
        """The Keras TDCN++ with these parameters, input length free."""
        from reproductions.fuss_desed.separation_models import tdcn_pp_separator
        return tdcn_pp_separator(n_sources=self.n_sources, n_samples=None,
                                 bottleneck=self.bottleneck, conv_channels=self.conv_channels,
                                 n_repeats=self.n_repeats, dilations=tuple(self.dilations),
                                 mixture_consistency=self.mixture_consistency)

    def _compile(self, model):
        import keras

        from reproductions.fuss_desed.separation_loss import pit_log_mse_loss
        # tf.train.exponential_decay (the baseline's) defaults to staircase=False
        schedule = keras.optimizers.schedules.ExponentialDecay(
            self.learning_rate, decay_steps=self.decay_steps, decay_rate=self.decay_rate,
            staircase=False)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                      loss=pit_log_mse_loss)
        return model

    # ---------------------------------------------------------------------------- batches

    def _batches(self, n_examples: int, length: int):
        """(example indices, crop starts) per step: a seeded permutation per epoch, batches
        in order, the last partial batch of an epoch topped up from the next permutation."""
        rng = np.random.default_rng([int(self.random_state), 20200])
        crop = self.crop_samples if self.crop_samples and self.crop_samples < length else None
        order: list[int] = []
        for _ in range(self.steps):
            while len(order) < self.batch_size:
                order += [int(i) for i in rng.permutation(n_examples)]
            idx, order = order[:self.batch_size], order[self.batch_size:]
            starts = ([int(s) for s in rng.integers(0, length - crop + 1, size=len(idx))]
                      if crop else [0] * len(idx))
            yield idx, starts, (crop or length)

    # ---------------------------------------------------------------------------- sklearn API

    def fit(self, X, y):
        """Train on mixtures X (N, T) and references y (N, S, T) for ``steps`` steps."""
        from tqdm.auto import tqdm

        from common.training import seed_everything

        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        if X.ndim != 2 or y.ndim != 3 or len(X) != len(y) or y.shape[2] != X.shape[1]:
            raise ValueError(f"TdcnppSeparator.fit: mixtures (N, T) and sources (N, S, T) "
                             f"expected, got {X.shape} and {y.shape}")
        if y.shape[1] != self.n_sources:
            raise ValueError(f"TdcnppSeparator.fit: {y.shape[1]} reference sources, the model "
                             f"has {self.n_sources} outputs")
        seed_everything(int(self.random_state))
        self.model_ = self._compile(self.build_model())
        # Adam's slots created eagerly now: created inside the first traced step they make
        # TensorFlow trace the step twice (about twice the start-up time on this CPU)
        self.model_.optimizer.build(self.model_.trainable_variables)
        self.history_: list[dict] = []
        t0 = time.perf_counter()
        window: list[float] = []
        bar = tqdm(total=self.steps, desc=self.desc or "TDCN++", leave=False, mininterval=2.0)
        for step, (idx, starts, n) in enumerate(self._batches(len(X), X.shape[1]), 1):
            xb = np.stack([X[i, s:s + n] for i, s in zip(idx, starts)])
            yb = np.stack([y[i, :, s:s + n] for i, s in zip(idx, starts)])
            loss = float(self.model_.train_on_batch(xb, yb))
            if not math.isfinite(loss):
                raise FloatingPointError(f"{self.desc}: loss {loss} at step {step}")
            window.append(loss)
            bar.update(1)
            if step % self.log_every == 0 or step == self.steps:
                self.history_.append({"step": step, "loss": float(np.mean(window)),
                                      "seconds": round(time.perf_counter() - t0, 2)})
                window = []
        bar.close()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def predict(self, X) -> np.ndarray:
        """Separated sources (N, S, T) of mixtures X (N, T)."""
        X = np.asarray(X, dtype=np.float32)
        out = [np.asarray(self.model_.predict_on_batch(X[i:i + self.predict_batch_size]))
               for i in range(0, len(X), self.predict_batch_size)]
        return np.concatenate(out).astype(np.float32)

    def score(self, X, y) -> float:
        """The official multi-source SI-SNRi (dB) of the estimates of X against y."""
        return fuss_scores(self, X, y)[REFIT_SCORE]


def official_scores(references: np.ndarray, estimates: np.ndarray) -> dict:
    """Every official FUSS number of (N, S, T) references and estimates (spec §4.1), JSON-ready
    (NaN → None), with the counts behind the means."""
    result = fuss_separation_metrics(zip(references, estimates))
    values = {k: (None if math.isnan(v) else float(v)) for k, v in result.values.items()}
    return {**values, **{k: int(v) for k, v in result.counts.items()}}


def fuss_scores(estimator, X, y) -> dict[str, float]:
    """GridSearchCV scorer: {single-source SI-SNR, multi-source SI-SNRi} of ``estimator`` on
    (X, y), NaN where no pair is scored (GridSearchCV then ranks that point last)."""
    scores = official_scores(np.asarray(y), estimator.predict(X))
    return {k: (float("nan") if scores[k] is None else scores[k]) for k in SCORE_KEYS}


def identity_estimates(mixtures: np.ndarray, n_references: np.ndarray,
                       n_outputs: int = 4) -> np.ndarray:
    """The identity baseline of the issue: every one of the first n (listed sources) estimates
    is mixture / n, the other outputs are zero. SI-SNR is scale-invariant, so each scored pair
    has SI-SNRi 0 dB exactly: the floor a separator must clear."""
    X = np.asarray(mixtures, dtype=np.float32)
    out = np.zeros((len(X), n_outputs, X.shape[1]), dtype=np.float32)
    for i, n in enumerate(n_references):
        out[i, :int(n)] = X[i] / float(n)
    return out
