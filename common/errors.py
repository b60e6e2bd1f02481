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
