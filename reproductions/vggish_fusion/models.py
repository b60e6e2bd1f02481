"""Keras 3 models of seed report 002 (CNN + VGGish fusion) and of the systems it compares with.

Everything is channels-last; spectrogram inputs are (mel, time, 1) = PyTorch's (1, H=mel,
W=time) with the channel moved last, so kernels, strides and paddings read as in the report.

* ``vggish`` — the exact VGGish of ``vggish_slim.py`` (spec §2.2): 3×3 SAME convs with ReLU
  (64, 128, 2×256, 2×512), 2×2/2 SAME max pools, flatten (6·4·512), fc 4096, 4096, 128 with ReLU
  on all three (the DCASE2019 baseline's copy; newer tensorflow/models drop the last ReLU:
  ``embedding_relu=False``). 72,141,184 weights, frozen by default (features are precomputed).
  Keras 3 forbids "/" in layer names, so layers are named after the last scope component
  (``conv3_1``) and :data:`VGGISH_CHECKPOINT_SCOPES` maps each to its TF1 variable scope
  (``vggish/conv3/conv3_1``): ``<scope>/weights`` and ``<scope>/biases``.
* ``spectrogram_cnn`` — the six conv blocks of report Table 1 (= ``train.py`` ``AudioCNN``,
  spec §1.1): Conv → BatchNorm → ReLU → (MaxPool) → Dropout(0.5), plain (not spatial) dropout.
  PyTorch's symmetric padding is an explicit ``ZeroPadding2D`` before a 'valid' conv, so output
  sizes follow PyTorch's floor arithmetic. 1,602,160 trainable parameters.
* ``fusion`` — trunk + fusion head (report Table 2, spec §1.2): fc1 is ``Bilinear(256, 1280) →
  512`` as the code has it (``fc1="bilinear"``) or, as the report's *text* says, a Dense on the
  1536-d concatenation (``fc1="concat"``, spec §1.5 item 1); BatchNorm → ReLU → Dropout(0.2);
  fc2 512 → 256, same; ``fc_final`` 256 → N **logits** (the code trains with BCEWithLogits).
  ``trunk="vgg_alt"`` is the hierarchical system's fine model (spec §1.4).
* ``baseline`` — the official DCASE2019 baseline classifier (``classify.py``
  ``construct_mlp_framewise`` with its defaults: no hidden layer, Dense(N, sigmoid) on one
  128-d VGGish frame, L2 1e-5 on the kernel); fine mode N = 23 complete fine tags, coarse N = 8.

Parameter counts are Keras trainable weights; BatchNorm moving statistics are non-trainable (as
PyTorch buffers are), so trainable counts equal the spec's PyTorch ``parameters()`` totals.
Layer names are stable (``block3_conv``, ``fc1``, ...): :func:`architecture_table` reads report
Tables 1 and 2 back from them.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from common.errors import ConfigError
from common.model_registry import build_variant, count_params  # noqa: F401 (re-exported)
from reproductions.vggish_fusion.layers import Bilinear

N_MELS = 128
N_FRAMES = 862
VGGISH_FRAMES = 10
VGGISH_DIM = 128
OUTPUT_MODES = {"all": 37, "fine": 29, "coarse": 8}
BASELINE_OUTPUTS = {"fine": 23, "coarse": 8}

# One row per conv block: (filters, kernel, stride, padding, max pool or None). Spec §1.1 / §1.4.
TABLE1_BLOCKS: tuple[tuple[int, tuple, tuple, tuple, tuple | None], ...] = (
    (8, (1, 1), (1, 1), (0, 0), None),
    (16, (3, 3), (1, 1), (1, 1), None),
    (32, (16, 128), (4, 16), (8, 16), (4, 4)),
    (64, (5, 5), (2, 2), (1, 1), None),
    (128, (5, 5), (2, 2), (1, 1), None),
    (256, (3, 3), (2, 2), (1, 1), None),
)
TABLE1_DROPOUT = 0.5
VGG_ALT_BLOCKS: tuple[tuple[int, tuple, tuple, tuple, tuple | None], ...] = (
    (8, (1, 1), (2, 2), (0, 0), None),
    (16, (3, 3), (2, 2), (1, 1), None),
    (32, (3, 3), (4, 4), (1, 1), (4, 4)),
    (64, (3, 3), (3, 3), (1, 1), None),
    (128, (3, 3), (3, 3), (1, 1), None),
    (256, (3, 3), (3, 3), (1, 1), None),
)
VGG_ALT_DROPOUT = 0.55
TRUNKS = {"table1": (TABLE1_BLOCKS, TABLE1_DROPOUT), "vgg_alt": (VGG_ALT_BLOCKS, VGG_ALT_DROPOUT)}
FC1_KINDS = ("bilinear", "concat")
FC_DROPOUT = 0.2

# Hierarchical system (spec §1.4): coarse id -> number of fine outputs (incl. its X tag) of the
# fine model M_F_i; coarse 3 and 8 have one fine tag each and copy M_C's coarse probability.
HIERARCHICAL_FINE_OUTPUTS = {1: 4, 2: 5, 4: 4, 5: 5, 6: 4, 7: 5}

# Keras layer name -> TF1 variable scope of the official checkpoint (vggish_slim.py).
VGGISH_CHECKPOINT_SCOPES: dict[str, str] = {
    "conv1": "vggish/conv1",
    "conv2": "vggish/conv2",
    "conv3_1": "vggish/conv3/conv3_1",
    "conv3_2": "vggish/conv3/conv3_2",
    "conv4_1": "vggish/conv4/conv4_1",
    "conv4_2": "vggish/conv4/conv4_2",
    "fc1_1": "vggish/fc1/fc1_1",
    "fc1_2": "vggish/fc1/fc1_2",
    "fc2": "vggish/fc2",
}


# --------------------------------------------------------------------------------------------
# numerics helpers (PyTorch defaults, as the authors trained in PyTorch)


def _torch_uniform(fan_in: int) -> keras.initializers.Initializer:
    # PyTorch's default Conv/Linear init reduces to U(±1/√fan_in) for weights and biases.
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def _torch_init(fan_in: int) -> dict[str, Any]:
    # A fresh instance per weight: an unseeded Keras 3 initializer repeats its draws.
    return {"kernel_initializer": _torch_uniform(fan_in),
            "bias_initializer": _torch_uniform(fan_in)}


def _batch_norm(name: str) -> layers.BatchNormalization:
    # PyTorch momentum 0.1 (weight of the new batch) ≙ Keras momentum 0.9; eps 1e-5.
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


# --------------------------------------------------------------------------------------------
# VGGish


def vggish(embedding_relu: bool = True, trainable: bool = False,
           name: str = "vggish") -> keras.Model:
    """VGGish: (96 frames, 64 mel bands) log-mel patch → 128-d embedding (spec §2.2).

    Initialisation as vggish_slim (weights N(0, 0.01) truncated, biases 0); real weights come
    from :mod:`reproductions.vggish_fusion.vggish_weights`.
    """
    def conv(filters: int, layer_name: str):
        return layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer_name,
                             kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.01))

    def pool(layer_name: str):
        return layers.MaxPooling2D(2, strides=2, padding="same", name=layer_name)

    def dense(units: int, layer_name: str, activation: str | None = "relu"):
        return layers.Dense(units, activation=activation, name=layer_name,
                            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.01))

    inputs = keras.Input(shape=(96, 64), name="input_features")
    x = layers.Reshape((96, 64, 1), name="add_channel")(inputs)
    x = pool("pool1")(conv(64, "conv1")(x))
    x = pool("pool2")(conv(128, "conv2")(x))
    x = pool("pool3")(conv(256, "conv3_2")(conv(256, "conv3_1")(x)))
    x = pool("pool4")(conv(512, "conv4_2")(conv(512, "conv4_1")(x)))
    # slim.flatten of NHWC is row-major (H, W, C), exactly Keras' channels-last Flatten.
    x = layers.Flatten(name="flatten")(x)
    x = dense(4096, "fc1_2")(dense(4096, "fc1_1")(x))
    x = dense(VGGISH_DIM, "fc2", "relu" if embedding_relu else None)(x)
    model = keras.Model(inputs, x, name=name)
    model.trainable = trainable
    return model


# --------------------------------------------------------------------------------------------
# spectrogram trunks


def scaled_filters(filters: int, width: float) -> int:
    """Channels of a conv block at channel multiplier ``width`` (1.0 = the report's; the smoke
    profile narrows every block by the same factor so the layer sequence stays)."""
    if width <= 0:
        raise ConfigError(f"width must be > 0, got {width}")
    return max(1, int(round(filters * width)))


def conv_blocks(x, blocks=TABLE1_BLOCKS, dropout: float = TABLE1_DROPOUT, prefix: str = "block",
                width: float = 1.0):
    """PyTorch ``ConvBlock``s on a channels-last (H=mel, W=time, C) tensor: [pad] → Conv
    ('valid') → BatchNorm → ReLU → [MaxPool k×k, stride k] → Dropout. ``width`` multiplies
    every block's output channels (1.0 = report Table 1)."""
    for index, (filters, kernel, stride, padding, pool) in enumerate(blocks, start=1):
        filters = scaled_filters(filters, width)
        p = f"{prefix}{index}"
        if any(padding):
            x = layers.ZeroPadding2D(((padding[0],) * 2, (padding[1],) * 2), name=f"{p}_pad")(x)
        fan_in = int(x.shape[-1]) * kernel[0] * kernel[1]
        x = layers.Conv2D(filters, kernel, strides=stride, padding="valid", name=f"{p}_conv",
                          **_torch_init(fan_in))(x)
        x = _batch_norm(f"{p}_bn")(x)
        x = layers.ReLU(name=f"{p}_relu")(x)
        if pool is not None:
            x = layers.MaxPooling2D(pool, strides=pool, padding="valid", name=f"{p}_pool")(x)
        x = layers.Dropout(dropout, name=f"{p}_drop")(x)
    return x


def _spectrogram_input(n_mels: int, n_frames: int):
    return keras.Input(shape=(n_mels, n_frames, 1), name="spectrogram")


def spectrogram_cnn(trunk: str = "table1", n_mels: int = N_MELS, n_frames: int = N_FRAMES,
                    width: float = 1.0, name: str = "spectrogram_cnn") -> keras.Model:
    """The conv trunk alone: spectrogram → flattened features (256 for the report's input)."""
    blocks, dropout = _trunk(trunk)
    inputs = _spectrogram_input(n_mels, n_frames)
    x = layers.Flatten(name="cnn_flatten")(conv_blocks(inputs, blocks, dropout, width=width))
    return keras.Model(inputs, x, name=name)


def _trunk(trunk: str):
    if trunk not in TRUNKS:
        raise ConfigError(f"trunk={trunk!r} is not one of {sorted(TRUNKS)}")
    return TRUNKS[trunk]


# --------------------------------------------------------------------------------------------
# fusion model


def fusion(n_outputs: int = 37, fc1: str = "bilinear", trunk: str = "table1",
           n_mels: int = N_MELS, n_frames: int = N_FRAMES, fc1_units: int = 512,
           fc2_units: int = 256, fc_dropout: float = FC_DROPOUT, width: float = 1.0,
           name: str = "fusion") -> keras.Model:
    """Spectrogram trunk + VGGish embeddings → fc1 → fc2 → ``fc_final`` logits (spec §1.2).

    Inputs: ``spectrogram`` (n_mels, n_frames, 1) and ``vggish`` (10, 128) postprocessed
    embeddings (flattened frame-major to 1280, as PyTorch's ``view``). ``width`` narrows the
    trunk's channels (smoke profile only); ``fc1_units`` is the bilinear rank.
    """
    if fc1 not in FC1_KINDS:
        raise ConfigError(f"fc1={fc1!r} is not one of {FC1_KINDS}")
    if int(n_outputs) < 1:
        raise ConfigError(f"n_outputs must be ≥ 1, got {n_outputs}")
    blocks, dropout = _trunk(trunk)
    spec_in = _spectrogram_input(n_mels, n_frames)
    vgg_in = keras.Input(shape=(VGGISH_FRAMES, VGGISH_DIM), name="vggish")
    x = layers.Flatten(name="cnn_flatten")(conv_blocks(spec_in, blocks, dropout, width=width))
    v = layers.Flatten(name="vggish_flatten")(vgg_in)
    logits = _head(x, v, n_outputs, fc1, fc1_units, fc2_units, fc_dropout)
    return keras.Model([spec_in, vgg_in], logits, name=name)


def fusion_head(n_outputs: int = 37, fc1: str = "bilinear", cnn_dim: int = 256,
                fc1_units: int = 512, fc2_units: int = 256, fc_dropout: float = FC_DROPOUT,
                name: str = "fusion_head") -> keras.Model:
    """The fusion head alone (report Table 2): flattened CNN vector (``cnn_dim``) and flattened
    VGGish embeddings (1280) → logits; used to time the bilinear training step."""
    if fc1 not in FC1_KINDS:
        raise ConfigError(f"fc1={fc1!r} is not one of {FC1_KINDS}")
    x = keras.Input(shape=(cnn_dim,), name="cnn_vector")
    v = keras.Input(shape=(VGGISH_FRAMES * VGGISH_DIM,), name="vggish_vector")
    return keras.Model([x, v], _head(x, v, n_outputs, fc1, fc1_units, fc2_units, fc_dropout),
                       name=name)


def _head(x, v, n_outputs, fc1, fc1_units, fc2_units, fc_dropout):
    if fc1 == "bilinear":
        x = Bilinear(fc1_units, name="fc1")([x, v])
    else:
        x = layers.Concatenate(name="fusion_concat")([x, v])
        x = layers.Dense(fc1_units, name="fc1", **_torch_init(int(x.shape[-1])))(x)
    x = _batch_norm("fc1_bn")(x)
    x = layers.ReLU(name="fc1_relu")(x)
    x = layers.Dropout(fc_dropout, name="fc1_drop")(x)
    x = layers.Dense(fc2_units, name="fc2", **_torch_init(fc1_units))(x)
    x = _batch_norm("fc2_bn")(x)
    x = layers.ReLU(name="fc2_relu")(x)
    x = layers.Dropout(fc_dropout, name="fc2_drop")(x)
    return layers.Dense(int(n_outputs), name="fc_final", **_torch_init(fc2_units))(x)


# --------------------------------------------------------------------------------------------
# official baseline


def baseline(label_mode: str = "fine", hidden_layers: int = 0, hidden_units: int = 128,
             l2: float = 1e-5, name: str = "baseline") -> keras.Model:
    """Official DCASE2019 Task 5 baseline classifier (framewise MLP on one VGGish frame).

    Defaults are ``classify.py``'s: no hidden layer, i.e. logistic regression; the baseline
    standardises the embeddings and averages frame predictions over the clip outside the model.
    """
    if label_mode not in BASELINE_OUTPUTS:
        raise ConfigError(f"label_mode={label_mode!r} is not one of {sorted(BASELINE_OUTPUTS)}")
    reg = keras.regularizers.L2(l2)
    inputs = keras.Input(shape=(VGGISH_DIM,), name="input")
    x = inputs
    for index in range(1, hidden_layers + 1):
        x = layers.Dense(hidden_units, activation="relu", kernel_regularizer=reg,
                         name=f"dense{index}")(x)
    outputs = layers.Dense(BASELINE_OUTPUTS[label_mode], activation="sigmoid",
                           kernel_regularizer=reg, name="output")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------------------------
# report Tables 1 and 2 from a built model


def conv_block_table(model: keras.Model, prefix: str = "block") -> list[dict[str, Any]]:
    """Report Table 1 read from the layers: one row per conv block."""
    rows = []
    index = 1
    while True:
        try:
            conv = model.get_layer(f"{prefix}{index}_conv")
        except ValueError:
            break
        p = f"{prefix}{index}"
        pad = _optional_layer(model, f"{p}_pad")
        pool = _optional_layer(model, f"{p}_pool")
        drop = _optional_layer(model, f"{p}_drop")
        padding = (0, 0) if pad is None else tuple(int(side[0]) for side in pad.padding)
        rows.append({
            "block": index,
            "in_channels": int(conv.input.shape[-1]),
            "out_channels": int(conv.filters),
            "kernel": tuple(int(k) for k in conv.kernel_size),
            "stride": tuple(int(s) for s in conv.strides),
            "padding": padding,
            "batch_norm": _optional_layer(model, f"{p}_bn") is not None,
            "max_pool": None if pool is None else tuple(int(k) for k in pool.pool_size),
            "dropout": None if drop is None else float(drop.rate),
            "output_shape": tuple(int(d) for d in (drop or pool or conv).output.shape[1:]),
        })
        index += 1
    return rows


def fc_table(model: keras.Model) -> list[dict[str, Any]]:
    """Report Table 2 read from the layers: fc1, fc2, fc_final."""
    rows = []
    for name in ("fc1", "fc2", "fc_final"):
        layer = _optional_layer(model, name)
        if layer is None:
            continue
        if isinstance(layer, Bilinear):
            kind = "Bilinear"
            in_channels: Any = (int(layer.in1), int(layer.in2))
            out = int(layer.units)
        else:
            kind = "Linear"
            in_channels = int(layer.kernel.shape[0])
            out = int(layer.units)
        drop = _optional_layer(model, f"{name}_drop")
        rows.append({
            "layer": kind,
            "name": name,
            "in_channels": in_channels,
            "out_channels": out,
            "batch_norm": _optional_layer(model, f"{name}_bn") is not None,
            "dropout": None if drop is None else float(drop.rate),
        })
    return rows


def architecture_table(model: keras.Model) -> list[dict[str, Any]]:
    """Tables 1 and 2 together: conv-block rows (``"kind": "conv_block"``), then fully
    connected rows (``"kind": "fc"``)."""
    return ([{"kind": "conv_block", **row} for row in conv_block_table(model)]
            + [{"kind": "fc", **row} for row in fc_table(model)])


def _optional_layer(model: keras.Model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# registry


def _variant(builder: Callable[..., keras.Model], trainable: int | None, source: str,
             note: str = "", frozen: int = 0, **kwargs: Any) -> dict[str, Any]:
    """``expected_trainable_params``: PyTorch ``parameters()``-equivalent count;
    ``expected_frozen_params``: frozen weights that are not BatchNorm statistics (VGGish)."""
    return {"builder": builder, "kwargs": kwargs, "expected_trainable_params": trainable,
            "expected_frozen_params": frozen, "source": source, "note": note}


# 5 fine outputs: the spec's 4-output count plus one more fc_final row (256 weights + 1 bias).
_VGG_ALT_COUNTS = {4: 168_300_916, 5: 168_300_916 + 257}


def _build_registry() -> dict[str, dict[str, Any]]:
    reg: dict[str, dict[str, Any]] = {
        "vggish": _variant(vggish, 0, "vggish_slim.py", "frozen; 72,141,184 weights (spec §1.3)",
                           frozen=72_141_184),
        "spectrogram_cnn": _variant(spectrogram_cnn, 1_602_160, "code AudioCNN conv blocks",
                                    "report Table 1"),
        "fusion_bilinear_all": _variant(fusion, 169_517_205, "code train.py",
                                        "37 outputs; report Table 2", n_outputs=37),
        "fusion_bilinear_fine": _variant(fusion, 169_515_149, "code train.py",
                                         "29 fine outputs", n_outputs=29),
        "fusion_bilinear_coarse": _variant(fusion, 169_509_752, "code train.py",
                                           "8 coarse outputs", n_outputs=8),
        "fusion_concat_all": _variant(fusion, 2_531_477, "report text",
                                      "1536-d concatenation → Linear 512 (spec §1.5 item 1)",
                                      n_outputs=37, fc1="concat"),
        "baseline_fine": _variant(baseline, 128 * 23 + 23, "baseline classify.py",
                                  "23 complete fine tags; count by hand (not in spec)",
                                  label_mode="fine"),
        "baseline_coarse": _variant(baseline, 128 * 8 + 8, "baseline classify.py",
                                    "count by hand (not in spec)", label_mode="coarse"),
    }
    for coarse_id, n_out in HIERARCHICAL_FINE_OUTPUTS.items():
        reg[f"hierarchical_fine_{coarse_id}"] = _variant(
            fusion, _VGG_ALT_COUNTS[n_out], "code VGG_alt (20190711 branch script)",
            f"fine model M_F{coarse_id}, {n_out} outputs (spec §1.4)",
            n_outputs=n_out, trunk="vgg_alt")
    return reg


MODEL_VARIANTS: dict[str, dict[str, Any]] = _build_registry()


def build(name: str, **overrides: Any) -> keras.Model:
    """Build registry variant ``name``; ``overrides`` replace the registered keyword arguments
    (unknown keys are an error naming the accepted ones)."""
    return build_variant(MODEL_VARIANTS, name, overrides)
