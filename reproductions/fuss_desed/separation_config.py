"""Config of the FUSS separation half (spec fuss_desed.md §1.1, §2.1, §4.1): the ``separation:``
block of ``configs/*.yaml``.

Four concerns, each a frozen dataclass:

* :class:`SepModelConfig` — the TDCN++ separator (spec §1.1): widths, repeats, dilations, mixture
  consistency. The full profile is the official ``improved_tdcn`` config (9,179,401 parameters).
* :class:`SepTrainConfig` — the baseline's training (spec §2.1): Adam, exponential decay, batch 3,
  the number of steps each model trains, and an optional random crop of the training mixtures.
* :class:`GridConfig` — the grid GridSearchCV searches (the report's "Ours", report §2.1). The
  report names no grid; ours and why is in configs/full.yaml. A parameter with one value is
  fixed for the search and shows as a constant column of ``cv_results_``.
* :class:`TimingConfig` — the separation-speed measurement (real-time factor on 10 s mixtures).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import ConfigError

VERSIONS = ("ssdata_reverb", "ssdata")       # FUSS folder names: reverberant, dry
VERSION_LABEL = {"ssdata_reverb": "Reverbant", "ssdata": "Dry"}   # Table 1's row words (sic)
GRID_PARAMETERS = ("learning_rate", "mixture_consistency", "n_repeats", "conv_channels")


@dataclass(frozen=True)
class SepModelConfig:
    variant: str = "fuss_baseline"
    bottleneck: int = 256
    conv_channels: int = 512
    n_repeats: int = 4
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    mixture_consistency: bool = True


@dataclass(frozen=True)
class SepTrainConfig:
    learning_rate: float = 1e-4
    decay_steps: int = 2_000_000
    decay_rate: float = 0.5
    batch_size: int = 3
    steps: int = 200_000
    crop_seconds: float | None = None     # None: whole mixtures, as the baseline
    log_every: int = 1000


@dataclass(frozen=True)
class GridConfig:
    learning_rate: tuple[float, ...] = (1e-4,)
    mixture_consistency: tuple[bool, ...] = (True,)
    n_repeats: tuple[int, ...] = (4,)
    conv_channels: tuple[int, ...] = (512,)
    refit: bool = True

    def param_grid(self) -> dict[str, list]:
        """The ``param_grid`` of GridSearchCV: every parameter with its values."""
        return {name: list(getattr(self, name)) for name in GRID_PARAMETERS}

    def searched(self) -> list[str]:
        """The parameters with more than one value (the axes of the score figure)."""
        return [name for name in GRID_PARAMETERS if len(getattr(self, name)) > 1]

    @property
    def size(self) -> int:
        n = 1
        for name in GRID_PARAMETERS:
            n *= len(getattr(self, name))
        return n


@dataclass(frozen=True)
class TimingConfig:
    enabled: bool = True
    seconds: float = 10.0
    batch_size: int = 3
    repeats: int = 2


@dataclass(frozen=True)
class SeparationConfig:
    enabled: bool = True
    versions: tuple[str, ...] = VERSIONS
    model: SepModelConfig = field(default_factory=SepModelConfig)
    train: SepTrainConfig = field(default_factory=SepTrainConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    eval_batch_size: int = 4


def check_separation(cfg: SeparationConfig) -> SeparationConfig:
    """Value checks the types cannot express; ConfigError names the key."""
    if not cfg.enabled:
        return cfg
    if not cfg.versions or len(set(cfg.versions)) != len(cfg.versions):
        raise ConfigError(f"separation.versions: {list(cfg.versions)} must be distinct and non-empty")
    for v in cfg.versions:
        if v not in VERSIONS:
            raise ConfigError(f"separation.versions: {v!r} is not one of {list(VERSIONS)}")
    m, t, g = cfg.model, cfg.train, cfg.grid
    for key, value in (("model.bottleneck", m.bottleneck), ("model.conv_channels", m.conv_channels),
                       ("model.n_repeats", m.n_repeats), ("train.batch_size", t.batch_size),
                       ("train.steps", t.steps), ("train.decay_steps", t.decay_steps),
                       ("train.log_every", t.log_every), ("eval_batch_size", cfg.eval_batch_size)):
        if value < 1:
            raise ConfigError(f"separation.{key}: must be at least 1, got {value}")
    if not m.dilations or any(d < 1 for d in m.dilations):
        raise ConfigError(f"separation.model.dilations: positive integers expected, got {m.dilations}")
    if t.learning_rate <= 0 or not 0 < t.decay_rate <= 1:
        raise ConfigError("separation.train: learning_rate must be > 0 and decay_rate in (0, 1]")
    if t.crop_seconds is not None and t.crop_seconds <= 0.032:
        raise ConfigError(f"separation.train.crop_seconds: {t.crop_seconds} is shorter than one "
                          "STFT frame (0.032 s)")
    for name in GRID_PARAMETERS:
        values = getattr(g, name)
        if not values:
            raise ConfigError(f"separation.grid.{name}: give at least one value (one value = fixed)")
        if len(set(values)) != len(values):
            raise ConfigError(f"separation.grid.{name}: repeated values {list(values)}")
    if any(v <= 0 for v in g.learning_rate):
        raise ConfigError(f"separation.grid.learning_rate: must be > 0, got {list(g.learning_rate)}")
    if any(v < 1 for v in (*g.n_repeats, *g.conv_channels)):
        raise ConfigError("separation.grid.n_repeats / conv_channels: must be at least 1")
    if cfg.timing.seconds <= 0 or cfg.timing.batch_size < 1 or cfg.timing.repeats < 1:
        raise ConfigError("separation.timing: seconds > 0, batch_size and repeats ≥ 1 expected")
    return cfg


def baseline_params(cfg: SeparationConfig) -> dict:
    """The estimator parameters of the baseline (the model and training of the config)."""
    return {"learning_rate": cfg.train.learning_rate,
            "mixture_consistency": cfg.model.mixture_consistency,
            "n_repeats": cfg.model.n_repeats, "conv_channels": cfg.model.conv_channels}
