"""FUSS (DCASE 2020 Task 4 separation data): official layout and validator.

Official layout (spec fuss_desed.md §3.1; google-research/sound-separation datasets/fuss)::

    <root>/ssdata/                 dry mixtures and sources
    <root>/ssdata_reverb/          the same sources, reverberated, and their mixtures
      {train,validation,eval}_example_list.txt
      <split>/exampleNNNNN.wav
      <split>/exampleNNNNN_sources/background0_sound.wav, foreground0_sound.wav, ...

Each list line is tab-separated relative paths: the mixture, then 1-4 sources (background0
first, then foreground0..2). Every wav is mono, 16 kHz, 10 s (160,000 samples); the mixture is
the sum of its sources. Expected: 20,000 train / 1,000 validation / 1,000 eval mixtures in
each version.

The mini corpus in this layout is written by data_prep/fuss_mini.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from common.errors import DatasetError
from data_prep import mini as mini_corpus
from data_prep.fuss_mini import write_mini  # re-exported: the dataset-module contract
from data_prep.headers import check_headers
from data_prep.paths import dataset_root
from data_prep.validation import ValidationReport, expected_counts, problems

NAME = "fuss"
ENV_VAR = "FUSS_ROOT"
SAMPLERATE = 16000
DURATION_S = 10.0
VERSIONS = ("ssdata", "ssdata_reverb")
SPLITS = ("train", "validation", "eval")
SPLIT_SIZES = {"train": 20000, "validation": 1000, "eval": 1000}
EXPECTED: dict[str, int] = {f"{v}/{s}": n for v in VERSIONS for s, n in SPLIT_SIZES.items()}
MAX_SOURCES = 4
SOURCE_RE = re.compile(r"(background|foreground)(\d+)_sound\.wav")
MANIFEST_COLUMNS = ["version", "split", "mixture", "path", "n_sources", "sources",
                    "samplerate", "duration"]


def list_path(version_root: Path, split: str) -> Path:
    return Path(version_root) / f"{split}_example_list.txt"


def resolve_layout(root: Path) -> Path:
    """Accept the folder holding ssdata*/, or its parent holding ``fuss_dev/``."""
    if not any((root / v).is_dir() for v in VERSIONS) and any((root / "fuss_dev" / v).is_dir()
                                                               for v in VERSIONS):
        root = root / "fuss_dev"
    if not any((root / v).is_dir() for v in VERSIONS):
        raise DatasetError(f"{root}: neither ssdata/ nor ssdata_reverb/ found; set {ENV_VAR} to "
                           f"the folder that holds them")
    return root


def read_example_list(path: Path, split: str) -> list[tuple[str, list[str]]]:
    """[(mixture, [sources])] of one list file; DatasetError naming file, line and column for
    a line that does not hold a mixture and 1-4 sources of that mixture in the official names."""
    if not path.is_file():
        raise DatasetError(f"{path}: example list not found")
    out = []
    seen = set()
    mix_re = re.compile(rf"{re.escape(split)}/(example\d+)\.wav")
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"{path}: line {lineno}"
        if not 2 <= len(fields) <= 1 + MAX_SOURCES:
            raise DatasetError(f"{where}: {len(fields)} tab-separated field(s); expected the "
                               f"mixture and 1-{MAX_SOURCES} sources")
        m = mix_re.fullmatch(fields[0])
        if not m:
            raise DatasetError(f"{where}, column 1: {fields[0]!r} is not {split}/exampleNNNNN.wav")
        prefix = f"{split}/{m.group(1)}_sources/"
        kinds = []
        for col, src in enumerate(fields[1:], 2):
            sm = SOURCE_RE.fullmatch(src[len(prefix):]) if src.startswith(prefix) else None
            if not sm:
                raise DatasetError(f"{where}, column {col}: {src!r} is not "
                                   f"{prefix}{{background,foreground}}N_sound.wav")
            kinds.append(sm.group(1))
        if kinds.count("background") > 1 or (kinds[0] != "background" and "background" in kinds):
            raise DatasetError(f"{where}: the background source must come first and only once")
        if len(set(fields[1:])) != len(fields) - 1:
            raise DatasetError(f"{where}: a source is listed twice")
        if fields[0] in seen:
            raise DatasetError(f"{where}: mixture {fields[0]!r} listed twice")
        seen.add(fields[0])
        out.append((fields[0], fields[1:]))
    return out


def mixture_error(version_root: Path, mixture: str, sources: list[str]) -> float:
    """Largest |mixture - sum of sources| over samples (decodes the files)."""
    mix, _ = sf.read(str(version_root / mixture), dtype="float64", always_2d=True)
    total = np.zeros_like(mix[:, 0])
    for s in sources:
        y, _ = sf.read(str(version_root / s), dtype="float64", always_2d=True)
        if len(y) != len(total):
            return float("inf")
        total += y[:, 0]
    return float(np.max(np.abs(mix[:, 0] - total)))


def validate(root: str | Path | None = None, *, mini: bool = False, decode: bool = False,
             check_mixtures: bool = False) -> ValidationReport:
    """Check both versions' lists and every listed wav (header: 16 kHz mono, 10 s or the mini
    corpus's duration). A mixture with an absent file goes to ``missing``; an out-of-spec file
    to ``bad``; the manifest holds one row per mixture whose files are all usable.
    ``check_mixtures`` also decodes each mixture and its sources and notes any mixture that is
    not the sum of its sources (beyond 16-bit rounding of each file)."""
    root = resolve_layout(dataset_root(NAME, ENV_VAR, root))
    info = mini_corpus.mini_meta(root, NAME, mini)
    sr = int(info["samplerate"]) if info else SAMPLERATE
    frames = int(round((info["duration_s"] if info else DURATION_S) * sr))
    expected = expected_counts(info, EXPECTED)
    found: dict[str, int] = {}
    missing_rows, rows, notes = [], [], []
    bad_frames = []
    for version in VERSIONS:
        vroot = root / version
        if not vroot.is_dir():
            missing_rows.append((f"{version}/", "version folder is missing"))
            continue
        for split in SPLITS:
            lp = list_path(vroot, split)
            if not lp.is_file():
                missing_rows.append((lp.relative_to(root).as_posix(), "example list is missing"))
                continue
            examples = read_example_list(lp, split)
            found[f"{version}/{split}"] = len(examples)
            paths = sorted({p for mix, srcs in examples for p in [mix, *srcs]})
            exists = {p for p in paths if (vroot / p).is_file()}
            for p in paths:
                if p not in exists:
                    missing_rows.append((f"{version}/{p}", f"listed in {lp.name} but absent"))
            ok, bad = check_headers([vroot / p for p in sorted(exists)], sr, frames, 1, decode)
            usable = {Path(p).relative_to(vroot).as_posix() for p in ok["path"]}
            bad_frames.append(bad.assign(path=[Path(p).relative_to(root).as_posix()
                                               for p in bad["path"]]))
            errors = []
            for mix, srcs in examples:
                if all(p in usable for p in [mix, *srcs]):
                    rows.append({"version": version, "split": split, "mixture": mix,
                                 "path": str(vroot / mix), "n_sources": len(srcs),
                                 "sources": ";".join(srcs), "samplerate": sr,
                                 "duration": frames / sr})
                    if check_mixtures:
                        err = mixture_error(vroot, mix, srcs)
                        if err > (len(srcs) + 1) * 2.0 ** -15:
                            errors.append(f"{version}/{mix} ({err:.2e})")
            if errors:
                notes.append(f"{len(errors)} mixture(s) are not the sum of their sources: "
                             + ", ".join(errors[:5]))
    if not found and not missing_rows:
        raise DatasetError(f"{root}: no example lists found")
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    bad = pd.concat(bad_frames, ignore_index=True) if bad_frames else problems([])
    if len(manifest):
        counts = manifest.groupby(["version", "n_sources"]).size()
        notes.append("usable mixtures by number of sources: " + ", ".join(
            f"{v} {n}-source {int(c)}" for (v, n), c in counts.items()))
    if info is not None:
        notes.append("mini corpus: Debian recordings, simulated shoebox rooms (see MINI.json)")
    return ValidationReport(NAME, root, manifest, problems(missing_rows), bad, expected, found,
                            is_mini=info is not None, notes=notes)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(dataset root, is_mini): the user's root (argument or $FUSS_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: write_mini(seed=seed), resolve_layout)
