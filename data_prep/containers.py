"""Readers for the game-data containers that hold some of the Debian recordings.

OpenSFX (``opensfx.cat``): a table of ``count`` little-endian (u32 offset, u32 size) pairs; the
first offset is ``8 * count``. An offset with its top bit set marks an entry that starts with a
name: one length byte plus that many bytes of description (author + licence), NUL-terminated.
``size`` is the length of the RIFF WAV that follows the name. Two entries (34, 50) hold a WAV
header with no samples: they are skipped.

UFO:AI (``*.pk3``): an ordinary zip archive.
"""
from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from common.errors import DatasetError

_NAMED = 0x80000000


@dataclass(frozen=True)
class CatEntry:
    index: int
    description: str
    wav: bytes

    @property
    def title(self) -> str:
        """The quoted sound name at the start of the description (the entry's label)."""
        m = re.match(r'\s*"([^"]+)"', self.description)
        return m.group(1) if m else self.description.split(".")[0].strip()


def _wav_has_samples(wav: bytes) -> bool:
    """True when the RIFF WAV holds a non-empty ``data`` chunk (without decoding)."""
    pos = 12
    while pos + 8 <= len(wav):
        chunk, size = wav[pos:pos + 4], struct.unpack_from("<I", wav, pos + 4)[0]
        if chunk == b"data":
            return size > 0 and pos + 8 < len(wav)
        pos += 8 + size + (size & 1)
    return False


def read_opensfx_cat(path: str | Path) -> list[CatEntry]:
    """Entries of an OpenSFX ``.cat`` in file order; entries without samples are skipped."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read OpenSFX container ({exc})") from exc
    if len(blob) < 8:
        raise DatasetError(f"{path}: too short for an OpenSFX container header")
    first = struct.unpack_from("<I", blob, 0)[0] & ~_NAMED
    if first == 0 or first % 8 or first > len(blob):
        raise DatasetError(f"{path}: bad OpenSFX header (first offset {first})")
    entries: list[CatEntry] = []
    for index in range(first // 8):
        raw_offset, size = struct.unpack_from("<II", blob, 8 * index)
        offset = raw_offset & ~_NAMED
        description = ""
        if raw_offset & _NAMED:
            if offset >= len(blob):
                raise DatasetError(f"{path}: entry {index} offset {offset} is past the end")
            name_len = blob[offset]
            description = blob[offset + 1:offset + 1 + name_len].rstrip(b"\0").decode(
                "utf-8", errors="replace")
            offset += 1 + name_len
        if offset + size > len(blob):
            raise DatasetError(f"{path}: entry {index} ({offset}+{size} bytes) is past the end "
                               f"of the file ({len(blob)} bytes)")
        wav = blob[offset:offset + size]
        if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
            raise DatasetError(f"{path}: entry {index} is not a RIFF WAV")
        if _wav_has_samples(wav):
            entries.append(CatEntry(index, description, wav))
    return entries


def read_pk3(path: str | Path, prefix: str = "", suffix: str = ".ogg") -> list[tuple[str, bytes]]:
    """(member name, bytes) of a zip's files under ``prefix`` ending in ``suffix``, sorted."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist()
                           if n.startswith(prefix) and n.endswith(suffix) and not n.endswith("/"))
            return [(n, zf.read(n)) for n in names]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: cannot read zip/pk3 container ({exc})") from exc


def read_pk3_member(path: str | Path, member: str) -> bytes:
    """One member of a zip/pk3 (used to read a single recording without loading the rest)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read(member)
    except KeyError as exc:
        raise DatasetError(f"{path}: no member {member!r}") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: cannot read zip/pk3 container ({exc})") from exc
