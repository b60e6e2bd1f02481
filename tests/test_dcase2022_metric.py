"""DCASE 2022 Task 1 metric (spec §4): hand-worked log-loss cases, the pre-1.2 scikit-learn
rule against the current one, per-device figures, accuracy against sed_eval, and the
``repro evaluate tau22`` task with its error messages."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss as sklearn_log_loss

from common import evaluation
from common.errors import ConfigError, PredictionFileError
from common.evaluation import tau22
from common.metrics.dcase2022_asc import (
    SCENE_LABELS,
    dcase2022_asc_metrics,
    device_from_filename,
    legacy_log_loss,
)

LN2, LN4, LN08 = math.log(2), math.log(4), -math.log(0.8)


def current_sklearn(y_true, proba, n_classes):
    """scikit-learn as installed (≥ 1.2: no renormalisation; it only warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return sklearn_log_loss(y_true, y_proba=proba, labels=list(range(n_classes)))
        except TypeError:  # scikit-learn < 1.9 names the argument y_pred
            return sklearn_log_loss(y_true, proba, labels=list(range(n_classes)))


# ------------------------------------------------------------------------------- log loss


def test_hand_worked_log_loss():
    assert legacy_log_loss([0], [[0.5, 0.25, 0.25]]) == pytest.approx(LN2, rel=1e-12)
    # A zero on the true class is clipped to 1e-15, the row renormalised by 1 + 1e-15.
    assert legacy_log_loss([0], [[0.0, 1.0, 0.0]]) == pytest.approx(
        -math.log(1e-15) + math.log(1 + 1e-15), rel=1e-12)
    # Mean over items.
    assert legacy_log_loss([0, 1], [[0.5, 0.25, 0.25], [0.2, 0.8, 0.0]]) == pytest.approx(
        (LN2 + LN08) / 2, rel=1e-12)


def test_unnormalised_row_is_renormalised_unlike_current_sklearn():
    row = [[0.2, 0.2, 0.1]]  # sums to 0.5: renormalised 0.4 on the true class
    assert legacy_log_loss([0], row) == pytest.approx(-math.log(0.4), rel=1e-12)
    assert current_sklearn([0], row, 3) == pytest.approx(-math.log(0.2), rel=1e-12)


def test_normalised_rows_agree_with_current_sklearn():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(10), size=50)
    y = rng.integers(0, 10, size=50)
    assert legacy_log_loss(y, proba) == pytest.approx(current_sklearn(y, proba, 10), rel=1e-12)
    scaled = proba * rng.uniform(0.5, 0.9, size=(50, 1))  # same ranking, rows not summing to 1
    assert legacy_log_loss(y, scaled) == pytest.approx(legacy_log_loss(y, proba), rel=1e-12)
    assert abs(current_sklearn(y, scaled, 10) - legacy_log_loss(y, scaled)) > 0.05


def test_metrics_overall_class_and_device():
    proba = [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.2, 0.8, 0.0], [0.1, 0.1, 0.8]]
    result = dcase2022_asc_metrics([0, 0, 1, 2], proba, ["a", "b", "a", "b"],
                                   labels=["x", "y", "z"])
    v = result.values
    assert v["log_loss"] == pytest.approx((LN2 + LN4 + LN08 + LN08) / 4, rel=1e-9)
    assert v["class_log_loss/x"] == pytest.approx((LN2 + LN4) / 2, rel=1e-9)
    assert v["class_log_loss/y"] == pytest.approx(LN08, rel=1e-9)
    # The challenge's ranking metric averages classes, not items: differs from log_loss here.
    assert v["macro_class_log_loss"] == pytest.approx(((LN2 + LN4) / 2 + 2 * LN08) / 3,
                                                      rel=1e-9)
    assert v["device_log_loss/a"] == pytest.approx((LN2 + LN08) / 2, rel=1e-9)
    assert v["device_log_loss/b"] == pytest.approx((LN4 + LN08) / 2, rel=1e-9)
    assert v["device_class_log_loss/a/x"] == pytest.approx(LN2, rel=1e-9)
    assert math.isnan(v["device_class_log_loss/a/z"])  # device a has no z item
    # Predicted (argmax) 0, 1, 1, 2: class-wise 1/2, 1, 1.
    assert v["accuracy"] == pytest.approx((0.5 + 1 + 1) / 3, rel=1e-9)
    # sed_eval quirk: a class without items scores 0 inside the average.
    assert v["device_accuracy/a"] == pytest.approx(2 / 3, rel=1e-9)
    assert v["device_accuracy/b"] == pytest.approx(1 / 3, rel=1e-9)
    assert result.params["devices"] == ["a", "b"]
    assert result.counts["items/a"] == 2


def test_accuracy_matches_sed_eval():
    sed_eval = pytest.importorskip("sed_eval")
    rng = np.random.default_rng(2)
    n = 60
    y = rng.integers(0, 10, size=n)
    y_pred = np.where(rng.random(n) < 0.5, y, rng.integers(0, 10, size=n))
    devices = rng.choice(["a", "b", "s4"], size=n)
    names = [f"{SCENE_LABELS[t]}-city-{i}-0-0-{d}.wav" for i, (t, d) in enumerate(zip(y, devices))]
    proba = np.full((n, 10), 0.05)
    result = dcase2022_asc_metrics(y, proba, devices, y_pred=y_pred).values

    def official(mask):
        metric = sed_eval.scene.SceneClassificationMetrics(scene_labels=list(SCENE_LABELS))
        metric.evaluate(
            reference_scene_list=[{"filename": names[i], "scene_label": SCENE_LABELS[y[i]]}
                                  for i in np.flatnonzero(mask)],
            estimated_scene_list=[{"filename": names[i], "scene_label": SCENE_LABELS[y_pred[i]]}
                                  for i in np.flatnonzero(mask)])
        return metric.results()["class_wise_average"]["accuracy"]["accuracy"]

    assert result["accuracy"] == pytest.approx(official(np.ones(n, bool)), rel=1e-12)
    for d in ("a", "b", "s4"):
        assert result[f"device_accuracy/{d}"] == pytest.approx(official(devices == d), rel=1e-12)


def test_device_from_filename():
    assert device_from_filename("audio/airport-lisbon-1000-40000-0-a.wav") == "a"
    assert device_from_filename("tram-vienna-285-8639-3-s6.wav") == "s6"
    with pytest.raises(ConfigError):
        device_from_filename("nodevice.wav")


def test_metric_rejects_bad_arrays():
    with pytest.raises(ValueError, match="columns"):
        dcase2022_asc_metrics([0], [[0.5, 0.5]], ["a"])
    with pytest.raises(ValueError, match="NaN"):
        legacy_log_loss([0], [[math.nan, 0.5, 0.5]])


# ------------------------------------------------------------------------- tau22 task

FILES = [("airport", "a"), ("bus", "a"), ("airport", "b"), ("tram", "s1")]


def file_name(i, scene, device):
    return f"audio/{scene}-lisbon-{1000 + i}-40000-0-{device}.wav"


def write_meta(path, rows=FILES, header=("filename", "scene_label", "identifier",
                                         "source_label")):
    lines = ["\t".join(header)]
    lines += [f"{file_name(i, s, d)}\t{s}\tlisbon-{1000 + i}\t{d}" for i, (s, d) in
              enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def prediction_rows():
    """p = 0.5 on the true scene, 0.5/9 elsewhere (loss ln 2); the last row sums to 0.4 with
    0.2 on the true scene (renormalised: ln 2; current scikit-learn would give ln 5)."""
    rows = []
    predicted = ["airport", "bus", "metro", "tram"]  # third is wrong
    for i, ((scene, device), label) in enumerate(zip(FILES, predicted)):
        p = {s: 0.5 / 9 for s in SCENE_LABELS}
        p[scene] = 0.5
        if i == 3:
            p = {s: 0.0 for s in SCENE_LABELS}
            p[scene], p["bus"] = 0.2, 0.2
        rows.append([file_name(i, scene, device), label] + [repr(p[s]) for s in SCENE_LABELS])
    return rows


def write_predictions(path, rows=None, header=None):
    header = header or ["filename", "scene_label", *SCENE_LABELS]
    rows = prediction_rows() if rows is None else rows
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


def test_tau22_scores(tmp_path):
    result = tau22.evaluate(write_meta(tmp_path / "meta.csv"),
                            write_predictions(tmp_path / "pred.csv"))
    assert {"log_loss", "accuracy", "macro_class_log_loss", "device_log_loss",
            "device_accuracy", "class_log_loss"} <= set(result)
    assert result["log_loss"] == pytest.approx(LN2, rel=1e-9)
    assert result["macro_class_log_loss"] == pytest.approx(LN2, rel=1e-9)
    assert result["device_log_loss"] == pytest.approx({"a": LN2, "b": LN2, "s1": LN2}, rel=1e-9)
    assert result["class_log_loss"]["metro"] is None  # no metro file
    # Accuracy from the predicted scene_label column: airport 1/2, bus 1, tram 1, others 0.
    assert result["accuracy"] == pytest.approx(0.25, rel=1e-9)
    assert result["device_accuracy"] == pytest.approx({"a": 0.2, "b": 0.0, "s1": 0.1}, rel=1e-9)
    json.dumps(result, allow_nan=False)
    assert "log loss" in tau22.describe(result)


def test_tau22_is_registered():
    task = evaluation.get("tau22")
    assert task.name == "tau22"
    assert [a.keyword for a in task.arguments] == ["meta", "predictions"]


def _error(tmp_path, rows=None, header=None, meta_rows=FILES, meta_header=None):
    meta = write_meta(tmp_path / "meta.csv", meta_rows,
                      meta_header or ("filename", "scene_label", "identifier", "source_label"))
    pred = write_predictions(tmp_path / "pred.csv", rows, header)
    with pytest.raises(PredictionFileError) as info:
        tau22.evaluate(meta, pred)
    return info.value


def test_tau22_unknown_scene(tmp_path):
    rows = prediction_rows()
    rows[1][1] = "beach"
    err = _error(tmp_path, rows)
    assert (err.path.name, err.line, err.column) == ("pred.csv", 3, "scene_label")


@pytest.mark.parametrize("value, reason", [("-0.1", "negative"), ("nan", "not finite"),
                                           ("abc", "not a number")])
def test_tau22_bad_probability(tmp_path, value, reason):
    rows = prediction_rows()
    rows[0][2 + SCENE_LABELS.index("park")] = value
    err = _error(tmp_path, rows)
    assert (err.line, err.column) == (2, "park") and reason in str(err)


def test_tau22_file_missing_from_meta(tmp_path):
    err = _error(tmp_path, meta_rows=FILES[:3])
    assert (err.path.name, err.line, err.column) == ("pred.csv", 5, "filename")


def test_tau22_missing_columns(tmp_path):
    header = ["filename", "scene_label", *SCENE_LABELS[:-1]]
    rows = [r[:-1] for r in prediction_rows()]
    err = _error(tmp_path, rows, header)
    assert err.column == "tram" and err.line == 1
    err = _error(tmp_path, meta_header=("filename", "scene_label", "identifier", "device"))
    assert err.path.name == "meta.csv" and err.column == "source_label"


def test_tau22_ragged_row_and_device_mismatch(tmp_path):
    rows = prediction_rows()
    rows[2] = rows[2][:-1]
    err = _error(tmp_path, rows)
    assert err.line == 4 and "fields" in str(err)
    meta = tmp_path / "meta2.csv"
    meta.write_text("filename\tscene_label\tidentifier\tsource_label\n"
                    f"{file_name(0, 'airport', 'a')}\tairport\tx\tb\n")
    with pytest.raises(PredictionFileError) as info:
        tau22.read_meta(meta)
    assert (info.value.line, info.value.column) == (2, "source_label")
