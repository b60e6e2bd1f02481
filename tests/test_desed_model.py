"""DCASE 2020 Task 4 SED baseline in Keras: features, CRNN, mean-teacher pieces
(specs/fuss_desed.md §1.2, §2.2). Expected counts and constants are the spec's literals."""
from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from common.errors import ConfigError
from reproductions.fuss_desed import mean_teacher as mt
from reproductions.fuss_desed import sed_features as sf
from reproductions.fuss_desed import sed_models as sm

# ------------------------------------------------------------------------------ features

def _hand_mel(y: np.ndarray) -> np.ndarray:
    """Independent computation: reflect-padded frames × symmetric Hamming → |rfft| → librosa
    mel filters (Slaney, norm=None) → 20·log10(max(1e-5, ·)) with an 80 dB floor."""
    import librosa

    n_fft, hop = 2048, 255
    padded = np.pad(y.astype(np.float64), n_fft // 2, mode="reflect")
    n = 1 + (len(padded) - n_fft) // hop
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n_fft) / (n_fft - 1))
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(n)])
    mag = np.abs(np.fft.rfft(frames, axis=1))  # (n, 1025)
    fb = librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=128, fmin=0.0, fmax=8000.0,
                             htk=False, norm=None)
    mel = mag @ fb.T.astype(np.float64)
    db = 20 * np.log10(np.maximum(1e-5, mel))
    return np.maximum(db, db.max() - 80.0)


def test_features_shape_is_628_by_128_for_10_seconds():
    y = np.random.default_rng(0).standard_normal(160_000).astype(np.float32) * 0.1
    assert sf.N_FRAMES == 628
    assert sf.log_mel(y).shape == (628, 128)
    assert sf.linear_mel(y).shape == (628, 128)  # 1 + 160000 // 255 centred frames


def test_features_match_a_hand_computed_log_mel():
    rng = np.random.default_rng(1)
    t = np.arange(4000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(4000)).astype(np.float32)
    ours = sf.amplitude_to_db(sf.linear_mel(y))
    hand = _hand_mel(y)
    assert ours.shape == hand.shape == (1 + 4000 // 255, 128)
    np.testing.assert_allclose(ours, hand, atol=2e-3)


def test_padding_is_zero_after_the_log_and_truncation_keeps_the_start():
    x = np.ones((10, 4), dtype=np.float32) * -50
    padded = sf.pad_or_truncate(x, 12)
    assert padded.shape == (12, 4) and np.all(padded[10:] == 0) and np.all(padded[:10] == -50)
    assert np.array_equal(sf.pad_or_truncate(np.arange(20.0).reshape(10, 2), 3),
                          np.arange(6.0).reshape(3, 2))


def test_scaler_is_per_mel_bin_over_examples():
    a = np.array([[0.0, 10.0], [2.0, 10.0]])
    b = np.array([[4.0, 30.0], [6.0, 30.0]])
    mean, std = sf.fit_scaler([a, b])
    np.testing.assert_allclose(mean, [3.0, 20.0])
    np.testing.assert_allclose(std, [math.sqrt(5.0), 10.0])
    np.testing.assert_allclose(sf.normalise(b, mean, std)[:, 1], [1.0, 1.0])
    with pytest.raises(ConfigError, match="shape"):
        sf.fit_scaler([a, np.zeros((3, 2))])


# ------------------------------------------------------------------------------ model

@pytest.fixture(scope="module")
def baseline():
    keras.utils.set_random_seed(0)
    return sm.build("baseline_crnn")


def test_baseline_has_the_reference_parameter_count(baseline):
    counts = sm.count_params(baseline)
    assert counts["trainable"] == 1_112_420  # PyTorch parameters() (spec §1.2)
    assert counts["non_trainable"] == 1_248  # BN running mean/var: 2 x (16+32+64+4x128)
    strong, weak = baseline.outputs
    assert tuple(strong.shape) == (None, 157, 10) and tuple(weak.shape) == (None, 10)


def test_per_layer_counts_follow_the_spec_table(baseline):
    def n(layer_name):
        return sum(int(np.prod(w.shape)) for w in baseline.get_layer(layer_name).trainable_weights)

    assert [n(f"block{i}_conv") for i in range(1, 8)] == [160, 4_640, 18_496, 73_856, 147_584,
                                                          147_584, 147_584]
    assert [n(f"block{i}_glu_linear") for i in range(1, 8)] == [272, 1_056, 4_160, 16_512,
                                                                16_512, 16_512, 16_512]
    assert n("bigru1") + n("bigru2") == 494_592
    assert n("strong") == n("attention_dense") == 2_570


def test_batchnorm_matches_pytorch_momentum_099_and_eps(baseline):
    bns = [layer for layer in baseline.layers
           if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 7
    assert all(b.momentum == pytest.approx(0.01) and b.epsilon == pytest.approx(1e-3)
               for b in bns)


def test_glu_gates_with_sigmoid_of_its_input_not_of_the_linear(baseline):
    bn = baseline.get_layer("block1_bn").output
    glu = baseline.get_layer("block1_glu").output
    probe = keras.Model(baseline.input, [bn, glu])
    x = np.random.default_rng(2).standard_normal((1, 628, 128, 1)).astype(np.float32)
    b, g = (np.asarray(v) for v in probe(x, training=False))
    kernel, bias = (np.asarray(w) for w in baseline.get_layer("block1_glu_linear").weights)
    expected = (b @ kernel + bias) / (1.0 + np.exp(-b))
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-6)


def test_weak_output_is_attention_pooled_with_softmax_over_classes():
    # the small variant: same head code, a forward pass cheap enough for CI
    model = sm.build("baseline_crnn", small=True)
    x = np.random.default_rng(3).standard_normal((2, 64, 32, 1)).astype(np.float32)
    seq = model.get_layer("rnn_dropout").output
    probe = keras.Model(model.input, [seq, *model.outputs])
    h, strong, weak = (np.asarray(v, dtype=np.float64) for v in probe(x, training=False))
    k, b = (np.asarray(w, dtype=np.float64) for w in model.get_layer("attention_dense").weights)
    logits = h @ k + b
    att = np.exp(logits - logits.max(-1, keepdims=True))
    att = np.clip(att / att.sum(-1, keepdims=True), 1e-7, 1.0)
    np.testing.assert_allclose(weak, (strong * att).sum(1) / att.sum(1), rtol=1e-4, atol=1e-6)


def test_registry_small_variant_and_errors():
    assert sm.MODEL_VARIANTS["baseline_crnn"]["expected_trainable_params"] == 1_112_420
    small = sm.build("baseline_crnn", small=True)
    assert len([la for la in small.layers if isinstance(la, keras.layers.Conv2D)]) == 7
    assert tuple(small.outputs[0].shape) == (None, 16, 10)
    with pytest.raises(ConfigError, match="unknown model variant"):
        sm.build("nope")
    with pytest.raises(ConfigError, match="frequency"):
        sm.build("baseline_crnn", n_mels=64)


# ------------------------------------------------------------------------------ mean teacher

def test_rampup_ema_and_consistency_schedules():
    assert mt.sigmoid_rampup(0, 100) == pytest.approx(math.exp(-5))
    assert mt.sigmoid_rampup(50, 100) == pytest.approx(math.exp(-1.25))
    assert mt.sigmoid_rampup(100, 100) == 1.0 and mt.sigmoid_rampup(500, 100) == 1.0
    assert mt.consistency_weight(50, 100) == pytest.approx(2 * math.exp(-1.25))
    assert mt.ema_alpha(1) == 0.5 and mt.ema_alpha(3) == 0.75
    assert mt.ema_alpha(999) == pytest.approx(0.999) and mt.ema_alpha(10**6) == 0.999
    assert float(mt.RampupLearningRate(1e-3, 100)(50)) == pytest.approx(1e-3 * math.exp(-1.25))
    assert mt.MEDIAN_WINDOW == 7


def test_teacher_noise_is_30_db_below_each_bin():
    rng = np.random.default_rng(4)
    x = np.abs(rng.standard_normal((20_000, 3))) * np.array([1.0, 10.0, 100.0])
    noisy = mt.teacher_noise(x, np.random.default_rng(5))
    noise = noisy.astype(np.float64) - x
    snr = 10 * np.log10((x ** 2).mean(0) / (noise ** 2).mean(0))
    np.testing.assert_allclose(snr, 30.0, atol=0.1)


def test_losses_on_a_hand_worked_batch():
    layout = (1, 1, 1)
    s_strong = np.array([[[0.5]], [[0.9]], [[0.8]]], dtype=np.float32)  # (3, 1 frame, 1 class)
    s_weak = np.array([[0.25], [0.9], [0.8]], dtype=np.float32)
    t_strong = np.array([[[0.5]], [[0.5]], [[0.5]]], dtype=np.float32)
    t_weak = np.array([[0.25], [0.5], [0.5]], dtype=np.float32)
    y_strong = np.array([[[0.0]], [[0.0]], [[1.0]]], dtype=np.float32)
    y_weak = np.array([[1.0], [0.0], [1.0]], dtype=np.float32)
    out = mt.mean_teacher_losses(s_strong, s_weak, t_strong, t_weak, y_strong, y_weak, 2.0,
                                 layout)
    assert float(out["weak_bce"]) == pytest.approx(-math.log(0.25), rel=1e-5)  # row 0 only
    assert float(out["strong_bce"]) == pytest.approx(-math.log(0.8), rel=1e-5)  # row 2 only
    assert float(out["consistency_strong"]) == pytest.approx((0.16 + 0.09) / 3, rel=1e-5)
    assert float(out["consistency_weak"]) == pytest.approx((0.16 + 0.09) / 3, rel=1e-5)
    assert float(out["loss"]) == pytest.approx(
        -math.log(0.25) - math.log(0.8) + 2.0 * 2 * 0.25 / 3, rel=1e-5)
    assert mt.batch_slices() == {"weak": slice(0, 6), "unlabelled": slice(6, 18),
                                 "strong": slice(18, 24)}


def test_post_processing_median_filter_and_events():
    probs = np.zeros((24, 2))
    probs[2:15, 0] = 0.9
    probs[8, 0] = 0.1      # a 1-frame hole: filled by the 7-frame median
    probs[19, 1] = 0.7     # a 1-frame blip: removed
    events = mt.probabilities_to_events(probs, ["a", "b"], "f.wav")
    assert len(events) == 1 and events[0]["event_label"] == "a"
    assert events[0]["onset"] == pytest.approx(2 * 0.06375)
    assert events[0]["offset"] == pytest.approx(15 * 0.06375)
    y = mt.frame_labels([(1.0, 2.0, "b")], ["a", "b"])
    # frames floor(1.0·16000/255/4) = 15 up to floor(2.0·16000/255/4) = 31, offset excluded
    assert y.shape == (157, 2) and np.flatnonzero(y[:, 1]).tolist() == list(range(15, 31))
    w = mt.weak_frame_labels(["b"], ["a", "b"])
    assert w[:, 1].all() and not w[:, 0].any()
    with pytest.raises(ConfigError, match="unknown label"):
        mt.weak_frame_labels(["c"], ["a", "b"])


def test_one_training_step_moves_the_teacher_by_the_ema_rule(tmp_path):
    keras.utils.set_random_seed(0)
    student = sm.build("baseline_crnn", small=True, n_frames=32, name="student")
    teacher = sm.build("baseline_crnn", small=True, n_frames=32, name="teacher")
    trainer = mt.MeanTeacher(student, teacher, rampup_steps=10, layout=(2, 2, 2))
    trainer.compile(optimizer=keras.optimizers.Adam(mt.RampupLearningRate(1e-3, 10)))
    trainer.build_optimizer()
    logger = mt.GradientNormCSVLogger(tmp_path / "grads.csv", every=1)
    logger.set_model(trainer)
    logger.on_train_begin()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 32, 32, 1)).astype(np.float32)
    ys = (rng.random((6, 8, 10)) > 0.7).astype(np.float32)
    before = [np.array(v) for v in teacher.trainable_variables]
    assert not all(np.allclose(a, np.array(b)) for a, b in
                   zip(before, student.trainable_variables))  # different initial weights
    moving_before = [np.array(v) for v in teacher.non_trainable_variables]
    logs = trainer.train_step(((x, x + 0.1), (ys, ys.max(1))))
    logger.on_train_batch_end(0)
    assert float(logs["ema_alpha"]) == 0.5  # after the first update: 1 - 1/(1 + 1)
    assert float(logs["consistency_weight"]) == pytest.approx(2 * math.exp(-5), rel=1e-5)
    for t0, s1, t1 in zip(before, student.trainable_variables, teacher.trainable_variables):
        np.testing.assert_allclose(np.array(t1), 0.5 * t0 + 0.5 * np.array(s1), atol=1e-6)
    # BN moving statistics are not averaged: the teacher's own training forward moved them
    assert any(not np.allclose(a, np.array(b))
               for a, b in zip(moving_before, teacher.non_trainable_variables))
    rows = (tmp_path / "grads.csv").read_text().strip().split("\n")
    header = rows[0].split(",")
    assert header[0] == "step" and len(header) == 1 + len(student.trainable_variables)
    assert len(rows) == 2 and rows[1].split(",")[0] == "1"
    assert all(float(v) >= 0 for v in rows[1].split(",")[1:])


def test_gradient_norm_log_has_one_row_per_logged_step(tmp_path):
    class _Value:
        def __init__(self, value):
            self.value = value

        def numpy(self):
            return np.asarray(self.value)

    class _FakeTrainer:  # the attributes the callback reads from MeanTeacher
        def __init__(self):
            self.grad_norm_names = ["block1_conv/kernel", "block1_conv/bias", "strong/kernel"]
            self.optimizer = type("Opt", (), {})()

    model = _FakeTrainer()
    logger = mt.GradientNormCSVLogger(tmp_path / "g.csv", every=2)
    logger.set_model(model)
    logger.on_train_begin()
    for step in range(1, 6):
        model.optimizer.iterations = _Value(step)
        model.grad_norms = _Value([step, 2.0 * step, 0.5])
        logger.on_train_batch_end(step - 1)
    rows = [r.split(",") for r in (tmp_path / "g.csv").read_text().strip().split("\n")]
    assert rows[0] == ["step", *model.grad_norm_names]
    assert [r[0] for r in rows[1:]] == ["2", "4"]
    assert [float(v) for v in rows[2][1:]] == [4.0, 8.0, 0.5]
    logger.on_train_begin()  # resumed run: same header, rows kept
    assert len((tmp_path / "g.csv").read_text().strip().split("\n")) == 3
    other = mt.GradientNormCSVLogger(tmp_path / "g.csv")
    other.set_model(type("M", (), {"grad_norm_names": ["x"]})())
    with pytest.raises(ConfigError, match="different header"):
        other.on_train_begin()
