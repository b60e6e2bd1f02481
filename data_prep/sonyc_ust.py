"""SONYC-UST v1 (DCASE2019 Task 5): official layout, validator and file-level labels.

Official layout (spec vggish_fusion.md §3)::

    <root>/annotations.csv            one row per (file, annotator); 70 columns, in order
    <root>/dcase-ust-taxonomy.yaml    coarse / fine tag names
    <root>/train/<sensor>_<id>.wav    2,351 files, 10 s, 44.1 kHz mono
    <root>/validate/<sensor>_<id>.wav 443 files

annotations.csv: ``split, sensor_id, audio_filename, annotator_id``, 29 fine ``*_presence``, 29
fine ``*_proximity``, 8 coarse ``*_presence``; 10,349 rows. Presence is 1 / 0 / -1 (-1: not
annotated), sometimes written 1.0 / 0.0; proximity near / far / notsure / -1.

File labels (:func:`labels`), both named options of spec §2.3:
  ``report``             positive when more than 50 % of the file's non-missing (!= -1) votes,
                         over all its rows (annotator 0 included), are 1 (the Microsoft code).
  ``official_baseline``  the baseline's classify.py: when the file has an annotator-0 row its
                         value decides; otherwise the *sum* of all rows' values must be > 0 (so
                         a -1 cancels a 1: that quirk is kept on purpose).
The mini corpus is written by :mod:`data_prep.sonyc_ust_mini`.
"""
from __future__ import annotations

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
)

NAME = "sonyc_ust"
ENV_VAR = "SONYC_UST_ROOT"


def __getattr__(name: str):
    """``write_mini`` and the writer's other names, from :mod:`data_prep.sonyc_ust_mini` on first use."""
    return mini_corpus.writer_attr(__name__, name)
SAMPLERATE = 44100
CLIP_S = 10.0
SPLITS = ("train", "validate")
EXPECTED: dict[str, int] = {"train_files": 2351, "validate_files": 443, "annotation_rows": 10349}
ANNOTATIONS = "annotations.csv"
TAXONOMY_FILE = "dcase-ust-taxonomy.yaml"

# Taxonomy (spec §3): coarse id -> (coarse name, {fine id: fine name}); "X" = incomplete tag.
TAXONOMY: dict[int, tuple[str, dict[str, str]]] = {
    1: ("engine", {"1": "small-sounding-engine", "2": "medium-sounding-engine",
                   "3": "large-sounding-engine", "X": "engine-of-uncertain-size"}),
    2: ("machinery-impact", {"1": "rock-drill", "2": "jackhammer", "3": "hoe-ram",
                             "4": "pile-driver", "X": "other-unknown-impact-machinery"}),
    3: ("non-machinery-impact", {"1": "non-machinery-impact"}),
    4: ("powered-saw", {"1": "chainsaw", "2": "small-medium-rotating-saw",
                        "3": "large-rotating-saw", "X": "other-unknown-powered-saw"}),
    5: ("alert-signal", {"1": "car-horn", "2": "car-alarm", "3": "siren", "4": "reverse-beeper",
                         "X": "other-unknown-alert-signal"}),
    6: ("music", {"1": "stationary-music", "2": "mobile-music", "3": "ice-cream-truck",
                  "X": "music-from-uncertain-source"}),
    7: ("human-voice", {"1": "person-or-small-group-talking", "2": "person-or-small-group-shouting",
                        "3": "large-crowd", "4": "amplified-speech",
                        "X": "other-unknown-human-voice"}),
    8: ("dog", {"1": "dog-barking-whining"}),
}
FINE_TAGS: tuple[str, ...] = tuple(f"{c}-{f}_{name}" for c, (_, fine) in TAXONOMY.items()
                                   for f, name in fine.items())
COARSE_TAGS: tuple[str, ...] = tuple(f"{c}_{name}" for c, (name, _) in TAXONOMY.items())
ID_COLUMNS = ("split", "sensor_id", "audio_filename", "annotator_id")
COLUMNS: tuple[str, ...] = (ID_COLUMNS + tuple(f"{t}_presence" for t in FINE_TAGS)
                            + tuple(f"{t}_proximity" for t in FINE_TAGS)
                            + tuple(f"{t}_presence" for t in COARSE_TAGS))
# Label vector of the Microsoft code (label_order.pkl): 8 coarse, then 29 fine.
LABEL_ORDER: tuple[str, ...] = COARSE_TAGS + FINE_TAGS
LABEL_MODES = ("report", "official_baseline")
PRESENCE_VALUES = {"1": 1, "0": 0, "-1": -1, "1.0": 1, "0.0": 0, "-1.0": -1}
PROXIMITY_VALUES = {"near", "far", "notsure", "-1"}
MANIFEST_COLUMNS = ["path", "split", "audio_filename", "sensor_id", "annotations",
                    "samplerate", "duration"]


def taxonomy_yaml() -> str:
    """dcase-ust-taxonomy.yaml text: ``coarse: {id: name}`` and ``fine: {id: {fine id: name}}``."""
    lines = ["coarse:"] + [f"  {c}: {name}" for c, (name, _) in TAXONOMY.items()] + ["fine:"]
    for c, (_, fine) in TAXONOMY.items():
        lines.append(f"  {c}:")
        lines += [f"    {f if f == 'X' else int(f)}: {name}" for f, name in fine.items()]
    return "\n".join(lines) + "\n"


def read_taxonomy(path: str | Path) -> dict:
    """The yaml as a dict; DatasetError naming the file when it is not the 8/29 taxonomy."""
    import yaml

    path = Path(path)
    try:
        tax = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot read taxonomy ({exc})") from exc
    if not isinstance(tax, dict) or not {"coarse", "fine"} <= set(tax):
        raise DatasetError(f"{path}: taxonomy needs keys 'coarse' and 'fine'")
    coarse = {int(k): str(v) for k, v in tax["coarse"].items()}
    fine = {int(c): {str(k): str(v) for k, v in tags.items()} for c, tags in tax["fine"].items()}
    want_coarse = {c: name for c, (name, _) in TAXONOMY.items()}
    want_fine = {c: dict(f) for c, (_, f) in TAXONOMY.items()}
    if coarse != want_coarse or fine != want_fine:
        raise DatasetError(f"{path}: taxonomy differs from SONYC-UST v1 (8 coarse / 29 fine tags)")
    return tax


def read_annotations(path: str | Path) -> pd.DataFrame:
    """annotations.csv with its 70 columns in the official order, values checked.

    Presence columns become int8 (1 / 0 / -1), ``annotator_id`` and ``sensor_id`` int.
    DatasetError names the file and the first wrong column (position, expected, found), or the
    line and column of the first bad value.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotations file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot parse CSV ({exc})") from exc
    found = list(df.columns)
    if found != list(COLUMNS):
        for i, (want, got) in enumerate(zip(COLUMNS, found + [None] * len(COLUMNS))):
            if want != got:
                raise DatasetError(f"{path}: column {i + 1} is {got!r}, expected {want!r} "
                                   f"(SONYC-UST v1 has {len(COLUMNS)} columns in a fixed order; "
                                   f"found {len(found)})")
        raise DatasetError(f"{path}: {len(found)} columns, expected {len(COLUMNS)}: "
                           f"extra {found[len(COLUMNS):]}")
    out = df.copy()

    def bad(col: str, mask: pd.Series, allowed) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask.to_numpy())[0])
            raise DatasetError(f"{path}, line {i + 2}, column {col!r}: value {df[col].iloc[i]!r} "
                               f"is not one of {sorted(allowed)}")

    bad("split", ~df["split"].isin(SPLITS + ("test",)), SPLITS + ("test",))
    for col in ("sensor_id", "annotator_id"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad(col, num.isna() | (num != num.round()), ["integers"])
        out[col] = num.astype(int)
    bad("audio_filename", ~df["audio_filename"].str.endswith(".wav"), ["<name>.wav"])
    for col in COLUMNS[4:]:
        if col.endswith("_proximity"):
            bad(col, ~df[col].isin(PROXIMITY_VALUES), PROXIMITY_VALUES)
        else:
            bad(col, ~df[col].isin(PRESENCE_VALUES), PRESENCE_VALUES)
            out[col] = df[col].map(PRESENCE_VALUES).astype(np.int8)
    return out


def labels(annotations: pd.DataFrame, mode: str = "report") -> pd.DataFrame:
    """File-level 0/1 labels: one row per ``audio_filename`` (sorted), columns ``split`` then the
    37 tags in :data:`LABEL_ORDER` (8 coarse, then 29 fine; coarse truth comes from the coarse
    columns). ``mode`` is ``report`` or ``official_baseline`` (module docstring)."""
    if mode not in LABEL_MODES:
        raise ValueError(f"label mode {mode!r}; choose one of {LABEL_MODES}")
    cols = [f"{t}_presence" for t in LABEL_ORDER]
    missing = [c for c in ("audio_filename", "annotator_id", "split", *cols)
               if c not in annotations.columns]
    if missing:
        raise DatasetError(f"annotations lack column(s) {missing}")
    votes = annotations[cols].apply(pd.to_numeric).astype(float)
    names = annotations["audio_filename"]
    if mode == "report":
        valid = (votes != -1)
        ones = (votes == 1).groupby(names).sum()
        counted = valid.groupby(names).sum()
        out = (ones > 0.5 * counted) & (counted > 0)
    else:
        total = votes.groupby(names).sum() > 0
        verified = annotations["annotator_id"].astype(int) == 0
        if verified.any():
            # classify.py stops at the first annotator-0 row of a file: its value decides.
            first0 = votes[verified].groupby(names[verified]).first() > 0
            total.loc[first0.index] = first0
        out = total
    out = out.astype(np.int8)
    out.columns = list(LABEL_ORDER)
    split = annotations.groupby("audio_filename")["split"].first()
    return pd.concat([split, out], axis=1).sort_index()


def file_labels(report: ValidationReport, mode: str = "report") -> pd.DataFrame:
    """The usable files of a validated root with their labels: columns ``path`` (relative to
    the root), ``split``, ``sensor_id`` and the 37 tags of :data:`LABEL_ORDER`, one row per
    file in manifest order (bad and missing files are not in it)."""
    lab = labels(read_annotations(Path(report.root) / ANNOTATIONS), mode).drop(columns="split")
    m = report.manifest[["path", "split", "audio_filename", "sensor_id"]]
    out = m.join(lab, on="audio_filename")
    return out.drop(columns="audio_filename").reset_index(drop=True)


# --------------------------------------------------------------------------- validation

def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    """Check annotations.csv (columns, values), the taxonomy and the train/validate audio.

    Raises DatasetError when annotations.csv is absent or malformed. Files named by the
    annotations but absent, and a missing taxonomy, go to ``missing``; audio that does not
    decode at 44.1 kHz goes to ``bad``; wav files no row names, and clips that are not 10 s,
    are notes.
    """
    root = paths.dataset_root(NAME, ENV_VAR, root)
    info = mini_corpus.mini_meta(root, NAME, mini)
    ann = read_annotations(root / ANNOTATIONS)
    notes: list[str] = []
    missing: list[tuple[str, str]] = []
    if not (root / TAXONOMY_FILE).is_file():
        missing.append((TAXONOMY_FILE, "taxonomy file not found"))
    else:
        read_taxonomy(root / TAXONOMY_FILE)
    files = ann.groupby("audio_filename").agg(split=("split", "first"),
                                              sensor_id=("sensor_id", "first"),
                                              annotations=("split", "size"))
    two_splits = ann.groupby("audio_filename")["split"].nunique()
    if (two_splits > 1).any():
        raise DatasetError(f"{root / ANNOTATIONS}: file(s) listed under two splits: "
                           f"{list(two_splits[two_splits > 1].index[:5])}")
    found = {"annotation_rows": len(ann)}
    present: dict[str, Path] = {}
    for split in SPLITS:
        folder = root / split
        wavs = sorted(folder.glob("*.wav")) if folder.is_dir() else []
        if not folder.is_dir():
            missing.append((f"{split}/", "audio folder not found"))
        found[f"{split}_files"] = len(wavs)
        present.update({f"{split}/{w.name}": w for w in wavs})
    listed = {f"{r.split}/{name}": r for name, r in files.iterrows()}
    for rel in sorted(set(listed) - set(present)):
        missing.append((rel, "named in annotations.csv but not found"))
    unlisted = sorted(set(present) - set(listed))
    if unlisted:
        notes.append(f"{len(unlisted)} wav file(s) have no annotation row, e.g. {unlisted[:5]}")
    usable = [rel for rel in sorted(present) if rel in listed]
    ok, bad = check_audio_files([present[r] for r in usable], expected_sr=SAMPLERATE)
    by_path = {str(present[r]): r for r in usable}
    rows = []
    off_length = []
    for r in ok.itertuples(index=False):
        rel = by_path[r.path]
        meta = listed[rel]
        if abs(r.duration - CLIP_S) > 0.1:
            off_length.append(f"{rel} ({r.duration:.2f} s)")
        rows.append({"path": rel, "split": meta.split, "audio_filename": Path(rel).name,
                     "sensor_id": int(meta.sensor_id), "annotations": int(meta.annotations),
                     "samplerate": r.samplerate, "duration": r.duration})
    if off_length:
        notes.append(f"{len(off_length)} clip(s) are not {CLIP_S:.0f} s: {off_length[:5]}")
    bad = bad.assign(path=[by_path.get(p, p) for p in bad["path"]])
    expected = expected_counts(info, EXPECTED)
    return ValidationReport(dataset=NAME, root=root,
                            manifest=pd.DataFrame(rows, columns=MANIFEST_COLUMNS),
                            missing=problems(missing), bad=bad, expected=expected, found=found,
                            is_mini=mini, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(root, is_mini): the user's root (argument or $SONYC_UST_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: mini_corpus.writer_attr(__name__, "write_mini")(seed=seed))
