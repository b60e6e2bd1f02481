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

from pathlib import Path

import numpy as np

from common.audio_io import write_audio
from common.fileio import atomic_write_text, stable_hash
from data_prep import mini as mini_corpus
from data_prep.class_sources import (EVENT_PACKAGES, UFOAI_FOOTSTEPS, UFOAI_GUN_SHOTS, UFOAI_THUNDER,
                                     ClassRule, merge_shot_edits, ordered, rms, rule_table,
                                     select_recordings)
from data_prep.mixer import EventClip, MixerConfig, active_extent, max_polyphony, mix_events
from data_prep.sources import catalogue, read_recording
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, treat
from data_prep.tut_sed_2016 import (LABELS, MIX_PREFIX, NAME, SAMPLERATE, annotation_path,
                                     format_annotations, mixture_path)

MINI_VERSION = 1


MINI_LABELS: dict[str, ClassRule] = {
    "alarms_and_sirens": ClassRule(("Level crossing", "Factory Whistle")),
    "bird_singing": ClassRule(("Tropical: Bird (1)", "Tropical: Bird (2)")),
    "bus": ClassRule(("Truck/old bus start, pull away", "Modern bus start", "Old bus start")),
    "crowd_applause": ClassRule(("Applause",)),
    "footsteps": ClassRule(id_pattern=UFOAI_FOOTSTEPS),
    "glass_smash": ClassRule(id_pattern=r"ufoai/misc/breakglass0[2-7]"),
    "gun_shot": ClassRule(id_pattern=UFOAI_GUN_SHOTS),
    "thunder": ClassRule(id_pattern=UFOAI_THUNDER),
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
MINI_PACKAGES = EVENT_PACKAGES
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
    return merge_shot_edits(rec.group)


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
    level = rms(y[start:stop])
    return [(a, b) for a, b in spans if rms(y[a:b]) >= level * 10 ** (-MINI_QUIET_DB / 20)]


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
    return mini_corpus.build_mini(mini_corpus.destination(NAME, dest), mini_key(seed),
                                  lambda out: _fill(out, seed), seconds_in_manifest=True)


def _fill(out: Path, seed: int) -> mini_corpus.Built:
    """Write mixtures, annotations and evaluation-setup lists into ``out``; MINI.json's content."""
    sr = TREATMENT.samplerate
    rng = np.random.default_rng(seed)
    chosen = select_recordings(catalogue(MINI_PACKAGES), MINI_LABELS, "label")
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
                    EventClip(label=label, audio=treat(y[a:b], sr, TREATMENT), source=rec.id))
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

    all_events = [e for v in mixtures.values() for e in v["events"]]
    per_label = {lab: sum(e.label == lab for e in all_events) for lab in LABELS}
    manifest = {
        "dataset": NAME, "mini_version": MINI_VERSION, "seed": seed, "samplerate": sr,
        "note": "Official 16 label slots; only the used labels have events, from real Debian "
                "recordings (see data_prep/tut_sed_2016.py). Unused labels were not faked.",
        "labels": list(LABELS),
        "used_labels": sorted(MINI_LABELS),
        "unused_labels": UNUSED_LABELS,
        "label_sources": rule_table(MINI_LABELS),
        "labels_per_split": {s: sorted(pool[s]) for s in MINI_MIXTURES},
        "treatment": TREATMENT.to_dict(),
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
    }
    return mini_corpus.Built(manifest, MINI_PACKAGES, ordered(chosen),
                             {"seed": seed, "version": MINI_VERSION, "mixtures": len(mixtures)})
