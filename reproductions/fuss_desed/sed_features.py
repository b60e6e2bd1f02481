"""Input features of the DCASE 2020 Task 4 SED baseline (specs/fuss_desed.md §2.2).

The baseline (``turpaultn/dcase20_task4``, ``data_utils/Desed.py`` and
``utilities/Transforms.py``) stores *linear* mel magnitudes and applies, per example and in this
order: [teacher noise on the linear mel] → ``librosa.amplitude_to_db`` → pad/truncate to 628
frames → per-mel-bin standardisation. This module holds each step as a pure function so that
the pipeline composes them in the baseline's order (the noise lives in
:mod:`reproductions.fuss_desed.mean_teacher`).

Settings that differ from librosa's defaults and matter for the numbers:

- window ``np.hamming(2048)``: numpy's *symmetric* Hamming window passed as an array (librosa's
  ``window="hamming"`` would be the periodic one);
- STFT centred with ``pad_mode="reflect"`` (librosa ≥ 0.9 defaults to zero padding);
- mel filters on the **magnitude** (not power) spectrogram, Slaney scale (``htk=False``),
  ``norm=None`` (librosa's default is ``"slaney"`` area normalisation), 0–8,000 Hz;
- ``amplitude_to_db`` defaults: 20·log10(max(amin, |S|)/ref), ref 1, amin 1e-5, top_db 80
  (relative to the maximum of each example).
- padding happens after the log, with zeros (0 dB), at the end; 10 s at hop 255 gives
  1 + 160000 // 255 = 628 centred frames (= ceil(10·16000/255), the baseline's ``max_frames``).

All arrays are time-major: (frames, 128), float32.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from common.errors import ConfigError

SAMPLE_RATE = 16000
N_FFT = 2048
WIN_LENGTH = 2048
HOP_LENGTH = 255
N_MELS = 128
FMIN = 0.0
FMAX = 8000.0
CLIP_SECONDS = 10.0
N_FRAMES = math.ceil(CLIP_SECONDS * SAMPLE_RATE / HOP_LENGTH)  # 628
DB_REF = 1.0
DB_AMIN = 1e-5
DB_TOP_DB = 80.0

# Recorded in run configs so a number can be traced to its front end.
FEATURE_SETTINGS: dict[str, object] = {
    "sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "win_length": WIN_LENGTH,
    "window": "numpy.hamming(2048) (symmetric)", "hop_length": HOP_LENGTH, "center": True,
    "pad_mode": "reflect", "spectrogram": "magnitude", "n_mels": N_MELS, "fmin": FMIN,
    "fmax": FMAX, "mel_scale": "slaney (htk=False)", "mel_norm": None,
    "log": "librosa.amplitude_to_db(ref=1.0, amin=1e-5, top_db=80.0)",
    "n_frames": N_FRAMES, "padding": "zeros after the log, at the end",
    "normalisation": "per mel bin: (x - mean) / std over weak + unlabelled + synthetic train",
    "library": "librosa 0.11",
}


def linear_mel(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mel magnitudes (frames, 128) of a mono 16 kHz signal, exactly as the baseline's
    ``calculate_mel_spec(compute_log=False)``."""
    import librosa

    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"linear_mel expects a mono 1-D signal, got shape {y.shape}")
    if sr != SAMPLE_RATE:
        raise ConfigError(f"linear_mel expects {SAMPLE_RATE} Hz audio (resample first), got {sr}")
    if y.size == 0:
        raise ConfigError("linear_mel got an empty signal")
    spec = librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                        window=np.hamming(WIN_LENGTH), center=True, pad_mode="reflect")
    mel = librosa.feature.melspectrogram(S=np.abs(spec), sr=SAMPLE_RATE, n_fft=N_FFT,
                                         n_mels=N_MELS, fmin=FMIN, fmax=FMAX, htk=False,
                                         norm=None)
    return np.ascontiguousarray(mel.T, dtype=np.float32)


def amplitude_to_db(mel: np.ndarray) -> np.ndarray:
    """The baseline's ``ApplyLog``: librosa ``amplitude_to_db`` with its defaults. The top_db
    floor is relative to the maximum of this one array (so it is per example)."""
    import librosa

    out = librosa.amplitude_to_db(np.asarray(mel), ref=DB_REF, amin=DB_AMIN, top_db=DB_TOP_DB)
    return np.asarray(out, dtype=np.float32)


def pad_or_truncate(x: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """The baseline's ``pad_trunc_seq``: zeros appended along the frame axis (-2), or the first
    ``n_frames`` kept."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ConfigError(f"pad_or_truncate expects (..., frames, bins), got shape {x.shape}")
    if n_frames <= 0:
        raise ConfigError(f"n_frames must be positive, got {n_frames}")
    have = x.shape[-2]
    if have >= n_frames:
        return x[..., :n_frames, :]
    pad = [(0, 0)] * x.ndim
    pad[-2] = (0, n_frames - have)
    return np.pad(x, pad, mode="constant")


def log_mel(y: np.ndarray, sr: int = SAMPLE_RATE, n_frames: int = N_FRAMES) -> np.ndarray:
    """Un-normalised baseline input (n_frames, 128): linear mel → dB → pad/truncate."""
    return pad_or_truncate(amplitude_to_db(linear_mel(y, sr)), n_frames)


def fit_scaler(log_mels: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel-bin mean and std, as the baseline's ``Scaler.calculate_scaler``: each example
    (padded to the same shape) contributes its own mean of x and of x² over frames, those are
    averaged over examples (float64), and std = sqrt(E[x²] − E[x]²)."""
    mean = mean_sq = None
    count = 0
    shape = None
    for i, x in enumerate(log_mels):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ConfigError(f"fit_scaler: example {i} has shape {x.shape}, expected (frames, "
                              "bins)")
        if shape is None:
            shape = x.shape
        elif x.shape != shape:
            raise ConfigError(f"fit_scaler: example {i} has shape {x.shape}, the first had "
                              f"{shape} (pad or truncate first, as the baseline)")
        m, m2 = x.mean(axis=0), (x * x).mean(axis=0)
        mean = m if mean is None else mean + m
        mean_sq = m2 if mean_sq is None else mean_sq + m2
        count += 1
    if count == 0:
        raise ConfigError("fit_scaler: no examples")
    mean, mean_sq = mean / count, mean_sq / count
    var = mean_sq - mean * mean
    if np.any(var <= 0):
        bins = np.flatnonzero(var <= 0).tolist()
        raise ConfigError(f"fit_scaler: mel bins {bins} have zero variance; cannot standardise")
    return mean, np.sqrt(var)


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x − mean) / std per mel bin (last axis), as float32."""
    x = np.asarray(x)
    if x.shape[-1] != np.shape(mean)[-1] or x.shape[-1] != np.shape(std)[-1]:
        raise ConfigError(f"normalise: features have {x.shape[-1]} bins, scaler "
                          f"{np.shape(mean)[-1]}")
    return ((x - mean) / std).astype(np.float32)


def clip_linear_mel(path: str) -> dict[str, np.ndarray]:
    """Feature-cache worker (no TensorFlow import): one audio file → its linear mel
    (frames, 128) at 16 kHz, resampled first when the file has another rate (the recorded
    DESED clips come at their own rates; the baseline resamples them to 16 kHz)."""
    from common.audio_io import load_audio

    y, _ = load_audio(path, sr=SAMPLE_RATE, allow_silent=True)
    return {"mel": linear_mel(y), "n_samples": np.array(len(y), np.int64)}
