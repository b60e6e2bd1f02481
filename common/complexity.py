"""Analytic parameter and MAC counts of Keras 3 models, one row per layer call.

keras-flops and model-profiler do not run on TF 2.21 / Keras 3, and the TF profiler counts
bias adds, BN, pooling and only one step of a recurrent loop, so it cannot give the DCASE
number. This module walks the model graph with concrete batch-1 shapes and counts the
multiply-accumulates of the weight kernels only (the DCASE / CP-JKU convention);
`profiler_flops` stays available as an independent cross-check on feed-forward networks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import keras

from common.errors import ConfigError

COUNTING_RULE = (
    "MACs are multiply-accumulates of the weight kernels for one inference of ONE example "
    "(batch 1): Conv1D/2D/3D = output positions x filters x kernel taps x input channels / "
    "groups (zero-padded positions, incl. causal padding, count as full kernel applications); "
    "ConvTranspose = input positions x kernel taps x input channels x filters; "
    "DepthwiseConv = output positions x input channels x depth multiplier x kernel taps; "
    "SeparableConv = its depthwise part + output positions x depthwise channels x filters; "
    "Dense = positions (all axes but the last, e.g. time steps) x inputs x units; "
    "GRU/LSTM/SimpleRNN = time steps x (input and recurrent matmuls: gates x units x "
    "(inputs + units), gates 3/4/1, identical for GRU reset_after True and False); "
    "Bidirectional = both directions; TimeDistributed = steps x the wrapped layer; "
    "a custom layer with a count_macs(rule, in_shapes, out_shapes) method counts itself "
    "(Bilinear = in1 x in2 x units). "
    "Counted as 0 MACs: bias adds, BatchNormalization and other normalisations, activations, "
    "pooling incl. global pooling, element-wise Add/Multiply/Concatenate, reshapes, dropout "
    "and weightless in-graph feature extraction. Parameters are all layer weights: "
    "trainable + non-trainable (BatchNormalization moving mean/variance are non-trainable); "
    "a layer called more than once, or a weight shared between layers, is counted once."
)

TORCHINFO_RULE = (
    "torchinfo 1.8 summary() total_mult_adds, as NeSsi reports for PyTorch models, batch 1: "
    "Conv/Depthwise/ConvTranspose = (kernel + bias) x output positions (groups honoured via the "
    "kernel size); SeparableConv = (depthwise + pointwise kernels + bias) x output positions; "
    "Dense = kernel + bias, once (torchinfo multiplies by the batch only, so the time steps of a "
    "3-D input are not counted); BatchNormalization and every other weighted layer = its "
    "trainable weights (gamma + beta; moving statistics are PyTorch buffers); pooling, "
    "activations, element-wise merges, reshapes, dropout = 0. Recurrent layers are refused. "
    "Parameters comparable with torchinfo total_params are the trainable ones."
)

TFLITE_RULE = (
    "tflite-tools (NeSsi's TFLite counter) on the graph the TFLite converter makes of this "
    "Keras model, batch 1, estimated on the Keras graph: Conv/Depthwise/Separable = output "
    "elements x kernel taps x input channels / groups (no bias); Dense (FULLY_CONNECTED) = rows x "
    "last input dim x units, where a Flatten folded into the FC keeps the pre-flatten shape, so "
    "only its last axis counts (the DCASE 2022 baseline's 64->100 dense shows 3,200); "
    "Max/AveragePooling = output elements x pool window; GlobalAveragePooling and mean layers "
    "(MEAN) = input elements; Add = (inputs - 1) x output elements; BatchNormalization = 0 when "
    "it follows a conv/dense (folded), else output elements (lowered to MUL + ADD, ADD counted); "
    "ConvTranspose, MUL, activations, concatenation, reshapes = 0 (tflite-tools has no rule). "
    "A layer may refine its own count through a `count_macs(rule, in_shapes, out_shapes)` "
    "method (None = default). The converted .tflite model's count is authoritative."
)

COUNTING_RULES: dict[str, str] = {
    "dcase": COUNTING_RULE,
    "torchinfo": TORCHINFO_RULE,
    "tflite": TFLITE_RULE,
}

# Layers whose weights are not matmul/conv kernels: their work is element-wise, so 0 MACs
# by the DCASE convention. Looked up by getattr so that a Keras without one still imports.
_ZERO_MAC_WEIGHTED_LAYER_NAMES = (
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "Normalization",
    "PReLU",
    "Embedding",
)
_ZERO_MAC_WEIGHTED_LAYERS = tuple(
    getattr(keras.layers, name) for name in _ZERO_MAC_WEIGHTED_LAYER_NAMES
    if hasattr(keras.layers, name)
)

# Weightless operations that nonetheless multiply-accumulate (keras.ops called on symbolic
# tensors, Dot/Attention layers): counting them as 0 would silently undercount, so refuse.
_WEIGHTLESS_MAC_OPS = frozenset({
    "Dot", "Attention", "AdditiveAttention", "DotProductAttention", "Matmul", "Einsum",
    "Tensordot", "Inner", "Vdot", "Conv", "ConvTranspose", "DepthwiseConv", "SeparableConv",
})

_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_CONV_TRANSPOSE = (
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


class UnsupportedLayerError(ConfigError):
    """A layer (or op) whose MACs this counter cannot derive; the message names its class."""


@dataclass(frozen=True)
class LayerCost:
    name: str
    class_name: str
    output_shape: tuple  # batch axis as None, like layer.output.shape; tuple of those if several
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int


@dataclass(frozen=True)
class ModelCost:
    model_name: str
    input_shape: tuple  # batch axis None; tuple of shapes for multi-input models
    layers: tuple[LayerCost, ...]
    rule: str = "dcase"  # key of COUNTING_RULES the MACs follow

    @property
    def params(self) -> int:
        return sum(row.params for row in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(row.trainable_params for row in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(row.non_trainable_params for row in self.layers)

    @property
    def macs(self) -> int:
        return sum(row.macs for row in self.layers)

    def to_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "input_shape": _shape_to_list(self.input_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "counting_rule": COUNTING_RULES[self.rule],
            "rule": self.rule,
            "layers": [
                {
                    "name": row.name,
                    "class_name": row.class_name,
                    "output_shape": _shape_to_list(row.output_shape),
                    "params": row.params,
                    "trainable_params": row.trainable_params,
                    "non_trainable_params": row.non_trainable_params,
                    "macs": row.macs,
                }
                for row in self.layers
            ],
        }

    def to_markdown(self, per_layer: bool = True) -> str:
        lines = [
            f"**{self.model_name}** — input {_format_shape(self.input_shape)}",
            "",
            "| params | trainable | non-trainable | MACs |",
            "|---:|---:|---:|---:|",
            f"| {self.params:,} | {self.trainable_params:,} | {self.non_trainable_params:,} "
            f"| {self.macs:,} |",
        ]
        if per_layer:
            lines += [
                "",
                "| layer | class | output shape | params | trainable | non-trainable | MACs |",
                "|---|---|---|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {row.name} | {row.class_name} | {_format_shape(row.output_shape)} "
                f"| {row.params:,} | {row.trainable_params:,} | {row.non_trainable_params:,} "
                f"| {row.macs:,} |"
                for row in self.layers
            ]
        lines += ["", f"Counting rule: {COUNTING_RULES[self.rule]}"]
        return "\n".join(lines) + "\n"


def count_model(
    model: keras.Model, input_shape: tuple | Sequence[tuple] | None = None,
    rule: str = "dcase",
) -> ModelCost:
    """Per-layer params and MACs of a built Functional or Sequential model, batch 1.

    `input_shape` (per example, no batch axis; a list of them for several inputs) fills in
    axes the model leaves as None, e.g. the time axis of a recurrent model; by default the
    model's own input shapes are used and must be fully defined. `rule` names the MAC
    counting rule (a key of COUNTING_RULES; default the DCASE kernel-MAC rule).
    """
    if rule not in COUNTING_RULES:
        raise ConfigError(f"unknown counting rule {rule!r}; known: {sorted(COUNTING_RULES)}")
    if not _is_graph_model(model):
        raise UnsupportedLayerError(
            f"model {model.name!r} ({type(model).__name__}): count_model needs a Functional "
            "or Sequential model built on keras.Input (subclassed models have no graph)"
        )
    try:
        model_inputs = list(model.inputs)
    except (AttributeError, ValueError) as err:
        raise ConfigError(
            f"model {model.name!r} has no inputs yet; build it on keras.Input first"
        ) from err
    per_example = _resolve_input_shapes(model, model_inputs, input_shape)
    specs = [
        keras.KerasTensor((1, *shape), dtype=ref.dtype)
        for shape, ref in zip(per_example, model_inputs)
    ]
    counter = _Counter(rule)
    inputs: Any = specs if len(specs) > 1 else specs[0]
    counter.run_model(model, [inputs], {}, prefix="")
    counter.check_all_weights_seen(model)
    shapes = tuple((None, *shape) for shape in per_example)
    return ModelCost(
        model_name=model.name,
        input_shape=shapes[0] if len(shapes) == 1 else shapes,
        layers=tuple(counter.rows),
        rule=rule,
    )


def profiler_flops(model: keras.Model) -> int:
    """FLOPs the TensorFlow v1 profiler reports for one batch-1 inference (cross-check only).

    Measured on TF 2.21: 2 FLOPs per MAC of undilated Conv/Depthwise/Dense kernels, plus 1
    per bias-add output element, 5 per Softmax element, and further ops for BN, pooling and
    means (ReLU, reshapes: 0). It disagrees with the MAC count where TF lowers the graph
    differently: a dilated conv becomes SpaceToBatchND + Conv2D and the padded blocks are
    counted too, and a recurrent while-loop body is counted once, not per time step.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2_as_graph,
    )

    specs = []
    for ref in model.inputs:
        if any(dim is None for dim in ref.shape[1:]):
            raise ConfigError(
                f"model {model.name!r} input {ref.name!r} has shape {tuple(ref.shape)}; "
                "the profiler needs fully defined per-example shapes"
            )
        specs.append(tf.TensorSpec((1, *ref.shape[1:]), ref.dtype))

    def forward(*xs):
        return model(list(xs) if len(xs) > 1 else xs[0], training=False)

    concrete = tf.function(forward).get_concrete_function(*specs)
    # Freezing turns variable reads into constants so the profiler sees every kernel shape.
    frozen, _ = convert_variables_to_constants_v2_as_graph(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
    )
    return int(profile.total_float_ops)


# --------------------------------------------------------------------------------------------
# graph walking


def _is_graph_model(layer: Any) -> bool:
    return isinstance(layer, keras.Sequential) or (
        isinstance(layer, keras.Model) and hasattr(layer, "_run_through_graph")
        and hasattr(layer, "_nodes_by_depth")
    )


class _Counter:
    """Collects rows while the model graph is evaluated symbolically with batch-1 specs."""

    def __init__(self, rule: str = "dcase") -> None:
        self.rule = rule
        self.rows: list[LayerCost] = []
        self._seen_weights: set[int] = set()
        self._calls: dict[int, int] = {}
        # id(output spec) -> (producing op, its input shapes); the specs are kept alive so
        # that ids stay unique. Only the tflite rule looks at producers.
        self._producers: dict[int, tuple[Any, list[tuple]]] = {}
        self._keep: list[Any] = []

    def run_model(self, model: keras.Model, args: list, kwargs: dict, prefix: str) -> Any:
        if isinstance(model, keras.Sequential):
            # Sequential.layers excludes the InputLayer; feed each layer the previous output.
            x = args[0]
            for layer in model.layers:
                x = self._visit(layer, prefix)(x)
            return x
        # Functional: let Keras do the topological walk (the same private hook it uses in
        # compute_output_spec; stable since Keras 3.0), we only intercept each operation.
        return model._run_through_graph(
            args[0], operation_fn=lambda op: self._visit(op, prefix)
        )

    def _visit(self, op: Any, prefix: str) -> Callable[..., Any]:
        def evaluate(*args: Any, **kwargs: Any) -> Any:
            if _is_graph_model(op):
                # Expand a nested model into its own layers, named "outer/inner".
                return self.run_model(op, list(args), kwargs, f"{prefix}{op.name}/")
            out = op.compute_output_spec(*args, **kwargs)
            in_tensors = [t for t in keras.tree.flatten(args) if isinstance(t, keras.KerasTensor)]
            in_shapes = [tuple(t.shape) for t in in_tensors]
            out_shapes = [tuple(t.shape) for t in keras.tree.flatten(out)]
            producers = [self._producers.get(id(t)) for t in in_tensors]
            self._add_row(op, prefix, in_shapes, out_shapes, producers)
            for t in keras.tree.flatten(out):
                self._producers[id(t)] = (op, in_shapes)
                self._keep.append(t)
            return out

        return evaluate

    def _add_row(self, op: Any, prefix: str, in_shapes: list[tuple],
                 out_shapes: list[tuple], producers: list | None = None) -> None:
        call_index = self._calls.get(id(op), 0) + 1
        self._calls[id(op)] = call_index
        name = prefix + op.name + (f" (call {call_index})" if call_index > 1 else "")
        trainable = non_trainable = 0
        for weight in getattr(op, "weights", []):
            if id(weight) in self._seen_weights:
                continue
            self._seen_weights.add(id(weight))
            size = math.prod(weight.shape)
            if weight.trainable:
                trainable += size
            else:
                non_trainable += size
        macs = _operation_macs(op, in_shapes, out_shapes, self.rule, producers or [])
        shapes = [(None, *shape[1:]) for shape in out_shapes]
        self.rows.append(LayerCost(
            name=name,
            class_name=type(op).__name__,
            output_shape=shapes[0] if len(shapes) == 1 else tuple(shapes),
            params=trainable + non_trainable,
            trainable_params=trainable,
            non_trainable_params=non_trainable,
            macs=macs,
        ))

    def check_all_weights_seen(self, model: keras.Model) -> None:
        missing = [w.path for w in model.weights if id(w) not in self._seen_weights]
        if missing:
            raise UnsupportedLayerError(
                f"model {model.name!r}: weights not owned by any layer in its graph: {missing}"
            )


# --------------------------------------------------------------------------------------------
# per-layer MAC rules (shapes have batch 1 in front)


def _operation_macs(op: Any, in_shapes: list[tuple], out_shapes: list[tuple],
                    rule: str = "dcase", producers: Sequence = ()) -> int:
    for shape in in_shapes + out_shapes:
        if any(dim is None for dim in shape):
            raise ConfigError(
                f"layer {op.name!r} ({type(op).__name__}) sees shape {shape}; pass input_shape="
                " to count_model to fix the undefined axes"
            )
    if isinstance(op, keras.layers.Layer):
        # Extension hook: a custom layer states its own MACs under a rule (a bilinear map; 0
        # for scalar scales and norms), or None to be counted by the rule's default.
        hook = getattr(op, "count_macs", None)
        if hook is not None:
            own = hook(rule, in_shapes, out_shapes)
            if own is not None:
                return int(own)
        if rule == "torchinfo":
            return _torchinfo_layer_macs(op, in_shapes, out_shapes)
        if rule == "tflite":
            return _tflite_layer_macs(op, in_shapes, out_shapes, producers)
        return _layer_macs(op, in_shapes, out_shapes)
    if type(op).__name__ in _WEIGHTLESS_MAC_OPS:
        raise UnsupportedLayerError(
            f"operation {op.name!r} ({type(op).__name__}) multiply-accumulates but has no "
            "counting rule"
        )
    return 0


def _layer_macs(layer: keras.layers.Layer, in_shapes: list[tuple],
                out_shapes: list[tuple]) -> int:
    class_name = type(layer).__name__
    if isinstance(layer, _SEPARABLE):
        # The pointwise 1x1 conv runs at the (strided) depthwise output resolution, which is
        # the layer's output resolution.
        positions = _spatial_positions(layer, out_shapes[0])
        return positions * (_size(layer.depthwise_kernel) + _size(layer.pointwise_kernel))
    if isinstance(layer, _DEPTHWISE + _CONV):
        # kernel is (*taps, in_channels / groups, filters) or (*taps, in, multiplier): its
        # size is exactly the MACs per output position.
        return _spatial_positions(layer, out_shapes[0]) * _size(layer.kernel)
    if isinstance(layer, _CONV_TRANSPOSE):
        # Each input position scatters the full (*taps, filters, in) kernel.
        return _spatial_positions(layer, in_shapes[0]) * _size(layer.kernel)
    if isinstance(layer, keras.layers.Dense):
        if getattr(layer, "lora_enabled", False):
            raise UnsupportedLayerError(f"layer {layer.name!r} (Dense with LoRA) is not supported")
        return math.prod(in_shapes[0][1:-1]) * _size(layer.kernel)
    if isinstance(layer, keras.layers.Bidirectional):
        return (_layer_macs(layer.forward_layer, in_shapes[:1], [])
                + _layer_macs(layer.backward_layer, in_shapes[:1], []))
    if isinstance(layer, keras.layers.RNN):
        steps = in_shapes[0][1]  # Keras 3 RNN inputs are (batch, time, features)
        return steps * _cell_macs_per_step(layer, layer.cell)
    if isinstance(layer, keras.layers.TimeDistributed):
        inner = layer.layer
        if _is_graph_model(inner):
            raise UnsupportedLayerError(
                f"layer {layer.name!r}: TimeDistributed over a model ({inner.name!r}) is not "
                "supported"
            )
        steps = in_shapes[0][1]
        inner_in = [(1, *in_shapes[0][2:])]
        inner_out = [(1, *shape[2:]) for shape in out_shapes]
        return steps * _layer_macs(inner, inner_in, inner_out)
    if isinstance(layer, _ZERO_MAC_WEIGHTED_LAYERS):
        return 0
    if class_name in _WEIGHTLESS_MAC_OPS:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({class_name}) multiply-accumulates but has no counting rule"
        )
    if layer.weights:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({class_name}) owns weights but has no MAC counting rule; "
            "build it from supported layers or add a rule to common/complexity.py"
        )
    return 0  # weightless: activations, pooling, reshapes, element-wise merges, dropout


def _torchinfo_layer_macs(layer: keras.layers.Layer, in_shapes: list[tuple],
                          out_shapes: list[tuple]) -> int:
    """torchinfo 1.8 `calculate_macs`: conv-like modules multiply their weight and bias counts
    by the output positions, every other module by the batch (1) only."""
    bias = getattr(layer, "bias", None) if getattr(layer, "use_bias", False) else None
    bias_size = _size(bias) if bias is not None else 0
    if isinstance(layer, _SEPARABLE):
        positions = _spatial_positions(layer, out_shapes[0])
        return positions * (_size(layer.depthwise_kernel) + _size(layer.pointwise_kernel)
                            + bias_size)
    if isinstance(layer, _DEPTHWISE + _CONV + _CONV_TRANSPOSE):
        return _spatial_positions(layer, out_shapes[0]) * (_size(layer.kernel) + bias_size)
    if isinstance(layer, keras.layers.Dense):
        return _size(layer.kernel) + bias_size
    if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional,
                          keras.layers.TimeDistributed)):
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({type(layer).__name__}) has no torchinfo counting rule here"
        )
    if type(layer).__name__ in _WEIGHTLESS_MAC_OPS:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({type(layer).__name__}) multiply-accumulates but has no "
            "counting rule"
        )
    return sum(_size(w) for w in layer.trainable_weights)


_TFLITE_FOLDS_INTO = _CONV + _DEPTHWISE + _SEPARABLE + (keras.layers.Dense,)
_POOLING = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D,
            keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
            keras.layers.AveragePooling3D)
_GLOBAL_MEAN = (keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
                keras.layers.GlobalAveragePooling3D)


def _tflite_layer_macs(layer: keras.layers.Layer, in_shapes: list[tuple],
                       out_shapes: list[tuple], producers: Sequence) -> int:
    """tflite-tools `_macs_for_op` applied to the ops the converter makes of `layer`."""
    producer = producers[0] if producers else None
    if isinstance(layer, _SEPARABLE + _DEPTHWISE + _CONV):
        return _layer_macs(layer, in_shapes, out_shapes)
    if isinstance(layer, _CONV_TRANSPOSE):
        return 0
    if isinstance(layer, keras.layers.Dense):
        in_shape = in_shapes[0]
        if producer is not None and isinstance(producer[0], keras.layers.Flatten):
            # The converter folds Flatten into FULLY_CONNECTED; its input keeps the
            # pre-flatten shape and tflite-tools reads only the last axis.
            return producer[1][0][-1] * int(layer.units)
        return math.prod(in_shape[:-1]) * in_shape[-1] * int(layer.units)
    if isinstance(layer, _POOLING):
        return math.prod(out_shapes[0]) * math.prod(layer.pool_size)
    if isinstance(layer, _GLOBAL_MEAN):
        return math.prod(in_shapes[0])
    if isinstance(layer, keras.layers.Add):
        return (len(in_shapes) - 1) * math.prod(out_shapes[0])
    if isinstance(layer, keras.layers.BatchNormalization):
        if producer is not None and isinstance(producer[0], _TFLITE_FOLDS_INTO):
            return 0
        return math.prod(out_shapes[0])
    if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional,
                          keras.layers.TimeDistributed)):
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({type(layer).__name__}) has no tflite counting rule here"
        )
    if type(layer).__name__ in _WEIGHTLESS_MAC_OPS:
        raise UnsupportedLayerError(
            f"layer {layer.name!r} ({type(layer).__name__}) multiply-accumulates but has no "
            "counting rule"
        )
    return 0


def _cell_macs_per_step(layer: keras.layers.Layer, cell: Any) -> int:
    if isinstance(cell, keras.layers.StackedRNNCells):
        return sum(_cell_macs_per_step(layer, inner) for inner in cell.cells)
    if isinstance(cell, (keras.layers.GRUCell, keras.layers.LSTMCell,
                         keras.layers.SimpleRNNCell)):
        # kernel (inputs, gates*units) and recurrent_kernel (units, gates*units); for GRU with
        # reset_after=False the recurrent matmul acts on r*h but has the same size.
        return _size(cell.kernel) + _size(cell.recurrent_kernel)
    raise UnsupportedLayerError(
        f"layer {layer.name!r} ({type(layer).__name__}) uses cell {type(cell).__name__}, "
        "which has no MAC counting rule"
    )


def _spatial_positions(layer: keras.layers.Layer, shape: tuple) -> int:
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return math.prod(shape[2:] if channels_first else shape[1:-1])


def _size(weight: Any) -> int:
    return math.prod(weight.shape)


# --------------------------------------------------------------------------------------------
# shapes


def _resolve_input_shapes(model: keras.Model, model_inputs: list,
                          input_shape: tuple | Sequence[tuple] | None) -> list[tuple]:
    if input_shape is None:
        given = [tuple(ref.shape[1:]) for ref in model_inputs]
    elif input_shape and all(isinstance(s, (tuple, list)) for s in input_shape):
        given = [tuple(s) for s in input_shape]
    else:
        given = [tuple(input_shape)]
    if len(given) != len(model_inputs):
        raise ConfigError(
            f"model {model.name!r} has {len(model_inputs)} inputs, input_shape gives {len(given)}"
        )
    for shape, ref in zip(given, model_inputs):
        declared = tuple(ref.shape[1:])
        compatible = len(shape) == len(declared) and all(
            d is None or d == s for d, s in zip(declared, shape))
        if not compatible:
            raise ConfigError(
                f"model {model.name!r} input {ref.name!r}: input_shape {shape} does not fit "
                f"the declared {declared}"
            )
        if any(dim is None for dim in shape):
            raise ConfigError(
                f"model {model.name!r} input {ref.name!r} has per-example shape {shape}; MACs "
                "need every axis: pass input_shape= to count_model"
            )
    return given


def _shape_to_list(shape: Any) -> Any:
    if isinstance(shape, (tuple, list)):
        return [_shape_to_list(dim) for dim in shape]
    return shape


def _format_shape(shape: tuple) -> str:
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_format_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


WEIGHTS_FILE_FORMAT = "Keras 3 `.weights.h5` (HDF5, float32, one dataset per variable)"


def weights_file_bytes(model: keras.Model) -> int:
    """Size in bytes of the model's weights saved as a real file (:data:`WEIGHTS_FILE_FORMAT`),
    the way a "weight file size" is read off a disk — container overhead included."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.weights.h5"
        model.save_weights(path)
        return path.stat().st_size


@dataclass(frozen=True)
class ModelVariant:
    """One network a paper's package can build, for `repro complexity` and the reports:
    how to build it at full size, the parameter count the spec verified (None when no
    independent count exists), which parameters that count covers — ``"trainable"`` (what
    PyTorch's ``parameters()`` counts) or ``"all"`` (Keras' ``count_params()``, BatchNorm moving
    statistics included, as Keras 2's "Total params") — and what it is."""
    build: Callable[[], Any]
    expected_params: int | None = None
    note: str = ""
    counted: str = "trainable"

    def measured(self, cost: "ModelCost") -> int:
        return cost.trainable_params if self.counted == "trainable" else cost.params
