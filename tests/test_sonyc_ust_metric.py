"""Tests of the official SONYC-UST metric (common.metrics.sonyc_ust, spec vggish_fusion.md §4)
and of the ``repro evaluate sonyc-ust`` task: hand-worked cases (incl. the fine-level X-tag
rules), scikit-learn where the definitions coincide, tie order, and bad-input errors."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import auc, precision_recall_curve

from common.errors import PredictionFileError
from common.evaluation import get as get_task
from common.metrics import sonyc_ust as S

# The official DCASE2019 taxonomy (dcase-ust-taxonomy.yaml, spec §3).
OFFICIAL_TAXONOMY = {
    "fine": {
        1: {1: "small-sounding-engine", 2: "medium-sounding-engine",
            3: "large-sounding-engine", "X": "engine-of-uncertain-size"},
        2: {1: "rock-drill", 2: "jackhammer", 3: "hoe-ram", 4: "pile-driver",
            "X": "other-unknown-impact-machinery"},
        3: {1: "non-machinery-impact"},
        4: {1: "chainsaw", 2: "small-medium-rotating-saw", 3: "large-rotating-saw",
            "X": "other-unknown-powered-saw"},
        5: {1: "car-horn", 2: "car-alarm", 3: "siren", 4: "reverse-beeper",
            "X": "other-unknown-alert-signal"},
        6: {1: "stationary-music", 2: "mobile-music", 3: "ice-cream-truck",
            "X": "music-from-uncertain-source"},
        7: {1: "person-or-small-group-talking", 2: "person-or-small-group-shouting",
            3: "large-crowd", 4: "amplified-speech", "X": "other-unknown-human-voice"},
        8: {1: "dog-barking-whining"},
    },
    "coarse": {1: "engine", 2: "machinery-impact", 3: "non-machinery-impact", 4: "powered-saw",
               5: "alert-signal", 6: "music", 7: "human-voice", 8: "dog"},
}
TAX = S.Taxonomy.from_dict(OFFICIAL_TAXONOMY)
# A two-category taxonomy for hand-worked end-to-end cases.
SMALL = S.Taxonomy.from_dict({"fine": {1: {1: "a1", 2: "a2", "X": "ax"}, 2: {1: "b1"}},
                              "coarse": {1: "a", 2: "b"}})


def test_official_taxonomy_columns():
    assert len(TAX.fine_columns()) == 29 and len(TAX.coarse_columns()) == 8
    assert TAX.fine_columns()[3] == "1-X_engine-of-uncertain-size"
    assert TAX.coarse_columns()[-1] == "8_dog"
    # annotations: 4 id columns + 29 presence + 29 proximity + 8 coarse presence = 70
    assert 4 + 29 + 29 + 8 == 70
    assert len(TAX.annotation_presence_columns()) == 37


# ------------------------------------------------------------------------ thresholds, counts


def test_thresholds_drop_scores_below_001_and_add_one():
    thr = S.category_thresholds(np.array([[0.3, 0.005], [0.9, 0.3], [0.01, 0.0]]))
    np.testing.assert_array_equal(thr, [1.0, 0.9, 0.3, 0.01])


def test_coarse_counts_hand_worked():
    truth = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.005])
    thr = S.category_thresholds(scores)
    np.testing.assert_array_equal(thr, [1.0, 0.9, 0.8, 0.3])
    tp, fp, fn = S.coarse_counts(truth, scores, thr)
    np.testing.assert_array_equal(tp, [0, 1, 1, 2])
    np.testing.assert_array_equal(fp, [0, 0, 1, 1])
    np.testing.assert_array_equal(fn, [2, 1, 1, 0])
    curve = S._with_prf(thr, tp, fp, fn)
    # P floors: TP+FP = 0 -> P = 0 / 0.5 = 0
    np.testing.assert_allclose(curve["P"], [0.0, 1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(curve["R"], [0.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(curve["F"], [0.0, 2 / 3, 0.5, 0.8])
    # (0,1) (0,0) (.5,1) (.5,.5) (1,2/3) (1,0): 0.25 + 0.5·(0.5+2/3)/2 = 13/24
    assert S.auprc(curve) == pytest.approx(13 / 24)


# Fine mode, one category with two complete tags and an X tag, one sample per case, at
# threshold 0.5; expected (TP, FP, FN) worked out from the official rules (spec §4).
FINE_CASES = [
    # t1 t2 tX   y1 y2 yX   TP FP FN
    ((1, 0, 0), (1, 1, 0), (1, 1, 0)),   # complete TP + complete FP
    ((0, 0, 1), (0, 0, 1), (1, 0, 0)),   # X truth, X predicted: incomplete TP
    ((0, 0, 1), (0, 1, 0), (1, 0, 0)),   # X truth, complete predicted: TP, no FP (X masks FP)
    ((0, 0, 1), (0, 0, 0), (0, 0, 1)),   # X truth, nothing predicted: incomplete FN
    ((0, 0, 0), (0, 0, 1), (0, 1, 0)),   # X predicted on an empty truth: incomplete FP
    ((0, 0, 0), (1, 1, 1), (0, 2, 0)),   # all complete predicted: no extra incomplete FP
    ((1, 0, 1), (0, 1, 0), (1, 0, 1)),   # X + tag1 true, tag2 predicted: inc. TP, tag1 FN
    ((1, 0, 0), (0, 0, 1), (0, 0, 1)),   # tag1 true, X predicted: FN, no incomplete FP
    ((1, 0, 1), (1, 0, 0), (1, 0, 0)),   # complete TP suppresses the incomplete TP
]


@pytest.mark.parametrize("truth,pred,expected", FINE_CASES)
def test_fine_x_tag_rules_per_sample(truth, pred, expected):
    t = np.array([truth[:2]])
    s = np.array([pred[:2]], dtype=float)
    counts = S.fine_counts(t, np.array([truth[2]]), s, np.array([pred[2]], dtype=float),
                           np.array([0.5]))
    assert tuple(int(c[0]) for c in counts) == expected


def test_fine_counts_sum_over_samples():
    t = np.array([c[0][:2] for c in FINE_CASES])
    tx = np.array([c[0][2] for c in FINE_CASES])
    s = np.array([c[1][:2] for c in FINE_CASES], dtype=float)
    sx = np.array([c[1][2] for c in FINE_CASES], dtype=float)
    tp, fp, fn = S.fine_counts(t, tx, s, sx, np.array([1.0, 0.5]))
    assert (tp.tolist(), fp.tolist(), fn.tolist()) == ([5, 5], [4, 4], [3, 3])


def test_fine_thresholds_come_from_complete_tags_only():
    # X scores (0.7) are thresholded at the complete-tag thresholds but add none of their own.
    truth = pd.DataFrame({"1-1": [0], "1-2": [0], "1-X": [1], "2-1": [0], "2-X": [0],
                          "1": [1], "2": [0]}, index=["f.wav"])
    pred = pd.DataFrame({"1-1": [0.2], "1-2": [0.4], "1-X": [0.7], "2-1": [0.0], "2-X": [0.0],
                         "1": [0.0], "2": [0.0]}, index=["f.wav"])
    curves = S.level_curves(truth, pred, SMALL, "fine")
    np.testing.assert_array_equal(curves[1]["threshold"], [1.0, 0.4, 0.2])
    # at 1.0 nothing is predicted (FN via X); at 0.4 X (0.7) and tag 2 fire: incomplete TP
    assert curves[1]["TP"].tolist() == [0, 1, 1] and curves[1]["FN"].tolist() == [1, 0, 0]


# ------------------------------------------------------------------------ micro table, F1, ties


def _curve(thresholds, tp, fp, fn):
    return S._with_prf(np.array(thresholds, float), tp, fp, fn)


def test_micro_curve_takes_each_category_at_its_smallest_threshold_above():
    a = _curve([1.0, 0.8, 0.4], [0, 2, 3], [0, 1, 4], [3, 1, 0])
    b = _curve([1.0, 0.6], [0, 1], [0, 0], [2, 1])
    micro = S.micro_curve({1: a, 2: b})
    np.testing.assert_array_equal(micro["threshold"], [0.4, 0.6, 0.8, 1.0])
    # 0.4: a@0.4 + b@0.6; 0.6: a@0.8 + b@0.6; 0.8: a@0.8 + b@1.0; 1.0: a@1.0 + b@1.0
    assert micro["TP"].tolist() == [4, 3, 2, 0]
    assert micro["FP"].tolist() == [4, 1, 1, 0]
    assert micro["FN"].tolist() == [1, 2, 3, 5]
    # micro F1 at the smallest threshold >= 0.5 (0.6): P = 3/4, R = 3/5
    assert S.micro_f1(micro) == pytest.approx(2 / (4 / 3 + 5 / 3))


def test_tie_order_is_stable_on_the_table_row_order():
    # Equal recalls 0.25 with precisions 1 (threshold 0.9) and 0.5 (threshold 0.8).
    desc = _curve([1.0, 0.9, 0.8, 0.3], [0, 1, 1, 4], [0, 0, 1, 1], [4, 3, 3, 0])
    np.testing.assert_allclose(desc["R"], [0, 0.25, 0.25, 1.0])
    np.testing.assert_allclose(desc["P"], [0, 1.0, 0.5, 0.8])
    # decreasing-threshold rows (per-category layout): (0,1)(0,0)(.25,1)(.25,.5)(1,.8)(1,0)
    assert S.auprc(desc) == pytest.approx(0.25 * 0.5 + 0.75 * 1.3 / 2)
    # increasing-threshold rows (micro layout): the tied points swap
    asc = desc.iloc[::-1].reset_index(drop=True)
    assert S.auprc(asc) == pytest.approx(0.25 * 0.25 + 0.75 * 1.8 / 2)
    # repeated calls and shuffled unrelated rows keep the result (no unstable sort)
    assert S.auprc(desc) == S.auprc(desc.copy())


# ------------------------------------------------------------------------ scikit-learn


def test_coarse_class_auprc_vs_sklearn():
    # With distinct scores in [0.01, 1): the official curve = sklearn's PR points plus (0, 0)
    # at threshold 1.0 right after the prepended (0, 1), so AUPRC = sklearn auc − R_top / 2
    # (R_top: recall at the highest score). sklearn's average_precision_score is a step sum,
    # not this trapezoid, and does not coincide.
    rng = np.random.default_rng(3)
    truth = rng.random(200) < 0.3
    scores = rng.uniform(0.01, 0.99, 200)
    thr = S.category_thresholds(scores)
    ours = S.auprc(S._with_prf(thr, *S.coarse_counts(truth, scores, thr)))
    p, r, _ = precision_recall_curve(truth, scores)
    assert ours == pytest.approx(auc(r, p) - r[-2] / 2, abs=1e-12)


def test_coarse_micro_auprc_vs_sklearn_pooled():
    # The micro table equals thresholding all categories' pooled scores at each union
    # threshold, so the same relation holds on the raveled arrays — for the tie order of
    # sklearn's curve (equal recalls by decreasing threshold). The official micro table is
    # stored by increasing threshold, and its stable sort keeps that order: a different area.
    rng = np.random.default_rng(4)
    truth = pd.DataFrame(rng.random((60, 2)) < 0.4, columns=["1", "2"]).astype(int)
    scores = pd.DataFrame(rng.uniform(0.01, 0.99, (60, 2)), columns=["1", "2"])
    curves = {}
    for cid in ("1", "2"):
        thr = S.category_thresholds(scores[cid].to_numpy())
        curves[int(cid)] = S._with_prf(thr, *S.coarse_counts(truth[cid], scores[cid], thr))
    micro = S.micro_curve(curves)
    p, r, _ = precision_recall_curve(truth.to_numpy().ravel(), scores.to_numpy().ravel())
    sklearn_value = auc(r, p) - r[-2] / 2
    assert S.auprc(micro.iloc[::-1]) == pytest.approx(sklearn_value, abs=1e-12)
    assert abs(S.auprc(micro) - sklearn_value) > 1e-6


# ------------------------------------------------------------------------ whole tables


def _annotations(tax, truth_rows, extra_rows=()):
    """Annotation table in the official layout (4 id cols, fine presence, fine proximity,
    coarse presence); truth_rows: (filename, {"c-f" or "c": 0/1}) for annotator 0."""
    fine = [c for c in tax.fine_columns()]
    header = (["split", "sensor_id", "audio_filename", "annotator_id"]
              + [f"{c}_presence" for c in fine] + [f"{c}_proximity" for c in fine]
              + [f"{c}_presence" for c in tax.coarse_columns()])
    rows = []
    for split, annotator, name, labels in ([("validate", 0, n, lab) for n, lab in truth_rows]
                                           + list(extra_rows)):
        row = {"split": split, "sensor_id": 0, "audio_filename": name, "annotator_id": annotator}
        for c in fine:
            row[f"{c}_presence"] = labels.get(c.split("_")[0], 0)
            row[f"{c}_proximity"] = -1
        for c in tax.coarse_columns():
            row[f"{c}_presence"] = labels.get(c.split("_")[0], 0)
        rows.append(row)
    return pd.DataFrame(rows, columns=header)


def _predictions(tax, rows):
    cols = tax.prediction_columns()
    return pd.DataFrame([{"audio_filename": n, **{c: s.get(c.split("_")[0], 0.0) for c in cols}}
                         for n, s in rows], columns=["audio_filename"] + cols)


def test_coarse_truth_comes_from_coarse_columns():
    # File a.wav is coarse-positive for category 1 with no fine tag set (common in validate).
    ann = _annotations(SMALL, [("a.wav", {"1": 1}), ("b.wav", {})])
    pred = _predictions(SMALL, [("a.wav", {"1": 0.9}), ("b.wav", {"1": 0.2})])
    out = S.sonyc_ust_scores(ann, SMALL, pred)
    # curve (0,1) (0,0)@1.0 (1,1)@0.9 (1,.5)@0.2 (1,0): area 0.5
    assert out["coarse"]["class_auprc"]["a"] == pytest.approx(0.5)
    assert out["coarse"]["micro_f1"] == pytest.approx(1.0)  # at 0.9: TP 1, no FP, no FN


def test_only_annotator_zero_validate_rows_are_truth():
    truth = [("a.wav", {"1": 1, "1-1": 1}), ("b.wav", {"2": 1, "2-1": 1})]
    pred = _predictions(SMALL, [("a.wav", {"1": 0.8, "1-1": 0.7}),
                                ("b.wav", {"2": 0.6, "2-1": 0.3, "1": 0.4})])
    base = S.sonyc_ust_scores(_annotations(SMALL, truth), SMALL, pred)
    noisy = _annotations(SMALL, truth, extra_rows=[
        ("validate", 7, "a.wav", {"2": 1, "2-1": 1}), ("validate", -3, "b.wav", {"1": 1}),
        ("train", 0, "c.wav", {"1": 1})])
    assert S.sonyc_ust_scores(noisy, SMALL, pred) == base


def test_levels_hand_worked_end_to_end():
    ann = _annotations(SMALL, [("a.wav", {"1": 1, "1-1": 1}), ("b.wav", {"1": 1, "1-X": 1}),
                               ("c.wav", {"2": 1, "2-1": 1})])
    pred = _predictions(SMALL, [("a.wav", {"1-1": 0.9, "1-2": 0.6, "1": 0.9}),
                                ("b.wav", {"1-X": 0.8, "1": 0.8}),
                                ("c.wav", {"2-1": 0.7, "2": 0.7, "1": 0.3})])
    out = S.sonyc_ust_scores(ann, SMALL, pred)
    # coarse cat 1: thresholds 1, .9, .8, .3 -> (TP,FP,FN) (0,0,2) (1,0,1) (2,0,0) (2,1,0)
    # points (0,0) (.5,1) (1,1) (1,2/3): area .5·(0+1)/2 + .5·1 = 0.75
    assert out["coarse"]["class_auprc"]["a"] == pytest.approx(0.75)
    # coarse cat 2: thresholds 1, .7 -> (0,0,1) (1,0,0): (0,0) (1,1): area 0.5
    assert out["coarse"]["class_auprc"]["b"] == pytest.approx(0.5)
    assert out["coarse"]["macro_auprc"] == pytest.approx(0.625)
    # fine cat 1 (complete scores .9, .6; X of b.wav 0.8 is not a threshold): thresholds 1, .9,
    # .6. @1: FN a(tag1) + FN b(X) -> (0,0,2); @.9: a TP -> (1,0,1); @.6: a tag2 FP,
    # b still nothing (0.8 X ≥ .6 -> incomplete TP) -> (2,1,0)
    fine_a = out["fine"]["class_auprc"]["a"]
    # points (0,0) (.5,1) (1,2/3) (1,0): .25 + .5·(1+2/3)/2
    assert fine_a == pytest.approx(0.25 + 0.5 * (5 / 3) / 2)
    # micro fine F1 @ smallest threshold ≥ .5 (0.6): cat1 (2,1,0) + cat2@0.7 (1,0,0) = (3,1,0)
    assert out["fine"]["micro_f1"] == pytest.approx(2 / (4 / 3 + 1))


# ------------------------------------------------------------------------ evaluation task


def _write_files(tmp_path, ann, pred):
    (tmp_path / "tax.yaml").write_text(yaml.safe_dump(OFFICIAL_TAXONOMY, sort_keys=False))
    ann.to_csv(tmp_path / "annotations.csv", index=False)
    pred.to_csv(tmp_path / "pred.csv", index=False)
    return {"annotations": str(tmp_path / "annotations.csv"),
            "taxonomy": str(tmp_path / "tax.yaml"), "predictions": str(tmp_path / "pred.csv")}


def _official_fixture(tmp_path, seed=0, n=12):
    rng = np.random.default_rng(seed)
    keys = [c.split("_")[0] for c in TAX.prediction_columns()]
    truth = [(f"{i:02d}_{i:06d}.wav", {k: int(rng.random() < 0.3) for k in keys})
             for i in range(n)]
    ann = _annotations(TAX, truth, extra_rows=[("train", 3, "99_000001.wav", {"1": 1})])
    pred = _predictions(TAX, [(name, {k: float(np.round(rng.random(), 3)) for k in keys})
                              for name, _ in truth])
    return ann, pred


def test_task_json_contract_and_registry(tmp_path):
    ann, pred = _official_fixture(tmp_path)
    paths = _write_files(tmp_path, ann, pred)
    task = get_task("sonyc-ust")
    assert [a.keyword for a in task.arguments] == ["annotations", "taxonomy", "predictions"]
    result = task.evaluate(**paths)
    assert set(result) == {"coarse", "fine"}
    for level in result.values():
        assert set(level) == {"micro_auprc", "micro_f1", "macro_auprc", "class_auprc"}
        assert list(level["class_auprc"]) == [n for _, n in TAX.coarse]
        assert all(0.0 <= v <= 1.0 for v in level["class_auprc"].values())
    assert result == S.sonyc_ust_scores(ann, TAX, pred)
    json.dumps(result)
    assert "Micro AUPRC" in task.describe(result)


def _edit_csv(path, edit):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize("edit,line,column,message", [
    (lambda r: r[0].__setitem__(5, "5_foo"), 1, "5_foo", "unknown column"),
    (lambda r: [row.pop(3) for row in r], 1, "1-3_large-sounding-engine", "missing"),
    (lambda r: r[3].__setitem__(2, "abc"), 4, "1-2_medium-sounding-engine", "not a number"),
    (lambda r: r[2].__setitem__(30, "1.5"), 3, TAX.prediction_columns()[29], "outside"),
    (lambda r: r[2].__setitem__(30, "nan"), 3, TAX.prediction_columns()[29], "outside"),
    (lambda r: r[5].__setitem__(0, "77_000000.wav"), 6, "audio_filename", "not in the ground"),
    (lambda r: r[5].__setitem__(0, r[4][0]), 6, "audio_filename", "second prediction"),
])
def test_task_prediction_errors_name_line_and_column(tmp_path, edit, line, column, message):
    ann, pred = _official_fixture(tmp_path)
    paths = _write_files(tmp_path, ann, pred)
    _edit_csv(paths["predictions"], edit)
    with pytest.raises(PredictionFileError, match=message) as info:
        get_task("sonyc-ust").evaluate(**paths)
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value).startswith(paths["predictions"])


def test_task_missing_prediction_and_bad_truth(tmp_path):
    ann, pred = _official_fixture(tmp_path)
    paths = _write_files(tmp_path, ann, pred.iloc[:-1])
    with pytest.raises(PredictionFileError, match="no prediction for 1 ground-truth"):
        get_task("sonyc-ust").evaluate(**paths)
    paths = _write_files(tmp_path, ann, pred)
    _edit_csv(paths["annotations"], lambda r: r[3].__setitem__(4, "-1"))
    with pytest.raises(PredictionFileError, match="not 0 or 1") as info:
        get_task("sonyc-ust").evaluate(**paths)
    assert info.value.line == 4
    assert info.value.column == "1-1_small-sounding-engine_presence"


@pytest.mark.parametrize("data,message", [
    ({"fine": {}}, "needs top-level keys"),
    ({"coarse": {1: "a"}, "fine": {}}, r"fine\.1 is missing"),
    ({"coarse": {1: "a"}, "fine": {1: {"Y": "y"}}}, r"fine\.1\.Y: id must be an integer"),
    ({"coarse": {1: "a"}, "fine": {1: {"X": "x"}}}, "no complete"),
    ({"coarse": {1: "a"}, "fine": {1: {1: "a1"}, 2: {1: "b1"}}}, r"coarse ids \['2'\]"),
])
def test_taxonomy_errors_name_the_key(data, message):
    from common.errors import ConfigError
    with pytest.raises(ConfigError, match=message):
        S.Taxonomy.from_dict(data, source="tax.yaml")
