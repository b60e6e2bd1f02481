"""Official FUSS / DCASE2020 task 4 separation evaluation (spec fuss_desed.md §4.1).

Follows ``models/dcase2020_fuss_baseline/evaluate_lib.py`` and ``train/metrics.py`` of
google-research/sound-separation, in float32 as the official TensorFlow code:

* SI-SNR(ŝ, s): both normalised to unit energy (energy floored at 1e-16), c = ⟨ŝ̄, s̄⟩,
  signal = c², noise = 1 − c², replaced by ‖ŝ̄ − c·s̄‖² when 1 − c² < 0.01;
  SI-SNR = 10·log10((signal + 1e-8) / (noise + 1e-8)). An all-zero signal gives −80 dB.
* Per example, estimates are re-ordered by the permutation (all S!) maximising the summed
  SI-SNR against all S references (zero references included: they add −80 dB whatever the
  estimate); ties go to the first order of ``itertools.permutations``. The permutation is
  chosen by SI-SNR alone, so a quiet, inactive estimate can take a reference and leave that
  pair unscored — official behaviour, kept.
* Active references: RMS > 1e-8. Active estimates: mean power > 0.01 × the lowest mean power
  among active references (−20 dB). Scored pairs: active reference AND active (aligned)
  estimate.
* SI-SNRi = SI-SNR(ŝ, s) − SI-SNR(mixture, s); the mixture is the sum of the references (the
  official reader never reads the mixture file).
* Examples whose references are all ≈ 0 (``np.allclose(refs, 0)``) are skipped, as officially.
  An example with no reference above the RMS threshold that is not skipped by that rule would
  crash the official script (no count 0 bucket); it is skipped here and counted.
* Reported: single-source SI-SNR = mean SI-SNR over the scored pairs of examples with exactly
  one active reference; multi-source SI-SNRi = mean SI-SNRi over the scored pairs of examples
  with 2–4 active references (pairs pooled); under/equal/over-separation = fraction of
  evaluated examples with fewer / as many / more active estimates than active references.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from common.metrics import MetricResult

ENERGY_FLOOR = np.float32(1e-16)
SNR_EPSILON = np.float32(1e-8)
DIRECT_NOISE_BELOW = np.float32(0.01)
ACTIVE_REF_RMS = np.float32(1e-8)
ACTIVE_EST_RELATIVE_POWER = np.float32(0.01)
MAX_SOURCES = 4
_F32 = np.float32


def si_snr(estimate: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Official SI-SNR in dB over the last axis (float32; broadcasting like the TF code)."""
    est = np.asarray(estimate, dtype=_F32)
    tgt = np.asarray(target, dtype=_F32)

    def normalise(x):
        power = np.sum(np.square(x), axis=-1, keepdims=True, dtype=_F32)
        return x / np.sqrt(np.maximum(power, ENERGY_FLOOR))

    est_n, tgt_n = normalise(est), normalise(tgt)
    cosine = np.sum(est_n * tgt_n, axis=-1, dtype=_F32)
    signal = np.square(cosine)
    noise = _F32(1.0) - signal
    direct = np.sum(np.square(est_n - tgt_n * cosine[..., None]), axis=-1, dtype=_F32)
    noise = np.where(noise >= DIRECT_NOISE_BELOW, noise, direct)
    return (_F32(10.0) * np.log10((signal + SNR_EPSILON) / (noise + SNR_EPSILON))).astype(_F32)


def align_estimates(references: np.ndarray, estimates: np.ndarray
                    ) -> tuple[np.ndarray, tuple[int, ...]]:
    """Estimates re-ordered by the permutation maximising Σ_i SI-SNR(ŝ_π(i), s_i); returns
    (aligned (S, T), π) with aligned[i] = estimates[π[i]]."""
    refs = np.asarray(references, dtype=_F32)
    ests = np.asarray(estimates, dtype=_F32)
    if refs.shape != ests.shape or refs.ndim != 2:
        raise ValueError(f"references {refs.shape} and estimates {ests.shape} must both be "
                         "(sources, samples)")
    n = refs.shape[0]
    pairwise = si_snr(ests[None, :, :], refs[:, None, :])  # [i (ref), j (est)]
    perms = list(itertools.permutations(range(n)))
    rows = np.arange(n)
    # The official code takes argmin of the summed negative SI-SNR in float32.
    totals = np.array([np.sum(-pairwise[rows, list(p)], dtype=_F32) for p in perms], dtype=_F32)
    best = perms[int(np.argmin(totals))]
    return ests[list(best)], best


@dataclass(frozen=True)
class ExampleScores:
    """Official per-example quantities (arrays are per reference, after alignment)."""
    si_snr_separated: np.ndarray
    si_snr_mixture: np.ndarray
    active_references: np.ndarray
    active_estimates: np.ndarray
    permutation: tuple[int, ...]

    @property
    def si_snr_improvement(self) -> np.ndarray:
        return self.si_snr_separated - self.si_snr_mixture

    @property
    def scored_pairs(self) -> np.ndarray:
        return self.active_references & self.active_estimates

    @property
    def n_active_references(self) -> int:
        return int(self.active_references.sum())

    @property
    def n_active_estimates(self) -> int:
        return int(self.active_estimates.sum())


def example_scores(references: np.ndarray, estimates: np.ndarray,
                   mixture: np.ndarray | None = None) -> ExampleScores:
    """Official ``compute_metrics`` for one example: references/estimates (S, T); the mixture
    defaults to the sum of the references."""
    refs = np.asarray(references, dtype=_F32)
    aligned, perm = align_estimates(refs, estimates)
    mix = refs.sum(axis=0, dtype=_F32) if mixture is None else np.asarray(mixture, dtype=_F32)
    power_est = np.mean(np.square(aligned), axis=-1, dtype=_F32)
    power_ref = np.mean(np.square(refs), axis=-1, dtype=_F32)
    active_refs = np.sqrt(power_ref) > ACTIVE_REF_RMS
    min_power = np.min(power_ref[active_refs]) if active_refs.any() else _F32(np.inf)
    active_ests = power_est > ACTIVE_EST_RELATIVE_POWER * min_power
    return ExampleScores(
        si_snr_separated=si_snr(aligned, refs),
        si_snr_mixture=si_snr(np.broadcast_to(mix, refs.shape), refs),
        active_references=active_refs,
        active_estimates=active_ests,
        permutation=perm,
    )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def fuss_separation_metrics(examples: Iterable[tuple[np.ndarray, np.ndarray]]) -> MetricResult:
    """Official FUSS summary over (references (S, T), estimates (S, T)) pairs.

    Values: ``single_source_si_snr``, ``multi_source_si_snri``, ``si_snri_{2,3,4}_sources``,
    ``under_separation``, ``equal_separation``, ``over_separation`` (NaN when undefined).
    Counts: ``single_source_count`` / ``multi_source_count`` (scored pairs behind the two
    headline means), ``examples_evaluated``, ``examples_skipped_all_zero``,
    ``examples_skipped_no_active_reference``."""
    si_snr_by_count: dict[int, list[float]] = {c: [] for c in range(1, MAX_SOURCES + 1)}
    si_snri_by_count: dict[int, list[float]] = {c: [] for c in range(1, MAX_SOURCES + 1)}
    under = equal = over = evaluated = skipped_zero = skipped_none = 0
    for references, estimates in examples:
        refs = np.asarray(references, dtype=_F32)
        if np.allclose(refs, 0):
            skipped_zero += 1
            continue
        scores = example_scores(refs, estimates)
        n_ref = scores.n_active_references
        if n_ref == 0:
            skipped_none += 1
            continue
        if n_ref > MAX_SOURCES:
            raise ValueError(f"{n_ref} active references; FUSS has at most {MAX_SOURCES}")
        evaluated += 1
        n_est = scores.n_active_estimates
        under += n_est < n_ref
        equal += n_est == n_ref
        over += n_est > n_ref
        pairs = scores.scored_pairs
        si_snr_by_count[n_ref].extend(scores.si_snr_separated[pairs].tolist())
        si_snri_by_count[n_ref].extend(scores.si_snr_improvement[pairs].tolist())
    multi = [v for c in (2, 3, 4) for v in si_snri_by_count[c]]
    values = {
        "single_source_si_snr": _mean(si_snr_by_count[1]),
        "multi_source_si_snri": _mean(multi),
        **{f"si_snri_{c}_sources": _mean(si_snri_by_count[c]) for c in (2, 3, 4)},
        "under_separation": under / evaluated if evaluated else float("nan"),
        "equal_separation": equal / evaluated if evaluated else float("nan"),
        "over_separation": over / evaluated if evaluated else float("nan"),
    }
    counts = {
        "single_source_count": len(si_snr_by_count[1]),
        "multi_source_count": len(multi),
        "examples_evaluated": evaluated,
        "examples_skipped_all_zero": skipped_zero,
        "examples_skipped_no_active_reference": skipped_none,
    }
    params = {
        "definition": "google-research/sound-separation dcase2020_fuss_baseline evaluate_lib",
        "si_snr_epsilon": float(SNR_EPSILON), "energy_floor": float(ENERGY_FLOOR),
        "active_reference_rms": float(ACTIVE_REF_RMS),
        "active_estimate_relative_power": float(ACTIVE_EST_RELATIVE_POWER),
        "permutation": "max summed SI-SNR over all references", "dtype": "float32",
        "mixture": "sum of references",
    }
    return MetricResult(values=values, params=params, counts=counts)
