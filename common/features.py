"""Frame-level audio features with every parameter spelled out.

Three extractors with every argument required, so that a cache key (see
:mod:`common.feature_cache`) and a run record capture the whole recipe:

- :func:`psf_mfcc` — python_speech_features MFCC (SwishNet, report 004), keyword arguments
  named as psf names them except ``append_energy`` (psf ``appendEnergy``) and ``window`` (a
  name for psf's ``winfunc``), listed in :data:`PSF_MFCC_ARGS`; the paper's presets live in
  :mod:`reproductions.swishnet.features`;
- :func:`librosa_mfcc` — librosa MFCC (Drossos et al. seed, report 001), frozen config;
- :func:`librosa_logmel` — librosa log-mel energies (Drossos et al. paper features), frozen
  config.

All return float32 arrays shaped (frames, coefficients): time-major, the layout the Keras
models consume.

This module must stay importable without TensorFlow/Keras (feature-cache workers import it)
and imports librosa lazily (``librosa.feature`` takes about 2 s to import here), so that a
pool running only psf MFCCs does not pay for it. python_speech_features is imported eagerly
(0.2 s): forked workers then inherit it instead of importing it each.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import python_speech_features as psf

from common.errors import ConfigError

# Window names accepted by psf_mfcc. python_speech_features takes a callable; a name keeps the
# config hashable/serialisable. numpy's hamming/hanning are the symmetric forms.
_PSF_WINDOWS: dict[str, Callable[[int], np.ndarray]] = {
    "rectangular": lambda n: np.ones((n,)),
    "hamming": np.hamming,
    "hann": np.hanning,
}


def _require(cond: bool, cfg: object, field: str, why: str) -> None:
    if not cond:
        raise ConfigError(f"{type(cfg).__name__}.{field}={getattr(cfg, field)!r}: {why}")


# ---------------------------------------------------------------------------------------------
# python_speech_features MFCC
# ---------------------------------------------------------------------------------------------

# Every argument of psf_mfcc after the signal, in order: a paper's feature dataclass that uses
# these names can pass its fields straight through (see :func:`psf_mfcc_args`).
PSF_MFCC_ARGS = ("samplerate", "winlen", "winstep", "numcep", "nfilt", "nfft", "lowfreq",
                 "highfreq", "preemph", "ceplifter", "append_energy", "window")


def check_psf_mfcc_args(owner: str, *, samplerate: int, winlen: float, winstep: float,
                        numcep: int, nfilt: int, nfft: int, lowfreq: float,
                        highfreq: Optional[float], preemph: float, ceplifter: int,
                        append_energy: bool, window: str) -> None:
    """Raise ConfigError ``"{owner}.{argument}=value: why"`` for the first bad argument.

    ``owner`` names where the values came from (a config class or ``"psf_mfcc"``), so that a
    bad YAML value is reported under its own name.
    """
    def require(cond: bool, name: str, value: object, why: str) -> None:
        if not cond:
            raise ConfigError(f"{owner}.{name}={value!r}: {why}")

    require(samplerate > 0, "samplerate", samplerate, "must be positive")
    require(0 < winstep, "winstep", winstep, "must be positive")
    require(0 < winlen, "winlen", winlen, "must be positive")
    # psf silently truncates frames longer than the FFT (it only logs a warning).
    require(round(winlen * samplerate) <= nfft, "nfft", nfft,
            f"is shorter than the frame ({winlen * samplerate:g} samples)")
    require(0 < numcep <= nfilt, "numcep", numcep, "must be in 1..nfilt")
    require(window in _PSF_WINDOWS, "window", window,
            f"unknown; choose one of {sorted(_PSF_WINDOWS)}")
    require(highfreq is None or lowfreq < highfreq <= samplerate / 2, "highfreq", highfreq,
            "must lie in (lowfreq, samplerate/2]")


def psf_mfcc_args(cfg: object) -> dict:
    """The :data:`PSF_MFCC_ARGS` fields of ``cfg`` by name, for
    ``psf_mfcc(y, **psf_mfcc_args(cfg))``."""
    return {name: getattr(cfg, name) for name in PSF_MFCC_ARGS}


def psf_mfcc(y: np.ndarray, *, samplerate: int, winlen: float, winstep: float, numcep: int,
             nfilt: int, nfft: int, lowfreq: float, highfreq: Optional[float], preemph: float,
             ceplifter: int, append_energy: bool, window: str) -> np.ndarray:
    """``python_speech_features.mfcc`` (v0.6) of a mono signal: float32 (frames, numcep).

    Every argument is required (no hidden psf defaults). ``highfreq=None`` means the Nyquist
    frequency (psf's own rule); ``window`` names the analysis window ("rectangular" is psf's
    default, i.e. no window; numpy's hamming/hann are the symmetric forms); ``append_energy``
    is psf's ``appendEnergy`` (c0 replaced by the log frame energy).
    Frames: 1 + ceil((n - frame_len) / frame_step), the last frame zero-padded (psf framing).
    The signal is cast to float64 first: in the SwishNet seed pipeline the signal reaching
    psf came out of psf's ``deframesig`` (loudness equalisation), which returns float64.
    """
    check_psf_mfcc_args("psf_mfcc", samplerate=samplerate, winlen=winlen, winstep=winstep,
                        numcep=numcep, nfilt=nfilt, nfft=nfft, lowfreq=lowfreq,
                        highfreq=highfreq, preemph=preemph, ceplifter=ceplifter,
                        append_energy=append_energy, window=window)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"psf_mfcc expects a mono 1-D signal, got shape {y.shape}")
    feats = psf.mfcc(y.astype(np.float64), samplerate=samplerate, winlen=winlen,
                     winstep=winstep, numcep=numcep, nfilt=nfilt, nfft=nfft, lowfreq=lowfreq,
                     highfreq=samplerate / 2 if highfreq is None else highfreq,
                     preemph=preemph, ceplifter=ceplifter, appendEnergy=append_energy,
                     winfunc=_PSF_WINDOWS[window])
    return np.ascontiguousarray(feats, dtype=np.float32)


def psf_num_frames(n_samples: int, *, samplerate: int, winlen: float, winstep: float) -> int:
    """Number of frames psf produces for ``n_samples`` (same rounding as psf's framesig)."""
    frame_len = int(np.floor(winlen * samplerate + 0.5))
    frame_step = int(np.floor(winstep * samplerate + 0.5))
    if n_samples <= frame_len:
        return 1
    return 1 + int(np.ceil((n_samples - frame_len) / frame_step))


# ---------------------------------------------------------------------------------------------
# librosa STFT/mel front end shared by MFCC and log-mel
# ---------------------------------------------------------------------------------------------

def _check_stft_mel(cfg) -> None:
    _require(cfg.sr > 0, cfg, "sr", "must be positive")
    _require(cfg.n_fft > 0, cfg, "n_fft", "must be positive")
    _require(cfg.hop_length > 0, cfg, "hop_length", "must be positive")
    _require(0 < cfg.win_length <= cfg.n_fft, cfg, "win_length", "must be in 1..n_fft")
    _require(cfg.n_mels > 0, cfg, "n_mels", "must be positive")
    _require(0 <= cfg.fmin < cfg.fmax <= cfg.sr / 2, cfg, "fmax", "must lie in (fmin, sr/2]")
    _require(cfg.power > 0, cfg, "power", "must be positive")


def _mel_power(y: np.ndarray, cfg) -> np.ndarray:
    """Mel spectrogram (n_mels, frames) with every librosa argument passed explicitly."""
    import librosa

    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"{type(cfg).__name__}: expects a mono 1-D signal, got shape {y.shape}")
    # dtype float32 is librosa's default mel-basis dtype; spelled out so it cannot drift.
    return librosa.feature.melspectrogram(
        y=y, sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode, power=cfg.power,
        n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax, htk=cfg.htk, norm=cfg.mel_norm,
        dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# librosa MFCC
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LibrosaMfccConfig:
    """Every argument behind ``librosa.feature.mfcc(y=..., ...)`` (librosa 0.11), no defaults.

    ``librosa.feature.mfcc`` hides ``power_to_db(ref=1.0, amin=1e-10, top_db=80.0)``; those are
    the fields ``db_ref``, ``db_amin``, ``db_top_db`` here. ``mel_norm`` is the mel filter
    normalisation (librosa ``mel_norm``/``norm`` of the filterbank), ``dct_norm`` the DCT's.
    The input signal's dtype is kept (librosa.load gives float32, as in the seed).
    """

    sr: int
    n_mfcc: int
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    center: bool
    pad_mode: str
    n_mels: int
    fmin: float
    fmax: float
    power: float
    htk: bool
    mel_norm: Optional[str]
    db_ref: float
    db_amin: float
    db_top_db: Optional[float]
    dct_type: int
    dct_norm: Optional[str]
    lifter: float

    def __post_init__(self) -> None:
        _check_stft_mel(self)
        _require(0 < self.n_mfcc <= self.n_mels, self, "n_mfcc", "must be in 1..n_mels")
        _require(self.dct_type in (1, 2, 3), self, "dct_type", "must be 1, 2 or 3")
        _require(self.lifter >= 0, self, "lifter", "must be >= 0")


def librosa_mfcc(y: np.ndarray, cfg: LibrosaMfccConfig) -> np.ndarray:
    """MFCCs as float32 (frames, n_mfcc); frames = 1 + len(y) // hop when ``center``."""
    import librosa

    mel_db = librosa.power_to_db(_mel_power(y, cfg), ref=cfg.db_ref, amin=cfg.db_amin,
                                 top_db=cfg.db_top_db)
    m = librosa.feature.mfcc(S=mel_db, n_mfcc=cfg.n_mfcc, dct_type=cfg.dct_type,
                             norm=cfg.dct_norm, lifter=cfg.lifter)
    return np.ascontiguousarray(m.T, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# librosa log-mel
# ---------------------------------------------------------------------------------------------

LOG_SCALES = ("log", "db")


@dataclass(frozen=True)
class LogMelConfig:
    """Log-mel energies. ``scale="log"``: ln(S + log_offset) (the DCASE/TUT convention of
    "log mel band energies"); ``scale="db"``: ``librosa.power_to_db(S, ref=db_ref,
    amin=db_amin, top_db=db_top_db)``. Fields of the unused scale are still part of the key,
    so set them to ``None`` to keep configs canonical."""

    sr: int
    n_fft: int
    hop_length: int
    win_length: int
    window: str
    center: bool
    pad_mode: str
    n_mels: int
    fmin: float
    fmax: float
    power: float
    htk: bool
    mel_norm: Optional[str]
    scale: str
    log_offset: Optional[float]
    db_ref: Optional[float]
    db_amin: Optional[float]
    db_top_db: Optional[float]

    def __post_init__(self) -> None:
        _check_stft_mel(self)
        _require(self.scale in LOG_SCALES, self, "scale", f"must be one of {LOG_SCALES}")
        if self.scale == "log":
            _require(self.log_offset is not None and self.log_offset > 0, self, "log_offset",
                     "must be > 0 for scale='log' (log of zero energy)")
        else:
            _require(self.db_ref is not None and self.db_amin is not None and self.db_amin > 0,
                     self, "db_amin", "db_ref and db_amin (> 0) are required for scale='db'")


def librosa_logmel(y: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """Log-mel energies as float32 (frames, n_mels)."""
    mel = _mel_power(y, cfg)
    if cfg.scale == "log":
        out = np.log(mel + cfg.log_offset)
    else:
        import librosa

        out = librosa.power_to_db(mel, ref=cfg.db_ref, amin=cfg.db_amin, top_db=cfg.db_top_db)
    return np.ascontiguousarray(out.T, dtype=np.float32)



# ---------------------------------------------------------------------------------------------
# Shape helpers
# ---------------------------------------------------------------------------------------------

def pad_or_trim(x: np.ndarray, n_frames: int, axis: int = 0) -> np.ndarray:
    """Zero-pad at the end or cut ``x`` along ``axis`` to exactly ``n_frames`` (dtype kept)."""
    if n_frames < 0:
        raise ConfigError(f"pad_or_trim: n_frames must be >= 0, got {n_frames}")
    x = np.asarray(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    if n >= n_frames:
        index = [slice(None)] * x.ndim
        index[axis] = slice(0, n_frames)
        return x[tuple(index)]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, n_frames - n)
    return np.pad(x, pad, mode="constant")
