"""Seeded polyphonic mixer: isolated event clips placed on a silent canvas, with exact annotations.

Used to build the TUT-SED-layout mini corpus from real recordings. Each clip is first trimmed
to its non-silent extent (frames within ``trim_threshold_db`` of the clip's loudest frame), so
the annotation ``offset = onset + trimmed length`` describes where the event's sound really is:
no sample of an event lies outside its annotated span. Onsets are drawn at random; an onset is
accepted only if the number of events sounding at every sample of the new span stays within
``max_polyphony``. Everything random comes from one ``numpy.random.Generator`` seeded by the
caller, so a seed gives the same mixture and annotations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class EventClip:
    """One isolated event: mono float32 samples at the mixer's rate, its label and source id."""
    label: str
    audio: np.ndarray
    source: str


@dataclass(frozen=True)
class PlacedEvent:
    """An event as placed in a mixture; ``offset - onset`` is the trimmed clip's duration."""
    onset: float
    offset: float
    label: str
    source: str
    gain_db: float
    onset_sample: int
    n_samples: int


@dataclass(frozen=True)
class MixerConfig:
    samplerate: int
    duration_s: float
    max_polyphony: int = 4
    gain_db: tuple[float, float] = (-6.0, 0.0)
    trim_threshold_db: float = 40.0
    trim_frame_s: float = 0.01
    max_tries: int = 50
    peak_limit: float = 0.99

    def __post_init__(self) -> None:
        if self.samplerate <= 0 or self.duration_s <= 0:
            raise ValueError("samplerate and duration_s must be positive")
        if self.max_polyphony < 1:
            raise ValueError("max_polyphony must be at least 1")
        if self.gain_db[0] > self.gain_db[1]:
            raise ValueError(f"gain_db range {self.gain_db} is reversed")


def active_extent(y: np.ndarray, sr: int, threshold_db: float = 40.0,
                  frame_s: float = 0.01) -> tuple[int, int]:
    """``(start, stop)`` samples of the non-silent part of ``y``.

    A frame is non-silent when its RMS is within ``threshold_db`` of the loudest frame; the
    extent runs from the first to the end of the last such frame. Raises ValueError for a
    clip without any energy (nothing honest to annotate).
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("expected a non-empty mono clip")
    frame = max(1, int(round(frame_s * sr)))
    n_frames = -(-y.size // frame)
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[:y.size] = y
    rms = np.sqrt(np.mean(padded.reshape(n_frames, frame) ** 2, axis=1))
    top = float(rms.max())
    if top <= 0.0:
        raise ValueError("clip is silent")
    loud = np.flatnonzero(rms >= top * 10.0 ** (-threshold_db / 20.0))
    return int(loud[0] * frame), int(min(y.size, (loud[-1] + 1) * frame))


def trim_silence(y: np.ndarray, sr: int, threshold_db: float = 40.0,
                 frame_s: float = 0.01) -> np.ndarray:
    """The clip cut to :func:`active_extent` (a copy)."""
    start, stop = active_extent(y, sr, threshold_db, frame_s)
    return np.array(y[start:stop], dtype=np.float32)


def max_polyphony(intervals: Sequence[tuple[float, float]]) -> int:
    """Largest number of simultaneously active intervals (half-open: an offset equal to the
    next onset is not an overlap)."""
    points = [(on, 1) for on, _ in intervals] + [(off, -1) for _, off in intervals]
    points.sort(key=lambda p: (p[0], p[1]))   # ends sort before starts at the same time
    active = best = 0
    for _, step in points:
        active += step
        best = max(best, active)
    return best


def mix_events(clips: Sequence[EventClip], cfg: MixerConfig,
               rng: np.random.Generator | int) -> tuple[np.ndarray, list[PlacedEvent]]:
    """Place ``clips`` (in the given order) on a canvas of ``cfg.duration_s`` seconds.

    Returns the float32 mixture and the placed events sorted by onset. A clip that finds no
    onset within ``cfg.max_tries`` draws (canvas too full) is left out; a trimmed clip longer
    than the canvas is cut to the canvas length (its annotation follows the cut).
    The whole mixture is scaled down if its peak exceeds ``cfg.peak_limit``; that scaling does
    not move any event.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    sr = cfg.samplerate
    n = int(round(cfg.duration_s * sr))
    mixture = np.zeros(n, dtype=np.float64)
    # Per-sample count of sounding events: exact polyphony control at sample resolution.
    occupancy = np.zeros(n, dtype=np.int16)
    placed: list[PlacedEvent] = []
    for clip in clips:
        audio = trim_silence(clip.audio, sr, cfg.trim_threshold_db, cfg.trim_frame_s)[:n]
        m = audio.size
        gain_db = float(rng.uniform(*cfg.gain_db))
        for _ in range(cfg.max_tries):
            start = int(rng.integers(0, n - m + 1))
            if int(occupancy[start:start + m].max()) < cfg.max_polyphony:
                break
        else:
            continue
        mixture[start:start + m] += audio * 10.0 ** (gain_db / 20.0)
        occupancy[start:start + m] += 1
        placed.append(PlacedEvent(onset=start / sr, offset=(start + m) / sr, label=clip.label,
                                  source=clip.source, gain_db=gain_db, onset_sample=start,
                                  n_samples=m))
    peak = float(np.max(np.abs(mixture))) if n else 0.0
    if peak > cfg.peak_limit:
        mixture *= cfg.peak_limit / peak
    placed.sort(key=lambda e: (e.onset_sample, e.label, e.source))
    return mixture.astype(np.float32), placed
