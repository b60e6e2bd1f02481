"""Metric layer: hand-computed cases, equality with scikit-learn / sed_eval called directly,
absent classes, event conversion, and the logits-vs-probabilities threshold."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sed_eval
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from common.errors import ConfigError
from common.metrics import (
    MetricResult,
    binary_subset_metrics,
    classification_metrics,
    frame_f1_er,
    frames_to_events,
    per_class_f1,
    segment_based_metrics,
    speech_nonspeech_accuracy,
)

NOISE, MUSIC, SPEECH = 0, 1, 2
LABELS = [NOISE, MUSIC, SPEECH]
NAMES = ["noise", "music", "speech"]


# ----------------------------------------------------------------------------- MetricResult

def test_metric_result_json_round_trip_turns_nan_into_null_and_back():
    r = MetricResult(values={"a": np.float64(0.5), "b": float("nan")}, params={"t": 0.5},
                     arrays={"m": [[1.0, float("nan")]]}, counts={"n": np.int64(3)})
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)  # strict JSON must be possible
    assert d["values"] == {"a": 0.5, "b": None}
    back = MetricResult.from_dict(json.loads(text))
    assert back.values["a"] == 0.5 and math.isnan(back.values["b"])
    assert math.isnan(back.arrays["m"][0][1]) and back.counts == {"n": 3}
    assert type(r.values["a"]) is float and r["a"] == 0.5
    with pytest.raises(AttributeError):
        r.values = {}  # frozen


# ----------------------------------------------------------------------------- classification

def test_classification_hand_computed():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0, 2]
    r = classification_metrics(y_true, y_pred, LABELS, NAMES)
    # confusion (rows true): noise [1,1,0], music [0,2,0], speech [1,0,2]
    assert r.arrays["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    np.testing.assert_allclose(r.arrays["confusion_matrix_normalized"],
                               [[0.5, 0.5, 0], [0, 1, 0], [1 / 3, 0, 2 / 3]])
    assert r["accuracy"] == pytest.approx(5 / 7)
    assert r["recall/noise"] == 0.5 and r["recall/music"] == 1.0
    assert r["recall/speech"] == pytest.approx(2 / 3)
    assert r["precision/noise"] == 0.5 and r["precision/music"] == pytest.approx(2 / 3)
    assert r["precision/speech"] == 1.0
    assert r["f1/noise"] == pytest.approx(0.5) and r["f1/music"] == pytest.approx(0.8)
    assert r["f1/speech"] == pytest.approx(0.8)
    assert r["f1_macro"] == pytest.approx(0.7)
    assert r["recall_macro"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    # weighted by support 2,2,3
    assert r["f1_weighted"] == pytest.approx((2 * 0.5 + 2 * 0.8 + 3 * 0.8) / 7)
    assert r.counts["support/speech"] == 3 and r.counts["n_samples"] == 7
    assert r.params["labels"] == LABELS and r.params["library"] == "scikit-learn"


def test_classification_equals_sklearn_on_seeded_random_data():
    rng = np.random.default_rng(1234)
    y_true = rng.integers(0, 3, size=300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 3, size=300))
    labels = [2, 0, 1]  # a non-sorted order must be respected everywhere
    names = ["speech", "noise", "music"]
    r = classification_metrics(y_true, y_pred, labels, names)
    assert r["accuracy"] == accuracy_score(y_true, y_pred)
    p, rec, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels)
    for i, n in enumerate(names):
        assert r[f"precision/{n}"] == p[i] and r[f"recall/{n}"] == rec[i]
        assert r[f"f1/{n}"] == f[i] and r.counts[f"support/{n}"] == s[i]
    assert r["f1_macro"] == f1_score(y_true, y_pred, labels=labels, average="macro")
    assert r["f1_weighted"] == f1_score(y_true, y_pred, labels=labels, average="weighted")
    assert r["recall_macro"] == pytest.approx(np.mean(rec), abs=1e-15)
    assert r.arrays["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    np.testing.assert_allclose(r.arrays["confusion_matrix_normalized"],
                               confusion_matrix(y_true, y_pred, labels=labels, normalize="true"),
                               rtol=0, atol=1e-15)


def test_class_absent_from_y_true_gives_nan_recall_excluded_from_average():
    y_true = [1, 1, 2, 2, 2]          # no noise
    y_pred = [1, 0, 2, 2, 1]          # one noise prediction
    r = classification_metrics(y_true, y_pred, LABELS, NAMES)
    assert math.isnan(r["recall/noise"])
    assert r["recall_macro"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert r["f1/noise"] == 0.0        # predicted but never true: all its predictions wrong
    assert r["accuracy"] == pytest.approx(3 / 5)
    assert all(math.isnan(v) for v in r.arrays["confusion_matrix_normalized"][0])
    assert r.params["absent_classes"] == ["noise"]
    assert "NaN" in r.params["absent_class_policy"]
    assert r.to_dict()["values"]["recall/noise"] is None


def test_unknown_labels_raise_config_error():
    with pytest.raises(ConfigError, match=r"\[5\]"):
        classification_metrics([0, 5], [0, 0], LABELS, NAMES)
    with pytest.raises(ConfigError, match="allow_pred_outside_labels"):
        classification_metrics([1, 2], [0, 2], [1, 2], ["music", "speech"])
    with pytest.raises(ConfigError):
        classification_metrics([0], [0], LABELS, NAMES[:2])


def test_speech_nonspeech_accuracy_ignores_noise_music_confusions():
    y_true = [NOISE, MUSIC, SPEECH, SPEECH, MUSIC]
    y_pred = [MUSIC, NOISE, SPEECH, NOISE, SPEECH]
    r = speech_nonspeech_accuracy(y_true, y_pred, speech_label=SPEECH)
    # binary truth F F T T F vs pred F F T F T -> 3/5 (noise<->music swaps are correct)
    assert r["sns_accuracy"] == pytest.approx(3 / 5)
    assert r.counts == {"n_samples": 5, "n_correct": 3}
    assert classification_metrics(y_true, y_pred, LABELS, NAMES)["accuracy"] == pytest.approx(1 / 5)


def test_binary_subset_counts_third_class_predictions_as_errors_and_matches_report():
    rng = np.random.default_rng(7)
    y_true = rng.choice([MUSIC, SPEECH], size=200)
    y_pred = np.where(rng.random(200) < 0.85, y_true, rng.integers(0, 3, size=200))
    assert (y_pred == NOISE).any()
    r = binary_subset_metrics(y_true, y_pred, [MUSIC, SPEECH], ["music", "speech"])
    rep = classification_report(y_true, y_pred, labels=[MUSIC, SPEECH],
                                target_names=["music", "speech"], output_dict=True)
    assert r["accuracy"] == np.mean(y_true == y_pred)
    assert r["recall/music"] == rep["music"]["recall"]
    assert r["recall/speech"] == rep["speech"]["recall"]
    assert r["recall_macro"] == pytest.approx((rep["music"]["recall"] + rep["speech"]["recall"]) / 2)
    assert r["f1"] == pytest.approx(rep["macro avg"]["f1-score"], abs=1e-15)
    assert r["f1/speech"] == rep["speech"]["f1-score"]
    assert r["pred_outside_labels_rate"] == pytest.approx(np.mean(y_pred == NOISE))
    assert "macro" in r.params["f1_definition"]
    # rows are normalised by true support, so the noise predictions leave them short of 1
    rows = np.sum(r.arrays["confusion_matrix_normalized"], axis=1)
    np.testing.assert_allclose(rows, [np.mean(y_pred[y_true == c] != NOISE) for c in (MUSIC, SPEECH)])
    assert rows.min() < 1
    # a noise prediction for a speech clip lowers speech recall
    assert r["recall/speech"] < np.mean(y_pred[y_true == SPEECH] != MUSIC)


# ----------------------------------------------------------------------------- frame metrics

def _hand_frames():
    # frame 0: true a,b  pred a,c -> TP1 FN1 FP1 -> S1
    # frame 1: true a    pred -   -> FN1       -> D1
    # frame 2: true -    pred b,c -> FP2       -> I2
    y_true = np.array([[[1, 1, 0], [1, 0, 0], [0, 0, 0]]])
    y_pred = np.array([[[1, 0, 1], [0, 0, 0], [0, 1, 1]]], dtype=float)
    return y_true, y_pred


def test_frame_f1_er_hand_computed_with_substitutions():
    y_true, y_pred = _hand_frames()
    r = frame_f1_er(y_true, y_pred)
    assert (r.counts["tp"], r.counts["fp"], r.counts["fn"]) == (1, 3, 2)
    assert (r.counts["substitutions"], r.counts["deletions"], r.counts["insertions"]) == (1, 1, 2)
    assert r["frame_f1"] == pytest.approx(2 / 7, abs=1e-6)
    assert r["frame_error_rate"] == pytest.approx(4 / 3, abs=1e-6)
    assert r["frame_substitution_rate"] == pytest.approx(1 / 3, abs=1e-6)


def test_frame_f1_is_zero_when_nothing_active_and_pools_sequences():
    z = np.zeros((2, 4, 3))
    assert frame_f1_er(z, z)["frame_f1"] == 0.0
    y_true, y_pred = _hand_frames()
    two = frame_f1_er(np.concatenate([y_true, y_true]), np.concatenate([y_pred, y_pred]))
    # pooled (micro), not a mean of per-sequence scores: counts double, ratios unchanged
    assert two.counts["tp"] == 2 and two["frame_f1"] == pytest.approx(2 / 7, abs=1e-6)


def test_frame_f1_matches_sklearn_micro_and_per_class_matches_sklearn():
    rng = np.random.default_rng(3)
    y_true = (rng.random((4, 50, 5)) < 0.3).astype(int)
    y_pred = np.where(rng.random((4, 50, 5)) < 0.8, y_true, 1 - y_true)
    flat_t, flat_p = y_true.reshape(-1, 5), y_pred.reshape(-1, 5)
    r = frame_f1_er(y_true, y_pred.astype(float))
    assert r["frame_f1"] == pytest.approx(f1_score(flat_t, flat_p, average="micro"), abs=1e-9)
    names = list("abcde")
    pc = per_class_f1(y_true, y_pred, names)
    np.testing.assert_array_equal([pc[f"f1/{n}"] for n in names],
                                  f1_score(flat_t, flat_p, average=None))
    assert pc["f1_micro"] == pytest.approx(r["frame_f1"], abs=1e-9)


def test_per_class_f1_hand_values_and_absent_class_nan():
    y_true = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    y_pred = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    r = per_class_f1(y_true, y_pred, ["a", "b", "c"])
    assert r["f1/a"] == pytest.approx(2 / 3)     # TP1 FN1
    assert r["f1/b"] == pytest.approx(0.8)       # TP2 FP1
    assert math.isnan(r["f1/c"])                 # never true, never predicted
    assert r["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_threshold_on_logits_differs_from_threshold_on_probabilities():
    rng = np.random.default_rng(11)
    logits = rng.normal(0.0, 1.5, size=(3, 40, 4))
    probs = 1 / (1 + np.exp(-logits))
    y_true = (rng.random((3, 40, 4)) < 1 / (1 + np.exp(-2 * logits))).astype(int)
    on_probs = frame_f1_er(y_true, probs, threshold=0.5)
    bug = frame_f1_er(y_true, logits, threshold=0.5, score_kind="logit")  # dnd-sed test loop
    assert on_probs["frame_f1"] != bug["frame_f1"]
    assert on_probs.counts["n_sys"] > bug.counts["n_sys"]
    assert bug.params["equivalent_probability_threshold"] == pytest.approx(0.6224593, abs=1e-6)
    same = frame_f1_er(y_true, logits, threshold=0.0, score_kind="logit")
    assert same.values == on_probs.values
    with pytest.raises(ValueError, match="score_kind"):
        frame_f1_er(y_true, logits)  # logits passed as probabilities are refused


# ----------------------------------------------------------------------------- events

def test_frames_to_events_merges_runs_and_rounds_times():
    act = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [1, 0], [0, 0], [0, 0], [1, 0]], bool)
    ev = frames_to_events(act, 0.02, ["a", "b"], "x.wav")
    got = [(e["event_label"], e["onset"], e["offset"]) for e in ev]
    assert got == [("a", 0.0, 0.04), ("b", 0.02, 0.08), ("a", 0.06, 0.1), ("a", 0.14, 0.16)]
    assert all(e["filename"] == "x.wav" for e in ev)


def test_frames_to_events_round_trip():
    rng = np.random.default_rng(5)
    hop = 0.02
    act = rng.random((500, 4)) < 0.4
    labels = ["w", "x", "y", "z"]
    rebuilt = np.zeros_like(act)
    for e in frames_to_events(act, hop, labels, "f.wav"):
        rebuilt[round(e["onset"] / hop):round(e["offset"] / hop), labels.index(e["event_label"])] = True
    np.testing.assert_array_equal(rebuilt, act)


def _random_events(rng, files, labels, n_events):
    out = []
    for f in files:
        for _ in range(n_events):
            on = float(rng.uniform(0, 25))
            out.append({"event_label": str(rng.choice(labels)), "onset": on,
                        "offset": on + float(rng.uniform(0.05, 4)), "filename": f})
    return out


def test_segment_metrics_equal_sed_eval_called_directly():
    rng = np.random.default_rng(2021)
    labels = ["dog", "bird", "rain"]
    ref = _random_events(rng, ["f1.wav", "f2.wav", "f3.wav"], labels, 8)
    est = _random_events(rng, ["f1.wav", "f2.wav"], labels, 8)  # f3 has no system output
    est += [dict(e, onset=e["onset"] + 0.3, offset=e["offset"] + 0.2) for e in ref[:10]]
    r = segment_based_metrics(ref, est, labels, time_resolution=1.0)

    direct = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=labels, time_resolution=1.0)
    for f in ["f1.wav", "f2.wav", "f3.wav"]:
        direct.evaluate([e for e in ref if e["filename"] == f], [e for e in est if e["filename"] == f])
    res = direct.results()
    assert abs(r["segment_f1"] - res["overall"]["f_measure"]["f_measure"]) < 1e-12
    assert abs(r["segment_error_rate"] - res["overall"]["error_rate"]["error_rate"]) < 1e-12
    for lab in labels:
        assert abs(r[f"segment_f1/{lab}"] - res["class_wise"][lab]["f_measure"]["f_measure"]) < 1e-12
    assert 0 < r["segment_f1"] < 1 and r.counts["n_files"] == 3
    assert r.params["library_version"] == sed_eval.__version__
    assert r.params["time_resolution"] == 1.0
    # the {filename: events} form gives the same numbers
    by_file = {f: [e for e in ref if e["filename"] == f] for f in ["f1.wav", "f2.wav", "f3.wav"]}
    assert segment_based_metrics(by_file, est, labels).values == r.values


def test_segment_metrics_hand_computed():
    ref = [{"event_label": "a", "onset": 0.5, "offset": 2.5, "filename": "f"}]   # segments 0,1,2
    est = [{"event_label": "b", "onset": 0.0, "offset": 1.0, "filename": "f"},   # segment 0
           {"event_label": "a", "onset": 2.0, "offset": 2.4, "filename": "f"}]   # segment 2
    r = segment_based_metrics(ref, est, ["a", "b"], time_resolution=1)
    # seg0: ref a, sys b -> S; seg1: ref a -> D; seg2: TP. Nref 3, Nsys 2, Ntp 1
    assert (r.counts["Ntp"], r.counts["Nref"], r.counts["Nsys"]) == (1, 3, 2)
    assert r["segment_f1"] == pytest.approx(0.4)
    assert r["segment_error_rate"] == pytest.approx(2 / 3)
    assert r["segment_substitution_rate"] == pytest.approx(1 / 3)
    assert r["segment_f1/a"] == pytest.approx(0.5)
    assert math.isnan(r["segment_f1/b"])  # no reference for b: recall undefined in sed_eval


def test_frame_metrics_agree_with_sed_eval_at_one_frame_segments():
    # With an exactly representable hop, sed_eval segments == frames, so its overall counts
    # must equal the dnd-sed per-frame counts (two independent implementations).
    rng = np.random.default_rng(9)
    hop, labels = 0.25, ["a", "b", "c"]
    y_true = rng.random((3, 60, 3)) < 0.3
    y_pred = np.where(rng.random((3, 60, 3)) < 0.75, y_true, ~y_true)
    ref, est = [], []
    for n in range(3):
        ref += frames_to_events(y_true[n], hop, labels, f"s{n}")
        est += frames_to_events(y_pred[n], hop, labels, f"s{n}")
    seg = segment_based_metrics(ref, est, labels, time_resolution=hop)
    fr = frame_f1_er(y_true, y_pred.astype(float))
    assert seg.counts["Ntp"] == fr.counts["tp"] and seg.counts["Nfp"] == fr.counts["fp"]
    assert seg.counts["Nfn"] == fr.counts["fn"]
    assert (seg.counts["substitutions"], seg.counts["deletions"], seg.counts["insertions"]) == (
        fr.counts["substitutions"], fr.counts["deletions"], fr.counts["insertions"])
    assert seg["segment_error_rate"] == pytest.approx(fr["frame_error_rate"], abs=1e-6)


def test_sed_eval_roll_spills_one_segment_at_fine_float_resolution():
    # Documents a sed_eval quirk on this stack: ceil(0.14 * (1 / 0.02)) = 8, so a 7-frame event
    # at hop 0.02 s covers 8 segments at time_resolution=0.02. Frame metrics must therefore come
    # from frame_f1_er, not from sed_eval at resolution = hop. If sed_eval changes, revisit.
    ev = frames_to_events(np.ones((7, 1), bool), 0.02, ["a"], "f")
    assert ev[0]["offset"] == 0.14
    r = segment_based_metrics(ev, [], ["a"], time_resolution=0.02)
    assert r.counts["Nref"] == 8


def test_segment_metrics_reject_unknown_label_and_missing_filename():
    with pytest.raises(ConfigError, match="f9"):
        segment_based_metrics([{"event_label": "zz", "onset": 0, "offset": 1, "filename": "f9"}],
                              [], ["a"])
    with pytest.raises(ConfigError, match="filename"):
        segment_based_metrics([{"event_label": "a", "onset": 0, "offset": 1}], [], ["a"])
