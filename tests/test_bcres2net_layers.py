"""Each BC-Res2Net building block (spec §1.1) against a small numpy reference written here in
the authors' channels-first (B, C, F, T) layout with plain loops/einsum — a different code
path from the Keras layers (channels-last, keras.ops). BatchNorm statistics and affine weights
are randomised so that every normalisation is actually exercised."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from common.errors import ConfigError
from reproductions.bcres2net_asc import layers as B

RTOL, ATOL = 1e-4, 1e-5


# ------------------------------------------------------------------------- numpy reference


def to_cf(x):
    return np.transpose(x, (0, 3, 1, 2))


def to_cl(x):
    return np.transpose(x, (0, 2, 3, 1))


def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def bn_ref(x, params, eps):
    gamma, beta, mean, var = (p.reshape(1, -1, 1, 1) for p in params)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def dw_ref(x, kernel):
    """Depthwise cross-correlation, zero padding k//2; kernel (C, kh, kw)."""
    _, _, f, t = x.shape
    kh, kw = kernel.shape[1:]
    xp = np.pad(x, ((0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    out = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            out += kernel[None, :, i, j, None, None] * xp[:, :, i:i + f, j:j + t]
    return out


def pw_ref(x, weight):
    """1×1 conv without bias; weight (out, in)."""
    return np.einsum("oc,bcft->boft", weight, x)


def ssn_ref(x, params, sub_bands, eps=B.SSN_EPSILON):
    b, c, f, t = x.shape
    grouped = x.reshape(b, c * sub_bands, f // sub_bands, t)  # = torch .view
    return bn_ref(grouped, params, eps).reshape(b, c, f, t)


def pixel_shuffle_ref(x, r):
    b, crr, h, w = x.shape
    c = crr // (r * r)
    out = np.zeros((b, c, h * r, w * r), dtype=x.dtype)
    for ch in range(c):
        for i in range(r):
            for j in range(r):
                out[:, ch, i::r, j::r] = x[:, ch * r * r + i * r + j]
    return out


def bilinear_ref(x, r):
    """align_corners=True, one output pixel at a time."""
    b, c, h, w = x.shape
    oh, ow = h * r, w * r
    out = np.zeros((b, c, oh, ow), dtype=np.float64)
    for p in range(oh):
        sy = p * (h - 1) / (oh - 1) if oh > 1 else 0.0
        y0 = int(np.floor(sy))
        y1 = min(y0 + 1, h - 1)
        dy = sy - y0
        for q in range(ow):
            sx = q * (w - 1) / (ow - 1) if ow > 1 else 0.0
            x0 = int(np.floor(sx))
            x1 = min(x0 + 1, w - 1)
            dx = sx - x0
            out[:, :, p, q] = ((1 - dy) * (1 - dx) * x[:, :, y0, x0] + (1 - dy) * dx * x[:, :, y0, x1]
                               + dy * (1 - dx) * x[:, :, y1, x0] + dy * dx * x[:, :, y1, x1])
    return out


def transposed_ref(x, kernel):
    """ConvTranspose 2×2 stride 2 without bias; Keras kernel (2, 2, out, in)."""
    b, _, h, w = x.shape
    out = np.zeros((b, kernel.shape[2], 2 * h, 2 * w))
    for i in range(2):
        for j in range(2):
            out[:, :, i::2, j::2] = np.einsum("oc,bchw->bohw", kernel[i, j], x)
    return out


class Weights:
    """Keras weights by layer name, in the reference's layout."""

    def __init__(self, model: keras.Model):
        self.w = {layer.name: [np.asarray(v) for v in layer.get_weights()]
                  for layer in model.layers}

    def dw(self, name):
        return self.w[name][0][:, :, :, 0].transpose(2, 0, 1)

    def pw(self, name):
        return self.w[name][0][0, 0].T

    def bn(self, name):
        return self.w[name]


def fca_ref(x, W, prefix):
    a = x.mean(axis=3, keepdims=True)
    a = relu(pw_ref(a, W.pw(f"{prefix}_squeeze")))
    return x * sigmoid(pw_ref(a, W.pw(f"{prefix}_excite")))


def cascade_ref(x, op, finish=None, scales=4):
    chunks = np.split(x, scales, axis=1)
    outs = []
    for k, chunk in enumerate(chunks):
        out = chunk if k == 0 else op(chunk if k == 1 else chunk + outs[-1], k)
        if finish is not None:
            out = finish(out, k)
        outs.append(out)
    return np.concatenate(outs, axis=1)


def mfa_ref(x, W, prefix):
    return cascade_ref(
        x, lambda inp, k: relu(bn_ref(dw_ref(inp, W.dw(f"{prefix}_dw{k}")),
                                      W.bn(f"{prefix}_bn{k}"), B.BN_EPSILON)),
        lambda out, k: fca_ref(out, W, f"{prefix}_fca{k}"))


def f2_ref(x, W, prefix):
    return cascade_ref(x, lambda inp, k: ssn_ref(dw_ref(inp, W.dw(f"{prefix}_dw{k}")),
                                                 W.bn(f"{prefix}_ssn{k}"), 4))


def f1_ref(x, W, prefix):
    return cascade_ref(x, lambda inp, k: relu(dw_ref(inp, W.dw(f"{prefix}_dw{k}"))))


def temporal_ref(aux, W, prefix):
    out = f1_ref(aux.mean(axis=2, keepdims=True), W, f"{prefix}_f1")
    return pw_ref(out, W.pw(f"{prefix}_pw2"))


def transition_ref(x, W, prefix):
    out = relu(bn_ref(pw_ref(x, W.pw(f"{prefix}_pw1")), W.bn(f"{prefix}_bn1"), B.BN_EPSILON))
    aux = f2_ref(out, W, f"{prefix}_f2")
    out = temporal_ref(aux, W, prefix) + aux
    return relu(bn_ref(out, W.bn(f"{prefix}_bn2"), B.BN_EPSILON))


def broadcast_ref(x, W, prefix):
    aux = f2_ref(x, W, f"{prefix}_f2")
    out = temporal_ref(aux, W, prefix) + x + aux
    return relu(bn_ref(out, W.bn(f"{prefix}_bn"), B.BN_EPSILON))


def fpm_ref(taps, W, method, prefix="fpm"):
    running, pooled = None, []
    for stage in range(len(taps), 0, -1):
        lateral = pw_ref(taps[stage - 1], W.pw(f"{prefix}_lateral{stage}"))
        if running is not None:
            if running.shape[2:] != lateral.shape[2:]:
                name = f"{prefix}_up{stage}"
                if method == "pixel_shuffle":
                    running = pixel_shuffle_ref(pw_ref(running, W.pw(f"{name}_conv")), 2)
                elif method == "bilinear":
                    running = bilinear_ref(running, 2)
                else:
                    running = transposed_ref(running, W.w[name][0])
            lateral = running + lateral
        running = lateral
        pooled.append(broadcast_ref(running, W, f"{prefix}_smooth{stage}").mean(axis=(2, 3)))
    return np.concatenate(pooled, axis=1)


# ------------------------------------------------------------------------------- helpers


def randomise_batch_norms(model: keras.Model, rng: np.random.Generator) -> None:
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.5, 1.5, n)])


def block_model(block, shape, rng, **kwargs):
    inputs = keras.Input(shape)
    model = keras.Model(inputs, block(inputs, **kwargs))
    randomise_batch_norms(model, rng)
    return model


@pytest.fixture
def rng():
    keras.utils.set_random_seed(0)
    return np.random.default_rng(0)


def run(model, x):
    return np.asarray(model(x, training=False))


# ------------------------------------------------------------------------- weightless layers


def test_sub_spectral_norm_inference_and_training(rng):
    x = rng.normal(size=(3, 8, 5, 6)).astype("float32")  # F = 8 → 4 sub-bands of 2 bins
    layer = B.SubSpectralNorm(4, name="ssn")
    model = block_model(lambda t: layer(t), x.shape[1:], rng)
    assert layer.get_weights()[0].shape == (24,)  # C·S affine weights, PyTorch order
    ref = to_cl(ssn_ref(to_cf(x), layer.get_weights(), 4))
    np.testing.assert_allclose(run(model, x), ref, rtol=RTOL, atol=ATOL)

    # Training: each (channel, sub-band) group is normalised by its own batch statistics.
    grouped = to_cf(x).reshape(3, 24, 2, 5)
    mean = grouped.mean(axis=(0, 2, 3))
    var = grouped.var(axis=(0, 2, 3))
    gamma, beta = layer.get_weights()[:2]
    expected = to_cl(ssn_ref(to_cf(x), [gamma, beta, mean, var], 4))
    np.testing.assert_allclose(np.asarray(model(x, training=True)), expected, rtol=1e-3,
                               atol=1e-4)


def test_sub_spectral_norm_rejects_indivisible_frequency():
    with pytest.raises(ConfigError, match="sub-bands"):
        B.SubSpectralNorm(4)(keras.Input((6, 5, 3)))


def test_resnorm(rng):
    x = rng.normal(1.0, 2.0, size=(2, 4, 5, 3)).astype("float32")
    out = run(block_model(lambda t: B.ResNorm(0.1)(t), x.shape[1:], rng), x)
    xc = to_cf(x).astype(np.float64)
    ref = np.zeros_like(xc)
    for b in range(xc.shape[0]):
        for f in range(xc.shape[2]):
            plane = xc[b, :, f, :]  # channels × time of one frequency bin
            ref[b, :, f, :] = 0.1 * plane + (plane - plane.mean()) / np.sqrt(plane.var() + 1e-8)
    np.testing.assert_allclose(out, to_cl(ref), rtol=RTOL, atol=ATOL)


def test_pixel_shuffle_uses_pytorch_channel_order(rng):
    x = rng.normal(size=(2, 3, 2, 12)).astype("float32")
    out = run(block_model(lambda t: B.PixelShuffle(2)(t), x.shape[1:], rng), x)
    np.testing.assert_allclose(out, to_cl(pixel_shuffle_ref(to_cf(x), 2)), rtol=RTOL, atol=ATOL)


def test_bilinear_upsample_align_corners(rng):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    out = run(block_model(lambda t: B.BilinearUpsample(2)(t), x.shape[1:], rng), x)
    np.testing.assert_allclose(out, to_cl(bilinear_ref(to_cf(x), 2)), rtol=RTOL, atol=ATOL)
    # align_corners keeps the corner pixels (half-pixel resizing would not).
    np.testing.assert_allclose(out[:, 0, 0], x[:, 0, 0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(out[:, -1, -1], x[:, -1, -1], rtol=RTOL, atol=ATOL)


def test_channel_chunks_reject_uneven_split():
    with pytest.raises(ConfigError, match="equal chunks"):
        B.ChannelChunks(4)(keras.Input((4, 4, 6)))


# ------------------------------------------------------------------------ functional blocks


def test_squeeze_channels_rounds_up_to_even():
    assert [B.squeeze_channels(c) for c in (20, 10, 15, 25, 40)] == [10, 6, 8, 12, 20]


def test_freq_channel_attention(rng):
    x = rng.normal(size=(2, 8, 5, 6)).astype("float32")
    model = block_model(B.freq_channel_attention, x.shape[1:], rng, prefix="fca")
    np.testing.assert_allclose(run(model, x), to_cl(fca_ref(to_cf(x), Weights(model), "fca")),
                               rtol=RTOL, atol=ATOL)


def test_mfa_unit(rng):
    x = rng.normal(size=(2, 8, 6, 8)).astype("float32")
    model = block_model(B.mfa_unit, x.shape[1:], rng, prefix="mfa")
    # 3 depthwise 3×3 (2 ch) + 3 BN(2) γβ + 4 attentions 2→2→2: 54 + 12 + 32 trainable.
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 98
    np.testing.assert_allclose(run(model, x), to_cl(mfa_ref(to_cf(x), Weights(model), "mfa")),
                               rtol=RTOL, atol=ATOL)


def test_f2_and_f1_units(rng):
    x = rng.normal(size=(2, 8, 6, 8)).astype("float32")
    f2 = block_model(B.f2_unit, x.shape[1:], rng, prefix="f2")
    np.testing.assert_allclose(run(f2, x), to_cl(f2_ref(to_cf(x), Weights(f2), "f2")),
                               rtol=RTOL, atol=ATOL)
    f1 = block_model(B.f1_mod_unit, x.shape[1:], rng, prefix="f1")
    np.testing.assert_allclose(run(f1, x), to_cl(f1_ref(to_cf(x), Weights(f1), "f1")),
                               rtol=RTOL, atol=ATOL)


def test_transition_block(rng):
    x = rng.normal(size=(2, 8, 6, 8)).astype("float32")
    model = block_model(B.transition_block, x.shape[1:], rng, out_channels=12, prefix="tr")
    np.testing.assert_allclose(run(model, x),
                               to_cl(transition_ref(to_cf(x), Weights(model), "tr")),
                               rtol=RTOL, atol=ATOL)


def test_broadcast_block(rng):
    x = rng.normal(size=(2, 8, 6, 8)).astype("float32")
    model = block_model(B.broadcast_block, x.shape[1:], rng, prefix="bc")
    np.testing.assert_allclose(run(model, x),
                               to_cl(broadcast_ref(to_cf(x), Weights(model), "bc")),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", B.UPSAMPLE_METHODS)
def test_feature_pyramid_module(rng, method):
    # Tap shapes of the real network at 1/8 size: (F, T) 16×8, 8×4, 4×2, 4×2.
    shapes = [(16, 8, 8), (8, 4, 12), (4, 2, 16), (4, 2, 20)]
    inputs = [keras.Input(s) for s in shapes]
    model = keras.Model(inputs, B.feature_pyramid_module(inputs, 8, method))
    randomise_batch_norms(model, rng)
    taps = [rng.normal(size=(2, *s)).astype("float32") for s in shapes]
    out = np.asarray(model(taps, training=False))
    assert out.shape == (2, 32)
    ref = fpm_ref([to_cf(t) for t in taps], Weights(model), method)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def test_fpm_rejects_mismatched_taps():
    inputs = [keras.Input(s) for s in [(16, 6, 8), (8, 3, 12), (4, 2, 16), (4, 2, 20)]]
    with pytest.raises(ConfigError, match="divisible"):
        B.feature_pyramid_module(inputs, 8)
