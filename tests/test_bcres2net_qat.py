"""Weight QAT of report 003 (reproductions/bcres2net_asc/qat.py): the INT8 grids TFLite uses
and the straight-through shadow update, on hand-worked numbers."""
from __future__ import annotations

import numpy as np
import pytest

from reproductions.bcres2net_asc.qat import WeightQAT, fake_quant


def test_conv_kernels_are_rounded_per_output_channel_symmetrically():
    w = np.zeros((1, 1, 2, 2), np.float32)
    w[0, 0, :, 0] = [0.5, -1.27]        # peak 1.27: step 0.01
    w[0, 0, :, 1] = [0.3, 0.001]        # peak 0.3: step 0.3 / 127; 0.001 is 0.42 steps
    q = fake_quant(w, "conv")
    assert q[0, 0, :, 0] == pytest.approx([0.5, -1.27], abs=1e-7)
    assert q[0, 0, :, 1] == pytest.approx([0.3, 0.0], abs=1e-7)


def test_depthwise_is_per_input_channel_and_dense_per_tensor():
    d = np.array([0.2, 1.0, 0.1, 0.05], np.float32).reshape(2, 1, 2, 1)  # (kh, kw, in, mult)
    q = fake_quant(d, "depthwise")
    # channel 0 holds 0.2 and 0.1 (step 0.2 / 127); channel 1 holds 1.0 and 0.05 (step 1 / 127)
    assert q[:, 0, 0, 0] == pytest.approx([0.2, round(0.1 * 127 / 0.2) * 0.2 / 127], abs=1e-7)
    assert q[:, 0, 1, 0] == pytest.approx([1.0, round(0.05 * 127) / 127], abs=1e-7)
    k = np.array([[2.54, 0.011], [-0.009, 1.0]], np.float32)             # one step 0.02
    assert fake_quant(k, "dense") == pytest.approx(np.array([[2.54, 0.02], [0.0, 1.0]]),
                                                   abs=1e-6)
    assert not fake_quant(np.zeros((3, 3, 1, 2), np.float32), "conv").any()


def _tiny_model():
    import keras
    inp = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 3, use_bias=False, name="c")(inp)
    x = keras.layers.DepthwiseConv2D(2, use_bias=False, name="d")(x)
    out = keras.layers.Dense(3, name="classifier")(keras.layers.Flatten()(x))
    return keras.Model(inp, out)


def test_small_updates_accumulate_in_the_shadow_until_the_weight_moves_one_step():
    model = _tiny_model()
    var = model.get_layer("c").kernel
    w = np.zeros(var.shape, np.float32)
    w[0, 0, 0, 0] = 1.27                      # channel 0's peak: its grid step is 0.01
    var.assign(w)
    qat = WeightQAT(model)
    assert [k for _, k in qat.kernels] == ["conv", "depthwise", "dense"]
    seen = []
    for _ in range(2):        # an optimiser moving weight [1, 1, 0, 0] by 0.0035, twice
        moved = var.numpy()
        moved[1, 1, 0, 0] += 0.0035
        var.assign(moved)
        qat.after_step()
        seen.append(float(var.numpy()[1, 1, 0, 0]))
    # naive rounding after each step would leave it at 0 forever; the shadow holds 0.007
    assert seen == pytest.approx([0.0, 0.01], abs=1e-7)
    assert float(qat.shadow[0][1, 1, 0, 0]) == pytest.approx(0.007, abs=1e-7)
    assert float(var.numpy()[0, 0, 0, 0]) == pytest.approx(1.27, abs=1e-7)


def test_load_restores_shadow_and_rounds_again():
    model = _tiny_model()
    qat = WeightQAT(model)
    saved = [s + 0.001 for s in qat.shadow]
    other = WeightQAT(_tiny_model())
    other.load(saved)
    for (v, kind), s in zip(other.kernels, saved):
        assert np.array_equal(v.numpy(), fake_quant(s, kind))
    with pytest.raises(ValueError, match="3 kernels"):
        other.load(saved[:2])
