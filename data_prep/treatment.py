"""One signal treatment for every class of a mini corpus.

The speech recordings are 8 kHz telephone prompts, the music and events mostly 44.1 kHz. Left
as they are, a classifier can separate the classes by bandwidth or level alone. So every clip,
whatever its class or source rate, goes through the same steps: mono -> one 8 kHz bottleneck ->
one sample rate -> the same zero-phase band-pass -> the same active-level normalisation -> peak
limit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import soxr
from scipy.signal import butter, sosfiltfilt

from common.errors import ConfigError

# Frames used to find the "active" part of a clip for level normalisation.
_LEVEL_FRAME_S = 0.05
# Frames more than this far below the loudest frame do not count towards the level, so a
# prompt with pauses and a continuous music excerpt end up equally loud where they sound.
_ACTIVE_RANGE_DB = 40.0


@dataclass(frozen=True)
class TreatmentConfig:
    samplerate: int
    # Upper edge below the 8 kHz sources' own roll-off (~3.85 kHz), so all classes share it.
    band_hz: tuple[float, float] = (100.0, 3800.0)
    target_rms_dbfs: float = -26.0
    peak_limit: float = 0.99
    filter_order: int = 8
    # Every input above this rate is first resampled down to it, so all classes share one
    # anti-alias roll-off near 4 kHz: the speech sources are 8 kHz recordings, and a
    # Butterworth edge alone leaves wideband sources ~30 dB more energy in 3.8-4.5 kHz.
    bottleneck_hz: int | None = 8000

    def __post_init__(self):
        lo, hi = self.band_hz
        if not (0 < lo < hi < self.samplerate / 2):
            raise ConfigError(f"treatment band_hz={self.band_hz} must satisfy "
                              f"0 < low < high < samplerate/2 = {self.samplerate / 2}")
        if self.bottleneck_hz is not None and not hi < self.bottleneck_hz / 2:
            raise ConfigError(f"treatment band_hz high edge {hi} must be below "
                              f"bottleneck_hz/2 = {self.bottleneck_hz / 2}")
        if not 0 < self.peak_limit <= 1:
            raise ConfigError(f"treatment peak_limit={self.peak_limit} must be in (0, 1]")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["band_hz"] = list(self.band_hz)
        d["steps"] = ["downmix to mono",
                      f"resample (soxr HQ) down to {self.bottleneck_hz} Hz when above it",
                      f"resample (soxr HQ) to {self.samplerate} Hz",
                      f"zero-phase Butterworth band-pass (order {self.filter_order}, sosfiltfilt)",
                      f"active-RMS normalisation to {self.target_rms_dbfs} dBFS "
                      f"(frames within {_ACTIVE_RANGE_DB:.0f} dB of the loudest)",
                      f"peak limit {self.peak_limit} (whole-clip gain)"]
        return d


def _to_mono(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=1) if y.ndim == 2 else y


def band_limit(y: np.ndarray, sr_in: int, cfg: TreatmentConfig) -> np.ndarray:
    """Mono, resampled to ``cfg.samplerate``, band-passed to ``cfg.band_hz``."""
    y = _to_mono(y)
    if cfg.bottleneck_hz is not None and sr_in > cfg.bottleneck_hz:
        y = soxr.resample(y, sr_in, cfg.bottleneck_hz, quality="HQ")
        sr_in = cfg.bottleneck_hz
    if sr_in != cfg.samplerate:
        y = soxr.resample(y, sr_in, cfg.samplerate, quality="HQ")
    sos = butter(cfg.filter_order, cfg.band_hz, btype="bandpass", fs=cfg.samplerate, output="sos")
    # sosfiltfilt needs a few filter lengths of signal; very short clips are padded by zeros.
    pad = 3 * (2 * len(sos) + 1)
    if len(y) <= pad:
        y = np.pad(y, (0, pad + 1 - len(y)))
    return sosfiltfilt(sos, y).astype(np.float32)


def active_rms(y: np.ndarray, sr: int) -> float:
    frame = max(1, int(round(_LEVEL_FRAME_S * sr)))
    n = len(y) // frame
    if n == 0:
        return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    power = np.mean(np.square(y[:n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    loudest = power.max()
    if loudest <= 0:
        return 0.0
    active = power[power >= loudest * 10 ** (-_ACTIVE_RANGE_DB / 10)]
    return float(np.sqrt(active.mean()))


def normalise_level(y: np.ndarray, sr: int, cfg: TreatmentConfig) -> np.ndarray:
    """Scale to the target active RMS, then down (never up) so the peak stays under the limit."""
    rms = active_rms(y, sr)
    if rms <= 0:
        return np.zeros_like(y, dtype=np.float32)
    y = y * (10 ** (cfg.target_rms_dbfs / 20) / rms)
    peak = float(np.max(np.abs(y)))
    if peak > cfg.peak_limit:
        y = y * (cfg.peak_limit / peak)
    return y.astype(np.float32)


def treat(y: np.ndarray, sr_in: int, cfg: TreatmentConfig) -> np.ndarray:
    """The full treatment: mono, ``cfg.samplerate``, band-pass, level normalisation."""
    return normalise_level(band_limit(y, sr_in, cfg), cfg.samplerate, cfg)


def join_with_pauses(segments: Sequence[np.ndarray], sr: int,
                     pause_s: float | tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Concatenate short recordings with a silent pause between them.

    ``pause_s`` is a fixed length or a (low, high) range drawn uniformly per gap with ``rng``.
    Prompts carry their own recorded lead-in/out, so the pauses only add natural spacing.
    """
    if not segments:
        raise ValueError("join_with_pauses needs at least one segment")
    lo, hi = (pause_s, pause_s) if np.isscalar(pause_s) else pause_s
    if lo < 0 or hi < lo:
        raise ValueError(f"pause_s={pause_s} must be >= 0 (low <= high)")
    parts: list[np.ndarray] = []
    for i, seg in enumerate(segments):
        if i:
            parts.append(np.zeros(int(round(rng.uniform(lo, hi) * sr)), dtype=np.float32))
        parts.append(_to_mono(seg))
    return np.concatenate(parts).astype(np.float32)
