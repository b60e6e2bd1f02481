"""Keras 3 layers of the FUSS TDCN++ separation baseline (spec fuss_desed.md §1.1).

The official baseline (google-research/sound-separation, models/dcase2020_fuss_baseline) is
TF1 graph code; these layers reproduce its numerics on the TensorFlow backend:

* :class:`Stft` / :class:`InverseStft`: ``tf.signal.stft`` with a periodic square-root Hann
  window, 32 ms frames and 8 ms hop at 16 kHz (512 / 128 samples, FFT 512 → 257 bins) and
  ``pad_end=True`` (⌈T/128⌉ frames); the inverse uses ``tf.signal.inverse_stft`` with
  ``inverse_stft_window_fn`` — synthesis window √Hann / Σ (overlapping √Hann²) = √Hann / 2 at
  75 % overlap, so the pair reconstructs perfectly wherever four frames overlap. The first
  ``512 − 128 = 384`` samples are covered by fewer frames and come back attenuated: the
  official transformer does not pad the beginning (``zeropad_beginning=False``), so neither do we.
  Complex spectra travel as (real, imaginary) float32 pairs so the functional graph stays real.
* :class:`GlobalLayerNorm`: Keras-style layer normalisation over the given axes with a
  *scalar* γ and β (the official ``LayerNormalizationScalarParams``; epsilon 1e-3 is the
  tf.keras LayerNormalization default it inherits). Over (frame, bin) for the mixture
  magnitudes; over frames only, per channel, inside the blocks ("bin_wise" global layer norm).
* :class:`ScalarScale`: y = α·x with one trainable scalar (the official ``scale_layer``).
* :func:`scalar_prelu`: PReLU with one shared α, init 0.1 (relu(x) − α·relu(−x)).
* :func:`tdcn_block`: dense1 (no bias) × scale → PReLU → GLN → depthwise dilated conv
  (kernel 3, SAME, bias) → PReLU → GLN → dense2 (no bias) × scale → + block input.
* :class:`MixtureConsistency`: ŝ_j + w_j·(x − Σ_k ŝ_k) with per-example weights w (B, S).

The two weighted custom layers declare ``count_macs`` (element-wise, 0 MACs) for
``common.complexity.count_model``.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

SAMPLE_RATE = 16000
WINDOW_SECONDS = 0.032
HOP_SECONDS = 0.008
FRAME_LENGTH = round(SAMPLE_RATE * WINDOW_SECONDS)  # 512
FRAME_STEP = round(SAMPLE_RATE * HOP_SECONDS)  # 128
FFT_LENGTH = 2 ** math.ceil(math.log2(FRAME_LENGTH))  # enclosing power of two: 512
N_BINS = FFT_LENGTH // 2 + 1  # 257
LAYER_NORM_EPSILON = 1e-3  # tf.keras LayerNormalization default, inherited by the baseline
PRELU_INIT = 0.1


def sqrt_hann_window(length: int = FRAME_LENGTH) -> np.ndarray:
    """Periodic square-root Hann window (float32), as ``sqrt(tf.signal.hann_window(periodic))``."""
    n = np.arange(length, dtype=np.float64)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)).astype(np.float32)


def _sqrt_hann_tensor(window_length, dtype=tf.float32):
    return tf.sqrt(tf.signal.hann_window(window_length, periodic=True, dtype=dtype))


def n_frames(n_samples: int, frame_step: int = FRAME_STEP) -> int:
    """Frames of ``tf.signal.stft(..., pad_end=True)``: ⌈T / hop⌉ (1,250 for 160,000 samples)."""
    return -(-n_samples // frame_step)


@keras.saving.register_keras_serializable(package="fuss_desed")
class Stft(layers.Layer):
    """(B, [C,] T) waveforms → (real, imag), each (B, [C,] frames, bins)."""

    def __init__(self, frame_length: int = FRAME_LENGTH, frame_step: int = FRAME_STEP,
                 fft_length: int = FFT_LENGTH, **kwargs):
        super().__init__(**kwargs)
        self.frame_length, self.frame_step, self.fft_length = frame_length, frame_step, fft_length

    def call(self, waveforms):
        spec = tf.signal.stft(tf.cast(waveforms, tf.float32), self.frame_length,
                              self.frame_step, self.fft_length, window_fn=_sqrt_hann_tensor,
                              pad_end=True)
        return tf.math.real(spec), tf.math.imag(spec)

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[-1] is None else n_frames(input_shape[-1], self.frame_step)
        shape = (*input_shape[:-1], frames, self.fft_length // 2 + 1)
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length}


@keras.saving.register_keras_serializable(package="fuss_desed")
class InverseStft(layers.Layer):
    """(real, imag) (..., frames, bins) [, reference waveform (..., T)] → waveforms (..., T).

    Without a reference the output has (frames − 1)·hop + frame_length samples; with one, it is
    cropped to the reference's last-axis length (the baseline crops to the mixture length)."""

    def __init__(self, frame_length: int = FRAME_LENGTH, frame_step: int = FRAME_STEP,
                 fft_length: int = FFT_LENGTH, **kwargs):
        super().__init__(**kwargs)
        self.frame_length, self.frame_step, self.fft_length = frame_length, frame_step, fft_length

    def call(self, real, imag, reference=None):
        spec = tf.complex(tf.cast(real, tf.float32), tf.cast(imag, tf.float32))
        window_fn = tf.signal.inverse_stft_window_fn(self.frame_step,
                                                     forward_window_fn=_sqrt_hann_tensor)
        out = tf.signal.inverse_stft(spec, self.frame_length, self.frame_step, self.fft_length,
                                     window_fn=window_fn)
        if reference is not None:
            out = out[..., :tf.shape(reference)[-1]]
        return out

    def compute_output_shape(self, real_shape, imag_shape=None, reference_shape=None):
        if reference_shape is not None:
            length = reference_shape[-1]
        elif real_shape[-2] is None:
            length = None
        else:
            length = (real_shape[-2] - 1) * self.frame_step + self.frame_length
        return (*real_shape[:-2], length)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length}


@keras.saving.register_keras_serializable(package="fuss_desed")
class ComplexMagnitude(layers.Layer):
    """(real, imag) → |X| = √(re² + im²)."""

    def call(self, real, imag):
        return ops.sqrt(ops.square(real) + ops.square(imag))

    def compute_output_shape(self, real_shape, imag_shape=None):
        return real_shape


@keras.saving.register_keras_serializable(package="fuss_desed")
class GlobalLayerNorm(layers.Layer):
    """(x − mean) / √(var + ε) · γ + β with moments over ``axes`` (per example) and scalar γ, β.

    ``axes`` are positive axis indices of the input (0 = batch is not allowed)."""

    def __init__(self, axes: tuple[int, ...], epsilon: float = LAYER_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.axes = tuple(int(a) for a in axes)
        if not self.axes or any(a < 1 for a in self.axes):
            raise ValueError(f"GlobalLayerNorm axes must be positive (no batch axis): {axes}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(), initializer="zeros", name="beta")

    def call(self, x):
        mean = ops.mean(x, axis=self.axes, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=self.axes, keepdims=True)
        return (x - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int:
        return 0  # element-wise normalisation: 0 MACs by the DCASE convention

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="fuss_desed")
class ScalarScale(layers.Layer):
    """y = α·x with one trainable scalar α initialised to ``init``."""

    def __init__(self, init: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = float(init)

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), name="alpha",
                                     initializer=keras.initializers.Constant(self.init))

    def call(self, x):
        return x * self.alpha

    def compute_output_shape(self, input_shape):
        return input_shape

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int:
        return 0  # element-wise

    def get_config(self):
        return {**super().get_config(), "init": self.init}


@keras.saving.register_keras_serializable(package="fuss_desed")
class MixtureConsistency(layers.Layer):
    """Weighted mixture-consistency projection (spec §1.1 step 6; baseline ``consistency.py``).

    Inputs: separated (B, S, T), mixture (B, T), weights (B, S) summing to 1 over S.
    Output: separated + weights[..., None] · (mixture − Σ_S separated)[:, None]; the sources
    then sum to the mixture exactly (up to rounding)."""

    def call(self, separated, mixture, weights):
        residual = mixture - ops.sum(separated, axis=1)
        return separated + weights[:, :, None] * residual[:, None, :]

    def compute_output_shape(self, separated_shape, mixture_shape=None, weights_shape=None):
        return separated_shape


def scalar_prelu(name: str) -> layers.PReLU:
    """PReLU with a single α for (B, T, C) inputs (shared over time and channels), α₀ = 0.1."""
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(PRELU_INIT),
                        shared_axes=[1, 2], name=name)


def scaled_dense(x, units: int, use_bias: bool, scale: float | None, name: str,
                 kernel_initializer="glorot_uniform"):
    """Dense (Glorot-uniform kernel, zero bias) optionally followed by a scalar scale, as the
    baseline's ``dense_layer`` (scale < 0 there ≙ ``None`` here)."""
    x = layers.Dense(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                     name=f"{name}_dense")(x)
    if scale is not None:
        x = ScalarScale(scale, name=f"{name}_scale")(x)
    return x


def tdcn_block(x, dilation: int, scale: float, conv_channels: int = 512,
               kernel_size: int = 3, name: str = "block"):
    """One TDCN++ block on (B, T, bottleneck) → (B, T, bottleneck) (spec §1.1 step 4).

    Activation comes before each norm (``norm_after_act=True`` in the baseline config)."""
    bottleneck = int(x.shape[-1])
    y = scaled_dense(x, conv_channels, use_bias=False, scale=1.0, name=f"{name}_dense1")
    y = scalar_prelu(f"{name}_prelu1")(y)
    y = GlobalLayerNorm(axes=(1,), name=f"{name}_norm1")(y)
    y = layers.DepthwiseConv1D(kernel_size, padding="same", dilation_rate=dilation,
                               use_bias=True, name=f"{name}_dwconv")(y)
    y = scalar_prelu(f"{name}_prelu2")(y)
    y = GlobalLayerNorm(axes=(1,), name=f"{name}_norm2")(y)
    y = scaled_dense(y, bottleneck, use_bias=False, scale=scale, name=f"{name}_dense2")
    return layers.Add(name=f"{name}_residual")([x, y])
