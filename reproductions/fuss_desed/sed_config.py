"""Config of the DESED SED half (spec fuss_desed.md §1.2, §2.2, §4.2): the ``sed:`` block of
``configs/*.yaml``.

Four concerns, one frozen dataclass each: the network (:class:`SedModelConfig`: which
``sed_models`` variant and, for the smoke profile only, narrower widths), the mean-teacher
recipe (:class:`SedTrainConfig`), post-processing and the official metrics
(:class:`SedEvalConfig`) and the comparison systems the issue asks for (a weak-labels-only
model and a constant predictor). Defaults are the DCASE 2020 Task 4 baseline's values; every
one is written out, with its source, in ``configs/full.yaml``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import ConfigError


@dataclass(frozen=True)
class SedModelConfig:
    """The CRNN (spec §1.2). ``filters`` / ``rnn_units`` = null keep the reference widths
    (1,112,420 parameters); the smoke profile narrows them (same 7 blocks, same layers)."""
    variant: str = "baseline_crnn"
    filters: tuple[int, ...] | None = None
    rnn_units: int | None = None
    # null = the baseline's 0.5 after every block and the GRU
    dropout: float | None = None


@dataclass(frozen=True)
class SedTrainConfig:
    """The mean-teacher recipe (spec §2.2, baseline ``config.py`` / ``main.py``)."""
    epochs: int = 200
    batch_layout: tuple[int, int, int] = (6, 12, 6)  # weak, unlabelled, synthetic (strong)
    max_learning_rate: float = 1e-3
    adam_beta_1: float = 0.9
    adam_beta_2: float = 0.999
    rampup_epochs: int = 50
    max_consistency: float = 2.0
    ema_max_alpha: float = 0.999
    noise_snr_db: float = 30.0
    # share of the synthetic soundscapes held out for model selection, and its pandas seed
    synthetic_valid_fraction: float = 0.2
    synthetic_valid_seed: int = 26
    # keep the epoch with the best event macro F1 on the held-out synthetic clips
    select_best: bool = True
    # gradient-norm CSV: one row every N optimizer steps (the report's W&B gradient panels)
    grad_log_every: int = 10


@dataclass(frozen=True)
class SedEvalConfig:
    """Post-processing (spec §2.2) and the DCASE 2020 metrics (spec §4.2)."""
    threshold: float = 0.5
    median_window_s: float = 0.45
    t_collar_s: float = 0.2
    percentage_of_length: float = 0.2
    segment_s: float = 1.0
    dtc: float = 0.5
    gtc: float = 0.5
    cttc: float = 0.3
    max_efpr_per_hour: float = 100.0
    # psds_eval's operating points 0.01, 0.03 ... 0.99 (emulated; see sed_evaluation.py)
    psds_thresholds: int = 50
    # file of the event-roll figure; null = the validation clip with the most reference events
    example_clip: str | None = None


@dataclass(frozen=True)
class SedConfig:
    enabled: bool = True
    model: SedModelConfig = field(default_factory=SedModelConfig)
    train: SedTrainConfig = field(default_factory=SedTrainConfig)
    eval: SedEvalConfig = field(default_factory=SedEvalConfig)
    # the floor: the same CRNN trained on the weak clips only (no consistency, no
    # synthetic clips), with this batch layout
    weak_only: bool = True
    weak_only_layout: tuple[int, int, int] = (6, 0, 0)
    # feature-extraction worker processes (null = every CPU this process may use)
    workers: int | None = None


def check_sed(cfg: SedConfig) -> SedConfig:
    """Value checks the types cannot express; ConfigError names the ``sed.`` key."""
    from reproductions.fuss_desed.sed_models import FILTERS, MODEL_VARIANTS

    m, t, e = cfg.model, cfg.train, cfg.eval
    if m.variant not in MODEL_VARIANTS:
        raise ConfigError(f"sed.model.variant: unknown {m.variant!r}; known: "
                          f"{sorted(MODEL_VARIANTS)}")
    if m.filters is not None and (len(m.filters) != len(FILTERS) or min(m.filters) < 1):
        raise ConfigError(f"sed.model.filters: need {len(FILTERS)} positive widths (one per "
                          f"block), got {list(m.filters)}")
    if m.dropout is not None and not 0 <= m.dropout < 1:
        raise ConfigError(f"sed.model.dropout must be in [0, 1), got {m.dropout}")
    if m.rnn_units is not None and m.rnn_units < 1:
        raise ConfigError(f"sed.model.rnn_units must be >= 1, got {m.rnn_units}")
    for key, layout in (("sed.train.batch_layout", t.batch_layout),
                        ("sed.weak_only_layout", cfg.weak_only_layout)):
        if len(layout) != 3 or min(layout) < 0 or sum(layout) < 1:
            raise ConfigError(f"{key}: need 3 counts >= 0 (weak, unlabelled, synthetic) with a "
                              f"positive sum, got {list(layout)}")
    if cfg.weak_only_layout[0] < 1 or any(cfg.weak_only_layout[1:]):
        raise ConfigError(f"sed.weak_only_layout: the weak-only model takes weak clips only, "
                          f"got {list(cfg.weak_only_layout)}")
    for key, value in (("sed.train.epochs", t.epochs), ("sed.train.grad_log_every",
                                                        t.grad_log_every),
                       ("sed.eval.psds_thresholds", e.psds_thresholds)):
        if value < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")
    if t.rampup_epochs < 0:
        raise ConfigError(f"sed.train.rampup_epochs must be >= 0, got {t.rampup_epochs}")
    if not 0 < t.synthetic_valid_fraction < 1:
        raise ConfigError("sed.train.synthetic_valid_fraction must be in (0, 1), got "
                          f"{t.synthetic_valid_fraction}")
    if not 0 < t.ema_max_alpha < 1 or t.max_learning_rate <= 0 or t.max_consistency < 0:
        raise ConfigError("sed.train: need 0 < ema_max_alpha < 1, max_learning_rate > 0, "
                          "max_consistency >= 0")
    for key in ("threshold", "dtc", "gtc", "cttc"):
        if not 0 < getattr(e, key) < 1:
            raise ConfigError(f"sed.eval.{key} must be in (0, 1), got {getattr(e, key)}")
    for key in ("median_window_s", "t_collar_s", "segment_s", "max_efpr_per_hour"):
        if getattr(e, key) <= 0:
            raise ConfigError(f"sed.eval.{key} must be > 0, got {getattr(e, key)}")
    if not 0 <= e.percentage_of_length <= 1:
        raise ConfigError(f"sed.eval.percentage_of_length must be in [0, 1], got "
                          f"{e.percentage_of_length}")
    return cfg
