"""BC-Res2Net models: parameter counts, stage shapes and MACs against spec §1.2–1.3 (counts
verified there with the authors' PyTorch modules and torchinfo 1.8.0), the DCASE 2022
baseline against its README, and the challenge limits. C = 40 and C = 80 are built once."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from common.complexity import count_model
from common.errors import ConfigError
from reproductions.bcres2net_asc import complexity as CX
from reproductions.bcres2net_asc import layers as B
from reproductions.bcres2net_asc import models as M


@pytest.fixture(scope="module")
def student():
    keras.utils.set_random_seed(0)
    return M.build("bcres2net_c40")


@pytest.fixture(scope="module")
def student_torchinfo(student):
    return count_model(student, rule="torchinfo")


def trainable_under(model: keras.Model, *prefixes: str) -> int:
    return sum(int(np.prod(w.shape)) for layer in model.layers
               if layer.name.startswith(prefixes) for w in layer.trainable_weights)


# ---------------------------------------------------------------------------- C = 40 student


def test_student_parameter_count(student):
    counts = M.count_params(student)
    assert counts["trainable"] == 126_590          # = PyTorch parameters()
    assert counts["non_trainable"] == 7_820        # BN running mean + var (PyTorch buffers)


def test_student_per_stage_parameters(student):
    # Spec §1.2 table, stage by stage.
    assert trainable_under(student, "stem_") == 4_420
    assert trainable_under(student, "s1_transition", "s1_broadcast") == 7_480
    assert trainable_under(student, "s1_mfa") == 810
    assert trainable_under(student, "s2_transition", "s2_broadcast") == 11_220
    assert trainable_under(student, "s2_mfa") == 1_455
    assert trainable_under(student, "s3_transition", "s3_broadcast") == 19_760
    assert trainable_under(student, "s3_mfa") == 2_260
    assert trainable_under(student, "s4_transition", "s4_broadcast") == 41_950
    assert trainable_under(student, "s4_mfa") == 3_225
    assert trainable_under(student, "fpm_") == 32_400
    assert trainable_under(student, "classifier") == 1_610


def test_student_stage_shapes(student):
    # Spec §1.2 (C, F, T) in channels-last order (F, T, C).
    expected = {"stem_mfa_concat": (128, 16, 80), "s1_mfa_concat": (128, 16, 40),
                "s1_pool": (64, 8, 40), "s2_mfa_concat": (64, 8, 60),
                "s2_pool": (32, 4, 60), "s3_mfa_concat": (32, 4, 80),
                "s4_mfa_concat": (32, 4, 100), "fpm_concat": (160,), "classifier": (10,)}
    for name, shape in expected.items():
        assert tuple(student.get_layer(name).output.shape[1:]) == shape, name
    assert isinstance(student.get_layer("s1_transition_f2_ssn1"), B.SubSpectralNorm)
    assert student.get_layer("s1_resnorm").lam == pytest.approx(0.1)


def test_student_forward_pass(student):
    x = np.random.default_rng(0).normal(size=(2, 256, 32, 1)).astype("float32")
    out = np.asarray(student(x, training=False))
    assert out.shape == (2, 10) and np.all(np.isfinite(out))


def test_student_torchinfo_macs(student_torchinfo):
    rows = student_torchinfo.layers
    conv = sum(r.macs for r in rows if r.class_name in ("Conv2D", "DepthwiseConv2D"))
    norm = sum(r.macs for r in rows if r.class_name in ("BatchNormalization", "SubSpectralNorm"))
    dense = sum(r.macs for r in rows if r.class_name == "Dense")
    assert (conv, norm, dense) == (26_753_500, 7_820, 1_610)
    assert student_torchinfo.macs == 26_762_930
    assert student_torchinfo.trainable_params == 126_590


def test_student_meets_challenge_limits(student):
    result = CX.complexity(student)
    assert result["params"] == 126_590
    assert result["params"] <= 128_000                 # ≤ 128 K INT8 parameters
    assert result["int8_bytes"] <= 128_000
    assert result["macs_torchinfo"] <= 30_000_000
    assert result["macs_tflite"] <= 30_000_000
    assert result["within_limits"] is True


@pytest.fixture(scope="module")
def fpm_costs():
    """torchinfo cost of the FPM alone for each up-sampling method, on the C = 40 taps."""
    costs = {}
    for method in B.UPSAMPLE_METHODS:
        taps = [keras.Input(s) for s in [(128, 16, 40), (64, 8, 60), (32, 4, 80), (32, 4, 100)]]
        model = keras.Model(taps, B.feature_pyramid_module(taps, 40, method))
        costs[method] = count_model(model, rule="torchinfo")
    return costs


def test_fpm_variants(student_torchinfo, fpm_costs):
    # Only the FPM differs between the variants; swap its cost into the full student's.
    def total(method, attr):
        return (getattr(student_torchinfo, attr) - getattr(fpm_costs["pixel_shuffle"], attr)
                + getattr(fpm_costs[method], attr))

    assert fpm_costs["pixel_shuffle"].trainable_params == 32_400
    assert total("bilinear", "trainable_params") == 113_790
    assert total("transposed", "trainable_params") == 126_590
    assert round(total("bilinear", "macs") / 1e4) == 2_267     # spec: 22.67 M
    assert round(total("transposed", "macs") / 1e4) == 3_905   # spec: 39.05 M


# ---------------------------------------------------------------------------- C = 80 teacher


def test_teacher_counts():
    teacher = M.build("bcres2net_c80")
    assert M.count_params(teacher)["trainable"] == 471_730
    assert count_model(teacher, rule="torchinfo").macs == 92_972_250


# ------------------------------------------------------------------------- DCASE baseline


def test_dcase2022_baseline():
    model = M.build("dcase2022_baseline")
    counts = M.count_params(model)
    assert counts["total"] == 46_246                  # the README's Keras "Total params"
    # conv 800 + 12,560 + 25,120, BN γβ 32 + 32 + 64, dense 6,500 + 1,010
    assert counts["trainable"] == 800 + 12_560 + 25_120 + 32 + 32 + 64 + 6_500 + 1_010
    rows = {r.name: r.macs for r in count_model(model, rule="tflite").layers}
    # README tflite-tools schedule, operator by operator.
    assert rows["conv1"] == 1_599_360 and rows["conv2"] == 25_589_760
    assert rows["pool2"] == 32_000 and rows["conv3"] == 2_007_040 and rows["pool3"] == 2_560
    assert rows["dense1"] == 3_200 and rows["classifier"] == 1_000
    assert sum(rows.values()) == 29_234_920


# ------------------------------------------------------------------------------- registry


def test_registry_and_build_errors():
    assert M.MODEL_VARIANTS["bcres2net_c40"]["expected_trainable_params"] == 126_590
    assert M.channel_list(40) == [80, 40, 60, 80, 100]
    with pytest.raises(ConfigError, match="unknown model variant"):
        M.build("bcres2net_c41")
    with pytest.raises(ConfigError, match="override"):
        M.build("bcres2net_c40", width=3)
    with pytest.raises(ConfigError, match="multiple of 8"):
        M.channel_list(12)
    with pytest.raises(ConfigError, match="upsample"):
        M.bc_res2net(upsample="nearest")


def test_counting_rule_is_validated(student):
    with pytest.raises(ConfigError, match="counting rule"):
        count_model(student, rule="flops")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bcres2net_c40_bilinear", "bcres2net_c40_transposed"])
def test_full_fpm_variant_builds(name):
    expected = M.MODEL_VARIANTS[name]["expected_trainable_params"]
    assert M.count_params(M.build(name))["trainable"] == expected


@pytest.mark.slow
def test_small_profile_trains_one_step():
    keras.utils.set_random_seed(0)
    model = M.build("bcres2net_c40", small=True)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    x = np.random.default_rng(0).normal(size=(4, 64, 16, 1)).astype("float32")
    loss = model.train_on_batch(x, np.array([0, 1, 2, 3]))
    assert np.isfinite(loss)


# ----------------------------------------------- counting rules added to common/complexity.py


def _macs(layer_stack, shape, rule):
    x = inputs = keras.Input(shape)
    for layer in layer_stack:
        x = layer(x)
    return [r.macs for r in count_model(keras.Model(inputs, x), rule=rule).layers
            if r.class_name != "InputLayer"]


def test_torchinfo_rule_by_hand():
    L = keras.layers
    # conv (kernel 3·3·2·4 + bias 4) × 3·3 output positions
    assert _macs([L.Conv2D(4, 3)], (5, 5, 2), "torchinfo") == [76 * 9]
    # Dense: weights + bias once, whatever the leading axes (torchinfo multiplies by batch only)
    assert _macs([L.Dense(3)], (5, 7), "torchinfo") == [7 * 3 + 3]
    # BN: γ + β; transposed conv: kernel × OUTPUT positions (2·2·2·3 × 4·4)
    assert _macs([L.BatchNormalization(), L.Conv2DTranspose(2, 2, strides=2, use_bias=False)],
                 (2, 2, 3), "torchinfo") == [6, 24 * 16]


def test_tflite_rule_by_hand():
    L = keras.layers
    # BN folded after a conv; after an Add it is a MUL + ADD (output elements)
    inputs = keras.Input((4, 4, 2))
    conv = L.Conv2D(2, 1, use_bias=False, name="c")(inputs)
    folded = L.BatchNormalization(name="bn_folded")(conv)
    added = L.Add(name="add")([folded, inputs])
    unfolded = L.BatchNormalization(name="bn_alone")(added)
    pooled = L.MaxPooling2D(2, name="pool")(unfolded)
    gap = L.GlobalAveragePooling2D(name="gap")(pooled)
    flat = L.Dense(3, name="dense")(L.Flatten(name="flat")(pooled))
    model = keras.Model(inputs, [gap, flat])
    rows = {r.name: r.macs for r in count_model(model, rule="tflite").layers}
    assert rows["c"] == 16 * 2 * 2 and rows["bn_folded"] == 0
    assert rows["add"] == 32 and rows["bn_alone"] == 32
    assert rows["pool"] == 8 * 4 and rows["gap"] == 8
    assert rows["dense"] == 2 * 3  # Flatten folded: only the last pre-flatten axis (2) counts
