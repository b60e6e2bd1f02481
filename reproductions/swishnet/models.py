"""SwishNet in Keras 3 (functional API): the reference code and the paper's form.

Both variants share one topology (spec §1.2): eleven causal *gated convolutions* (a sigmoid
branch times a tanh branch, F filters in, F/2 maps out) in eight blocks, residual additions
in blocks 3-6, and a head that concatenates loop2, loop3, forward and loop4 (40·w maps),
maps them to ``classes`` scores and averages over time before the softmax.

``variant="reference"`` -- i7p9h9/swishnet HEAD 5f2bd99, which the seed report (004) ran with
    standalone Keras 2 on TF 1.15 (its own tf.keras copy, used for training, differs only
    in passing the activations inside Conv1D):
    each gated conv is two *independent* causal ``Conv1D(F/2)`` layers (sigmoid, tanh); the
    argument the code calls ``strides`` is used as the **dilation rate** (3, 2, 2, 2, 2 in
    blocks 4-8) so that every layer keeps the input length T and the residual additions
    match; plain ``Conv1D`` for the length-6 branches; no BatchNorm.

``variant="paper"`` -- Hussain & Haque (arXiv 1812.00149), Fig. 1, as far as public text
    allows: the length-6 branches are depthwise-separable, a ``BatchNormalization`` follows
    every gate, and blocks 4-8 use real strides (``temporal="stride"``, the default here).

Parameter counts (``model.count_params()``: trainable + non-trainable, as Keras' "Total
params" and :mod:`common.complexity` count them; T does not matter, the net is fully
convolutional):

=================  =======  ===========================================================
variant, width     classes  total params (trainable)
=================  =======  ===========================================================
reference, w=1     3        7,195   (the paper's Table I says 5,483 for SwishNet-slim)
reference, w=1     2        7,154   (printed in the seed's Q1 notebooks)
reference, w=2     3        22,451
paper, w=1         3        5,483   (5,323): equals Table I
paper, w=2         3        16,867  (16,547): Table I says 18,267 -- no public hypothesis
                                    reproduces both published counts (spec §1.3)
=================  =======  ===========================================================

How the paper variant reaches 5,483 (spec §1.3, worked out and checked in the tests):
a separable length-6 branch replaces the k·Cin·F/2 kernel of each half-width conv by a
depthwise k·Cin plus a pointwise Cin·F/2 kernel; over blocks 1b, 2b, 3b this saves
1,360 + 448 + 224 = 2,032 weights (7,195 -> 5,163). BatchNormalization after each gate holds
4 weights (γ, β, moving mean, moving variance) per gated map, 4·F/2 = 2F per gated conv;
ΣF over the eleven gated convs is 160·w, so +320 -> 5,483 (w=2: 16,227 + 640 = 16,867).
Two other placements give the *same* numbers and cannot be told apart by counts: BN with
γ, β on each conv output before the gate counting trainable weights only, or
``BatchNormalization(scale=False)`` after bias-free convs. We place BN after the gate
(standard Keras BN, so "Total params" is the published number); this is a hypothesis.

Strides vs dilation (``temporal``):

``"dilation"`` -- stride 1, dilation (3, 2, 2, 2, 2): length T everywhere (reference code).
``"stride"`` -- causal convs with strides (3, 2, 2, 2, 2). A residual input is brought to
    the conv's output grid by ``AveragePooling1D(pool_size=1, strides=s)``, i.e. x[:, ::s]:
    output step i of a causal strided conv ends exactly at input step i·s, so the kept
    sample is the newest one the conv saw (no look-ahead, no weights). loop2, loop3, forward
    and loop4 then have ⌈T/6⌉, ⌈T/12⌉, ⌈T/24⌉, ⌈T/24⌉ steps, so the head averages each
    over time, concatenates and applies ``Dense(classes)``: the same linear map, with the
    same 40·w·C + C weights, as the reference head's 1x1 conv followed by the time average
    (the two commute when the lengths agree). Any T >= 1 works. Where the paper puts the
    skip path's subsampling is not stated; the parameter count does not depend on it.

Keras' ``SeparableConv1D`` has no ``padding="causal"``; the separable branches pad the past
explicitly (``ZeroPadding1D``, layer ``*_causal_pad``) and convolve with ``"valid"``.

Initialisation (``init``): Glorot-uniform kernels, zero biases, BN γ=1, β=0, as in the Keras 2
code. ``"keras3"`` (default) uses Keras 3's initialiser: ``seed=None`` draws from Keras' global
RNG (repeatable after ``keras.utils.set_random_seed``), an integer ``seed`` gives each kernel
its own derived seed without touching global state. ``"keras2"`` repeats the draws of
standalone Keras 2.x on TF 1.x (:class:`Keras2GlorotUniform`); that is how the seed's
Question-1 numbers came about, and they come out again (:func:`question1_prediction`).
"""
from __future__ import annotations

import functools

from typing import Optional

import keras
import numpy as np
from keras import layers

from common.complexity import ModelVariant
from common.errors import ConfigError

VARIANTS = ("reference", "paper")
TEMPORAL_MODES = ("dilation", "stride")
DEFAULT_TEMPORAL = {"reference": "dilation", "paper": "stride"}

# Blocks 4-8: the per-layer rate the code calls "strides" (paper: real strides).
_BLOCK_RATES = {"block4": 3, "block5": 2, "block6": 2, "block7": 2, "block8": 2}

# The four networks of the complexity table (paper Table I has slim and wide; the reference
# code builds both widths too). Values are keyword arguments of build_swishnet.
TABLE_I_VARIANTS: dict[str, dict] = {
    "reference-slim": {"variant": "reference", "width": 1},
    "reference-wide": {"variant": "reference", "width": 2},
    "paper-slim": {"variant": "paper", "width": 1},
    "paper-wide": {"variant": "paper", "width": 2},
}

# Report 004, Question 1: the sanity check both implementations were run through.
Q1_SEED = 2021
Q1_INPUT_SHAPE = (16, 20)
Q1_CLASSES = 2
Q1_BATCH = 2


# TF 1.x used this graph-level seed for an op whose own seed was set while the graph's was not
# (tensorflow/python/framework/random_seed.py, DEFAULT_GRAPH_SEED).
TF1_DEFAULT_GRAPH_SEED = 87654321
# Standalone Keras 2.x drew a missing op seed as np.random.randint(10e6).
KERAS2_OP_SEED_HIGH = 10_000_000

INITS = ("keras3", "keras2")


def _keras2_fans(shape: tuple) -> tuple[float, float]:
    """Fan-in/fan-out as Keras 2.x ``initializers._compute_fans`` computed them."""
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    if len(shape) in (3, 4, 5):
        receptive_field = float(np.prod(shape[:-2]))
        return shape[-2] * receptive_field, shape[-1] * receptive_field
    side = float(np.sqrt(np.prod(shape)))
    return side, side


@keras.saving.register_keras_serializable(package="swishnet")
class Keras2GlorotUniform(keras.initializers.Initializer):
    """Glorot-uniform drawn exactly as standalone Keras 2.x on a TF 1.x backend drew it.

    Keras 2's ``K.random_uniform`` replaced a missing seed by ``np.random.randint(10e6)``
    (numpy's *global* legacy RNG, hence ``np.random.seed`` made Keras 2 initialisation
    repeatable) and called ``tf.random_uniform``, i.e. TF's Philox ``RandomUniform`` kernel
    with seeds (87654321, op seed), scaled as ``u * (hi - lo) + lo`` in float32.
    Each draw runs in a fresh one-op graph: an eager ``RandomUniform`` kernel is cached per
    seed pair and would continue its stream on a second call with the same seeds.
    ``rng``: a ``np.random.RandomState`` for the op seeds; None = numpy's global RNG.
    """

    def __init__(self, rng: Optional[np.random.RandomState] = None):
        self._rng = rng

    def __call__(self, shape, dtype=None):
        import tensorflow as tf

        fan_in, fan_out = _keras2_fans(tuple(shape))
        limit = np.sqrt(3.0 / max(1.0, (fan_in + fan_out) / 2.0))
        op_seed = (self._rng if self._rng is not None else np.random).randint(KERAS2_OP_SEED_HIGH)
        graph = tf.Graph()
        with graph.as_default():
            unit = tf.raw_ops.RandomUniform(shape=tf.constant(list(shape), tf.int32),
                                            dtype=tf.float32, seed=TF1_DEFAULT_GRAPH_SEED,
                                            seed2=int(op_seed))
            lo = tf.constant(-limit, tf.float32)
            hi = tf.constant(limit, tf.float32)
            values = unit * (hi - lo) + lo
        with tf.compat.v1.Session(graph=graph) as session:
            out = session.run(values)
        return keras.ops.convert_to_tensor(out, dtype=dtype or "float32")

    def get_config(self) -> dict:
        # The RNG is a build-time device only; a reloaded model takes its weights from file.
        return {}


class _Initialisers:
    """Kernel initialisers in layer-build order.

    ``init="keras3"``: Keras 3 Glorot-uniform; ``seed=None`` leaves the seed to Keras' global
    RNG, an integer gives each kernel the seed ``seed * 1000 + i``.
    ``init="keras2"``: :class:`Keras2GlorotUniform`; ``seed=None`` draws op seeds from numpy's
    global RNG (as Keras 2 did), an integer from a private ``RandomState(seed)``.
    """

    def __init__(self, init: str, seed: Optional[int]):
        self._init = init
        self._seed = seed
        self._count = 0
        self._rng = np.random.RandomState(seed) if (init == "keras2" and seed is not None) else None

    def __call__(self) -> keras.initializers.Initializer | str:
        if self._init == "keras2":
            return Keras2GlorotUniform(self._rng)
        if self._seed is None:
            return "glorot_uniform"
        self._count += 1
        return keras.initializers.GlorotUniform(seed=self._seed * 1000 + self._count)


def _gated_conv(x, *, name: str, filters: int, kernel_size: int, rate: int, temporal: str,
                separable: bool, batchnorm: bool, init: _Initialisers):
    """Causal gated conv: sigmoid(conv_a(x)) * tanh(conv_b(x)), F/2 maps each; optional BN."""
    half = filters // 2
    strides, dilation = (rate, 1) if temporal == "stride" else (1, rate)
    if separable:
        # Pad only the past, so output step t never sees input after t (causality).
        source = layers.ZeroPadding1D(((kernel_size - 1) * dilation, 0),
                                      name=f"{name}_causal_pad")(x)

        def branch(gate: str):
            return layers.SeparableConv1D(
                half, kernel_size, strides=strides, dilation_rate=dilation, padding="valid",
                depthwise_initializer=init(), pointwise_initializer=init(),
                name=f"{name}_sepconv_{gate}")(source)
    else:
        def branch(gate: str):
            return layers.Conv1D(
                half, kernel_size, strides=strides, dilation_rate=dilation, padding="causal",
                kernel_initializer=init(), name=f"{name}_conv_{gate}")(x)

    sig = layers.Activation("sigmoid", name=f"{name}_gate_sigmoid")(branch("sigmoid"))
    tanh = layers.Activation("tanh", name=f"{name}_gate_tanh")(branch("tanh"))
    out = layers.Multiply(name=f"{name}_gate")([sig, tanh])
    if batchnorm:
        out = layers.BatchNormalization(name=f"{name}_bn")(out)
    return out


def _residual(x, branch_out, *, name: str, rate: int, temporal: str):
    """x + branch_out, with x subsampled onto the branch's time grid when strided."""
    if temporal == "stride" and rate > 1:
        x = layers.AveragePooling1D(pool_size=1, strides=rate, padding="valid",
                                    name=f"{name}_skip_subsample")(x)
    return layers.Add(name=f"{name}_add")([x, branch_out])


def build_swishnet(input_shape: tuple = (None, 20), classes: int = 3, width: int = 1,
                   variant: str = "reference", name: Optional[str] = None, *,
                   temporal: Optional[str] = None, seed: Optional[int] = None,
                   init: str = "keras3") -> keras.Model:
    """SwishNet mapping (T, n_features) MFCC frames to softmax probabilities over ``classes``.

    ``width`` multiplies every filter count (1 = SwishNet-slim, 2 = SwishNet-wide).
    ``variant``: "reference" (i7p9h9 code, used by the seed) or "paper" (separable length-6
    branches + BatchNorm); ``temporal``: "dilation" or "stride" (default: "dilation" for the
    reference, "stride" for the paper); see the module docstring for both choices.
    ``init``/``seed``: kernel initialisation, see :class:`_Initialisers` ("keras2" re-creates
    the draws of the Keras 2.x code the seed ran; all biases start at zero either way).
    """
    if variant not in VARIANTS:
        raise ConfigError(f"build_swishnet: variant={variant!r}, choose one of {VARIANTS}")
    temporal = DEFAULT_TEMPORAL[variant] if temporal is None else temporal
    if temporal not in TEMPORAL_MODES:
        raise ConfigError(f"build_swishnet: temporal={temporal!r}, choose one of {TEMPORAL_MODES}")
    if not (isinstance(width, int) and width >= 1):
        raise ConfigError(f"build_swishnet: width={width!r} must be an integer >= 1")
    if not (isinstance(classes, int) and classes >= 2):
        raise ConfigError(f"build_swishnet: classes={classes!r} must be an integer >= 2")
    if init not in INITS:
        raise ConfigError(f"build_swishnet: init={init!r}, choose one of {INITS}")
    if len(input_shape) != 2:
        raise ConfigError(f"build_swishnet: input_shape={input_shape!r} must be (frames, features)")

    paper = variant == "paper"
    init_for = _Initialisers(init, seed)

    def gated(x, block: str, filters: int, kernel_size: int, rate: int = 1):
        return _gated_conv(x, name=block, filters=filters * width, kernel_size=kernel_size,
                           rate=rate, temporal=temporal, separable=paper and kernel_size == 6,
                           batchnorm=paper, init=init_for)

    inputs = keras.Input(shape=tuple(input_shape), name="mfcc")

    # Blocks 1-3: a length-3 and a length-6 branch side by side.
    x = layers.Concatenate(name="block1_concat")(
        [gated(inputs, "block1a", 16, 3), gated(inputs, "block1b", 16, 6)])
    x = layers.Concatenate(name="block2_concat")(
        [gated(x, "block2a", 8, 3), gated(x, "block2b", 8, 6)])
    block3 = layers.Concatenate(name="block3_concat")(
        [gated(x, "block3a", 8, 3), gated(x, "block3b", 8, 6)])
    x = layers.Add(name="block3_add")([x, block3])

    # Blocks 4-6 residual; 7 (forward) and 8 (loop4) both read x after block 6.
    loop1 = gated(x, "block4", 16, 3, _BLOCK_RATES["block4"])
    x = _residual(x, loop1, name="block4", rate=_BLOCK_RATES["block4"], temporal=temporal)
    loop2 = gated(x, "block5", 16, 3, _BLOCK_RATES["block5"])
    x = _residual(x, loop2, name="block5", rate=_BLOCK_RATES["block5"], temporal=temporal)
    loop3 = gated(x, "block6", 16, 3, _BLOCK_RATES["block6"])
    x = _residual(x, loop3, name="block6", rate=_BLOCK_RATES["block6"], temporal=temporal)
    forward = gated(x, "block7", 16, 3, _BLOCK_RATES["block7"])
    loop4 = gated(x, "block8", 32, 3, _BLOCK_RATES["block8"])

    branches = {"block5": loop2, "block6": loop3, "block7": forward, "block8": loop4}
    if temporal == "dilation":
        h = layers.Concatenate(name="head_concat")(list(branches.values()))
        h = layers.Conv1D(classes, 1, kernel_initializer=init_for(), name="head_conv")(h)
        h = layers.GlobalAveragePooling1D(name="head_pool")(h)
    else:
        pooled = [layers.GlobalAveragePooling1D(name=f"head_pool_{block}")(t)
                  for block, t in branches.items()]
        h = layers.Concatenate(name="head_concat")(pooled)
        h = layers.Dense(classes, kernel_initializer=init_for(), name="head_dense")(h)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(h)

    if name is None:
        size = {1: "slim", 2: "wide"}.get(width, f"w{width}")
        name = f"swishnet_{variant}_{size}"
    return keras.Model(inputs, outputs, name=name)


def build_table_i_variant(key: str, input_shape: tuple = (None, 20), classes: int = 3,
                          **overrides) -> keras.Model:
    """Build one of :data:`TABLE_I_VARIANTS` by key (e.g. "paper-wide")."""
    if key not in TABLE_I_VARIANTS:
        raise ConfigError(f"TABLE_I_VARIANTS has no {key!r}; "
                          f"choose one of {sorted(TABLE_I_VARIANTS)}")
    kwargs = {**TABLE_I_VARIANTS[key], **overrides}
    return build_swishnet(input_shape=input_shape, classes=classes,
                          name=f"swishnet_{key.replace('-', '_')}", **kwargs)


# 2 s clips with the report's 15 ms hop: 133 frames of 20 MFCCs (complexity tables)
COMPLEXITY_INPUT = (133, 20)


def _variants() -> dict[str, ModelVariant]:
    def at(key: str, classes: int = 3):
        return functools.partial(build_table_i_variant, key, input_shape=COMPLEXITY_INPUT,
                                 classes=classes)
    # Expected trainable counts: spec swishnet.md §1.3, verified there against the reference
    # code (7,195 / 7,154 / 22,451) and paper Table I (5,483). The paper's wide count (18,267)
    # is not reproduced by any reading, so no count is expected of "paper-wide".
    # Counts are Keras "Total params" (BatchNorm moving statistics included), as the paper's
    # Table I and the report's Keras 2 summaries count them.
    return {
        "reference-slim": ModelVariant(at("reference-slim"), 7_195,
                                       "reference code (i7p9h9), 3 classes: what the report "
                                       "trained", "all"),
        "reference-slim-2class": ModelVariant(at("reference-slim", 2), 7_154,
                                              "reference code, 2 classes (Question 1)", "all"),
        "reference-wide": ModelVariant(at("reference-wide"), 22_451, "reference code, width 2",
                                       "all"),
        "paper-slim": ModelVariant(at("paper-slim"), 5_483,
                                   "paper Table I form; BatchNorm placement read to give 5,483",
                                   "all"),
        "paper-wide": ModelVariant(at("paper-wide"), None,
                                   "paper Table I form, width 2 (paper: 18,267; ours 16,867)",
                                   "all"),
    }


MODEL_VARIANTS: dict[str, ModelVariant] = _variants()


def question1_prediction(variant: str = "reference", seed_keras: bool = False,
                         init: str = "keras2") -> np.ndarray:
    """Report 004's Question-1 check, run as the report ran it; returns (2, 2) probabilities.

    Procedure (report text): ``np.random.seed(2021)``; build the net with input (16, 20) and
    2 classes; ``predict(np.random.randn(2, 16, 20))``.

    ``init="keras2"`` (default) re-creates the report's run. The Keras notebook prints "Using
    TensorFlow backend." and the prediction cells of both Q1 notebooks carry a warning from
    ``keras/backend/tensorflow_backend.py``: standalone Keras 2.x on TF 1.15, whose
    initialisers took their op seeds from
    numpy's global RNG (:class:`Keras2GlorotUniform`). So ``np.random.seed`` did fix the
    weights: 23 kernels draw 23 op seeds in build order, then ``randn`` draws the input.
    With TF's Philox kernel, which TF 2.21 still ships, this gives the published
    [[0.4833677, 0.51663226], [0.47845703, 0.5215429]] for the reference variant.

    ``init="keras3"`` runs the same three lines with Keras 3's own initialisers. These take
    their seeds from Python's ``random`` module, which ``np.random.seed`` does not touch, so
    the weights and output change from process to process, and the input batch is not the
    report's either: nothing draws from numpy before ``randn``. ``seed_keras=True`` also
    calls ``keras.utils.set_random_seed(2021)`` (Python, numpy, TF and Keras' global seed
    generator) before the build. The output is then repeatable across calls and processes,
    but it is a Keras 3 draw, not Keras 2's, so it does not equal the published numbers.
    """
    if init not in INITS:
        raise ConfigError(f"question1_prediction: init={init!r}, choose one of {INITS}")
    np.random.seed(Q1_SEED)
    if seed_keras:
        keras.utils.set_random_seed(Q1_SEED)
    net = build_swishnet(input_shape=Q1_INPUT_SHAPE, classes=Q1_CLASSES, variant=variant,
                         init=init)
    batch = np.random.randn(Q1_BATCH, *Q1_INPUT_SHAPE)
    # A direct call, not predict(): same kernels, but no tf.function retraced per build.
    return keras.ops.convert_to_numpy(net(batch, training=False))
