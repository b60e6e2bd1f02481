"""TUT-SED-2016-layout mini corpus (the validator is :mod:`data_prep.tut_sed_2016`).

Mini corpus (``write_mini``): the same layout, 20 mixtures of 30 s at 44.1 kHz mixed by
:mod:`data_prep.mixer` from real Debian recordings (OpenSFX, UFO:AI). It keeps the 16 official
label slots but fills only those the recordings honestly contain:

  alarms_and_sirens  OpenSFX "Level crossing" (crossing bells), "Factory Whistle"
  bird_singing       OpenSFX "Tropical: Bird (1)", "Tropical: Bird (2)"
  bus                OpenSFX "Truck/old bus start, pull away", "Modern bus start", "Old bus start"
  crowd_applause     OpenSFX "Applause"
  footsteps          UFO:AI footsteps on 12 surfaces
  glass_smash        UFO:AI misc/breakglass02-07
  gun_shot           UFO:AI firearm shots (pistol, rifle, shotgun, SMG, sniper, HMG, chaingun)
  thunder            UFO:AI ambience/thunder1-3 (cut into 2-5 s events)

Unused (no real recording of that sound in the packages; never faked with synthetic audio):
baby_crying, cat_meowing, crowd_cheering, dog_barking, horsewalk, mixer, motorcycle, rain.
Each leak group of recordings (core ``Recording.group``, merged by :func:`leak_group`) feeds
only one of train / validate / test, so no recording is heard in two splits. Labels with one
group (crowd_applause, glass_smash, thunder) therefore occur in training mixtures only, and
labels with two groups (alarms_and_sirens, bird_singing) in training and test only.
Every clip gets one treatment (``TREATMENT``: 44.1 kHz, 50 Hz-16 kHz band-pass, active-level
normalisation) before mixing, then a random gain of -12..0 dB; at most 4 events overlap.
Mixture numbers 1..20 are dealt to the splits in a seeded random order, so only the
evaluation_setup lists tell the split (as for the official data). Files are 16-bit PCM
(the official mixtures are 32-bit); readers should not depend on the bit depth.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.audio_io import write_audio
from common.errors import DatasetError
from common.fileio import atomic_write_json, atomic_write_text, is_done, mark_done, stable_hash
from data_prep import mini as mini_corpus
from data_prep import paths
from data_prep.mini import MINI_JSON
from data_prep.mixer import EventClip, MixerConfig, active_extent, max_polyphony, mix_events
from data_prep.notice import write_notice
from data_prep.sources import catalogue, read_recording
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, treat
from data_prep.tut_sed_2016 import (LABELS, MIX_PREFIX, NAME, SAMPLERATE, annotation_path,
                                     format_annotations, mixture_path)

MINI_VERSION = 1


@dataclass(frozen=True)
class _Rule:
    titles: tuple[str, ...] = ()
    id_pattern: str | None = None


MINI_LABELS: dict[str, _Rule] = {
    "alarms_and_sirens": _Rule(("Level crossing", "Factory Whistle")),
    "bird_singing": _Rule(("Tropical: Bird (1)", "Tropical: Bird (2)")),
    "bus": _Rule(("Truck/old bus start, pull away", "Modern bus start", "Old bus start")),
    "crowd_applause": _Rule(("Applause",)),
    "footsteps": _Rule(id_pattern=r"ufoai/footsteps/(carpet|dirt|grass|gravel|linoleum|metal|sand"
                                  r"|snow|splash|stone|tile|wood)\d*"),
    "glass_smash": _Rule(id_pattern=r"ufoai/misc/breakglass0[2-7]"),
    "gun_shot": _Rule(id_pattern=r"ufoai/weapons/bullet-(pistol2?|rifle(-\d+x)?|shotgun(-3x|mini)?"
                                 r"|smg(-\d+x)?|sniper|hmg-\d+x|chaingun-\d+x)"),
    "thunder": _Rule(id_pattern=r"ufoai/ambience/thunder\d"),
}
UNUSED_LABELS = {
    "baby_crying": "no baby recording in the packages",
    "cat_meowing": "no cat meowing (OpenSFX has a lion roar only)",
    "crowd_cheering": "no identifiable cheering crowd recording",
    "dog_barking": "no dog recording",
    "horsewalk": "OpenSFX 'Horse' is a neigh, not hooves",
    "mixer": "no kitchen mixer recording",
    "motorcycle": "no motorcycle recording",
    "rain": "no labelled rain recording",
}
MINI_PACKAGES = ("openttd-opensfx", "ufoai-sound")
MINI_MIXTURES = {"train": 12, "validate": 4, "test": 4}
MINI_DURATION_S = 30.0
MINI_EVENTS_PER_MIXTURE = 30
MINI_MAX_EVENT_S = 5.0
MINI_LONG_EVENT_S = (2.0, 5.0)   # long recordings are cut into events of this length range
MINI_QUIET_DB = 30.0


# One treatment for every event clip. No 8 kHz bottleneck (no telephone speech here); every
# used source is sampled at 44.1 or 48 kHz, and 16 kHz is below all of their roll-offs.
TREATMENT = TreatmentConfig(samplerate=SAMPLERATE, band_hz=(50.0, 16000.0), bottleneck_hz=None)
MIXER = MixerConfig(samplerate=SAMPLERATE, duration_s=MINI_DURATION_S, max_polyphony=4,
                    gain_db=(-12.0, 0.0))


def leak_group(rec) -> str:
    """Core group, merged further where edits of one recording carry different names
    (UFO:AI "bullet-rifle-3x" repeats the "bullet-rifle" shot)."""
    return re.sub(r"^(ufoai/weapons/bullet-[a-z]+?)(2|mini)?(-\d+x)?$", r"\1", rec.group)


def select_recordings(recs, rules: dict[str, _Rule]) -> dict[str, list]:
    """Recordings per label; DatasetError naming a rule that matches nothing (package changed)."""
    out: dict[str, list] = {}
    for label, rule in rules.items():
        chosen = [r for r in recs
                  if (r.package == "openttd-opensfx" and r.label in rule.titles)
                  or (rule.id_pattern and re.fullmatch(rule.id_pattern, r.id))]
        found_titles = {r.label for r in chosen if r.package == "openttd-opensfx"}
        lost = [t for t in rule.titles if t not in found_titles]
        if lost or not chosen:
            raise DatasetError(f"label {label!r}: recordings {lost or rule.id_pattern!r} not found "
                               f"in the installed packages {MINI_PACKAGES}")
        out[label] = chosen
    return out


def _split_groups(groups_by_label: dict[str, list[str]], seed: int) -> dict[str, str]:
    """Leak group -> split. Three or more groups: 60/20/20 (core group_split); two: train and
    test; one: train."""
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for label in sorted(groups_by_label):
        groups = sorted(set(groups_by_label[label]))
        order = [groups[i] for i in rng.permutation(len(groups))]
        if len(order) >= 3:
            split = group_split(order, order, {"train": 0.6, "validate": 0.2, "test": 0.2},
                                seed=int(rng.integers(2**31)))
            out.update({g: s for s, gs in split.items() for g in gs})
        else:
            out.update(dict(zip(order, ("train", "test"))))
    return out


def _event_spans(y: np.ndarray, sr: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    start, stop = active_extent(y, sr, threshold_db=40.0)
    if stop - start <= MINI_MAX_EVENT_S * sr:
        return [(start, stop)]
    spans, pos = [], start
    while pos < stop:
        end = min(stop, pos + int(round(rng.uniform(*MINI_LONG_EVENT_S) * sr)))
        if end - pos >= sr:
            spans.append((pos, end))
        pos = end
    level = _rms(y[start:stop])
    return [(a, b) for a, b in spans if _rms(y[a:b]) >= level * 10 ** (-MINI_QUIET_DB / 20)]


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def mini_key(seed: int) -> str:
    """Done-marker key: changes with the seed, the version, the label rules, mixer or treatment."""
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION,
                        "labels": {k: [list(r.titles), r.id_pattern] for k, r in MINI_LABELS.items()},
                        "mixtures": MINI_MIXTURES, "mixer": repr(MIXER),
                        "events": [MINI_EVENTS_PER_MIXTURE, MINI_MAX_EVENT_S, *MINI_LONG_EVENT_S,
                                   MINI_QUIET_DB],
                        "treatment": TREATMENT.to_dict()})


def write_mini(dest: str | Path | None = None, seed: int = 0) -> Path:
    """Build the TUT-SED-layout mini corpus (idempotent for a seed); returns its root."""
    dest = Path(dest) if dest is not None else paths.mini_root(NAME)
    key = mini_key(seed)
    if is_done(dest, key):
        return dest
    mini_corpus.check_dest(dest)
    t0 = time.perf_counter()
    out = mini_corpus.staging(dest)       # built here, moved to dest when complete
    cfg = TREATMENT
    sr = cfg.samplerate
    rng = np.random.default_rng(seed)
    chosen = select_recordings(catalogue(MINI_PACKAGES), MINI_LABELS)
    split_of_group = _split_groups({lab: [leak_group(r) for r in recs]
                                    for lab, recs in chosen.items()}, seed)

    # Event pool per split and label: whole short recordings, 2-5 s cuts of long ones.
    pool: dict[str, dict[str, list[EventClip]]] = {s: {} for s in MINI_MIXTURES}
    sources = {}
    for label in sorted(chosen):
        for rec in chosen[label]:
            split = split_of_group[leak_group(rec)]
            y = read_recording(rec, sr)
            spans = _event_spans(y, sr, rng)
            for a, b in spans:
                pool[split].setdefault(label, []).append(
                    EventClip(label=label, audio=treat(y[a:b], sr, cfg), source=rec.id))
            sources[rec.id] = {"package": rec.package, "label": rec.label, "group": leak_group(rec),
                               "event_label": label, "split": split, "clips": len(spans)}

    # Mixture numbers 1..N are dealt to splits in a seeded order, so numbering says nothing
    # about the split (readers must use evaluation_setup).
    total = sum(MINI_MIXTURES.values())
    numbers = [int(n) for n in rng.permutation(np.arange(1, total + 1))]
    plan, i = [], 0
    for split, n in MINI_MIXTURES.items():
        plan += [(str(numbers[i + k]), split) for k in range(n)]
        i += n
    plan.sort(key=lambda p: int(p[0]))

    mixtures, skipped = {}, 0
    for mid, split in plan:
        labels = sorted(pool[split])
        clips = []
        for _ in range(MINI_EVENTS_PER_MIXTURE):
            label = labels[int(rng.integers(len(labels)))]
            clips.append(pool[split][label][int(rng.integers(len(pool[split][label])))])
        mixture, events = mix_events(clips, MIXER, rng)
        skipped += len(clips) - len(events)
        write_audio(mixture_path(out, mid), mixture, sr, subtype="PCM_16")
        atomic_write_text(annotation_path(out, mid), format_annotations(events))
        mixtures[mid] = {"split": split, "events": events}

    def listing(ids, with_events: bool) -> str:
        lines = []
        for mid in sorted(ids, key=int):
            rel = f"audio/{MIX_PREFIX}{mid}.wav"
            lines.append(format_annotations(mixtures[mid]["events"], prefix=rel) if with_events
                         else f"{rel}\n")
        return "".join(lines)

    ids_of = {s: [m for m, v in mixtures.items() if v["split"] == s] for s in MINI_MIXTURES}
    setup_dir = out / "evaluation_setup"
    atomic_write_text(setup_dir / "train+validate.txt", listing(ids_of["train"] + ids_of["validate"], True))
    atomic_write_text(setup_dir / "validate.txt", listing(ids_of["validate"], True))
    atomic_write_text(setup_dir / "test.txt", listing(ids_of["test"], False))
    atomic_write_text(setup_dir / "evaluate.txt", listing(ids_of["test"], True))

    used = [r for label in sorted(chosen) for r in chosen[label]]
    write_notice(out, MINI_PACKAGES, used)
    all_events = [e for v in mixtures.values() for e in v["events"]]
    per_label = {lab: sum(e.label == lab for e in all_events) for lab in LABELS}
    atomic_write_json(out / MINI_JSON, {
        "dataset": NAME, "mini_version": MINI_VERSION, "seed": seed, "samplerate": sr,
        "note": "Official 16 label slots; only the used labels have events, from real Debian "
                "recordings (see data_prep/tut_sed_2016.py). Unused labels were not faked.",
        "labels": list(LABELS),
        "used_labels": sorted(MINI_LABELS),
        "unused_labels": UNUSED_LABELS,
        "label_sources": {lab: {"opensfx_titles": list(r.titles), "id_pattern": r.id_pattern}
                          for lab, r in MINI_LABELS.items()},
        "labels_per_split": {s: sorted(pool[s]) for s in MINI_MIXTURES},
        "treatment": cfg.to_dict(),
        "mixer": {"duration_s": MIXER.duration_s, "max_polyphony": MIXER.max_polyphony,
                  "gain_db": list(MIXER.gain_db), "trim_threshold_db": MIXER.trim_threshold_db,
                  "events_drawn_per_mixture": MINI_EVENTS_PER_MIXTURE, "events_not_placed": skipped},
        "counts": {"mixtures": len(mixtures), "labels": len({e.label for e in all_events}),
                   "events": len(all_events)},
        "events_per_label": per_label,
        "max_polyphony": max(max_polyphony([(e.onset, e.offset) for e in v["events"]])
                             for v in mixtures.values()),
        "splits": {s: sorted(ids, key=int) for s, ids in ids_of.items()},
        "mixture_sources": {mid: sorted({e.source for e in v["events"]}) for mid, v in
                            sorted(mixtures.items(), key=lambda kv: int(kv[0]))},
        "sources": sources,
        "split_of_group": dict(sorted(split_of_group.items())),
        "build_seconds": round(time.perf_counter() - t0, 2),
    })
    mark_done(out, key, seed=seed, version=MINI_VERSION, mixtures=len(mixtures))
    mini_corpus.publish(out, dest)
    return dest
