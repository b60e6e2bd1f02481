"""Subprocess body of tests/test_distribute.py: splits the CPU into 2 logical devices (which
must happen before TensorFlow initialises its devices, so it needs a fresh process), trains the
same small model on the default path and mirrored over the two devices, and writes what the
test asserts on as JSON to ``argv[1]``."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import distribute
from common.errors import ReproError
from common.schedules import SGDRConfig, sgdr_lr
from common.training import TrainingInterrupted, fit, seed_everything

GLOBAL_BATCH = 64
N = 256  # 4 full global batches: every batch splits 32/32 over the replicas
EPOCHS = 4


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 6)).astype("float32")
    y = ((x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.8)).astype("int32")
    return x, y


def model(strategy):
    import keras
    seed_everything(3)
    with distribute.scope(strategy):
        m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
        m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return m


def train(strategy, per_replica: int, state: Path, **kw):
    x, y = data()
    m = model(strategy)
    steps = int(np.ceil(N / distribute.global_batch(per_replica, strategy)))
    sgdr = SGDRConfig(min_lr=1e-4, max_lr=1e-2, first_cycle_epochs=2)
    res = fit(m, x, y, epochs=EPOCHS, batch_size=per_replica, seed=0, state_dir=state,
              lr_fn=lambda s: sgdr_lr(s, steps, sgdr), validation=(x[:64], y[:64]),
              monitor="val_accuracy", patience=10, progress=False, strategy=strategy, **kw)
    return m, res


def main(out: str) -> None:
    import tensorflow as tf
    distribute.split_cpu(2)
    # one thread per op: less overhead on a small, shared CI machine; numbers do not depend on it
    tf.config.threading.set_intra_op_parallelism_threads(1)
    mirrored = distribute.make_strategy("mirrored")
    report: dict = {"replicas": distribute.replicas(mirrored),
                    "global_batch": distribute.global_batch(32, mirrored),
                    "same_object": distribute.make_strategy("mirrored") is mirrored}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        m_def, r_def = train(None, GLOBAL_BATCH, d / "default")
        report["history_default"] = r_def.history
        # the mirrored run is interrupted after 2 epochs and resumed by a fresh model, so one
        # comparison with the default path covers training AND checkpoint/resume under the
        # strategy (a lost optimizer or weight state would be far outside the test's tolerance)
        try:
            train(mirrored, GLOBAL_BATCH // 2, d / "mirrored", interrupt_after=2)
            report["interrupted"] = False
        except TrainingInterrupted:
            report["interrupted"] = True
        try:  # the same checkpoint with another global batch (1 replica × 32) must refuse
            train(None, GLOBAL_BATCH // 2, d / "mirrored")
            report["mismatch_error"] = None
        except ReproError as exc:
            report["mismatch_error"] = str(exc)
        m_mir, r_mir = train(mirrored, GLOBAL_BATCH // 2, d / "mirrored")
        report["resumed_from_epoch"] = r_mir.resumed_from_epoch
        report["history_mirrored"] = r_mir.history
        report["max_weight_diff"] = max(float(np.abs(a - b).max()) for a, b in
                                        zip(m_def.get_weights(), m_mir.get_weights()))
        # negative control for the test's tolerance: a global batch of 128 (what per-replica 64
        # on 2 replicas would give) is a different experiment; the default path shows it cheaply
        _, r_big = train(None, 2 * GLOBAL_BATCH, d / "global128")
        report["history_global128"] = r_big.history
        try:  # a model built outside the strategy's scope is refused
            x, y = data()
            fit(model(None), x, y, epochs=1, batch_size=32, seed=0, state_dir=d / "noscope",
                progress=False, strategy=mirrored)
            report["scope_error"] = None
        except ReproError as exc:
            report["scope_error"] = str(exc)
    Path(out).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
