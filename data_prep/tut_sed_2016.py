"""TUT-SED Synthetic 2016: official-layout validator, annotation tools, Table-2 counts, mini corpus.

Official layout (Cakir et al. 2017)::

    TUT-SED-synthetic-2016/
      audio/TUT-SED-synthetic-2016-mix-<n>.wav        100 mono mixtures, 44.1 kHz
      meta/TUT-SED-synthetic-2016-annot-<n>.txt       onset<TAB>offset<TAB>event_label per line
      evaluation_setup/{train+validate,validate,test,evaluate}.txt
      features/TUT-SED-synthetic-2016-mix-<n>.cpickle (optional: official 40 log-mel, key 'feat')

The split (60/20/20 % of mixtures) is fixed by the evaluation_setup lists. Loaders disagree on
whether mixtures are numbered from 0 or 1, so nothing here assumes either: mixtures are the
files that exist, and splits are what the lists name.

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

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
from data_prep.validation import ValidationReport, check_audio_files, problems

NAME = "tut_sed_2016"
ENV_VAR = "TUT_SED_2016_ROOT"
SAMPLERATE = 44100
MINI_VERSION = 1

# The 16 labels in alphabetical order = class index of the reference code.
LABELS = ("alarms_and_sirens", "baby_crying", "bird_singing", "bus", "cat_meowing",
          "crowd_applause", "crowd_cheering", "dog_barking", "footsteps", "glass_smash",
          "gun_shot", "horsewalk", "mixer", "motorcycle", "rain", "thunder")
EXPECTED: dict[str, int] = {"mixtures": 100, "labels": 16}

MIX_PREFIX = "TUT-SED-synthetic-2016-mix-"
ANNOT_PREFIX = "TUT-SED-synthetic-2016-annot-"
SETUP_FILES = ("train+validate.txt", "validate.txt", "test.txt", "evaluate.txt")
ANNOTATION_COLUMNS = ["onset", "offset", "event_label"]
MANIFEST_COLUMNS = ["path", "mixture", "split", "annotation", "events", "samplerate", "duration"]
# A mixture/annotation/feature file name ends in "-mix-<id>.<ext>" or "-annot-<id>.<ext>".
_ID_IN_NAME = re.compile(r"-(?:mix|annot)-([^./\\]+)\.[A-Za-z0-9]+$")


# --------------------------------------------------------------------------- layout

def mixture_path(root: str | Path, mix_id: str) -> Path:
    return Path(root) / "audio" / f"{MIX_PREFIX}{mix_id}.wav"


def annotation_path(root: str | Path, mix_id: str) -> Path:
    return Path(root) / "meta" / f"{ANNOT_PREFIX}{mix_id}.txt"


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _ids(folder: Path, prefix: str, suffix: str) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    found = {p.name[len(prefix):-len(suffix)]: p for p in folder.iterdir()
             if p.name.startswith(prefix) and p.name.endswith(suffix)}
    return {k: found[k] for k in sorted(found, key=_natural)}


def mixture_ids(root: str | Path) -> list[str]:
    """Ids ``<n>`` of the mixtures present in ``audio/``, in natural order."""
    return list(_ids(Path(root) / "audio", MIX_PREFIX, ".wav"))


# --------------------------------------------------------------------------- annotations

def read_annotations(path: str | Path, labels: Sequence[str] = LABELS) -> pd.DataFrame:
    """``onset, offset, event_label`` rows of one annotation file.

    Lines are ``onset<TAB>offset<TAB>label`` (whitespace accepted when a line has no tab);
    blank lines are skipped. DatasetError names the file and line of the first problem:
    wrong column count, non-numeric or negative times, onset >= offset, unknown label.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read annotation file ({exc})") from exc
    known = set(labels)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        where = f"{path}, line {number}"
        if len(fields) != 3:
            raise DatasetError(f"{where}: expected 3 tab-separated columns (onset, offset, "
                               f"event_label), found {len(fields)}: {line!r}")
        try:
            onset, offset = float(fields[0]), float(fields[1])
        except ValueError:
            raise DatasetError(f"{where}: onset/offset are not numbers: {line!r}") from None
        if not (math.isfinite(onset) and math.isfinite(offset)) or onset < 0:
            raise DatasetError(f"{where}: onset/offset must be finite and >= 0: {line!r}")
        if onset >= offset:
            raise DatasetError(f"{where}: onset {onset} is not before offset {offset}")
        if fields[2] not in known:
            raise DatasetError(f"{where}: unknown event label {fields[2]!r} "
                               f"(labels: {', '.join(labels)})")
        rows.append((onset, offset, fields[2]))
    df = pd.DataFrame(rows, columns=ANNOTATION_COLUMNS)
    return df.astype({"onset": float, "offset": float, "event_label": str})


def format_annotations(events: pd.DataFrame | Sequence, prefix: str = "") -> str:
    """Annotation lines (sorted by onset); ``prefix`` adds a leading file column."""
    if isinstance(events, pd.DataFrame):
        rows = list(zip(events["onset"], events["offset"], events["event_label"]))
    else:
        rows = [(e.onset, e.offset, e.label) for e in events]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    lead = f"{prefix}\t" if prefix else ""
    return "".join(f"{lead}{on:.6f}\t{off:.6f}\t{lab}\n" for on, off, lab in rows)


def frame_labels(events: pd.DataFrame, n_frames: int, hop_seconds: float,
                 labels: Sequence[str] = LABELS) -> np.ndarray:
    """(n_frames, len(labels)) uint8 targets.

    An event is active in frames ``floor(onset / hop) .. ceil(offset / hop) - 1`` (the spec's
    floor(onset*sr/hop) ... ceil(offset*sr/hop), end exclusive as in dcase_util / sed_eval event
    rolls), clipped to ``n_frames``. A 1e-9 frame tolerance keeps times that are exact multiples
    of the hop (0.06 s / 0.02 s) on the intended frame despite floating point.
    """
    if hop_seconds <= 0 or n_frames < 0:
        raise ValueError(f"hop_seconds must be > 0 and n_frames >= 0 (got {hop_seconds}, {n_frames})")
    index = {label: i for i, label in enumerate(labels)}
    roll = np.zeros((n_frames, len(labels)), dtype=np.uint8)
    for onset, offset, label in zip(events["onset"], events["offset"], events["event_label"]):
        if label not in index:
            raise DatasetError(f"event label {label!r} is not one of the labels {list(labels)}")
        start = max(0, math.floor(onset / hop_seconds + 1e-9))
        stop = min(n_frames, math.ceil(offset / hop_seconds - 1e-9))
        if stop > start:
            roll[start:stop, index[label]] = 1
    return roll


# --------------------------------------------------------------------------- evaluation setup

def read_setup_list(path: str | Path) -> list[str]:
    """Mixture ids named by an evaluation_setup list, unique, in file order.

    The first column of each line is a file (``audio/...-mix-<n>.wav``, an annotation or a
    feature file, with any directory); further columns (event annotations) are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: evaluation setup list not found")
    ids: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        first = line.split("\t")[0].strip() if "\t" in line else line.split()[0]
        m = _ID_IN_NAME.search(first.replace("\\", "/").rsplit("/", 1)[-1])
        if not m:
            raise DatasetError(f"{path}, line {number}: {first!r} does not name a "
                               f"'{MIX_PREFIX}<n>' mixture")
        if m.group(1) not in ids:
            ids.append(m.group(1))
    return ids


def evaluation_splits(root: str | Path) -> dict[str, list[str]]:
    """{"train", "validate", "test"} -> mixture ids from the evaluation_setup lists.

    train = train+validate minus validate. DatasetError when a list is missing or test overlaps
    train+validate.
    """
    setup = Path(root) / "evaluation_setup"
    train_val = read_setup_list(setup / "train+validate.txt")
    val = read_setup_list(setup / "validate.txt")
    test = read_setup_list(setup / "test.txt")
    overlap = sorted(set(test) & set(train_val), key=_natural)
    if overlap:
        raise DatasetError(f"{setup}: mixtures {overlap[:10]} are in both test.txt and "
                           f"train+validate.txt")
    val_set = set(val)
    return {"train": [m for m in train_val if m not in val_set], "validate": val, "test": test}


# --------------------------------------------------------------------------- counts

@dataclass(frozen=True)
class EventCounts:
    """Report Table 2 and the text's totals, regenerated from the annotation files."""
    per_class: pd.DataFrame          # event_label, count (descending count, then label)
    total_events: int
    mixtures: int
    max_polyphony: int


def event_counts(root: str | Path, labels: Sequence[str] = LABELS) -> EventCounts:
    """Events per label over every annotation file in ``meta/`` (all 16 labels listed)."""
    annots = _ids(Path(root) / "meta", ANNOT_PREFIX, ".txt")
    if not annots:
        raise DatasetError(f"{Path(root) / 'meta'}: no {ANNOT_PREFIX}<n>.txt annotation files")
    counts = dict.fromkeys(labels, 0)
    total, poly = 0, 0
    for path in annots.values():
        ev = read_annotations(path, labels)
        for label, n in ev["event_label"].value_counts().items():
            counts[label] += int(n)
        total += len(ev)
        poly = max(poly, max_polyphony(list(zip(ev["onset"], ev["offset"]))))
    table = pd.DataFrame(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
                         columns=["event_label", "count"])
    return EventCounts(per_class=table, total_events=total, mixtures=len(annots), max_polyphony=poly)


# --------------------------------------------------------------------------- validation

def mini_info(root: str | Path, mini: bool) -> dict | None:
    """The corpus's MINI.json when ``mini``; None for a real dataset (see mini.mini_meta)."""
    return mini_corpus.mini_meta(root, NAME, mini)


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    """Check layout, annotations, setup lists and audio.

    Raises DatasetError when ``audio/`` or ``meta/`` is absent or any annotation line is
    malformed (all bad lines are listed, each with file and line). A mixture without its
    annotation (or the reverse), a missing setup list and a setup entry naming no existing
    mixture go to ``missing``; mixtures that do not decode at 44.1 kHz go to ``bad``.
    """
    root = paths.dataset_root(NAME, ENV_VAR, root)
    info = mini_info(root, mini)
    for sub in ("audio", "meta"):
        if not (root / sub).is_dir():
            raise DatasetError(f"{root / sub}: folder not found (official layout: audio/, meta/, "
                               f"evaluation_setup/)")
    mixes = _ids(root / "audio", MIX_PREFIX, ".wav")
    annots = _ids(root / "meta", ANNOT_PREFIX, ".txt")
    notes: list[str] = []
    missing_rows: list[tuple[str, str]] = []
    for mid in mixes:
        if mid not in annots:
            missing_rows.append((str(annotation_path(root, mid)), f"annotation of mixture {mid} not found"))
    for mid in annots:
        if mid not in mixes:
            missing_rows.append((str(mixture_path(root, mid)), f"mixture of annotation {mid} not found"))

    errors, events = [], {}
    for mid, path in annots.items():
        try:
            events[mid] = read_annotations(path)
        except DatasetError as exc:
            errors.append(str(exc))
    if errors:
        raise DatasetError(f"{len(errors)} annotation file(s) malformed:\n  " + "\n  ".join(errors[:20]))

    split_of: dict[str, str] = {}
    setup = root / "evaluation_setup"
    for name in SETUP_FILES:
        path = setup / name
        if not path.is_file():
            missing_rows.append((str(path), "evaluation setup list not found"))
            continue
        for mid in read_setup_list(path):
            if mid not in mixes:
                missing_rows.append((str(mixture_path(root, mid)), f"listed in {name} but not in audio/"))
    if all((setup / n).is_file() for n in SETUP_FILES[:3]):
        splits = evaluation_splits(root)
        for split, ids in splits.items():
            split_of.update(dict.fromkeys(ids, split))
        unlisted = [m for m in mixes if m not in split_of]
        if unlisted:
            notes.append(f"{len(unlisted)} mixtures are in no setup list, e.g. {unlisted[:5]}")
        if (setup / "evaluate.txt").is_file() and \
                set(read_setup_list(setup / "evaluate.txt")) != set(splits["test"]):
            notes.append("evaluate.txt and test.txt name different mixtures")
    if not (root / "features").is_dir():
        notes.append("features/ not found: the official precomputed log-mel features are absent; "
                     "features are computed from audio/")

    ok_rows, bad = check_audio_files([mixes[m] for m in mixes], expected_sr=SAMPLERATE)
    by_path = {str(mixes[m]): m for m in mixes}
    rows = []
    for r in ok_rows.itertuples(index=False):
        mid = by_path[r.path]
        ev = events.get(mid)
        if ev is not None and len(ev) and float(ev["offset"].max()) > r.duration + 0.05:
            notes.append(f"{annotation_path(root, mid)}: events end at {ev['offset'].max():.2f} s, "
                         f"after the mixture ({r.duration:.2f} s)")
        rows.append({"path": r.path, "mixture": mid, "split": split_of.get(mid, ""),
                     "annotation": str(annotation_path(root, mid)) if mid in annots else "",
                     "events": len(ev) if ev is not None else 0,
                     "samplerate": r.samplerate, "duration": r.duration})
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)

    all_events = pd.concat(list(events.values())) if events else pd.DataFrame(columns=ANNOTATION_COLUMNS)
    found = {"mixtures": len(mixes), "labels": int(all_events["event_label"].nunique()),
             "events": int(len(all_events))}
    expected = {k: int(v) for k, v in info["counts"].items()} if info else dict(EXPECTED)
    return ValidationReport(dataset=NAME, root=root, manifest=manifest,
                            missing=problems(missing_rows), bad=bad, expected=expected,
                            found=found, is_mini=mini, notes=notes)


# --------------------------------------------------------------------------- mini corpus

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


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """The user's dataset root (argument or $TUT_SED_2016_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset, lambda: write_mini(seed=seed))
