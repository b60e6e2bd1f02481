"""SwishNet model: parameter counts, topology, causality, initialisation, Question-1 check."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from common.errors import ConfigError  # noqa: E402
from reproductions.swishnet.models import (  # noqa: E402
    TABLE_I_VARIANTS,
    Keras2GlorotUniform,
    build_swishnet,
    build_table_i_variant,
    question1_prediction,
)

REPO = Path(__file__).resolve().parents[1]

# (block, in-channel source, filters F, kernel) of the 11 gated convs (spec §1.2); in-channels
# are per width w=1 except the network input (20 MFCCs), which does not scale.
_GATED = [("1a", "in", 16, 3), ("1b", "in", 16, 6), ("2a", 16, 8, 3), ("2b", 16, 8, 6),
          ("3a", 8, 8, 3), ("3b", 8, 8, 6), ("4", 8, 16, 3), ("5", 8, 16, 3), ("6", 8, 16, 3),
          ("7", 8, 16, 3), ("8", 8, 32, 3)]


def analytic_params(variant: str, width: int, classes: int, n_in: int = 20) -> int:
    """Independent count from the layer table: two half-width convs per gate; paper =
    separable length-6 convs + BN (4 weights per gated map)."""
    total = 0
    for _, cin, filters, k in _GATED:
        cin = n_in if cin == "in" else cin * width
        half = filters * width // 2
        if variant == "paper" and k == 6:
            conv = k * cin + cin * half + half          # depthwise + pointwise + bias
        else:
            conv = k * cin * half + half
        total += 2 * conv
        if variant == "paper":
            total += 4 * half
    concat = 40 * width
    return total + concat * classes + classes


@pytest.mark.parametrize("variant,width,classes,expected", [
    ("reference", 1, 3, 7195),
    ("reference", 1, 2, 7154),
    ("reference", 2, 3, 22451),
    ("paper", 1, 3, 5483),
])
def test_parameter_counts_match_spec(variant, width, classes, expected):
    model = build_swishnet(input_shape=(None, 20), classes=classes, width=width, variant=variant)
    assert model.count_params() == expected
    assert analytic_params(variant, width, classes) == expected


@pytest.mark.parametrize("key", sorted(TABLE_I_VARIANTS))
def test_table_i_variants_count_as_the_layer_table_says(key):
    kwargs = TABLE_I_VARIANTS[key]
    model = build_table_i_variant(key, input_shape=(33, 20))
    assert model.count_params() == analytic_params(kwargs["variant"], kwargs["width"], 3)
    # Fully convolutional: the count does not depend on the clip length.
    assert build_table_i_variant(key, input_shape=(199, 20)).count_params() == model.count_params()
    assert model.name == f"swishnet_{key.replace('-', '_')}"


def test_paper_wide_is_16867_not_the_published_18267():
    model = build_swishnet(width=2, variant="paper")
    assert model.count_params() == 16867
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert trainable == 16867 - 320  # BN moving mean/variance: 2 per gated map, 160·w maps


def test_paper_temporal_mode_does_not_change_the_count():
    stride = build_swishnet(variant="paper", temporal="stride")
    dilation = build_swishnet(variant="paper", temporal="dilation")
    assert stride.count_params() == dilation.count_params() == 5483


def test_complexity_counter_agrees_with_keras():
    from common.complexity import count_model

    model = build_swishnet(input_shape=(None, 20), variant="paper")
    cost = count_model(model, input_shape=(33, 20))
    assert cost.params == model.count_params()


def test_layer_names_are_readable():
    ref = build_swishnet(variant="reference")
    names = {layer.name for layer in ref.layers}
    for expected in ("mfcc", "block1a_conv_sigmoid", "block1a_gate_sigmoid", "block1a_gate_tanh",
                     "block1a_gate", "block3_add", "block8_gate", "head_concat", "head_conv",
                     "head_pool", "softmax"):
        assert expected in names
    paper = {layer.name for layer in build_swishnet(variant="paper").layers}
    for expected in ("block1b_causal_pad", "block1b_sepconv_sigmoid", "block1a_bn",
                     "block4_skip_subsample", "head_pool_block8", "head_dense"):
        assert expected in paper
    assert not any(name.startswith(("conv1d", "activation", "multiply")) for name in names)


def test_reference_keeps_length_and_paper_strides_by_3_2_2_2_2():
    ref = build_swishnet(input_shape=(33, 20), variant="reference")
    assert ref.get_layer("block8_gate").output.shape[1] == 33
    paper = build_swishnet(input_shape=(33, 20), variant="paper")
    lengths = [paper.get_layer(f"block{b}_gate").output.shape[1] for b in (4, 5, 6, 7, 8)]
    assert lengths == [11, 6, 3, 2, 2]  # ceil(33/3), ceil(11/2), ...


@pytest.mark.parametrize("variant", ["reference", "paper"])
def test_outputs_are_probabilities(variant):
    model = build_swishnet(input_shape=(None, 20), classes=3, variant=variant, seed=1)
    rng = np.random.default_rng(0)
    for frames in (1, 33):
        probs = keras.ops.convert_to_numpy(model(rng.standard_normal((4, frames, 20)),
                                                 training=False))
        assert probs.shape == (4, 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
        assert np.all(probs > 0)


@pytest.mark.parametrize("variant,layer,step", [
    ("reference", "block8_gate", 1),   # dilation: output step t <-> input step t
    ("paper", "block5_add", 6),        # strides 3·2: output step i <-> input step 6i
    ("paper", "block8_gate", 24),      # strides 3·2·2·2: output step i <-> input step 24i
])
def test_causal_no_output_depends_on_later_input(variant, layer, step):
    model = build_swishnet(input_shape=(48, 20), variant=variant, seed=2)
    probe = keras.Model(model.input, model.get_layer(layer).output)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 48, 20)).astype("float32")
    changed_from = 20
    x2 = x.copy()
    x2[:, changed_from:] += 5.0 * rng.standard_normal((1, 48 - changed_from, 20))
    a = keras.ops.convert_to_numpy(probe(x, training=False))[0]
    b = keras.ops.convert_to_numpy(probe(x2, training=False))[0]
    past = [i for i in range(a.shape[0]) if i * step < changed_from]
    future = [i for i in range(a.shape[0]) if i * step >= changed_from]
    np.testing.assert_array_equal(a[past], b[past])
    assert not np.allclose(a[future], b[future])


def test_integer_seed_gives_repeatable_builds():
    a = build_swishnet(variant="paper", seed=7)
    b = build_swishnet(variant="paper", seed=7)
    c = build_swishnet(variant="paper", seed=8)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not all(np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))


def test_keras2_initialiser_repeats_per_seed_and_respects_glorot_limit():
    shape = (3, 20, 8)
    limit = math.sqrt(6.0 / (3 * 20 + 3 * 8))
    first = keras.ops.convert_to_numpy(Keras2GlorotUniform(np.random.RandomState(5))(shape))
    again = keras.ops.convert_to_numpy(Keras2GlorotUniform(np.random.RandomState(5))(shape))
    np.testing.assert_array_equal(first, again)  # no eager-kernel state carried over
    assert first.shape == shape and np.all(np.abs(first) <= limit)
    assert first.std() > limit / 3  # spread over the interval, not a constant


def test_keras2_build_with_seed_leaves_global_numpy_rng_alone():
    np.random.seed(123)
    expected = np.random.RandomState(123).randn(3)
    build_swishnet(variant="reference", init="keras2", seed=4)
    np.testing.assert_array_equal(np.random.randn(3), expected)


def test_invalid_arguments_name_the_field():
    with pytest.raises(ConfigError, match="variant"):
        build_swishnet(variant="slim")
    with pytest.raises(ConfigError, match="temporal"):
        build_swishnet(temporal="pool")
    with pytest.raises(ConfigError, match="width"):
        build_swishnet(width=0)
    with pytest.raises(ConfigError, match="TABLE_I_VARIANTS"):
        build_table_i_variant("mobilenet")


def test_question1_keras2_emulation_gives_the_report_printout():
    # Report 004, Question 1 printout (identical for both of its implementations).
    printed = np.array([[0.4833677, 0.51663226], [0.47845703, 0.5215429]])
    probs = question1_prediction()
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs, printed, atol=1e-6)


def test_question1_keras3_is_probabilities_and_repeatable_when_keras_is_seeded():
    probs = question1_prediction(init="keras3", seed_keras=True)
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(question1_prediction(init="keras3", seed_keras=True), probs)
    # A fresh interpreter must give the same numbers (no state of this process involved).
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='2'\n"
            "from reproductions.swishnet.models import question1_prediction\n"
            "print(repr(question1_prediction(init='keras3', seed_keras=True).tolist()))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=120, check=True).stdout.strip().splitlines()[-1]
    np.testing.assert_array_equal(np.array(eval(out)), probs)  # noqa: S307 (our own repr)
