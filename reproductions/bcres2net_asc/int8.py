"""INT8 deployment of the submitted student: TFLite conversion, its evaluation and timings.

The report trained with quantisation-aware training (PyTorch Lightning's QAT callback,
Conv-BN-ReLU fused) and scored the converted INT8 model. What this module does instead
(stack notes: tensorflow-model-optimization needs Keras 2; Keras 3's ``quantize("int8")``
skips convolutions): **post-training** full-integer quantisation with
``tf.lite.TFLiteConverter`` — BatchNorm folded by the converter, per-channel INT8 weights,
INT8 activations calibrated on training patches (``representative_dataset``), INT8 input and
output. If an operation has no INT8 kernel the conversion is retried with float fallback
and ``full_int8`` says so. Inference runs on ``ai_edge_litert`` when installed, else on
``tf.lite.Interpreter``.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter, "ai_edge_litert"
    except ImportError:
        import tensorflow as tf
        return tf.lite.Interpreter, "tf.lite.Interpreter"


def _concrete(model, batch: int | None):
    """The inference graph with every variable frozen into a constant: left as resource
    variables, Keras 3's weights reach the converter as READ_VARIABLE nodes that the TFLite
    calibrator cannot feed ("variable != nullptr")."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )
    spec = tf.TensorSpec((batch,) + tuple(model.input_shape[1:]), tf.float32)
    fn = tf.function(lambda x: tf.nn.softmax(model(x, training=False)), input_signature=[spec])
    return convert_variables_to_constants_v2(fn.get_concrete_function())


def convert(model, calibration: np.ndarray | None, path: Path) -> dict:
    """Write a TFLite model (float when ``calibration`` is None, else full INT8); returns
    {path, bytes, full_int8, seconds}."""
    import tensorflow as tf

    t0 = time.perf_counter()
    conc = _concrete(model, 1)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([conc])
    full = False
    if calibration is not None:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]

        def rep():
            for item in calibration:
                yield [item[None].astype(np.float32)]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        try:
            blob = conv.convert()
            full = True
        except Exception:  # an op without an INT8 kernel: allow float fallback
            conv = tf.lite.TFLiteConverter.from_concrete_functions([conc])
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = rep
            blob = conv.convert()
    else:
        blob = conv.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return {"path": path.name, "bytes": len(blob), "full_int8": full,
            "constants": constant_bytes(blob), "seconds": time.perf_counter() - t0}


TFLITE_TYPES = {0: "float32", 1: "float16", 2: "int32", 9: "int8", 3: "uint8", 4: "int64"}


def constant_bytes(blob: bytes) -> dict[str, int]:
    """Bytes of the constant tensors (weights, biases, quantisation tables) of a TFLite
    flatbuffer by type, and their number of values. The DCASE 2022 size rule counts
    parameters × their storage width, so int8 weights + int32 biases is the figure to hold
    against the 128 KB limit, not the file size (which adds the graph and the scales)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(blob))
    out: dict[str, int] = {}
    values = 0
    seen: set[int] = set()
    for graph in model.subgraphs:
        for t in graph.tensors:
            data = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
            if data is None or len(data) == 0 or t.buffer in seen:
                continue
            seen.add(t.buffer)
            name = TFLITE_TYPES.get(int(t.type), f"type{int(t.type)}")
            out[name] = out.get(name, 0) + len(data)
            values += int(np.prod(t.shape)) if t.shape is not None and len(t.shape) else 1
    out["values"] = values
    return out


class TFLiteModel:
    """A converted model, callable on float batches (quantising in / dequantising out)."""

    def __init__(self, path: Path):
        cls, self.runtime = interpreter_class()
        self.interp = cls(model_path=str(path), num_threads=None)
        try:
            self.interp.allocate_tensors()
        except RuntimeError:
            # the XNNPACK delegate rejects some INT8 graphs ("failed to prepare"): fall back
            # to the built-in reference kernels
            import tensorflow as tf
            self.interp = tf.lite.Interpreter(
                model_path=str(path), experimental_op_resolver_type=(
                    tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
            self.interp.allocate_tensors()
            self.runtime = "tf.lite.Interpreter (built-in kernels, no XNNPACK)"
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.batch = 1

    def resize(self, batch: int) -> None:
        if batch != self.batch:
            shape = list(self.inp["shape"])
            shape[0] = batch
            self.interp.resize_tensor_input(self.inp["index"], shape)
            self.interp.allocate_tensors()
            self.inp = self.interp.get_input_details()[0]
            self.out = self.interp.get_output_details()[0]
            self.batch = batch

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.resize(len(x))
        if self.inp["dtype"] == np.int8:
            scale, zero = self.inp["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])
        if self.out["dtype"] == np.int8:
            scale, zero = self.out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return np.asarray(y, dtype=np.float64)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        p = np.concatenate([self(x[i:i + 1]) for i in range(len(x))])
        # the INT8 softmax output is quantised in steps of 1/256: renormalise rows as the
        # challenge's log loss does anyway
        p = np.maximum(p, 0)
        return p / np.maximum(p.sum(1, keepdims=True), 1e-12)


def time_calls(fn, x: np.ndarray, repeats: int, warmup: int) -> float:
    """Median seconds of ``fn(x)`` over ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
