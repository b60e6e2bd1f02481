"""FUSS: RT60 measurement and mixture quantisation, the official-layout validator on hand-made
trees (bad, missing, malformed lists), and the mini corpus built from Debian recordings."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import fuss, fuss_mini, rooms
from data_prep.sources import PACKAGES

needs_debian_audio = pytest.mark.needs_debian_audio
debian = pytest.mark.skipif(not all(PACKAGES[p].location.exists() for p in fuss_mini.PACKAGES),
                            reason="Debian recordings not installed")
SR = 16000
N = 160000


# ----------------------------------------------------------------------------- rooms

@pytest.mark.parametrize("t60", [0.3, 0.8])
def test_measure_rt60_on_a_known_exponential_decay(t60):
    # Amplitude exp(-3 ln(10) t / T) gives energy exp(-6 ln(10) t / T): -60 dB at t = T.
    t = np.arange(int(2.5 * t60 * SR)) / SR
    h = np.random.default_rng(0).standard_normal(len(t)) * np.exp(-3 * np.log(10) * t / t60)
    assert rooms.measure_rt60(h, SR) == pytest.approx(t60, rel=0.03)


def test_measure_rt60_agrees_with_pyroomacoustics_and_rooms_are_seeded():
    import pyroomacoustics as pra

    spec = rooms.draw_room(np.random.default_rng(3), 2, (0.4, 0.6))
    assert spec == rooms.draw_room(np.random.default_rng(3), 2, (0.4, 0.6))
    h = rooms.room_rirs(spec, SR)[0]
    ours = rooms.measure_rt60(h, SR)
    theirs = pra.experimental.measure_rt60(h, fs=SR, decay_db=30)
    assert ours == pytest.approx(theirs, rel=0.1)
    assert 0.5 * spec.rt60_target_s < ours < 2.0 * spec.rt60_target_s
    with pytest.raises(ValueError, match="does not fall"):
        rooms.measure_rt60(np.ones(100), SR)


def test_quantised_mixture_is_the_exact_sum():
    rng = np.random.default_rng(0)
    src = 0.2 * rng.uniform(-1, 1, (4, 1000))
    q, mix = fuss_mini.quantise_mixture(src)
    assert q.dtype == np.int16 and np.array_equal(mix.astype(np.int64), q.astype(np.int64).sum(0))
    with pytest.raises(ValueError, match="overflows"):
        fuss_mini.quantise_mixture(np.full((4, 10), 0.9))


def test_reverberate_modes_match_numpy():
    rng = np.random.default_rng(1)
    x, h = rng.standard_normal(400), rng.standard_normal(31)
    assert np.allclose(fuss_mini.reverberate(x, h, "same"), np.convolve(x, 10 * h, "same"))
    assert np.allclose(fuss_mini.reverberate(x, h, "causal"), np.convolve(x, 10 * h)[:400])


# ----------------------------------------------------------------------------- validator

EXAMPLES = {  # split -> [(example, sources)]
    "train": [("example00000", ["background0"]),
              ("example00001", ["background0", "foreground0"]),
              ("example00002", ["background0", "foreground0", "foreground1", "foreground2"])],
    "validation": [("example00000", ["background0", "foreground0"])],
    "eval": [("example00000", ["background0", "foreground0", "foreground1"])],
}


def make_tree(root, versions=fuss.VERSIONS, n=N):
    rng = np.random.default_rng(0)
    for version in versions:
        vroot = root / version
        for split, examples in EXAMPLES.items():
            lines = []
            for ex, srcs in examples:
                total = np.zeros(n)
                paths = []
                for s in srcs:
                    y = np.round(0.05 * rng.standard_normal(n) * 32768) / 32768
                    rel = f"{split}/{ex}_sources/{s}_sound.wav"
                    (vroot / rel).parent.mkdir(parents=True, exist_ok=True)
                    sf.write(vroot / rel, y, SR, subtype="PCM_16")
                    total += y
                    paths.append(rel)
                sf.write(vroot / f"{split}/{ex}.wav", total, SR, subtype="PCM_16")
                lines.append("\t".join([f"{split}/{ex}.wav", *paths]))
            (vroot / f"{split}_example_list.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("fuss"))


def copy_tree(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_validate_counts_manifest_and_consistency(tree):
    rep = fuss.validate(tree, check_mixtures=True)
    assert rep.found == {"ssdata/train": 3, "ssdata/validation": 1, "ssdata/eval": 1,
                         "ssdata_reverb/train": 3, "ssdata_reverb/validation": 1,
                         "ssdata_reverb/eval": 1}
    assert rep.missing.empty and rep.bad.empty and not rep.ok
    assert rep.count_mismatches["ssdata/train"] == (3, 20000)
    assert sorted(rep.manifest[rep.manifest["version"] == "ssdata"]["n_sources"]) == [1, 2, 2, 3, 4]
    assert not any("not the sum" in n for n in rep.notes)


def test_missing_bad_and_inconsistent_files(tree, tmp_path):
    root = copy_tree(tree, tmp_path / "t")
    v = root / "ssdata"
    (v / "train/example00001_sources/foreground0_sound.wav").unlink()
    sf.write(v / "train/example00002_sources/foreground2_sound.wav", np.zeros(N), 8000)
    sf.write(v / "validation/example00000.wav", np.zeros(N // 2), SR)
    sf.write(v / "eval/example00000.wav", np.full(N, 0.5), SR, subtype="PCM_16")
    rep = fuss.validate(root, check_mixtures=True)
    assert list(rep.missing["path"]) == ["ssdata/train/example00001_sources/foreground0_sound.wav"]
    reasons = dict(zip(rep.bad["path"], rep.bad["reason"]))
    assert "8000 Hz" in reasons["ssdata/train/example00002_sources/foreground2_sound.wav"]
    assert "80000 frames" in reasons["ssdata/validation/example00000.wav"]
    dry = rep.manifest[rep.manifest["version"] == "ssdata"]
    assert list(dry["mixture"]) == ["train/example00000.wav", "eval/example00000.wav"]
    assert any("not the sum" in n and "ssdata/eval/example00000.wav" in n for n in rep.notes)


@pytest.mark.parametrize("line, message", [
    ("train/example00009.wav", r"line 4: 1 tab-separated field\(s\)"),
    ("train/example00009.wav" + "\ttrain/example00009_sources/background0_sound.wav" * 5, "line 4: 6"),
    ("validation/example00009.wav\ttrain/example00009_sources/background0_sound.wav",
     "line 4, column 1"),
    ("train/example00009.wav\ttrain/example00008_sources/background0_sound.wav", "line 4, column 2"),
    ("train/example00009.wav\ttrain/example00009_sources/fg0_sound.wav", "line 4, column 2"),
    (("train/example00009.wav\ttrain/example00009_sources/foreground0_sound.wav"
      "\ttrain/example00009_sources/background0_sound.wav"), "background source must come first"),
    ("train/example00000.wav\ttrain/example00000_sources/background0_sound.wav", "listed twice"),
])
def test_malformed_list_lines(tree, tmp_path, line, message):
    root = copy_tree(tree, tmp_path / "t")
    lst = root / "ssdata" / "train_example_list.txt"
    lst.write_text(lst.read_text() + line + "\n")
    with pytest.raises(DatasetError, match=message):
        fuss.validate(root)


def test_absent_version_and_list(tmp_path):
    root = make_tree(tmp_path / "t", versions=("ssdata",), n=1600)
    (root / "ssdata" / "eval_example_list.txt").unlink()
    rep = fuss.validate(root)
    assert "ssdata_reverb/" in set(rep.missing["path"])
    assert "ssdata/eval_example_list.txt" in set(rep.missing["path"])
    assert len(rep.bad) == 13    # 0.1 s files (train 3 + 7, validation 1 + 2), not 10 s
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="neither ssdata/ nor ssdata_reverb/"):
        fuss.validate(tmp_path / "empty")


def test_env_var_and_registry(tree, monkeypatch):
    from data_prep import datasets
    monkeypatch.setenv(fuss.ENV_VAR, str(tree))
    assert fuss.root() == (tree, False)
    mod = datasets.get("fuss")
    assert mod.SAMPLERATE == 16000 and mod.EXPECTED["ssdata_reverb/train"] == 20000
    with pytest.raises(DatasetError, match="MINI.json"):
        fuss.validate(tree, mini=True)


# ----------------------------------------------------------------------------- mini corpus

def test_join_prompts_joins_one_voice_with_pauses_until_the_target_and_cuts_no_prompt():
    from pathlib import Path
    from data_prep.sources import Recording

    def prompt(speaker, name):
        return Recording("asterisk", f"{speaker}/{name}", "speech", "speech", f"{speaker}/{name}",
                         Path("/nowhere"), None, speaker)
    pool = [prompt("a", f"p{i}") for i in range(6)] + [prompt("b", "q0")]
    second = int(SR)
    audio = lambda rec: np.ones(second)              # every prompt: 1 s, active throughout
    y, parts = fuss_mini.join_prompts(pool[0], pool, int(2.5 * SR), (0.2, 0.2),
                                      np.random.default_rng(0), audio, exclude={"a/p1"})
    assert parts[0] == pool[0] and {r.speaker for r in parts} == {"a"}
    assert "a/p1" not in [r.id for r in parts] and len(set(parts)) == len(parts)
    # 1 s + 0.2 s + 1 s = 2.2 s < 2.5 s, so a third prompt is joined whole: 3.4 s.
    assert len(parts) == 3 and len(y) == int(3.4 * SR)
    assert np.all(y[second:second + int(0.2 * SR)] == 0) and np.all(y[:second] == 1)
    # A voice with no other prompt gives the first prompt alone.
    y, parts = fuss_mini.join_prompts(pool[-1], pool, 5 * SR, (0.2, 0.2),
                                      np.random.default_rng(0), audio, exclude=set())
    assert parts == [pool[-1]] and len(y) == second


def test_select_sorts_recordings_into_backgrounds_and_two_foreground_pools():
    from pathlib import Path
    from data_prep.sources import Recording

    def rec(package, rid, role="events", label="x"):
        return Recording(package, rid, role, label, rid, Path("/nowhere"))
    recs = [rec("ufoai-sound", "ufoai/ambience/fire1"), rec("ufoai-sound", "ufoai/footsteps/sand1"),
            rec("ufoai-sound", "ufoai/weapons/laser"),                 # neither bed nor event
            rec("openttd-opensfx", "opensfx/12", label="Wind"),        # a bed in OpenSFX: excluded
            rec("openttd-opensfx", "opensfx/13", label="Horn"),
            rec("heroes-sound-effects", "heroes/bonus"),
            rec("asterisk-core-sounds-it-wav", "it_IT_m_Carlo/activated", role="speech")]
    bg, pools = fuss_mini.select(recs)
    assert [r.id for r in bg] == ["ufoai/ambience/fire1"]
    assert [r.id for r in pools["effects"]] == ["ufoai/footsteps/sand1", "opensfx/13", "heroes/bonus"]
    assert [r.id for r in pools["speech"]] == ["it_IT_m_Carlo/activated"]
    with pytest.raises(DatasetError, match="speech"):
        fuss_mini.select(recs[:-1])


SHORT = fuss_mini.FussMiniConfig(duration_s=4.0, n_train=8, n_validation=4, n_eval=4,
                                 rooms_per_split=(2, 1, 1))


@pytest.fixture(scope="module")
def short_mini(tmp_path_factory):
    return fuss_mini.write_mini(tmp_path_factory.mktemp("fm") / "mini", seed=0, config=SHORT)


@needs_debian_audio
@debian
def test_mini_validates_is_consistent_and_split_by_recording(short_mini):
    rep = fuss.validate(short_mini, mini=True, check_mixtures=True)
    assert rep.ok, rep.summary()
    assert not any("not the sum" in n for n in rep.notes)
    info = json.loads((short_mini / "MINI.json").read_text())
    assert info["duration_s"] == 4.0 and info["samplerate"] == SR
    assert all(set(v) == {"1", "2", "3", "4"} and min(v.values()) >= 1
               for v in info["mixtures_by_sources"].values())
    split_of = {}
    for ex in info["examples"]:
        for s in ex["sources"]:
            split_of.setdefault(s["group"], set()).add(ex["split"])
    assert all(len(v) == 1 for v in split_of.values())    # no recording on two sides of a split
    for r in info["rooms"]:
        assert r["rt60_target_s"] > 0 and all(m is None or m > 0 for m in r["rt60_measured_s"])
    # Exact mixture consistency on the decoded files, dry and reverberant.
    ex = info["examples"][-1]
    for version in fuss.VERSIONS:
        mix, _ = sf.read(short_mini / version / ex["mixture"], dtype="int16")
        total = sum(sf.read(short_mini / version / s["path"], dtype="int16")[0].astype(np.int64)
                    for s in ex["sources"])
        assert np.array_equal(mix.astype(np.int64), total)
    dry = (short_mini / "ssdata" / "train_example_list.txt").read_text()
    assert dry == (short_mini / "ssdata_reverb" / "train_example_list.txt").read_text()


@pytest.mark.slow
@needs_debian_audio
@debian
def test_mini_is_deterministic(short_mini, tmp_path):
    again = fuss_mini.write_mini(tmp_path / "again", seed=0, config=SHORT)
    a = json.loads((short_mini / "MINI.json").read_text())
    b = json.loads((again / "MINI.json").read_text())
    for d in (a, b):
        d.pop("build_seconds"), d.pop("room_seconds")
    assert a == b
    ex = a["examples"][3]
    for version in fuss.VERSIONS:
        for rel in [ex["mixture"], *[s["path"] for s in ex["sources"]]]:
            assert (short_mini / version / rel).read_bytes() == (again / version / rel).read_bytes()
    other = fuss_mini.write_mini(tmp_path / "other", seed=1, config=SHORT)
    c = json.loads((other / "MINI.json").read_text())
    assert c["examples"] != a["examples"]


@pytest.mark.slow
@needs_debian_audio
@debian
def test_default_mini_build_time(tmp_path):
    root = fuss_mini.write_mini(tmp_path / "mini", seed=0)
    info = json.loads((root / "MINI.json").read_text())
    assert info["counts"]["ssdata/train"] == 96 and info["duration_s"] == 10.0
    assert info["build_seconds"] < 60
    # Both foreground pools reach every split, in about the configured proportion.
    fg = [(e["split"], s["package"]) for e in info["examples"] for s in e["sources"][1:]]
    for split in fuss.SPLITS:
        packages = [p for sp, p in fg if sp == split]
        speech = sum(p.startswith("asterisk-core-sounds") for p in packages)
        assert 0 < speech < len(packages)
    speech = sum(p.startswith("asterisk-core-sounds") for _, p in fg)
    assert 0.35 < speech / len(fg) < 0.65
    # Speech events are utterances of joined prompts of one voice, at least 2 s unless the
    # voice ran out of prompts in that split.
    utterances = [s for e in info["examples"] for s in e["sources"][1:] if s["pool"] == "speech"]
    assert np.mean([s["duration_s"] for s in utterances]) > 2.0
    assert all(len({p.split("/")[0] for p in s.get("parts", [s["id"]])}) == 1 for s in utterances)
