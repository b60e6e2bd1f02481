"""Learning-rate schedules as pure functions of the global batch step.

Pure functions (rather than callbacks with counters) make an interrupted run resume on exactly
the learning rate it would have had: the step is all the state there is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SGDRConfig:
    """Cosine annealing with warm restarts (Loshchilov & Hutter), as the SwishNet report's callback:
    the rate is updated every batch, each restart multiplies the peak by ``decay`` and the cycle
    length (in epochs) by ``mult``, rounded up."""
    min_lr: float = 1e-5
    max_lr: float = 5e-4
    decay: float = 0.8
    first_cycle_epochs: int = 5
    mult: float = 1.5


def sgdr_cycles(cfg: SGDRConfig, epochs: int) -> list[tuple[int, int]]:
    """(start_epoch, length) of every cycle that begins before ``epochs``."""
    cycles, start, length = [], 0, cfg.first_cycle_epochs
    while start < epochs:
        cycles.append((start, length))
        start += length
        length = int(math.ceil(length * cfg.mult - 1e-9))
    return cycles


def sgdr_lr(step: int, steps_per_epoch: int, cfg: SGDRConfig) -> float:
    epoch = step // steps_per_epoch
    for k, (start, length) in enumerate(sgdr_cycles(cfg, epoch + 1)):
        if start <= epoch < start + length:
            peak = cfg.max_lr * cfg.decay ** k
            t = (step - start * steps_per_epoch) / (steps_per_epoch * length)
            return cfg.min_lr + 0.5 * (peak - cfg.min_lr) * (1.0 + math.cos(math.pi * t))
    raise AssertionError("unreachable: cycles cover every epoch")


def warmup_cosine_lr(step: int, total_steps: int, warmup_steps: int, max_lr: float,
                     min_lr: float = 0.0) -> float:
    """Linear warm-up to ``max_lr`` then one cosine decay to ``min_lr`` at ``total_steps``."""
    if warmup_steps > 0 and step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * t))


def constant_lr(value: float):
    return lambda step: value
