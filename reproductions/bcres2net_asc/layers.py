"""Building blocks of BC-Res2Net + MFA + FPM (spec §1.1), Keras 3, channels-last.

Tensors are (batch, frequency, time, channels): the authors' PyTorch (B, C, F, T) with the
channel axis moved last, so frequency is axis 1 and time axis 2. Every block keeps the
authors' module structure and channel order, so that a PyTorch state dict maps 1:1 (up to the
usual kernel transposition).

Weightless operations are small named layers (:class:`ResNorm`, :class:`AxisMean`,
:class:`ChannelChunks`, :class:`PixelShuffle`, :class:`BilinearUpsample`);
:class:`SubSpectralNorm` is a ``BatchNormalization`` subclass (its weights are BN weights, so
every complexity rule treats it as a normalisation). The composite units are functional
blocks (functions adding named layers to a graph) built only from standard Keras layers, so
the per-layer complexity counter of :mod:`common.complexity` sees every convolution.

Numerics follow the authors' code: no conv bias anywhere, BatchNorm eps 1e-6 (their
``Normalize``) but 1e-5 inside SubSpectralNorm (its ``eps`` argument is never passed on),
PyTorch momentum 0.1 (= Keras 0.9), conv weights N(0, 0.02) (their ``trunc_normal_`` cuts at
±2 absolute, i.e. 100 σ: effectively untruncated), Dropout2d = ``SpatialDropout2D``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import layers, ops

from common.errors import ConfigError

SUB_BANDS = 4             # SubSpectralNorm sub-bands (seed §4; Qualcomm BC-ResNet uses 5)
RESNORM_LAMBDA = 0.1      # ResNorm identity weight λ (seed §4)
RESNORM_EPS = 1e-8
RES2NET_SCALES = 4        # channel chunks of every Res2Net-style unit
BN_EPSILON = 1e-6         # authors' Normalize('bn')
SSN_EPSILON = 1e-5        # BatchNorm2d default inside SubSpectralNorm
BN_MOMENTUM = 0.9         # PyTorch momentum 0.1 weights the new batch; Keras the old average
DROPOUT = 0.1
INIT_STD = 0.02
FREQ_AXIS, TIME_AXIS, CHANNEL_AXIS = 1, 2, 3
UPSAMPLE_METHODS = ("pixel_shuffle", "bilinear", "transposed")

_PACKAGE = "bcres2net_asc"


def _kernel_init() -> keras.initializers.Initializer:
    # A fresh instance per weight: an unseeded Keras 3 initializer repeats its draws.
    return keras.initializers.RandomNormal(stddev=INIT_STD)


def _static_dim(shape: Sequence, axis: int, what: str) -> int:
    dim = shape[axis]
    if dim is None:
        raise ConfigError(f"{what}: axis {axis} of input shape {tuple(shape)} must be known")
    return int(dim)


# --------------------------------------------------------------------------------------------
# weightless layers and SubSpectralNorm


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SubSpectralNorm(layers.BatchNormalization):
    """BatchNorm with separate statistics and affine weights per (channel, frequency sub-band).

    The authors view (B, C, F, T) as (B, C·S, F/S, T) and apply BatchNorm2d(C·S): grouped
    channel c·S + s holds sub-band s of channel c. Channels-last, the same grouping is
    (B, F, T, C) → (B, S, F/S, T, C) → (B, F/S, T, C, S) → (B, F/S, T, C·S), so the weight
    vector has the PyTorch order. F must be divisible by ``sub_bands``.
    """

    def __init__(self, sub_bands: int = SUB_BANDS, momentum: float = BN_MOMENTUM,
                 epsilon: float = SSN_EPSILON, **kwargs):
        kwargs.pop("axis", None)
        super().__init__(axis=-1, momentum=momentum, epsilon=epsilon, **kwargs)
        if sub_bands < 1:
            raise ConfigError(f"SubSpectralNorm: sub_bands={sub_bands} must be ≥ 1")
        self.sub_bands = int(sub_bands)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ConfigError(f"{self.name}: SubSpectralNorm needs (B, F, T, C), got "
                              f"{tuple(input_shape)}")
        freq = _static_dim(input_shape, FREQ_AXIS, self.name)
        channels = _static_dim(input_shape, CHANNEL_AXIS, self.name)
        if freq % self.sub_bands:
            raise ConfigError(f"{self.name}: {freq} frequency bins are not divisible into "
                              f"{self.sub_bands} sub-bands")
        self._freq, self._channels = freq, channels
        super().build((input_shape[0], freq // self.sub_bands, input_shape[2],
                       channels * self.sub_bands))
        # BatchNormalization pins its input spec to the grouped shape; the layer's own input
        # has C channels.
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs, training=None, mask=None):
        s, f, c = self.sub_bands, self._freq, self._channels
        time = ops.shape(inputs)[TIME_AXIS]
        grouped = ops.reshape(inputs, (-1, s, f // s, time, c))
        grouped = ops.transpose(grouped, (0, 2, 3, 4, 1))
        grouped = ops.reshape(grouped, (-1, f // s, time, c * s))
        normed = super().call(grouped, training=training)
        normed = ops.reshape(normed, (-1, f // s, time, c, s))
        normed = ops.transpose(normed, (0, 4, 1, 2, 3))
        return ops.reshape(normed, (-1, f, time, c))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int | None:
        """Hook of common.complexity: the reshapes keep the converter from folding this BN
        into the preceding conv, so under the TFLite rule it is a MUL + ADD (ADD counted)."""
        if rule == "tflite":
            return math.prod(out_shapes[0])
        return None

    def get_config(self):
        config = super().get_config()
        config.pop("axis", None)
        config["sub_bands"] = self.sub_bands
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResNorm(layers.Layer):
    """Residual normalisation: λ·x + (x − μ)/√(σ² + ε), μ and σ² (biased) over the channel and
    time axes of each (example, frequency bin) — the authors' ``FreqInstanceNorm`` (spec §1.1).
    No weights."""

    def __init__(self, lam: float = RESNORM_LAMBDA, epsilon: float = RESNORM_EPS, **kwargs):
        super().__init__(**kwargs)
        self.lam, self.epsilon = float(lam), float(epsilon)

    def call(self, inputs):
        axes = (TIME_AXIS, CHANNEL_AXIS)
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        var = ops.var(inputs, axis=axes, keepdims=True)
        return self.lam * inputs + (inputs - mean) / ops.sqrt(var + self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int | None:
        """TFLite rule: two MEANs over the input (mean, variance), the ADD of ε on the
        (B, F, 1, 1) variance and the final ADD; torchinfo/DCASE: 0 (no weights)."""
        if rule == "tflite":
            shape = in_shapes[0]
            return 2 * math.prod(shape) + math.prod(shape[:2]) + math.prod(out_shapes[0])
        return None

    def get_config(self):
        return {**super().get_config(), "lam": self.lam, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AxisMean(layers.Layer):
    """Mean over one axis, kept as size 1 (frequency average pooling of the broadcast blocks,
    time average pooling of the attention units)."""

    def __init__(self, axis: int, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        return ops.mean(inputs, axis=self.axis, keepdims=True)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = 1
        return tuple(shape)

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int | None:
        """TFLite rule: a MEAN op, counted by tflite-tools as its input elements."""
        return math.prod(in_shapes[0]) if rule == "tflite" else None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ChannelChunks(layers.Layer):
    """``torch.chunk(x, scales, dim=channels)`` for channels divisible by ``scales``."""

    def __init__(self, scales: int = RES2NET_SCALES, **kwargs):
        super().__init__(**kwargs)
        self.scales = int(scales)

    def build(self, input_shape):
        channels = _static_dim(input_shape, -1, self.name)
        if channels % self.scales:
            raise ConfigError(f"{self.name}: {channels} channels do not split into "
                              f"{self.scales} equal chunks")
        self._width = channels // self.scales

    def call(self, inputs):
        w = self._width
        return [inputs[..., k * w:(k + 1) * w] for k in range(self.scales)]

    def compute_output_shape(self, input_shape):
        width = _static_dim(input_shape, -1, self.name) // self.scales
        return [(*input_shape[:-1], width) for _ in range(self.scales)]

    def get_config(self):
        return {**super().get_config(), "scales": self.scales}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PixelShuffle(layers.Layer):
    """``nn.PixelShuffle(r)`` channels-last: (B, H, W, C·r²) → (B, H·r, W·r, C), where input
    channel c·r² + i·r + j lands at output (h·r + i, w·r + j, c) — PyTorch's order, which is
    not TensorFlow's ``depth_to_space`` order (that puts the sub-pixel index first)."""

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def build(self, input_shape):
        channels = _static_dim(input_shape, -1, self.name)
        if channels % (self.factor ** 2):
            raise ConfigError(f"{self.name}: {channels} channels are not divisible by "
                              f"factor² = {self.factor ** 2}")
        self._height = _static_dim(input_shape, 1, self.name)
        self._width = _static_dim(input_shape, 2, self.name)
        self._out_channels = channels // self.factor ** 2

    def call(self, inputs):
        r, h, w, c = self.factor, self._height, self._width, self._out_channels
        x = ops.reshape(inputs, (-1, h, w, c, r, r))
        x = ops.transpose(x, (0, 1, 4, 2, 5, 3))
        return ops.reshape(x, (-1, h * r, w * r, c))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.factor
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def align_corners_matrix(n_in: int, factor: int) -> np.ndarray:
    """(n_in·factor, n_in) linear-interpolation matrix of PyTorch ``align_corners=True``:
    output i samples input position i·(n_in − 1)/(n_out − 1)."""
    n_out = n_in * factor
    matrix = np.zeros((n_out, n_in), dtype=np.float32)
    if n_in == 1:
        matrix[:, 0] = 1.0
        return matrix
    for i in range(n_out):
        src = i * (n_in - 1) / (n_out - 1)
        lo = min(int(np.floor(src)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        frac = src - lo
        matrix[i, lo] += 1.0 - frac
        matrix[i, hi] += frac
    return matrix


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BilinearUpsample(layers.Layer):
    """``nn.Upsample(scale_factor=r, mode='bilinear', align_corners=True)`` on axes 1 and 2.
    Keras' own bilinear resizing uses half-pixel centres (align_corners=False), so the
    separable interpolation matrices are built here. No weights."""

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def build(self, input_shape):
        self._rows = align_corners_matrix(_static_dim(input_shape, 1, self.name), self.factor)
        self._cols = align_corners_matrix(_static_dim(input_shape, 2, self.name), self.factor)

    def call(self, inputs):
        rows = ops.convert_to_tensor(self._rows, dtype=inputs.dtype)
        cols = ops.convert_to_tensor(self._cols, dtype=inputs.dtype)
        x = ops.einsum("ph,bhwc->bpwc", rows, inputs)
        return ops.einsum("qw,bpwc->bpqc", cols, x)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.factor
        return (b, None if h is None else h * r, None if w is None else w * r, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


# --------------------------------------------------------------------------------------------
# small layer factories


def batch_norm(name: str, epsilon: float = BN_EPSILON) -> layers.BatchNormalization:
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=epsilon, name=name)


def conv1x1(x, filters: int, name: str):
    return layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=_kernel_init(),
                         name=name)(x)


def depthwise_conv(x, kernel: tuple[int, int], name: str):
    """Depthwise conv with groups = channels, zero padding k//2 (= 'same' for odd kernels)."""
    return layers.DepthwiseConv2D(kernel, padding="same", use_bias=False,
                                  depthwise_initializer=_kernel_init(), name=name)(x)


# --------------------------------------------------------------------------------------------
# functional blocks


def squeeze_channels(channels: int) -> int:
    """int(0.5·c), rounded up to even (authors' FreqChannelAttention)."""
    squeeze = int(channels * 0.5)
    return squeeze + 1 if squeeze % 2 else squeeze


def freq_channel_attention(x, prefix: str):
    """Frequency-and-channel-wise SE: time mean → 1×1 conv c→s → ReLU → 1×1 conv s→c →
    sigmoid → multiply the input by the (B, F, 1, c) weights."""
    channels = int(x.shape[-1])
    a = AxisMean(TIME_AXIS, name=f"{prefix}_time_mean")(x)
    a = conv1x1(a, squeeze_channels(channels), f"{prefix}_squeeze")
    a = layers.ReLU(name=f"{prefix}_relu")(a)
    a = conv1x1(a, channels, f"{prefix}_excite")
    a = layers.Activation("sigmoid", name=f"{prefix}_sigmoid")(a)
    return layers.Multiply(name=f"{prefix}_scale")([x, a])


def _res2net_cascade(x, prefix: str, scales: int,
                     chunk_op: Callable[[object, int], object],
                     finish: Callable[[object, int], object] | None = None):
    """Res2Net split: chunk 0 passes, chunk 1 → op, chunk k ≥ 2 → op(chunk_k + out_{k−1});
    ``finish`` (if any) is applied to every chunk's output, chunk 0 included, before it feeds
    the next chunk; outputs are concatenated in chunk order."""
    chunks = ChannelChunks(scales, name=f"{prefix}_split")(x)
    outs = []
    for k, chunk in enumerate(chunks):
        if k == 0:
            out = chunk
        else:
            inp = chunk if k == 1 else layers.Add(name=f"{prefix}_add{k}")([chunk, outs[-1]])
            out = chunk_op(inp, k)
        if finish is not None:
            out = finish(out, k)
        outs.append(out)
    return layers.Concatenate(axis=-1, name=f"{prefix}_concat")(outs)


def mfa_unit(x, prefix: str, scales: int = RES2NET_SCALES):
    """FreqAttnRes2NetUnit (the "MFA" after the stem and after each stage): Res2Net split,
    depthwise 3×3 → BN → ReLU on chunks 1..3, a FreqChannelAttention(c/scales) on every chunk
    output. No residual, no 1×1 convs."""
    def chunk_op(inp, k):
        out = depthwise_conv(inp, (3, 3), f"{prefix}_dw{k}")
        out = batch_norm(f"{prefix}_bn{k}")(out)
        return layers.ReLU(name=f"{prefix}_relu{k}")(out)

    def finish(out, k):
        return freq_channel_attention(out, f"{prefix}_fca{k}")

    return _res2net_cascade(x, prefix, scales, chunk_op, finish)


def f2_unit(x, prefix: str, sub_bands: int = SUB_BANDS, scales: int = RES2NET_SCALES):
    """BCRes2NetF2Unit (frequency branch): Res2Net split, depthwise (3, 1) conv →
    SubSpectralNorm on chunks 1..3, no activation."""
    def chunk_op(inp, k):
        out = depthwise_conv(inp, (3, 1), f"{prefix}_dw{k}")
        return SubSpectralNorm(sub_bands, name=f"{prefix}_ssn{k}")(out)

    return _res2net_cascade(x, prefix, scales, chunk_op)


def f1_mod_unit(x, prefix: str, scales: int = RES2NET_SCALES):
    """BCRes2NetF1ModUnit (temporal branch): Res2Net split, depthwise (1, 3) conv → ReLU on
    chunks 1..3, no normalisation."""
    def chunk_op(inp, k):
        out = depthwise_conv(inp, (1, 3), f"{prefix}_dw{k}")
        return layers.ReLU(name=f"{prefix}_relu{k}")(out)

    return _res2net_cascade(x, prefix, scales, chunk_op)


def _temporal_path(aux, prefix: str, dropout: float):
    """Frequency mean → F1 unit → 1×1 conv → Dropout2d: the (B, 1, T, c) broadcast term."""
    channels = int(aux.shape[-1])
    out = AxisMean(FREQ_AXIS, name=f"{prefix}_freq_mean")(aux)
    out = f1_mod_unit(out, f"{prefix}_f1")
    out = conv1x1(out, channels, f"{prefix}_pw2")
    return layers.SpatialDropout2D(dropout, name=f"{prefix}_drop")(out)


def transition_block(x, out_channels: int, prefix: str, sub_bands: int = SUB_BANDS,
                     dropout: float = DROPOUT):
    """Transition2BlockMod: 1×1 conv → BN → ReLU → F2 (= aux) → freq mean → F1 → 1×1 conv →
    Dropout2d → + aux (broadcast over F) → BN → ReLU. No identity shortcut."""
    out = conv1x1(x, out_channels, f"{prefix}_pw1")
    out = batch_norm(f"{prefix}_bn1")(out)
    out = layers.ReLU(name=f"{prefix}_relu1")(out)
    aux = f2_unit(out, f"{prefix}_f2", sub_bands)
    out = _temporal_path(aux, prefix, dropout)
    out = layers.Add(name=f"{prefix}_add")([out, aux])
    out = batch_norm(f"{prefix}_bn2")(out)
    return layers.ReLU(name=f"{prefix}_relu2")(out)


def broadcast_block(x, prefix: str, sub_bands: int = SUB_BANDS, dropout: float = DROPOUT):
    """Broadcast2BlockMod: F2 (= aux) → freq mean → F1 → 1×1 conv → Dropout2d →
    (broadcast) + x + aux → BN → ReLU."""
    aux = f2_unit(x, f"{prefix}_f2", sub_bands)
    out = _temporal_path(aux, prefix, dropout)
    out = layers.Add(name=f"{prefix}_add")([out, x, aux])
    out = batch_norm(f"{prefix}_bn")(out)
    return layers.ReLU(name=f"{prefix}_relu")(out)


def upsample(x, method: str, name: str):
    """×2 up-sampling of the FPM's running map: "pixel_shuffle" (1×1 conv c→4c + PixelShuffle,
    the submitted model), "transposed" (ConvTranspose 2×2 stride 2) or "bilinear"
    (align_corners, no weights)."""
    channels = int(x.shape[-1])
    if method == "pixel_shuffle":
        x = conv1x1(x, channels * 4, f"{name}_conv")
        return PixelShuffle(2, name=f"{name}_shuffle")(x)
    if method == "transposed":
        return layers.Conv2DTranspose(channels, 2, strides=2, use_bias=False,
                                      kernel_initializer=_kernel_init(), name=name)(x)
    if method == "bilinear":
        return BilinearUpsample(2, name=name)(x)
    raise ConfigError(f"upsample={method!r} is not one of {UPSAMPLE_METHODS}")


def feature_pyramid_module(taps: Sequence, channels: int, method: str = "pixel_shuffle",
                           prefix: str = "fpm", sub_bands: int = SUB_BANDS,
                           dropout: float = DROPOUT):
    """FeaturePyramidModule over the stage taps (given shallowest first, processed deepest
    first): each tap → 1×1 conv to ``channels``; running map p = tap4'; p = p + tap3';
    p = up(p) + tap2'; p = up(p) + tap1' (up only where the resolution changes); after each
    step a smoothing Broadcast2BlockMod + global average pooling gives a ``channels``-vector;
    the vectors are concatenated (deepest first) → len(taps)·channels."""
    if method not in UPSAMPLE_METHODS:
        raise ConfigError(f"upsample={method!r} is not one of {UPSAMPLE_METHODS}")
    running = None
    pooled = []
    for stage in range(len(taps), 0, -1):
        lateral = conv1x1(taps[stage - 1], channels, f"{prefix}_lateral{stage}")
        if running is not None:
            if tuple(running.shape[1:3]) != tuple(lateral.shape[1:3]):
                running = upsample(running, method, f"{prefix}_up{stage}")
                if tuple(running.shape[1:3]) != tuple(lateral.shape[1:3]):
                    raise ConfigError(
                        f"{prefix}: up-sampled map {tuple(running.shape[1:3])} does not match "
                        f"tap {stage} {tuple(lateral.shape[1:3])}; the input needs F divisible "
                        "by 32 and T by 16 (spec §1.2)")
            lateral = layers.Add(name=f"{prefix}_merge{stage}")([running, lateral])
        running = lateral
        smooth = broadcast_block(running, f"{prefix}_smooth{stage}", sub_bands, dropout)
        pooled.append(layers.GlobalAveragePooling2D(name=f"{prefix}_gap{stage}")(smooth))
    return layers.Concatenate(axis=-1, name=f"{prefix}_concat")(pooled)
