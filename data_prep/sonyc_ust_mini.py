"""SONYC-UST-layout mini corpus from real Debian recordings (not the SONYC-UST data).

Same layout as the official v1 release (annotations.csv with the 70 columns, the taxonomy yaml,
train/ and validate/ with 10 s, 44.1 kHz mono clips named ``<sensor>_<id>.wav``). Each clip is
an urban *bed* (a window of a UFO:AI city/night ambience loop, not tagged: it plays the role of
the sensor's background) plus 1-3 events placed at random onsets by :mod:`data_prep.mixer`.

Only fine tags whose sound the recordings really contain are ever positive (:data:`TAG_SOURCES`):

  1-2 medium-sounding-engine          UFO:AI diesel UGV (idle, move, stop)
  1-3 large-sounding-engine           OpenSFX bus/truck starts (3 recordings)
  2-2 jackhammer                      OpenSFX "Jackhammer"
  3-1 non-machinery-impact            UFO:AI door slams (3) and wood breakage
  4-1 chainsaw                        OpenSFX "Lumber mill: Chainsaw"
  4-X other-unknown-powered-saw       OpenSFX "Sawmill" (saw type not identifiable)
  5-1 car-horn                        OpenSFX "Modern car horn"
  5-X other-unknown-alert-signal      OpenSFX level-crossing bells, factory whistle, ship/ferry horns
  6-X music-from-uncertain-source     Drascula soundtrack excerpts (3-6 s)
  7-1 person-or-small-group-talking   Asterisk prompts (3 speakers)
  7-2 person-or-small-group-shouting  UFO:AI civilian screams
  7-3 large-crowd                     heroes crowd ("foule"), OpenSFX "Oooh sound"

The other 17 fine tags (small engines, rock drill, hoe-ram, pile driver, rotating saws, car
alarm, siren, reverse beeper, stationary/mobile/ice-cream music, amplified speech, dog, the
unused X tags) and coarse category 8 (dog) are in the columns but never positive: no recording
of them exists in the packages, and none is faked.

Annotators (stated rates, :class:`SonycMiniConfig`): every file gets ``crowd_annotators`` crowd
rows (positive ids); a crowd annotator misses each true fine tag with ``crowd_miss_rate`` and
marks each absent *populated* tag with ``crowd_false_rate``; proximity is near (event gain
>= -3 dB) or far, reported as notsure with ``notsure_rate``. Validate files also get an
annotator-0 row holding the truth. Coarse presence = any fine tag of that category in the row.

One treatment for every clip (:data:`TREATMENT`, 44.1 kHz, 100 Hz-3.8 kHz through an 8 kHz
bottleneck): the speech prompts are 8 kHz and the heroes clips 11 kHz, so every source shares
one bandwidth and none can be told apart by it. Leak groups (recordings and takes of one
original) lie on one side of train/validate (:func:`data_prep.soundscape.split_groups`); tags
with one group occur in train only (listed in MINI.json ``tags_per_split``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.audio_io import write_audio
from common.errors import DatasetError
from common.fileio import atomic_write_text
from data_prep import mini as mini_corpus
from data_prep import sonyc_ust as ust
from data_prep.mixer import EventClip, MixerConfig
from data_prep.soundscape import (
    LabelledSource,
    SourceRule,
    event_clips,
    matching_recordings,
    pick_sorted,
    prepare_scenes,
    scene_mini_key,
    used_recordings,
    window_clips,
)
from data_prep.sources import Recording, catalogue
from data_prep.treatment import TreatmentConfig

MINI_VERSION = 1
SR = ust.SAMPLERATE
SIDES = ("train", "validate")
FRACTIONS = {"train": 0.7, "validate": 0.3}


TAG_SOURCES: dict[str, SourceRule] = {
    "1-2_medium-sounding-engine": SourceRule(id_pattern=r"ufoai/ugv/diesel-(idle|move|stop)"),
    "1-3_large-sounding-engine": SourceRule(("Truck/old bus start, pull away", "Modern bus start",
                                        "Old bus start")),
    "2-2_jackhammer": SourceRule(("Jackhammer",)),
    "3-1_non-machinery-impact": SourceRule(id_pattern=r"ufoai/(doors/door[123]-close|misc/breakwood0[1-7])"),
    "4-1_chainsaw": SourceRule(("Lumber mill: Chainsaw",)),
    "4-X_other-unknown-powered-saw": SourceRule(("Sawmill",)),
    "5-1_car-horn": SourceRule(("Modern car horn",)),
    "5-X_other-unknown-alert-signal": SourceRule(("Level crossing", "Factory Whistle", "Ship horn",
                                             "Ferry horn")),
    "6-X_music-from-uncertain-source": SourceRule(id_pattern=r"drascula/track\d+", kind="music"),
    "7-1_person-or-small-group-talking": SourceRule(id_pattern=r"(en_US_f_Allison|fr_CA_f_June|it_IT_m_Carlo)/.*",
                                               kind="speech"),
    "7-2_person-or-small-group-shouting": SourceRule(id_pattern=r"ufoai/civilians/civfemscream0[12]a"),
    "7-3_large-crowd": SourceRule(("Oooh sound",), id_pattern=r"heroes/foule[12]"),
}
BED_PATTERN = r"ufoai/ambience/(city_abnd_ufoai_atm|ufo_night_atm|sand-city)"
PACKAGES = ("openttd-opensfx", "ufoai-sound", "heroes-sound-effects", "drascula-music",
            "asterisk-core-sounds-en-wav", "asterisk-core-sounds-fr-wav",
            "asterisk-core-sounds-it-wav")

TREATMENT = TreatmentConfig(samplerate=SR)   # 100-3800 Hz through the 8 kHz bottleneck
MIXER = MixerConfig(samplerate=SR, duration_s=ust.CLIP_S, max_polyphony=2, gain_db=(-6.0, 0.0))


@dataclass(frozen=True)
class SonycMiniConfig:
    train_files: int = 60
    validate_files: int = 24
    events_per_file: tuple[int, int] = (1, 3)
    crowd_annotators: int = 3
    crowd_miss_rate: float = 0.2
    crowd_false_rate: float = 0.03
    notsure_rate: float = 0.15
    near_gain_db: float = -3.0
    bed_max_s: float = 40.0           # beds: one excerpt of at most this length per recording
    bed_gain_db: tuple[float, float] = (-14.0, -8.0)
    speech_prompts: int = 30
    music_tracks: int = 6
    max_event_s: float = 4.0
    long_event_s: tuple[float, float] = (2.0, 4.0)
    train_sensors: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    validate_sensors: tuple[int, ...] = (6, 7)
    crowd_pool: int = 60


def leak_group(rec: Recording) -> str:
    """Core group, merged where edits of one session carry different names (UGV diesel takes)."""
    return re.sub(r"^ufoai/ugv/diesel-(idle|move|stop)$", "ufoai/ugv/diesel", rec.group)


def select_sources(recs: list[Recording], cfg: SonycMiniConfig, rng: np.random.Generator
                   ) -> tuple[dict[str, list[LabelledSource]], list[LabelledSource]]:
    """(tag -> sources, beds). DatasetError naming a tag whose recordings are not found."""
    out: dict[str, list[LabelledSource]] = {}
    for tag, rule in TAG_SOURCES.items():
        chosen = matching_recordings(recs, rule.titles, rule.id_pattern)
        lost = sorted(set(rule.titles) - {r.label for r in chosen if r.package == "openttd-opensfx"})
        if lost or not chosen:
            raise DatasetError(f"sonyc_ust mini: tag {tag!r}: recordings {lost or rule.id_pattern!r} "
                               f"not found in the installed packages")
        if rule.kind == "speech":
            chosen = pick_sorted(chosen, cfg.speech_prompts, rng)
        elif rule.kind == "music":
            chosen = pick_sorted(chosen, cfg.music_tracks, rng)
        out[tag] = [LabelledSource(tag, r, leak_group(r)) for r in chosen]
    beds = [LabelledSource("bed", r, leak_group(r)) for r in recs if re.fullmatch(BED_PATTERN, r.id)]
    if len(beds) < 2:
        raise DatasetError("sonyc_ust mini: UFO:AI city/night ambience beds not found")
    return out, beds


def _pool(sources: dict[str, list[LabelledSource]], side_of: dict[str, str], cfg: SonycMiniConfig,
          rng: np.random.Generator) -> dict[str, dict[str, list[EventClip]]]:
    pool: dict[str, dict[str, list[EventClip]]] = {s: {} for s in SIDES}
    for tag in sorted(sources):
        for src in sources[tag]:
            side = side_of[src.group]
            kind = TAG_SOURCES[tag].kind
            if kind == "music":
                clips = window_clips(src, SR, TREATMENT, rng, 2, (3.0, 6.0))
            else:
                clips = event_clips(src, SR, TREATMENT, rng, cfg.max_event_s, cfg.long_event_s)
            if clips:
                pool[side].setdefault(tag, []).extend(clips)
    return pool


def _presence_row(truth: set[str], gains: dict[str, float], populated: list[str],
                  cfg: SonycMiniConfig, rng: np.random.Generator, exact: bool) -> dict[str, str]:
    """One annotator's row (fine presence, proximity, coarse presence) as written in the CSV."""
    if exact:
        marked = set(truth)
    else:
        marked = {t for t in sorted(truth) if rng.random() >= cfg.crowd_miss_rate}
        marked |= {t for t in populated if t not in truth and rng.random() < cfg.crowd_false_rate}
    row: dict[str, str] = {}
    for tag in ust.FINE_TAGS:
        row[f"{tag}_presence"] = "1.0" if tag in marked else "0.0"
    for tag in ust.FINE_TAGS:
        if tag not in marked:
            row[f"{tag}_proximity"] = "-1"
        elif not exact and rng.random() < cfg.notsure_rate:
            row[f"{tag}_proximity"] = "notsure"
        else:
            row[f"{tag}_proximity"] = "near" if gains.get(tag, -99.0) >= cfg.near_gain_db else "far"
    for tag in ust.COARSE_TAGS:
        cid = tag.split("_")[0]
        row[f"{tag}_presence"] = "1" if any(t.split("-")[0] == cid for t in marked) else "0"
    return row


def mini_key(seed: int, cfg: SonycMiniConfig) -> str:
    return scene_mini_key(ust.NAME, seed, MINI_VERSION, cfg, "tags", TAG_SOURCES, BED_PATTERN,
                          MIXER, TREATMENT)


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: SonycMiniConfig | None = None) -> Path:
    """Build the SONYC-UST-layout mini corpus (idempotent for a seed and config); its root."""
    cfg = config or SonycMiniConfig()
    return mini_corpus.build_mini(mini_corpus.destination(ust.NAME, dest), mini_key(seed, cfg),
                                  lambda out: _fill(out, seed, cfg))


def _fill(out: Path, seed: int, cfg: SonycMiniConfig) -> mini_corpus.Built:
    """Write the clips, annotations.csv, the taxonomy and the README into the build folder."""
    scenes = prepare_scenes(seed, lambda rng: select_sources(catalogue(PACKAGES), cfg, rng),
                            lambda sources, side_of, rng: _pool(sources, side_of, cfg, rng),
                            SIDES, FRACTIONS, TREATMENT, cfg.bed_max_s)
    rng, sources, beds = scenes.rng, scenes.sources, scenes.beds
    pool, side_of = scenes.pool, scenes.side_of

    files, rows = [], []
    populated = {s: sorted(pool[s]) for s in SIDES}
    counter = 0
    for side, n, sensors in (("train", cfg.train_files, cfg.train_sensors),
                             ("validate", cfg.validate_files, cfg.validate_sensors)):
        tags = populated[side]
        for _ in range(n):
            counter += 1
            sensor = int(sensors[int(rng.integers(len(sensors)))])
            name = f"{sensor:02d}_{counter:06d}.wav"
            k = int(rng.integers(cfg.events_per_file[0], cfg.events_per_file[1] + 1))
            picked = [tags[i] for i in sorted(rng.choice(len(tags), min(k, len(tags)), replace=False))]
            clips = [pool[side][t][int(rng.integers(len(pool[side][t])))] for t in picked]
            bed_src, y, placed = scenes.mix(side, clips, MIXER, cfg.bed_gain_db, rng, TREATMENT)
            write_audio(out / side / name, y, SR, "PCM_16")
            truth = {e.label for e in placed}
            gains = {}
            for e in placed:
                gains[e.label] = max(gains.get(e.label, -99.0), e.gain_db)
            annotators = [int(a) + 1 for a in rng.choice(cfg.crowd_pool, cfg.crowd_annotators,
                                                         replace=False)]
            ids = ([0] if side == "validate" else []) + sorted(annotators)
            for aid in ids:
                rows.append({"split": side, "sensor_id": str(sensor), "audio_filename": name,
                             "annotator_id": str(aid),
                             **_presence_row(truth, gains, tags, cfg, rng, exact=aid == 0)})
            files.append({"path": f"{side}/{name}", "split": side, "sensor_id": sensor,
                          "tags": sorted(truth), "bed": bed_src.rec.id, "group": bed_src.group,
                          "annotators": ids,
                          "events": [{"onset": round(e.onset, 4), "offset": round(e.offset, 4),
                                      "tag": e.label, "source": e.source,
                                      "gain_db": round(e.gain_db, 2)} for e in placed]})

    table = pd.DataFrame(rows, columns=list(ust.COLUMNS))
    table = table.sort_values(["split", "audio_filename", "annotator_id"],
                              key=lambda c: c.astype(int) if c.name == "annotator_id" else c,
                              kind="stable")
    atomic_write_text(out / ust.ANNOTATIONS, table.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / ust.TAXONOMY_FILE, ust.taxonomy_yaml())
    atomic_write_text(out / "README.md", _readme(cfg))
    all_sources = [s for srcs in sources.values() for s in srcs] + beds
    manifest = {
        "dataset": ust.NAME, "layout": "SONYC-UST v1 (DCASE2019 Task 5)",
        "mini_version": MINI_VERSION, "seed": seed, "samplerate": SR, "config": asdict(cfg),
        "note": "Urban-style soundscapes from real Debian recordings, not SONYC-UST audio. "
                "Only tags_used are ever positive; the other tags are never faked.",
        "tags_used": {t: {"titles": list(r.titles), "id_pattern": r.id_pattern}
                      for t, r in TAG_SOURCES.items()},
        "tags_never_positive": [t for t in ust.FINE_TAGS if t not in TAG_SOURCES],
        "tags_per_split": populated,
        "treatment": TREATMENT.to_dict(),
        "mixer": {"max_polyphony": MIXER.max_polyphony, "gain_db": list(MIXER.gain_db),
                  "bed_gain_db": list(cfg.bed_gain_db)},
        "counts": {"train_files": cfg.train_files, "validate_files": cfg.validate_files,
                   "annotation_rows": len(table)},
        "sources": {s.rec.id: {"package": s.rec.package, "label": s.rec.label, "tag": s.label,
                               "group": s.group, "split": side_of[s.group]} for s in all_sources},
        "files": files,
    }
    return mini_corpus.Built(manifest, *used_recordings(sources, beds), done={"seed": seed})


def _readme(cfg: SonycMiniConfig) -> str:
    return ("SONYC-UST-layout mini corpus built from real recordings shipped by Debian packages\n"
            "(not SONYC-UST). annotations.csv has the 70 official columns; audio is 10 s, 44.1 kHz\n"
            f"mono 16-bit WAV: {cfg.train_files} train, {cfg.validate_files} validate files.\n"
            "Annotators are simulated (see data_prep/sonyc_ust_mini.py); annotator 0 on validate\n"
            "holds the truth. MINI.json lists the source recordings of every file; NOTICE the\n"
            "authors and licences.\n")
