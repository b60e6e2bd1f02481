"""UrbanSound8K: official-layout validator, Table-1 label distribution.

Official layout (Salamon et al. 2014)::

    UrbanSound8K/
      audio/fold1 ... fold10/<fsID>-<classID>-<occurrenceID>-<sliceID>.wav
      metadata/UrbanSound8K.csv   (slice_file_name, fsID, start, end, salience, fold, classID, class)

8,732 slices of at most 4 s, ten classes, mixed sample rates and bit depths. The official
protocol is 10-fold cross-validation over the given folds (slices of one freesound recording
share a fold).

Mini corpus in this layout: :mod:`data_prep.urbansound8k_mini`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep import paths
from data_prep.validation import ValidationReport, check_audio_files, problems, require_columns

NAME = "urbansound8k"
ENV_VAR = "URBANSOUND8K_ROOT"
# Official files have mixed sample rates and bit depths; loaders resample (the seed: 22,050 Hz).
SAMPLERATE: int | None = None

CSV_RELPATH = Path("metadata") / "UrbanSound8K.csv"
COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
FOLDS = tuple(range(1, 11))
CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
           "engine_idling", "gun_shot", "jackhammer", "siren", "street_music")
# Official slice counts per class (UrbanSound8K metadata); total 8,732.
CLASS_COUNTS = {"air_conditioner": 1000, "car_horn": 429, "children_playing": 1000,
                "dog_bark": 1000, "drilling": 1000, "engine_idling": 1000, "gun_shot": 374,
                "jackhammer": 1000, "siren": 929, "street_music": 1000}
EXPECTED: dict[str, int] = {"slices": 8732, **CLASS_COUNTS}
MAX_SLICE_S = 4.0
MANIFEST_COLUMNS = ["path", "fold", "classID", "class", "fsID", "samplerate", "duration"]


def __getattr__(name: str):
    """``write_mini`` and the writer's other names, from :mod:`data_prep.urbansound8k_mini` on first use."""
    return mini_corpus.writer_attr(__name__, name)


# --------------------------------------------------------------------------- layout

def csv_path(root: str | Path) -> Path:
    return Path(root) / CSV_RELPATH


def slice_path(root: str | Path, fold: int, slice_file_name: str) -> Path:
    return Path(root) / "audio" / f"fold{int(fold)}" / slice_file_name


def slice_file_name(fs_id: int, class_id: int, occurrence_id: int, slice_id: int) -> str:
    return f"{fs_id}-{class_id}-{occurrence_id}-{slice_id}.wav"


def read_metadata(root: str | Path) -> pd.DataFrame:
    """The metadata CSV, checked for the eight official columns and integer fold/classID."""
    path = csv_path(root)
    if not path.is_file():
        raise DatasetError(f"{path}: UrbanSound8K metadata file not found (expected "
                           f"<root>/{CSV_RELPATH.as_posix()})")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot parse CSV ({exc})") from exc
    require_columns(df, COLUMNS, path)
    for col in ("fsID", "fold", "classID"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df.index[values.isna() | (values != values.round())]
        if len(bad):
            raise DatasetError(f"{path}: column {col!r} holds non-integer values in data rows "
                               f"{[int(i) + 2 for i in bad[:10]]} (line numbers)")
        df[col] = values.astype(int)
    bad_fold = df.index[~df["fold"].isin(FOLDS)]
    if len(bad_fold):
        raise DatasetError(f"{path}: fold must be 1..10; lines {[int(i) + 2 for i in bad_fold[:10]]}")
    df["class"] = df["class"].astype(str)
    df["slice_file_name"] = df["slice_file_name"].astype(str)
    return df


def class_table(df: pd.DataFrame, source: str | Path) -> dict[int, str]:
    """classID -> class; DatasetError when one ID carries two names or one name two IDs."""
    pairs = df[["classID", "class"]].drop_duplicates()
    errors = []
    for cid, grp in pairs.groupby("classID"):
        if len(grp) > 1:
            errors.append(f"classID {cid} is named {sorted(grp['class'])}")
    for name, grp in pairs.groupby("class"):
        if len(grp) > 1:
            errors.append(f"class {name!r} has classIDs {sorted(grp['classID'])}")
    if errors:
        raise DatasetError(f"{source}: inconsistent classID/class pairs: " + "; ".join(errors))
    return {int(cid): str(name) for cid, name in zip(pairs["classID"], pairs["class"])}


def label_distribution(root: str | Path) -> pd.DataFrame:
    """Slices per class from the metadata (report Table 1): columns class, classID, count."""
    df = read_metadata(root)
    table = class_table(df, csv_path(root))
    counts = df.groupby("classID").size()
    rows = [{"class": table[cid], "classID": cid, "count": int(counts[cid])} for cid in sorted(table)]
    return pd.DataFrame(rows, columns=["class", "classID", "count"])


# --------------------------------------------------------------------------- validation

def mini_info(root: str | Path, mini: bool) -> dict | None:
    """The corpus's MINI.json when ``mini``; None for a real dataset (see mini.mini_meta)."""
    return mini_corpus.mini_meta(root, NAME, mini)


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    """Check layout, metadata, files and class counts.

    Raises DatasetError when the metadata cannot be interpreted (missing file or column,
    non-integer IDs, classID/class conflicts, official class names wrong on real data).
    Files listed in the CSV but absent from their fold go to ``missing``; files that do not
    decode go to ``bad``. Counts are compared with the official ones, or with the mini
    corpus's own MINI.json when ``mini``.
    """
    root = paths.dataset_root(NAME, ENV_VAR, root)
    info = mini_info(root, mini)
    df = read_metadata(root)
    source = csv_path(root)
    table = class_table(df, source)
    notes: list[str] = []
    if info is not None:
        expected = {k: int(v) for k, v in info["counts"].items()}
        official_names = {int(k): v for k, v in info["classes"].items()}
    else:
        expected = dict(EXPECTED)
        official_names = dict(enumerate(CLASSES))
    wrong = {cid: name for cid, name in table.items() if official_names.get(cid) != name}
    if wrong:
        raise DatasetError(f"{source}: classID/class pairs {wrong} differ from the "
                           f"{'MINI.json' if mini else 'official'} table {official_names}")

    df["path"] = [str(slice_path(root, f, n)) for f, n in zip(df["fold"], df["slice_file_name"])]
    exists = np.array([Path(p).is_file() for p in df["path"]], dtype=bool)
    missing = problems((p, "listed in metadata/UrbanSound8K.csv but not in its fold folder")
                       for p in df.loc[~exists, "path"])
    listed = set(df["path"])
    extra = sorted(str(p) for p in (root / "audio").glob("fold*/*.wav") if str(p) not in listed)
    if extra:
        notes.append(f"{len(extra)} wav files in audio/fold* are not in the metadata "
                     f"(ignored), e.g. {extra[:3]}")
    dup = df["slice_file_name"].duplicated()
    if dup.any():
        notes.append(f"{int(dup.sum())} duplicated slice_file_name rows in {source}")

    ok_rows, bad = check_audio_files(df.loc[exists, "path"], expected_sr=None)
    manifest = df.merge(ok_rows[["path", "samplerate", "duration"]], on="path", how="inner")
    manifest = manifest[MANIFEST_COLUMNS].reset_index(drop=True)
    long = manifest[manifest["duration"] > MAX_SLICE_S + 0.01]
    if len(long):
        notes.append(f"{len(long)} slices are longer than {MAX_SLICE_S} s, e.g. {list(long['path'][:3])}")

    counts = df.groupby("class").size()
    found = {"slices": int(len(df)), **{name: int(counts.get(name, 0)) for name in table.values()}}
    if len(manifest):
        rates = sorted(int(r) for r in manifest["samplerate"].unique())
        notes.append(f"sample rates found: {rates}")
    return ValidationReport(dataset=NAME, root=root, manifest=manifest, missing=missing, bad=bad,
                            expected=expected, found=found, is_mini=mini, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """The user's dataset root (argument or $URBANSOUND8K_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: mini_corpus.writer_attr(__name__, "write_mini")(seed=seed))
