"""The DCASE 2020 Task 4 SED baseline CRNN (mean-teacher student and teacher) in Keras 3.

Follows ``turpaultn/dcase20_task4`` ``baseline/models/{CNN,CRNN,RNN}.py`` with the ``main.py``
arguments (specs/fuss_desed.md §1.2). Channels-last: input (B, 628, 128, 1) is PyTorch's
(B, 1, 628, 128).

Block i (7 blocks): Conv2D 3×3 'same' (= padding 1) → BatchNorm → GLU → Dropout(0.5) →
AveragePooling2D(pool_i). The baseline's "GLU" is **not** the usual gated linear unit: it is
``Linear(x) · sigmoid(x)`` with a C→C linear layer over channels at every position (the sigmoid
is applied to the input itself, not to a second convolution). Here that is a Dense(C) on the
channel axis times ``sigmoid(x)``. Pools (time, freq): (2,2), (2,2), then (1,2) ×5, so
628×128 → 157×1. Then (B, 157, 128) → 2-layer bidirectional GRU(128) (concat, no inter-layer
dropout) → Dropout(0.5) → strong = sigmoid(Dense(10)) per frame; attention = softmax over
*classes* of Dense(10), clipped to [1e-7, 1]; weak = Σ_t strong·att / Σ_t att.

Parameter mapping to PyTorch ``parameters()``: Conv2d weight+bias ↔ Conv2D kernel+bias;
BatchNorm2d weight/bias ↔ gamma/beta (trainable); BatchNorm2d running_mean/var (PyTorch
buffers) ↔ Keras moving_mean/moving_variance (non-trainable weights, 1,248 values); GLU
``nn.Linear`` ↔ Dense kernel+bias; ``nn.GRU`` weight_ih/weight_hh/bias_ih/bias_hh ↔ Keras GRU
kernel/recurrent_kernel/bias with ``reset_after=True`` (bias shape (2, 3·units) = the two
PyTorch bias vectors; same gate equations, gate order z, r, h in Keras vs r, z, n in PyTorch).
So the Keras *trainable* count equals the PyTorch ``parameters()`` count: 1,112,420.

BatchNorm: PyTorch ``BatchNorm2d(eps=1e-3, momentum=0.99)`` updates running = 0.01·running +
0.99·batch (PyTorch momentum weights the new batch); Keras momentum weights the old average,
so the equivalent is ``momentum=0.01``. (PyTorch stores the unbiased batch variance in its
running variance, Keras the biased one: a factor n/(n−1) with n ≥ 24·157 values per channel.)

Initialisation (``style="baseline"``) follows ``utilities/utils.weights_init``: conv kernels
Xavier-uniform with gain √2 (Keras VarianceScaling(2, fan_avg, uniform)), conv biases 0; BN
gamma N(1, 0.02), beta 0; GRU weight matrices orthogonal, GRU biases PyTorch's default
U(±1/√units); every ``nn.Linear`` (GLU linears and both heads) N(0, 0.01) weights, zero bias.
``style="keras"`` keeps Keras defaults. Seed with ``keras.utils.set_random_seed`` first.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from common.errors import ConfigError
from common.model_registry import build_variant, count_params  # noqa: F401 (re-exported)

N_FRAMES = 628
N_MELS = 128
N_CLASSES = 10
FILTERS = (16, 32, 64, 128, 128, 128, 128)
POOLS = ((2, 2), (2, 2), (1, 2), (1, 2), (1, 2), (1, 2), (1, 2))
KERNEL = 3
RNN_UNITS = 128
RNN_LAYERS = 2
DROPOUT = 0.5
BN_EPSILON = 1e-3
BN_MOMENTUM_KERAS = 0.01  # PyTorch momentum 0.99 (weight of the new batch)
ATTENTION_CLIP = (1e-7, 1.0)
TIME_POOLING = 4  # product of the time pools: output frame = input frame // 4
STYLES = ("baseline", "keras")

# Smoke profile: 7 blocks and every layer type kept, widths and input shrunk; 32 mel bins
# reach 1 frequency bin with five (1, 2)-style halvings, the last two pools are (1, 1).
SMALL_OVERRIDES: dict[str, Any] = {
    "n_frames": 64,
    "n_mels": 32,
    "filters": (4, 8, 8, 8, 8, 8, 8),
    "pools": ((2, 2), (2, 2), (1, 2), (1, 2), (1, 2), (1, 1), (1, 1)),
    "rnn_units": 8,
}


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ConfigError(f"style={style!r} is not one of {STYLES}")


def _linear_init(style: str) -> dict[str, Any]:
    # A fresh initializer instance per layer: an unseeded Keras 3 initializer repeats its draws.
    if style == "keras":
        return {}
    return {"kernel_initializer": keras.initializers.RandomNormal(0.0, 0.01),
            "bias_initializer": "zeros"}


def _conv_init(style: str) -> dict[str, Any]:
    if style == "keras":
        return {}
    # Xavier-uniform with gain g: bound g·sqrt(6/(fan_in+fan_out)) = VarianceScaling(g², fan_avg).
    return {"kernel_initializer": keras.initializers.VarianceScaling(2.0, "fan_avg", "uniform"),
            "bias_initializer": "zeros"}


def _bn(style: str, momentum: float, name: str) -> layers.BatchNormalization:
    kwargs: dict[str, Any] = {}
    if style == "baseline":
        kwargs = {"gamma_initializer": keras.initializers.RandomNormal(1.0, 0.02),
                  "beta_initializer": "zeros"}
    return layers.BatchNormalization(momentum=momentum, epsilon=BN_EPSILON, name=name, **kwargs)


def _gru(units: int, style: str, name: str) -> layers.Layer:
    kwargs: dict[str, Any] = {}
    if style == "baseline":
        bound = 1.0 / math.sqrt(units)
        kwargs = {"kernel_initializer": keras.initializers.Orthogonal(),
                  "recurrent_initializer": keras.initializers.Orthogonal(),
                  "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}
    gru = layers.GRU(units, return_sequences=True, reset_after=True, name=f"{name}_gru",
                     **kwargs)
    return layers.Bidirectional(gru, merge_mode="concat", name=name)


class AttentionPooling(layers.Layer):
    """weak = Σ_t strong·att / Σ_t att over the time axis (axis 1); weightless."""

    def call(self, strong, attention):
        ops = keras.ops
        return ops.sum(strong * attention, axis=1) / ops.sum(attention, axis=1)


class Clip(layers.Layer):
    """``torch.clamp`` as a layer (weightless)."""

    def __init__(self, low: float, high: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.low, self.high = float(low), float(high)

    def call(self, x):
        return keras.ops.clip(x, self.low, self.high)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "low": self.low, "high": self.high}


def glu_block(x, filters: int, pool: tuple[int, int], dropout: float, bn_momentum: float,
              style: str, prefix: str):
    """Conv 3×3 → BN → baseline GLU (Dense(C)(x) · sigmoid(x)) → Dropout → AvgPool."""
    x = layers.Conv2D(filters, KERNEL, padding="same", name=f"{prefix}_conv",
                      **_conv_init(style))(x)
    x = _bn(style, bn_momentum, f"{prefix}_bn")(x)
    lin = layers.Dense(filters, name=f"{prefix}_glu_linear", **_linear_init(style))(x)
    gate = layers.Activation("sigmoid", name=f"{prefix}_glu_sigmoid")(x)
    x = layers.Multiply(name=f"{prefix}_glu")([lin, gate])
    x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
    return layers.AveragePooling2D(tuple(pool), name=f"{prefix}_pool")(x)


def crnn(n_frames: int | None = N_FRAMES, n_mels: int = N_MELS, n_classes: int = N_CLASSES,
         filters: tuple[int, ...] = FILTERS, pools: tuple[tuple[int, int], ...] = POOLS,
         rnn_units: int = RNN_UNITS, rnn_layers: int = RNN_LAYERS, dropout: float = DROPOUT,
         bn_momentum: float = BN_MOMENTUM_KERAS, attention: bool = True,
         style: str = "baseline", name: str = "dcase2020_crnn") -> keras.Model:
    """The baseline CRNN; outputs ``[strong (B, T/4, C), weak (B, C)]`` (PyTorch order).

    ``attention=False`` gives the baseline's non-attention variant (weak = time mean)."""
    _check_style(style)
    if len(filters) != len(pools):
        raise ConfigError(f"filters ({len(filters)}) and pools ({len(pools)}) differ in length")
    freq = n_mels
    for p in pools:
        freq //= p[1]
    if freq != 1:
        # The baseline then flattens channel-major (chan·freq) with a warning; we refuse so
        # that every variant has the reference GRU input width.
        raise ConfigError(f"n_mels={n_mels} with pools {pools} leaves {freq} frequency bins; "
                          "the CNN must reduce frequency to 1")
    inputs = keras.Input(shape=(n_frames, n_mels, 1), name="features")
    x = inputs
    for i, (f, p) in enumerate(zip(filters, pools), start=1):
        x = glu_block(x, f, p, dropout, bn_momentum, style, f"block{i}")
    x = layers.Reshape((-1, filters[-1]), name="to_sequence")(x)
    for j in range(1, rnn_layers + 1):
        x = _gru(rnn_units, style, f"bigru{j}")(x)
    x = layers.Dropout(dropout, name="rnn_dropout")(x)
    strong = layers.Dense(n_classes, activation="sigmoid", name="strong",
                          **_linear_init(style))(x)
    if attention:
        att = layers.Dense(n_classes, name="attention_dense", **_linear_init(style))(x)
        att = layers.Softmax(axis=-1, name="attention_softmax")(att)
        att = Clip(*ATTENTION_CLIP, name="attention_clip")(att)
        weak = AttentionPooling(name="weak")(strong, att)
    else:
        weak = layers.GlobalAveragePooling1D(name="weak")(strong)
    return keras.Model(inputs, [strong, weak], name=name)


# --------------------------------------------------------------------------------------------
# registry


def _variant(builder: Callable[..., keras.Model], expected: int | None, source: str,
             note: str = "", **kwargs: Any) -> dict[str, Any]:
    return {"builder": builder, "kwargs": kwargs, "expected_trainable_params": expected,
            "source": source, "note": note}


# Expected counts: spec §1.2 (verified there by instantiating the PyTorch code).
MODEL_VARIANTS: dict[str, dict[str, Any]] = {
    "baseline_crnn": _variant(crnn, 1_112_420, "reference",
                              "DCASE 2020 Task 4 baseline (student = teacher architecture)"),
    "baseline_crnn_keras_init": _variant(crnn, 1_112_420, "ours",
                                         "same network, Keras default initialisers",
                                         style="keras"),
}


def build(name: str, /, small: bool = False, **overrides: Any) -> keras.Model:
    """Build registry variant ``name``; ``small`` applies SMALL_OVERRIDES, then explicit
    ``overrides`` win. The layer sequence is the same at any size."""
    return build_variant(MODEL_VARIANTS, name, overrides, small=small,
                         small_overrides=SMALL_OVERRIDES)
