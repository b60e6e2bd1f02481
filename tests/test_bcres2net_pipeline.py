"""BC-Res2Net ASC package (report 003): schedules, features and augmentation, splits, config
errors, the trainer's AdamW / penalty / device drop on a tiny network, table cells and the
analytic tables. Expected values are literals from the report, the spec or hand arithmetic."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from common.errors import ConfigError
from reproductions.bcres2net_asc import cells, features, schedules, splits
from reproductions.bcres2net_asc import config as config_mod
from reproductions.bcres2net_asc.config import AugmentConfig, FeatureConfig

# -- schedules ---------------------------------------------------------------------------------


def test_warmup_cosine_starts_peaks_and_ends_where_the_report_says():
    args = dict(total_steps=1000, warmup_steps=100, start_lr=1e-8, peak_lr=0.01, final_lr=0.0)
    assert schedules.warmup_cosine(0, **args) == pytest.approx(1e-8)
    assert schedules.warmup_cosine(50, **args) == pytest.approx(1e-8 + 0.5 * (0.01 - 1e-8))
    assert schedules.warmup_cosine(100, **args) == pytest.approx(0.01)
    assert schedules.warmup_cosine(550, **args) == pytest.approx(0.005)
    assert schedules.warmup_cosine(1000, **args) == pytest.approx(0.0, abs=1e-12)


def test_drop_rate_rises_from_zero_to_the_maximum():
    rates = [schedules.drop_rate(e, 11, 0.9, 10.0) for e in range(11)]
    assert rates[0] == pytest.approx(0.0, abs=1e-12)
    assert rates[-1] == pytest.approx(0.9)
    assert rates[5] == pytest.approx(0.45)          # symmetric logistic: half-way at mid-epoch
    assert all(b > a for a, b in zip(rates, rates[1:]))
    assert schedules.drop_rate(0, 1, 0.9, 10.0) == 0.9


# -- features and augmentation -------------------------------------------------------------


def test_segment_logmel_is_256_by_32(tmp_path):
    import soundfile as sf
    t = np.arange(44100) / 44100
    sf.write(tmp_path / "x.wav", (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    out = features.segment_logmel(str(tmp_path / "x.wav"), FeatureConfig())["logmel"]
    assert out.shape == (256, 32) and out.dtype == np.float32
    # a 440 Hz tone: the loudest mel band of a middle frame lies below 1 kHz
    assert out[:, 16].argmax() < 60


def test_roll_is_circular_and_bounded():
    cfg = AugmentConfig()
    assert features.roll_frames(cfg, FeatureConfig()) == 16      # 0.5 s = 15.6 hops of 512
    x = np.tile(np.arange(32, dtype=np.float32), (5, 4, 1))      # (5, 4, 32)
    y = features.time_roll(x, 16, np.random.default_rng(0))
    base = np.arange(32, dtype=np.float32)
    for item in y:
        shifts = [s for s in range(-16, 17) if np.array_equal(np.roll(base, s), item[0])]
        assert len(shifts) == 1 and all(np.array_equal(row, item[0]) for row in item)
    assert len({int(item[0, 0]) for item in y}) > 1        # not the same shift for every item


def test_spec_augment_masks_within_limits_and_is_seeded():
    x = np.ones((20, 256, 32), np.float32)
    cfg = AugmentConfig(mask_probability=1.0)
    a = features.spec_augment(x, cfg, np.random.default_rng(3))
    b = features.spec_augment(x, cfg, np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert (a == 0).any()
    for item in a:
        zero_rows = np.flatnonzero((item == 0).all(axis=1))
        zero_cols = np.flatnonzero((item == 0).all(axis=0))
        assert len(zero_rows) <= 2 * 40 and len(zero_cols) <= 2 * 4
    none = features.spec_augment(x, AugmentConfig(mask_probability=0.0), np.random.default_rng(3))
    assert np.array_equal(none, x)


def test_mixup_mixes_inputs_and_targets_alike():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 3)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 8)]
    xm, ym, lam, perm = features.mixup(x, y, 0.3, np.random.default_rng(1))
    np.testing.assert_allclose(ym.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(xm[2], lam[2] * x[2] + (1 - lam[2]) * x[perm[2]], rtol=1e-5)
    same = features.mixup(x, y, 0.0, rng)
    assert same[0] is x and same[1] is y


# -- splits and config -------------------------------------------------------------------------


def test_teacher_data_report_leaks_test_and_leak_free_does_not():
    split = np.array(["train", "test", "train", "test", ""])
    assert list(splits.teacher_indices(split, "report")) == [0, 1, 2, 3]
    assert list(splits.teacher_indices(split, "leak_free")) == [0, 2]
    assert splits.teacher_test_overlap(split, "report") == 2
    assert splits.teacher_test_overlap(split, "leak_free") == 0
    with pytest.raises(ValueError, match="teacher_data"):
        splits.teacher_indices(split, "both")


def test_profiles_load_and_bad_settings_name_their_key():
    full = config_mod.load("full")
    assert (full.model.student_channels, full.pretrain.epochs, full.finetune.lambdas) == (40, 300, (0.04, 0.4))
    assert config_mod.load("smoke").profile == "smoke"
    with pytest.raises(ConfigError, match="n_frames"):
        config_mod.load("full", ["features.n_frames=31"])
    with pytest.raises(ConfigError, match="kd.teachers"):
        config_mod.load("full", ["kd.teachers=[huge]"])
    with pytest.raises(ConfigError, match="student_channels"):
        config_mod.load("full", ["model.student_channels=12"])


# -- trainer on a tiny network -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    import keras
    from reproductions.bcres2net_asc.trainer import Trainer
    keras.utils.set_random_seed(0)
    inp = keras.Input((4, 2, 1))
    out = keras.layers.Dense(3, name="classifier")(keras.layers.Flatten()(inp))
    return Trainer(keras.Model(inp, out), 3)


def test_adamw_step_is_pytorchs(tiny):
    """One step by hand: θ(1 − lr·wd), then Adam with bias correction (first step: the
    update is lr·g/(|g| + ε) elementwise)."""
    import tensorflow as tf
    tiny.clear_anchor()
    tiny.configure()
    tiny.reset_optimizer(0.1, 0.5)
    x = np.random.default_rng(0).normal(size=(5, 4, 2, 1)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    w0 = [p.numpy().copy() for p in tiny.params]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, tiny.model(x)))
    grads = [g.numpy() for g in tape.gradient(loss, tiny.params)]
    tiny._step(x, y, np.zeros((5, 3), np.float32))
    for p, w, g in zip(tiny.params, w0, grads):
        expected = w * (1 - 0.1 * 0.5) - 0.1 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-4, atol=1e-6)


def test_penalty_pulls_towards_the_anchor_and_skips_the_classifier(tiny):
    tiny.set_anchor()
    assert all(float(m.numpy()) == 0.0 for m in tiny.anchor_mask)   # every weight is the classifier's
    tiny.set_anchor(exclude="")
    tiny.configure(penalty=0.4, penalty_mode="sum")
    for p in tiny.params:
        p.assign(p.numpy() + 1.0)
    tiny.reset_optimizer(0.0, 0.0)
    x = np.zeros((2, 4, 2, 1), np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1]]
    data_loss, total, _ = tiny._step(x, y, np.zeros((2, 3), np.float32))
    n = sum(int(np.prod(p.shape)) for p in tiny.params)
    assert float(total) - float(data_loss) == pytest.approx(0.4 * n, rel=1e-5)   # λ·Σ 1²
    tiny.configure(penalty=0.4, penalty_mode="mean")
    data_loss, total, _ = tiny._step(x, y, np.zeros((2, 3), np.float32))
    assert float(total) - float(data_loss) == pytest.approx(0.4, rel=1e-5)
    tiny.clear_anchor()
    tiny.configure()


def test_device_drop_removes_device_a_samples(tiny, tmp_path):
    from reproductions.bcres2net_asc.trainer import StagePlan, run_stage
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    device = np.array(["a"] * 30 + ["b"] * 10)
    tiny.reset_optimizer(0.0, 0.0)
    plan = StagePlan("drop", 2, 8, lambda s, n: 1e-3, augment=False,
                     drop_rate_fn=lambda e: [0.0, 0.9][e])
    hist = run_stage(tiny, plan, x, y, device, seed=1, stats=(0.0, 1.0),
                     augment_cfg=AugmentConfig(), feature_cfg=FeatureConfig(),
                     state_dir=tmp_path / "s")
    assert hist[0]["device_a_dropped"] == 0 and hist[0]["samples"] == 40
    assert 20 <= hist[1]["device_a_dropped"] <= 30
    # a batch left with a single sample is skipped (BatchNorm needs two): 5 batches at most
    assert 40 - hist[1]["device_a_dropped"] - 5 < hist[1]["samples"] <= 40 - hist[1]["device_a_dropped"]
    # resumed: nothing left to do, the stored history comes back
    assert run_stage(tiny, plan, x, y, device, seed=1, stats=(0.0, 1.0),
                     augment_cfg=AugmentConfig(), feature_cfg=FeatureConfig(),
                     state_dir=tmp_path / "s") == hist


def test_qat_stage_keeps_grid_weights_and_resumes_exactly(tiny, tmp_path):
    """QAT through run_stage: the classifier stays on its INT8 grid after every epoch, and a
    stage stopped after one epoch and resumed (fresh WeightQAT, shadow from the checkpoint)
    ends with the weights of the uninterrupted stage."""
    from reproductions.bcres2net_asc.qat import WeightQAT, fake_quant
    from reproductions.bcres2net_asc.trainer import StagePlan, run_stage
    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 4, 2)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    device = np.array(["b"] * 24)
    start = tiny.get_state()

    def train(epochs, folder):
        plan = StagePlan("qat", epochs, 8, lambda s, n: 3e-2, augment=False,
                         qat=WeightQAT(tiny.model))
        run_stage(tiny, plan, x, y, device, seed=1, stats=(0.0, 1.0),
                  augment_cfg=AugmentConfig(), feature_cfg=FeatureConfig(), state_dir=folder)
        return plan.qat

    tiny.clear_anchor()
    tiny.configure()
    tiny.set_state(start)
    tiny.reset_optimizer(0.0, 0.0)
    qat = train(2, tmp_path / "straight")
    straight = tiny.get_state()
    kernel = tiny.model.get_layer("classifier").kernel.numpy()
    assert np.array_equal(kernel, fake_quant(qat.shadow[0], "dense"))
    assert not np.array_equal(kernel, start[0])          # it trained
    tiny.set_state(start)
    tiny.reset_optimizer(0.0, 0.0)
    train(1, tmp_path / "resumed")
    tiny.set_state(start)                                   # the resume restores everything
    train(2, tmp_path / "resumed")
    for a, b in zip(straight, tiny.get_state()):
        np.testing.assert_array_equal(a, b)


# -- cells and analytic tables -------------------------------------------------------------


def _fake_metrics():
    def scores(ll, acc, unseen):
        v = {"macro_class_log_loss": ll, "accuracy": acc}
        for d in cells.DEVICE_COLUMNS:
            v[f"device_log_loss/{d}"] = unseen if d in cells.UNSEEN else ll
        return {"test": {"values": v}}
    return {"systems": [{"kd": "none", "lambda": None, "stage": "student"},
                        {"kd": "none", "lambda": 0.04, "stage": "ft_none_ft0.04"},
                        {"kd": "small", "lambda": 0.4, "stage": "ft_small_ft0.4"}],
            "stages": {"student": scores(1.193, 0.603, 1.610),
                       "ft_none_ft0.04": scores(1.072, 0.622, 1.423),
                       "ft_small_ft0.4": scores(0.835, 0.701, 1.2)},
            "channels": {"student": 40, "teacher_large": 80}}


def test_table2_cells_and_claims():
    m = _fake_metrics()
    t2 = {(c["row"], c["column"]): c for c in cells.t2(m)}
    assert t2[("no KD, FT λ=0.04", "Average log loss")]["value"] == pytest.approx(1.072)
    assert t2[("no KD, no FT", "Acc.")]["value"] == pytest.approx(60.3)
    assert t2[("KD small (C=40), FT λ=0.4", "KD")]["kind"] == "setting"
    assert t2[("no KD, FT λ=0.04", "S4")]["value"] == pytest.approx(1.423)
    claims = {(c["row"], c["column"]): c["value"] for c in cells.x_claims(m)}
    # spec §5: Table 2 itself gives 10.1 % (the report says 10.6), 3.15 %, S4 11.6 %
    assert claims[("FT λ=0.04 vs no FT", "average log loss improvement")] == pytest.approx(10.14, abs=0.01)
    assert claims[("FT λ=0.04 vs no FT", "accuracy improvement")] == pytest.approx(3.15, abs=0.01)
    assert claims[("FT λ=0.04 vs no FT", "S4 log loss improvement")] == pytest.approx(11.61, abs=0.01)
    assert claims[("best system (abstract)", "log loss")] == pytest.approx(0.835)


def test_baseline_int8_weight_bytes_match_its_readme():
    from reproductions.bcres2net_asc import analytic
    from reproductions.bcres2net_asc import models as M
    assert analytic.int8_weight_bytes(M.build("dcase2022_baseline")) == 46_512


def test_table1_from_the_built_model():
    from reproductions.bcres2net_asc import analytic
    got = {(m.row, m.column): m.value for m in analytic.table1()}
    assert [got[(f"Stage {k}", "BC-Res2Net blocks")] for k in range(1, 5)] == [2, 2, 2, 3]
    assert [got[(f"Stage {k}", "channels (xC)")] for k in range(1, 5)] == [1, 1.5, 2, 2.5]
    assert [got[(f"Stage {k}", "frequency divisor")] for k in range(1, 5)] == [2, 4, 8, 8]
    assert got[("Aggregation", "channels (xC)")] == 4 and got[("Classifier", "outputs")] == 10


def test_int8_conversion_of_a_small_conv_net_agrees_with_float(tmp_path):
    import keras

    from reproductions.bcres2net_asc import int8
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 4, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, keras.layers.Dense(3, name="classifier")(x))
    data = np.random.default_rng(0).normal(size=(32, 8, 4, 1)).astype(np.float32)
    q = int8.convert(model, data[:16], tmp_path / "m_int8.tflite")
    f = int8.convert(model, None, tmp_path / "m_float.tflite")
    assert q["full_int8"] and 0 < q["bytes"] < f["bytes"] + 2048
    ref = keras.ops.convert_to_numpy(keras.ops.softmax(model(data)))
    p_float = int8.TFLiteModel(tmp_path / "m_float.tflite").probabilities(data)
    p_int8 = int8.TFLiteModel(tmp_path / "m_int8.tflite").probabilities(data)
    np.testing.assert_allclose(p_float, ref, atol=1e-5)
    assert np.abs(p_int8 - ref).max() < 0.05
    np.testing.assert_allclose(p_int8.sum(1), 1.0, atol=1e-9)
