"""GTZAN music/speech (marsyas): validator for the official layout.

Official layout (spec swishnet.md §3.2)::

    music_speech/{music_wav,speech_wav}/*.wav     22,050 Hz mono, 30 s; 64 + 64 files

(the SwishNet paper says 60 + 60; the seed's notebook logs 64 + 64). Labels use the seed's
MUSAN map: music=1, speech=2.

Mini corpus in this layout: :mod:`data_prep.gtzan_mini`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep.paths import dataset_root
from data_prep.validation import ValidationReport, check_audio_files, problems

NAME = "gtzan"
ENV_VAR = "GTZAN_ROOT"
SAMPLERATE = 22050
FILE_SECONDS = 30.0
FOLDERS = {"music": "music_wav", "speech": "speech_wav"}
EXPECTED = {"music": 64, "speech": 64}
PAPER_COUNTS = {"music": 60, "speech": 60}
LABELS = {"music": 1, "speech": 2}
LAYOUT_DIR = "music_speech"
# A file this far from 30 s is reported in the notes (not rejected).
DURATION_TOLERANCE_S = 1.0


def __getattr__(name: str):
    """``write_mini`` and the writer's other names, from :mod:`data_prep.gtzan_mini` on first use."""
    return mini_corpus.writer_attr(__name__, name)


def _resolve_layout(root: Path) -> Path:
    if not any((root / f).is_dir() for f in FOLDERS.values()) and (root / LAYOUT_DIR).is_dir():
        root = root / LAYOUT_DIR
    if not any((root / f).is_dir() for f in FOLDERS.values()):
        raise DatasetError(f"{root}: no GTZAN music/speech folders (music_wav/, speech_wav/, or "
                           f"{LAYOUT_DIR}/ holding them); set {ENV_VAR} to that folder")
    return root


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    root = _resolve_layout(dataset_root(NAME, ENV_VAR, root))
    meta = mini_corpus.mini_meta(root, NAME, mini)
    expected = dict(meta["counts"]) if meta else dict(EXPECTED)
    groups = _mini_groups(root) if meta else {}
    notes = [] if meta else [f"official counts {EXPECTED}; the SwishNet paper reports {PAPER_COUNTS}"]
    missing: list[tuple[str, str]] = []
    found: dict[str, int] = {}
    rows = []
    for cat, folder in FOLDERS.items():
        if not (root / folder).is_dir():
            missing.append((f"{folder}/", "category folder is missing"))
            found[cat] = 0
            continue
        wavs = sorted((root / folder).glob("*.wav"))
        found[cat] = len(wavs)
        for w in wavs:
            rel = w.relative_to(root).as_posix()
            rows.append({"file": str(w), "path": rel, "category": cat, "subset": folder,
                         "utt": w.stem, "label": LABELS[cat], "group": groups.get(rel, f"{cat}/{w.stem}")})
    ok, bad = check_audio_files([r["file"] for r in rows], expected_sr=SAMPLERATE)
    info = ok.set_index("path")
    manifest = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "file"}
         | {"samplerate": int(info.loc[r["file"], "samplerate"]),
            "channels": int(info.loc[r["file"], "channels"]),
            "duration": float(info.loc[r["file"], "duration"])}
         for r in rows if r["file"] in info.index],
        columns=["path", "category", "subset", "utt", "label", "group", "samplerate", "channels",
                 "duration"])
    off = manifest[(manifest["duration"] - FILE_SECONDS).abs() > DURATION_TOLERANCE_S]
    if len(off):
        notes.append(f"{len(off)} file(s) are not {FILE_SECONDS:g} s long: "
                     + ", ".join(f"{p} ({d:.1f} s)"
                                 for p, d in zip(off["path"].head(5), off["duration"].head(5))))
    stereo = manifest[manifest["channels"] != 1]
    if len(stereo):
        notes.append(f"{len(stereo)} file(s) are not mono (downmixed when read)")
    bad = bad.assign(path=[Path(p).relative_to(root).as_posix() for p in bad["path"]])
    return ValidationReport(NAME, root, manifest, problems(missing), bad, expected, found,
                            is_mini=meta is not None, notes=notes)


def _mini_groups(root: Path) -> dict[str, str]:
    return mini_corpus.mini_file_groups(root)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(dataset root, is_mini): the user's root (argument or $GTZAN_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: mini_corpus.writer_attr(__name__, "write_mini")(seed=seed))
