"""TAU22 Mobile: simulated devices (responses, dynamics, rejection rule, determinism), the
official-layout validator on hand-made trees, and the mini corpus built from Debian recordings."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import devices as dev
from data_prep import tau22, tau22_mini
from data_prep.sources import PACKAGES

needs_debian_audio = pytest.mark.needs_debian_audio
debian = pytest.mark.skipif(not all(PACKAGES[p].location.exists() for p in tau22_mini.MINI_PACKAGES),
                            reason="Debian recordings not installed")
SR = 44100
FAR = 1e9   # a corner frequency far outside the audio band: that filter does nothing


# ----------------------------------------------------------------------------- devices

def only(**kw) -> dev.DeviceModel:
    base = {"hp_hz": 1e-6, "lp_hz": FAR, "tilt_db_per_oct": 0.0, "peak_gain_db": 0.0}
    return dev.DeviceModel("x", **{**base, **kw})


def test_magnitude_hand_values():
    hp = only(hp_hz=200.0, hp_order=2)
    # Butterworth magnitude: -3.0103 dB at the corner, -10 log10(1 + 2^4) one octave below.
    assert dev.magnitude_db(hp, np.array([200.0]))[0] == pytest.approx(-3.0103, abs=1e-3)
    assert dev.magnitude_db(hp, np.array([100.0]))[0] == pytest.approx(-12.3045, abs=1e-3)
    lp = only(lp_hz=4000.0, lp_order=4)
    assert dev.magnitude_db(lp, np.array([8000.0]))[0] == pytest.approx(-24.0993, abs=1e-3)  # -10 log10(1 + 2^8)
    tilt = only(tilt_db_per_oct=3.0)
    assert dev.magnitude_db(tilt, np.array([500.0, 1000.0, 4000.0])) == pytest.approx([-3, 0, 6], abs=1e-9)
    peak = only(peak_hz=2000.0, peak_gain_db=6.0, peak_bw_oct=0.5)
    got = dev.magnitude_db(peak, np.array([2000.0, 2000.0 * 2 ** 0.5]))
    assert got == pytest.approx([6.0, 6.0 * np.exp(-0.5)], abs=1e-6)
    assert np.all(dev.magnitude_db(dev.IDENTITY, np.array([50.0, 5000.0])) == 0)


def fir_db(h, freqs, sr=SR, n=1 << 16):
    H = np.abs(np.fft.rfft(h, n))
    f = np.fft.rfftfreq(n, 1 / sr)
    return 20 * np.log10(np.interp(freqs, f, H))


@pytest.mark.parametrize("name", ["b", "c"])
def test_minimum_phase_fir_has_the_designed_magnitude(name):
    d = dev.PRESETS[name]
    h = dev.minimum_phase_fir(d, SR)
    freqs = np.array([100.0, 300.0, 1000.0, 1200.0, 3000.0, 6000.0])
    assert fir_db(h, freqs) == pytest.approx(dev.magnitude_db(d, freqs), abs=0.3)


def test_minimum_phase_fir_front_loads_its_energy():
    # Among filters with one magnitude the minimum-phase one has the largest partial energy
    # at every length; compare with the linear-phase (centred zero-phase) filter.
    d = dev.PRESETS["b"]
    h = dev.minimum_phase_fir(d, SR)
    mag = 10 ** (dev.magnitude_db(d, np.fft.rfftfreq(4096, 1 / SR)) / 20)
    lin = np.roll(np.fft.irfft(mag, 4096), 2048)
    e_min, e_lin = np.cumsum(h ** 2), np.cumsum(lin ** 2)
    assert e_min[-1] == pytest.approx(e_lin[-1], rel=1e-2)
    assert np.all(e_min >= e_lin - 1e-2 * e_lin[-1])
    assert e_min[int(0.005 * SR)] > 0.9 * e_min[-1]


def test_compressor_static_curve():
    d = only(comp_threshold_db=-30.0, comp_ratio=4.0, attack_ms=1.0, release_ms=10.0, makeup_db=0.0)
    t = np.arange(2 * SR) / SR
    for rms_db, expected in ((-10.0, -25.0), (-40.0, -40.0)):   # above: -30 + 20/4; below: unchanged
        x = np.sqrt(2) * 10 ** (rms_db / 20) * np.sin(2 * np.pi * 1000 * t)
        y = dev.compress(x, SR, d)[SR:]
        assert 10 * np.log10(np.mean(y ** 2)) == pytest.approx(expected, abs=0.3)


def test_saturation_is_mild_and_bounded():
    x = np.linspace(-1, 1, 1001)
    y = dev.saturate(x, 2.0)
    assert np.all(np.abs(y) <= np.abs(x) + 1e-12)
    assert np.allclose(y, -dev.saturate(-x, 2.0))
    assert dev.saturate(np.array([1e-3]), 2.0)[0] == pytest.approx(1e-3, rel=1e-5)


def test_response_distance_hand_value_and_level_invariance():
    # Tilt 1 dB/oct vs flat, over 64 log-spaced points spanning log2(7500/100) octaves:
    # std of an even grid = L sqrt((n^2 - 1) / 12) / (n - 1).
    L, n = np.log2(7500 / 100), 64
    assert dev.response_distance_db(only(tilt_db_per_oct=1.0), dev.IDENTITY) == pytest.approx(
        L * np.sqrt((n * n - 1) / 12) / (n - 1), abs=1e-6)
    assert dev.response_distance_db(only(gain_db=-6.0), dev.IDENTITY) == pytest.approx(0.0, abs=1e-9)
    assert dev.response_distance_db(dev.PRESETS["b"], dev.PRESETS["b"]) == 0.0


def test_device_draws_are_seeded_and_distinct():
    a, rej_a = dev.device_set(0, min_distance_db=3.0)
    b, rej_b = dev.device_set(0, min_distance_db=3.0)
    c, _ = dev.device_set(1, min_distance_db=3.0)
    assert a == b and rej_a == rej_b
    assert a["s1"] != c["s1"] and a["b"] == c["b"]            # presets fixed, draws seeded
    assert list(a) == ["a", "b", "c", "s1", "s2", "s3", "s4", "s5", "s6"]
    names = list(a)
    for i, x in enumerate(names[3:], 3):
        for y in names[:i]:
            assert dev.response_distance_db(a[x], a[y]) >= 3.0


def test_rejection_rule():
    base = [dev.IDENTITY, *dev.PRESETS.values()]
    drawn, rejected = dev.draw_devices([f"s{i}" for i in range(1, 7)], np.random.default_rng(5),
                                       base, min_distance_db=5.0)
    assert rejected > 0                       # a strict threshold rejects some draws
    for i, x in enumerate(drawn):               # every draw vs the base devices and earlier draws
        for y in base + drawn[:i]:
            assert dev.response_distance_db(x, y) >= 5.0
    with pytest.raises(ValueError, match="s1"):
        dev.draw_devices(["s1"], np.random.default_rng(0), base, min_distance_db=100.0, max_tries=20)


def test_apply_device_deterministic_and_changes_audio():
    x = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    d = dev.PRESETS["c"]
    y1 = dev.apply_device(x, SR, d, np.random.default_rng(3))
    y2 = dev.apply_device(x, SR, d, np.random.default_rng(3))
    assert np.array_equal(y1, y2) and y1.shape == x.shape and y1.dtype == np.float32
    assert not np.allclose(y1, x, atol=1e-3)
    assert np.array_equal(dev.apply_device(x, SR, dev.IDENTITY, np.random.default_rng(0)), x)


# ----------------------------------------------------------------------------- validator

NAMES = [  # (file name, split)
    ("audio/airport-lisbon-1000-40000-0-a.wav", "train"),
    ("audio/airport-lisbon-1000-40000-1-a.wav", "train"),
    ("audio/airport-lisbon-1000-40000-0-b.wav", "train"),
    ("audio/park-vienna-3-10-2-a.wav", "train"),
    ("audio/tram-paris-77-5-0-a.wav", "test"),
    ("audio/tram-paris-77-5-0-s1.wav", "test"),
    ("audio/tram-paris-77-5-0-s4.wav", "test"),
    ("audio/bus-milan-8-0-0-c.wav", ""),          # in meta.csv, in no fold
]


def make_tree(root, names=NAMES, meta_sep="\t"):
    rng = np.random.default_rng(0)
    rows = []
    for name, split in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, 0.1 * rng.standard_normal(SR), SR, subtype="PCM_24")
        f = tau22.parse_filename(name)
        rows.append((name, f["scene"], f["identifier"], f["device"], split))
    (root / "meta.csv").write_text(
        meta_sep.join(tau22.META_COLUMNS) + "\n"
        + "".join(meta_sep.join(r[:4]) + "\n" for r in rows))
    setup = root / "evaluation_setup"
    setup.mkdir(exist_ok=True)
    (setup / "fold1_train.csv").write_text(
        "filename\tscene_label\n" + "".join(f"{r[0]}\t{r[1]}\n" for r in rows if r[4] == "train"))
    (setup / "fold1_evaluate.csv").write_text(
        "filename\tscene_label\n" + "".join(f"{r[0]}\t{r[1]}\n" for r in rows if r[4] == "test"))
    (setup / "fold1_test.csv").write_text(
        "filename\n" + "".join(f"{r[0]}\n" for r in rows if r[4] == "test"))
    return root


def test_parse_filename():
    f = tau22.parse_filename("audio/street_traffic-london-164-4946-3-s5.wav")
    assert f == {"scene": "street_traffic", "city": "london", "location": "164", "segment": "4946",
                 "subsegment": 3, "device": "s5", "identifier": "london-164"}
    with pytest.raises(ValueError, match="6 dash-separated"):
        tau22.parse_filename("audio/airport-lisbon-1000-a.wav")


def test_validate_counts_and_manifest(tmp_path):
    rep = tau22.validate(make_tree(tmp_path))
    assert rep.found == {"segments": 8, "train": 4, "evaluate": 3, "test": 3,
                         "train_device_a_percent": 75, "train_unseen_devices": 0,
                         "locations_in_train_and_test": 0}
    assert rep.missing.empty and rep.bad.empty and len(rep.manifest) == 8
    assert not rep.ok and rep.count_mismatches["segments"] == (8, 230350)
    row = rep.manifest.set_index("filename").loc["audio/tram-paris-77-5-0-s4.wav"]
    assert (row["device"], row["identifier"], row["split"], row["samplerate"]) == ("s4", "paris-77", "test", SR)
    assert rep.manifest.set_index("filename").loc["audio/bus-milan-8-0-0-c.wav", "split"] == ""


def test_unseen_device_in_train_and_shared_location_are_counted(tmp_path):
    names = NAMES[:4] + [("audio/tram-paris-77-5-0-s4.wav", "train"),
                         ("audio/park-vienna-3-10-3-a.wav", "test")]
    rep = tau22.validate(make_tree(tmp_path, names))
    assert rep.found["train_unseen_devices"] == 1
    assert rep.found["locations_in_train_and_test"] == 1   # vienna-3


def test_missing_and_bad_files(tmp_path):
    root = make_tree(tmp_path)
    (root / NAMES[0][0]).unlink()
    sf.write(root / NAMES[1][0], np.zeros(SR // 2), SR)                 # 0.5 s
    sf.write(root / NAMES[3][0], 0.1 * np.ones(48000), 48000)           # wrong rate
    rep = tau22.validate(root)
    assert list(rep.missing["path"]) == [NAMES[0][0]]
    reasons = dict(zip(rep.bad["path"], rep.bad["reason"]))
    assert "22050 frames" in reasons[NAMES[1][0]]
    assert "48000 Hz" in reasons[NAMES[3][0]]
    assert len(rep.manifest) == 5


def test_comma_separated_meta_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="tab-separated"):
        tau22.validate(make_tree(tmp_path, meta_sep=","))


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("source_label", "device"), r"missing column\(s\) \['source_label'\]"),
    (lambda t: t.replace("tram-paris-77-5-0-s1.wav", "tram-paris-77-0-s1.wav"), "line 7"),
    (lambda t: t.replace("\tpark\t", "\tairport\t"), "line 5: column 'scene_label'"),
    (lambda t: t.replace("tram-paris-77-5-0-s1.wav\ttram", "tram-paris-77-5-0-s1.wav\t"), "empty 'scene_label'"),
])
def test_malformed_meta(tmp_path, mutate, message):
    root = make_tree(tmp_path)
    meta = root / "meta.csv"
    meta.write_text(mutate(meta.read_text()))
    with pytest.raises(DatasetError, match=message):
        tau22.validate(root)


def test_identifier_that_contradicts_the_name_is_noted(tmp_path):
    root = make_tree(tmp_path)
    meta = root / "meta.csv"
    meta.write_text(meta.read_text().replace("lisbon-1000\tb", "lisbon-9\tb"))
    rep = tau22.validate(root)
    assert any("line 4: 'lisbon-9'" in n for n in rep.notes)
    assert rep.manifest.set_index("filename").loc[NAMES[2][0], "identifier"] == "lisbon-9"


def test_unknown_scene_is_refused(tmp_path):
    names = NAMES + [("audio/beach-lisbon-5-0-0-a.wav", "")]
    with pytest.raises(DatasetError, match="'beach' is not one of"):
        tau22.validate(make_tree(tmp_path, names))


def test_malformed_fold_files(tmp_path):
    root = make_tree(tmp_path)
    train = root / "evaluation_setup" / "fold1_train.csv"
    train.write_text(train.read_text() + "audio/ghost-x-1-0-0-a.wav\tghost\n")
    with pytest.raises(DatasetError, match=r"fold1_train.csv: line 6: .* not in meta.csv"):
        tau22.validate(root)
    root = make_tree(tmp_path)
    evaluate = root / "evaluation_setup" / "fold1_evaluate.csv"
    evaluate.write_text(evaluate.read_text().replace("\ttram\n", "\tbus\n", 1))
    with pytest.raises(DatasetError, match="line 2: scene_label 'bus' differs"):
        tau22.validate(root)
    root = make_tree(tmp_path)
    (root / "evaluation_setup" / "fold1_test.csv").unlink()
    with pytest.raises(DatasetError, match="fold1_test.csv: file not found"):
        tau22.validate(root)


def test_official_folder_name_and_env_var(tmp_path, monkeypatch):
    make_tree(tmp_path / tau22.FOLDER)
    monkeypatch.setenv(tau22.ENV_VAR, str(tmp_path))
    path, is_mini = tau22.root()
    assert path == tmp_path / tau22.FOLDER and not is_mini
    with pytest.raises(DatasetError, match="MINI.json"):
        tau22.validate(tmp_path, mini=True)


def test_registered():
    from data_prep import datasets
    mod = datasets.get("tau22")
    assert mod.NAME == "tau22" and mod.ENV_VAR == "TAU22_ROOT" and mod.SAMPLERATE == 44100
    assert callable(mod.write_mini) and mod.EXPECTED["segments"] == 230350


# ----------------------------------------------------------------------------- mini corpus

def _rec(rid: str, group: str):
    from data_prep.sources import Recording
    return Recording("ufoai-sound", rid, "scene", rid, group, Path("/nonexistent"))


def test_long_recordings_are_cut_into_block_locations_and_edits_stay_whole():
    cfg = tau22_mini.Tau22MiniConfig(block_seconds=10, margin_s=2)
    recs = [_rec("ufoai/ambience/long", "ufoai/ambience/long"),      # 45 s: 41 usable seconds
            _rec("ufoai/ambience/short", "ufoai/ambience/short"),    # 15 s: one location
            _rec("ufoai/ambience/fire", "ufoai/ambience/fire"),      # 30 s, but fire1 is an
            _rec("ufoai/ambience/fire1", "ufoai/ambience/fire")]     # edit of it: whole
    durs = {"ufoai/ambience/long": 45.0, "ufoai/ambience/short": 15.0,
            "ufoai/ambience/fire": 30.0, "ufoai/ambience/fire1": 6.0}
    locs = tau22_mini.locations(recs, durs, cfg)
    long_ = {k: v for k, v in locs.items() if k[0] == "ufoai/ambience/long"}
    # 41 usable seconds from second 2: blocks of 10, the last one takes the remainder
    assert sorted(long_.values()) == [(2, 10, "ufoai/ambience/long@0"),
                                      (12, 10, "ufoai/ambience/long@1"),
                                      (22, 10, "ufoai/ambience/long@2"),
                                      (32, 11, "ufoai/ambience/long@3")]
    assert locs[("ufoai/ambience/short", 0)] == (0, 15, "ufoai/ambience/short")
    assert locs[("ufoai/ambience/fire", 0)] == (2, 26, "ufoai/ambience/fire")
    assert locs[("ufoai/ambience/fire1", 0)][2] == "ufoai/ambience/fire"


SMALL = tau22_mini.Tau22MiniConfig(train_segments_per_scene=12, test_segments_per_scene=2)


@pytest.fixture(scope="module")
def small_mini(tmp_path_factory):
    return tau22_mini.write_mini(tmp_path_factory.mktemp("tau") / "mini", seed=0, config=SMALL)


@needs_debian_audio
@debian
def test_mini_validates_and_keeps_locations_apart(small_mini):
    rep = tau22.validate(small_mini, mini=True)
    assert rep.ok, rep.summary()
    assert rep.found["train_unseen_devices"] == 0 and rep.found["locations_in_train_and_test"] == 0
    info = json.loads((small_mini / "MINI.json").read_text())
    assert sorted(info["scenes"]) == sorted(tau22_mini.SCENE_RULES) and len(info["scenes"]) == 10
    groups = {}
    for f in info["files"]:
        groups.setdefault(f["group"], set()).add(f["split"])
        assert f["simulated_device"] == (f["device"] != "a")
    assert all(len(s) == 1 for s in groups.values())      # a recording's group in one split
    assert set(info["test_files_per_device"]) == set(tau22.DEVICES)
    assert not set(info["train_files_per_device"]) & set(tau22.UNSEEN_DEVICES)
    assert info["train_files_per_device"]["a"] > 5 * info["train_files_per_device"]["b"]
    assert "SIMULATED" in (small_mini / "NOTICE").read_text()
    with pytest.raises(DatasetError, match="mini=True"):
        tau22.validate(small_mini)


@pytest.mark.slow
@needs_debian_audio
@debian
def test_mini_is_deterministic(small_mini, tmp_path):
    again = tau22_mini.write_mini(tmp_path / "again", seed=0, config=SMALL)
    a = json.loads((small_mini / "MINI.json").read_text())
    b = json.loads((again / "MINI.json").read_text())
    for d in (a, b):
        d.pop("build_seconds")
    assert a == b
    assert (small_mini / "meta.csv").read_text() == (again / "meta.csv").read_text()
    for f in a["files"][::37]:
        assert (small_mini / f["path"]).read_bytes() == (again / f["path"]).read_bytes()


@pytest.mark.slow
@needs_debian_audio
@debian
def test_default_mini_size_imbalance_and_build_time(tmp_path):
    root = tau22_mini.write_mini(tmp_path / "mini", seed=0)
    info = json.loads((root / "MINI.json").read_text())
    assert 1100 <= info["counts"]["segments"] <= 1500
    assert info["counts"]["train_device_a_percent"] == 73
    assert info["build_seconds"] < 60
