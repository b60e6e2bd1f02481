"""``repro evaluate`` tasks tut-sed-2016 and scene-classification: results equal sed_eval /
scikit-learn called directly and hand-worked cases; bad input names file, line and column."""
from __future__ import annotations

import inspect
import math
from pathlib import Path

import pytest

from common import evaluation
from common.errors import PredictionFileError
from common.evaluation import formats
from common.evaluation import scene_classification as scene
from common.evaluation import tut_sed_2016 as tut


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _line(*fields) -> str:
    return "\t".join(str(f) for f in fields)


# --------------------------------------------------------------------------- fixtures

# Three files with events, one ground-truth file with no event (d.wav), one file (c.wav) the
# predictions leave out; four classes, overlaps, a substitution and an insertion.
GT = {
    "a.wav": [(0.0, 2.0, "dog"), (1.5, 4.2, "car"), (6.0, 7.5, "bird")],
    "b.wav": [(0.3, 1.1, "bird"), (2.0, 5.0, "rain"), (4.0, 4.6, "dog")],
    "c.wav": [(1.0, 3.0, "car")],
    "d.wav": [],
}
PRED = {
    "a.wav": [(0.1, 1.9, "dog"), (2.0, 4.0, "car"), (6.2, 6.9, "dog"), (8.0, 9.0, "bird")],
    "b.wav": [(0.35, 1.0, "bird"), (2.5, 5.5, "car")],
    "d.wav": [(0.5, 1.5, "rain")],
}
LABELS = ["bird", "car", "dog", "rain"]


def _event_file(path: Path, events: dict[str, list[tuple]]) -> Path:
    lines = []
    for name, evs in events.items():
        lines += [_line(name, on, off, lab) for on, off, lab in evs] or [name]
    return _write(path, lines)


def _sed_eval_direct(gt: dict, pred: dict, labels: list[str]):
    """sed_eval 0.2.1 on plain dict lists, file by file (no dcase_util containers built here)."""
    import sed_eval

    seg = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=labels, time_resolution=1.0)
    evt = sed_eval.sound_event.EventBasedMetrics(event_label_list=labels, t_collar=0.2,
                                                 percentage_of_length=0.5,
                                                 evaluate_onset=True, evaluate_offset=True)
    for name, events in gt.items():
        ref = [{"filename": name, "onset": a, "offset": b, "event_label": c}
               for a, b, c in events]
        est = [{"filename": name, "onset": a, "offset": b, "event_label": c}
               for a, b, c in pred.get(name, [])]
        seg.evaluate(reference_event_list=ref, estimated_event_list=est)
        evt.evaluate(reference_event_list=ref, estimated_event_list=est)
    return seg.results(), evt.results()


def _same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or (a is not None and a == pytest.approx(b, abs=1e-12))


# --------------------------------------------------------------------------- tut-sed-2016

def test_tut_sed_equals_sed_eval_called_directly(tmp_path):
    gt = _event_file(tmp_path / "gt.txt", GT)
    pred = _event_file(tmp_path / "pred.txt", PRED)
    result = tut.evaluate(ground_truth=gt, predictions=pred)
    seg, evt = _sed_eval_direct(GT, PRED, LABELS)

    assert result["labels"] == LABELS
    assert _same(result["segment_f1"], seg["overall"]["f_measure"]["f_measure"])
    assert _same(result["segment_er"], seg["overall"]["error_rate"]["error_rate"])
    assert _same(result["event_f1"], evt["overall"]["f_measure"]["f_measure"])
    assert _same(result["event_er"], evt["overall"]["error_rate"]["error_rate"])
    for lab in LABELS:
        assert _same(result["class_f1"][lab], seg["class_wise"][lab]["f_measure"]["f_measure"])
        assert _same(result["segment_class_er"][lab],
                     seg["class_wise"][lab]["error_rate"]["error_rate"])
        assert _same(result["event_class_f1"][lab],
                     evt["class_wise"][lab]["f_measure"]["f_measure"])
    assert result["files_without_predictions"] == ["c.wav"]
    assert result["n_files"] == 4
    # not trivially perfect or zero, so the comparison means something
    assert 0.2 < result["segment_f1"] < 0.95
    assert result["params"]["t_collar_seconds"] == 0.2
    assert result["params"]["percentage_of_length"] == 0.5


def test_missing_prediction_file_is_all_misses(tmp_path):
    # c.wav: one car event 1-3 s = 2 reference segments, both missed
    gt = _event_file(tmp_path / "gt.txt", {"c.wav": [(1.0, 3.0, "car")], "e.wav": [
        (0.0, 1.0, "car")]})
    pred = _event_file(tmp_path / "pred.txt", {"e.wav": [(0.0, 1.0, "car")]})
    result = tut.evaluate(ground_truth=gt, predictions=pred)
    assert result["counts"]["segment"] == {"Ntp": 1, "Nfp": 0, "Nfn": 2, "Nref": 3, "Nsys": 1}
    assert result["segment_f1"] == pytest.approx(2 * 1 / (2 * 1 + 0 + 2))
    assert result["segment_er"] == pytest.approx(2 / 3)
    assert result["event_f1"] == pytest.approx(2 / 3)  # 1 TP, 1 FN
    assert result["files_without_predictions"] == ["c.wav"]


def test_hand_worked_segment_and_event_values(tmp_path):
    gt = _write(tmp_path / "gt.txt", [_line("x.wav", 0, 2, "dog")])
    # segments: [0,1) TP, [1,2) FN -> F1 = 2/3, ER = D/N = 1/2. Event: offset 0.9 vs 2.0 is
    # 1.1 s away, beyond max(0.2, 0.5 * 2 s) -> no match: TP 0, FP 1, FN 1, ER = (1+1)/1.
    pred = _write(tmp_path / "p.txt", [_line("x.wav", 0, 0.9, "dog")])
    r = tut.evaluate(ground_truth=gt, predictions=pred)
    assert r["segment_f1"] == pytest.approx(2 / 3)
    assert r["segment_er"] == pytest.approx(0.5)
    assert r["class_f1"] == {"dog": pytest.approx(2 / 3)}
    assert r["event_f1"] == 0.0
    assert r["event_er"] == pytest.approx(2.0)
    # onset 0.1 s late (within the 0.2 s collar), offset 0.8 s early (within 50 % of 2 s but
    # not within 20 %): a match only with percentage_of_length = 0.5
    pred2 = _write(tmp_path / "p2.txt", [_line("x.wav", 0.1, 1.2, "dog")])
    assert tut.evaluate(ground_truth=gt, predictions=pred2)["event_f1"] == pytest.approx(1.0)
    # onset 0.3 s late: outside the onset collar
    pred3 = _write(tmp_path / "p3.txt", [_line("x.wav", 0.3, 2.0, "dog")])
    assert tut.evaluate(ground_truth=gt, predictions=pred3)["event_f1"] == 0.0


def test_meta_folder_equals_single_file(tmp_path):
    names = {"1": "TUT-SED-synthetic-2016-mix-1.wav", "2": "TUT-SED-synthetic-2016-mix-2.wav",
             "3": "TUT-SED-synthetic-2016-mix-3.wav"}
    gt = {names["1"]: GT["a.wav"], names["2"]: GT["b.wav"], names["3"]: []}
    meta = tmp_path / "TUT-SED-synthetic-2016" / "meta"
    meta.mkdir(parents=True)
    for n, name in names.items():
        _write(meta / f"TUT-SED-synthetic-2016-annot-{n}.txt",
               [_line(on, off, lab) for on, off, lab in gt[name]])
    single = _event_file(tmp_path / "gt.txt", gt)
    pred = _event_file(tmp_path / "pred.txt", {
        f"audio/{names['1']}": PRED["a.wav"], names["3"]: PRED["d.wav"]})
    from_folder = tut.evaluate(ground_truth=meta, predictions=pred)
    from_file = tut.evaluate(ground_truth=single, predictions=pred)
    assert from_folder == from_file
    assert from_folder["files_without_predictions"] == [names["2"]]
    assert from_folder["n_files"] == 3


def test_file_list_restricts_ground_truth(tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    for n in (1, 2, 3):
        _write(meta / f"TUT-SED-synthetic-2016-annot-{n}.txt", [_line(0, 2, "dog")])
    setup = _write(tmp_path / "test.txt", [
        _line("audio/TUT-SED-synthetic-2016-mix-3.wav", 0, 2, "dog"),
        _line("audio/TUT-SED-synthetic-2016-mix-3.wav", 5, 6, "dog"),
        "audio/TUT-SED-synthetic-2016-mix-1.wav"])
    pred = _write(tmp_path / "p.txt", [_line("TUT-SED-synthetic-2016-mix-3.wav", 0, 2, "dog")])
    whole = tut.evaluate(ground_truth=meta, predictions=pred)
    assert whole["n_files"] == 3 and len(whole["files_without_predictions"]) == 2
    split = tut.evaluate(ground_truth=meta, predictions=pred, file_list=setup)
    assert split["n_files"] == 2
    assert split["files_without_predictions"] == ["TUT-SED-synthetic-2016-mix-1.wav"]
    assert split["segment_f1"] == pytest.approx(2 * 2 / (2 * 2 + 2))  # TP 2, FN 2
    bad = _write(tmp_path / "bad_list.txt", ["audio/TUT-SED-synthetic-2016-mix-9.wav"])
    msg = _error(tut.evaluate, ground_truth=meta, predictions=pred, file_list=bad)
    assert "bad_list.txt, line 1, column 'filename'" in msg


def test_ann_folder_with_space_separated_labels(tmp_path):
    meta = tmp_path / "meta" / "home"
    meta.mkdir(parents=True)
    (meta / "a001.ann").write_text("0.5 2.0 (object) banging\n3.0 4.0 cupboard\n")
    (meta / "notes.txt").write_text("not an annotation\n")  # ignored: .ann files exist
    pred = _write(tmp_path / "p.txt", [_line("audio/home/a001.wav", 0.5, 2.0,
                                             "(object) banging")])
    r = tut.evaluate(ground_truth=tmp_path / "meta", predictions=pred)
    assert r["labels"] == ["(object) banging", "cupboard"]
    assert r["class_f1"]["(object) banging"] == 1.0
    assert r["files_without_predictions"] == []


def test_labels_option_allows_classes_absent_from_ground_truth(tmp_path):
    gt = _write(tmp_path / "gt.txt", [_line("x.wav", 0, 2, "dog")])
    pred = _write(tmp_path / "p.txt", [_line("x.wav", 0, 2, "dog"), _line("x.wav", 0, 1, "cat")])
    with pytest.raises(PredictionFileError) as err:
        tut.evaluate(ground_truth=gt, predictions=pred)
    assert "p.txt, line 2, column 'event_label'" in str(err.value)
    r = tut.evaluate(ground_truth=gt, predictions=pred, labels="cat,dog")
    assert r["counts"]["segment"] == {"Ntp": 2, "Nfp": 1, "Nfn": 0, "Nref": 2, "Nsys": 3}
    assert r["labels"] == ["cat", "dog"]


# --------------------------------------------------------------------------- scene

def test_scene_classification_equals_sklearn(tmp_path):
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        recall_score,
    )

    truth = ["park", "bus", "park", "metro", "bus", "park", "metro", "tram", "bus"]
    guess = ["park", "park", "bus", "metro", "bus", "park", "tram", "tram", "metro"]
    files = [f"clip{i}.wav" for i in range(len(truth))]
    gt = _write(tmp_path / "gt.csv", ["filename,label"] + [f"{f},{t}" for f, t in
                                                            zip(files, truth)])
    # DCASE form: tab-separated, no header, folder prefix, shuffled order
    pred = _write(tmp_path / "pred.tsv", [f"audio/{f}\t{g}" for f, g in
                                          reversed(list(zip(files, guess)))])
    r = scene.evaluate(ground_truth=gt, predictions=pred)
    labels = sorted(set(truth))
    assert r["accuracy"] == pytest.approx(accuracy_score(truth, guess))
    assert r["macro_class_accuracy"] == pytest.approx(balanced_accuracy_score(truth, guess))
    per_class = recall_score(truth, guess, labels=labels, average=None)
    assert r["class_accuracy"] == {lab: pytest.approx(v) for lab, v in zip(labels, per_class)}
    assert r["confusion_matrix"]["labels"] == labels
    assert r["confusion_matrix"]["matrix"] == confusion_matrix(truth, guess,
                                                               labels=labels).tolist()
    assert r["n_files"] == 9 and r["files_without_predictions"] == []


def test_scene_missing_prediction_counts_as_wrong(tmp_path):
    gt = _write(tmp_path / "gt.csv", ["a.wav,park", "b.wav,park", "c.wav,bus", "d.wav,bus"])
    pred = _write(tmp_path / "pred.csv", ["a.wav,park", "c.wav,bus", "d.wav,park"])
    r = scene.evaluate(ground_truth=gt, predictions=pred)
    assert r["accuracy"] == pytest.approx(2 / 4)  # b.wav missing = wrong
    assert r["class_accuracy"] == {"bus": 0.5, "park": 0.5}
    assert r["macro_class_accuracy"] == pytest.approx(0.5)
    # rows true (bus, park), columns predicted: b.wav's row entry is in no column
    assert r["confusion_matrix"]["matrix"] == [[1, 1], [0, 1]]
    assert r["files_without_predictions"] == ["b.wav"]


def test_scene_header_with_scene_label_and_extra_columns(tmp_path):
    gt = _write(tmp_path / "gt.csv", ["a.wav,park", "b.wav,bus"])
    pred = _write(tmp_path / "pred.tsv", ["filename\tscene_label\tbus\tpark",
                                          "a.wav\tpark\t0.1\t0.9", "b.wav\tpark\t0.4\t0.6"])
    r = scene.evaluate(ground_truth=gt, predictions=pred)
    assert r["accuracy"] == 0.5


# --------------------------------------------------------------------------- bad input

def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(PredictionFileError) as err:
        fn(*args, **kwargs)
    return str(err.value)


def _sed_error(tmp_path, gt_lines, pred_lines) -> str:
    gt = _write(tmp_path / "truth.txt", gt_lines)
    pred = _write(tmp_path / "system_output.txt", pred_lines)
    return _error(tut.evaluate, ground_truth=gt, predictions=pred)


OK_GT = [_line("a.wav", 0, 2, "dog"), _line("b.wav", 1, 3, "car")]


def test_error_missing_column(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", 0, 2, "dog"), _line("b.wav", 0, 1)])
    assert "system_output.txt, line 2, column 'event_label'" in msg and "missing column" in msg


def test_error_extra_column(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", "home", 0, 2, "dog")])
    assert "system_output.txt, line 1:" in msg and "found 5" in msg


def test_error_unknown_label(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", 0, 2, "dog"), "",
                                       _line("b.wav", 0, 1, "cow")])
    assert "system_output.txt, line 3, column 'event_label'" in msg and "'cow'" in msg


def test_error_onset_not_a_number(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", "0,5", 2, "dog")])
    assert "system_output.txt, line 1, column 'onset'" in msg and "not a number" in msg


def test_error_onset_not_before_offset(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", 0, 2, "dog"), _line("a.wav", 2, 2, "dog")])
    assert "system_output.txt, line 2, column 'offset'" in msg and "not before" in msg


def test_error_negative_onset(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", -0.5, 2, "dog")])
    assert "system_output.txt, line 1, column 'onset'" in msg and "negative" in msg


def test_error_offset_infinite(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", 0, "inf", "dog")])
    assert "system_output.txt, line 1, column 'offset'" in msg


def test_error_prediction_for_unknown_file(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("a.wav", 0, 2, "dog"), _line("zz.wav", 0, 2, "dog")])
    assert "system_output.txt, line 2, column 'filename'" in msg and "'zz.wav'" in msg


def test_error_space_separated_columns(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, ["a.wav 0.0 2.0 dog"])
    assert "system_output.txt, line 1, column 'onset'" in msg and "tab-separated" in msg


def test_filename_with_trailing_tabs_is_a_file_without_events(tmp_path):
    gt = _write(tmp_path / "gt.txt", [_line("x.wav", 0, 2, "dog"), "y.wav"])
    pred = _write(tmp_path / "p.txt", [_line("x.wav", 0, 2, "dog"), "y.wav\t\t\t"])
    r = tut.evaluate(ground_truth=gt, predictions=pred)
    assert r["files_without_predictions"] == [] and r["segment_f1"] == 1.0


def test_error_header_line(tmp_path):
    msg = _sed_error(tmp_path, OK_GT, [_line("filename", "onset", "offset", "event_label")])
    assert "system_output.txt, line 1, column 'onset'" in msg and "header" in msg


def test_error_bad_line_in_ground_truth(tmp_path):
    msg = _sed_error(tmp_path, [_line("a.wav", 0, 2, "dog"), _line("b.wav", 3, 1, "car")],
                     [_line("a.wav", 0, 2, "dog")])
    assert "truth.txt, line 2, column 'offset'" in msg


def test_error_bad_line_in_meta_folder(tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    _write(meta / "TUT-SED-synthetic-2016-annot-7.txt", [_line(0, 1, "dog"), _line(1, "x", "dog")])
    pred = _write(tmp_path / "p.txt", [_line("TUT-SED-synthetic-2016-mix-7.wav", 0, 1, "dog")])
    msg = _error(tut.evaluate, ground_truth=meta, predictions=pred)
    assert "TUT-SED-synthetic-2016-annot-7.txt, line 2, column 'offset'" in msg


def test_error_empty_file(tmp_path):
    gt = _write(tmp_path / "truth.txt", OK_GT)
    pred = tmp_path / "empty_output.txt"
    pred.write_text("\n  \n")
    msg = _error(tut.evaluate, ground_truth=gt, predictions=pred)
    assert "empty_output.txt" in msg and "empty" in msg


def test_error_unreadable_file(tmp_path):
    gt = _write(tmp_path / "truth.txt", OK_GT)
    pred = tmp_path / "binary_output.txt"
    pred.write_bytes(b"a.wav\t0\t1\t\xff\xfedog\n")
    assert "binary_output.txt" in _error(tut.evaluate, ground_truth=gt, predictions=pred)
    assert "not found" in _error(tut.evaluate, ground_truth=gt,
                                 predictions=tmp_path / "nowhere.txt")


def test_error_scene_duplicate_filename(tmp_path):
    gt = _write(tmp_path / "gt.csv", ["a.wav,park", "b.wav,bus"])
    pred = _write(tmp_path / "scene_pred.csv", ["filename,label", "a.wav,park", "b.wav,bus",
                                                "audio/a.wav,bus"])
    msg = _error(scene.evaluate, ground_truth=gt, predictions=pred)
    assert "scene_pred.csv, line 4, column 'filename'" in msg and "line 2" in msg


def test_error_scene_missing_column_and_unknown_label(tmp_path):
    gt = _write(tmp_path / "gt.csv", ["a.wav,park", "b.wav,bus"])
    pred = _write(tmp_path / "scene_pred.csv", ["a.wav,park", "b.wav"])
    msg = _error(scene.evaluate, ground_truth=gt, predictions=pred)
    assert "scene_pred.csv, line 2, column 'label'" in msg
    pred = _write(tmp_path / "scene_pred.tsv", ["filename\tscene_label", "a.wav\tpark",
                                                "b.wav\tbeach"])
    msg = _error(scene.evaluate, ground_truth=gt, predictions=pred)
    assert "scene_pred.tsv, line 3, column 'scene_label'" in msg and "'beach'" in msg


def test_error_scene_prediction_for_unknown_file(tmp_path):
    gt = _write(tmp_path / "gt.csv", ["a.wav,park"])
    pred = _write(tmp_path / "scene_pred.csv", ["a.wav,park", "q.wav,park"])
    msg = _error(scene.evaluate, ground_truth=gt, predictions=pred)
    assert "scene_pred.csv, line 2, column 'filename'" in msg


def test_parse_probability():
    assert formats.parse_probability("0.25", "p.csv", 3, "dog") == 0.25
    assert formats.parse_probability("1", "p.csv", 3, "dog") == 1.0
    for bad in ("1.01", "-0.1", "nan", "high"):
        with pytest.raises(PredictionFileError) as err:
            formats.parse_probability(bad, "probs.csv", 7, "dog_bark")
        assert "probs.csv, line 7, column 'dog_bark'" in str(err.value)


def test_file_key():
    assert formats.file_key("audio/home/a001.wav") == "a001"
    assert formats.file_key("a001") == "a001"
    assert formats.file_key("C:\\data\\x.y.wav") == "x.y"


# --------------------------------------------------------------------------- registry

@pytest.mark.parametrize("name", ["tut-sed-2016", "scene-classification"])
def test_registered_and_arguments_match_evaluate(name):
    task = evaluation.get(name)
    assert task.name == name and name in evaluation.names()
    params = inspect.signature(task.evaluate).parameters
    assert [a.keyword for a in task.arguments] == list(params)
    for a in task.arguments:
        assert a.required == (params[a.keyword].default is inspect.Parameter.empty)
