"""Keras 3 layers the fusion model needs and Keras lacks.

``Bilinear`` is ``torch.nn.Bilinear`` (the fusion head's fc1, spec §1.2):
``y_k = x1ᵀ W_k x2 + b_k`` for k = 1..units, with W of shape (units, in1, in2).

Storage and computation follow the fast form measured in ``shared/stack_notes.md``: the kernel
is one 2-D matrix of shape ``(in2, in1·units)`` (for the report: (1280, 256·512)), applied as
one matmul of x2 with it, a reshape to (batch, in1, units) and a weighted sum over in1 with x1.
That is a single large GEMM instead of a 3-operand einsum (5.3 s vs 8.8 s per batch-32 Adam
step on two cores), and the contraction over the larger input (in2 = 1280) comes first, so the
intermediate is batch × in1·units (131,072 floats per example) rather than batch × in2·units.
``torch_weight`` / ``set_torch_weight`` convert to and from PyTorch's (units, in1, in2) layout,
so the stored layout never leaks into checkpoint conversion.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="vggish_fusion")
class Bilinear(keras.layers.Layer):
    """Bilinear map of two inputs ``[x1 (B, in1), x2 (B, in2)] -> (B, units)``.

    Initialisation defaults to PyTorch's ``nn.Bilinear``: weights and bias U(±1/√in1).
    """

    def __init__(self, units: int, use_bias: bool = True, kernel_initializer=None,
                 bias_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"Bilinear {self.name!r}: units must be ≥ 1, got {units}")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        # None = PyTorch's default, which depends on in1 and is resolved in build().
        self.kernel_initializer = (keras.initializers.get(kernel_initializer)
                                   if kernel_initializer is not None else None)
        self.bias_initializer = (keras.initializers.get(bias_initializer)
                                 if bias_initializer is not None else None)
        self.in1: int | None = None
        self.in2: int | None = None

    def build(self, input_shape):
        shapes = list(input_shape)
        if len(shapes) != 2 or any(len(s) != 2 for s in shapes):
            raise ValueError(f"Bilinear {self.name!r} takes two rank-2 inputs [(B, in1), "
                             f"(B, in2)], got {input_shape}")
        in1, in2 = int(shapes[0][-1]), int(shapes[1][-1])
        self.in1, self.in2 = in1, in2
        bound = 1.0 / math.sqrt(in1)
        self.kernel = self.add_weight(
            name="kernel", shape=(in2, in1 * self.units),
            initializer=self.kernel_initializer or keras.initializers.RandomUniform(-bound, bound))
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,),
                initializer=self.bias_initializer or keras.initializers.RandomUniform(-bound,
                                                                                       bound))

    def call(self, inputs):
        x1, x2 = inputs
        # (B, in2) @ (in2, in1·units) -> (B, in1, units); then Σ_i x1_i · T_i,k.
        projected = ops.reshape(ops.matmul(x2, self.kernel), (-1, self.in1, self.units))
        y = ops.sum(ops.expand_dims(x1, -1) * projected, axis=1)
        if self.bias is not None:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def count_macs(self, rule: str, in_shapes, out_shapes) -> int:
        """Multiply-accumulates per example for ``common.complexity``: in1·in2·units, the size
        of the weight kernel (the DCASE kernel-MAC convention; the final weighting by x1 is
        an element-wise product with an activation and counts 0, as Multiply does)."""
        in1, in2 = int(in_shapes[0][-1]), int(in_shapes[1][-1])
        return in1 * in2 * self.units

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": (keras.initializers.serialize(self.kernel_initializer)
                                   if self.kernel_initializer is not None else None),
            "bias_initializer": (keras.initializers.serialize(self.bias_initializer)
                                 if self.bias_initializer is not None else None),
        })
        return config

    # ---------------------------------------------------------------- PyTorch layout

    def torch_weight(self) -> np.ndarray:
        """The kernel as PyTorch's ``nn.Bilinear.weight``: shape (units, in1, in2)."""
        kernel = np.asarray(self.kernel.numpy()).reshape(self.in2, self.in1, self.units)
        return np.transpose(kernel, (2, 1, 0))

    def set_torch_weight(self, weight: np.ndarray) -> None:
        """Load a PyTorch-layout weight (units, in1, in2)."""
        weight = np.asarray(weight)
        expected = (self.units, self.in1, self.in2)
        if weight.shape != expected:
            raise ValueError(f"Bilinear {self.name!r}: weight shape {weight.shape}, expected "
                             f"(units, in1, in2) = {expected}")
        self.kernel.assign(np.transpose(weight, (2, 1, 0)).reshape(self.in2,
                                                                  self.in1 * self.units))
