import numpy as np
import pytest

from common.schedules import SGDRConfig, sgdr_lr
from common.training import TrainingInterrupted, fit, seed_everything


def _model():
    import keras
    seed_everything(3)
    # dropout makes the resume test cover the random-generator state, not only the weights
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dropout(0.3), keras.layers.Dense(3, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.8)
    return x, y


def _fit(m, data, state, **kw):
    x, y = data
    return fit(m, x, y, epochs=5, batch_size=64, seed=0, state_dir=state,
               lr_fn=lambda s: sgdr_lr(s, 4, SGDRConfig()), validation=(x[:40], y[:40]),
               monitor="val_accuracy", patience=20, progress=False, **kw)


def test_same_seed_identical_and_interrupted_run_resumes_identically(tmp_path, data):
    m1 = _model()
    r1 = _fit(m1, data, tmp_path / "a")
    m2 = _model()
    with pytest.raises(TrainingInterrupted):
        _fit(m2, data, tmp_path / "b", interrupt_after=2)
    m3 = _model()  # a new process would start from fresh weights
    r3 = _fit(m3, data, tmp_path / "b")
    assert r3.resumed_from_epoch == 2
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r3.history]
    for a, b in zip(m1.get_weights(), m3.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "b" / "log.csv").read_text().count("\n") == 6


def test_learning_rate_follows_schedule(tmp_path, data):
    r = _fit(_model(), data, tmp_path / "c")
    # lr logged at the end of epoch 1 = the schedule at its last batch (4 batches per epoch)
    assert r.history[0]["lr"] == pytest.approx(sgdr_lr(3, 4, SGDRConfig()), rel=1e-5)


def test_early_stopping_restores_best(tmp_path, data):
    """Learn for two epochs, then wreck the weights with a huge learning rate: training must
    stop after `patience` epochs without improvement and end holding the best epoch's
    weights, not the wrecked last ones."""
    x, y = data
    m = _model()
    steps_per_epoch = 4  # 200 samples / batch 64
    r = fit(m, x, y, epochs=30, batch_size=64, seed=0, state_dir=tmp_path / "d",
            lr_fn=lambda s: 0.05 if s < 2 * steps_per_epoch else 500.0,
            validation=(x[:40], y[:40]), monitor="val_loss", mode="min", patience=2,
            progress=False)
    losses = [h["val_loss"] for h in r.history]
    best = int(np.argmin(losses))
    assert r.stopped_early and r.epochs_run == best + 1 + 2 and r.best_epoch == best + 1
    assert losses[-1] > 10 * losses[best]  # the last epoch really was worse
    restored_loss, _ = m.evaluate(x[:40], y[:40], verbose=0)
    assert restored_loss == pytest.approx(losses[best], rel=1e-5)
