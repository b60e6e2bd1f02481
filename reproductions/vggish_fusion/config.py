"""Typed configuration of the CNN + VGGish fusion reproduction (``configs/full.yaml`` and
``configs/smoke.yaml``).

Defaults are the report's code (``microsoft/dcase-2019`` ``train.py``, spec §1–§2); the report
text's readings are named options: ``model.fc1: concat`` (the 1536-d concatenation of §4.1),
``train.zero_weight_indices: [28, 29, 34]`` (the three zero class weights of the code, spec §1.5
item 5), ``labels.mode: official_baseline`` (the baseline's label rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from common.config import load_config
from common.errors import ConfigError
from common.distribute import StrategyName, strategy_field

CONFIG_DIR = Path(__file__).parent / "configs"
LABEL_MODES = ("report", "official_baseline")
OUTPUT_MODES = {"all": 37, "fine": 29, "coarse": 8}


@dataclass(frozen=True)
class LogMelConfig:
    """The spectrogram input (spec §2.1): ``librosa.feature.melspectrogram`` defaults at 44.1 kHz,
    ``power_to_db(ref=np.max)``, padded or cut to ``frames`` (862 for 10 s)."""
    samplerate: int = 44100
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    power: float = 2.0
    top_db: float = 80.0
    frames: int = 862

    def __post_init__(self) -> None:
        for name in ("samplerate", "n_fft", "hop_length", "n_mels", "frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"features.logmel.{name}={getattr(self, name)!r}: must be >= 1")


@dataclass(frozen=True)
class VGGishInputConfig:
    """VGGish's input (spec §2.2, ``vggish_params.py``): 16 kHz, 25 ms / 10 ms STFT magnitude,
    64 HTK mel bands 125–7,500 Hz, log(mel + 0.01), 96-frame examples without overlap."""
    samplerate: int = 16000
    window_seconds: float = 0.025
    hop_seconds: float = 0.010
    n_mels: int = 64
    fmin: float = 125.0
    fmax: float = 7500.0
    log_offset: float = 0.01
    example_frames: int = 96
    example_hop_frames: int = 96
    examples: int = 10   # per 10 s clip (the fusion model's 10 × 128 input)

    def __post_init__(self) -> None:
        if not 0 < self.fmin < self.fmax <= self.samplerate / 2:
            raise ConfigError(f"features.vggish.fmin/fmax={self.fmin}/{self.fmax}: need "
                              f"0 < fmin < fmax <= samplerate/2")
        if self.examples < 1 or self.example_frames < 1 or self.example_hop_frames < 1:
            raise ConfigError("features.vggish.examples/example_frames/example_hop_frames must "
                              "be >= 1")


@dataclass(frozen=True)
class FeatureConfig:
    logmel: LogMelConfig = field(default_factory=LogMelConfig)
    vggish: VGGishInputConfig = field(default_factory=VGGishInputConfig)


@dataclass(frozen=True)
class EmbeddingConfig:
    """VGGish embeddings (spec §2.2). The official weights / PCA come from ``$VGGISH_CHECKPOINT`` /
    ``$VGGISH_PCA`` when set (``vggish_weights.py``); without them the network keeps its seeded
    random initialisation and the PCA is fitted on the training split (``pca: fitted``) — then it
    is *not* VGGish and no number that uses it can be REPRODUCED."""
    embedding_relu: bool = True    # the DCASE2019 baseline's VGGish copy (ReLU on the 128-d layer)
    quantize: bool = True          # 8-bit post-processing (official default)
    batch_size: int = 64           # examples per VGGish forward call
    random_seed: int = 0           # seed of the stand-in random weights when no checkpoint is given


@dataclass(frozen=True)
class LabelConfig:
    # "report": > 50 % of a file's non-missing votes (spec §2.3); "official_baseline": annotator 0
    # when present, else any annotator
    mode: Literal["report", "official_baseline"] = "report"
    outputs: Literal["all", "fine", "coarse"] = "all"


@dataclass(frozen=True)
class ModelConfig:
    fc1: Literal["bilinear", "concat"] = "bilinear"
    fc1_units: int = 512       # the bilinear rank (report Table 2)
    fc2_units: int = 256
    width: float = 1.0         # channel multiplier of the conv trunk (1.0 = report Table 1)
    fc_dropout: float = 0.2


@dataclass(frozen=True)
class TrainConfig:
    """The report's loop (spec §2.4): Adam, BCE-with-logits with pos_weight = w^(1/root), per
    epoch the official coarse and fine micro-AUPRC on validate; a checkpoint whenever either
    improves; after ``stagnation`` epochs without one the learning rate is multiplied by the
    current factor, and once it is at or below ``min_lr`` it restarts at ``lr`` with the factor
    raised by ``factor_step`` (a fresh Adam at every change)."""
    lr: float = 0.01
    batch_size: int = 32
    max_epochs: int = 10000
    stagnation: int = 10
    min_lr: float = 1.0e-6
    factor: float = 0.1
    factor_step: float = 0.1
    weight_root: float = 10.0
    zero_weight_indices: tuple[int, ...] = ()
    jit_compile: bool = False
    strategy: StrategyName = strategy_field()  # noqa: RUF009 (a dataclasses.field)


@dataclass(frozen=True)
class HierarchicalConfig:
    """Submission 3 (spec §1.4): M_C = the CNN+VGGish1 checkpoint; one VGG_alt fine model per
    coarse category with several fine tags, RMSprop, plateau schedule, early stopping."""
    enabled: bool = True
    fine_models: tuple[int, ...] = (1, 2, 4, 5, 6, 7)
    lr: float = 0.01            # torch.optim.RMSprop's default (the script passes none)
    batch_size: int = 64
    max_epochs: int = 100
    plateau_patience: int = 6
    plateau_factor: float = 0.2
    early_stopping: int = 10
    threshold: float = 0.5
    width: float = 1.0
    fc1_units: int = 512
    fc2_units: int = 256


@dataclass(frozen=True)
class BaselineConfig:
    """The official DCASE2019 Task 5 baseline (``classify.py``): framewise logistic regression on
    standardised VGGish embeddings, clip score = mean over frames; early stopping on the
    validation loss."""
    enabled: bool = True
    lr: float = 1.0e-4
    l2: float = 1.0e-5
    batch_size: int = 64
    max_epochs: int = 1000
    patience: int = 20


@dataclass(frozen=True)
class BenchmarkConfig:
    """Time the full-size bilinear head's training step on this machine (batch
    ``train.batch_size``, Adam, XLA as ``jit_compile``): the cost that dominates the report's
    training (stack notes: 2.3 s with XLA on 2 cores). Random inputs; a timing, never compared."""
    enabled: bool = True
    steps: int = 3
    jit_compile: bool = False


@dataclass(frozen=True)
class FusionConfig:
    profile: Literal["smoke", "full"] = "full"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hierarchical: HierarchicalConfig = field(default_factory=HierarchicalConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    mini_seed: int = 0


def check(cfg: FusionConfig) -> FusionConfig:
    """Rules that span fields (each names the key at fault)."""
    t, h = cfg.train, cfg.hierarchical
    if not 0 < t.min_lr < t.lr:
        raise ConfigError(f"train.min_lr={t.min_lr} must be in (0, train.lr={t.lr})")
    if not 0 < t.factor < 1:
        raise ConfigError(f"train.factor={t.factor} must be in (0, 1)")
    if t.weight_root <= 0:
        raise ConfigError(f"train.weight_root={t.weight_root} must be > 0")
    bad = [i for i in t.zero_weight_indices if not 0 <= i < OUTPUT_MODES["all"]]
    if bad:
        raise ConfigError(f"train.zero_weight_indices {bad}: indices of the 37-vector are 0..36")
    unknown = sorted(set(h.fine_models) - {1, 2, 4, 5, 6, 7})
    if unknown:
        raise ConfigError(f"hierarchical.fine_models {unknown}: fine models exist for coarse "
                          "categories 1, 2, 4, 5, 6, 7 (3 and 8 have one fine tag)")
    if h.enabled and cfg.labels.outputs != "all":
        raise ConfigError("hierarchical.enabled needs labels.outputs=all (M_C is the 37-output "
                          "CNN+VGGish checkpoint)")
    for name, value in (("model.width", cfg.model.width), ("hierarchical.width", h.width)):
        if value <= 0:
            raise ConfigError(f"{name}={value} must be > 0")
    return cfg


def load(profile: str, overrides: list[str] | tuple[str, ...] = ()) -> FusionConfig:
    return check(load_config(FusionConfig, CONFIG_DIR / f"{profile}.yaml", overrides))
