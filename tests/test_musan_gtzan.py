"""MUSAN and GTZAN: validators on official-layout fixtures, and the mini corpora."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.errors import DatasetError
from data_prep import gtzan, musan, sources

HAVE_DEBIAN_AUDIO = all(p.location.exists() for p in sources.PACKAGES.values())
debian = [pytest.mark.needs_debian_audio,
          pytest.mark.skipif(not HAVE_DEBIAN_AUDIO, reason="Debian recordings not installed")]


def tone(sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def make_musan(root: Path, per_subset: dict[str, dict[str, int]]) -> Path:
    """Official MUSAN layout with tiny 16 kHz WAVs, ANNOTATIONS, LICENSE and README."""
    for cat, subsets in per_subset.items():
        for sub, n in subsets.items():
            folder = root / cat / sub
            folder.mkdir(parents=True)
            lines = []
            for i in range(n):
                utt = f"{cat}-{sub}-{i:04d}"
                sf.write(folder / f"{utt}.wav", tone(16000, 0.3), 16000)
                lines.append(f"{utt} Classical N Some Artist" if cat == "music" else f"{utt} x")
            (folder / "ANNOTATIONS").write_text("\n".join(lines) + "\n")
            (folder / "LICENSE").write_text("CC\n")
    (root / "README").write_text("musan\n")
    return root


OFFICIAL = {"music": {"fma": 3, "rfm": 2}, "noise": {"free-sound": 4}, "speech": {"librivox": 3}}


def test_musan_counts_labels_and_expected(tmp_path, monkeypatch):
    root = make_musan(tmp_path / "musan", OFFICIAL)
    rep = musan.validate(tmp_path)  # the parent of musan/ is accepted too
    assert rep.root == root
    assert rep.found == {"music": 5, "noise": 4, "speech": 3}
    assert not rep.ok and rep.count_mismatches["music"] == (5, 660)
    m = rep.manifest
    assert set(m.columns) >= {"path", "category", "subset", "samplerate", "duration", "label"}
    assert dict(zip(m.category, m.label)) == {"noise": 0, "music": 1, "speech": 2}
    assert "music/rfm/music-rfm-0001.wav" in set(m.path) and set(m.samplerate) == {16000}
    assert set(m[m.category == "music"].vocals) == {"N"}
    monkeypatch.setattr(musan, "EXPECTED", {"music": 5, "noise": 4, "speech": 3})
    assert musan.validate(root).ok


def test_musan_bad_audio_is_listed_not_fatal(tmp_path, monkeypatch):
    root = make_musan(tmp_path, OFFICIAL)
    folder = root / "noise" / "free-sound"
    (folder / "noise-free-sound-0000.wav").write_bytes(b"RIFF....WAVEgarbage")
    (folder / "noise-free-sound-0001.wav").write_bytes(b"")
    nan = tone(16000, 0.3)
    nan[5] = np.nan
    sf.write(folder / "noise-free-sound-0002.wav", nan, 16000, subtype="FLOAT")
    sf.write(folder / "noise-free-sound-0003.wav", tone(8000, 0.3), 8000)
    monkeypatch.setattr(musan, "EXPECTED", {"music": 5, "noise": 4, "speech": 3})
    rep = musan.validate(root)
    reasons = dict(zip(rep.bad.path, rep.bad.reason))
    assert set(reasons) == {f"noise/free-sound/noise-free-sound-000{i}.wav" for i in range(4)}
    assert "cannot decode" in reasons["noise/free-sound/noise-free-sound-0000.wav"]
    assert "0 bytes" in reasons["noise/free-sound/noise-free-sound-0001.wav"]
    assert "NaN" in reasons["noise/free-sound/noise-free-sound-0002.wav"]
    assert "8000 Hz, expected 16000" in reasons["noise/free-sound/noise-free-sound-0003.wav"]
    assert (rep.manifest.category == "noise").sum() == 0 and len(rep.manifest) == 8
    assert rep.ok  # every file is present; bad ones are skipped and reported
    assert "noise-free-sound-0003.wav: sample rate is 8000 Hz" in rep.summary()
    rep.write(tmp_path / "report")
    assert len((tmp_path / "report" / "bad_files.csv").read_text().splitlines()) == 5


def test_musan_annotation_problems(tmp_path):
    root = make_musan(tmp_path, OFFICIAL)
    ann = root / "speech" / "librivox" / "ANNOTATIONS"
    ann.write_text(ann.read_text() + "speech-librivox-0099 x\n")
    (root / "speech" / "librivox" / "speech-librivox-0000.wav").rename(
        root / "speech" / "librivox" / "extra-0000.wav")
    (root / "noise" / "free-sound" / "ANNOTATIONS").unlink()
    rep = musan.validate(root)
    missing = dict(zip(rep.missing.path, rep.missing.reason))
    assert "listed in ANNOTATIONS" in missing["speech/librivox/speech-librivox-0099.wav"]
    assert "listed in ANNOTATIONS" in missing["speech/librivox/speech-librivox-0000.wav"]
    assert "noise/free-sound/ANNOTATIONS" in missing
    assert any("extra-0000" in n for n in rep.notes) and not rep.ok
    (root / "music" / "fma" / "ANNOTATIONS").write_text("music-fma-0000 Classical\n")
    with pytest.raises(DatasetError, match=r"music/fma/ANNOTATIONS.*\['vocals', 'artist'\]"):
        musan.validate(root)


def test_musan_root_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("MUSAN_ROOT", raising=False)
    with pytest.raises(DatasetError, match="MUSAN_ROOT is not set"):
        musan.validate()
    with pytest.raises(DatasetError, match="MUSAN_ROOT is not set"):
        musan.root(mini_if_unset=False)
    monkeypatch.setenv("MUSAN_ROOT", str(tmp_path / "absent"))
    with pytest.raises(DatasetError, match="absent.*MUSAN_ROOT"):
        musan.validate()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no MUSAN category folders.*MUSAN_ROOT"):
        musan.validate(tmp_path / "empty")
    make_musan(tmp_path / "m", {"music": {"fma": 1}})
    rep = musan.validate(tmp_path / "m")
    assert rep.missing.path.tolist() == ["noise/", "speech/"] and rep.found["speech"] == 0
    monkeypatch.setenv("MUSAN_ROOT", str(tmp_path / "m"))
    assert musan.root() == (tmp_path / "m", False)


def make_gtzan(root: Path, n_music: int, n_speech: int, seconds: float = 30.0) -> Path:
    for folder, n in (("music_wav", n_music), ("speech_wav", n_speech)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            sf.write(root / folder / f"{folder[:5]}{i}.wav", tone(22050, seconds), 22050)
    return root


def test_gtzan_validator(tmp_path, monkeypatch):
    root = make_gtzan(tmp_path / "music_speech", 3, 2)
    sf.write(root / "speech_wav" / "short.wav", tone(22050, 5.0), 22050)
    sf.write(root / "speech_wav" / "rate.wav", tone(16000, 30.0), 16000)
    (root / "music_wav" / "broken.wav").write_bytes(b"")
    rep = gtzan.validate(tmp_path)
    assert rep.root == root and rep.found == {"music": 4, "speech": 4}
    assert rep.count_mismatches == {"music": (4, 64), "speech": (4, 64)}
    assert dict(zip(rep.bad.path, rep.bad.reason)).keys() == {"speech_wav/rate.wav", "music_wav/broken.wav"}
    assert dict(zip(rep.manifest.category, rep.manifest.label)) == {"music": 1, "speech": 2}
    assert any("short.wav (5.0 s)" in n for n in rep.notes)
    assert any("60" in n for n in rep.notes)  # the paper's 60 + 60 is recorded
    monkeypatch.setattr(gtzan, "EXPECTED", {"music": 4, "speech": 4})
    assert gtzan.validate(root).ok


def test_gtzan_root_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("GTZAN_ROOT", raising=False)
    with pytest.raises(DatasetError, match="GTZAN_ROOT is not set"):
        gtzan.validate()
    with pytest.raises(DatasetError, match="no GTZAN music/speech folders.*GTZAN_ROOT"):
        gtzan.validate(tmp_path)


# ----------------------------------------------------------------------------- mini corpora

TINY_MUSAN = musan.MusanMiniConfig(max_files_per_subset=2)
TINY_GTZAN = gtzan.GtzanMiniConfig(n_speech_files=2, n_music_files=2)


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".done"}


@pytest.fixture(scope="module")
def tiny_minis(tmp_path_factory):
    if not HAVE_DEBIAN_AUDIO:
        pytest.skip("Debian recordings not installed")
    base = tmp_path_factory.mktemp("minis")
    return (musan.write_mini(base / "musan", seed=0, config=TINY_MUSAN, workers=2),
            gtzan.write_mini(base / "gtzan", seed=0, config=TINY_GTZAN, workers=1))


@pytest.mark.needs_debian_audio
def test_minis_validate_against_their_own_counts(tiny_minis):
    m, g = tiny_minis
    rep = musan.validate(m, mini=True)
    assert rep.ok and rep.is_mini and rep.found == {"music": 4, "noise": 4, "speech": 4}
    assert set(rep.manifest.samplerate) == {16000} and rep.bad.empty
    assert set(rep.manifest.subset) == {"allison", "june", "opsound", "drascula", "opensfx", "ufoai"}
    info = json.loads((m / "MINI.json").read_text())
    assert info["treatment"]["band_hz"] == [100.0, 3800.0] and info["seed"] == 0
    assert all(f["group"] and f["sources"] for f in info["files"])
    assert dict(zip(rep.manifest.path, rep.manifest.group)) == {f["path"]: f["group"] for f in info["files"]}
    for sub in ("music/opsound", "speech/june", "noise/ufoai"):
        assert (m / sub / "ANNOTATIONS").is_file() and (m / sub / "LICENSE").is_file()
    assert "CC-BY-SA-3.0" in (m / "NOTICE").read_text()
    grep = gtzan.validate(g, mini=True)
    assert grep.ok and set(grep.manifest.duration) == {30.0} and set(grep.manifest.samplerate) == {22050}
    with pytest.raises(DatasetError, match="mini=True"):
        musan.validate(m)
    assert musan.root(m) == (m, True)


@pytest.mark.needs_debian_audio
def test_minis_idempotent_and_deterministic(tiny_minis, tmp_path):
    m, _ = tiny_minis
    before = _digest(m)
    marker = (m / ".done").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert musan.write_mini(m, seed=0, config=TINY_MUSAN) == m
    assert time.perf_counter() - t0 < 0.5
    assert (m / ".done").stat().st_mtime_ns == marker and _digest(m) == before
    again = musan.write_mini(tmp_path / "again", seed=0, config=TINY_MUSAN, workers=1)
    assert _digest(again) == before  # same seed -> byte-identical corpus
    other = musan.write_mini(tmp_path / "again", seed=1, config=TINY_MUSAN, workers=1)
    assert json.loads((other / "MINI.json").read_text())["seed"] == 1 and _digest(other) != before
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "precious.txt").write_text("x")
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        musan.write_mini(tmp_path / "user", seed=0, config=TINY_MUSAN)


def _sources(files: list[dict]) -> set[str]:
    return {s["id"] for f in files for s in f["sources"]}


@pytest.mark.needs_debian_audio
def test_minis_are_disjoint(tiny_minis):
    m, g = tiny_minis
    mi, gi = (json.loads((p / "MINI.json").read_text()) for p in (m, g))
    assert not _sources(mi["files"]) & _sources(gi["files"])
    speakers = lambda info: {s for f in info["files"] for s in f["speakers"]}
    assert speakers(gi) == {"it_IT_m_Carlo"} and not speakers(mi) & speakers(gi)
    # The full default plans too: no recording, track or speaker in both corpora.
    full_m, full_g = musan.plan_mini(0), gtzan.plan_mini(7)
    ids = lambda specs: {p.rec.id for s in specs for p in s.pieces}
    groups = lambda specs: {p.rec.group for s in specs for p in s.pieces}
    assert not ids(full_m) & ids(full_g) and not groups(full_m) & groups(full_g)
    tracks_m = {i for i in ids(full_m) if i.startswith("drascula/")}
    tracks_g = {i for i in ids(full_g) if i.startswith("drascula/")}
    assert len(tracks_m) >= 2 * len(tracks_g) - 2 and tracks_g


@pytest.mark.needs_debian_audio
@pytest.mark.skipif(not HAVE_DEBIAN_AUDIO, reason="Debian recordings not installed")
def test_default_musan_plan_amounts():
    specs = musan.plan_mini(0)
    cats = {s.category for s in specs}
    assert cats == {"music", "noise", "speech"}
    # Windows of one track share its group; prompts are used once.
    music = [s for s in specs if s.category == "music"]
    assert len({s.group for s in music}) < len(music)
    prompts = [p.rec.id for s in specs if s.category == "speech" for p in s.pieces]
    assert len(prompts) == len(set(prompts))
    assert not [p for s in specs for p in s.pieces if "radiomessage" in p.rec.id or "tv_news" in p.rec.id]
