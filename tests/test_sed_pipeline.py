"""The DESED half's pipeline pieces (report 000, spec fuss_desed.md §2.2, §4.2, §5): config,
batching, post-processing equivalences, the emulated psds_eval grid, evaluation on hand-made
clips, the table cells and the report's Table 2 arithmetic. Expected values are literals or
hand-worked, never produced by the code under test."""
from __future__ import annotations

import math

import numpy as np
import pytest

from common.errors import ConfigError
from reproductions.fuss_desed import config as config_mod
from reproductions.fuss_desed import sed_cells as C
from reproductions.fuss_desed import sed_data as D
from reproductions.fuss_desed import sed_evaluation as E
from reproductions.fuss_desed.sed_config import SedEvalConfig

# ------------------------------------------------------------------------------ config


def test_full_config_is_the_baseline_recipe():
    s = config_mod.load("full").sed
    assert s.train.batch_layout == (6, 12, 6)
    assert (s.train.epochs, s.train.rampup_epochs, s.train.max_learning_rate) == (200, 50, 1e-3)
    assert (s.train.ema_max_alpha, s.train.max_consistency, s.train.noise_snr_db) == (
        0.999, 2.0, 30.0)
    assert (s.train.synthetic_valid_fraction, s.train.synthetic_valid_seed) == (0.2, 26)
    assert s.model.filters is None and s.model.rnn_units is None
    assert (s.eval.dtc, s.eval.gtc, s.eval.cttc, s.eval.max_efpr_per_hour) == (0.5, 0.5, 0.3, 100)
    assert E.median_window(s.eval) == 7  # int(0.45 s / 0.06375 s)


def test_smoke_keeps_the_code_path_and_bad_values_name_the_key():
    s = config_mod.load("smoke").sed
    assert s.train.batch_layout == (2, 4, 2) and len(s.model.filters) == 7  # 1:2:1 kept
    with pytest.raises(ConfigError, match="sed.weak_only_layout"):
        config_mod.load("smoke", ["sed.weak_only_layout=[6,2,0]"])
    with pytest.raises(ConfigError, match="sed.model.filters"):
        config_mod.load("smoke", ["sed.model.filters=[4,4]"])
    with pytest.raises(ConfigError, match="sed.eval.dtc"):
        config_mod.load("smoke", ["sed.eval.dtc=1.5"])


# ------------------------------------------------------------------------------ data / batches


def _clips(name: str, n: int, events=None, tags=None) -> D.ClipSet:
    rng = np.random.default_rng(len(name) + n)
    files = [f"{name}{i}.wav" for i in range(n)]
    return D.ClipSet(name, files, [rng.random((628, 128)).astype(np.float32) + 0.1
                                   for _ in range(n)], [10.0] * n,
                     events={f: (events or {}).get(f, []) for f in files}
                     if events is not None else None,
                     tags={f: (tags or {}).get(f, ()) for f in files} if tags is not None else None)


def test_epoch_batches_follow_the_layout_and_the_shortest_stream():
    from reproductions.fuss_desed import sed_training as T

    streams = T.Streams(_clips("w", 13, tags={}), _clips("u", 30), _clips("s", 14, events={}))
    assert T.steps_per_epoch(streams, (6, 12, 6)) == 2  # min(13//6, 30//12, 14//6)
    batches = T.epoch_batches(streams, (6, 12, 6), seed=1, epoch=0)
    assert len(batches) == 2
    for rows in batches:
        assert [k for k, _ in rows] == [0] * 6 + [1] * 12 + [2] * 6  # weak, unlabelled, strong
    firsts = [i for rows in batches for k, i in rows if k == 0]
    assert len(set(firsts)) == 12  # no weak clip twice in one epoch
    assert batches == T.epoch_batches(streams, (6, 12, 6), seed=1, epoch=0)
    assert batches != T.epoch_batches(streams, (6, 12, 6), seed=1, epoch=1)
    assert T.steps_per_epoch(streams, (6, 0, 0)) == 2  # unused streams do not count
    with pytest.raises(ValueError, match="fewer clips"):
        T.steps_per_epoch(streams, (14, 0, 0))


def test_synthetic_split_is_80_20_by_file_and_seeded():
    synth = _clips("s", 40, events={})
    tr, va = D.split_synthetic(synth, 0.2, 26)
    assert (len(tr), len(va)) == (32, 8)
    assert not set(tr.files) & set(va.files)
    assert D.split_synthetic(synth, 0.2, 26)[1].files == va.files


def test_targets_of_the_three_kinds():
    weak = _clips("w", 1, tags={"w0.wav": ("Speech",)})
    strong = _clips("s", 1, events={"s0.wav": [(1.0, 2.0, "Dog")]})
    ys, yw = D.targets(weak, 0, "weak")
    assert ys.shape == (157, 10) and ys[:, 8].all() and yw.tolist() == [0] * 8 + [1, 0]
    ys, yw = D.targets(strong, 0, "strong")
    # floor(1.0·16000/255/4) = 15 to floor(2.0·16000/255/4) = 31 (excluded)
    assert np.flatnonzero(ys[:, 4]).tolist() == list(range(15, 31)) and yw[4] == 1
    ys, yw = D.targets(_clips("u", 1), 0, "unlabelled")
    assert not ys.any() and not yw.any()


# ------------------------------------------------------------------------------ post-processing


def test_median_filter_commutes_with_every_threshold():
    rng = np.random.default_rng(0)
    p = rng.random((3, 157, 10))
    filtered = E.filtered_scores(p, 7)
    from scipy.ndimage import median_filter
    for t in (0.1, 0.5, 0.77):
        binary_then_filter = np.stack([median_filter((x >= t).astype(float), size=(7, 1))
                                       for x in p])
        np.testing.assert_array_equal(binary_then_filter, (filtered >= t).astype(float))


def test_floor_to_the_psds_eval_grid():
    s = np.array([0.0, 0.005, 0.01, 0.5, 0.51, 0.989, 0.99, 1.0])
    np.testing.assert_allclose(E.floor_to_grid(s, 50),
                               [0.0, 0.0, 0.01, 0.49, 0.51, 0.97, 0.99, 0.99], atol=1e-12)
    rng = np.random.default_rng(1)
    x = rng.random(1000)
    q = E.floor_to_grid(x, 50)
    for t in np.linspace(0.01, 0.99, 50):  # same decisions at every psds_eval threshold
        assert ((q >= t) == (x >= t)).all()


def test_frame_edges_end_at_the_clip():
    e = E.frame_edges(157, 10.0)
    assert e[1] == pytest.approx(0.06375) and e[-1] == 10.0 and (np.diff(e) > 0).all()


def _perfect(cs: D.ClipSet) -> np.ndarray:
    p = np.zeros((len(cs), 157, 10), np.float32)
    for i, f in enumerate(cs.files):
        p[i] = D.targets(cs, i, "strong")[0]
    return p


def test_evaluate_perfect_and_silent_systems(tmp_path):
    ev = {"v0.wav": [(1.0, 3.0, "Speech"), (5.0, 7.0, "Running_water")],
          "v1.wav": [(2.0, 6.0, "Speech")], "v2.wav": []}
    cs = _clips("v", 3, events=ev)
    res = E.evaluate(cs, _perfect(cs), SedEvalConfig(), tmp_path, "perfect")
    assert res["event_macro_f1"] == pytest.approx(1.0)
    assert set(res["event_class_f1"]) == {"Speech", "Running_water"}
    assert res["psds_classes"] == ["Running_water", "Speech"]
    assert res["psds_exact"]["psds"]["values"]["psds"] == pytest.approx(1.0)
    assert res["psds_psds_eval_50"]["psds"]["values"]["psds"] == pytest.approx(1.0)
    assert res["psds_macro_f1"]["macro"] == pytest.approx(1.0)
    lines = (tmp_path / "perfect_predictions.tsv").read_text().strip().split("\n")
    assert lines[0] == "filename\tonset\toffset\tevent_label" and len(lines) == 4
    assert (tmp_path / "perfect_scores" / "v0.tsv").is_file()
    gt = (tmp_path / "ground_truth.tsv").read_text().rstrip("\n").split("\n")
    assert gt[-1] == "v2.wav\t\t\t" and len(gt) == 5  # header, 3 events, 1 empty row
    assert (tmp_path / "durations.tsv").read_text().split("\n")[1] == "v0.wav\t10.000"
    silent = E.evaluate(cs, np.zeros((3, 157, 10)), SedEvalConfig(), name="silent")
    assert silent["event_macro_f1"] == 0.0
    assert silent["psds_psds_eval_50"]["psds"]["values"]["psds"] == 0.0


# ------------------------------------------------------------------------------ cells, report


def _metrics(mini: bool = True) -> dict:
    nan = float("nan")
    psds = lambda v: {"values": {"psds": v}}  # noqa: E731
    val = {"event_macro_f1": 0.25, "event_class_f1": {"Speech": 0.4, "Running_water": 0.1,
                                                      "Alarm_bell_ringing": nan},
           "psds_psds_eval_50": {"psds": psds(0.3), "psds_cross_trigger": psds(0.2),
                                 "psds_macro": psds(0.1)},
           "psds_exact": {"psds": psds(0.31), "psds_cross_trigger": psds(0.21),
                          "psds_macro": psds(0.11)},
           "psds_macro_f1": {"macro": 0.5}}
    return {"sed": {"is_mini": mini, "systems": {"mean_teacher": {"validation": val}}}}


def test_table2_cells_fill_the_baseline_column_in_percent():
    cells = {(c["row"], c["column"]): c for c in C.t2(_metrics())}
    assert cells[("Overall F-score", "Baseline")]["value"] == pytest.approx(25.0)
    assert cells[("PSDS", "Baseline")]["value"] == pytest.approx(0.3)  # the 50-threshold one
    assert cells[("Speech", "Baseline")]["value"] == pytest.approx(40.0)
    assert cells[("Running water", "Baseline")]["value"] == pytest.approx(10.0)
    assert ("Alarm-bell ringing", "Baseline") not in cells  # NaN: not evaluated
    assert not any(col == "Ours" for _, col in cells)
    assert all(c["corpus"] == "mini" and c["table"] == "T2" for c in cells.values())
    assert C.t2({}) == [] and C.b_sed_readme({}) == []


def test_readme_cells():
    cells = {c["row"]: c["value"] for c in C.b_sed_readme(_metrics(False))}
    assert cells == pytest.approx({"Event-based": 25.0, "PSDS macro F1": 50.0, "PSDS": 0.3,
                                   "PSDS cross-trigger": 0.2, "PSDS macro": 0.1})


def test_table2_arithmetic_from_the_registry():
    from reproductions.fuss_desed.sed_sections import table2_arithmetic

    a = table2_arithmetic()
    # spec §5: class means 35.59 (Baseline) and 35.44 (Ours) vs overall rows 34.8 and 40.84
    assert a["Baseline"]["class_mean"] == pytest.approx(35.59, abs=0.005)
    assert a["Ours"]["class_mean"] == pytest.approx(35.44, abs=0.005)
    assert (a["Baseline"]["overall"], a["Ours"]["overall"]) == (34.8, 40.84)
    assert a["readme_with_separation"] == 35.6


def test_metric_settings_equal_the_official_ones():
    from common.registry import load_registry
    from reproductions.fuss_desed.sed_analytic import metric_settings

    ours = {m.key: m.value for m in metric_settings()}
    reg = {r.key: r.value for r in load_registry("fuss_desed").rows
           if r.table == "B-metric-settings"}
    assert set(ours) == set(reg)
    assert all(math.isclose(ours[k], reg[k]) for k in reg)


def test_gradient_csv_is_grouped_by_layer(tmp_path):
    from reproductions.fuss_desed.sed_figures import grad_norms_by_layer, layer_of

    assert layer_of("block3_conv/kernel") == "block3"
    assert layer_of("bigru2/forward_bigru2_gru/gru_cell/kernel") == "bigru2"
    assert layer_of("strong/bias") == "strong"
    p = tmp_path / "g.csv"
    p.write_text("step,block1_conv/kernel,block1_bn/gamma,strong/kernel\n5,3,4,1\n10,0,0,2\n")
    steps, layers = grad_norms_by_layer(p)
    assert steps == [5, 10]
    np.testing.assert_allclose(layers["block1"], [5.0, 0.0])
    np.testing.assert_allclose(layers["strong"], [1.0, 2.0])


# ------------------------------------------------------------------------------ training loop


@pytest.mark.slow
def test_training_resumes_at_the_last_finished_epoch(tmp_path):
    import dataclasses

    from reproductions.fuss_desed import sed_models as M
    from reproductions.fuss_desed import sed_training as T
    from reproductions.fuss_desed.sed_config import SedTrainConfig

    streams = T.Streams(_clips("w", 4, tags={"w0.wav": ("Speech",)}), _clips("u", 4),
                        _clips("s", 4, events={"s0.wav": [(1.0, 2.0, "Dog")]}))
    mean, std = np.zeros(128), np.ones(128) * 20

    def build(name):
        return M.build("baseline_crnn", name=name, filters=(2,) * 7, rnn_units=2)

    cfg = SedTrainConfig(epochs=1, rampup_epochs=1, grad_log_every=1)
    args = (build, streams, (2, 2, 2), cfg, mean, std, 3, tmp_path / "state",
            tmp_path / "log.csv", tmp_path / "grads.csv", lambda s: 0.5)
    _, first = T.train(*args)
    assert first["steps_per_epoch"] == 2 and first["optimizer_steps"] == 2
    assert first["best_epoch"] == 1 and len(first["history"]) == 1
    # a second call with more epochs resumes from the stored epoch, not from scratch
    (tmp_path / "state" / "state.json").unlink()  # keep the checkpoint, drop "finished"
    cfg2 = dataclasses.replace(cfg, epochs=2)
    _, second = T.train(build, *args[1:3], cfg2, *args[4:])
    assert second["resumed_from_epoch"] == 1 and second["optimizer_steps"] == 4
    assert second["history"][0] == first["history"][0] and len(second["history"]) == 2
    rows = (tmp_path / "grads.csv").read_text().strip().split("\n")
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]


def test_learning_check_states_both_floors():
    from reproductions.fuss_desed.sed_sections import learning_check

    sys_ = {"mean_teacher": {"validation": {"event_macro_f1": 0.3}},
            "weak_only": {"validation": {"event_macro_f1": 0.1}},
            "constant": {"validation": {"event_macro_f1": 0.0}}}
    assert "mean teacher 30.0 %" in learning_check(sys_) and "passed" in learning_check(sys_)
    sys_["weak_only"]["validation"]["event_macro_f1"] = 0.4
    assert "not passed" in learning_check(sys_)
