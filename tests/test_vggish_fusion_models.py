"""Tests of reproductions.vggish_fusion: the Bilinear layer, the model builders and their
parameter counts (spec vggish_fusion.md §1), report Tables 1–2 read from the layers, the
complexity counter on them, and the official VGGish checkpoint / PCA loading."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gc

import keras
import numpy as np
import pytest

from common.complexity import count_model
from common.errors import ConfigError, DatasetError
from reproductions.vggish_fusion import models as M
from reproductions.vggish_fusion import vggish_weights as W
from reproductions.vggish_fusion.layers import Bilinear

# ------------------------------------------------------------------------------ Bilinear


def _bilinear_model(in1, in2, units):
    a, b = keras.Input((in1,)), keras.Input((in2,))
    layer = Bilinear(units, name="bil")
    return keras.Model([a, b], layer([a, b])), layer


def test_bilinear_hand_worked_2x2():
    model, layer = _bilinear_model(2, 2, 2)
    # W_1 = [[1, 2], [3, 4]], W_2 = [[0, 1], [-1, 0]]; b = (0.5, -1)
    layer.set_torch_weight(np.array([[[1, 2], [3, 4]], [[0, 1], [-1, 0]]], dtype="float32"))
    layer.bias.assign(np.array([0.5, -1.0], dtype="float32"))
    y = model.predict([np.array([[1.0, 2.0]]), np.array([[3.0, 5.0]])], verbose=0)
    # x1ᵀW_1x2 = [1,2]·[13, 29] = 71; x1ᵀW_2x2 = [1,2]·[5, -3] = -1
    np.testing.assert_allclose(y, [[71.5, -2.0]])


def test_bilinear_matches_numpy_einsum_reference():
    rng = np.random.default_rng(0)
    model, layer = _bilinear_model(5, 7, 3)
    weight = rng.normal(size=(3, 5, 7)).astype("float32")
    bias = rng.normal(size=3).astype("float32")
    layer.set_torch_weight(weight)
    layer.bias.assign(bias)
    x1, x2 = rng.normal(size=(4, 5)), rng.normal(size=(4, 7))
    expected = np.einsum("bi,kij,bj->bk", x1, weight, x2) + bias
    np.testing.assert_allclose(model.predict([x1, x2], verbose=0), expected, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_array_equal(layer.torch_weight(), weight)
    assert tuple(layer.kernel.shape) == (7, 5 * 3)  # (in2, in1·units): the fast form


def test_bilinear_default_init_is_torch_uniform():
    keras.utils.set_random_seed(1)
    _, layer = _bilinear_model(16, 40, 8)
    bound = 1 / np.sqrt(16)
    kernel, bias = np.abs(layer.kernel.numpy()), np.abs(layer.bias.numpy())
    assert kernel.max() <= bound and kernel.max() > 0.99 * bound  # 5,120 draws fill the range
    assert bias.max() <= bound and bias.min() > 0


def test_bilinear_serialises(tmp_path):
    model, layer = _bilinear_model(3, 4, 2)
    config = layer.get_config()
    assert config["units"] == 2
    clone = Bilinear.from_config(config)
    assert clone.units == 2 and clone.name == "bil"
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = [np.ones((2, 3)), np.arange(8.0).reshape(2, 4)]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bilinear_errors():
    with pytest.raises(ValueError, match="two rank-2 inputs"):
        Bilinear(2)(keras.Input((3, 4)))
    _, layer = _bilinear_model(2, 3, 4)
    with pytest.raises(ValueError, match=r"expected \(units, in1, in2\) = \(4, 2, 3\)"):
        layer.set_torch_weight(np.zeros((4, 3, 2)))


def test_complexity_counts_bilinear_macs():
    model, _ = _bilinear_model(6, 10, 4)
    cost = count_model(model)
    assert cost.macs == 6 * 10 * 4 and cost.params == 6 * 10 * 4 + 4


# ------------------------------------------------------------------------------ counts

# Trainable counts of spec §1.1–1.4 (verified there against the PyTorch classes).
SPEC_TRAINABLE = {
    "spectrogram_cnn": 1_602_160,
    "fusion_bilinear_all": 169_517_205,
    "fusion_bilinear_coarse": 169_509_752,
    "fusion_bilinear_fine": 169_515_149,
    "fusion_concat_all": 2_531_477,
    "hierarchical_fine_1": 168_300_916,  # VGG_alt, 4 outputs
}


def test_registry_holds_the_spec_counts():
    for name, count in SPEC_TRAINABLE.items():
        assert M.MODEL_VARIANTS[name]["expected_trainable_params"] == count
    assert M.MODEL_VARIANTS["vggish"]["expected_frozen_params"] == 72_141_184
    # hierarchical fine models: coarse 1,2,4,5,6,7 with 4,5,4,5,4,5 outputs (spec §1.4)
    assert {k: v["kwargs"]["n_outputs"] for k, v in M.MODEL_VARIANTS.items()
            if k.startswith("hierarchical_fine_")} == {
        f"hierarchical_fine_{c}": n for c, n in ((1, 4), (2, 5), (4, 4), (5, 5), (6, 4), (7, 5))}


@pytest.fixture(scope="module")
def fusion_all():
    model = M.build("fusion_bilinear_all")
    yield model
    del model
    gc.collect()


def test_fusion_bilinear_all_count_and_tables(fusion_all):
    counts = M.count_params(fusion_all)
    assert counts["trainable"] == 169_517_205
    assert counts["non_trainable"] == 2 * (8 + 16 + 32 + 64 + 128 + 256 + 512 + 256)  # BN stats
    assert fusion_all.get_layer("fc1").count_params() == 167_772_672
    table = M.architecture_table(fusion_all)
    # Report Table 1 (spec §1.1), read back from the layers
    blocks = [(r["in_channels"], r["out_channels"], r["kernel"], r["stride"], r["padding"],
               r["batch_norm"], r["max_pool"], r["dropout"]) for r in table
              if r["kind"] == "conv_block"]
    assert blocks == [
        (1, 8, (1, 1), (1, 1), (0, 0), True, None, 0.5),
        (8, 16, (3, 3), (1, 1), (1, 1), True, None, 0.5),
        (16, 32, (16, 128), (4, 16), (8, 16), True, (4, 4), 0.5),
        (32, 64, (5, 5), (2, 2), (1, 1), True, None, 0.5),
        (64, 128, (5, 5), (2, 2), (1, 1), True, None, 0.5),
        (128, 256, (3, 3), (2, 2), (1, 1), True, None, 0.5),
    ]
    # PyTorch floor arithmetic (spec §1.1): (C, H, W) = (32, 8, 12) after block 3's pool etc.
    shapes = [r["output_shape"] for r in table if r["kind"] == "conv_block"]
    assert shapes == [(128, 862, 8), (128, 862, 16), (8, 12, 32), (3, 5, 64), (1, 2, 128),
                      (1, 1, 256)]
    # Report Table 2
    fc = [(r["layer"], r["in_channels"], r["out_channels"], r["batch_norm"], r["dropout"])
          for r in table if r["kind"] == "fc"]
    assert fc == [("Bilinear", (256, 1280), 512, True, 0.2), ("Linear", 512, 256, True, 0.2),
                  ("Linear", 256, 37, False, None)]


def test_fusion_complexity_counter(fusion_all):
    cost = count_model(fusion_all)
    assert cost.trainable_params == 169_517_205
    rows = {row.name: row for row in cost.layers}
    assert rows["fc1"].macs == 256 * 1280 * 512
    # block 3 conv: 33·48 output positions × 16·128·16·32 taps·in·out
    assert rows["block3_conv"].macs == 33 * 48 * 16 * 128 * 16 * 32


def test_fusion_forward_gives_logits_per_example(fusion_all):
    spec = np.zeros((2, 128, 862, 1), "float32")
    vgg = np.zeros((2, 10, 128), "float32")
    assert fusion_all([spec, vgg], training=False).shape == (2, 37)


@pytest.mark.slow  # three more 169 M-parameter builds (~13 s); 37-output build runs always
@pytest.mark.parametrize("name", ["fusion_bilinear_coarse", "fusion_bilinear_fine",
                                  "hierarchical_fine_1"])
def test_other_bilinear_variant_counts(name):
    model = M.build(name)
    assert M.count_params(model)["trainable"] == SPEC_TRAINABLE[name]
    del model
    gc.collect()


def test_small_model_counts():
    assert M.count_params(M.build("spectrogram_cnn"))["trainable"] == 1_602_160
    concat = M.build("fusion_concat_all")
    assert M.count_params(concat)["trainable"] == 2_531_477
    assert [r["layer"] for r in M.fc_table(concat)] == ["Linear", "Linear", "Linear"]
    assert M.fc_table(concat)[0]["in_channels"] == 1536


def test_vgg_alt_shapes_follow_spec():
    # Spec §1.4: (8,64,431)→(16,32,216)→(32,2,13)→(64,1,5)→(128,1,2)→(256,1,1); dropout .55
    trunk = M.spectrogram_cnn(trunk="vgg_alt")
    rows = M.conv_block_table(trunk)
    assert [r["output_shape"] for r in rows] == [(64, 431, 8), (32, 216, 16), (2, 13, 32),
                                                 (1, 5, 64), (1, 2, 128), (1, 1, 256)]
    assert {r["dropout"] for r in rows} == {0.55}


def test_baseline_counts_by_hand():
    # classify.py defaults: no hidden layer, Dense(N, sigmoid) on 128-d frames
    assert M.count_params(M.build("baseline_fine"))["trainable"] == 128 * 23 + 23
    assert M.count_params(M.build("baseline_coarse"))["trainable"] == 128 * 8 + 8


def test_build_rejects_unknown_names_and_keys():
    with pytest.raises(ConfigError, match="unknown model variant"):
        M.build("nope")
    with pytest.raises(ConfigError, match=r"unknown override key\(s\) \['depth'\]"):
        M.build("spectrogram_cnn", depth=3)
    with pytest.raises(ConfigError, match="fc1="):
        M.fusion(fc1="sum")


# ------------------------------------------------------------------------------ VGGish


@pytest.fixture(scope="module")
def vggish_model():
    model = M.build("vggish")
    yield model
    del model
    gc.collect()


def test_vggish_count_shapes_and_frozen(vggish_model):
    counts = M.count_params(vggish_model)
    assert counts == {"trainable": 0, "non_trainable": 72_141_184, "total": 72_141_184}
    assert tuple(vggish_model.get_layer("pool4").output.shape[1:]) == (6, 4, 512)
    assert vggish_model.get_layer("fc1_1").count_params() == 50_335_744
    assert vggish_model(np.zeros((3, 96, 64), "float32")).shape == (3, 128)


def _official_variables(model, seed=0, shapes_only=False):
    """Values under the official TF1 names (vggish_slim.py scopes)."""
    rng = np.random.default_rng(seed)
    scopes = {"conv1": "vggish/conv1", "conv2": "vggish/conv2",
              "conv3_1": "vggish/conv3/conv3_1", "conv3_2": "vggish/conv3/conv3_2",
              "conv4_1": "vggish/conv4/conv4_1", "conv4_2": "vggish/conv4/conv4_2",
              "fc1_1": "vggish/fc1/fc1_1", "fc1_2": "vggish/fc1/fc1_2", "fc2": "vggish/fc2"}
    out = {}
    for layer, scope in scopes.items():
        kernel, bias = model.get_layer(layer).kernel, model.get_layer(layer).bias
        if shapes_only:
            out[f"{scope}/weights"] = out[f"{scope}/biases"] = None
            continue
        # He-like scale keeps activations O(1) through nine ReLU layers.
        scale = np.float32(np.sqrt(2.0 / np.prod(kernel.shape[:-1])))
        out[f"{scope}/weights"] = rng.standard_normal(tuple(kernel.shape),
                                                      dtype=np.float32) * scale
        out[f"{scope}/biases"] = rng.standard_normal(tuple(bias.shape), dtype=np.float32) * 0.1
    return out


def _write_checkpoint(prefix, variables):
    import tensorflow as tf
    names = sorted(variables)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(variables[n]) for n in names])


def test_vggish_checkpoint_loads_by_variable_name(vggish_model, tmp_path, monkeypatch):
    variables = _official_variables(vggish_model)
    variables["global_step"] = np.array(7, dtype=np.int64)  # extra variables are ignored
    prefix = tmp_path / "vggish_model.ckpt"
    _write_checkpoint(prefix, variables)
    assert W.checkpoint_variables(prefix)["vggish/conv3/conv3_1/weights"] == (3, 3, 128, 256)
    monkeypatch.setenv(W.CHECKPOINT_ENV, str(prefix))
    assert W.checkpoint_path() == prefix
    used = W.load_vggish_checkpoint(vggish_model, W.checkpoint_path())
    assert len(used) == 18
    np.testing.assert_array_equal(vggish_model.get_layer("conv3_1").kernel.numpy(),
                                  variables["vggish/conv3/conv3_1/weights"])
    np.testing.assert_array_equal(vggish_model.get_layer("fc2").bias.numpy(),
                                  variables["vggish/fc2/biases"])
    np.testing.assert_array_equal(vggish_model.get_layer("fc1_2").kernel.numpy(),
                                  variables["vggish/fc1/fc1_2/weights"])
    # The loaded Keras model computes what the TF1 graph computes with those variables.
    patches = np.random.default_rng(5).normal(size=(2, 96, 64)).astype("float32")
    reference = _slim_reference_forward(variables, patches)
    assert reference.std() > 1e-3  # not an all-zero (dead ReLU) comparison
    np.testing.assert_allclose(vggish_model.predict(patches, verbose=0), reference,
                               rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def _tiny_official_variables(model):
    """Every official name with a 1-element value: cheap files for the error paths."""
    return {name: np.zeros((1,), np.float32) for name in _official_variables(model, shapes_only=True)}


def _slim_reference_forward(variables, patches):
    """vggish_slim.py's graph written with raw TF ops on the checkpoint values: 3×3 SAME
    convs + ReLU, 2×2/2 SAME max pools, row-major flatten of NHWC, ReLU fc layers."""
    import tensorflow as tf

    def conv(x, scope):
        y = tf.nn.conv2d(x, variables[f"{scope}/weights"], 1, "SAME")
        return tf.nn.relu(y + variables[f"{scope}/biases"])

    def pool(x):
        return tf.nn.max_pool2d(x, 2, 2, "SAME")

    def fc(x, scope):
        return tf.nn.relu(tf.matmul(x, variables[f"{scope}/weights"])
                          + variables[f"{scope}/biases"])

    x = tf.reshape(tf.constant(patches, tf.float32), (-1, 96, 64, 1))
    x = pool(conv(x, "vggish/conv1"))
    x = pool(conv(x, "vggish/conv2"))
    x = pool(conv(conv(x, "vggish/conv3/conv3_1"), "vggish/conv3/conv3_2"))
    x = pool(conv(conv(x, "vggish/conv4/conv4_1"), "vggish/conv4/conv4_2"))
    x = tf.reshape(x, (tf.shape(x)[0], -1))
    x = fc(fc(x, "vggish/fc1/fc1_1"), "vggish/fc1/fc1_2")
    return fc(x, "vggish/fc2").numpy()


def test_vggish_checkpoint_missing_variable_is_named(vggish_model, tmp_path):
    variables = _tiny_official_variables(vggish_model)
    before = vggish_model.get_layer("conv1").kernel.numpy().copy()
    del variables["vggish/conv4/conv4_2/biases"]
    prefix = tmp_path / "broken.ckpt"
    _write_checkpoint(prefix, variables)
    with pytest.raises(DatasetError, match=r"no variable 'vggish/conv4/conv4_2/biases'.*conv4_2"):
        W.load_vggish_checkpoint(vggish_model, prefix)
    np.testing.assert_array_equal(vggish_model.get_layer("conv1").kernel.numpy(), before)


def test_vggish_checkpoint_shape_mismatch_is_named(vggish_model, tmp_path):
    prefix = tmp_path / "tiny.ckpt"
    _write_checkpoint(prefix, _tiny_official_variables(vggish_model))
    with pytest.raises(DatasetError, match=r"'vggish/conv1/weights' has shape \(1,\).*"
                                           r"\(3, 3, 1, 64\)"):
        W.load_vggish_checkpoint(vggish_model, prefix)


def test_vggish_checkpoint_path_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(W.CHECKPOINT_ENV, raising=False)
    assert W.checkpoint_path() is None
    monkeypatch.setenv(W.CHECKPOINT_ENV, str(tmp_path / "absent.ckpt"))
    with pytest.raises(DatasetError, match="VGGISH_CHECKPOINT.*absent.ckpt"):
        W.checkpoint_path()


# ------------------------------------------------------------------------------ PCA


def test_postprocess_hand_worked_quantisation():
    # eigenvectors 2·I, means 0.5: pca = 2·(x − 0.5); clip ±2; (v + 2)·255/4 truncated
    params = W.PCAParams(2 * np.eye(128), np.full(128, 0.5), official=True)
    x = np.full((1, 128), 0.5)
    x[0, :6] = [-0.5, 1.5, 0.5, 1.0, 2.0, -1.0]   # pca: -2, 2, 0, 1, 3, -3
    q = W.postprocess(x, params)
    assert q.dtype == np.uint8
    assert q[0, :6].tolist() == [0, 255, 127, 191, 255, 0]   # 127.5 → 127, 191.25 → 191
    np.testing.assert_allclose(W.postprocess(x, params, quantize=False)[0, :6],
                               [-2, 2, 0, 1, 2, -2])


def test_postprocess_projects_with_rows_of_the_matrix():
    rng = np.random.default_rng(0)
    matrix, means = rng.normal(size=(128, 128)) * 0.05, rng.normal(size=128)
    x = rng.normal(size=(4, 128))
    expected = np.clip((x - means) @ matrix.T, -2, 2)
    np.testing.assert_allclose(
        W.postprocess(x, W.PCAParams(matrix, means, True), quantize=False), expected)


def test_load_pca_params(tmp_path, monkeypatch):
    path = tmp_path / "vggish_pca_params.npz"
    np.savez(path, pca_eigen_vectors=np.eye(128), pca_means=np.ones((128, 1)))
    monkeypatch.setenv(W.PCA_ENV, str(path))
    params = W.load_pca_params()
    assert params.official and params.means.shape == (128,)
    np.savez(path, pca_eigen_vectors=np.eye(127), pca_means=np.ones(128))
    with pytest.raises(DatasetError, match=r"pca_eigen_vectors.*\(127, 127\)"):
        W.load_pca_params(path)
    np.savez(path, pca_means=np.ones(128))
    with pytest.raises(DatasetError, match="missing array 'pca_eigen_vectors'"):
        W.load_pca_params(path)


def test_fit_pca_whitens_and_is_marked_unofficial():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 128)) * rng.uniform(0.5, 3, 128) + 4
    params = W.fit_pca_params(x)
    assert not params.official
    projected = W.postprocess(x, params, quantize=False)
    unclipped = np.dot(params.eigenvectors, (x - params.means).T).T
    np.testing.assert_allclose(np.cov(unclipped, rowvar=False), np.eye(128), atol=1e-3)
    assert np.abs(projected).max() <= 2
