"""Hand-computed parameter and MAC counts for every supported layer type, plus the TF
profiler cross-check. Shapes are tiny so the file runs in seconds."""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from common.complexity import (  # noqa: E402
    COUNTING_RULE,
    ModelCost,
    UnsupportedLayerError,
    count_model,
    profiler_flops,
)
from common.errors import ConfigError  # noqa: E402

L = keras.layers


def single_layer_cost(layer: keras.layers.Layer,
                      input_shape: tuple) -> tuple[ModelCost, keras.Model]:
    x = keras.Input(input_shape)
    model = keras.Model(x, layer(x))
    return count_model(model), model


# (layer factory, per-example input shape, output shape, params, MACs), all worked out by hand.
SINGLE_LAYER_CASES = {
    # causal keeps length 10; MACs = 10 positions x 4 filters x 3 taps x 3 channels
    "conv1d_causal_dilated": (lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2),
                              (10, 3), (None, 10, 4), 3 * 3 * 4 + 4, 10 * 4 * 3 * 3),
    # groups=2: each filter sees 2 of the 4 channels; valid -> 8 positions
    "conv1d_groups": (lambda: L.Conv1D(6, 3, groups=2),
                      (10, 4), (None, 8, 6), 3 * 2 * 6 + 6, 8 * 6 * 3 * 2),
    # stride 2 valid on 7x9: out 3x4
    "conv2d_stride": (lambda: L.Conv2D(3, 3, strides=2),
                      (7, 9, 2), (None, 3, 4, 3), 3 * 3 * 2 * 3 + 3, 3 * 4 * 3 * 9 * 2),
    # dilation 2 'same' keeps 6x5; padded taps still count
    "conv2d_dilated_same_nobias": (lambda: L.Conv2D(2, 3, dilation_rate=2, padding="same",
                                                    use_bias=False),
                                   (6, 5, 3), (None, 6, 5, 2), 3 * 3 * 3 * 2, 30 * 2 * 9 * 3),
    "conv2d_channels_first": (lambda: L.Conv2D(4, (2, 3), data_format="channels_first"),
                              (3, 5, 6), (None, 4, 4, 4), 2 * 3 * 3 * 4 + 4, 16 * 4 * 6 * 3),
    # depth multiplier 2 -> 6 output channels, 4x4 positions, 9 taps each
    "depthwise_conv2d": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2),
                         (6, 6, 3), (None, 4, 4, 6), 3 * 3 * 3 * 2 + 6, 16 * 6 * 9),
    "depthwise_conv1d": (lambda: L.DepthwiseConv1D(3, padding="same"),
                         (7, 2), (None, 7, 2), 3 * 2 + 2, 7 * 2 * 3),
    # stride 2 same -> 3x3; depthwise 27 taps + pointwise 3x4 per position; bias only pointwise
    "separable_conv2d": (lambda: L.SeparableConv2D(4, 3, strides=2, padding="same"),
                         (6, 6, 3), (None, 3, 3, 4), 27 + 12 + 4, 9 * (27 + 12)),
    "separable_conv1d": (lambda: L.SeparableConv1D(5, 3, depth_multiplier=2),
                         (8, 2), (None, 6, 5), 3 * 2 * 2 + 4 * 5 + 5, 6 * (3 * 4 + 4 * 5)),
    # each of the 9 input pixels scatters a 3x3x4 kernel from 2 channels
    "conv2d_transpose": (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same"),
                         (3, 3, 2), (None, 6, 6, 4), 3 * 3 * 4 * 2 + 4, 9 * 3 * 3 * 4 * 2),
    "dense_2d": (lambda: L.Dense(3), (4,), (None, 3), 4 * 3 + 3, 12),
    # applied per time step: 5 steps x 4 x 3
    "dense_3d": (lambda: L.Dense(3), (5, 4), (None, 5, 3), 15, 5 * 4 * 3),
    # 3 gates x 5 units x (4 inputs + 5 units) per step, 6 steps; reset_after has 2 bias rows
    "gru_reset_after": (lambda: L.GRU(5, reset_after=True),
                        (6, 4), (None, 5), 3 * 5 * 9 + 2 * 15, 6 * 3 * 5 * 9),
    "gru_reset_before": (lambda: L.GRU(5, reset_after=False, return_sequences=True),
                         (6, 4), (None, 6, 5), 3 * 5 * 9 + 15, 6 * 3 * 5 * 9),
    "lstm": (lambda: L.LSTM(5), (6, 4), (None, 5), 4 * 5 * 9 + 20, 6 * 4 * 5 * 9),
    "simple_rnn": (lambda: L.SimpleRNN(5), (6, 4), (None, 5), 5 * 9 + 5, 6 * 5 * 9),
    "bidirectional_gru": (lambda: L.Bidirectional(L.GRU(2, return_sequences=True)),
                          (3, 4), (None, 3, 4), 2 * (3 * 2 * 6 + 2 * 6), 2 * 3 * 3 * 2 * 6),
    "stacked_cells": (lambda: L.RNN([L.GRUCell(3), L.SimpleRNNCell(2)]),
                      (4, 5), (None, 2), (3 * 3 * 8 + 18) + (2 * 5 + 2),
                      4 * (3 * 3 * 8 + 2 * 5)),
    "time_distributed_conv1d": (lambda: L.TimeDistributed(L.Conv1D(2, 3)),
                                (4, 6, 3), (None, 4, 4, 2), 3 * 3 * 2 + 2, 4 * 4 * 2 * 3 * 3),
    # BN: gamma, beta trainable; moving mean/var non-trainable; no MACs
    "batch_norm": (lambda: L.BatchNormalization(), (5, 4), (None, 5, 4), 16, 0),
    "max_pool": (lambda: L.MaxPooling2D(), (4, 4, 2), (None, 2, 2, 2), 0, 0),
    "global_avg_pool": (lambda: L.GlobalAveragePooling1D(), (5, 4), (None, 4), 0, 0),
    "activation": (lambda: L.Activation("sigmoid"), (5, 4), (None, 5, 4), 0, 0),
}


@pytest.mark.parametrize("case", sorted(SINGLE_LAYER_CASES))
def test_single_layer_params_and_macs(case):
    factory, input_shape, output_shape, params, macs = SINGLE_LAYER_CASES[case]
    cost, model = single_layer_cost(factory(), input_shape)
    (row,) = cost.layers
    assert row.output_shape == output_shape
    assert row.params == params == model.count_params()
    assert row.macs == macs


def test_batch_norm_moving_statistics_are_non_trainable():
    cost, model = single_layer_cost(L.BatchNormalization(), (7, 3))
    (row,) = cost.layers
    assert (row.trainable_params, row.non_trainable_params) == (6, 6)
    assert cost.non_trainable_params == sum(w.numpy().size for w in model.non_trainable_weights)


def test_gru_macs_do_not_depend_on_reset_after_but_params_do():
    after, _ = single_layer_cost(L.GRU(4, reset_after=True), (3, 2))
    before, _ = single_layer_cost(L.GRU(4, reset_after=False), (3, 2))
    assert after.macs == before.macs == 3 * 3 * 4 * (2 + 4)
    assert after.params - before.params == 3 * 4


def mixed_model() -> keras.Model:
    """Functional model with a shared layer, element-wise merges and nested models."""
    x = keras.Input((8, 6, 1), name="spec")
    y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = L.BatchNormalization()(y)
    y = L.MaxPooling2D()(y)
    y = L.SeparableConv2D(5, 3, padding="same")(y)
    y = L.Reshape((4, 15))(y)
    shared = L.Dense(7, name="shared_dense")
    y = L.Add()([shared(y), shared(y)])
    y = L.Multiply()([y, y])
    inner_in = keras.Input((4, 7))
    inner = keras.Model(inner_in, L.GRU(3, return_sequences=True, name="gru")(inner_in),
                        name="encoder")
    y = inner(y)
    head = keras.Sequential(
        [keras.Input((4, 3)), L.GlobalAveragePooling1D(name="pool"), L.Dense(2, name="out")],
        name="head")
    return keras.Model(x, head(y), name="mixed")


def test_mixed_model_totals_match_keras_and_hand_count():
    model = mixed_model()
    cost = count_model(model)
    assert cost.params == model.count_params()
    assert cost.trainable_params == sum(w.numpy().size for w in model.trainable_weights)
    assert cost.non_trainable_params == sum(w.numpy().size for w in model.non_trainable_weights)
    expected_macs = (
        8 * 6 * 4 * 9               # conv2d
        + 4 * 3 * (4 * 9 + 4 * 5)   # separable conv at the pooled 4x3 resolution
        + 2 * 4 * 15 * 7            # shared dense, called twice
        + 4 * 3 * 3 * (7 + 3)       # GRU, 4 steps
        + 3 * 2                     # head dense
    )
    assert cost.macs == expected_macs


def test_shared_layer_counts_params_once_and_macs_per_call():
    rows = {row.name: row for row in count_model(mixed_model()).layers}
    assert rows["shared_dense"].params == 15 * 7 + 7
    assert rows["shared_dense (call 2)"].params == 0
    assert rows["shared_dense"].macs == rows["shared_dense (call 2)"].macs == 4 * 15 * 7


def test_nested_models_are_expanded_with_prefixed_names():
    names = [row.name for row in count_model(mixed_model()).layers]
    assert "encoder/gru" in names
    assert names[-2:] == ["head/pool", "head/out"]
    assert not any(name in ("encoder", "head") for name in names)


def test_output_shapes_are_those_of_the_built_model():
    model = mixed_model()
    rows = {row.name: row for row in count_model(model).layers}
    for layer in model.layers:
        if layer.name in rows and not isinstance(layer, keras.Model):
            assert rows[layer.name].output_shape == tuple(layer.output.shape), layer.name


def test_sequential_model_is_counted():
    model = keras.Sequential([keras.Input((5, 4)), L.Conv1D(3, 2), L.Flatten(), L.Dense(2)])
    cost = count_model(model)
    assert cost.params == model.count_params() == (2 * 4 * 3 + 3) + (12 * 2 + 2)
    assert cost.macs == 4 * 3 * 2 * 4 + 12 * 2
    assert cost.input_shape == (None, 5, 4)


def test_undefined_time_axis_needs_input_shape():
    x = keras.Input((None, 4))
    model = keras.Model(x, L.LSTM(2)(x))
    with pytest.raises(ConfigError, match="input_shape"):
        count_model(model)
    cost = count_model(model, input_shape=(10, 4))
    assert cost.macs == 10 * 4 * 2 * (4 + 2)
    assert cost.input_shape == (None, 10, 4)
    with pytest.raises(ConfigError, match="does not fit"):
        count_model(model, input_shape=(10, 5))


def test_multi_input_model():
    a, b = keras.Input((3,)), keras.Input((2, 4))
    y = L.Concatenate()([L.Dense(2)(a), L.Flatten()(L.Dense(1)(b))])
    cost = count_model(keras.Model([a, b], y))
    assert cost.macs == 3 * 2 + 2 * 4 * 1
    assert cost.input_shape == ((None, 3), (None, 2, 4))


class ScaledProjection(keras.layers.Layer):
    """A custom layer with a weight the counter has no rule for."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2))

    def call(self, x):
        return keras.ops.matmul(x, self.w)


class Halve(keras.layers.Layer):
    def call(self, x):
        return x * 0.5


def test_unknown_weighted_layer_raises_naming_its_class():
    x = keras.Input((4,))
    model = keras.Model(x, ScaledProjection(name="proj")(x))
    with pytest.raises(UnsupportedLayerError, match=r"ScaledProjection.*weights"):
        count_model(model)


def test_unknown_weightless_layer_counts_zero():
    x = keras.Input((4,))
    cost = count_model(keras.Model(x, L.Dense(2)(Halve()(x))))
    assert [row.macs for row in cost.layers] == [0, 8]


def test_weightless_matmul_op_raises():
    a, b = keras.Input((3, 4)), keras.Input((4, 2))
    model = keras.Model([a, b], keras.ops.matmul(a, b))
    with pytest.raises(UnsupportedLayerError, match="Matmul"):
        count_model(model)


def test_subclassed_model_raises():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(keras.ops.zeros((1, 3)))
    with pytest.raises(UnsupportedLayerError, match="Net"):
        count_model(net)


def test_to_dict_is_json_ready_and_carries_the_rule():
    cost = count_model(mixed_model())
    data = json.loads(json.dumps(cost.to_dict()))
    assert data["counting_rule"] == COUNTING_RULE
    assert data["macs"] == cost.macs and data["params"] == cost.params
    assert data["input_shape"] == [None, 8, 6, 1]
    assert sum(layer["macs"] for layer in data["layers"]) == cost.macs


def test_to_markdown_per_layer_switch():
    cost = count_model(mixed_model())
    full, summary = cost.to_markdown(per_layer=True), cost.to_markdown(per_layer=False)
    assert f"{cost.macs:,}" in summary and f"{cost.params:,}" in summary
    assert "encoder/gru" in full and "encoder/gru" not in summary
    assert "0 MACs" in summary  # the counting rule is rendered


def small_conv_dense(use_bias: bool) -> keras.Model:
    x = keras.Input((12, 10, 1))
    y = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", use_bias=use_bias)(x)
    y = L.Conv2D(6, 3, activation="relu", use_bias=use_bias)(y)
    y = L.Flatten()(y)
    y = L.Dense(5, activation="relu", use_bias=use_bias)(y)
    return keras.Model(x, L.Dense(3, use_bias=use_bias)(y))


def test_profiler_counts_two_flops_per_mac_plus_one_per_bias_add():
    keras.utils.set_random_seed(0)
    for use_bias in (False, True):
        model = small_conv_dense(use_bias)
        cost = count_model(model)
        # conv1 6x5x4 outputs, conv2 4x3x6, dense 5 and 3 (bias adds = output elements)
        assert cost.macs == 6 * 5 * 4 * 9 + 4 * 3 * 6 * 36 + 72 * 5 + 5 * 3
        bias_adds = (6 * 5 * 4 + 4 * 3 * 6 + 5 + 3) if use_bias else 0
        assert profiler_flops(model) == 2 * cost.macs + bias_adds
