"""Keras 3 model of the FUSS TDCN++ separation baseline (spec fuss_desed.md §1.1).

Signal path, following the official ``train/model.py`` + ``network.py`` + ``network_config``
(``improved_tdcn``): waveform (B, T) → √Hann STFT (512/128/512, pad_end) → |STFT| → scalar
layer norm over (frame, bin) → dense 257→bottleneck (bias) × scale → ``n_repeats`` ×
``dilations`` TDCN++ blocks (block b's output scale initialised to 0.9^b; long skip
connections between the inputs of the first block of every repeat: dense (bias) × scale of an
earlier block input added to a later block input — for 4 × 8 blocks 0→8, 0→16, 0→24, 8→16,
8→24, 16→24, exactly the official list) → dense bottleneck→S·257 (no bias) → sigmoid masks
(source-major, as the official (mic, source, bin) reshape with one mic) × complex mixture
STFT → inverse STFT cropped to T → mixture consistency with weights softmax(dense
bottleneck→S (no bias) of the time-mean of the core activations).

Skip connections are added in the official order: all skips into block b are added (in the
order of the skip list) to the running activations, and the sum is block b's input, which
later skips read.

Registry: :data:`MODEL_VARIANTS` (as ``reproductions.drossos_sed.models``) with the expected
trainable parameter counts of spec §1.1 (hand-derived there; confirmed here by instantiation,
see tests/test_fuss_separation_model.py). ``build(name, small=True)`` shrinks widths, blocks
and length for smoke runs; the layer types and wiring stay the same.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from common.errors import ConfigError
from common.model_registry import build_variant, count_params  # noqa: F401 (re-exported)
from reproductions.fuss_desed.separation_layers import (
    ComplexMagnitude,
    GlobalLayerNorm,
    InverseStft,
    MixtureConsistency,
    Stft,
    scaled_dense,
    tdcn_block,
)

N_SAMPLES = 160_000  # 10 s at 16 kHz
N_SOURCES = 4
BOTTLENECK = 256
CONV_CHANNELS = 512
KERNEL_SIZE = 3
N_REPEATS = 4
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128)
BLOCK_SCALE_BASE = 0.9  # scale_tdcn_block='exponential': block b's output scale starts at 0.9^b

SMALL_OVERRIDES: dict[str, Any] = {
    "n_samples": 4_000,  # 0.25 s
    "bottleneck": 16,
    "conv_channels": 32,
    "n_repeats": 2,
    "dilations": (1, 2),
}


def skip_connections(n_repeats: int, blocks_per_repeat: int) -> list[tuple[int, int]]:
    """(from, to) block-input pairs: every earlier repeat start feeds every later one.

    For 4 repeats of 8 this is the official list [(0, 8), (0, 16), (0, 24), (8, 16), (8, 24),
    (16, 24)]."""
    starts = [r * blocks_per_repeat for r in range(n_repeats)]
    return list(itertools.combinations(starts, 2))


def tdcn_pp_separator(n_sources: int = N_SOURCES, n_samples: int | None = N_SAMPLES,
                      bottleneck: int = BOTTLENECK, conv_channels: int = CONV_CHANNELS,
                      kernel_size: int = KERNEL_SIZE, n_repeats: int = N_REPEATS,
                      dilations: tuple[int, ...] = DILATIONS,
                      mixture_consistency: bool = True,
                      name: str = "fuss_tdcnpp") -> keras.Model:
    """The FUSS baseline separator: mixture (B, T) → separated sources (B, n_sources, T)."""
    if n_sources < 1 or n_repeats < 1 or not dilations:
        raise ConfigError(f"{name}: n_sources, n_repeats and dilations must be positive "
                          f"(got {n_sources}, {n_repeats}, {dilations})")
    mixture = keras.Input(shape=(n_samples,), name="mixture")
    real, imag = Stft(name="stft")(mixture)
    magnitude = ComplexMagnitude(name="magnitude")(real, imag)
    n_bins = int(real.shape[-1])
    x = GlobalLayerNorm(axes=(1, 2), name="mixture_norm")(magnitude)
    x = scaled_dense(x, bottleneck, use_bias=True, scale=1.0, name="initial")

    skips = skip_connections(n_repeats, len(dilations))
    block_inputs: list[Any] = []
    for b, dilation in enumerate(list(dilations) * n_repeats):
        for src, dest in skips:
            if dest == b:
                skip = scaled_dense(block_inputs[src], bottleneck, use_bias=True, scale=1.0,
                                    name=f"skip_{src}_to_{dest}")
                x = layers.Add(name=f"skip_{src}_to_{dest}_add")([x, skip])
        block_inputs.append(x)
        x = tdcn_block(x, dilation, BLOCK_SCALE_BASE ** b, conv_channels=conv_channels,
                       kernel_size=kernel_size, name=f"block{b}")
    core = x  # (B, frames, bottleneck)

    logits = layers.Dense(n_sources * n_bins, use_bias=False, name="mask_dense")(core)
    logits = layers.Reshape((-1, n_sources, n_bins), name="mask_reshape")(logits)
    masks = layers.Activation("sigmoid", name="mask_sigmoid")(logits)
    masks = layers.Permute((2, 1, 3), name="mask_to_sources")(masks)  # (B, S, frames, bins)
    masked_real = layers.Multiply(name="masked_real")(
        [masks, layers.Reshape((1, -1, n_bins), name="real_add_source")(real)])
    masked_imag = layers.Multiply(name="masked_imag")(
        [masks, layers.Reshape((1, -1, n_bins), name="imag_add_source")(imag)])
    separated = InverseStft(name="istft")(masked_real, masked_imag, mixture)

    if mixture_consistency:
        pooled = layers.GlobalAveragePooling1D(name="mix_weights_time_mean")(core)
        weights = layers.Dense(n_sources, use_bias=False, name="mix_weights_dense")(pooled)
        weights = layers.Softmax(axis=-1, name="mix_weights_softmax")(weights)
        separated = MixtureConsistency(name="mixture_consistency")(separated, mixture, weights)
    return keras.Model(mixture, separated, name=name)


def receptive_field_frames(model: keras.Model) -> int:
    """STFT frames one output frame sees through the model's dilated depthwise convolutions:
    1 + sum of (kernel - 1) * dilation over them, read from the built layers. (The global
    layer norms and the consistency weights pool over the whole input, so this is the reach
    of the convolutions, not of every path.) The baseline's 4 x dilations 1-128 reach 2,041
    frames = 16.3 s, more than a whole FUSS mixture."""
    return 1 + sum((layer.kernel_size[0] - 1) * layer.dilation_rate[0]
                   for layer in model.layers if isinstance(layer, layers.DepthwiseConv1D))


# --------------------------------------------------------------------------------------------
# registry


def _variant(builder: Callable[..., keras.Model], expected: int | None, source: str,
             note: str = "", **kwargs: Any) -> dict[str, Any]:
    return {"builder": builder, "kwargs": kwargs, "expected_trainable_params": expected,
            "source": source, "note": note}


MODEL_VARIANTS: dict[str, dict[str, Any]] = {
    "fuss_baseline": _variant(
        tdcn_pp_separator, 9_179_401, "reference",
        "FUSS baseline, 4 sources (spec §1.1; count hand-derived there, equal on instantiation)",
        n_sources=4),
    "fuss_baseline_3src": _variant(
        tdcn_pp_separator, 9_113_353, "reference",
        "DESED+FUSS SS model used by the SED+SS baseline, 3 sources (spec §1.1)",
        n_sources=3),
}


def build(name: str, small: bool = False, **overrides: Any) -> keras.Model:
    """Build registry variant ``name``; ``small`` applies SMALL_OVERRIDES, then explicit
    ``overrides`` win."""
    return build_variant(MODEL_VARIANTS, name, overrides, small=small,
                         small_overrides=SMALL_OVERRIDES)


__all__ = ["MODEL_VARIANTS", "SMALL_OVERRIDES", "build", "count_params", "receptive_field_frames",
           "skip_connections",
           "tdcn_pp_separator"]
