"""TAU Urban Acoustic Scenes 2022 Mobile, development: official layout and validator.

Official layout (spec bcres2net_asc.md §3, Zenodo 6337421)::

    TAU-urban-acoustic-scenes-2022-mobile-development/
      audio/<scene>-<city>-<location>-<segment>-<subsegment>-<device>.wav  (1 s, 44.1 kHz, mono)
      meta.csv                              tab-separated: filename scene_label identifier source_label
      evaluation_setup/fold1_train.csv      tab-separated: filename scene_label
      evaluation_setup/fold1_evaluate.csv   tab-separated: filename scene_label
      evaluation_setup/fold1_test.csv       tab-separated: filename

``filename`` values are relative (``audio/....wav``). The device is the last dash-separated
token of the stem (a, b, c, s1..s6 in development), the recording location (``identifier``) is
``<city>-<location>``; fold 1 keeps a location's segments in one subset. Expected: 230,350
segments; fold 1 train 139,970, test (and evaluate) 29,680; device A 73 % of train; S4-S6
never in train.

The mini corpus in this layout (simulated devices) is written by data_prep/tau22_mini.py.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep.headers import check_headers
from data_prep.paths import dataset_root
from data_prep.tau22_mini import write_mini  # re-exported: the dataset-module contract
from data_prep.validation import (
    ValidationReport,
    expected_counts,
    problems,
    require_columns,
)

NAME = "tau22"
ENV_VAR = "TAU22_ROOT"
SAMPLERATE = 44100
SEGMENT_S = 1.0
FOLDER = "TAU-urban-acoustic-scenes-2022-mobile-development"
SCENES = ("airport", "bus", "metro", "metro_station", "park", "public_square", "shopping_mall",
          "street_pedestrian", "street_traffic", "tram")
DEVICES = ("a", "b", "c", "s1", "s2", "s3", "s4", "s5", "s6")
UNSEEN_DEVICES = ("s4", "s5", "s6")          # only in fold-1 test
META_COLUMNS = ("filename", "scene_label", "identifier", "source_label")
FOLD_FILES = {"train": ("fold1_train.csv", ("filename", "scene_label")),
              "evaluate": ("fold1_evaluate.csv", ("filename", "scene_label")),
              "test": ("fold1_test.csv", ("filename",))}
# found/expected keys: counts, the rounded device-A share of train, S4-S6 files in train, and
# recording locations present in both train and test (fold 1 keeps them apart).
EXPECTED: dict[str, int] = {"segments": 230350, "train": 139970, "evaluate": 29680,
                            "test": 29680, "train_device_a_percent": 73,
                            "train_unseen_devices": 0, "locations_in_train_and_test": 0}
MANIFEST_COLUMNS = ["filename", "path", "scene_label", "identifier", "device", "city",
                    "location", "segment", "subsegment", "split", "samplerate", "duration"]


# --------------------------------------------------------------------------- layout

def resolve_layout(root: Path) -> Path:
    """Accept the folder holding meta.csv, or its parent holding the official folder name."""
    if not (root / "meta.csv").is_file() and (root / FOLDER / "meta.csv").is_file():
        return root / FOLDER
    return root


def parse_filename(filename: str) -> dict[str, str | int]:
    """Fields of ``audio/<scene>-<city>-<location>-<segment>-<subsegment>-<device>.wav``.

    Raises ValueError saying what is wrong (the caller adds file and line)."""
    stem = Path(filename).name
    if not stem.endswith(".wav"):
        raise ValueError(f"{filename!r} is not a .wav file name")
    tokens = stem[:-4].split("-")
    if len(tokens) != 6:
        raise ValueError(f"{filename!r}: expected 6 dash-separated tokens "
                         f"<scene>-<city>-<location>-<segment>-<subsegment>-<device>, "
                         f"got {len(tokens)}")
    scene, city, location, segment, subsegment, device = tokens
    if not subsegment.isdigit():
        raise ValueError(f"{filename!r}: subsegment {subsegment!r} is not an integer")
    return {"scene": scene, "city": city, "location": location, "segment": segment,
            "subsegment": int(subsegment), "device": device, "identifier": f"{city}-{location}"}


def read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A tab-separated file with a header row holding ``columns``; DatasetError naming the
    file (and line) when it is absent, not tab-separated, lacks a column or has empty cells."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot parse as a tab-separated table ({exc})") from exc
    if len(df.columns) == 1 and len(columns) > 1 and "," in df.columns[0]:
        raise DatasetError(f"{path}: header {df.columns[0]!r} is comma-separated; the official "
                           f"files are tab-separated ({' TAB '.join(columns)})")
    require_columns(df, columns, path)
    for col in columns:
        empty = df.index[df[col].str.strip() == ""]
        if len(empty):
            raise DatasetError(f"{path}: empty {col!r} on line(s) "
                               f"{[int(i) + 2 for i in empty[:10]]}")
    return df


def read_meta(root: str | Path) -> pd.DataFrame:
    """meta.csv with the file-name fields parsed and checked against its own columns."""
    path = Path(root) / "meta.csv"
    df = read_table(path, META_COLUMNS)
    rows = []
    for i, name in enumerate(df["filename"]):
        try:
            rows.append(parse_filename(name))
        except ValueError as exc:
            raise DatasetError(f"{path}: line {i + 2}: {exc}") from None
    parsed = pd.DataFrame(rows, index=df.index)
    # scene and device contradicting the file name are errors; an identifier that differs from
    # <city>-<location> is reported by validate() (meta.csv's identifier is the split unit).
    for col, field in (("scene_label", "scene"), ("source_label", "device")):
        wrong = df.index[df[col] != parsed[field]]
        if len(wrong):
            i = int(wrong[0])
            raise DatasetError(f"{path}: line {i + 2}: column {col!r} is {df.at[i, col]!r} but "
                               f"the file name {df.at[i, 'filename']!r} says {parsed.at[i, field]!r}"
                               f" ({len(wrong)} such line(s))")
    dup = df.index[df["filename"].duplicated()]
    if len(dup):
        raise DatasetError(f"{path}: file name listed twice, line(s) {[int(i) + 2 for i in dup[:10]]}")
    out = df.join(parsed[["device", "city", "location", "segment", "subsegment"]])
    out["identifier_from_name"] = parsed["identifier"]
    return out


def read_fold(root: str | Path, split: str, meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """evaluation_setup/fold1_<split>.csv; every file must be in meta.csv with the same scene."""
    name, columns = FOLD_FILES[split]
    path = Path(root) / "evaluation_setup" / name
    df = read_table(path, columns)
    if meta is not None:
        scene = dict(zip(meta["filename"], meta["scene_label"]))
        for i, row in enumerate(df.itertuples(index=False)):
            if row.filename not in scene:
                raise DatasetError(f"{path}: line {i + 2}: {row.filename!r} is not in meta.csv")
            if "scene_label" in columns and row.scene_label != scene[row.filename]:
                raise DatasetError(f"{path}: line {i + 2}: scene_label {row.scene_label!r} "
                                   f"differs from meta.csv ({scene[row.filename]!r})")
    dup = df.index[df["filename"].duplicated()]
    if len(dup):
        raise DatasetError(f"{path}: file name listed twice, line(s) {[int(i) + 2 for i in dup[:10]]}")
    return df


# --------------------------------------------------------------------------- validation

def split_counts(meta: pd.DataFrame, folds: dict[str, pd.DataFrame]) -> dict[str, int]:
    """The EXPECTED keys computed from meta.csv and the fold files."""
    device = dict(zip(meta["filename"], meta["device"]))
    ident = dict(zip(meta["filename"], meta["identifier"]))
    train = list(folds["train"]["filename"])
    n_a = sum(device[f] == "a" for f in train)
    both = {ident[f] for f in train} & {ident[f] for f in folds["test"]["filename"]}
    return {"segments": len(meta), "train": len(train), "evaluate": len(folds["evaluate"]),
            "test": len(folds["test"]),
            "train_device_a_percent": int(round(100.0 * n_a / len(train))) if train else 0,
            "train_unseen_devices": int(sum(device[f] in UNSEEN_DEVICES for f in train)),
            "locations_in_train_and_test": len(both)}


def validate(root: str | Path | None = None, *, mini: bool = False,
             decode: bool = False) -> ValidationReport:
    """Check meta.csv, the fold-1 files and every listed segment (header: 44.1 kHz mono, 1 s).

    DatasetError when a table cannot be interpreted (absent, not tab-separated, a column
    missing, a malformed file name, a label that contradicts the file name or meta.csv, an
    unknown scene or device). Listed files that are absent go to ``missing``, out-of-spec ones
    to ``bad``. Counts are compared with the official ones, or with MINI.json when ``mini``.
    """
    root = resolve_layout(dataset_root(NAME, ENV_VAR, root))
    info = mini_corpus.mini_meta(root, NAME, mini)
    meta = read_meta(root)
    scenes = tuple(info["scenes"]) if info else SCENES
    devices = tuple(info["devices"]) if info else DEVICES
    sr = int(info["samplerate"]) if info else SAMPLERATE
    for col, allowed in (("scene_label", scenes), ("device", devices)):
        unknown = meta.index[~meta[col].isin(allowed)]
        if len(unknown):
            i = int(unknown[0])
            raise DatasetError(f"{root / 'meta.csv'}: line {i + 2}: {col} "
                               f"{meta.at[i, col]!r} is not one of {list(allowed)}")
    folds = {split: read_fold(root, split, meta) for split in FOLD_FILES}
    if set(folds["evaluate"]["filename"]) != set(folds["test"]["filename"]):
        raise DatasetError(f"{root / 'evaluation_setup'}: fold1_evaluate.csv and fold1_test.csv "
                           f"list different files")
    overlap = set(folds["train"]["filename"]) & set(folds["test"]["filename"])
    if overlap:
        raise DatasetError(f"{root / 'evaluation_setup'}: {len(overlap)} file(s) in both "
                           f"fold1_train.csv and fold1_test.csv, e.g. {sorted(overlap)[:3]}")
    found = split_counts(meta, folds)
    expected = expected_counts(info, EXPECTED)

    meta["path"] = [str(root / f) for f in meta["filename"]]
    split = {f: "train" for f in folds["train"]["filename"]}
    split.update({f: "test" for f in folds["test"]["filename"]})
    meta["split"] = [split.get(f, "") for f in meta["filename"]]
    exists = meta["path"].map(lambda p: Path(p).is_file())
    missing = problems((f, "listed in meta.csv but absent") for f in meta.loc[~exists, "filename"])
    ok, bad = check_headers(meta.loc[exists, "path"], sr, int(round(SEGMENT_S * sr)), 1, decode)
    manifest = meta.merge(ok[["path", "samplerate", "duration"]], on="path", how="inner")
    manifest = manifest[MANIFEST_COLUMNS].reset_index(drop=True)
    bad = bad.assign(path=[Path(p).relative_to(root).as_posix() for p in bad["path"]])

    notes = []
    extra = sorted({p.relative_to(root).as_posix() for p in (root / "audio").glob("*.wav")}
                   - set(meta["filename"])) if (root / "audio").is_dir() else []
    if extra:
        notes.append(f"{len(extra)} wav file(s) in audio/ are not in meta.csv (ignored), e.g. {extra[:3]}")
    odd = meta.index[meta["identifier"] != meta["identifier_from_name"]]
    if len(odd):
        i = int(odd[0])
        notes.append(f"meta.csv: {len(odd)} line(s) whose identifier is not <city>-<location> of "
                     f"the file name, e.g. line {i + 2}: {meta.at[i, 'identifier']!r} for "
                     f"{meta.at[i, 'filename']!r} (meta.csv's identifier is used)")
    per_device = meta[meta["split"] == "train"].groupby("device").size()
    notes.append("train files per device: " + ", ".join(f"{d} {int(n)}" for d, n in per_device.items()))
    if info is not None:
        notes.append(f"mini corpus: devices other than A are simulated ({info.get('note', '')})")
    return ValidationReport(NAME, root, manifest, missing, bad, expected, found,
                            is_mini=info is not None, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(dataset root, is_mini): the user's root (argument or $TAU22_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: write_mini(seed=seed), resolve_layout)
