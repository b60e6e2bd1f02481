"""Keras 3 models of Drossos et al. 2020 (DnD-SED) and of seed report 001's Keras variants.

Everything is channels-last. Layer names are stable and readable because they appear in the
per-layer complexity tables.

Two families share one set of building blocks:

* **Reference** models follow the authors' PyTorch code (``dr-costas/dnd-sed``, spec §1):
  ``poly_crnn``, ``poly_dilated_baseline``, ``poly_dessed``, ``poly_dnd_sed``. Their trainable
  parameter counts equal the PyTorch ``parameters()`` counts of spec §1.4 (BatchNorm moving
  statistics are Keras non-trainable weights, PyTorch buffers).
* **Report** models follow the seed's Keras text (spec §2.2–2.3): the same builders with the
  ``dessed_keras`` front end (Keras ``SeparableConv2D``), the report's dilated sub-blocks
  ("report_conv1x1", "report_maxpool"), and the monophonic UrbanSound8K models.

Layer ordering everywhere is the reference one: conv → ReLU → BatchNorm → MaxPool(1, p) →
SpatialDropout2D (PyTorch ``Dropout2d`` drops whole channels).

``style`` selects numerics that do not change any count: ``"torch"`` uses PyTorch defaults
(BatchNorm momentum 0.1 ≙ Keras 0.9, epsilon 1e-5; weights and biases U(±1/√fan_in), which is
what PyTorch's default kaiming-uniform(a=√5) reduces to; GRU U(±1/√units)); ``"keras"`` uses
Keras defaults (momentum 0.99, epsilon 1e-3, Glorot-uniform kernels, zero biases), as the seed's
Keras code did. Random draws come from Keras' global seed: call
``keras.utils.set_random_seed(seed)`` before building for reproducible weights.

Dilated block (spec §1.3). The reference permutes the front-end output (B, 256, T, 1) to
(B, 1, T, 256), so the 256 CNN channels become a spatial "feature" axis with one input channel,
and applies Conv2d(1→256, k×k, stride (1, 3), padding (d·(k−1)/2, 0), dilation (d, 1)).
Keras refuses stride > 1 together with dilation > 1, so variant ``"exact"`` computes the
stride-1 convolution ('same' zero padding d·(k−1)/2 in time, 'valid' in features) and keeps
every third feature column starting at column 0 — a 1×1 max pool with stride (1, 3), which is a
pure subsampling. Columns kept: ⌊(256−k)/3⌋+1 = 85 (k=3) or 84 (k=5, 7), as in the reference.
Then ReLU → BatchNorm (statistics over the kept columns only, as in the reference), permute to
(T, 256, W) so the flattening order equals the reference's ``permute(0, 2, 1, 3).reshape``
(PyTorch classifier weights map 1:1), and Dense(16) per frame.

Report variants — our reading (the seed's code is unavailable; spec §1.4 calls its sub-block
under-specified). The seed says its dilated block "comprehends a dilated convolution, batch
normalization, max pooling and dropout", that the input "is padded on temporal dimension only
of a value equal to the dilation rate" (3×3 kernel, d = 10, so padding d = d·(k−1)/2, i.e. the
same stride-1 convolution as ``"exact"``), and that the stride (1, 3) is replaced by

* ``"report_conv1x1"`` (its dilated baseline and proposed-1×1 rows): conv(ReLU) → BN →
  SpatialDropout2D → Conv2D(256, 1×1, stride (1, 3), ReLU, as "all other parameters equal to
  the baseline") → flatten → Dense(16);
* ``"report_maxpool"`` (its proposed-pool row): conv(ReLU) → BN → MaxPool(1, 3) with stride
  (1, 3), 'same' padding as all its pools → SpatialDropout2D → flatten → Dense(16).

Both keep the reference reshaping of the CNN channels into a one-channel feature axis, because
that is the only reading consistent with the seed's totals: with it the classifier sees
85·256 inputs and the models come to ≈3.70 M (dilated baseline, 1×1 conv; seed "3.7 M") and
≈0.50 M (proposed with max pool; seed "0.5 M"), while a dilated conv acting on the 256 channels
directly (feature width 1) would give ≈3.9 M / ≈0.74 M. The block's "max pooling" in the 1×1
variant cannot have reduced the feature axis as well (that would give ≈3.47 M), so it is read as
absent there. The report variants flatten channels-last (T, W, 256) without the permute, as a
Keras Reshape would.

Monophonic (UrbanSound8K, spec §2.2): ``mono_crnn`` is the seed's baseline (GRU last state,
Dense(10) softmax). ``mono_proposed`` is our reading of "separable convolutions instead of
convolutions, dilated convolution instead of the GRU, global average pooling → Dense(10)": the
``dessed_keras`` front end, the report's dilated conv (3×3, d = 10, ReLU) → BN →
SpatialDropout2D, with no feature-axis reduction (GAP replaces it), GlobalAveragePooling2D
over (time, feature columns), Dense(10, softmax).
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import keras
from keras import layers

from common.errors import ConfigError
from common.model_registry import build_variant, count_params  # noqa: F401 (re-exported)

N_FEATURES = 40
POLY_FRAMES = 1024
POLY_CLASSES = 16
MONO_FRAMES = 174
MONO_CLASSES = 10
CNN_CHANNELS = 256
CNN_KERNEL = 5
CNN_POOLS = (5, 4, 2)  # 40 → 8 → 2 → 1 feature bins, time untouched
CNN_DROPOUT = 0.25
FEATURE_STRIDE = 3  # the reference dilated conv's stride along the CNN-channel axis

FRONTEND_KINDS = ("standard", "dessed_reference", "dessed_keras")
DILATED_VARIANTS = ("exact", "report_conv1x1", "report_maxpool")
STYLES = ("torch", "keras")

# Smoke profiles: shrink widths and time, keep every layer (same code path, same layer types).
SMALL_OVERRIDES: dict[str, int] = {
    "n_frames": 32,
    "channels": 16,  # also the dilated block's feature width: must stay ≥ the largest kernel (7)
    "dilated_channels": 8,
    "rnn_units": 8,
}


# --------------------------------------------------------------------------------------------
# numerics helpers


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of {choices}")


def _torch_uniform(fan_in: int) -> keras.initializers.Initializer:
    # PyTorch's default Conv/Linear init (kaiming_uniform with a=√5, bias uniform) is
    # U(−1/√fan_in, 1/√fan_in) for weights and biases alike.
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def _init(style: str, fan_in: int, *weight_keys: str) -> dict[str, Any]:
    """Initializer kwargs for a layer: empty (Keras defaults) or PyTorch-like per weight key."""
    _check_choice("style", style, STYLES)
    if style == "keras":
        return {}
    # A fresh instance per weight: an unseeded Keras 3 initializer repeats its draws.
    return {key: _torch_uniform(fan_in) for key in weight_keys}


def _batch_norm(style: str, name: str) -> layers.BatchNormalization:
    _check_choice("style", style, STYLES)
    if style == "torch":
        # PyTorch momentum 0.1 weights the *new* batch; Keras momentum weights the old average.
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    return layers.BatchNormalization(name=name)


# --------------------------------------------------------------------------------------------
# CNN front ends


def _reference_separable_conv(x, channels: int, kernel: int, inner_kernel: int, style: str,
                              prefix: str):
    """The reference DepthWiseSeparableConvBlock: grouped k×k conv (groups = input channels,
    bias) → LeakyReLU(0.01) → BatchNorm → Conv2D(inner_kernel) with bias."""
    in_channels = int(x.shape[-1])
    if in_channels == 1:
        # groups = 1: the reference "depthwise" conv of layer 1 is a full 1→channels conv.
        x = layers.Conv2D(channels, kernel, padding="same", name=f"{prefix}_dwconv",
                          **_init(style, kernel * kernel, "kernel_initializer",
                                  "bias_initializer"))(x)
    elif channels % in_channels == 0:
        x = layers.DepthwiseConv2D(kernel, padding="same",
                                   depth_multiplier=channels // in_channels,
                                   name=f"{prefix}_dwconv",
                                   **_init(style, kernel * kernel, "depthwise_initializer",
                                           "bias_initializer"))(x)
    else:
        raise ConfigError(f"{prefix}: a grouped conv needs channels ({channels}) divisible by "
                          f"the input channels ({in_channels})")
    x = layers.LeakyReLU(negative_slope=0.01, name=f"{prefix}_dw_lrelu")(x)
    x = _batch_norm(style, f"{prefix}_dw_bn")(x)
    # inner_padding = (inner_kernel − 1)/2 in the reference settings ('_b': kernel 3, padding 1).
    return layers.Conv2D(channels, inner_kernel, padding="same", name=f"{prefix}_pwconv",
                         **_init(style, channels * inner_kernel * inner_kernel,
                                 "kernel_initializer", "bias_initializer"))(x)


def cnn_frontend(x, kind: str = "standard", channels: int = CNN_CHANNELS,
                 kernel: int = CNN_KERNEL, pools: tuple[int, ...] = CNN_POOLS,
                 dropout: float = CNN_DROPOUT, inner_kernel: int = 1, style: str = "torch",
                 prefix: str = "cnn"):
    """Three (or len(pools)) CNN layers on a (B, T, F, C) tensor; time is never pooled.

    kind: "standard" (Conv2D, reference DNN / seed baseline), "dessed_reference" (the reference
    DepthWiseSeparableConvBlock, exact), "dessed_keras" (Keras SeparableConv2D: no depthwise
    bias, no inner LeakyReLU/BN — the seed's form). Each layer then applies ReLU → BatchNorm →
    MaxPool(1, p) → SpatialDropout2D. ``inner_kernel`` applies to "dessed_reference" only.
    """
    _check_choice("frontend", kind, FRONTEND_KINDS)
    if kernel % 2 == 0 or inner_kernel % 2 == 0:
        raise ConfigError(f"frontend kernel {kernel} / inner_kernel {inner_kernel} must be odd "
                          "('same' padding is symmetric only for odd kernels)")
    for index, pool in enumerate(pools, start=1):
        p = f"{prefix}{index}"
        if kind == "standard":
            fan_in = int(x.shape[-1]) * kernel * kernel
            x = layers.Conv2D(channels, kernel, padding="same", name=f"{p}_conv",
                              **_init(style, fan_in, "kernel_initializer",
                                      "bias_initializer"))(x)
        elif kind == "dessed_reference":
            x = _reference_separable_conv(x, channels, kernel, inner_kernel, style, p)
        else:
            in_channels = int(x.shape[-1])
            sep_init = {}
            if style == "torch":
                sep_init = {"depthwise_initializer": _torch_uniform(kernel * kernel),
                            "pointwise_initializer": _torch_uniform(in_channels),
                            "bias_initializer": _torch_uniform(in_channels)}
            x = layers.SeparableConv2D(channels, kernel, padding="same", name=f"{p}_sepconv",
                                       **sep_init)(x)
        x = layers.ReLU(name=f"{p}_relu")(x)
        x = _batch_norm(style, f"{p}_bn")(x)
        # 'valid' = PyTorch's floor; identical to the seed's 'same' for 40 → 8 → 2 → 1.
        x = layers.MaxPooling2D((1, pool), name=f"{p}_pool")(x)
        x = layers.SpatialDropout2D(dropout, name=f"{p}_drop")(x)
    return x


# --------------------------------------------------------------------------------------------
# temporal blocks


def _channels_as_feature_axis(x, prefix: str):
    """(B, T, 1, C) → (B, T, C, 1): the reference's permute(0, 3, 2, 1) in channels-last."""
    if x.shape[2] != 1:
        raise ConfigError(f"{prefix}: the front end must reduce the feature axis to 1, "
                          f"got shape {tuple(x.shape)}")
    return layers.Reshape((-1, int(x.shape[-1]), 1), name=f"{prefix}_channels_to_axis")(x)


def dilated_conv_stride1(x, filters: int, kernel: int, dilation: int, style: str = "torch",
                         activation: str | None = None, prefix: str = "dil"):
    """Stride-1 k×k conv with time dilation ``dilation`` on a (B, T, W, 1) tensor: zero padding
    d·(k−1)/2 on both time sides ('same' in time), 'valid' along W. Output (B, T, W−k+1, filters)."""
    if kernel % 2 == 0:
        raise ConfigError(f"{prefix}: dilated kernel {kernel} must be odd")
    if int(x.shape[2]) < kernel:
        raise ConfigError(f"{prefix}: feature width {x.shape[2]} is smaller than kernel {kernel}")
    pad = dilation * (kernel - 1) // 2
    x = layers.ZeroPadding2D(((pad, pad), (0, 0)), name=f"{prefix}_time_pad")(x)
    fan_in = int(x.shape[-1]) * kernel * kernel
    return layers.Conv2D(filters, (kernel, kernel), dilation_rate=(dilation, 1), padding="valid",
                         activation=activation, name=f"{prefix}_conv",
                         **_init(style, fan_in, "kernel_initializer", "bias_initializer"))(x)


def strided_dilated_conv(x, filters: int, kernel: int, dilation: int,
                         stride: int = FEATURE_STRIDE, style: str = "torch",
                         prefix: str = "dil"):
    """Exact Keras equivalent of PyTorch Conv2d(stride=(1, stride), dilation=(d, 1),
    padding=(d·(k−1)/2, 0)) on a (B, T, W, 1) tensor (pre-activation).

    Stride-1 convolution, then keep columns 0, stride, 2·stride, … — a 1×1 max pool with
    stride (1, stride) is exactly that subsampling (⌊(W−k)/stride⌋+1 columns)."""
    x = dilated_conv_stride1(x, filters, kernel, dilation, style=style, prefix=prefix)
    return layers.MaxPooling2D(pool_size=(1, 1), strides=(1, stride), padding="valid",
                               name=f"{prefix}_subsample")(x)


def dilated_block(x, variant: str = "exact", filters: int = CNN_CHANNELS, kernel: int = 3,
                  dilation: int = 10, dropout: float = CNN_DROPOUT, style: str = "torch",
                  prefix: str = "dil"):
    """Dilated temporal block on the front-end output (B, T, 1, C) → (B, T, W, filters).

    See the module docstring for the three variants."""
    _check_choice("dilated_variant", variant, DILATED_VARIANTS)
    x = _channels_as_feature_axis(x, prefix)
    if variant == "exact":
        x = strided_dilated_conv(x, filters, kernel, dilation, style=style, prefix=prefix)
        x = layers.ReLU(name=f"{prefix}_relu")(x)
        return _batch_norm(style, f"{prefix}_bn")(x)
    x = _report_dilated_conv(x, filters, kernel, dilation, dropout, style, prefix,
                             pool_stride=FEATURE_STRIDE if variant == "report_maxpool" else 1)
    if variant == "report_conv1x1":
        x = layers.Conv2D(filters, 1, strides=(1, FEATURE_STRIDE), padding="same",
                          activation="relu", name=f"{prefix}_conv1x1",
                          **_init(style, filters, "kernel_initializer", "bias_initializer"))(x)
    return x


def _report_dilated_conv(x, filters: int, kernel: int, dilation: int, dropout: float,
                         style: str, prefix: str, pool_stride: int):
    """The seed's dilated sub-block: conv(ReLU) → BN → [MaxPool(1, s) if s > 1] → dropout."""
    x = dilated_conv_stride1(x, filters, kernel, dilation, style=style, activation="relu",
                             prefix=prefix)
    x = _batch_norm(style, f"{prefix}_bn")(x)
    if pool_stride > 1:
        x = layers.MaxPooling2D((1, pool_stride), padding="same", name=f"{prefix}_pool")(x)
    return layers.SpatialDropout2D(dropout, name=f"{prefix}_drop")(x)


def _frame_classifier(x, n_classes: int, activation: str, style: str, reference_order: bool):
    """(B, T, W, C) → flatten per frame → Dense(n_classes) at every frame."""
    width, chans = int(x.shape[2]), int(x.shape[3])
    if reference_order:
        # PyTorch flattens (C, W) with W fastest; permuting first keeps weights portable.
        x = layers.Permute((1, 3, 2), name="dil_to_reference_order")(x)
    x = layers.Reshape((-1, width * chans), name="dil_flatten")(x)
    return layers.Dense(n_classes, activation=activation, name="classifier",
                        **_init(style, width * chans, "kernel_initializer",
                                "bias_initializer"))(x)


def _gru(units: int, return_sequences: bool, style: str) -> layers.GRU:
    init: dict[str, Any] = {}
    if style == "torch":
        init = {key: _torch_uniform(units) for key in
                ("kernel_initializer", "recurrent_initializer", "bias_initializer")}
    # reset_after=True is PyTorch's GRUCell formulation (separate input/recurrent biases).
    return layers.GRU(units, return_sequences=return_sequences, reset_after=True, name="gru",
                      **init)


def _to_sequence(x):
    """(B, T, 1, C) → (B, T, C)."""
    if x.shape[2] != 1:
        raise ConfigError(f"the front end must reduce the feature axis to 1, got {tuple(x.shape)}")
    return layers.Reshape((-1, int(x.shape[-1])), name="to_sequence")(x)


# --------------------------------------------------------------------------------------------
# polyphonic models (TUT-SED Synthetic 2016): input (T, 40) → frame-wise (T, 16)


def _poly_input(n_frames: int | None, n_features: int):
    inputs = keras.Input(shape=(n_frames, n_features), name="features")
    return inputs, layers.Reshape((-1, n_features, 1), name="add_channel")(inputs)


def poly_crnn(n_frames: int | None = POLY_FRAMES, n_features: int = N_FEATURES,
              n_classes: int = POLY_CLASSES, channels: int = CNN_CHANNELS,
              rnn_units: int = CNN_CHANNELS, dropout: float = CNN_DROPOUT,
              frontend: str = "standard", inner_kernel: int = 1, style: str = "torch",
              output_activation: str = "sigmoid", name: str = "poly_crnn") -> keras.Model:
    """CNN front end → GRU(return_sequences) → Dense(n_classes) per frame (reference CRNN)."""
    inputs, x = _poly_input(n_frames, n_features)
    x = cnn_frontend(x, frontend, channels=channels, dropout=dropout, inner_kernel=inner_kernel,
                     style=style)
    x = _gru(rnn_units, True, style)(_to_sequence(x))
    outputs = layers.Dense(n_classes, activation=output_activation, name="classifier",
                           **_init(style, rnn_units, "kernel_initializer",
                                   "bias_initializer"))(x)
    return keras.Model(inputs, outputs, name=name)


def poly_dessed(frontend: str = "dessed_reference", name: str = "poly_dessed",
                **kwargs: Any) -> keras.Model:
    """Depthwise-separable front end + GRU (reference ``dessed``; "dessed_keras" = seed form)."""
    return poly_crnn(frontend=frontend, name=name, **kwargs)


def poly_dilated_baseline(n_frames: int | None = POLY_FRAMES, n_features: int = N_FEATURES,
                          n_classes: int = POLY_CLASSES, channels: int = CNN_CHANNELS,
                          dilated_channels: int = CNN_CHANNELS, kernel: int = 3,
                          dilation: int = 10, dilated_variant: str = "exact",
                          dropout: float = CNN_DROPOUT, frontend: str = "standard",
                          inner_kernel: int = 1, style: str = "torch",
                          output_activation: str = "sigmoid",
                          name: str = "poly_dilated_baseline") -> keras.Model:
    """CNN front end → dilated block → Dense(n_classes) per frame (reference baseline_dilated)."""
    inputs, x = _poly_input(n_frames, n_features)
    x = cnn_frontend(x, frontend, channels=channels, dropout=dropout, inner_kernel=inner_kernel,
                     style=style)
    x = dilated_block(x, dilated_variant, filters=dilated_channels, kernel=kernel,
                      dilation=dilation, dropout=dropout, style=style)
    outputs = _frame_classifier(x, n_classes, output_activation, style,
                                reference_order=dilated_variant == "exact")
    return keras.Model(inputs, outputs, name=name)


def poly_dnd_sed(frontend: str = "dessed_reference", name: str = "poly_dnd_sed",
                 **kwargs: Any) -> keras.Model:
    """The proposed DnD-SED: depthwise-separable front end + dilated block (``dessed_dilated``)."""
    return poly_dilated_baseline(frontend=frontend, name=name, **kwargs)


# --------------------------------------------------------------------------------------------
# monophonic models (UrbanSound8K): input (174, 40, 1) → 10-class softmax


def mono_crnn(n_frames: int | None = MONO_FRAMES, n_features: int = N_FEATURES,
              n_classes: int = MONO_CLASSES, channels: int = CNN_CHANNELS,
              rnn_units: int = CNN_CHANNELS, dropout: float = CNN_DROPOUT,
              frontend: str = "standard", style: str = "keras",
              name: str = "mono_crnn") -> keras.Model:
    """Seed baseline: CNN front end → (T, 256) → GRU last state → Dense(10, softmax)."""
    inputs = keras.Input(shape=(n_frames, n_features, 1), name="features")
    x = cnn_frontend(inputs, frontend, channels=channels, dropout=dropout, style=style)
    x = _gru(rnn_units, False, style)(_to_sequence(x))
    outputs = layers.Dense(n_classes, activation="softmax", name="classifier",
                           **_init(style, rnn_units, "kernel_initializer",
                                   "bias_initializer"))(x)
    return keras.Model(inputs, outputs, name=name)


def mono_proposed(n_frames: int | None = MONO_FRAMES, n_features: int = N_FEATURES,
                  n_classes: int = MONO_CLASSES, channels: int = CNN_CHANNELS,
                  dilated_channels: int = CNN_CHANNELS, kernel: int = 3, dilation: int = 10,
                  dropout: float = CNN_DROPOUT, frontend: str = "dessed_keras",
                  style: str = "keras", name: str = "mono_proposed") -> keras.Model:
    """Seed proposed (our reading, module docstring): separable front end → dilated conv →
    BN → dropout → GlobalAveragePooling2D → Dense(10, softmax)."""
    inputs = keras.Input(shape=(n_frames, n_features, 1), name="features")
    x = cnn_frontend(inputs, frontend, channels=channels, dropout=dropout, style=style)
    x = _channels_as_feature_axis(x, "dil")
    x = _report_dilated_conv(x, dilated_channels, kernel, dilation, dropout, style, "dil",
                             pool_stride=1)
    x = layers.GlobalAveragePooling2D(name="global_avg_pool")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classifier",
                           **_init(style, dilated_channels, "kernel_initializer",
                                   "bias_initializer"))(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------------------------
# registry


def _variant(builder: Callable[..., keras.Model], expected: int | None, source: str,
             note: str = "", **kwargs: Any) -> dict[str, Any]:
    return {"builder": builder, "kwargs": kwargs, "expected_trainable_params": expected,
            "source": source, "note": note}


# Trainable counts from spec §1.4 (verified there against the PyTorch classes / by hand).
_REF_DILATED_BASELINE = {3: 3_636_752, 5: 3_636_752, 7: 3_642_896}
_REF_DND_SED = {3: 571_664, 5: 571_664, 7: 577_808}
REFERENCE_DILATIONS = (1, 10, 50, 100)
REFERENCE_KERNELS = (3, 5, 7)


def _build_registry() -> dict[str, dict[str, Any]]:
    reg: dict[str, dict[str, Any]] = {
        "poly_crnn": _variant(poly_crnn, 3_684_368, "reference", "baseline CRNN"),
        "poly_dessed": _variant(poly_dessed, 619_280, "reference",
                                "reference dessed (crashes as shipped, spec §1.5.1)"),
    }
    for k in REFERENCE_KERNELS:
        for d in REFERENCE_DILATIONS:
            reg[f"poly_dilated_baseline_k{k}_d{d}"] = _variant(
                poly_dilated_baseline, _REF_DILATED_BASELINE[k], "reference",
                kernel=k, dilation=d)
            reg[f"poly_dnd_sed_k{k}_d{d}"] = _variant(
                poly_dnd_sed, _REF_DND_SED[k], "reference", kernel=k, dilation=d)
    reg["poly_dnd_sed_k7_d10_b"] = _variant(
        poly_dnd_sed, 2_150_672, "reference", "settings '_b': pointwise kernel 3",
        kernel=7, dilation=10, inner_kernel=3)
    seed = {"style": "keras", "kernel": 3, "dilation": 10}
    reg.update({
        "report_poly_crnn": _variant(poly_crnn, 3_684_368, "report", style="keras"),
        "report_poly_dilated": _variant(poly_dilated_baseline, None, "report",
                                        "dilated conv + 1×1 conv stride (1,3)",
                                        dilated_variant="report_conv1x1", **seed),
        "report_poly_dessed": _variant(poly_dessed, 545_321, "report", "Keras SeparableConv2D",
                                       frontend="dessed_keras", style="keras"),
        "report_poly_proposed_conv1x1": _variant(poly_dnd_sed, None, "report",
                                                 frontend="dessed_keras",
                                                 dilated_variant="report_conv1x1", **seed),
        "report_poly_proposed_maxpool": _variant(poly_dnd_sed, None, "report",
                                                 frontend="dessed_keras",
                                                 dilated_variant="report_maxpool", **seed),
        "report_mono_crnn": _variant(mono_crnn, 3_682_826, "report"),
        "report_mono_proposed": _variant(mono_proposed, None, "report", "our reading"),
    })
    return reg


MODEL_VARIANTS: dict[str, dict[str, Any]] = _build_registry()


def build(name: str, small: bool = False, **overrides: Any) -> keras.Model:
    """Build registry variant ``name``; ``small`` applies SMALL_OVERRIDES (those the builder
    takes), then explicit ``overrides`` win. The layer sequence is the same at any size."""
    return build_variant(MODEL_VARIANTS, name, overrides, small=small,
                         small_overrides=SMALL_OVERRIDES, accepted=_accepted_params)


def _accepted_params(builder: Callable[..., keras.Model]) -> set[str]:
    """Keyword names a builder takes, following the thin wrappers' **kwargs to their target."""
    names = set(inspect.signature(builder).parameters)
    if "kwargs" in names:
        names.discard("kwargs")
        target = {poly_dessed: poly_crnn, poly_dnd_sed: poly_dilated_baseline}[builder]
        names |= _accepted_params(target)
    return names
