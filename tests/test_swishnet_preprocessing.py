"""SwishNet preprocessing steps on synthetic signals with known answers."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.errors import ConfigError
from common.config import load_config
from reproductions.swishnet.config import FeatureConfig, SwishNetConfig
from reproductions.swishnet.features import PRESET_OVERRIDES, preset
from reproductions.swishnet.preprocessing import (
    denoise_logmmse,
    equalise_loudness,
    file_to_clips,
    frames_per_clip,
    remove_silence,
    segment,
)

SR = 16000
REPO = Path(__file__).resolve().parents[1]


def tone(seconds: float, amplitude: float, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


# --- silence removal ---------------------------------------------------------------------------

def test_relative_silence_removal_cuts_a_silent_middle():
    y = np.concatenate([tone(0.5, 0.5), np.zeros(SR // 2, np.float32), tone(0.5, 0.5)])
    out = remove_silence(y, SR)  # seed code: 40 dB below the peak, 25 ms frames
    assert abs(out.shape[0] - SR) <= 800  # ±one frame at each edge of the gap
    assert longest_run(np.abs(out) < 1e-9) < 800
    assert out.dtype == y.dtype


def test_relative_mode_is_relative_to_the_file_peak():
    quiet = tone(1.0, 10 ** (-60 / 20))  # -63 dBFS everywhere: nothing is below *its* peak
    assert remove_silence(quiet, SR, silence_mode="relative").shape[0] == quiet.shape[0]
    assert remove_silence(quiet, SR, silence_mode="absolute",
                          silence_frame=4000, silence_hop=4000).shape[0] == 0


def test_absolute_mode_threshold_is_minus_top_db_dbfs():
    # A constant signal of amplitude a has power 20·log10(a) dBFS.
    loud = np.full(4000, 10 ** (-39 / 20), np.float32)
    soft = np.full(4000, 10 ** (-41 / 20), np.float32)
    y = np.concatenate([loud, soft, loud])
    out = remove_silence(y, SR, top_db=40.0, silence_frame=4000, silence_hop=4000,
                         silence_mode="absolute")
    np.testing.assert_array_equal(out, np.concatenate([loud, loud]))


def test_absolute_mode_removes_a_quiet_250ms_aligned_stretch_exactly():
    a, b = tone(0.5, 0.5), tone(0.5, 0.3, freq=1000.0)
    y = np.concatenate([a, tone(0.5, 0.001), b])  # middle at -63 dBFS
    out = remove_silence(y, SR, silence_frame=4000, silence_hop=4000,
                         silence_mode="absolute")
    np.testing.assert_array_equal(out, np.concatenate([a, b]))


def test_remove_silence_rejects_bad_mode():
    with pytest.raises(ConfigError, match="silence_mode"):
        remove_silence(tone(0.1, 0.5), SR, silence_mode="peak")


# --- loudness equalisation ---------------------------------------------------------------------

def test_each_full_block_gets_unit_std():
    rng = np.random.default_rng(0)
    gains = [0.1, 2.0, 0.01, 5.0]
    y = np.concatenate([g * rng.standard_normal(4000) for g in gains]).astype(np.float32)
    out = equalise_loudness(y, SR)  # 250 ms = 4000 samples
    assert out.dtype == np.float64 and out.shape == y.shape
    np.testing.assert_allclose(out.reshape(4, 4000).std(axis=1), 1.0, rtol=1e-9)


def test_zero_block_stays_zero_and_last_block_uses_padded_std():
    rng = np.random.default_rng(1)
    first = rng.standard_normal(4000)
    tail = 3.0 * rng.standard_normal(1000)  # partial last block: psf zero-pads it to 4000
    y = np.concatenate([first, np.zeros(4000), tail])
    out = equalise_loudness(y, SR)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[4000:8000], 0.0)
    padded_std = np.concatenate([tail, np.zeros(3000)]).std()
    np.testing.assert_allclose(out[8000:], tail / padded_std, rtol=1e-12)
    np.testing.assert_allclose(out[:4000], first / first.std(), rtol=1e-12)


def test_eps_leaves_near_silent_blocks_alone():
    y = np.concatenate([np.full(4000, 1e-7) * np.sign(np.arange(4000) % 2 - 0.5),
                        np.random.default_rng(2).standard_normal(4000)])
    out = equalise_loudness(y, SR, loudness_eps=1e-6)
    # deframesig divides by (1 + 1e-15), psf's guard against a zero window sum.
    np.testing.assert_allclose(out[:4000], y[:4000], rtol=1e-12)
    np.testing.assert_allclose(out[4000:].std(), 1.0, rtol=1e-9)


# --- segmentation ------------------------------------------------------------------------------

def seed_loop_count(n: int, window: int) -> int:
    """The seed's loop: starts 0, window//2, ... below n; keep windows of full length."""
    return sum(1 for x in range(0, n, window // 2) if n - x >= window)


@pytest.mark.parametrize("n", [0, 7999, 8000, 11999, 12000, 20000, 20001, 48000])
def test_segment_counts_match_the_seed_loop(n):
    y = np.arange(n, dtype=np.float32)
    clips = segment(y, SR, 0.5)
    assert clips.shape == (seed_loop_count(n, 8000), 8000)


def test_segment_windows_hold_the_right_samples():
    y = np.arange(20000, dtype=np.float32)
    clips = segment(y, SR, 0.5, clip_overlap=0.5)
    assert clips.shape == (4, 8000)
    for k in range(4):
        np.testing.assert_array_equal(clips[k], y[4000 * k:4000 * k + 8000])
    no_overlap = segment(y, SR, 0.5, clip_overlap=0.0)
    assert no_overlap.shape == (2, 8000)
    with pytest.raises(ConfigError, match="clip_overlap"):
        segment(y, SR, 0.5, clip_overlap=1.0)


# --- Log-MMSE ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sr,seconds", [(16000, 1.0), (22050, 0.73)])
def test_logmmse_keeps_length_dtype_and_alignment(sr, seconds):
    rng = np.random.default_rng(3)
    n = int(sr * seconds)
    noise = 0.01 * rng.standard_normal(n)
    t = np.arange(n)
    speech_like = np.where(t > n // 3, 0.3, 0.0) * np.sin(2 * np.pi * 300 * t / sr)
    y = (noise + speech_like).astype(np.float32)
    out = denoise_logmmse(y, sr)
    assert out.shape == y.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    # Time-aligned: the output correlates best with the input at lag 0.
    lags = range(-20, 21)
    seg = slice(n // 2, n // 2 + 2000)
    corr = [float(np.dot(out[seg], np.roll(y, lag)[seg])) for lag in lags]
    assert list(lags)[int(np.argmax(corr))] == 0
    # The noise-only lead-in is attenuated.
    lead = slice(sr // 20, n // 3 - sr // 50)
    assert np.std(out[lead]) < 0.5 * np.std(y[lead])


def test_logmmse_does_not_leave_numpy_raising_on_float_errors():
    code = ("import numpy as np\n"
            "from reproductions.swishnet.preprocessing import denoise_logmmse\n"
            "before = np.geterr()\n"
            "y = np.random.default_rng(0).standard_normal(8000).astype('float32')\n"
            "denoise_logmmse(y, 16000)\n"
            "assert np.geterr() == before, np.geterr()\n"
            "import sys; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True, timeout=120)


# --- configuration and the whole pipeline ------------------------------------------------------

@pytest.mark.parametrize("name,frames", [("seed_code", (33, 66, 133)), ("paper", (49, 99, 199)),
                                         ("seed_text", (49, 99, 199))])
def test_frames_per_clip(name, frames):
    cfg = preset(name)
    assert tuple(frames_per_clip(cfg, c) for c in (0.5, 1.0, 2.0)) == frames


def test_default_features_are_the_seed_mfcc_call():
    # Q2/preprocessing.ipynb: mfcc(sig, 16000, numcep=20, nfilt=32, winlen=0.025, winstep=0.015),
    # everything else psf 0.6's defaults (written out: lowfreq 0, highfreq None = Nyquist,
    # preemph 0.97, ceplifter 22, appendEnergy True, rectangular window).
    from python_speech_features import mfcc

    cfg = FeatureConfig()
    y = (0.1 * np.random.default_rng(7).standard_normal(8000)).astype(np.float32)
    clips = file_to_clips(y, cfg, 0.5)
    eq = equalise_loudness(remove_silence(y, SR), SR)
    expected = mfcc(eq, 16000, numcep=20, nfilt=32, winlen=0.025, winstep=0.015)
    np.testing.assert_array_equal(clips[0], expected.astype(np.float32))
    assert (cfg.lowfreq, cfg.highfreq, cfg.preemph, cfg.ceplifter, cfg.append_energy,
            cfg.window) == (0.0, None, 0.97, 22, True, "rectangular")


def test_presets_differ_from_the_defaults_only_where_the_readings_do():
    assert set(PRESET_OVERRIDES) == {"seed_code", "seed_text", "paper"}
    assert preset("seed_code") == FeatureConfig()
    assert preset("paper") == FeatureConfig(winstep=0.010)
    text = preset("seed_text")
    assert (text.silence_mode, text.silence_frame, text.silence_hop, text.winstep) == \
        ("absolute", 4000, 4000, 0.010)
    with pytest.raises(ConfigError, match="paper_v2"):
        preset("paper_v2")


def test_yaml_features_block_is_the_feature_config(tmp_path):
    # One name per setting: the YAML key is the FeatureConfig field is the function argument.
    (tmp_path / "c.yaml").write_text("features: {winstep: 0.010, silence_mode: absolute}\n")
    cfg = load_config(SwishNetConfig, tmp_path / "c.yaml", ["features.highfreq=4000.0"])
    assert cfg.features == FeatureConfig(winstep=0.010, silence_mode="absolute", highfreq=4000.0)


@pytest.mark.parametrize("name", ["seed_code", "paper"])
def test_file_to_clips_shapes_and_mfcc_recipe(name):
    from python_speech_features import mfcc

    cfg = preset(name)
    y = (0.1 * np.random.default_rng(4).standard_normal(3 * SR)).astype(np.float32)
    clips = file_to_clips(y, cfg, 1.0)
    assert clips.shape == (5, frames_per_clip(cfg, 1.0), 20)  # 1 + (48000 - 16000) // 8000
    assert clips.dtype == np.float32 and np.all(np.isfinite(clips))
    # Composition: silence removal keeps steady noise whole, then equalise, cut, MFCC.
    eq = equalise_loudness(remove_silence(y, SR), SR)
    expected = mfcc(eq[8000:24000], samplerate=SR, winlen=0.025, winstep=cfg.winstep,
                    numcep=20, nfilt=32, nfft=512)
    np.testing.assert_allclose(clips[1], expected.astype(np.float32), rtol=1e-5, atol=1e-4)


def test_file_to_clips_drops_a_silent_gap_before_cutting():
    y = (0.1 * np.random.default_rng(5).standard_normal(2 * SR)).astype(np.float32)
    gapped = np.concatenate([y[:SR], np.zeros(SR, np.float32), y[SR:]])
    cfg = FeatureConfig()
    assert file_to_clips(gapped, cfg, 0.5).shape[0] == file_to_clips(y, cfg, 0.5).shape[0] == 7
    assert file_to_clips(y[:4000], cfg, 0.5).shape == (0, 33, 20)


def test_file_to_clips_reads_resamples_and_denoises_a_wav(tmp_path):
    sr = 22050
    rng = np.random.default_rng(6)
    n = int(2.2 * sr)
    y = 0.01 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 500 * np.arange(n) / sr)
    path = tmp_path / "speech_01.wav"
    sf.write(path, y.astype(np.float32), sr, subtype="PCM_16")
    cfg = FeatureConfig()
    plain = file_to_clips(path, cfg, 1.0)
    # the report's GTZAN notebook: Log-MMSE first, silence hop 240
    denoised = file_to_clips(path, cfg, 1.0, denoise=True, silence_hop=cfg.gtzan_silence_hop)
    assert plain.shape == denoised.shape == (3, 66, 20)  # 2.2 s at 16 kHz -> 3 one-second clips
    assert not np.allclose(plain, denoised)


def test_config_validation_names_the_yaml_key():
    with pytest.raises(ConfigError, match=r"^features\.silence_mode="):
        FeatureConfig(silence_mode="peak")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^features\.clip_overlap="):
        FeatureConfig(clip_overlap=1.5)
    with pytest.raises(ConfigError, match=r"^features\.nfft="):
        FeatureConfig(winlen=0.05)  # 800-sample frames do not fit a 512-point FFT
    with pytest.raises(ConfigError, match=r"^features\.loudness_eps="):
        FeatureConfig(loudness_eps=-1.0)
