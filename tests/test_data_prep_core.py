"""Core data_prep: containers, catalogue, splits, treatment, validation helpers, paths, notice."""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.signal import welch

from common.errors import ConfigError, DatasetError
from data_prep import datasets, paths, sources
from data_prep.containers import read_opensfx_cat, read_pk3
from data_prep.notice import copyright_stanzas, file_licence, write_notice
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, active_rms, join_with_pauses, treat
from data_prep.validation import ValidationReport, check_audio_files, require_columns

HAVE_DEBIAN_AUDIO = all(p.location.exists() for p in sources.PACKAGES.values())


def wav_bytes(y: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def tone(sr: int, seconds: float = 0.2, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# ----------------------------------------------------------------------------- containers

def build_cat(entries: list[tuple[str | None, bytes]]) -> bytes:
    """OpenSFX layout: (u32 offset | 0x80000000 when named, u32 wav size) table, then entries."""
    table, body = [], b""
    start = 8 * len(entries)
    for name, wav in entries:
        offset = start + len(body)
        if name is not None:
            raw = name.encode() + b"\0"
            body += bytes([len(raw)]) + raw
            offset |= 0x80000000
        body += wav
        table.append(struct.pack("<II", offset, len(wav)))
    return b"".join(table) + body


def test_read_opensfx_cat_synthetic(tmp_path):
    y = tone(44100)
    empty = wav_bytes(np.zeros((0,), np.float32), 44100)  # header only, like entries 34 and 50
    blob = build_cat([('"Cow". By A. License: CC0.', wav_bytes(y, 44100)),
                      ('"Unused". Trivial empty sound file.', empty),
                      (None, wav_bytes(y[:1000], 22050))])
    path = tmp_path / "x.cat"
    path.write_bytes(blob)
    entries = read_opensfx_cat(path)
    assert [e.index for e in entries] == [0, 2]
    assert entries[0].title == "Cow" and entries[0].description.startswith('"Cow". By A.')
    assert entries[1].description == ""
    decoded, sr = sf.read(io.BytesIO(entries[0].wav), dtype="float32")
    assert sr == 44100 and np.allclose(decoded, y, atol=1e-4)


def test_read_opensfx_cat_truncated_names_file(tmp_path):
    blob = build_cat([("a", wav_bytes(tone(8000), 8000))])
    path = tmp_path / "broken.cat"
    path.write_bytes(blob[:-100])
    with pytest.raises(DatasetError, match="broken.cat.*entry 0"):
        read_opensfx_cat(path)


def test_read_pk3_synthetic(tmp_path):
    path = tmp_path / "x.pk3"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sound/b/two.ogg", b"2")
        zf.writestr("sound/a/one.ogg", b"1")
        zf.writestr("sound/a/readme.txt", b"t")
        zf.writestr("music/x.ogg", b"m")
        zf.writestr("sound/dir/", b"")
    assert read_pk3(path, prefix="sound/") == [("sound/a/one.ogg", b"1"), ("sound/b/two.ogg", b"2")]
    assert [n for n, _ in read_pk3(path)] == ["music/x.ogg", "sound/a/one.ogg", "sound/b/two.ogg"]
    (tmp_path / "bad.pk3").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="bad.pk3"):
        read_pk3(tmp_path / "bad.pk3")


@pytest.mark.needs_debian_audio
@pytest.mark.skipif(not HAVE_DEBIAN_AUDIO, reason="Debian recordings not installed")
def test_real_opensfx_cat():
    entries = read_opensfx_cat(sources.PACKAGES["openttd-opensfx"].location)
    indices = [e.index for e in entries]
    assert len(entries) == 71 and 34 not in indices and 50 not in indices
    info = sf.info(io.BytesIO(entries[0].wav))
    assert info.samplerate == 44100 and info.frames > 0
    assert all("License" in e.description for e in entries)


@pytest.mark.needs_debian_audio
@pytest.mark.skipif(not HAVE_DEBIAN_AUDIO, reason="Debian recordings not installed")
def test_real_ufoai_pk3():
    members = read_pk3(sources.PACKAGES["ufoai-sound"].location, prefix="sound/")
    folders = {n.split("/")[1] for n, _ in members}
    assert len(members) == 347 and {"ambience", "footsteps", "misc"} <= folders
    assert sf.info(io.BytesIO(dict(members)["sound/ambience/fire.ogg"])).duration > 5


# ----------------------------------------------------------------------------- catalogue

@pytest.mark.needs_debian_audio
@pytest.mark.skipif(not HAVE_DEBIAN_AUDIO, reason="Debian recordings not installed")
def test_catalogue_rules_and_labels():
    recs = sources.catalogue()
    assert recs == sources.catalogue()  # deterministic
    speech = [r for r in recs if r.role == "speech"]
    assert not [r for r in speech if "/silence/" in str(r.path) or r.path.name.startswith("beep")
                or r.path.name.endswith("-2tone.wav")]
    assert {r.speaker for r in speech} == {"en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo"}
    by_id = {r.id: r for r in recs}
    assert by_id["ufoai/footsteps/grass1"].label == "footsteps/grass"
    assert by_id["ufoai/footsteps/grass1"].group == by_id["ufoai/footsteps/grass4"].group
    assert by_id["ufoai/ambience/fire"].label == "ambience"
    # "Wind" (52) and "Heavy wind" (57) are cut from one original recording: one group.
    assert by_id["opensfx/52"].group == by_id["opensfx/57"].group
    assert by_id["opensfx/52"].group != by_id["opensfx/00"].group
    drascula = [r.id for r in recs if r.package == "drascula-music"]
    assert drascula[:3] == ["drascula/track1", "drascula/track2", "drascula/track3"]
    y = sources.read_recording(by_id["opensfx/03"], 16000)
    assert y.dtype == np.float32 and abs(len(y) / 16000 - 2.32) < 0.05


def test_catalogue_missing_package_names_install_command(monkeypatch, tmp_path):
    info = sources.PACKAGES["drascula-music"]
    monkeypatch.setitem(sources.PACKAGES, "drascula-music", replace(info, location=tmp_path / "nope"))
    with pytest.raises(DatasetError, match=r"apt-get install -y --no-install-recommends drascula-music"
                                           r".*make setup"):
        sources.catalogue(["drascula-music"])
    with pytest.raises(DatasetError, match="unknown recording package"):
        sources.catalogue(["no-such-package"])


# ----------------------------------------------------------------------------- splits

def test_group_split_keeps_groups_and_is_seeded():
    keys = [f"clip{i}" for i in range(300)]
    groups = [f"track{i % 37}" for i in range(300)]
    fr = {"train": 0.65, "val": 0.10, "test": 0.25}
    a = group_split(keys, groups, fr, seed=3)
    assert a == group_split(keys, groups, fr, seed=3)
    assert sorted(k for v in a.values() for k in v) == sorted(keys)
    where = {k: s for s, ks in a.items() for k in ks}
    for g in set(groups):
        assert len({where[k] for k, gg in zip(keys, groups) if gg == g}) == 1
    for s, f in fr.items():
        assert abs(len(a[s]) / len(keys) - f) < 0.06
    assert any(group_split(keys, groups, fr, seed=s) != a for s in range(4, 8))


def test_group_split_impossible_or_invalid():
    with pytest.raises(ValueError, match="2 groups cannot fill 3 splits"):
        group_split(["a", "b", "c"], ["g", "g", "h"], {"train": .6, "val": .2, "test": .2}, 0)
    with pytest.raises(ValueError, match="sum"):
        group_split(["a"], ["g"], {"train": .5}, 0)
    with pytest.raises(ValueError, match="keys but"):
        group_split(["a", "b"], ["g"], {"train": 1.0}, 0)
    few = group_split(list("abcde"), ["x", "x", "x", "y", "z"], {"train": .65, "val": .1, "test": .25}, 0)
    assert all(few.values())  # every split gets a group even when one group dominates


# ----------------------------------------------------------------------------- treatment

def _band_db(y, sr, lo, hi):
    f, p = welch(y, sr, nperseg=2048)
    return 10 * np.log10(p[(f >= lo) & (f < hi)].sum() / p.sum() + 1e-30)


def test_treatment_band_limit_identical_for_8k_and_44k():
    rng = np.random.default_rng(0)
    cfg = TreatmentConfig(samplerate=16000)
    out = {sr: treat(rng.standard_normal(sr * 4).astype(np.float32), sr, cfg) for sr in (8000, 44100)}
    for y in out.values():
        assert _band_db(y, 16000, 3950, 8000) < -55  # nothing above the shared 4 kHz roll-off
    edge = [_band_db(y, 16000, 3400, 3800) for y in out.values()]
    low = [_band_db(y, 16000, 0, 80) for y in out.values()]
    assert abs(edge[0] - edge[1]) < 1.5 and abs(low[0] - low[1]) < 1.5
    # Without the 8 kHz bottleneck the wideband input keeps ~30 dB more energy above 3.9 kHz.
    wide = treat(rng.standard_normal(44100 * 4).astype(np.float32), 44100,
                 TreatmentConfig(samplerate=16000, bottleneck_hz=None))
    assert _band_db(wide, 16000, 3950, 8000) > _band_db(out[44100], 16000, 3950, 8000) + 20


def test_treatment_level_and_stereo():
    cfg = TreatmentConfig(samplerate=16000)
    sr = 16000
    speechlike = np.concatenate([tone(sr, 1.0, 500), np.zeros(sr, np.float32), tone(sr, 1.0, 700)])
    stereo = np.stack([tone(sr, 2.0, 300) * 0.01, tone(sr, 2.0, 300) * 0.01], axis=1)
    for y in (speechlike, stereo):
        out = treat(y, sr, cfg)
        assert out.ndim == 1 and abs(20 * np.log10(active_rms(out, sr)) - cfg.target_rms_dbfs) < 0.5
    loud = TreatmentConfig(samplerate=16000, target_rms_dbfs=-1.0, peak_limit=0.5)
    assert np.max(np.abs(treat(speechlike, sr, loud))) <= 0.5 + 1e-6
    with pytest.raises(ConfigError, match="band_hz"):
        TreatmentConfig(samplerate=8000, band_hz=(100.0, 4500.0), bottleneck_hz=None)


def test_join_with_pauses():
    rng = np.random.default_rng(1)
    segs = [np.ones(100, np.float32), np.ones(50, np.float32), np.ones(10, np.float32)]
    y = join_with_pauses(segs, 1000, 0.2, rng)
    assert len(y) == 160 + 2 * 200 and y[100:300].sum() == 0
    a = join_with_pauses(segs, 1000, (0.1, 0.5), np.random.default_rng(5))
    b = join_with_pauses(segs, 1000, (0.1, 0.5), np.random.default_rng(5))
    assert np.array_equal(a, b) and 160 + 200 <= len(a) <= 160 + 1000


# ----------------------------------------------------------------------------- paths

def test_dataset_root_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("FOO_ROOT", raising=False)
    with pytest.raises(DatasetError, match=r"FOO_ROOT is not set.*repro prepare foo --mini"):
        paths.dataset_root("foo", "FOO_ROOT")
    monkeypatch.setenv("FOO_ROOT", str(tmp_path / "gone"))
    with pytest.raises(DatasetError, match=r"gone.*FOO_ROOT"):
        paths.dataset_root("foo", "FOO_ROOT")
    assert paths.dataset_root("foo", "FOO_ROOT", tmp_path) == tmp_path  # explicit root wins
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path))
    assert paths.mini_root("musan") == tmp_path / "mini" / "musan"


# ----------------------------------------------------------------------------- validation

def write_bad_files(folder: Path, sr: int) -> dict[str, str]:
    """Corrupt, empty, NaN and wrong-rate WAVs; returns {name: expected reason pattern}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f1.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    (folder / "f2.wav").write_bytes(b"")
    nan = tone(sr)
    nan[10:20] = np.nan
    sf.write(folder / "f3.wav", nan, sr, subtype="FLOAT")
    sf.write(folder / "f4.wav", tone(8000), 8000)
    sf.write(folder / "f5.wav", np.zeros(800, np.float32), sr)
    return {"f1.wav": "cannot decode", "f2.wav": "file is empty (0 bytes)",
            "f3.wav": "10 samples are NaN", "f4.wav": f"sample rate is 8000 Hz, expected {sr} Hz",
            "f5.wav": "silent"}


def test_check_audio_files_collects_reasons(tmp_path):
    expected = write_bad_files(tmp_path, 16000)
    sf.write(tmp_path / "good.wav", np.stack([tone(16000, 0.5)] * 2, axis=1), 16000)
    ok, bad = check_audio_files(sorted(tmp_path.glob("*.wav")), expected_sr=16000)
    assert list(ok["path"]) == [str(tmp_path / "good.wav")] and ok["channels"].iloc[0] == 2
    assert abs(ok["duration"].iloc[0] - 0.5) < 1e-6
    reasons = {Path(p).name: r for p, r in zip(bad["path"], bad["reason"])}
    assert set(reasons) == set(expected)
    for name, pattern in expected.items():
        assert pattern in reasons[name], (name, reasons[name])


def test_require_columns_and_report(tmp_path):
    with pytest.raises(DatasetError, match=r"meta.csv.*\['fold'\]"):
        require_columns(pd.DataFrame({"slice_file_name": []}), ["slice_file_name", "fold"],
                        tmp_path / "meta.csv")
    manifest = pd.DataFrame({"path": ["a.wav"], "duration": [1.5]})
    bad = pd.DataFrame({"path": ["b.wav"], "reason": ["file is empty (0 bytes)"]})
    rep = ValidationReport("x", tmp_path, manifest, bad=bad, expected={"c": 2}, found={"c": 2})
    assert rep.ok and "b.wav: file is empty" in rep.summary()
    rep.write(tmp_path / "out")
    assert pd.read_csv(tmp_path / "out" / "bad_files.csv")["path"].tolist() == ["b.wav"]
    assert (tmp_path / "out" / "missing_files.csv").is_file()
    d = rep.to_dict()
    assert d["files_found"] == {"c": 2} and d["total_duration_s"] == 1.5
    short = ValidationReport("x", tmp_path, manifest, expected={"c": 3}, found={"c": 2})
    assert not short.ok and short.count_mismatches == {"c": (2, 3)}


# ----------------------------------------------------------------------------- registry, notice

def test_registry():
    assert set(datasets.DATASETS) == {"musan", "gtzan", "urbansound8k", "tut_sed_2016",
                                      "sonyc_ust", "desed", "tau22", "fuss"}
    musan = datasets.get("musan")
    assert musan.ENV_VAR == "MUSAN_ROOT" and musan.SAMPLERATE == 16000
    # every dataset module fulfils the registry's contract
    for name in datasets.DATASETS:
        mod = datasets.get(name)
        assert mod.ENV_VAR == f"{name.upper()}_ROOT"
        assert all(callable(getattr(mod, f)) for f in ("validate", "root", "write_mini"))
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        datasets.get("nope")


def test_dep5_last_matching_stanza_wins(tmp_path):
    cp = tmp_path / "copyright"
    cp.write_text("Format: x\n\nFiles: *\nCopyright: Team\nLicense: GPL-2+\n\n"
                  "Files:\n base/sound/a.ogg\n base/sound/b/*\nCopyright:\n Someone\nLicense: CC-BY-3.0\n")
    st = copyright_stanzas(cp)
    assert file_licence(st, "base/sound/a.ogg") == ("Someone", "CC-BY-3.0")
    assert file_licence(st, "base/sound/b/c.ogg") == ("Someone", "CC-BY-3.0")
    assert file_licence(st, "base/sound/z.ogg") == ("Team", "GPL-2+")


def test_write_notice_names_licences(tmp_path):
    rec = sources.Recording("openttd-opensfx", "opensfx/00", "events", "Good Year", "opensfx/00",
                            Path("/x.cat"), "0", None, '"Good Year". By Janis Lukss. License: CC-BY 3.0.')
    text = write_notice(tmp_path, ["openttd-opensfx", "asterisk-core-sounds-it-wav"], [rec]).read_text()
    assert "CC-BY-3.0" in text and "Carlo Flora" in text
    assert "opensfx/00: \"Good Year\". By Janis Lukss" in text
