"""MUSAN (OpenSLR 17): validator for the official layout.

Official layout (spec swishnet.md §3.1)::

    musan/{music,noise,speech}/<subset>/*.wav + ANNOTATIONS + LICENSE, README at the root

16 kHz mono WAV; 660 music, 930 noise, 426 speech files. Labels come from the top folder:
noise=0, music=1, speech=2 (the seed's map).

Mini corpus in this layout: :mod:`data_prep.musan_mini`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep.paths import dataset_root
from data_prep.validation import ValidationReport, check_audio_files, problems

NAME = "musan"
ENV_VAR = "MUSAN_ROOT"
SAMPLERATE = 16000
CATEGORIES = ("music", "noise", "speech")
EXPECTED = {"music": 660, "noise": 930, "speech": 426}
LABELS = {"noise": 0, "music": 1, "speech": 2}
# Columns of music/<subset>/ANNOTATIONS (Kaldi's make_musan.py reads these four).
MUSIC_ANNOTATION_COLUMNS = ("utt", "genres", "vocals", "artist")


def __getattr__(name: str):
    """``write_mini`` and the writer's other names, from :mod:`data_prep.musan_mini` on first use."""
    return mini_corpus.writer_attr(__name__, name)


# ----------------------------------------------------------------------------- validation

def _resolve_layout(root: Path) -> Path:
    """Accept the folder that holds the categories, or its parent holding ``musan/``."""
    if not any((root / c).is_dir() for c in CATEGORIES) and (root / "musan").is_dir():
        root = root / "musan"
    if not any((root / c).is_dir() for c in CATEGORIES):
        raise DatasetError(f"{root}: no MUSAN category folders ({', '.join(c + '/' for c in CATEGORIES)}); "
                           f"set {ENV_VAR} to the folder that holds them")
    return root


def read_annotations(path: Path, category: str) -> pd.DataFrame:
    """ANNOTATIONS as a frame; music needs utt, genres, vocals, artist (DatasetError otherwise)."""
    columns = MUSIC_ANNOTATION_COLUMNS if category == "music" else ("utt",)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < len(columns):
            absent = list(columns[len(fields):])
            raise DatasetError(f"{path}: line {lineno} lacks column(s) {absent} "
                               f"(expected whitespace-separated {' '.join(columns)} ...)")
        if category == "music":  # artist names may hold spaces: the rest of the line
            fields = fields[:len(columns) - 1] + [" ".join(fields[len(columns) - 1:])]
        rows.append(dict(zip(columns, fields)))
    return pd.DataFrame(rows, columns=list(columns))


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    """Check a MUSAN root; bad audio and absent files are reported, not raised."""
    root = _resolve_layout(dataset_root(NAME, ENV_VAR, root))
    notes: list[str] = []
    missing: list[tuple[str, str]] = []
    meta = mini_corpus.mini_meta(root, NAME, mini)
    expected = dict(meta["counts"]) if meta else dict(EXPECTED)
    groups = mini_corpus.mini_file_groups(root) if meta else {}
    if not (root / "README").is_file():
        notes.append("README is absent at the root")
    found: dict[str, int] = {}
    rows: list[dict] = []
    for cat in CATEGORIES:
        cat_dir = root / cat
        if not cat_dir.is_dir():
            missing.append((f"{cat}/", "category folder is missing"))
            found[cat] = 0
            continue
        wavs = sorted(cat_dir.rglob("*.wav"))
        found[cat] = len(wavs)
        vocals: dict[str, str] = {}
        for folder in sorted({w.parent for w in wavs}):
            rel = folder.relative_to(root).as_posix()
            ann_path = folder / "ANNOTATIONS"
            if not (folder / "LICENSE").is_file():
                notes.append(f"{rel}/LICENSE is absent")
            if not ann_path.is_file():
                missing.append((f"{rel}/ANNOTATIONS", "annotation file is missing"))
                continue
            ann = read_annotations(ann_path, cat)
            present = {w.stem for w in wavs if w.parent == folder}
            for utt in sorted(set(ann["utt"]) - present):
                missing.append((f"{rel}/{utt}.wav", "listed in ANNOTATIONS but absent"))
            unlisted = sorted(present - set(ann["utt"]))
            if unlisted:
                notes.append(f"{len(unlisted)} wav(s) in {rel} are not listed in ANNOTATIONS: "
                             + ", ".join(unlisted[:5]) + (" ..." if len(unlisted) > 5 else ""))
            if cat == "music":
                odd = sorted(set(ann["vocals"]) - {"Y", "N"})
                if odd:
                    notes.append(f"{rel}/ANNOTATIONS: vocals column has values {odd} (expected Y/N)")
                vocals.update(zip(ann["utt"], ann["vocals"]))
        for w in wavs:
            rel = w.relative_to(root)
            rows.append({"file": w, "path": rel.as_posix(), "category": cat,
                         "subset": "/".join(rel.parts[1:-1]), "utt": w.stem,
                         "label": LABELS[cat], "vocals": vocals.get(w.stem, ""),
                         "group": groups.get(rel.as_posix(), f"{cat}/{w.stem}")})
    ok, bad = check_audio_files([r["file"] for r in rows], expected_sr=SAMPLERATE)
    info = ok.set_index("path")
    manifest_rows = []
    for r in rows:
        key = str(r["file"])
        if key in info.index:
            a = info.loc[key]
            manifest_rows.append({k: v for k, v in r.items() if k != "file"}
                                 | {"samplerate": int(a["samplerate"]), "channels": int(a["channels"]),
                                    "duration": float(a["duration"])})
    manifest = pd.DataFrame(manifest_rows, columns=["path", "category", "subset", "utt", "label",
                                                    "group", "vocals", "samplerate", "channels",
                                                    "duration"])
    stereo = manifest[manifest["channels"] != 1]
    if len(stereo):
        notes.append(f"{len(stereo)} file(s) are not mono (they are downmixed when read): "
                     + ", ".join(stereo["path"].head(5)))
    bad = bad.assign(path=[Path(p).relative_to(root).as_posix() for p in bad["path"]])
    return ValidationReport(NAME, root, manifest, problems(missing), bad, expected, found,
                            is_mini=meta is not None, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(dataset root, is_mini): the user's root (argument or $MUSAN_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: mini_corpus.writer_attr(__name__, "write_mini")(seed=seed))
