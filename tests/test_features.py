"""Feature extractors: frame counts of the specs, presets == the libraries' own calls."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest
import python_speech_features as psf

from common import features as F
from reproductions.drossos_sed import features as DF
from common.errors import ConfigError


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


# --- python_speech_features ------------------------------------------------------------------

# psf_mfcc's arguments for the SwishNet seed code's call (swishnet spec §2.2), written out here;
# the package's own settings are checked against the seed call in test_swishnet_preprocessing.
SEED_CODE = dict(samplerate=16000, winlen=0.025, winstep=0.015, numcep=20, nfilt=32, nfft=512,
                 lowfreq=0.0, highfreq=None, preemph=0.97, ceplifter=22, append_energy=True,
                 window="rectangular")
PAPER = {**SEED_CODE, "winstep": 0.010}


# swishnet spec §2.2 table: frames per clip at 16 kHz, 15 ms hop (seed code) / 10 ms (paper).
@pytest.mark.parametrize("clip_s, report_frames, paper_frames",
                         [(0.5, 33, 49), (1.0, 66, 99), (2.0, 133, 199)])
def test_psf_frames_per_clip_match_swishnet_table(clip_s, report_frames, paper_frames):
    y = _noise(int(clip_s * 16000))
    report = F.psf_mfcc(y, **SEED_CODE)
    paper = F.psf_mfcc(y, **PAPER)
    assert report.shape == (report_frames, 20) and report.dtype == np.float32
    assert paper.shape == (paper_frames, 20) and paper.dtype == np.float32
    assert F.psf_num_frames(len(y), samplerate=16000, winlen=0.025, winstep=0.015) == report_frames
    assert F.psf_num_frames(len(y), samplerate=16000, winlen=0.025, winstep=0.010) == paper_frames


def test_psf_mfcc_equals_the_library_call():
    # The seed notebook: mfcc(sig, 16000, numcep=20, nfilt=32, winlen=0.025, winstep=0.015)
    # with every other argument left at psf's defaults.
    y = _noise(8000, seed=1)
    expected = psf.mfcc(y.astype(np.float64), 16000, numcep=20, nfilt=32, winlen=0.025,
                        winstep=0.015).astype(np.float32)
    np.testing.assert_array_equal(F.psf_mfcc(y, **SEED_CODE), expected)
    # highfreq None is psf's Nyquist rule
    np.testing.assert_array_equal(F.psf_mfcc(y, **{**SEED_CODE, "highfreq": 8000.0}), expected)


def test_psf_mfcc_args_picks_every_argument_by_name():
    class Cfg:
        pass
    cfg = Cfg()
    for name, value in {**SEED_CODE, "unrelated": 1}.items():
        setattr(cfg, name, value)
    assert F.psf_mfcc_args(cfg) == SEED_CODE
    # every keyword of psf_mfcc is listed (no hidden default)
    assert set(F.PSF_MFCC_ARGS) == set(SEED_CODE)


def test_psf_mfcc_requires_every_argument():
    partial = {k: v for k, v in SEED_CODE.items() if k != "preemph"}
    with pytest.raises(TypeError, match="preemph"):
        F.psf_mfcc(_noise(800), **partial)


def test_psf_options_reach_the_library():
    y = _noise(16000, seed=2)
    base = F.psf_mfcc(y, **SEED_CODE)
    for change in ({"window": "hamming"}, {"append_energy": False}, {"preemph": 0.0},
                   {"ceplifter": 0}, {"highfreq": 4000.0}):
        other = F.psf_mfcc(y, **{**SEED_CODE, **change})
        assert other.shape == base.shape
        assert not np.array_equal(other, base), change
    # appendEnergy replaces c0 by the log frame energy; the other coefficients are untouched.
    no_energy = F.psf_mfcc(y, **{**SEED_CODE, "append_energy": False})
    np.testing.assert_array_equal(no_energy[:, 1:], base[:, 1:])


@pytest.mark.parametrize("change, field", [({"window": "kaiser"}, "window"),
                                           ({"numcep": 40}, "numcep"), ({"nfft": 256}, "nfft"),
                                           ({"highfreq": 9000.0}, "highfreq"),
                                           ({"winstep": 0.0}, "winstep")])
def test_psf_rejects_bad_values_naming_the_argument(change, field):
    with pytest.raises(ConfigError, match=rf"^psf_mfcc\.{field}="):
        F.psf_mfcc(_noise(8000), **{**SEED_CODE, **change})
    with pytest.raises(ConfigError, match=rf"^features\.{field}="):
        F.check_psf_mfcc_args("features", **{**SEED_CODE, **change})


def test_psf_rejects_multichannel_input():
    with pytest.raises(ConfigError, match="mono"):
        F.psf_mfcc(np.zeros((1600, 2), np.float32), **SEED_CODE)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DF.MONO_MFCC.n_mfcc = 13  # type: ignore[misc]


# --- librosa MFCC ----------------------------------------------------------------------------

def _edge_frames(cfg: F.LibrosaMfccConfig) -> int:
    """Frames whose window reaches into the centre padding."""
    return int(np.ceil((cfg.n_fft // 2) / cfg.hop_length))


def test_drossos_mono_preset_equals_librosa_defaults():
    # Spec: librosa.feature.mfcc(y, sr=22050, n_mfcc=40) with librosa defaults. The seed
    # (librosa 0.8) padded frames by reflection; librosa 0.11 pads with zeros.
    y = _noise(22050 * 2, seed=3)
    ours = F.librosa_mfcc(y, DF.MONO_MFCC)
    seed_era = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, pad_mode="reflect").T
    np.testing.assert_array_equal(ours, seed_era)
    assert ours.shape == (1 + len(y) // 512, 40) and ours.dtype == np.float32

    today = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40).T
    differs = np.flatnonzero(np.any(ours != today, axis=1))
    edge = _edge_frames(DF.MONO_MFCC)
    assert differs.size > 0
    assert np.all((differs < edge) | (differs >= len(ours) - edge))


def test_drossos_poly_report_preset_equals_librosa_call():
    y = _noise(22050, seed=4)
    ours = F.librosa_mfcc(y, DF.POLY_REPORT_MFCC)
    expected = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_mels=40, n_fft=440,
                                    hop_length=220, pad_mode="reflect").T
    np.testing.assert_array_equal(ours, expected)
    assert ours.shape == (1 + 22050 // 220, 40)  # 10 ms frames


def test_librosa_mfcc_hidden_db_defaults_are_fields():
    # A noise burst in silence spans > 80 dB, so librosa's hidden 80 dB floor (db_top_db)
    # must change the result when it is switched off.
    burst = np.zeros(22050, np.float32)
    burst[5000:6000] = _noise(1000, seed=6)
    floored = F.librosa_mfcc(burst, DF.POLY_REPORT_MFCC)
    np.testing.assert_array_equal(
        floored, librosa.feature.mfcc(y=burst, sr=22050, n_mfcc=40, n_mels=40, n_fft=440,
                                      hop_length=220, pad_mode="reflect").T)
    unfloored = F.librosa_mfcc(burst, dataclasses.replace(DF.POLY_REPORT_MFCC,
                                                          db_top_db=None))
    assert not np.array_equal(floored, unfloored)
    y = _noise(22050, seed=5)
    base = F.librosa_mfcc(y, DF.POLY_REPORT_MFCC)
    lifted = F.librosa_mfcc(y, dataclasses.replace(DF.POLY_REPORT_MFCC, lifter=22.0))
    assert lifted.shape == base.shape and not np.array_equal(lifted, base)


@pytest.mark.parametrize("change", [{"win_length": 4096}, {"fmax": 20000.0}, {"n_mfcc": 200},
                                    {"dct_type": 4}, {"hop_length": 0}])
def test_librosa_mfcc_config_rejects_bad_values(change):
    with pytest.raises(ConfigError):
        dataclasses.replace(DF.MONO_MFCC, **change)


# --- log-mel ---------------------------------------------------------------------------------

def test_drossos_paper_logmel_framing_and_band_of_a_tone():
    cfg = DF.POLY_PAPER_LOGMEL
    assert (cfg.sr, cfg.win_length, cfg.hop_length, cfg.window, cfg.n_mels) == \
        (44100, 1764, 882, "hamming", 40)
    t = np.arange(44100) / 44100
    y = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    feats = F.librosa_logmel(y, cfg)
    assert feats.shape == (1 + 44100 // 882, 40) and feats.dtype == np.float32
    # The loudest band (interior frames) is the mel band whose centre is nearest 1 kHz.
    centres = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax,
                                      htk=cfg.htk)[1:-1]
    loudest = np.argmax(feats[5:-5].mean(axis=0))
    assert abs(int(loudest) - int(np.argmin(np.abs(centres - 1000.0)))) <= 1
    # Silence gives the log of the offset, not -inf.
    silent = F.librosa_logmel(np.zeros(8820, np.float32), cfg)
    np.testing.assert_allclose(silent, np.log(np.float32(cfg.log_offset)), rtol=1e-6)


def test_logmel_window_length_is_used():
    cfg = DF.POLY_PAPER_LOGMEL
    y = _noise(44100, seed=7)
    full = F.librosa_logmel(y, dataclasses.replace(cfg, win_length=cfg.n_fft))
    assert not np.array_equal(F.librosa_logmel(y, cfg), full)


def test_logmel_db_scale_equals_power_to_db():
    cfg = dataclasses.replace(DF.POLY_PAPER_LOGMEL, scale="db", log_offset=None,
                              db_ref=1.0, db_amin=1e-10, db_top_db=80.0)
    y = _noise(44100, seed=8)
    mel = librosa.feature.melspectrogram(y=y, sr=44100, n_fft=2048, hop_length=882,
                                         win_length=1764, window="hamming", n_mels=40,
                                         pad_mode="constant")
    np.testing.assert_array_equal(F.librosa_logmel(y, cfg), librosa.power_to_db(mel).T)


def test_logmel_requires_the_fields_of_its_scale():
    with pytest.raises(ConfigError, match="log_offset"):
        dataclasses.replace(DF.POLY_PAPER_LOGMEL, log_offset=None)
    with pytest.raises(ConfigError):
        dataclasses.replace(DF.POLY_PAPER_LOGMEL, scale="db")
    with pytest.raises(ConfigError, match="scale"):
        dataclasses.replace(DF.POLY_PAPER_LOGMEL, scale="ln")


# --- helpers / imports -----------------------------------------------------------------------

def test_pad_or_trim():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    padded = F.pad_or_trim(x, 6)
    assert padded.shape == (6, 3) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:4], x)
    assert not padded[4:].any()
    np.testing.assert_array_equal(F.pad_or_trim(x, 2), x[:2])
    np.testing.assert_array_equal(F.pad_or_trim(x, 4), x)
    along_1 = F.pad_or_trim(x, 5, axis=1)
    assert along_1.shape == (4, 5) and not along_1[:, 3:].any()
    assert F.pad_or_trim(x, 1, axis=-1).shape == (4, 1)
    with pytest.raises(ConfigError):
        F.pad_or_trim(x, -1)


def test_feature_modules_import_neither_tensorflow_nor_librosa_eagerly():
    # Workers of the feature cache import these modules: keep their start-up cheap.
    code = ("import sys, common.features, common.feature_cache; "
            "bad = [m for m in ('tensorflow', 'keras', 'librosa') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == ""
