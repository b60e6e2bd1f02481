"""Dataset validation results shared by every dataset module.

A validator never stops at the first bad file: unreadable or out-of-spec audio goes to ``bad``
(with the reason), absent files go to ``missing``, and the manifest holds only usable files.
Only a layout that cannot be interpreted at all (no root, no category folders, an annotation
file without a required column) raises :class:`DatasetError`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from common.audio_io import load_audio
from common.errors import AudioError, DatasetError
from common.fileio import atomic_write_text

AUDIO_COLUMNS = ["path", "samplerate", "channels", "duration"]
PROBLEM_COLUMNS = ["path", "reason"]


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in PROBLEM_COLUMNS})


@dataclass
class ValidationReport:
    dataset: str
    root: Path
    manifest: pd.DataFrame
    missing: pd.DataFrame = field(default_factory=empty_problems)
    bad: pd.DataFrame = field(default_factory=empty_problems)
    expected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    is_mini: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def count_mismatches(self) -> dict[str, tuple[int, int]]:
        """{key: (found, expected)} for every expected count that differs."""
        return {k: (self.found.get(k, 0), v) for k, v in self.expected.items()
                if self.found.get(k, 0) != v}

    @property
    def ok(self) -> bool:
        return self.missing.empty and not self.count_mismatches

    def summary(self) -> str:
        kind = "mini corpus" if self.is_mini else "dataset"
        lines = [f"{self.dataset} {kind} at {self.root}: "
                 f"{len(self.manifest)} usable files, {len(self.bad)} bad, "
                 f"{len(self.missing)} missing -> {'OK' if self.ok else 'INCOMPLETE'}"]
        for key in sorted(set(self.expected) | set(self.found)):
            exp = self.expected.get(key)
            lines.append(f"  {key}: found {self.found.get(key, 0)}"
                         + (f" / expected {exp}" if exp is not None else ""))
        for title, frame in (("skipped (bad)", self.bad), ("missing", self.missing)):
            if len(frame):
                lines.append(f"  {title}:")
                lines += [f"    {r.path}: {r.reason}" for r in frame.itertuples()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        out_dir = Path(out_dir)
        written = {}
        for name, frame in (("manifest", self.manifest), ("missing_files", self.missing),
                            ("bad_files", self.bad)):
            written[name] = atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False))
        return written

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "root": str(self.root),
            "is_mini": self.is_mini,
            "ok": self.ok,
            "files_found": dict(self.found),
            "files_expected": dict(self.expected),
            "files_usable": int(len(self.manifest)),
            "files_bad": self.bad.to_dict("records"),
            "files_missing": self.missing.to_dict("records"),
            "total_duration_s": float(self.manifest["duration"].sum())
            if "duration" in self.manifest else None,
            "notes": list(self.notes),
        }


def check_audio_files(paths: Iterable[str | Path], expected_sr: int | None,
                      min_duration: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decode every file; return (usable rows, bad rows with the reason). Never raises AudioError."""
    ok_rows, bad_rows = [], []
    for p in paths:
        try:
            y, sr = load_audio(p, sr=None, mono=False, expected_sr=expected_sr,
                               min_duration=min_duration)
        except AudioError as exc:
            bad_rows.append({"path": str(p), "reason": exc.reason})
            continue
        ok_rows.append({"path": str(p), "samplerate": sr, "channels": int(y.shape[1]),
                        "duration": y.shape[0] / sr})
    ok = pd.DataFrame(ok_rows, columns=AUDIO_COLUMNS)
    bad = pd.DataFrame(bad_rows, columns=PROBLEM_COLUMNS) if bad_rows else empty_problems()
    return ok, bad


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str | Path) -> None:
    """DatasetError naming ``source`` and the missing column(s)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {missing}; found {list(df.columns)}")


def problems(rows: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """(path, reason) pairs as a problems frame."""
    rows = list(rows)
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS) if rows else empty_problems()


def expected_counts(info: Mapping | None, official: Mapping[str, int]) -> dict[str, int]:
    """The counts a corpus should hold: a mini corpus's own (MINI.json ``counts``, given as
    ``info``), else the ``official`` release's."""
    return {k: int(v) for k, v in info["counts"].items()} if info else dict(official)
