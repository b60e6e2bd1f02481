"""Exceptions that name the file or key at fault, so a user can fix the input."""
from __future__ import annotations

from pathlib import Path


class ReproError(Exception):
    """Base class of every error the suite raises on purpose."""


class AudioError(ReproError):
    """An audio file is missing, unreadable, or fails a content check."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DatasetError(ReproError):
    """A dataset root is unset, missing, or does not match its official layout."""


class ConfigError(ReproError):
    """A configuration key or value is unknown or invalid."""


class PredictionFileError(ReproError):
    """A ground-truth or prediction file given to ``repro evaluate`` is malformed. The message
    names the file and, where they apply, the line (1-based, as an editor shows it) and the
    column."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None,
                 column: str | None = None):
        self.path, self.reason, self.line, self.column = Path(path), reason, line, column
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")
