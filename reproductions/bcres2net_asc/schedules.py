"""The two schedules of report 003 (seed §3.3, §4), as pure functions of the step or epoch.

* Pre-training learning rate: linear warm-up from ``start_lr`` (1e-8) to ``peak_lr`` (0.01)
  over ``warmup_epochs`` (10), then one cosine decay to ``final_lr`` (0) at the last step.
* Device-aware data-random-drop rate: rises along a sigmoid from 0 (first fine-tuning epoch)
  to ``max_rate`` (0.9, last epoch). The report gives neither the slope nor the centre; we
  centre the logistic at the middle epoch, give it slope ``steepness`` over the normalised
  epoch index t ∈ [0, 1], and rescale it so that it starts at exactly 0 and ends at max_rate.
"""
from __future__ import annotations

import math


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, start_lr: float,
                  peak_lr: float, final_lr: float) -> float:
    """Learning rate of optimisation step ``step`` (0-based) of ``total_steps``."""
    if step < warmup_steps:
        return start_lr + (peak_lr - start_lr) * step / max(1, warmup_steps)
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return final_lr + 0.5 * (peak_lr - final_lr) * (1.0 + math.cos(math.pi * t))


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def drop_rate(epoch: int, epochs: int, max_rate: float, steepness: float) -> float:
    """Device-A drop rate of fine-tuning epoch ``epoch`` (0-based) of ``epochs``."""
    if epochs <= 1:
        return max_rate
    t = epoch / (epochs - 1)
    lo, hi = _logistic(-steepness / 2), _logistic(steepness / 2)
    return max_rate * (_logistic(steepness * (t - 0.5)) - lo) / (hi - lo)
