"""Tests of the CNN + VGGish fusion reproduction's pipeline pieces (report 002): the feature
definitions (spec §2.1, §2.2), the configs, class weights and loss (spec §2.4), the report's
stagnation / restart loop, the hierarchical inference rule (spec §1.4), the submission layout
(spec §3) and the table functions' VGGish rule."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from common.errors import ConfigError
from reproductions.vggish_fusion import cells, config, scoring, training
from reproductions.vggish_fusion import features as F
from reproductions.vggish_fusion.pipeline import hierarchical_probs

# ------------------------------------------------------------------------------ features


def test_logmel_is_128_by_862_with_0_db_peak_for_10_s():
    cfg = config.load("full").features.logmel
    y = np.random.default_rng(0).normal(scale=0.1, size=441000).astype(np.float32)
    mel = F.logmel(y, cfg)
    assert mel.shape == (128, 862)          # spec §2.1: 1 + 441000 // 512
    assert mel.max() == pytest.approx(0.0)  # power_to_db(ref=np.max)
    assert mel.min() >= -80.0 - 1e-4        # top_db 80


def test_logmel_pads_short_clips_with_zeros_on_the_right():
    cfg = config.load("full").features.logmel
    y = np.random.default_rng(1).normal(size=441000 - 2 * 512).astype(np.float32)
    mel = F.logmel(y, cfg)
    assert mel.shape == (128, 862)
    np.testing.assert_array_equal(mel[:, -2:], 0.0)


def test_htk_mel_scale_literal_values():
    # 1127 ln(1 + f/700): 700 Hz -> 1127 ln 2 = 781.1769; 0 Hz -> 0
    np.testing.assert_allclose(F.hz_to_mel_htk([0.0, 700.0]), [0.0, 781.1769], atol=1e-3)


def test_vggish_mel_matrix_triangles_in_mel_space():
    m = F.vggish_mel_matrix(64, 257, 16000, 125.0, 7500.0)
    assert m.shape == (257, 64)
    np.testing.assert_array_equal(m[0], 0.0)                 # DC bin zeroed
    assert m.max() <= 1.0 and m.min() >= 0.0
    # bins above 7500 Hz (bin 240 = 7500 Hz) carry no weight; every band has some
    np.testing.assert_array_equal(m[241:], 0.0)
    assert (m.sum(axis=0) > 0).all()
    # band 0's peak lies at mel(125) + one edge step
    edges = np.linspace(F.hz_to_mel_htk(125.0), F.hz_to_mel_htk(7500.0), 66)
    peak_hz = 700.0 * (np.exp(edges[1] / 1127.0) - 1.0)
    assert abs(np.argmax(m[:, 0]) * 31.25 - peak_hz) <= 31.25


def test_vggish_examples_10_by_96_by_64_and_998_frames():
    cfg = config.load("full").features.vggish
    y = np.random.default_rng(2).normal(scale=0.1, size=160000)
    frames = F.vggish_log_mel(y, cfg)
    assert frames.shape == (998, 64)        # spec §2.2: 1 + (160000 - 400) // 160
    ex = F.vggish_examples(y.astype(np.float32), 16000, cfg)
    assert ex.shape == (10, 96, 64)
    np.testing.assert_allclose(ex[1], frames[96:192], rtol=1e-5, atol=1e-6)  # float32 cast
    assert frames.min() >= np.log(0.01) - 1e-9   # log(mel + 0.01)


# ------------------------------------------------------------------------------ config


def test_configs_load_and_smoke_differs_only_in_size():
    full, smoke = config.load("full"), config.load("smoke")
    assert full.train.lr == smoke.train.lr == 0.01
    assert full.model.fc1 == smoke.model.fc1 == "bilinear"
    assert full.model.width == 1.0 and full.model.fc1_units == 512
    assert full.features == smoke.features


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="hierarchical.fine_models"):
        config.load("smoke", ["hierarchical.fine_models=[3]"])
    with pytest.raises(ConfigError, match="train.zero_weight_indices"):
        config.load("smoke", ["train.zero_weight_indices=[40]"])
    with pytest.raises(ConfigError, match="labels.outputs"):
        config.load("smoke", ["labels.outputs=coarse"])


# ------------------------------------------------------------------------------ loss and weights


def test_pos_weight_is_tenth_root_of_negatives_over_positives():
    y = np.zeros((100, 3))
    y[:10, 0] = 1      # 90 / 10 = 9
    y[:50, 1] = 1      # 1
    w = training.class_pos_weights(y, 10.0)
    np.testing.assert_allclose(w, [9 ** 0.1, 1.0, 1.0], rtol=1e-6)  # class 2: no positives -> 1
    w0 = training.class_pos_weights(y, 10.0, zero_indices=(0,))
    assert w0[0] == 0.0


def test_weighted_bce_matches_hand_computation():
    import keras

    loss = training.weighted_bce_with_logits(np.array([2.0, 1.0], dtype=np.float32))
    z = np.array([[0.0, 1.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0]], dtype=np.float32)
    # 2·log(2) for the positive at logit 0; log(1 + e) for the negative at logit 1
    expected = (2 * np.log(2.0) + np.log1p(np.e)) / 2
    got = float(keras.ops.convert_to_numpy(loss(y, keras.ops.convert_to_tensor(z)))[0])
    assert got == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------------------ report loop


class _FakeModel:
    """Stands in for a Keras model: no weights, a scripted validation score per epoch."""

    def __init__(self):
        import keras
        self.variables, self.trainable_variables = [], []
        self.optimizer = keras.optimizers.Adam(0.01)
        self.compiled_lrs = []

    def compile(self, optimizer, loss, jit_compile=False):
        self.optimizer = optimizer
        self.compiled_lrs.append(float(optimizer.learning_rate))

    def train_on_batch(self, x, y):
        return 0.5

    def save_weights(self, path):
        open(path, "w").close()


def test_report_loop_reduces_then_restarts_with_milder_factor(tmp_path):
    model = _FakeModel()
    # epoch 1 improves, then nothing improves: stagnation > 1 after 2 stagnant epochs
    script = iter([0.5] + [0.1] * 20)

    def evaluate(_):
        v = next(script)
        return {"coarse": {"micro_auprc": v, "macro_auprc": v},
                "fine": {"micro_auprc": v, "macro_auprc": v}}

    x, y = [np.zeros((4, 1))], np.zeros((4, 2))
    st = training.train_report_loop(model, lambda lr: __import__("keras").optimizers.Adam(lr),
                                    None, x, y, evaluate, lr=0.01, batch_size=2, max_epochs=10,
                                    stagnation=1, min_lr=1e-3, factor=0.1, factor_step=0.1,
                                    seed=0, state_dir=tmp_path)
    lrs = [h["lr"] for h in st["history"]]
    events = [h.get("event") for h in st["history"]]
    # epochs 2, 3 stagnant -> after epoch 3 lr 0.01 * 0.1; epochs 4, 5 -> at min_lr: restart
    assert lrs[:4] == [0.01, 0.01, 0.01, pytest.approx(0.001)]
    assert events[2] == "reduce" and events[4] == "restart"
    assert lrs[5] == 0.01 and st["factor"] == pytest.approx(0.2)
    assert st["checkpoints"] == [1] and st["best_coarse_epoch"] == 1
    # a fresh optimiser at every change (the code), plus the first compile
    assert len(model.compiled_lrs) == 1 + sum(e is not None for e in events)


def test_report_loop_sets_both_bests_on_any_improvement(tmp_path):
    model = _FakeModel()
    script = iter([(0.5, 0.5), (0.6, 0.2), (0.55, 0.3)])

    def evaluate(_):
        c, f = next(script)
        return {"coarse": {"micro_auprc": c, "macro_auprc": c},
                "fine": {"micro_auprc": f, "macro_auprc": f}}

    st = training.train_report_loop(model, lambda lr: __import__("keras").optimizers.Adam(lr),
                                    None, [np.zeros((2, 1))], np.zeros((2, 1)), evaluate,
                                    lr=0.01, batch_size=2, max_epochs=3, stagnation=10,
                                    min_lr=1e-6, factor=0.1, factor_step=0.1, seed=0,
                                    state_dir=tmp_path)
    # epoch 2: coarse improves, fine best drops to 0.2; epoch 3: fine 0.3 > 0.2 -> checkpoint
    assert st["checkpoints"] == [1, 2, 3]
    assert st["best_coarse_epoch"] == 2 and st["best_fine_epoch"] == 1


# ------------------------------------------------------------------------------ hierarchical


def test_hierarchical_runs_argmax_and_above_threshold_fine_models():
    coarse = np.zeros((2, 37))
    coarse[0, :8] = [0.9, 0.6, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3]   # file 0: classes 1 and 2 run
    coarse[1, :8] = [0.1, 0.2, 0.4, 0.1, 0.1, 0.1, 0.1, 0.3]   # file 1: only argmax (3)
    fine = {1: np.full((2, 4), 0.7), 2: np.full((2, 5), 0.8)}
    p = hierarchical_probs(coarse, fine, 0.5)
    np.testing.assert_array_equal(p[:, :8], coarse[:, :8])     # coarse = M_C's
    np.testing.assert_allclose(p[0, scoring.fine_indices(1)], 0.7)
    np.testing.assert_allclose(p[0, scoring.fine_indices(2)], 0.8)
    np.testing.assert_allclose(p[1, scoring.fine_indices(1)], 0.0)   # not run
    # single-fine-tag classes 3 and 8 copy M_C's coarse probability
    assert p[1, scoring.fine_indices(3)[0]] == pytest.approx(0.4)
    assert p[0, scoring.fine_indices(8)[0]] == pytest.approx(0.3)


def test_fine_index_ranges_of_the_37_vector():
    # spec §1.4: coarse 1 -> 8..11, 2 -> 12..16, 3 -> 17, 4 -> 18..21, 8 -> 36
    assert scoring.fine_indices(1) == [8, 9, 10, 11]
    assert scoring.fine_indices(2) == [12, 13, 14, 15, 16]
    assert scoring.fine_indices(3) == [17]
    assert scoring.fine_indices(4) == [18, 19, 20, 21]
    assert scoring.fine_indices(8) == [36]
    assert len(scoring.complete_fine_indices()) == 23


def test_submission_has_fine_then_coarse_columns():
    names = ["00_000001.wav"]
    probs = np.arange(37)[None, :] / 36.0
    table = scoring.submission(names, probs)
    assert list(table.columns[:2]) == ["audio_filename", "1-1_small-sounding-engine"]
    assert table.columns[-1] == "8_dog"
    assert table["1_engine"].iloc[0] == pytest.approx(0.0)        # label-order index 0
    assert table["1-1_small-sounding-engine"].iloc[0] == pytest.approx(8 / 36)


# ------------------------------------------------------------------------------ cells


def _metrics(is_mini: bool, official: bool) -> dict:
    s = {lvl: {"micro_auprc": 0.5, "micro_f1": 0.4, "macro_auprc": 0.3} for lvl in
         ("coarse", "fine")}
    return {"embeddings": {"official_weights": official, "official_pca": official},
            "corpus": {"is_mini": is_mini},
            "systems": {"CNN+VGGish1": {"scores": s, "epoch": 1, "selected_by": "best_coarse"}},
            "hierarchical": None, "baseline": {}}


def test_real_data_with_random_vggish_enters_no_table():
    assert cells.t3(_metrics(is_mini=False, official=False)) == []
    assert len(cells.t3(_metrics(is_mini=False, official=True))) == 6


def test_mini_corpus_random_vggish_cells_carry_the_note():
    out = cells.t3(_metrics(is_mini=True, official=False))
    assert len(out) == 6 and all("not VGGish" in c["note"] for c in out)


# ------------------------------------------------------------------------------ smoke width


def test_width_narrows_every_block_and_the_bilinear_input():
    from reproductions.vggish_fusion import models as M

    model = M.fusion(n_outputs=37, fc1_units=8, fc2_units=8, width=0.125)
    rows = M.conv_block_table(model)
    # Table 1 widths 8, 16, 32, 64, 128, 256 at 1/8 (at least one channel)
    assert [r["out_channels"] for r in rows] == [1, 2, 4, 8, 16, 32]
    assert [r["kernel"] for r in rows] == [(1, 1), (3, 3), (16, 128), (5, 5), (5, 5), (3, 3)]
    fc1 = M.fc_table(model)[0]
    assert fc1["in_channels"] == (32, 1280) and fc1["out_channels"] == 8
    with pytest.raises(ConfigError, match="width"):
        M.fusion(width=0.0)


def test_trained_models_follow_the_config():
    from reproductions.vggish_fusion import recipe

    names = recipe.trained_models(config.load("smoke", ["hierarchical.fine_models=[1,7]",
                                                        "baseline.enabled=false"]))
    assert names == ["fusion_bilinear_all", "hierarchical_fine_1", "hierarchical_fine_7"]
    assert recipe.trained_models(config.load("full", ["model.fc1=concat",
                                                      "hierarchical.enabled=false",
                                                      "baseline.enabled=false"])) == [
        "fusion_concat_all"]
