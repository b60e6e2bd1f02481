"""Quantisation-aware training of the weights, with the straight-through estimator.

The report trained with PyTorch Lightning's QAT callback (fake-quantised weights *and*
activations, Conv-BN-ReLU fused) in both phases. What runs here, on Keras 3 without
tensorflow-model-optimization (stack notes): every step sees the weights rounded to the INT8
grid the TFLite converter will use, and the update computed there is applied to a float
"shadow" copy (the straight-through estimator), which is rounded again for the next step:

* convolution kernels: symmetric per output channel, integers in [−127, 127], scale =
  max|w| / 127 (TFLite's per-channel rule); a depthwise kernel (kh, kw, in, multiplier) has
  in · multiplier channels;
* the classifier (Dense): symmetric per tensor (TFLite's fully-connected rule).

BatchNorm that the converter folds into a convolution multiplies each output channel by one
factor, which scales that channel's grid with it, so the folded weights stay on their grid.
Activations are not fake-quantised while training; their ranges are calibrated after training,
as for the post-training model (int8.py). The shadow weights are saved beside the stage's
checkpoint (trainer.run_stage), so an interrupted QAT stage resumes exactly.
"""
from __future__ import annotations

import numpy as np

QMAX = 127


def fake_quant(w: np.ndarray, kind: str) -> np.ndarray:
    """``w`` rounded to its symmetric INT8 grid: ``kind`` "conv" (per last-axis channel),
    "depthwise" (per input channel × multiplier) or "dense" (one scale)."""
    w = np.asarray(w, dtype=np.float32)
    if kind == "dense":
        peak = np.abs(w).max(keepdims=True)
    elif kind == "conv":
        peak = np.abs(w).max(axis=tuple(range(w.ndim - 1)), keepdims=True)
    elif kind == "depthwise":
        peak = np.abs(w).max(axis=(0, 1), keepdims=True)
    else:
        raise ValueError(f"fake_quant: unknown kind {kind!r}")
    scale = np.where(peak > 0, peak / QMAX, 1.0).astype(np.float32)
    return (np.clip(np.round(w / scale), -QMAX, QMAX) * scale).astype(np.float32)


def quantisable(model) -> list[tuple[object, str]]:
    """(kernel variable, kind) of every trainable convolution, depthwise convolution and
    dense layer of ``model``."""
    import keras
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not layer.trainable or not hasattr(layer, "kernel"):
            continue
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            out.append((layer.kernel, "depthwise"))
        elif isinstance(layer, keras.layers.Conv2D):
            out.append((layer.kernel, "conv"))
        elif isinstance(layer, keras.layers.Dense):
            out.append((layer.kernel, "dense"))
    return out


class WeightQAT:
    """Float shadow weights and their INT8-grid copies in the model (module docstring)."""

    def __init__(self, model):
        self.kernels = quantisable(model)
        self.shadow = [np.asarray(v.numpy(), dtype=np.float32) for v, _ in self.kernels]
        self._quantise()

    def _quantise(self) -> None:
        self.rounded = [fake_quant(s, kind) for s, (_, kind) in zip(self.shadow, self.kernels)]
        for (v, _), q in zip(self.kernels, self.rounded):
            v.assign(q)

    def after_step(self) -> None:
        """The optimiser moved the rounded weights; move the shadow by the same step."""
        for i, (v, _) in enumerate(self.kernels):
            self.shadow[i] += np.asarray(v.numpy(), dtype=np.float32) - self.rounded[i]
        self._quantise()

    def load(self, shadow: list[np.ndarray]) -> None:
        """Resume from saved shadow weights (the trainer keeps them in its checkpoint)."""
        if len(shadow) != len(self.kernels):
            raise ValueError(f"{len(shadow)} shadow arrays for {len(self.kernels)} kernels")
        self.shadow = [np.asarray(a, dtype=np.float32) for a in shadow]
        self._quantise()
