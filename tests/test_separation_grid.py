"""Separation half of report 000: config checks, the scikit-learn estimator in GridSearchCV,
the data reader, the identity floor and Table 1's cells (spec fuss_desed.md §1.1, §2.1, §3.1,
§4.1). Expected values are worked by hand here, never taken from the modules under test."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from common.errors import ConfigError, DatasetError
from common.registry import load_registry
from reproductions.fuss_desed import config as config_mod
from reproductions.fuss_desed import separation_cells as C
from reproductions.fuss_desed import separation_estimator as E
from reproductions.fuss_desed.separation_data import load_split


# ----------------------------------------------------------------------------------- config

def test_profiles_load_and_the_full_grid_is_the_documented_one():
    full = config_mod.load("full").separation
    assert full.model.bottleneck == 256 and full.model.n_repeats == 4
    assert full.train.learning_rate == 1e-4 and full.train.batch_size == 3
    assert full.train.decay_steps == 2_000_000 and full.train.decay_rate == 0.5
    assert full.train.crop_seconds is None
    assert full.grid.searched() == ["learning_rate", "mixture_consistency", "n_repeats"]
    assert full.grid.size == 12
    smoke = config_mod.load("smoke").separation
    assert 2 <= smoke.grid.size <= 4


@pytest.mark.parametrize("override, key", [
    ("separation.versions=[ssdata, wet]", "separation.versions"),
    ("separation.grid.learning_rate=[]", "separation.grid.learning_rate"),
    ("separation.grid.n_repeats=[2, 2]", "separation.grid.n_repeats"),
    ("separation.train.crop_seconds=0.01", "separation.train.crop_seconds"),
    ("separation.model.bottleneck=0", "separation.model.bottleneck"),
])
def test_bad_values_name_their_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_mod.load("smoke", [override])


# ----------------------------------------------------------------------------------- estimator

def test_batches_are_seeded_cover_every_example_and_crop_inside():
    est = E.TdcnppSeparator(steps=8, batch_size=3, crop_samples=100, random_state=5)
    a = list(est._batches(6, 1000))
    b = list(E.TdcnppSeparator(steps=8, batch_size=3, crop_samples=100, random_state=5)
             ._batches(6, 1000))
    assert a == b
    first_epoch = [i for idx, _, _ in a[:2] for i in idx]
    assert sorted(first_epoch) == list(range(6))           # 2 batches of 3 = one permutation
    assert all(0 <= s <= 900 and n == 100 for _, starts, n in a for s in starts)
    whole = list(E.TdcnppSeparator(steps=2, crop_samples=None)._batches(6, 1000))
    assert all(starts == [0, 0, 0] and n == 1000 for _, starts, n in whole)


class _ScaledIdentity(E.TdcnppSeparator):
    """No training: 'separates' by giving each listed source the mixture; remembers what fit
    saw. Enough to check GridSearchCV's use of the estimator, split and scorer."""
    seen: list = []

    def fit(self, X, y):
        _ScaledIdentity.seen.append((len(X), self.learning_rate))
        self.n_active_ = None
        return self

    def predict(self, X):
        X = np.asarray(X, np.float32)
        out = np.zeros((len(X), 4, X.shape[1]), np.float32)
        out[:, 0] = X
        # learning_rate 1.0: a second estimate that is a different signal (noise) — over-
        # separation with a poor pair; 0.0: the identity only
        out[:, 1] = self.learning_rate * np.random.default_rng(0).standard_normal(X.shape)
        return out


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_grid_search_with_predefined_split_fits_on_train_and_scores_validation():
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    rng = np.random.default_rng(1)
    n_tr, n_va, t = 5, 3, 800
    y = np.zeros((n_tr + n_va, 4, t), np.float32)
    y[:, 0] = rng.standard_normal((n_tr + n_va, t))
    y[:, 1] = rng.standard_normal((n_tr + n_va, t))
    X = y.sum(axis=1)
    fold = np.r_[np.full(n_tr, -1), np.zeros(n_va, int)]
    _ScaledIdentity.seen = []
    search = GridSearchCV(_ScaledIdentity(), {"learning_rate": [0.0, 1.0]}, scoring=E.fuss_scores,
                          refit=E.REFIT_SCORE, cv=PredefinedSplit(fold), error_score="raise")
    search.fit(X, y)
    # two grid points trained on the 5 train examples, then the refit on all 8
    assert _ScaledIdentity.seen == [(5, 0.0), (5, 1.0), (8, search.best_params_["learning_rate"])]
    # identity estimate of two equal-power independent sources: SI-SNRi of the scored pair is
    # 0 dB by scale invariance; the noise estimate is unrelated to the other source, so the
    # point with noise pairs it with source 1 at ≈ -SI-SNR(mixture, s1) ≈ 0 dB too, both points
    # score ≈ 0 and the dict scorer fills both metrics in cv_results_
    res = search.cv_results_
    assert set(res) >= {"mean_test_multi_source_si_snri", "mean_test_single_source_si_snr",
                        "rank_test_multi_source_si_snri"}
    assert abs(res["mean_test_multi_source_si_snri"][0]) < 1e-3
    assert np.isnan(res["mean_test_single_source_si_snr"]).all()   # no 1-source example


def test_identity_floor_scores_zero_si_snri_and_perfect_estimates_score_the_cap():
    rng = np.random.default_rng(2)
    refs = np.zeros((3, 4, 1600), np.float32)
    refs[0, :1] = rng.standard_normal((1, 1600))
    refs[1, :2] = rng.standard_normal((2, 1600))
    refs[2, :4] = rng.standard_normal((4, 1600))
    mix = refs.sum(axis=1)
    ident = E.identity_estimates(mix, np.array([1, 2, 4]))
    assert np.allclose(ident[2, :4], mix[2] / 4) and not ident[1, 2:].any()
    s = E.official_scores(refs, ident)
    assert abs(s["multi_source_si_snri"]) < 1e-3 and s["multi_source_count"] == 6
    # perfect estimates: SI-SNR = 10 log10((1 + 1e-8) / (0 + 1e-8)) = 80 dB
    perfect = E.official_scores(refs, refs)
    assert perfect["single_source_si_snr"] == pytest.approx(80.0, abs=0.01)


def test_fit_rejects_arrays_of_the_wrong_shape():
    with pytest.raises(ValueError, match="mixtures"):
        E.TdcnppSeparator(steps=1).fit(np.zeros((2, 100)), np.zeros((2, 4, 99)))
    with pytest.raises(ValueError, match="3 reference sources"):
        E.TdcnppSeparator(steps=1).fit(np.zeros((2, 100)), np.zeros((2, 3, 100)))


@pytest.mark.slow
def test_a_real_grid_point_trains_and_is_deterministic():
    rng = np.random.default_rng(3)
    y = np.zeros((4, 4, 2000), np.float32)
    y[:, :2] = 0.1 * rng.standard_normal((4, 2, 2000))
    X = y.sum(axis=1)
    kw = dict(n_repeats=1, conv_channels=8, bottleneck=8, dilations=(1, 2), steps=3,
              batch_size=2, crop_samples=1000, learning_rate=1e-3, random_state=7)
    a = E.TdcnppSeparator(**kw).fit(X, y)
    b = E.TdcnppSeparator(**kw).fit(X, y)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    pa = a.predict(X)
    assert pa.shape == (4, 4, 2000) and np.allclose(pa.sum(axis=1), X, atol=1e-4)
    assert np.array_equal(pa, b.predict(X))


# ----------------------------------------------------------------------------------- data

def _write_fuss(root, version="ssdata", split="train"):
    vroot = root / version
    lines = []
    rng = np.random.default_rng(4)
    for i, n in enumerate((1, 3)):
        src = f"{split}/example{i:05d}_sources"
        (vroot / src).mkdir(parents=True)
        names = ["background0_sound.wav"] + [f"foreground{k}_sound.wav" for k in range(n - 1)]
        sigs = (0.1 * rng.standard_normal((n, 400))).astype(np.float32)
        for name, s in zip(names, sigs):
            sf.write(vroot / src / name, s, 16000, subtype="FLOAT")
        sf.write(vroot / f"{split}/example{i:05d}.wav", sigs.sum(0), 16000, subtype="FLOAT")
        lines.append("\t".join([f"{split}/example{i:05d}.wav", *[f"{src}/{n}" for n in names]]))
    (vroot / f"{split}_example_list.txt").write_text("\n".join(lines) + "\n")
    return vroot


def test_load_split_pads_to_four_sources_and_sums_them(tmp_path):
    vroot = _write_fuss(tmp_path)
    s = load_split(tmp_path, "ssdata", "train")
    assert s.sources.shape == (2, 4, 400) and list(s.n_sources) == [1, 3]
    assert not s.sources[0, 1:].any() and not s.sources[1, 3].any()
    fg1, _ = sf.read(vroot / "train/example00001_sources/foreground1_sound.wav", dtype="float32")
    assert np.array_equal(s.sources[1, 2], fg1)
    assert np.allclose(s.mixtures, s.sources.sum(axis=1))


def test_load_split_names_a_bad_list_line(tmp_path):
    vroot = _write_fuss(tmp_path)
    (vroot / "train_example_list.txt").write_text("train/example00000.wav\tnot_a_source.wav\n")
    with pytest.raises(DatasetError, match=r"line 1, column 2"):
        load_split(tmp_path, "ssdata", "train")


def test_written_estimates_score_the_same_through_repro_evaluate_fuss(tmp_path):
    from reproductions.fuss_desed.separation_estimator import official_scores
    from reproductions.fuss_desed.separation_pipeline import cross_check_cli, write_estimates
    _write_fuss(tmp_path / "root", split="eval")
    split = load_split(tmp_path / "root", "ssdata", "eval")
    rng = np.random.default_rng(9)
    estimates = split.sources + 0.05 * rng.standard_normal(split.sources.shape).astype(np.float32)
    estimates[:, 3] = 0.0                     # the padded slot stays silent
    listed = write_estimates(tmp_path / "est", tmp_path / "root", split, estimates)
    # the baseline's inference layout, next to a list of exactly the scored mixtures
    assert (tmp_path / "est/eval/example00001_sources/estimate2.wav").is_file()
    assert listed.read_text().splitlines()[1].startswith("eval/example00001.wav\t")
    memory = official_scores(split.sources, estimates)
    check = cross_check_cli(tmp_path / "est", tmp_path / "root", split, memory)
    cli = check["repro_evaluate_fuss"]
    assert cli["multi_source_count"] == memory["multi_source_count"] == 3
    assert cli["multi_source_si_snri"] > 5.0           # a real improvement over the mixture
    assert check["abs_difference_db"]["multi_source_si_snri"] < 1e-4


# ----------------------------------------------------------------------------------- cells

def _metrics(mini=True):
    def scores(single, multi):
        return {"single_source_si_snr": single, "multi_source_si_snri": multi,
                "single_source_count": 3, "multi_source_count": 20}
    version = {"baseline": {"validation": scores(20.0, 5.0), "eval": scores(21.0, 6.0)},
               "grid": {"best_index": 1, "eval": scores(22.0, 7.0),
                        "cv_results": [
                            {"params": {"learning_rate": 1e-3}, "rank": 2,
                             "mean_test_multi_source_si_snri": 1.0,
                             "mean_test_single_source_si_snr": 2.0},
                            {"params": {"learning_rate": 3e-3}, "rank": 1,
                             "mean_test_multi_source_si_snri": 8.0,
                             "mean_test_single_source_si_snr": None}]}}
    return {"separation": {"is_mini": mini, "versions": {"ssdata_reverb": version,
                                                          "ssdata": version}}}


def test_table1_cells_take_val_from_cv_results_and_eval_from_the_refit():
    cells = C.t1(_metrics())
    got = {(c["row"], c["column"]): c["value"] for c in cells}
    known = {r.key for r in load_registry("fuss_desed").rows}
    assert {("T1", r, col) for r, col in got} <= known
    assert got[("Ours, Reverbant, Multi-source SI-SNRi", "Val (db)")] == 8.0   # best point
    assert got[("Ours, Dry, Multi-source SI-SNRi", "Eval (db)")] == 7.0
    assert got[("Baseline, Dry, Single-source SI-SNR", "Val (db)")] == 20.0
    # the best point has no single-source score: that cell stays empty
    assert ("Ours, Dry, Single-source SI-SNR", "Val (db)") not in got
    assert len(cells) == 2 * (4 + 1 + 2)
    assert all(c.get("corpus") == "mini" for c in cells)
    assert C.t1({}) == []


def test_headline_and_explanations_name_registry_cells():
    known = {r.key for r in load_registry("fuss_desed").rows}
    assert set(C.HEADLINE) <= known and set(C.EXPLANATIONS) <= known
    assert len(C.EXPLANATIONS) == 16


def test_foreground_pools_count_recordings_on_offer_and_events_placed_in_split_order():
    from reproductions.fuss_desed.separation_pipeline import _foreground_pools
    info = {"recordings_per_split": {
                "eval": {"background": ["b3"], "effects": ["e3"], "speech": ["s3", "s4"]},
                "train": {"background": ["b1", "b2"], "effects": ["e1", "e2"], "speech": ["s1"]}},
            "examples": [
                {"split": "train", "sources": [{"id": "b1"}, {"id": "e1", "pool": "effects"},
                                               {"id": "s1", "pool": "speech"},
                                               {"id": "e2", "pool": "effects"}]},
                {"split": "eval", "sources": [{"id": "b3"}, {"id": "s4", "pool": "speech"}]}]}
    pools = _foreground_pools(info)
    assert list(pools) == ["train", "eval"]
    assert pools["train"] == {"effects": {"recordings": 2, "events": 2},
                              "speech": {"recordings": 1, "events": 1}}
    assert pools["eval"] == {"effects": {"recordings": 1, "events": 0},
                             "speech": {"recordings": 2, "events": 1}}
    assert _foreground_pools({"examples": []}) == {}
