"""FUSS TDCN++ separation layers, model and loss (spec fuss_desed.md §1.1, §2.1).

Numpy references are written here, independently of the modules under test; expected
parameter counts are the spec's literals."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.complexity import count_model
from common.errors import ConfigError
from reproductions.fuss_desed import separation_layers as L
from reproductions.fuss_desed import separation_loss as SL
from reproductions.fuss_desed import separation_models as M

RNG = np.random.default_rng(20200)


# --------------------------------------------------------------------------------------------
# numpy references


def np_sqrt_hann(n: int) -> np.ndarray:
    return np.sqrt(0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(n) / n)))


def np_stft(x: np.ndarray, frame: int = 512, hop: int = 128) -> np.ndarray:
    """tf.signal.stft(pad_end=True) semantics: ⌈T/hop⌉ frames, zero padding at the end."""
    n = math.ceil(len(x) / hop)
    padded = np.zeros((n - 1) * hop + frame)
    padded[: len(x)] = x
    frames = np.stack([padded[i * hop: i * hop + frame] for i in range(n)])
    return np.fft.rfft(frames * np_sqrt_hann(frame), n=frame, axis=-1)


def np_istft(spec: np.ndarray, frame: int = 512, hop: int = 128) -> np.ndarray:
    """Overlap-add with the synthesis window √Hann / Σ_shifts Hann (= √Hann / 2 at hop N/4)."""
    w = np_sqrt_hann(frame)
    denom = sum(np.roll(w ** 2, k * hop) for k in range(frame // hop))
    synthesis = w / denom
    frames = np.fft.irfft(spec, n=frame, axis=-1) * synthesis
    out = np.zeros((len(spec) - 1) * hop + frame)
    for i, f in enumerate(frames):
        out[i * hop: i * hop + frame] += f
    return out


def np_gln(x: np.ndarray, axes: tuple, gamma=1.0, beta=0.0, eps=1e-3) -> np.ndarray:
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def np_prelu(x, alpha):
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


def np_depthwise_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, d: int):
    """x (B, T, C), kernel (k, C): SAME zero padding of d·(k−1)/2 on each side."""
    k = kernel.shape[0]
    pad = d * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    t = x.shape[1]
    return sum(xp[:, j * d: j * d + t, :] * kernel[j] for j in range(k)) + bias


# --------------------------------------------------------------------------------------------
# STFT


def test_frame_count_of_ten_seconds_is_1250():
    assert L.n_frames(160_000) == 1250
    assert (L.FRAME_LENGTH, L.FRAME_STEP, L.FFT_LENGTH, L.N_BINS) == (512, 128, 512, 257)


def test_stft_matches_numpy_reference():
    x = RNG.standard_normal(1000).astype(np.float32)
    real, imag = L.Stft()(x[None])
    ref = np_stft(x.astype(np.float64))
    assert real.shape == (1, 8, 257)
    np.testing.assert_allclose(np.asarray(real)[0], ref.real, atol=2e-4)
    np.testing.assert_allclose(np.asarray(imag)[0], ref.imag, atol=2e-4)
    mag = L.ComplexMagnitude()(real, imag)
    np.testing.assert_allclose(np.asarray(mag)[0], np.abs(ref), atol=2e-4)


def test_sqrt_hann_pair_sums_to_two_at_75_percent_overlap():
    w2 = np_sqrt_hann(512) ** 2
    np.testing.assert_allclose(sum(np.roll(w2, 128 * k) for k in range(4)), 2.0, atol=1e-12)
    np.testing.assert_allclose(L.sqrt_hann_window(512), np_sqrt_hann(512), atol=1e-7)


def test_inverse_stft_reconstructs_perfectly_where_four_frames_overlap():
    x = RNG.standard_normal(4000).astype(np.float32)
    real, imag = L.Stft()(x[None])
    y = np.asarray(L.InverseStft()(real, imag, x[None]))[0]
    assert y.shape == (4000,)
    # Official edge behaviour: no padding at the start, so the first 512 − 128 samples are
    # attenuated exactly as the numpy overlap-add says; everything after is exact.
    np.testing.assert_allclose(y[384:], x[384:], atol=1e-5)
    np.testing.assert_allclose(y, np_istft(np_stft(x.astype(np.float64)))[:4000], atol=1e-5)
    assert np.abs(y[:100] - x[:100]).max() > 0.1
    uncropped = L.InverseStft()(real, imag)
    assert uncropped.shape == (1, (L.n_frames(4000) - 1) * 128 + 512)


# --------------------------------------------------------------------------------------------
# small layers


@pytest.mark.parametrize("axes", [(1,), (1, 2)])
def test_global_layer_norm_matches_numpy_and_has_two_scalars(axes):
    x = RNG.standard_normal((2, 7, 5)).astype(np.float32) * 3 + 1
    layer = L.GlobalLayerNorm(axes=axes)
    layer.build(x.shape)
    layer.set_weights([np.float32(1.5), np.float32(-0.25)])
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, np_gln(x, axes, 1.5, -0.25), atol=1e-5)
    assert sum(math.prod(w.shape) for w in layer.weights) == 2
    with pytest.raises(ValueError):
        L.GlobalLayerNorm(axes=(0, 1))


def test_scalar_scale_and_prelu():
    layer = L.ScalarScale(0.9 ** 3)
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(layer(x)), x * 0.729, rtol=1e-6)
    assert [tuple(w.shape) for w in layer.weights] == [()]
    prelu = L.scalar_prelu("p")
    np.testing.assert_allclose(np.asarray(prelu(x)), np_prelu(x, 0.1), rtol=1e-6)
    assert sum(math.prod(w.shape) for w in prelu.weights) == 1


def test_mixture_consistency_matches_numpy_and_restores_the_mixture():
    sep = RNG.standard_normal((2, 4, 50)).astype(np.float32)
    mix = RNG.standard_normal((2, 50)).astype(np.float32)
    w = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]], dtype=np.float32)
    out = np.asarray(L.MixtureConsistency()(sep, mix, w))
    expected = sep + w[:, :, None] * (mix - sep.sum(1))[:, None, :]
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(out.sum(1), mix, atol=1e-5)


def test_tdcn_block_matches_numpy_reference():
    b, t, c, h, d = 2, 20, 4, 6, 2
    inp = keras.Input((t, c))
    model = keras.Model(inp, L.tdcn_block(inp, dilation=d, scale=0.9 ** 5, conv_channels=h,
                                          name="blk"))
    weights = {w.path: w for w in model.weights}
    assert len(weights) == 12
    rand = {}
    for path, w in weights.items():
        value = RNG.standard_normal(w.shape).astype(np.float32) * 0.5 if w.shape else \
            np.float32(RNG.uniform(0.5, 1.5))
        w.assign(value)
        rand[path] = np.asarray(value)

    def get(fragment):
        (match,) = [v for k, v in rand.items() if fragment in k]
        return match

    x = RNG.standard_normal((b, t, c)).astype(np.float32)
    y = x @ get("dense1_dense/kernel") * get("dense1_scale")
    y = np_gln(np_prelu(y, get("prelu1")), (1,), get("norm1/gamma"), get("norm1/beta"))
    y = np_depthwise_same(y, get("dwconv/kernel")[:, :, 0], get("dwconv/bias"), d)
    y = np_gln(np_prelu(y, get("prelu2")), (1,), get("norm2/gamma"), get("norm2/beta"))
    y = y @ get("dense2_dense/kernel") * get("dense2_scale") + x
    np.testing.assert_allclose(np.asarray(model(x)), y, rtol=1e-4, atol=1e-4)


def test_tdcn_block_initial_values_and_count():
    inp = keras.Input((None, 256))
    model = keras.Model(inp, L.tdcn_block(inp, dilation=4, scale=0.9 ** 7, name="blk"))
    assert M.count_params(model)["trainable"] == 264_200  # spec §1.1 per-block count
    values = {w.path: w for w in model.weights}
    assert float(values["blk_dense2_scale/alpha"].numpy()) == pytest.approx(0.9 ** 7)
    assert float(values["blk_dense1_scale/alpha"].numpy()) == 1.0
    assert float(np.asarray(values["blk_prelu1/alpha"]).squeeze()) == pytest.approx(0.1)


# --------------------------------------------------------------------------------------------
# model


def test_skip_connections_are_the_official_list():
    assert M.skip_connections(4, 8) == [(0, 8), (0, 16), (0, 24), (8, 16), (8, 24), (16, 24)]


@pytest.mark.parametrize("name,expected", [("fuss_baseline", 9_179_401),
                                           ("fuss_baseline_3src", 9_113_353)])
def test_full_model_parameter_counts_match_spec(name, expected):
    model = M.build(name)
    assert M.count_params(model) == {"trainable": expected, "non_trainable": 0,
                                     "total": expected}
    assert M.MODEL_VARIANTS[name]["expected_trainable_params"] == expected
    assert tuple(model.output.shape) == (None, 4 if name == "fuss_baseline" else 3, 160_000)


def test_receptive_field_is_read_from_the_dilations():
    # Kernel 3: each block adds 2 x its dilation. Full size: 1 + 2 * 4 * 255 = 2,041 frames.
    assert M.receptive_field_frames(M.build("fuss_baseline")) == 2041
    small = M.build("fuss_baseline", small=True, n_repeats=3, dilations=(1, 4))
    assert M.receptive_field_frames(small) == 1 + 2 * 3 * 5


def test_small_variant_runs_sums_to_mixture_and_is_countable():
    model = M.build("fuss_baseline", small=True)
    x = RNG.standard_normal((2, 4000)).astype(np.float32) * 0.1
    y = np.asarray(model(x))
    assert y.shape == (2, 4, 4000)
    np.testing.assert_allclose(y.sum(1), x, atol=1e-5)  # mixture consistency
    cost = count_model(model)
    assert cost.params == M.count_params(model)["total"]
    assert cost.macs > 0
    plain = M.build("fuss_baseline", small=True, mixture_consistency=False)
    yp = np.asarray(plain(x))
    assert np.abs(yp.sum(1) - x).max() > 1e-3  # masks alone do not sum to the mixture


def test_build_rejects_unknown_names_and_keys():
    with pytest.raises(ConfigError, match="unknown model variant"):
        M.build("nope")
    with pytest.raises(ConfigError, match="unknown override"):
        M.build("fuss_baseline", small=True, widht=3)


# --------------------------------------------------------------------------------------------
# loss


def _loss(refs, ests):
    return float(np.asarray(SL.pit_log_mse_loss(np.asarray(refs, np.float32)[None],
                                                np.asarray(ests, np.float32)[None]))[0])


S1 = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=np.float32)  # ‖s1‖² = 4
S2 = np.array([0, 0, 0, 0, 2, 2, 2, 2], dtype=np.float32)  # ‖s2‖² = 16
Z = np.zeros(8, dtype=np.float32)


def test_loss_of_a_perfect_estimate_is_the_snr_cap():
    refs = [S1, S2, Z, Z]
    # active: 10·log10(1e-3·‖s‖² + 1e-8); zero refs with zero estimates: 10·log10(1e-2·‖mix‖²
    # + 1e-8), ‖mix‖² = 20.
    expected = (10 * math.log10(1e-3 * 4 + 1e-8) + 10 * math.log10(1e-3 * 16 + 1e-8)
                + 2 * 10 * math.log10(1e-2 * 20 + 1e-8)) / 4
    assert _loss(refs, refs) == pytest.approx(expected, abs=1e-4)


def test_loss_is_permutation_invariant():
    refs = [S1, S2, Z, Z]
    ests = [S1 + 0.1, S2 * 0.5, Z + 0.01, Z]
    swapped = [ests[2], ests[0], ests[3], ests[1]]
    assert _loss(refs, swapped) == pytest.approx(_loss(refs, ests), abs=1e-5)
    # hand-worked value of the best order
    expected = (10 * math.log10(8 * 0.01 + 1e-3 * 4 + 1e-8)
                + 10 * math.log10(4 * 1.0 + 1e-3 * 16 + 1e-8)
                + 10 * math.log10(8 * 1e-4 + 1e-2 * 20 + 1e-8)
                + 10 * math.log10(0 + 1e-2 * 20 + 1e-8)) / 4
    assert _loss(refs, ests) == pytest.approx(expected, abs=1e-4)


def test_zero_reference_is_capped_relative_to_the_mixture():
    refs = [S1, Z, Z, Z]
    ests = [S1, S2, Z, Z]  # S2 leaks into a zero-reference slot: ‖ŝ‖² = 16, ‖mix‖² = 4
    expected = (10 * math.log10(1e-3 * 4 + 1e-8) + 10 * math.log10(16 + 1e-2 * 4 + 1e-8)
                + 2 * 10 * math.log10(1e-2 * 4 + 1e-8)) / 4
    assert _loss(refs, ests) == pytest.approx(expected, abs=1e-4)


def test_best_permutation_pairs_each_estimate_with_its_reference():
    refs = np.stack([S1, S2])
    ests = np.stack([S1, S2 + 0.5])
    perm = np.asarray(SL.best_permutation(refs[None], ests[None]))[0]
    np.testing.assert_array_equal(perm, np.eye(2))
    perm = np.asarray(SL.best_permutation(refs[None], ests[::-1][None]))[0]
    np.testing.assert_array_equal(perm, np.eye(2)[::-1])


def test_one_training_step_on_the_small_variant_gives_finite_gradients():
    keras.utils.set_random_seed(0)
    model = M.build("fuss_baseline", small=True)
    sources = RNG.standard_normal((2, 4, 4000)).astype(np.float32) * 0.1
    sources[0, 3] = 0.0  # a zero reference
    mixture = sources.sum(1)
    optimizer = keras.optimizers.Adam(1e-4)
    before = [np.array(w) for w in model.trainable_weights]
    # One eager step (a compiled train_on_batch traces the whole graph: far slower on CPU).
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(SL.pit_log_mse_loss(sources, model(mixture, training=True)))
    grads = tape.gradient(loss, model.trainable_weights)
    assert np.isfinite(float(loss))
    assert all(g is not None and np.all(np.isfinite(np.asarray(g))) for g in grads)
    optimizer.apply(grads, model.trainable_weights)
    after = [np.array(w) for w in model.trainable_weights]
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) == len(before)
