"""Audio reading and writing with content checks.

Every reader goes through :func:`load_audio`, so every dataset gets the same checks and the
same error messages: the path of the bad file and what is wrong with it.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from common.errors import AudioError

# A file whose peak is below this is treated as silent (about -120 dBFS).
SILENCE_PEAK = 1e-6


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def audio_info(path: str | Path) -> AudioInfo:
    """Header information without decoding; raises AudioError on unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file does not exist")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(path, f"cannot read audio header ({exc})") from exc
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames),
                     info.format, info.subtype)


def _decode(source, path: Path) -> tuple[np.ndarray, int]:
    try:
        data, sr = sf.read(source, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(path, f"cannot decode audio ({exc})") from exc
    return data, int(sr)


def check_audio(y: np.ndarray, sr: int, path: str | Path, *, expected_sr: int | None = None,
                min_duration: float = 0.0, allow_silent: bool = False) -> None:
    """Raise AudioError when samples are empty, non-finite, silent, too short or at a wrong rate."""
    if y.size == 0:
        raise AudioError(path, "file holds no samples (empty audio)")
    if not np.all(np.isfinite(y)):
        raise AudioError(path, f"{int(np.sum(~np.isfinite(y)))} samples are NaN or infinite")
    if expected_sr is not None and sr != expected_sr:
        raise AudioError(path, f"sample rate is {sr} Hz, expected {expected_sr} Hz")
    duration = y.shape[0] / sr
    if duration < min_duration:
        raise AudioError(path, f"duration {duration:.3f} s is shorter than {min_duration:.3f} s")
    if not allow_silent and float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError(path, "audio is silent (peak below -120 dBFS)")


def load_audio(path: str | Path, sr: int | None = None, *, mono: bool = True,
               expected_sr: int | None = None, min_duration: float = 0.0,
               allow_silent: bool = False, data: bytes | None = None) -> tuple[np.ndarray, int]:
    """Read audio as float32, optionally downmix and resample (soxr, 'HQ').

    ``expected_sr`` checks the *file's* rate before resampling (dataset validation);
    ``sr`` is the rate the caller wants back. ``data`` reads from bytes already in memory
    (files inside containers) while ``path`` still names the source in errors.
    Returns ``(y, sr)``: ``y`` is (n,) when mono else (n, channels).
    """
    path = Path(path)
    if data is None:
        if not path.is_file():
            raise AudioError(path, "file does not exist")
        if path.stat().st_size == 0:
            raise AudioError(path, "file is empty (0 bytes)")
        y, file_sr = _decode(str(path), path)
    else:
        if len(data) == 0:
            raise AudioError(path, "file is empty (0 bytes)")
        y, file_sr = _decode(io.BytesIO(data), path)
    check_audio(y, file_sr, path, expected_sr=expected_sr, allow_silent=True)
    if mono:
        y = y.mean(axis=1)
    if sr is not None and sr != file_sr:
        y = soxr.resample(y, file_sr, sr, quality="HQ").astype(np.float32)
        file_sr = sr
    check_audio(y, file_sr, path, min_duration=min_duration, allow_silent=allow_silent)
    return np.ascontiguousarray(y, dtype=np.float32), file_sr


def write_audio(path: str | Path, y: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    """Write a WAV/FLAC atomically (temp file + rename) so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        sf.write(tmp, y, sr, subtype=subtype)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
