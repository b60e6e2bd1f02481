import math

import pytest

from common.schedules import SGDRConfig, sgdr_cycles, sgdr_lr, warmup_cosine_lr


def test_sgdr_cycle_lengths_round_up():
    starts = [s for s, _ in sgdr_cycles(SGDRConfig(), 120)]
    lengths = [n for _, n in sgdr_cycles(SGDRConfig(), 120)]
    assert lengths[:6] == [5, 8, 12, 18, 27, 41]
    # restarts after epochs 5, 13, 25, 43, 70, 111 (spec §2.2)
    assert starts[1:7] == [5, 13, 25, 43, 70, 111]


def test_sgdr_starts_at_max_decays_peak_and_reaches_min():
    cfg = SGDRConfig()
    spe = 10
    assert sgdr_lr(0, spe, cfg) == pytest.approx(cfg.max_lr)
    assert sgdr_lr(5 * spe, spe, cfg) == pytest.approx(cfg.max_lr * 0.8)
    assert sgdr_lr(13 * spe, spe, cfg) == pytest.approx(cfg.max_lr * 0.64)
    last = sgdr_lr(5 * spe - 1, spe, cfg)
    assert cfg.min_lr < last < cfg.min_lr + 1e-6
    mid = sgdr_lr(int(2.5 * spe), spe, cfg)
    assert mid == pytest.approx(cfg.min_lr + 0.5 * (cfg.max_lr - cfg.min_lr))


def test_warmup_cosine():
    assert warmup_cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert warmup_cosine_lr(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine_lr(100, 100, 10, 1.0, 0.01) == pytest.approx(0.01)
    assert warmup_cosine_lr(55, 100, 10, 1.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
