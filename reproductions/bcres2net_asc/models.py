"""BC-Res2Net + MFA + FPM (seed 003, spec §1.2) and the DCASE 2022 Task 1 baseline, Keras 3.

Input: a log-mel patch (n_mels, n_frames, 1) = (256, 32, 1) for one second, channels-last
(the authors' (1, 256, 32) with the channel axis last). Output: ``n_classes`` logits
(``output_activation=None``) — the authors' head is a bare Linear; apply softmax for the
challenge's probabilities.

Parameter counts. PyTorch ``parameters()`` counts conv/linear weights and BatchNorm γ, β;
BatchNorm running mean/variance are buffers. In Keras the first are the *trainable* weights
and the running statistics the *non-trainable* ones, so ``count_params(model)["trainable"]``
is the number comparable with the spec's 126,590 (C = 40) and 471,730 (C = 80). The DCASE
baseline is a Keras model: its published 46,246 is Keras' "Total params", i.e. trainable
46,118 + 128 BatchNorm moving statistics (the spec's wording "trainable + BN γβ" is not
what the number counts; see the registry note).

Channel list for width C: [2C, C, 1.5C, 2C, 2.5C] (stem, stages 1–4); every Res2Net unit
splits its channels into 4 chunks, so C must be a multiple of 8.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from common.errors import ConfigError
from common.model_registry import build_variant, count_params  # noqa: F401 (re-exported)
from reproductions.bcres2net_asc import layers as B

N_MELS = 256
N_FRAMES = 32
N_CLASSES = 10
STUDENT_CHANNELS = 40
TEACHER_CHANNELS = 80

# Smoke profile: the same layer sequence with narrow channels and a short input that still
# satisfies the FPM's size constraint (F divisible by 32, T by 16).
SMALL_OVERRIDES: dict[str, int] = {"base_channels": 8, "n_mels": 64, "n_frames": 16}


def channel_list(base_channels: int) -> list[int]:
    """[2C, C, 1.5C, 2C, 2.5C]: stem and stage widths (C = 40 → [80, 40, 60, 80, 100])."""
    if base_channels <= 0 or base_channels % 8:
        raise ConfigError(f"base_channels={base_channels}: must be a positive multiple of 8 "
                          "(every stage width is split into 4 Res2Net chunks)")
    c = base_channels
    return [2 * c, c, 3 * c // 2, 2 * c, 5 * c // 2]


def bc_res2net(base_channels: int = STUDENT_CHANNELS, n_mels: int = N_MELS,
               n_frames: int = N_FRAMES, n_classes: int = N_CLASSES,
               upsample: str = "pixel_shuffle", sub_bands: int = B.SUB_BANDS,
               resnorm_lambda: float = B.RESNORM_LAMBDA, dropout: float = B.DROPOUT,
               output_activation: str | None = None, name: str = "bc_res2net") -> keras.Model:
    """BC-Res2Net + MFA + FPM (the authors' BroadcastPyramidResNet + a Linear(4C → classes)).

    stem: pad 2 → Conv 5×5 stride 2 (no bias) → BN → ReLU → MFA. Stage k: Transition +
    Broadcast(s) (stage 4: two broadcasts) → ResNorm(λ) → MFA → tap k; max pool 2×2 after
    stages 1 and 2 ('same' = PyTorch ceil_mode). FPM over the four taps → Linear.
    """
    ch = channel_list(base_channels)
    if upsample not in B.UPSAMPLE_METHODS:
        raise ConfigError(f"upsample={upsample!r} is not one of {B.UPSAMPLE_METHODS}")
    inputs = keras.Input(shape=(n_mels, n_frames, 1), name="log_mel")
    # PyTorch pads 2 on both sides; Keras 'same' with stride 2 would pad 1 before / 2 after.
    x = layers.ZeroPadding2D(2, name="stem_pad")(inputs)
    x = layers.Conv2D(ch[0], 5, strides=2, use_bias=False,
                      kernel_initializer=B._kernel_init(), name="stem_conv")(x)
    x = B.batch_norm("stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = B.mfa_unit(x, "stem_mfa")

    taps = []
    n_broadcasts = (1, 1, 1, 2)
    for stage in range(1, 5):
        prefix = f"s{stage}"
        x = B.transition_block(x, ch[stage], f"{prefix}_transition", sub_bands, dropout)
        for i in range(1, n_broadcasts[stage - 1] + 1):
            x = B.broadcast_block(x, f"{prefix}_broadcast{i}", sub_bands, dropout)
        x = B.ResNorm(resnorm_lambda, name=f"{prefix}_resnorm")(x)
        x = B.mfa_unit(x, f"{prefix}_mfa")
        taps.append(x)
        if stage in (1, 2):
            x = layers.MaxPooling2D(2, padding="same", name=f"{prefix}_pool")(x)

    x = B.feature_pyramid_module(taps, ch[1], upsample, "fpm", sub_bands, dropout)
    outputs = layers.Dense(n_classes, activation=output_activation,
                           kernel_initializer=B._kernel_init(), bias_initializer="zeros",
                           name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def dcase2022_baseline(n_mels: int = 40, n_frames: int = 51, n_classes: int = N_CLASSES,
                       name: str = "dcase2022_baseline") -> keras.Model:
    """DCASE 2022 Task 1 baseline (``marmoi/dcase2022_task1_baseline``, task1.yaml): three
    7×7 'same' convs (16, 16, 32) each + BN + ReLU; max pools (5, 5) after the second and
    (4, 10) after the third (the README text says (4, 100); the config and the shapes say
    (4, 10)); dropout 0.3; Dense(100, ReLU) → dropout → Dense(10, softmax). Keras defaults
    (BN momentum 0.99, eps 1e-3) as the baseline used."""
    inputs = keras.Input(shape=(n_mels, n_frames, 1), name="log_mel")
    x = inputs
    for index, (filters, pool) in enumerate(((16, None), (16, (5, 5)), (32, (4, 10))), 1):
        x = layers.Conv2D(filters, 7, padding="same", name=f"conv{index}")(x)
        x = layers.BatchNormalization(name=f"bn{index}")(x)
        x = layers.ReLU(name=f"relu{index}")(x)
        if pool is not None:
            x = layers.MaxPooling2D(pool, name=f"pool{index}")(x)
            x = layers.Dropout(0.3, name=f"drop{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(100, activation="relu", kernel_initializer="uniform", name="dense1")(x)
    x = layers.Dropout(0.3, name="drop_dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", kernel_initializer="uniform",
                           name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------------------------
# registry


def _variant(builder: Callable[..., keras.Model], source: str, note: str = "", *,
             trainable: int | None = None, total: int | None = None,
             torchinfo_macs: int | None = None, tflite_macs: int | None = None,
             **kwargs: Any) -> dict[str, Any]:
    return {"builder": builder, "kwargs": kwargs, "expected_trainable_params": trainable,
            "expected_total_params": total, "expected_torchinfo_macs": torchinfo_macs,
            "expected_tflite_macs": tflite_macs, "source": source, "note": note}


# Expected counts: spec §1.2–1.3 (verified there with the authors' PyTorch modules and
# torchinfo 1.8.0) and the baseline README (Keras summary, NeSsi/tflite-tools table).
MODEL_VARIANTS: dict[str, dict[str, Any]] = {
    "bcres2net_c40": _variant(
        bc_res2net, "reference", "C = 40 student, pixel-shuffle FPM (the submitted model)",
        trainable=126_590, torchinfo_macs=26_762_930, base_channels=40),
    "bcres2net_c80": _variant(
        bc_res2net, "reference", "C = 80 'large' teacher", trainable=471_730,
        torchinfo_macs=92_972_250, base_channels=80),
    "bcres2net_c40_bilinear": _variant(
        bc_res2net, "reference", "FPM 'bilinear' (align_corners, no weights); spec: 22.67 M "
        "MACs (rounded)", trainable=113_790, base_channels=40, upsample="bilinear"),
    "bcres2net_c40_transposed": _variant(
        bc_res2net, "reference", "FPM 'transposed' (ConvTranspose 2×2 stride 2); spec: 39.05 M "
        "MACs (rounded)", trainable=126_590, base_channels=40, upsample="transposed"),
    "dcase2022_baseline": _variant(
        dcase2022_baseline, "reference", "Keras 'Total params' 46,246 = 46,118 trainable + "
        "128 BN moving statistics; TFLite INT8 size 46,512 B", total=46_246,
        tflite_macs=29_234_920),
}


def build(name: str, small: bool = False, **overrides: Any) -> keras.Model:
    """Build registry variant ``name``; ``small`` applies SMALL_OVERRIDES (those the builder
    takes), then explicit ``overrides`` win. The layer sequence is the same at any size."""
    return build_variant(MODEL_VARIANTS, name, overrides, small=small,
                         small_overrides=SMALL_OVERRIDES)
