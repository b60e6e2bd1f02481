"""DESED (DCASE 2020 Task 4): official layout, metadata readers and validator.

Official layout (spec fuss_desed.md §3.2), rooted at the ``dataset/`` folder::

    metadata/train/weak.tsv                     filename, event_labels (comma-separated)
    metadata/train/unlabel_in_domain.tsv        filename
    metadata/train/synthetic20/soundscapes.tsv  filename, onset, offset, event_label
    metadata/validation/validation.tsv          filename, onset, offset, event_label
    metadata/eval/public.tsv                    same columns
    audio/train/weak/  audio/train/unlabel_in_domain/  audio/train/synthetic20/soundscapes/
    audio/validation/  audio/eval/public/                     10 s clips

Counts: weak 1,578 files; unlabelled 14,412; synthetic 2,584; validation 1,168 files in 4,251
tsv rows; public eval 692 files in 2,765 rows. A file with no event is written in a strong tsv
as one row with empty onset, offset and label (read here as NaN, as pandas reads the official
files); such rows count as rows, not as events. The recorded clips come from YouTube at their
own rates (the baseline resamples everything to 16 kHz), so the official validator accepts any
rate; the mini corpus (:mod:`data_prep.desed_mini`) is written at 16 kHz and checked for it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep import paths
from data_prep.validation import (
    ValidationReport,
    check_audio_files,
    expected_counts,
    problems,
    require_columns,
)

NAME = "desed"
ENV_VAR = "DESED_ROOT"


def __getattr__(name: str):
    """``write_mini`` and the writer's other names, from :mod:`data_prep.desed_mini` on first use."""
    return mini_corpus.writer_attr(__name__, name)
SAMPLERATE: int | None = None      # official audio: mixed rates; loaders resample to 16 kHz
ANALYSIS_SAMPLERATE = 16000        # the baseline's rate (spec §2.2); the mini corpus's rate
CLIP_S = 10.0
CLASSES = ("Alarm_bell_ringing", "Blender", "Cat", "Dishes", "Dog",
           "Electric_shaver_toothbrush", "Frying", "Running_water", "Speech", "Vacuum_cleaner")
STRONG_COLUMNS = ("filename", "onset", "offset", "event_label")
WEAK_COLUMNS = ("filename", "event_labels")

# subset -> (metadata tsv, audio folder, kind)
SUBSETS: dict[str, tuple[str, str, str]] = {
    "weak": ("metadata/train/weak.tsv", "audio/train/weak", "weak"),
    "unlabel_in_domain": ("metadata/train/unlabel_in_domain.tsv",
                          "audio/train/unlabel_in_domain", "unlabelled"),
    "synthetic": ("metadata/train/synthetic20/soundscapes.tsv",
                  "audio/train/synthetic20/soundscapes", "strong"),
    "validation": ("metadata/validation/validation.tsv", "audio/validation", "strong"),
    "eval_public": ("metadata/eval/public.tsv", "audio/eval/public", "strong"),
}
EXPECTED: dict[str, int] = {"weak_files": 1578, "unlabel_in_domain_files": 14412,
                            "synthetic_files": 2584, "validation_files": 1168,
                            "validation_rows": 4251, "eval_public_files": 692,
                            "eval_public_rows": 2765}
MANIFEST_COLUMNS = ["path", "subset", "filename", "events", "samplerate", "duration"]


def _read_tsv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"{path}: metadata file not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot parse tsv ({exc})") from exc
    require_columns(df, columns, path)
    return df


def read_strong(path: str | Path, classes=CLASSES) -> pd.DataFrame:
    """filename, onset, offset, event_label; an all-empty event row (file with no event) gives
    NaN / NaN / NaN. DatasetError names file, line and column of the first bad value."""
    path = Path(path)
    df = _read_tsv(path, STRONG_COLUMNS)
    known = set(classes)
    onsets, offsets, labels = [], [], []
    for i, (name, on, off, lab) in enumerate(zip(df["filename"], df["onset"], df["offset"],
                                                 df["event_label"])):
        where = f"{path}, line {i + 2}"
        if not name.strip():
            raise DatasetError(f"{where}, column 'filename': empty file name")
        if not (on.strip() or off.strip() or lab.strip()):
            onsets.append(math.nan), offsets.append(math.nan), labels.append(math.nan)
            continue
        try:
            a, b = float(on), float(off)
        except ValueError:
            col, value = ("onset", on) if not _is_float(on) else ("offset", off)
            raise DatasetError(f"{where}, column {col!r}: {value!r} is "
                               f"not a number (a file without events has all three empty)") from None
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b <= a:
            raise DatasetError(f"{where}, columns 'onset'/'offset': need 0 <= onset < offset, "
                               f"got {on} / {off}")
        if lab not in known:
            raise DatasetError(f"{where}, column 'event_label': unknown class {lab!r} "
                               f"(classes: {', '.join(classes)})")
        onsets.append(a), offsets.append(b), labels.append(lab)
    return pd.DataFrame({"filename": df["filename"], "onset": np.array(onsets, float),
                         "offset": np.array(offsets, float),
                         "event_label": pd.Series(labels, dtype=object)})


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_weak(path: str | Path, classes=CLASSES) -> pd.DataFrame:
    """filename, event_labels (a sorted tuple of classes; empty when the cell is empty)."""
    path = Path(path)
    df = _read_tsv(path, WEAK_COLUMNS)
    known = set(classes)
    out = []
    for i, (name, cell) in enumerate(zip(df["filename"], df["event_labels"])):
        labs = tuple(sorted({c.strip() for c in cell.split(",") if c.strip()}))
        unknown = [c for c in labs if c not in known]
        if unknown:
            raise DatasetError(f"{path}, line {i + 2}, column 'event_labels': unknown class(es) "
                               f"{unknown} (classes: {', '.join(classes)})")
        out.append(labs)
    return pd.DataFrame({"filename": df["filename"], "event_labels": out})


def read_filenames(path: str | Path) -> list[str]:
    """The ``filename`` column of a tsv (the unlabelled list)."""
    return list(_read_tsv(Path(path), ("filename",))["filename"])


def weak_from_strong(strong: pd.DataFrame) -> pd.DataFrame:
    """Weak labels of strongly labelled files: one row per file (in first-seen order), the
    sorted set of its event labels joined by commas (empty for a file with no event)."""
    out = {}
    for name, lab in zip(strong["filename"], strong["event_label"]):
        out.setdefault(name, set())
        if isinstance(lab, str):
            out[name].add(lab)
    return pd.DataFrame({"filename": list(out), "event_labels": [",".join(sorted(v)) for v in out.values()]})


def format_strong(rows) -> str:
    """Official strong tsv text from (filename, onset, offset, label) tuples; onset None writes
    the empty row of a file with no event."""
    lines = ["\t".join(STRONG_COLUMNS)]
    for name, on, off, lab in rows:
        lines.append(f"{name}\t\t\t" if on is None else f"{name}\t{on:.3f}\t{off:.3f}\t{lab}")
    return "\n".join(lines) + "\n"


def subset_paths(root: str | Path, subset: str) -> tuple[Path, Path]:
    """(metadata tsv, audio folder) of a subset under a DESED root (the ``dataset/`` folder)."""
    if subset not in SUBSETS:
        raise DatasetError(f"unknown DESED subset {subset!r}; known: {list(SUBSETS)}")
    meta, audio, _ = SUBSETS[subset]
    return Path(root) / meta, Path(root) / audio


def durations(report: ValidationReport, subset: str) -> pd.DataFrame:
    """filename, duration (s) of one subset's usable files: the metadata table PSDS needs."""
    m = report.manifest[report.manifest["subset"] == subset]
    return pd.DataFrame({"filename": m["filename"].to_numpy(), "duration": m["duration"].to_numpy()})


# --------------------------------------------------------------------------- validation

def _resolve_layout(root: Path) -> Path:
    if not (root / "metadata").is_dir() and (root / "dataset" / "metadata").is_dir():
        root = root / "dataset"
    if not (root / "metadata").is_dir() or not (root / "audio").is_dir():
        raise DatasetError(f"{root}: no metadata/ and audio/ folders (official DESED layout: "
                           f"dataset/metadata/..., dataset/audio/...); set {ENV_VAR} to that folder")
    return root


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    """Check every subset's tsv and audio.

    A malformed tsv raises DatasetError (file, line, column). An absent tsv or audio folder and
    files a tsv names but the folder lacks go to ``missing``; undecodable audio (or, for the
    mini corpus, audio not at 16 kHz) to ``bad``; unlisted wavs and clips that are not 10 s are
    notes. Counts: ``<subset>_files`` = wav files present, ``<subset>_rows`` = tsv rows of the
    strong subsets (empty no-event rows included), ``<subset>_events`` = labelled rows.
    """
    root = _resolve_layout(paths.dataset_root(NAME, ENV_VAR, root))
    info = mini_corpus.mini_meta(root, NAME, mini)
    missing: list[tuple[str, str]] = []
    notes: list[str] = []
    found: dict[str, int] = {}
    entries: list[dict] = []
    for subset, (meta_rel, audio_rel, kind) in SUBSETS.items():
        audio_dir = root / audio_rel
        wavs = {p.name: p for p in sorted(audio_dir.glob("*.wav"))} if audio_dir.is_dir() else {}
        if not audio_dir.is_dir():
            missing.append((audio_rel + "/", "audio folder not found"))
        found[f"{subset}_files"] = len(wavs)
        events: dict[str, int] = {}
        if not (root / meta_rel).is_file():
            missing.append((meta_rel, "metadata file not found"))
            listed = list(wavs)
        elif kind == "strong":
            df = read_strong(root / meta_rel)
            found[f"{subset}_rows"] = len(df)
            found[f"{subset}_events"] = int(df["event_label"].notna().sum())
            listed = list(dict.fromkeys(df["filename"]))
            counts = df.dropna(subset=["event_label"]).groupby("filename").size()
            events = {n: int(counts.get(n, 0)) for n in listed}
        elif kind == "weak":
            df = read_weak(root / meta_rel)
            listed = list(df["filename"])
            events = dict(zip(df["filename"], (len(v) for v in df["event_labels"])))
        else:
            listed = read_filenames(root / meta_rel)
        for name in listed:
            if name not in wavs:
                missing.append((f"{audio_rel}/{name}", f"listed in {meta_rel} but not found"))
        unlisted = sorted(set(wavs) - set(listed))
        if unlisted and (root / meta_rel).is_file():
            notes.append(f"{len(unlisted)} wav(s) in {audio_rel} are not in {meta_rel}, "
                         f"e.g. {unlisted[:3]}")
        entries += [{"subset": subset, "filename": n, "file": wavs[n], "rel": f"{audio_rel}/{n}",
                     "events": events.get(n, 0)} for n in listed if n in wavs]
    ok, bad = check_audio_files([e["file"] for e in entries],
                                expected_sr=ANALYSIS_SAMPLERATE if info else SAMPLERATE)
    audio = ok.set_index("path")
    rows, off_length = [], 0
    for e in entries:
        key = str(e["file"])
        if key not in audio.index:
            continue
        a = audio.loc[key]
        off_length += abs(float(a["duration"]) - CLIP_S) > 0.05
        rows.append({"path": e["rel"], "subset": e["subset"], "filename": e["filename"],
                     "events": e["events"], "samplerate": int(a["samplerate"]),
                     "duration": float(a["duration"])})
    if off_length:
        notes.append(f"{off_length} clip(s) are not {CLIP_S:.0f} s long (recorded clips may be "
                     f"shorter; the baseline pads them)")
    rel_of = {str(e["file"]): e["rel"] for e in entries}
    bad = bad.assign(path=[rel_of.get(p, p) for p in bad["path"]])
    expected = expected_counts(info, EXPECTED)
    return ValidationReport(dataset=NAME, root=root,
                            manifest=pd.DataFrame(rows, columns=MANIFEST_COLUMNS),
                            missing=problems(missing), bad=bad, expected=expected, found=found,
                            is_mini=mini, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(root, is_mini): the user's root (argument or $DESED_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: mini_corpus.writer_attr(__name__, "write_mini")(seed=seed))
