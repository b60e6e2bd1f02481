"""Seeded soundscapes for the tagging / SED mini corpora: an unannotated bed plus placed events.

The SONYC-UST mini (urban tagging) and the DESED mini (domestic SED) both build 10 s clips the
same way: a background *bed* (a window of a long ambience recording, never annotated) plus a few
isolated events placed by :mod:`data_prep.mixer`, whose annotations are exact (each event's
sound lies inside its annotated span). What differs per dataset (which recordings carry which
label, the rate, the annotation format) lives in the dataset's ``*_mini`` module.

Leakage rule (both datasets): every recording's *leak group* lands on exactly one side of the
split (train vs validate/eval), so no recording, and no take of the same original, is heard on
two sides. A label with fewer groups than sides fills the sides in the order given (train first).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_prep.mini import Piece, read_piece
from data_prep.mixer import (
    EventClip,
    MixerConfig,
    PlacedEvent,
    active_extent,
    mix_events,
)
from data_prep.sources import Recording, recording_duration
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, normalise_level, treat


@dataclass(frozen=True)
class LabelledSource:
    """A recording used for one label (or as a bed), with the group that must stay in one split."""
    label: str
    rec: Recording
    group: str


def split_groups(groups_by_label: dict[str, Sequence[str]], sides: Sequence[str],
                 fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Leak group -> side. Per label (sorted), its groups are shuffled with the seed; with at least
    as many groups as sides they are shared by :func:`group_split` with ``fractions``, otherwise
    they fill the sides in order. A group met again under another label keeps its first side."""
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for label in sorted(groups_by_label):
        groups = sorted(set(groups_by_label[label]) - set(out))
        if not groups:
            continue
        order = [groups[i] for i in rng.permutation(len(groups))]
        if len(order) >= len(sides):
            split = group_split(order, order, dict(fractions), seed=int(rng.integers(2**31)))
            out.update({g: s for s, gs in split.items() for g in gs})
        else:
            out.update(dict(zip(order, sides)))
    return out


def event_spans(y: np.ndarray, sr: int, rng: np.random.Generator, max_event_s: float,
                long_event_s: tuple[float, float], min_event_s: float = 0.25,
                quiet_db: float = 30.0) -> list[tuple[int, int]]:
    """(start, stop) samples of the events one recording gives: its non-silent extent when that
    is at most ``max_event_s``, else consecutive cuts of ``long_event_s`` (cuts more than
    ``quiet_db`` below the extent's level, or shorter than ``min_event_s``, are dropped)."""
    start, stop = active_extent(y, sr, threshold_db=40.0)
    if stop - start <= max_event_s * sr:
        return [(start, stop)] if stop - start >= min_event_s * sr else []
    spans, pos = [], start
    while pos < stop:
        end = min(stop, pos + round(rng.uniform(*long_event_s) * sr))
        if end - pos >= max(min_event_s, long_event_s[0] / 2) * sr:
            spans.append((pos, end))
        pos = end
    level = _rms(y[start:stop])
    return [(a, b) for a, b in spans if _rms(y[a:b]) >= level * 10 ** (-quiet_db / 20)]


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def window_clips(src: LabelledSource, sr: int, cfg: TreatmentConfig, rng: np.random.Generator,
                 n: int, window_s: tuple[float, float], margin_s: float = 2.0) -> list[EventClip]:
    """``n`` treated windows of a long recording (music), read by seeking (no full decode)."""
    dur = recording_duration(src.rec)
    out = []
    for _ in range(n):
        length = min(float(rng.uniform(*window_s)), max(0.5, dur - 2 * margin_s))
        lo = margin_s if dur > length + 2 * margin_s else 0.0
        start = float(rng.uniform(lo, max(lo, dur - length - lo)))
        y, rec_sr = read_piece(Piece(src.rec, start, length))
        out.append(EventClip(src.label, treat(y, rec_sr, cfg), src.rec.id))
    return out


def load_bed(rec: Recording, sr: int, cfg: TreatmentConfig, rng: np.random.Generator,
             max_s: float | None = None) -> np.ndarray:
    """A bed recording treated once (windows are then cut from it, not re-decoded): the whole
    recording, or a ``max_s`` excerpt at a random offset of a longer one (decoding minutes of
    ambience for a few clips would dominate the build)."""
    dur = recording_duration(rec)
    if max_s is not None and dur > max_s + 0.5:
        y, rec_sr = read_piece(Piece(rec, float(rng.uniform(0.0, dur - max_s)), max_s))
    else:
        y, rec_sr = read_piece(Piece(rec))
    return treat(y, rec_sr, cfg)


def bed_window(bed: np.ndarray, sr: int, length_s: float, rng: np.random.Generator) -> np.ndarray:
    """A ``length_s`` window of a treated bed at a random offset; a bed shorter than that is
    looped (beds are ambience loops)."""
    n = round(length_s * sr)
    if bed.size > n:
        start = int(rng.integers(0, bed.size - n + 1))
        return bed[start:start + n]
    return np.tile(bed, -(-n // max(1, bed.size)))[:n]


def mix_scene(bed: np.ndarray | None, clips: Sequence[EventClip], mixer: MixerConfig,
              bed_gain_db: float, rng: np.random.Generator, cfg: TreatmentConfig
              ) -> tuple[np.ndarray, list[PlacedEvent]]:
    """Events placed by the mixer, plus the bed ``bed_gain_db`` below the treated level; the sum
    is scaled down (never up) to the peak limit, which moves no event."""
    events_y, placed = mix_events(clips, mixer, rng)
    y = events_y.astype(np.float64)
    if bed is not None:
        y = y + normalise_level(bed, mixer.samplerate, cfg)[:y.size] * 10 ** (bed_gain_db / 20)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > mixer.peak_limit:
        y *= mixer.peak_limit / peak
    return y.astype(np.float32), placed


def merge_same_label(events: Sequence[tuple[float, float, str]], min_gap_s: float
                     ) -> list[tuple[float, float, str]]:
    """Same-label events that overlap or are closer than ``min_gap_s`` become one event (the
    DESED annotation rule: pauses under 150 ms between events of one class are merged)."""
    out: list[list] = []
    for on, off, lab in sorted(events, key=lambda e: (e[2], e[0], e[1])):
        if out and out[-1][2] == lab and on - out[-1][1] < min_gap_s:
            out[-1][1] = max(out[-1][1], off)
        else:
            out.append([on, off, lab])
    return sorted((float(a), float(b), c) for a, b, c in out)
