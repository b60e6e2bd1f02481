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

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from common.fileio import stable_hash
from data_prep.mini import Piece, read_piece
from data_prep.mixer import (
    EventClip,
    MixerConfig,
    PlacedEvent,
    active_extent,
    mix_events,
)
from data_prep.sources import Recording, read_recording, recording_duration
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, normalise_level, treat


@dataclass(frozen=True)
class LabelledSource:
    """A recording used for one label (or as a bed), with the group that must stay in one split."""
    label: str
    rec: Recording
    group: str


@dataclass(frozen=True)
class SourceRule:
    """Which recordings carry a label: OpenSFX entry ``titles`` and/or a regex on
    ``Recording.id``; ``kind`` says how clips are cut from them (event | speech | music)."""
    titles: tuple[str, ...] = ()
    id_pattern: str | None = None
    kind: str = "event"


def scene_mini_key(dataset: str, seed: int, version: int, cfg: object, rules_key: str,
                   rules: dict[str, SourceRule], bed_pattern: str, mixer: MixerConfig,
                   treatment: TreatmentConfig) -> str:
    """The done-marker key of a soundscape mini: everything its files depend on."""
    return stable_hash({"dataset": dataset, "seed": seed, "version": version,
                        "config": asdict(cfg), rules_key: {k: asdict(v) for k, v in rules.items()},
                        "bed": bed_pattern, "mixer": repr(mixer), "treatment": treatment.to_dict()})


def matching_recordings(recs: Iterable[Recording], titles: Sequence[str], id_pattern: str | None
                        ) -> list[Recording]:
    """The recordings a label rule names: OpenSFX entries titled one of ``titles``, or any
    recording whose id fully matches ``id_pattern``."""
    return [r for r in recs
            if (r.package == "openttd-opensfx" and r.label in titles)
            or (id_pattern and re.fullmatch(id_pattern, r.id))]


def pick_sorted(items: Sequence, n: int, rng: np.random.Generator) -> list:
    """``n`` distinct ``items`` drawn with ``rng``, kept in their original order."""
    return [items[i] for i in sorted(rng.choice(len(items), n, replace=False))]


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


def event_clips(src: LabelledSource, sr: int, cfg: TreatmentConfig, rng: np.random.Generator,
                max_event_s: float, long_event_s: tuple[float, float]) -> list[EventClip]:
    """The treated events of one recording (:func:`event_spans`), labelled ``src.label``."""
    y = read_recording(src.rec, sr)
    return [EventClip(src.label, treat(y[a:b], sr, cfg), src.rec.id)
            for a, b in event_spans(y, sr, rng, max_event_s, long_event_s)]


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


@dataclass(frozen=True)
class SceneMaterial:
    """What a soundscape mini draws its clips from: the generator to go on drawing with, the
    sources per label and the beds, leak group -> side, the event pool per side and label,
    the beds of each side and their treated audio (by recording id)."""
    rng: np.random.Generator
    sources: dict[str, list[LabelledSource]]
    beds: list[LabelledSource]
    side_of: dict[str, str]
    pool: dict[str, dict[str, list[EventClip]]]
    beds_of: dict[str, list[LabelledSource]]
    bed_audio: dict[str, np.ndarray]

    def mix(self, side: str, clips: Sequence[EventClip], mixer: MixerConfig,
            bed_gain_db: tuple[float, float], rng: np.random.Generator, cfg: TreatmentConfig
            ) -> tuple[LabelledSource, np.ndarray, list[PlacedEvent]]:
        """One clip of ``side``: a random bed of that side, a random window of it, a random bed
        gain in ``bed_gain_db``, and ``clips`` placed by :func:`mix_scene`."""
        beds = self.beds_of[side]
        bed_src = beds[int(rng.integers(len(beds)))]
        bed = bed_window(self.bed_audio[bed_src.rec.id], mixer.samplerate, mixer.duration_s, rng)
        y, placed = mix_scene(bed, clips, mixer, float(rng.uniform(*bed_gain_db)), rng, cfg)
        return bed_src, y, placed


def prepare_scenes(seed: int, select: Callable[[np.random.Generator], tuple[
                       dict[str, list[LabelledSource]], list[LabelledSource]]],
                   make_pool: Callable[[dict[str, list[LabelledSource]], dict[str, str],
                                        np.random.Generator],
                                       dict[str, dict[str, list[EventClip]]]],
                   sides: Sequence[str], fractions: dict[str, float], cfg: TreatmentConfig,
                   bed_max_s: float) -> SceneMaterial:
    """With one generator seeded ``seed``: choose (sources, beds) with ``select(rng)``, split
    every label's and the beds' leak groups over ``sides`` (:func:`split_groups`), build the
    event pool with ``make_pool(sources, side_of, rng)``, then load each bed once (in that
    order: the draws are part of a corpus's identity)."""
    rng = np.random.default_rng(seed)
    sources, beds = select(rng)
    groups = {label: [s.group for s in srcs] for label, srcs in sources.items()}
    groups["bed"] = [b.group for b in beds]
    side_of = split_groups(groups, sides, fractions, seed)
    pool = make_pool(sources, side_of, rng)
    beds_of = {s: [b for b in beds if side_of[b.group] == s] for s in sides}
    bed_audio = {b.rec.id: load_bed(b.rec, cfg.samplerate, cfg, rng, bed_max_s) for b in beds}
    return SceneMaterial(rng, sources, beds, side_of, pool, beds_of, bed_audio)


def used_recordings(sources: dict[str, list[LabelledSource]], beds: Sequence[LabelledSource]
                    ) -> tuple[list[str], list[Recording]]:
    """(packages, recordings) of the sources and beds, sorted as the NOTICE lists them."""
    used = {s.rec for srcs in sources.values() for s in srcs} | {b.rec for b in beds}
    return sorted({r.package for r in used}), sorted(used, key=lambda r: (r.package, r.id))
