"""Permutation-invariant SNR-capped log-MSE loss of the FUSS baseline (spec fuss_desed.md §2.1).

Official ``train/model.py`` behaviour, reproduced with ``keras.ops``:

1. The permutation is chosen first, over all S! orders, by the *uncapped* log-MSE
   Σ_i 10·log10(‖s_i − ŝ_π(i)‖² + 1e-8) (the baseline's ``log_mse_loss`` with its default
   ``max_snr=1e6``, whose bias 10^(−1e5) is 0); ties go to the first order in
   ``itertools.permutations`` (``tf.argmin``).
2. On the re-ordered estimates the loss is, per source,
   10·log10(‖s − ŝ‖² + τ·‖r‖² + 1e-8) with, for an active reference (RMS > 1e-8), r = s and
   τ = 10^(−30/10); for an all-zero reference, r = mixture and τ = 10^(−20/10).
3. All source terms (active and zero-reference, zero-reference weight 1.0) are summed and
   divided by batch · S.

The mixture is the sum of the reference sources, as the baseline's data reader builds it, so
:func:`pit_log_mse_loss` fits Keras' ``loss(y_true, y_pred)`` signature: it returns one value
per example (Σ_sources / S) and Keras' default mean over the batch completes the 1/(B·S).
"""
from __future__ import annotations

import itertools

import numpy as np
from keras import ops

ACTIVE_MAX_SNR_DB = 30.0
ZERO_REF_MAX_SNR_DB = 20.0
ACTIVE_RMS_THRESHOLD = 1e-8
LOG_STABILIZER = 1e-8
ZERO_REF_WEIGHT = 1.0


def permutation_matrices(n_sources: int) -> np.ndarray:
    """(S!, S, S) 0/1 matrices P with P[p, i, j] = 1 iff order p pairs reference i with
    estimate j, in ``itertools.permutations`` order."""
    perms = list(itertools.permutations(range(n_sources)))
    mats = np.zeros((len(perms), n_sources, n_sources), dtype=np.float32)
    for p, perm in enumerate(perms):
        mats[p, np.arange(n_sources), perm] = 1.0
    return mats


def _log10(x):
    return ops.log(x) / np.log(10.0).astype(np.float32)


def log_mse(reference, estimate, max_snr_db: float | None = None, bias_reference=None):
    """10·log10(‖s − ŝ‖² + τ·‖r‖² + 1e-8) over the last axis; τ = 10^(−max_snr/10), r =
    ``bias_reference`` (default the reference); ``max_snr_db=None`` means no cap (τ = 0)."""
    err = ops.sum(ops.square(reference - estimate), axis=-1)
    if max_snr_db is not None:
        ref = reference if bias_reference is None else bias_reference
        err = err + 10.0 ** (-max_snr_db / 10.0) * ops.sum(ops.square(ref), axis=-1)
    return 10.0 * _log10(err + LOG_STABILIZER)


def best_permutation(references, estimates):
    """(B, S, S) 0/1 matrices of the order minimising the summed uncapped log-MSE."""
    n_sources = int(references.shape[1])
    # pairwise[b, i, j] = uncapped log-MSE of reference i against estimate j
    pairwise = log_mse(references[:, :, None, :], estimates[:, None, :, :])
    mats = ops.convert_to_tensor(permutation_matrices(n_sources))
    totals = ops.einsum("bij,pij->bp", pairwise, mats)
    best = ops.argmin(totals, axis=1)  # first minimum, as tf.argmin
    return ops.stop_gradient(ops.take(mats, best, axis=0))


def permute_estimates(estimates, permutation):
    """Estimates re-ordered so that row i is the estimate paired with reference i."""
    return ops.einsum("bij,bjt->bit", permutation, estimates)


def per_source_loss(references, estimates, mixture=None):
    """(B, S) capped log-MSE of aligned sources (step 2 of the module docstring)."""
    if mixture is None:
        mixture = ops.sum(references, axis=1)
    rms = ops.sqrt(ops.mean(ops.square(references), axis=-1))
    active = ops.greater(rms, ACTIVE_RMS_THRESHOLD)
    active_loss = log_mse(references, estimates, ACTIVE_MAX_SNR_DB)
    mixture_b = ops.broadcast_to(mixture[:, None, :], ops.shape(references))
    zero_loss = log_mse(references, estimates, ZERO_REF_MAX_SNR_DB, bias_reference=mixture_b)
    return ops.where(active, active_loss, ZERO_REF_WEIGHT * zero_loss)


def pit_log_mse_loss(y_true, y_pred):
    """Keras loss: y_true, y_pred (B, S, T) → (B,) = mean over sources of the capped log-MSE
    after the best permutation (module docstring)."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    aligned = permute_estimates(y_pred, best_permutation(y_true, y_pred))
    return ops.mean(per_source_loss(y_true, aligned), axis=1)
