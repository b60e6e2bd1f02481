"""DCASE 2020 Task 4 metrics (common/metrics/desed.py) and ``repro evaluate desed``
(specs/fuss_desed.md §3.2, §4.2): sed_eval direct comparisons, hand-worked F1 and PSDS cases,
the sed_scores_eval read-only-array shim."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from common import evaluation
from common.errors import PredictionFileError
from common.metrics import desed as D

pytest.importorskip("sed_scores_eval")

REF = {
    "a.wav": [{"onset": 1.0, "offset": 2.0, "event_label": "Dog"},
              {"onset": 4.0, "offset": 9.0, "event_label": "Speech"}],
    "b.wav": [{"onset": 0.5, "offset": 1.5, "event_label": "Dog"}],
    "c.wav": [],
}
EST = {
    # Dog matched (onset 0.15 s off, offset 0.1 s off); Speech offset 0.9 s off but within
    # 20 % of its 5 s length (1 s) -> matched
    "a.wav": [{"onset": 1.15, "offset": 2.1, "event_label": "Dog"},
              {"onset": 4.1, "offset": 8.1, "event_label": "Speech"}],
    # Dog offset 0.3 s off: 20 % of 1 s is 0.2 s -> collar 0.2 s -> not matched
    "b.wav": [{"onset": 0.5, "offset": 1.8, "event_label": "Dog"}],
    "c.wav": [{"onset": 3.0, "offset": 4.0, "event_label": "Speech"}],
    "not_in_ref.wav": [{"onset": 0.0, "offset": 1.0, "event_label": "Dog"}],
}


def test_event_f1_hand_worked_with_the_20_percent_offset_collar():
    res = D.event_based_f1(REF, EST)
    # Dog: TP 1, FP 1, FN 1 -> F 0.5. Speech: TP 1, FP 1 (c.wav), FN 0 -> P 0.5 R 1 F 2/3.
    assert res["event_f1/Dog"] == pytest.approx(0.5)
    assert res["event_f1/Speech"] == pytest.approx(2 / 3)
    assert res["event_macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert res["event_micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert res.counts["n_estimated_files_not_in_reference"] == 1  # ignored, as the baseline


def test_event_f1_equals_sed_eval_called_as_the_baseline_does():
    import sed_eval

    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=["Speech", "Dog"], t_collar=0.2, percentage_of_length=0.2,
        empty_system_output_handling="zero_score")
    for f, events in REF.items():  # reference files; no event -> [{"filename": f}]
        ref = [dict(ev, filename=f) for ev in events] or [{"filename": f}]
        est = [dict(ev, filename=f) for ev in EST.get(f, [])] or [{"filename": f}]
        metric.evaluate(reference_event_list=ref, estimated_event_list=est)
    res = metric.results()
    ours = D.event_based_f1(REF, EST)
    assert ours["event_macro_f1"] == pytest.approx(
        res["class_wise_average"]["f_measure"]["f_measure"])
    for lab in ("Dog", "Speech"):
        assert ours[f"event_f1/{lab}"] == pytest.approx(res["class_wise"][lab]["f_measure"]["f_measure"])


def test_class_never_output_scores_zero_not_nan():
    est = {"a.wav": [{"onset": 4.0, "offset": 9.0, "event_label": "Speech"}]}
    res = D.event_based_f1(REF, est)
    assert res["event_f1/Dog"] == 0.0  # zero_score, as the baseline
    assert res["event_macro_f1"] == pytest.approx((0.0 + 1.0) / 2)


def test_segment_f1_equals_sed_eval_with_1s_segments():
    import sed_eval

    metric = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=["Dog", "Speech"],
                                                      time_resolution=1.0)
    for f, events in REF.items():
        ref = [dict(ev, filename=f) for ev in events]
        est = [dict(ev, filename=f) for ev in EST.get(f, [])]
        metric.evaluate(reference_event_list=ref, estimated_event_list=est)
    res = metric.results()
    ours = D.segment_based_f1(REF, EST)
    assert ours["segment_macro_f1"] == pytest.approx(
        res["class_wise_average"]["f_measure"]["f_measure"])
    assert ours["segment_micro_f1"] == pytest.approx(res["overall"]["f_measure"]["f_measure"])


# ------------------------------------------------------------------------------ PSDS

def _scores(spans, n=60, label="Dog"):
    a = np.zeros((n, 1))
    for start, stop, value in spans:
        a[start:stop, 0] = value
    return D.score_dataframe(a, np.arange(n + 1.0), [label])


def test_psds_is_one_for_perfect_scores():
    a = np.zeros((10, 2))
    a[2:5, 0] = 1.0
    a[6:8, 1] = 1.0
    res = D.psds({"x": D.score_dataframe(a, np.arange(11.0), ["Dog", "Cat"])},
                 {"x": [(2.0, 5.0, "Dog"), (6.0, 8.0, "Cat")]}, {"x": 10.0})
    assert res["psds"] == pytest.approx(1.0)


def test_psds_hand_worked_staircase():
    # Three 60 s clips = 1/20 h. Thresholds: 0.9 detects f1's event (TPR 0.5, no FP);
    # 0.8 adds a false detection in f3 (1 FP / (1/20 h) = eFPR 20/h); 0.6 detects f2's event
    # (TPR 1). Area up to 100/h: 0.5 x 20 + 1.0 x 80 = 90 -> PSDS 0.9.
    scores = {"f1": _scores([(10, 20, 0.9)]), "f2": _scores([(30, 40, 0.6)]),
              "f3": _scores([(5, 15, 0.8)])}
    gt = {"f1": [(10.0, 20.0, "Dog")], "f2": [(30.0, 40.0, "Dog")], "f3": []}
    res = D.psds(scores, gt, {"f1": 60.0, "f2": 60.0, "f3": 60.0})
    assert res["psds"] == pytest.approx(0.9)
    assert "exact" in res.params["method"]


def test_sed_scores_eval_needs_the_shim_on_this_pandas():
    """Fails without the copy: sed_scores_eval 0.0.4's Cython kernels reject the read-only
    arrays pandas 3 hands out. If this stops raising, the shim can go."""
    from sed_scores_eval.base_modules.postprocessing import medfilt
    from sed_scores_eval.intersection_based import psds as raw_psds

    scores = {"f1": _scores([(10, 20, 0.9)])}
    gt = {"f1": [(10.0, 20.0, "Dog")]}
    lengths = np.array([3.0])  # per-class filter lengths, read-only as pandas 3 hands them out
    lengths.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        raw_psds(scores=scores, ground_truth=gt, audio_durations={"f1": 60.0},
                 dtc_threshold=0.5, gtc_threshold=0.5)
    with pytest.raises(ValueError, match="read-only"):
        medfilt(scores, filter_length_in_sec=lengths)
    with D.writable_sed_scores_eval():
        value = raw_psds(scores=scores, ground_truth=gt, audio_durations={"f1": 60.0},
                         dtc_threshold=0.5, gtc_threshold=0.5)[0]
        filtered = medfilt(scores, filter_length_in_sec=lengths)
    assert value == pytest.approx(1.0)
    assert filtered["f1"]["Dog"].to_numpy().max() == pytest.approx(0.9)
    # the originals are restored after the block
    with pytest.raises(ValueError, match="read-only"):
        medfilt(scores, filter_length_in_sec=lengths)


# ------------------------------------------------------------------------------ repro evaluate

def _write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path):
    gt = _write(tmp_path / "gt.tsv", "filename\tonset\toffset\tevent_label\n"
                "a.wav\t1.0\t2.0\tDog\n"
                "a.wav\t4.0\t9.0\tSpeech\n"
                "b.wav\t0.5\t1.5\tDog\n"
                "c.wav\t\t\t\n")
    dur = _write(tmp_path / "dur.tsv", "filename\tduration\na.wav\t10.0\nb.wav\t10.0\n"
                 "c.wav\t10.0\n")
    # the baseline writes its predictions as event_label, onset, offset, filename
    pred = _write(tmp_path / "pred.tsv", "event_label\tonset\toffset\tfilename\n"
                  "Dog\t1.15\t2.1\ta.wav\nSpeech\t4.1\t8.1\ta.wav\nDog\t0.5\t1.8\tb.wav\n"
                  "Speech\t3.0\t4.0\tc.wav\nDog\t0.0\t1.0\tnot_in_ref.wav\n")
    return tmp_path, gt, dur, pred


def test_evaluate_task_json_contract(files):
    assert "desed" in evaluation.names()
    task = evaluation.get("desed")
    _, gt, dur, pred = files
    result = task.evaluate(ground_truth=gt, durations=dur, predictions=pred)
    json.dumps(result)
    assert result["event_macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert result["event_class_f1"] == {"Dog": pytest.approx(0.5), "Speech": pytest.approx(2 / 3)}
    assert 0.0 <= result["segment_macro_f1_1s"] <= 1.0
    assert result["n_files"] == 3 and result["n_prediction_files_not_in_ground_truth"] == 1
    assert "psds" not in result
    assert "event-based macro F1" in task.describe(result)


def test_evaluate_task_psds_from_a_score_folder(files):
    tmp, gt, dur, pred = files
    folder = tmp / "scores"
    folder.mkdir()
    edges = np.arange(0.0, 10.5, 0.5)
    truth = {"a": [(1.0, 2.0, "Dog"), (4.0, 9.0, "Speech")], "b": [(0.5, 1.5, "Dog")], "c": []}
    for stem, events in truth.items():
        rows = ["onset\toffset\tDog\tSpeech\tCat"]
        for on, off in itertools.pairwise(edges):
            vals = [float(any(s <= on and off <= e for s, e, lab in events if lab == c))
                    for c in ("Dog", "Speech")]
            rows.append(f"{on}\t{off}\t{vals[0]}\t{vals[1]}\t0.0")
        (folder / f"{stem}.tsv").write_text("\n".join(rows) + "\n")
    result = evaluation.get("desed").evaluate(ground_truth=gt, durations=dur, predictions=pred,
                                              scores=folder)
    assert result["psds"] == pytest.approx(1.0)  # perfect frame scores
    assert result["psds_classes"] == ["Dog", "Speech"]
    assert result["psds_classes_without_ground_truth"] == ["Cat"]
    assert {"psds_cross_trigger", "psds_macro", "psds_method"} <= set(result)


@pytest.mark.parametrize("text, needle", [
    ("filename\tonset\toffset\n", "header lacks"),
    ("filename\tonset\toffset\tevent_label\na.wav\tx\t2.0\tDog\n", "line 2, column 'onset'"),
    ("filename\tonset\toffset\tevent_label\na.wav\t3.0\t2.0\tDog\n", "column 'offset'"),
    ("filename\tonset\toffset\tevent_label\na.wav\t1.0\t2.0\t\n", "column 'event_label'"),
])
def test_bad_ground_truth_is_named_by_line_and_column(files, text, needle):
    tmp, _, dur, pred = files
    gt = _write(tmp / "bad.tsv", text)
    with pytest.raises(PredictionFileError, match=needle):
        evaluation.get("desed").evaluate(ground_truth=gt, durations=dur, predictions=pred)


def test_missing_duration_and_score_file_are_named(files):
    tmp, gt, _, pred = files
    dur = _write(tmp / "short.tsv", "filename\tduration\na.wav\t10\nb.wav\t10\n")
    with pytest.raises(PredictionFileError, match="no duration for ground-truth file 'c'"):
        evaluation.get("desed").evaluate(ground_truth=gt, durations=dur, predictions=pred)
    folder = tmp / "scores"
    folder.mkdir()
    (folder / "a.tsv").write_text("onset\toffset\tDog\tSpeech\n0.0\t1.0\t0.5\t0.5\n")
    with pytest.raises(PredictionFileError, match="no score file"):
        evaluation.get("desed").evaluate(ground_truth=gt, durations=tmp / "dur.tsv",
                                         predictions=pred, scores=folder)


def test_audio_id_keeps_dots_of_desed_stems():
    from common.evaluation.desed import audio_id

    assert audio_id("Y-BJNMHMZDcU_50.000_60.000.wav") == "Y-BJNMHMZDcU_50.000_60.000"
    assert audio_id("audio/x/Y1_0.000_10.000") == "Y1_0.000_10.000"
