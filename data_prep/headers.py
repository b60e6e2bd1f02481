"""Header-only audio checks for datasets with hundreds of thousands of short files.

TAU22 (230,350 files) and FUSS (about 4 x 22,000 files per version) are too large to decode on
every validation; the header gives rate, channels and length, which is what their layouts
fix. ``decode=True`` in the validators falls back to a full decode (validation.check_audio_files).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from common.audio_io import audio_info
from common.errors import AudioError
from data_prep.validation import (
    AUDIO_COLUMNS,
    PROBLEM_COLUMNS,
    check_audio_files,
    empty_problems,
)


def check_headers(paths: Iterable[str | Path], expected_sr: int | None,
                  expected_frames: int | None = None, channels: int | None = 1,
                  decode: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usable rows: path, samplerate, channels, duration; bad rows: path, reason).

    A file is bad when its header cannot be read, or its rate, channel count or length in
    frames differs from the expected ones. ``decode`` also decodes every file (empty, NaN).
    """
    paths = [str(p) for p in paths]
    ok_rows, bad_rows = [], []
    for p in paths:
        try:
            info = audio_info(p)
        except AudioError as exc:
            bad_rows.append({"path": p, "reason": exc.reason})
            continue
        reasons = []
        if expected_sr is not None and info.samplerate != expected_sr:
            reasons.append(f"sample rate is {info.samplerate} Hz, expected {expected_sr} Hz")
        if channels is not None and info.channels != channels:
            reasons.append(f"{info.channels} channels, expected {channels}")
        if expected_frames is not None and info.frames != expected_frames:
            reasons.append(f"{info.frames} frames ({info.duration:.4f} s), expected "
                           f"{expected_frames}")
        if info.frames == 0:
            reasons.append("file holds no samples (empty audio)")
        if reasons:
            bad_rows.append({"path": p, "reason": "; ".join(reasons)})
        else:
            ok_rows.append({"path": p, "samplerate": info.samplerate, "channels": info.channels,
                            "duration": info.duration})
    ok = pd.DataFrame(ok_rows, columns=AUDIO_COLUMNS)
    bad = pd.DataFrame(bad_rows, columns=PROBLEM_COLUMNS) if bad_rows else empty_problems()
    if decode and len(ok):
        ok, bad_decoded = check_audio_files(ok["path"], expected_sr)
        bad = pd.concat([bad, bad_decoded], ignore_index=True) if len(bad_decoded) else bad
    return ok, bad
