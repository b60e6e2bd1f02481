"""DESED-layout mini corpus from real Debian recordings (not the DESED data).

Same layout as the DCASE 2020 Task 4 ``dataset/`` folder (:mod:`data_prep.desed`): weak,
unlabelled in-domain and synthetic training clips, validation and public eval, with their tsv
metadata. Every clip is 10 s at 16 kHz (the baseline's analysis rate): a domestic-style *bed*
(a UFO:AI room hum / drone loop, never annotated, like DESED's background) plus 1-4 events
placed by :mod:`data_prep.mixer`, whose onsets/offsets are exact. Strong annotations follow the
DESED rule that same-class events less than 150 ms apart are one event. Weak labels are the
classes of the strong annotations; unlabelled clips get a file list only. A fraction of the
validation / eval clips holds no event (bed only): written as the official empty row.

The 10 official class names are kept; only classes whose sound the recordings really contain
are populated (:data:`CLASS_SOURCES`):

  Speech               Asterisk prompts (3 speakers, one group per prompt)
  Running_water        UFO:AI water ambience (water, water01-03) and fountain
  Alarm_bell_ringing   OpenSFX "Level crossing" (railway crossing bells)

Blender, Cat, Dishes, Dog, Electric_shaver_toothbrush, Frying and Vacuum_cleaner are present in
the class list but never annotated: the packages hold no such recording (fire crackle is not
frying, breaking glass is not dishes, a lion roar is not a cat), and none is faked.

Leakage: every leak group lies on one side, train (weak + unlabelled + synthetic) or held-out
(validation + eval); a class with one group (Alarm_bell_ringing) occurs in training clips only.
One treatment for every source (:data:`TREATMENT`: 16 kHz, 100 Hz-3.8 kHz through an 8 kHz
bottleneck), because the speech prompts are 8 kHz recordings.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.audio_io import write_audio
from common.errors import DatasetError
from common.fileio import atomic_write_text
from data_prep import desed
from data_prep import mini as mini_corpus
from data_prep.mixer import EventClip, MixerConfig
from data_prep.soundscape import (
    LabelledSource,
    SourceRule,
    event_clips,
    matching_recordings,
    merge_same_label,
    pick_sorted,
    prepare_scenes,
    scene_mini_key,
    used_recordings,
)
from data_prep.sources import Recording, catalogue
from data_prep.treatment import TreatmentConfig

MINI_VERSION = 1
SR = desed.ANALYSIS_SAMPLERATE
SIDES = ("train", "heldout")
FRACTIONS = {"train": 0.7, "heldout": 0.3}
SIDE_OF_SUBSET = {"weak": "train", "unlabel_in_domain": "train", "synthetic": "train",
                  "validation": "heldout", "eval_public": "heldout"}
MIN_GAP_S = 0.15          # DESED: same-class events closer than this are merged


CLASS_SOURCES: dict[str, SourceRule] = {
    "Speech": SourceRule(id_pattern=r"(en_US_f_Allison|fr_CA_f_June|it_IT_m_Carlo)/.*", kind="speech"),
    "Running_water": SourceRule(id_pattern=r"ufoai/ambience/(water|water0[1-3]|waterfontain)"),
    "Alarm_bell_ringing": SourceRule(("Level crossing",)),
}
UNUSED_CLASSES = {
    "Blender": "no blender recording",
    "Cat": "no cat recording (OpenSFX has a lion roar)",
    "Dishes": "no dishes recording (breaking glass is not dishes)",
    "Dog": "no dog recording",
    "Electric_shaver_toothbrush": "no shaver or toothbrush recording",
    "Frying": "no frying recording (fire crackle is not frying)",
    "Vacuum_cleaner": "no vacuum cleaner recording",
}
BED_PATTERN = r"ufoai/ambience/(hum|hum2|droning_long|droning_short|lights_loop)"
PACKAGES = ("openttd-opensfx", "ufoai-sound", "asterisk-core-sounds-en-wav",
            "asterisk-core-sounds-fr-wav", "asterisk-core-sounds-it-wav")
TREATMENT = TreatmentConfig(samplerate=SR)
MIXER = MixerConfig(samplerate=SR, duration_s=desed.CLIP_S, max_polyphony=2, gain_db=(-6.0, 0.0))


@dataclass(frozen=True)
class DesedMiniConfig:
    weak: int = 40
    unlabel_in_domain: int = 60
    synthetic: int = 40
    validation: int = 24
    eval_public: int = 16
    events_per_clip: tuple[int, int] = (1, 4)
    empty_fraction: float = 0.1        # validation / eval clips with no event
    bed_max_s: float = 40.0           # beds: one excerpt of at most this length per recording
    bed_gain_db: tuple[float, float] = (-16.0, -8.0)
    speech_prompts: int = 60
    max_event_s: float = 6.0
    long_event_s: tuple[float, float] = (2.0, 6.0)


def select_sources(recs: list[Recording], cfg: DesedMiniConfig, rng: np.random.Generator
                   ) -> tuple[dict[str, list[LabelledSource]], list[LabelledSource]]:
    out: dict[str, list[LabelledSource]] = {}
    for cls, rule in CLASS_SOURCES.items():
        chosen = matching_recordings(recs, rule.titles, rule.id_pattern)
        if not chosen:
            raise DatasetError(f"desed mini: class {cls!r}: recordings "
                               f"{rule.titles or rule.id_pattern!r} not found in the installed packages")
        if rule.kind == "speech":
            chosen = pick_sorted(chosen, cfg.speech_prompts, rng)
        out[cls] = [LabelledSource(cls, r, r.group) for r in chosen]
    beds = [LabelledSource("bed", r, r.group) for r in recs if re.fullmatch(BED_PATTERN, r.id)]
    if len({b.group for b in beds}) < 2:
        raise DatasetError("desed mini: UFO:AI hum/drone ambience beds not found")
    return out, beds


def _pool(sources, side_of, cfg, rng) -> dict[str, dict[str, list[EventClip]]]:
    pool: dict[str, dict[str, list[EventClip]]] = {s: {} for s in SIDES}
    for cls in sorted(sources):
        for src in sources[cls]:
            clips = event_clips(src, SR, TREATMENT, rng, cfg.max_event_s, cfg.long_event_s)
            pool[side_of[src.group]].setdefault(cls, []).extend(clips)
    return pool


_ID_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


def _youtube_like_name(rng: np.random.Generator, taken: set[str]) -> str:
    """``Y<11 chars>_<start>_<end>.wav`` as the recorded DESED clips are named."""
    while True:
        start = 10.0 * int(rng.integers(0, 40))
        name = f"Y{''.join(rng.choice(_ID_CHARS, 11))}_{start:.3f}_{start + desed.CLIP_S:.3f}.wav"
        if name not in taken:
            taken.add(name)
            return name


def mini_key(seed: int, cfg: DesedMiniConfig) -> str:
    return scene_mini_key(desed.NAME, seed, MINI_VERSION, cfg, "classes", CLASS_SOURCES, BED_PATTERN,
                          MIXER, TREATMENT)


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: DesedMiniConfig | None = None) -> Path:
    """Build the DESED-layout mini corpus (idempotent for a seed and config); its root."""
    cfg = config or DesedMiniConfig()
    return mini_corpus.build_mini(mini_corpus.destination(desed.NAME, dest), mini_key(seed, cfg),
                                  lambda out: _fill(out, seed, cfg))


def _fill(out: Path, seed: int, cfg: DesedMiniConfig) -> mini_corpus.Built:
    """Write the clips, the tsv metadata and the README into the build folder ``out``."""
    scenes = prepare_scenes(seed, lambda rng: select_sources(catalogue(PACKAGES), cfg, rng),
                            lambda sources, side_of, rng: _pool(sources, side_of, cfg, rng),
                            SIDES, FRACTIONS, TREATMENT, cfg.bed_max_s)
    rng, sources, beds = scenes.rng, scenes.sources, scenes.beds
    pool, side_of = scenes.pool, scenes.side_of

    taken: set[str] = set()
    files, annotations = [], {}
    for subset, (meta_rel, audio_rel, kind) in desed.SUBSETS.items():
        side = SIDE_OF_SUBSET[subset]
        classes = sorted(pool[side])
        n = getattr(cfg, subset)
        n_empty = round(cfg.empty_fraction * n) if kind == "strong" and side == "heldout" else 0
        empty = set(rng.choice(n, n_empty, replace=False).tolist()) if n_empty else set()
        rows = []
        for i in range(n):
            name = f"{i}.wav" if subset == "synthetic" else _youtube_like_name(rng, taken)
            k = 0 if i in empty else int(rng.integers(cfg.events_per_clip[0], cfg.events_per_clip[1] + 1))
            picked = [classes[int(rng.integers(len(classes)))] for _ in range(k)]
            clips = [pool[side][c][int(rng.integers(len(pool[side][c])))] for c in picked]
            bed_src, y, placed = scenes.mix(side, clips, MIXER, cfg.bed_gain_db, rng, TREATMENT)
            write_audio(out / audio_rel / name, y, SR, "PCM_16")
            events = merge_same_label([(e.onset, e.offset, e.label) for e in placed], MIN_GAP_S)
            rows += [(name, on, off, lab) for on, off, lab in events] or [(name, None, None, None)]
            files.append({"path": f"{audio_rel}/{name}", "subset": subset, "side": side,
                          "bed": bed_src.rec.id, "group": bed_src.group,
                          "events": [{"onset": round(on, 4), "offset": round(off, 4), "label": lab}
                                     for on, off, lab in events],
                          "sources": [{"source": e.source, "label": e.label,
                                       "onset": round(e.onset, 4), "offset": round(e.offset, 4),
                                       "gain_db": round(e.gain_db, 2)} for e in placed]})
        annotations[subset] = rows
        if kind == "strong":
            text = desed.format_strong(rows)
        elif kind == "weak":
            weak = desed.weak_from_strong(
                {"filename": [r[0] for r in rows], "event_label": [r[3] for r in rows]})
            text = "filename\tevent_labels\n" + "".join(
                f"{a}\t{b}\n" for a, b in zip(weak["filename"], weak["event_labels"]))
        else:
            text = "filename\n" + "".join(f"{n}\n" for n in dict.fromkeys(r[0] for r in rows))
        atomic_write_text(out / meta_rel, text)

    atomic_write_text(out / "README.md", _readme(cfg))
    counts = {f"{s}_files": getattr(cfg, s) for s in desed.SUBSETS}
    for s in ("validation", "eval_public"):
        counts[f"{s}_rows"] = len(annotations[s])
    events_per_class = {c: 0 for c in desed.CLASSES}
    for s, rows in annotations.items():
        if desed.SUBSETS[s][2] == "strong":
            for r in rows:
                if r[3] is not None:
                    events_per_class[r[3]] += 1
    all_sources = [s for srcs in sources.values() for s in srcs] + beds
    manifest = {
        "dataset": desed.NAME, "layout": "DESED (DCASE 2020 Task 4) dataset/ folder",
        "mini_version": MINI_VERSION, "seed": seed, "samplerate": SR, "config": asdict(cfg),
        "note": "Domestic-style clips from real Debian recordings, not DESED audio. Only the "
                "used classes are annotated; the others are never faked.",
        "classes": list(desed.CLASSES),
        "used_classes": {c: {"titles": list(r.titles), "id_pattern": r.id_pattern}
                         for c, r in CLASS_SOURCES.items()},
        "unused_classes": UNUSED_CLASSES,
        "classes_per_side": {s: sorted(pool[s]) for s in SIDES},
        "strong_events_per_class": events_per_class,
        "treatment": TREATMENT.to_dict(),
        "mixer": {"max_polyphony": MIXER.max_polyphony, "gain_db": list(MIXER.gain_db),
                  "bed_gain_db": list(cfg.bed_gain_db), "merge_gap_s": MIN_GAP_S},
        "counts": counts,
        "sources": {s.rec.id: {"package": s.rec.package, "label": s.rec.label, "class": s.label,
                               "group": s.group, "side": side_of[s.group]} for s in all_sources},
        "files": files,
    }
    return mini_corpus.Built(manifest, *used_recordings(sources, beds), done={"seed": seed})


def _readme(cfg: DesedMiniConfig) -> str:
    return ("DESED-layout mini corpus (DCASE 2020 Task 4 dataset/ folder) built from real\n"
            "recordings shipped by Debian packages (not DESED). 10 s, 16 kHz mono 16-bit WAV:\n"
            f"weak {cfg.weak}, unlabel_in_domain {cfg.unlabel_in_domain}, synthetic20 "
            f"{cfg.synthetic}, validation {cfg.validation}, eval/public {cfg.eval_public}.\n"
            "MINI.json lists the source recordings of every file; NOTICE the authors and licences.\n")
