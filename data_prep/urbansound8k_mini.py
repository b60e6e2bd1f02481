"""UrbanSound8K-layout mini corpus (the validator is :mod:`data_prep.urbansound8k`).

Mini corpus (``write_mini``): the same layout, built from real recordings that Debian ships
(OpenSFX, UFO:AI). Its ten classes are OURS, not UrbanSound8K's -- the Debian packages hold no
air conditioners, drills or street music. Each class is made only of recordings that really
contain that sound:

  0 breaking   UFO:AI breaking glass, metal and wood (misc/break*)
  1 explosion  UFO:AI explosions (weapons/explosion*, geoscape combat explosions), OpenSFX "Explosion"
  2 fire       UFO:AI fire ambience loops
  3 footsteps  UFO:AI footsteps on 12 surfaces (one step per clip)
  4 gun_shot   UFO:AI firearm shots (pistol, rifle, shotgun, SMG, sniper, HMG, chaingun)
  5 human_cry  UFO:AI soldiers' and civilians' hurt/death cries and screams (voice actors)
  6 thunder    UFO:AI thunder ambience
  7 vehicle    OpenSFX aircraft, buses/trucks and passing trains; UFO:AI diesel UGV engine
  8 water      UFO:AI water ambience, fountain and splashes
  9 wind       UFO:AI arctic wind; OpenSFX "Wind"/"Heavy wind"

The heroes-sound-effects clips (8-bit, 11 kHz) are not used: their 5.5 kHz bandwidth would
force the band limit of every class down to it. Recordings whose content stops near 4-5.5 kHz
(sampled at 8 kHz or upsampled from it: soldiers/femaledeath04, civilians/male*,
ambience/water, misc/breakglass01, misc/breakmetal01) are left out, and one treatment (``TREATMENT``: 22,050 Hz, 50 Hz-10 kHz band-pass, active-level
normalisation) is applied to every slice, so bandwidth does not give the class away.
``fsID`` is the index of the source recording (table ``sources`` in MINI.json); every
recording of one leak group (core ``Recording.group``, refined by :func:`leak_group`) lands in
one fold, so folds never share a recording or an edit of the same original.
Long recordings are cut into consecutive, non-overlapping slices of 2-4 s (seeded); short ones
give one slice (their non-silent extent).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from common.audio_io import write_audio
from common.fileio import atomic_write_text, stable_hash
from data_prep import mini as mini_corpus
from data_prep.class_sources import (EVENT_PACKAGES, UFOAI_FOOTSTEPS, UFOAI_GUN_SHOTS, UFOAI_THUNDER,
                                     ClassRule, merge_shot_edits, ordered, rms, rule_table,
                                     select_recordings)
from data_prep.mixer import active_extent
from data_prep.sources import catalogue, read_recording
from data_prep.treatment import TreatmentConfig, treat
from data_prep.urbansound8k import (COLUMNS, FOLDS, MAX_SLICE_S, NAME, csv_path, slice_file_name,
                                     slice_path)

MINI_SAMPLERATE = 22050
MINI_VERSION = 1


MINI_CLASSES: dict[str, ClassRule] = {
    "breaking": ClassRule(id_pattern=r"ufoai/misc/break(glass0[2-7]|metal0[2-4]|wood0[1-7])"),
    "explosion": ClassRule(("Explosion",),
                       r"ufoai/weapons/explosion(-(fire|flashbang|grenade|plasma|rocket))?"
                       r"|ufoai/geoscape/combat-(explosion|rocket-exp)"),
    "fire": ClassRule(id_pattern=r"ufoai/ambience/(fire\d*|firesoft|smallfire)"),
    "footsteps": ClassRule(id_pattern=UFOAI_FOOTSTEPS),
    "gun_shot": ClassRule(id_pattern=UFOAI_GUN_SHOTS),
    "human_cry": ClassRule(id_pattern=r"ufoai/soldiers/(?!femaledeath04$)(female|male)(death|hurt)\d+"
                                  r"|ufoai/civilians/civ(fem|male)\w+"),
    "thunder": ClassRule(id_pattern=UFOAI_THUNDER),
    "vehicle": ClassRule(("Propeller plane start", "Early jet take off", "Mach 1+ Jet take off",
                      "Modern jet take off", "Helicopter", "Toyland: Propeller plane take off",
                      "Truck/old bus start, pull away", "Modern bus start", "Old bus start",
                      "Maglev train station departure", "Monorail train station departure"),
                     r"ufoai/ugv/diesel-(idle|move|stop)"),
    "water": ClassRule(id_pattern=r"ufoai/ambience/(water0[1-3]|waterfontain)"
                              r"|ufoai/impact/water(bullet)?-impact"),
    "wind": ClassRule(("Wind", "Heavy wind"), r"ufoai/ambience/arcticwind"),
}
MINI_PACKAGES = EVENT_PACKAGES
MINI_SLICE_S = (2.0, 4.0)      # long recordings: consecutive slices of this length range
MINI_MIN_SLICE_S = 1.0         # a final remainder shorter than this is dropped
MINI_QUIET_DB = 30.0           # slices this far below their recording's level are dropped


# One treatment for every slice. No 8 kHz bottleneck: there is no telephone speech here, and
# every source is read at 22,050 Hz first (one soxr anti-alias roll-off for all).
TREATMENT = TreatmentConfig(samplerate=MINI_SAMPLERATE, band_hz=(50.0, 10000.0), bottleneck_hz=None)


def leak_group(rec) -> str:
    """The core group, merged further where edits of one recording carry different names:
    UFO:AI "bullet-rifle-3x" repeats the "bullet-rifle" shot, the diesel UGV clips are one
    engine, "civfemdeath01a"/"civfemdeath02a" are takes of one session."""
    group = merge_shot_edits(rec.group)
    group = re.sub(r"^(ufoai/ugv/diesel)-\w+$", r"\1", group)
    group = re.sub(r"^(ufoai/civilians/civ[a-z]+?)\d+a$", r"\1", group)
    return group


def _cut_slices(y: np.ndarray, sr: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(start, stop) samples: the non-silent extent, cut into 2-4 s slices when it is longer."""
    start, stop = active_extent(y, sr, threshold_db=40.0)
    if (stop - start) <= MAX_SLICE_S * sr:
        return [(start, stop)]
    spans, pos = [], start
    while pos < stop:
        length = int(round(rng.uniform(*MINI_SLICE_S) * sr))
        end = min(stop, pos + length)
        if end - pos >= MINI_MIN_SLICE_S * sr:
            spans.append((pos, end))
        pos = end
    return spans


def _assign_folds(groups_by_class: dict[str, dict[str, int]], seed: int) -> dict[str, int]:
    """Leak group -> fold. Per class, largest groups first (seeded ties), each to the fold with
    the fewest slices of that class, then the fewest slices overall."""
    rng = np.random.default_rng(seed)
    fold_total = {f: 0 for f in FOLDS}
    assign: dict[str, int] = {}
    for label in sorted(groups_by_class):
        sizes = groups_by_class[label]
        names = sorted(sizes)
        order = [names[i] for i in rng.permutation(len(names))]
        order.sort(key=lambda g: -sizes[g])
        fold_class = {f: 0 for f in FOLDS}
        start = int(rng.integers(len(FOLDS)))   # rotate ties so classes do not all start at fold 1
        for g in order:
            fold = min(FOLDS, key=lambda f: (fold_class[f], fold_total[f], (f - 1 - start) % len(FOLDS)))
            assign[g] = fold
            fold_class[fold] += sizes[g]
            fold_total[fold] += sizes[g]
    return assign


def mini_key(seed: int) -> str:
    """Done-marker key: changes with the seed, the version, the class rules or the treatment."""
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION,
                        "classes": {k: [list(r.titles), r.id_pattern] for k, r in MINI_CLASSES.items()},
                        "slice_s": [*MINI_SLICE_S, MINI_MIN_SLICE_S, MINI_QUIET_DB],
                        "treatment": TREATMENT.to_dict()})


def write_mini(dest: str | Path | None = None, seed: int = 0) -> Path:
    """Build the UrbanSound8K-layout mini corpus (idempotent for a seed); returns its root."""
    return mini_corpus.build_mini(mini_corpus.destination(NAME, dest), mini_key(seed),
                                  lambda out: _fill(out, seed), seconds_in_manifest=True)


def _fill(out: Path, seed: int) -> mini_corpus.Built:
    """Write the slices and metadata CSV into ``out``; MINI.json's content."""
    sr = TREATMENT.samplerate
    rng = np.random.default_rng(seed)
    chosen = select_recordings(catalogue(MINI_PACKAGES), MINI_CLASSES, "class")
    class_ids = {label: i for i, label in enumerate(sorted(MINI_CLASSES))}

    # fsID = 1-based index of the recording in (class, catalogue) order.
    sources, slices = {}, []
    fs_id = 0
    for label in sorted(chosen):
        for rec in chosen[label]:
            fs_id += 1
            y = read_recording(rec, sr)
            spans = _cut_slices(y, sr, rng)
            level = rms(y[spans[0][0]:spans[-1][1]])
            kept = 0
            for a, b in spans:
                if rms(y[a:b]) < level * 10 ** (-MINI_QUIET_DB / 20):
                    continue
                slices.append({"fsID": fs_id, "classID": class_ids[label], "class": label,
                               "sliceID": kept, "start": a / sr, "end": b / sr,
                               "audio": treat(y[a:b], sr, TREATMENT), "group": leak_group(rec)})
                kept += 1
            sources[fs_id] = {"id": rec.id, "package": rec.package, "label": rec.label,
                              "group": leak_group(rec), "class": label, "slices": kept}

    sizes: dict[str, dict[str, int]] = {}
    for s in slices:
        sizes.setdefault(s["class"], {}).setdefault(s["group"], 0)
        sizes[s["class"]][s["group"]] += 1
    fold_of = _assign_folds(sizes, seed)

    rows = []
    for s in slices:
        name = slice_file_name(s["fsID"], s["classID"], 0, s["sliceID"])
        fold = fold_of[s["group"]]
        write_audio(slice_path(out, fold, name), s["audio"], sr, subtype="PCM_16")
        rows.append({"slice_file_name": name, "fsID": s["fsID"], "start": round(s["start"], 6),
                     "end": round(s["end"], 6), "salience": 1, "fold": fold,
                     "classID": s["classID"], "class": s["class"]})
    meta = pd.DataFrame(rows, columns=list(COLUMNS))
    atomic_write_text(csv_path(out), meta.to_csv(index=False))

    counts = {"slices": len(meta), **{k: int(v) for k, v in meta.groupby("class").size().items()}}
    durations = [len(s["audio"]) / sr for s in slices]
    manifest = {
        "dataset": NAME, "mini_version": MINI_VERSION, "seed": seed, "samplerate": sr,
        "note": "Classes are this mini corpus's own (real Debian recordings), not UrbanSound8K's; "
                "see data_prep/urbansound8k.py.",
        "classes": {str(i): label for label, i in class_ids.items()},
        "class_sources": rule_table(MINI_CLASSES),
        "treatment": TREATMENT.to_dict(),
        "counts": counts,
        "slices_per_fold": {str(k): int(v) for k, v in meta.groupby("fold").size().items()},
        "total_duration_s": round(float(sum(durations)), 3),
        "sources": {str(k): v for k, v in sources.items()},
        "fold_of_group": dict(sorted(fold_of.items())),
    }
    return mini_corpus.Built(manifest, MINI_PACKAGES, ordered(chosen),
                             {"seed": seed, "version": MINI_VERSION, "slices": len(meta)})
