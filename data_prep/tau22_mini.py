"""Mini corpus in the TAU Urban Acoustic Scenes 2022 Mobile layout, with SIMULATED devices.

Ten scene classes of OUR OWN, named after what the Debian recordings contain (they hold no
airports or trams):

  animals         OpenSFX birds, monkeys, lion, sheep, cow, horse
  city_ambience   UFO:AI city atmospheres (city_abnd_ufoai_atm, sand-city)
  fire            UFO:AI fire loops (fire*, firesoft, smallfire)
  machinery       UFO:AI mine pump, hum, machine, steam; OpenSFX mining machinery, sawmill,
                  jackhammer, chainsaw
  music_room      Drascula soundtrack tracks; UFO:AI "disco" (music playing in a room)
  night_crickets  UFO:AI night atmosphere and cricket loop
  road_vehicles   OpenSFX bus/truck starts, vehicle breakdown; UFO:AI diesel UGV
  storm_water     UFO:AI thunderstorms, water loops, fountain
  trains          OpenSFX train departures, steam engine, level crossing, train breakdown
  wind            UFO:AI arctic wind; OpenSFX wind, heavy wind

A *location* (identifier ``<city>-<location>``, city = the source package) is a block of
``block_seconds`` (10 s) of a long recording, or a whole recording when it is shorter than two
blocks or shares its leak group (urbansound8k.leak_group: edits of one original) with another
recording. Every location lies wholly in train or test, so train and test may hold different
blocks of one long scene bed, as TAU's train and test hold different locations of one city
(mini_version 1 made every recording one location: four classes then had a single training
recording and a test recording of a different kind, and no model generalised, measured in
issue 11). Seconds are taken round-robin over a split's locations, so the many short
recordings of a class are all used. A location is cut into consecutive 1 s segments (segment =
second // 10, subsegment = second % 10, as the 2022 set cut the 10 s files of 2020); seconds
more than 30 dB below the location's loudest second are dropped.

Devices (data_prep/devices.py): A is the treated source; B and C are fixed phone-like presets;
S1-S6 are seeded parametric draws (rejected when within MIN_DEVICE_DISTANCE_DB of another
device). Like the real fold 1: test holds every test segment on all nine devices; train holds
every train segment on A and about 7.3 % of them (the real 749 / 10,215 per device) on each of
B, C, S1-S3; S4-S6 never appear in train.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.audio_io import write_audio
from common.errors import DatasetError
from common.fileio import (
    atomic_write_text,
    stable_hash,
)
from data_prep import devices as dev
from data_prep import mini as mini_corpus
from data_prep.mini import Piece, read_piece
from data_prep.sources import Recording, catalogue, recording_duration
from data_prep.splits import group_split
from data_prep.treatment import TreatmentConfig, treat

NAME = "tau22"
MINI_VERSION = 2
SAMPLERATE = 44100
MINI_PACKAGES = ("drascula-music", "openttd-opensfx", "ufoai-sound")
CITY = {"drascula-music": "drascula", "openttd-opensfx": "opensfx", "ufoai-sound": "ufoai"}
TRAIN_DEVICES = ("a", "b", "c", "s1", "s2", "s3")
TEST_DEVICES = ("a", "b", "c", "s1", "s2", "s3", "s4", "s5", "s6")
MIN_DEVICE_DISTANCE_DB = 3.0
PRE_ROLL_S = 0.5       # device processing starts this much before a kept second
# Every source goes through one 16 kHz bottleneck and one 50 Hz - 7.5 kHz band (the
# reproduction resamples to 16 kHz anyway), so bandwidth does not give a class away; then
# back to 44.1 kHz, the official rate.
TREATMENT = TreatmentConfig(samplerate=SAMPLERATE, band_hz=(50.0, 7500.0), bottleneck_hz=16000)


@dataclass(frozen=True)
class SceneRule:
    titles: tuple[str, ...] = ()      # OpenSFX entry titles
    id_pattern: str | None = None     # regular expression over catalogue ids


SCENE_RULES: dict[str, SceneRule] = {
    "animals": SceneRule(("Tropical: Bird (1)", "Tropical: Bird (2)", "Tropical: Monkeys",
                          "Tropical: Lion roar", "Sheep", "Cow", "Horse")),
    "city_ambience": SceneRule(id_pattern=r"ufoai/ambience/(city_abnd_ufoai_atm|sand-city)"),
    "fire": SceneRule(id_pattern=r"ufoai/ambience/(fire\d*|firesoft|smallfire)"),
    "machinery": SceneRule(("Mining machinery", "Sawmill", "Jackhammer", "Lumber mill: Chainsaw"),
                           r"ufoai/ambience/(minepump03|hum2?|machine1|steam)"),
    "music_room": SceneRule(id_pattern=r"drascula/track\d+|ufoai/ambience/disco"),
    "night_crickets": SceneRule(id_pattern=r"ufoai/ambience/(ufo_night_atm|cricket_loop)"),
    "road_vehicles": SceneRule(("Truck/old bus start, pull away",
                                "Truck/old bus start, pull away with horn", "Modern bus start",
                                "Old bus start", "Road vehicle breakdown"),
                               r"ufoai/ugv/diesel-(idle|move|stop)"),
    "storm_water": SceneRule(id_pattern=r"ufoai/ambience/(thunder\d|water\d*|waterfontain)"),
    "trains": SceneRule(("Steam train station departure", "Steam engine going in tunnel",
                         "Diesel/electric train station departure",
                         "Maglev train station departure", "Monorail train station departure",
                         "Level crossing", "Train/ship breakdown")),
    "wind": SceneRule(("Wind", "Heavy wind"), r"ufoai/ambience/arcticwind"),
}


@dataclass(frozen=True)
class Tau22MiniConfig:
    train_segments_per_scene: int = 80    # device-A train segments (fewer when audio runs out)
    test_segments_per_scene: int = 8     # each recorded by all nine devices
    test_fraction: float = 0.2           # share of a scene's audio whose locations go to test
    block_seconds: int = 10              # a location of a long recording (TAU's 10 s files)
    other_device_share: float = 749 / 10215   # real fold-1 train: B (or C, S1-S3) per A file
    margin_s: int = 2                    # skipped at both ends of recordings longer than 20 s
    quiet_db: float = 30.0
    min_device_distance_db: float = MIN_DEVICE_DISTANCE_DB


def leak_group(rec: Recording) -> str:
    from data_prep.urbansound8k import leak_group as us_leak_group
    return us_leak_group(rec)


def select_recordings(recs: list[Recording]) -> dict[str, list[Recording]]:
    """Recordings per scene; DatasetError naming a rule that matches nothing."""
    out = {}
    for scene, rule in SCENE_RULES.items():
        chosen = [r for r in recs
                  if (r.package == "openttd-opensfx" and r.label in rule.titles)
                  or (rule.id_pattern and re.fullmatch(rule.id_pattern, r.id))]
        lost = [t for t in rule.titles if t not in {r.label for r in chosen}]
        if lost or not chosen:
            raise DatasetError(f"scene {scene!r}: recordings {lost or rule.id_pattern!r} not "
                               f"found in the installed packages {MINI_PACKAGES}")
        out[scene] = chosen
    return out


def _usable_span(dur: float, margin: int) -> tuple[int, int]:
    """(first second, number of whole seconds) of a recording."""
    start = margin if dur > 20.0 else 0
    return start, int(np.floor(dur - (2 * start)))


def _round_robin(capacity: dict, order: list, total: int) -> dict:
    """Seconds to take per location: one from each in turn until ``total`` or exhausted."""
    take = {k: 0 for k in order}
    while sum(take.values()) < total:
        progressed = False
        for k in order:
            if take[k] < capacity[k] and sum(take.values()) < total:
                take[k] += 1
                progressed = True
        if not progressed:
            break
    return {k: v for k, v in take.items() if v}


Location = tuple[str, int]      # (recording id, block index; 0 for a whole recording)


def locations(recs: list[Recording], durs: dict[str, float], cfg: Tau22MiniConfig
              ) -> dict[Location, tuple[int, int, str]]:
    """{location: (first second, whole seconds, split group)}. A recording of at least two
    blocks whose leak group is its own is cut into blocks (the last one may be longer, up to
    two blocks); anything else is one location whose group is its leak group."""
    groups = [leak_group(r) for r in recs]
    out = {}
    for r, g in zip(recs, groups):
        first, cap = _usable_span(durs[r.id], cfg.margin_s)
        if cap < 1:
            continue
        n_blocks = cap // cfg.block_seconds if groups.count(g) == 1 else 0
        if n_blocks < 2:
            out[(r.id, 0)] = (first, cap, g)
            continue
        for b in range(n_blocks):
            size = cfg.block_seconds if b < n_blocks - 1 else cap - b * cfg.block_seconds
            out[(r.id, b)] = (first + b * cfg.block_seconds, size, f"{g}@{b}")
    return out


def plan_scene(scene: str, recs: list[Recording], durs: dict[str, float], cfg: Tau22MiniConfig,
               rng: np.random.Generator, seed: int) -> tuple[dict[str, dict[Location, int]],
                                                               dict[Location, tuple[int, int, str]]]:
    """({"train"/"test": {location: seconds to take}}, the scene's locations); split groups
    assigned by group_split in proportion to their seconds."""
    locs = locations(recs, durs, cfg)
    keys, groups = [], []
    for loc, (_, cap, g) in locs.items():
        for s in range(cap):
            keys.append(f"{loc[0]}@{loc[1]}#{s}")
            groups.append(g)
    if len(set(groups)) < 2:
        raise DatasetError(f"scene {scene!r}: needs two locations (train, test)")
    split = group_split(keys, groups, {"train": 1 - cfg.test_fraction, "test": cfg.test_fraction},
                        seed)
    by_key = {f"{loc[0]}@{loc[1]}": loc for loc in locs}
    out = {}
    for name, want in (("train", cfg.train_segments_per_scene), ("test", cfg.test_segments_per_scene)):
        chosen = sorted({by_key[k.split("#")[0]] for k in split[name]})
        order = [chosen[i] for i in rng.permutation(len(chosen))]
        out[name] = _round_robin({loc: locs[loc][1] for loc in chosen}, order, want)
    return out, locs


def _segments(y: np.ndarray, sr: int, n: int, quiet_db: float) -> list[int]:
    """Indices of the first ``n`` whole seconds of ``y`` that are not quiet."""
    secs = len(y) // sr
    rms = np.sqrt(np.mean(y[:secs * sr].reshape(secs, sr).astype(np.float64) ** 2, axis=1)) \
        if secs else np.zeros(0)
    if not secs or rms.max() <= 0:
        return []
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-quiet_db / 20))
    return [int(i) for i in loud[:n]]


def record_seconds(y: np.ndarray, sr: int, device: dev.DeviceModel, fir: np.ndarray | None,
                   seconds: list[int], seed: list[int]) -> dict[int, np.ndarray]:
    """{second: 1 s of ``y`` recorded by ``device``}. Runs of consecutive seconds are recorded
    together, each from PRE_ROLL_S earlier (when there is audio), so the filter and the
    compressor have settled when the kept second starts."""
    out: dict[int, np.ndarray] = {}
    if device.identity:
        return {s: y[s * sr:(s + 1) * sr] for s in seconds}
    rng = np.random.default_rng(seed)
    runs: list[list[int]] = []
    for s in seconds:
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    pre = int(PRE_ROLL_S * sr)
    for run in runs:
        a = max(0, run[0] * sr - pre)
        rec = dev.apply_device(y[a:(run[-1] + 1) * sr], sr, device, rng, fir)
        for s in run:
            out[s] = rec[s * sr - a:(s + 1) * sr - a]
    return out


def mini_key(seed: int, cfg: Tau22MiniConfig) -> str:
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION, "config": asdict(cfg),
                        "rules": {k: [list(r.titles), r.id_pattern] for k, r in SCENE_RULES.items()},
                        "treatment": TREATMENT.to_dict(),
                        "presets": {k: d.to_dict() for k, d in dev.PRESETS.items()},
                        "draw_ranges": {k: list(v) for k, v in dev.DRAW_RANGES.items()}})


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: Tau22MiniConfig | None = None) -> Path:
    """Build the TAU22-layout mini corpus (idempotent for a seed); returns its root."""
    cfg = config or Tau22MiniConfig()
    return mini_corpus.build_mini(mini_corpus.destination(NAME, dest), mini_key(seed, cfg),
                                  lambda out: _fill(out, seed, cfg), seconds_in_manifest=True)


_NOTICE_NOTE = (
    "\nSIMULATED DEVICES: only device A files are the (treated) recordings. Devices B, C\n"
    "and S1-S6 are simulated from device-A audio with the parametric device models in\n"
    "MINI.json 'devices' (data_prep/devices.py); they are not real phones or cameras.\n")


def _fill(out: Path, seed: int, cfg: Tau22MiniConfig) -> mini_corpus.Built:
    """Write the device recordings, meta.csv and the fold lists into the build folder ``out``."""
    from data_prep import tau22

    sr = SAMPLERATE
    rng = np.random.default_rng(seed)
    devices, rejected = dev.device_set(seed, min_distance_db=cfg.min_device_distance_db)
    firs = {n: dev.minimum_phase_fir(d, sr) for n, d in devices.items() if not d.identity}

    chosen = select_recordings(catalogue(MINI_PACKAGES))
    all_recs = sorted({r for rs in chosen.values() for r in rs}, key=lambda r: (r.package, r.id))
    rows, files = [], []
    next_number = 1          # location numbers run over every scene's locations in order
    for scene in sorted(chosen):
        recs = chosen[scene]
        durs = {r.id: recording_duration(r) for r in recs}
        plan, locs = plan_scene(scene, recs, durs, cfg, rng, seed)
        number = {loc: next_number + i for i, loc in enumerate(sorted(locs))}
        next_number += len(locs)
        by_id = {r.id: r for r in recs}
        picked: list[tuple[str, Location, int]] = []    # (split, location, second in its span)
        spans: dict[Location, np.ndarray] = {}
        for split in ("train", "test"):
            for loc, n in sorted(plan[split].items()):
                first, cap, _ = locs[loc]
                # Read a little more than needed: quiet seconds are dropped.
                length = min(cap, n + max(2, n // 2))
                y, file_sr = read_piece(Piece(by_id[loc[0]], float(first), float(length)))
                spans[loc] = treat(y, file_sr, TREATMENT)
                for s in _segments(spans[loc], sr, n, cfg.quiet_db):
                    picked.append((split, loc, s))
        train = [p for p in picked if p[0] == "train"]
        n_other = max(1, int(round(len(train) * cfg.other_device_share)))
        on_device: dict[tuple[Location, int], list[str]] = {}
        for split, loc, s in picked:
            on_device[(loc, s)] = ["a"] if split == "train" else list(TEST_DEVICES)
        for d in TRAIN_DEVICES[1:]:
            for i in sorted(rng.choice(len(train), size=min(n_other, len(train)), replace=False)):
                on_device[(train[i][1], train[i][2])].append(d)
        for loc, y in spans.items():
            segs = [p for p in picked if p[1] == loc]
            needed = sorted({d for p in segs for d in on_device[(loc, p[2])]})
            recorded = {d: record_seconds(y, sr, devices[d], firs.get(d),
                                          sorted(p[2] for p in segs if d in on_device[(loc, p[2])]),
                                          [seed, number[loc], TEST_DEVICES.index(d)])
                        for d in needed}
            rec = by_id[loc[0]]
            first, _, group = locs[loc]
            ident = f"{CITY[rec.package]}-{number[loc]}"
            for split, _, s in segs:
                second = first + s
                for d in on_device[(loc, s)]:
                    fname = f"audio/{scene}-{ident}-{second // 10}-{second % 10}-{d}.wav"
                    write_audio(out / fname, recorded[d][s], sr, "PCM_16")
                    rows.append({"filename": fname, "scene_label": scene, "identifier": ident,
                                 "source_label": d, "split": split})
                    files.append({"path": fname, "scene": scene, "device": d, "split": split,
                                  "simulated_device": d != "a", "identifier": ident,
                                  "group": group,
                                  "source": {"id": rec.id, "package": rec.package,
                                             "label": rec.label, "start_s": float(second),
                                             "duration_s": 1.0}})
    meta = pd.DataFrame(rows).sort_values("filename").reset_index(drop=True)
    atomic_write_text(out / "meta.csv", meta[list(tau22.META_COLUMNS)].to_csv(sep="\t", index=False))
    train_df = meta[meta["split"] == "train"]
    test_df = meta[meta["split"] == "test"]
    setup = out / "evaluation_setup"
    atomic_write_text(setup / "fold1_train.csv", train_df[["filename", "scene_label"]].to_csv(sep="\t", index=False))
    atomic_write_text(setup / "fold1_evaluate.csv", test_df[["filename", "scene_label"]].to_csv(sep="\t", index=False))
    atomic_write_text(setup / "fold1_test.csv", test_df[["filename"]].to_csv(sep="\t", index=False))

    parsed = tau22.read_meta(out)
    folds = {"train": train_df, "evaluate": test_df, "test": test_df}
    counts = tau22.split_counts(parsed, folds)
    used = {f["source"]["id"] for f in files}
    used_recs = [r for r in all_recs if r.id in used]
    names = list(devices)
    distances = {a: {b: round(dev.response_distance_db(devices[a], devices[b]), 2) for b in names}
                 for a in names}
    manifest = {
        "dataset": NAME, "layout": "TAU Urban Acoustic Scenes 2022 Mobile, development",
        "mini_version": MINI_VERSION, "seed": seed, "config": asdict(cfg), "samplerate": sr,
        "note": "scene classes are this corpus's own (Debian recordings); devices B, C, S1-S6 "
                "are SIMULATED from device A (data_prep/devices.py)",
        "scenes": sorted(SCENE_RULES), "devices": list(TEST_DEVICES),
        "scene_sources": {k: {"opensfx_titles": list(r.titles), "id_pattern": r.id_pattern}
                          for k, r in SCENE_RULES.items()},
        "device_models": {n: d.to_dict() for n, d in devices.items()},
        "device_response_distance_db": distances, "device_draws_rejected": rejected,
        "treatment": TREATMENT.to_dict(), "counts": counts,
        "train_files_per_device": {k: int(v) for k, v in train_df.groupby("source_label").size().items()},
        "test_files_per_device": {k: int(v) for k, v in test_df.groupby("source_label").size().items()},
        "segments_per_scene": {k: int(v) for k, v in meta.groupby("scene_label").size().items()},
        "files": sorted(files, key=lambda f: f["path"]),
    }
    return mini_corpus.Built(manifest, sorted({r.package for r in used_recs}), used_recs,
                             {"seed": seed, "version": MINI_VERSION, "files": len(meta)},
                             _NOTICE_NOTE)
