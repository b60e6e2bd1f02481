"""Catalogue of the real recordings that Debian ships (see shared/data_sources.md).

Every recording is described by a :class:`Recording`: which package, a stable id, its role
(speech / music / events), the source's own label, the *group* that must stay inside one split,
and where the audio is (a file, or a member of a container).
"""
from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from common.audio_io import load_audio
from common.errors import AudioError, DatasetError
from data_prep.containers import read_opensfx_cat, read_pk3_member

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds")
ROLES = ("speech", "music", "events")


@dataclass(frozen=True)
class PackageInfo:
    name: str
    role: str
    licence: str
    description: str
    location: Path
    authors: str = ""
    speaker: str | None = None


@dataclass(frozen=True, order=True)
class Recording:
    package: str
    id: str
    role: str
    label: str
    group: str
    path: Path
    member: str | None = None
    speaker: str | None = None
    # Per-recording author/licence line when the source gives one (OpenSFX descriptions).
    credit: str = field(default="", compare=False, repr=False)

    @property
    def source(self) -> str:
        """Human-readable location (file, or file::member)."""
        return f"{self.path}::{self.member}" if self.member else str(self.path)


def _speech(pkg: str, speaker: str, licence: str, authors: str, language: str) -> PackageInfo:
    return PackageInfo(pkg, "speech", licence,
                       f"Asterisk telephone prompts, {language}, one speaker ({speaker}), "
                       "8 kHz",
                       ASTERISK_SOUNDS / speaker, authors, speaker)


PACKAGES: dict[str, PackageInfo] = {p.name: p for p in [
    _speech("asterisk-core-sounds-en-wav", "en_US_f_Allison", "CC-BY-SA-3.0",
            "Allison Smith (recording); Digium, Inc.", "US English, female"),
    _speech("asterisk-core-sounds-fr-wav", "fr_CA_f_June", "CC-BY-SA-3.0",
            "June Wallack (recording); translation Clod Patry, Kristopher Lalletti",
            "Canadian French, female"),
    _speech("asterisk-core-sounds-it-wav", "it_IT_m_Carlo", "CC-BY-3.0",
            "Carlo Flora (recording); translation Silvia Petrin", "Italian, male"),
    PackageInfo("asterisk-moh-opsound-wav", "music", "CC-BY-SA-3.0",
                "Asterisk music-on-hold: 5 electronic tracks, 8 kHz",
                Path("/usr/share/asterisk/moh"),
                "Paul Shuler (Macroform); Manolo Camp; Reno Project"),
    PackageInfo("drascula-music", "music", "Drascula-License (freeware, BSD-like; see copyright)",
                "Drascula: The Vampire Strikes Back soundtrack, 31 instrumental tracks, 44.1 kHz stereo",
                Path("/usr/share/scummvm/drascula/audio"), "Alcachofa Soft S.L."),
    PackageInfo("openttd-opensfx", "events",
                "CC-BY-SA-3.0 as a collection; each entry CC-BY-3.0, CC-BY-SA-3.0 or CC0 (credited per entry)",
                "OpenSFX sound set for OpenTTD: 71 recordings (vehicles, horns, animals, wind, machinery)",
                Path("/usr/share/games/openttd/baseset/opensfx/opensfx.cat"),
                "various (named per entry)"),
    PackageInfo("ufoai-sound", "events", "GPL-2+ (some files CC-BY-3.0 / CC-BY-SA-3.0; see copyright)",
                "UFO: Alien Invasion sound effects (ambience loops, footsteps, breakage, doors, ...)",
                Path("/usr/share/games/ufoai/base/0snd.pk3"), "The UFO:AI Team and contributors"),
    PackageInfo("heroes-sound-effects", "events", "GPL-2+",
                "Heroes game sound effects, 8-bit 11 kHz", Path("/usr/share/games/heroes/sfx"),
                "Alexandre Duret-Lutz, Romuald Genevois, Alexandre Liverneaux, Philippe Meisburger"),
]}


def speaker_package(speaker: str) -> str:
    """The Debian package that holds a speaker's prompts."""
    for name, info in PACKAGES.items():
        if info.speaker == speaker:
            return name
    raise DatasetError(f"no Debian package holds speaker {speaker}; known: "
                       f"{sorted(p.speaker for p in PACKAGES.values() if p.speaker)}")


def install_command(packages: Iterable[str]) -> str:
    return "apt-get install -y --no-install-recommends " + " ".join(sorted(packages))


def _require_installed(packages: list[str]) -> None:
    unknown = [p for p in packages if p not in PACKAGES]
    if unknown:
        raise DatasetError(f"unknown recording package(s) {unknown}; known: {sorted(PACKAGES)}")
    missing = [p for p in packages if not PACKAGES[p].location.exists()]
    if missing:
        where = ", ".join(str(PACKAGES[p].location) for p in missing)
        raise DatasetError(
            f"Debian recordings missing ({where}). Install them as root with "
            f"`apt-get update && {install_command(missing)}` (or run `make setup`).")


def _is_asterisk_speech(rel: Path) -> bool:
    """Prompts only: silence files, beeps and two-tone signals are not speech."""
    return not ("silence" in rel.parts or rel.name.startswith("beep") or rel.name.endswith("-2tone.wav"))


def _asterisk_speech(pkg: PackageInfo) -> list[Recording]:
    recs = []
    for f in sorted(pkg.location.rglob("*.wav")):
        rel = f.relative_to(pkg.location)
        if not _is_asterisk_speech(rel):
            continue
        rid = f"{pkg.speaker}/{rel.with_suffix('').as_posix()}"
        recs.append(Recording(pkg.name, rid, "speech", "speech", rid, f, None, pkg.speaker))
    return recs


def _music_files(pkg: PackageInfo, pattern: str, prefix: str) -> list[Recording]:
    recs = []
    for f in sorted(pkg.location.glob(pattern)):
        rid = f"{prefix}/{f.stem}"
        recs.append(Recording(pkg.name, rid, "music", "music", rid, f))
    return recs


_ORIGINAL = re.compile(r'"([^"]+)"\s+by\b')


def _opensfx_groups(entries) -> dict[int, str]:
    """Entries edited from the same original recording share a group (union of shared originals).

    e.g. "Wind" and "Heavy wind" are both cut from Anton's "wind1.wav": they must not land
    in different splits.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    originals = {}
    for e in entries:
        names = [n for n in _ORIGINAL.findall(e.description) if n != e.title]
        originals[e.index] = names or [f"#entry{e.index:02d}"]
        for n in originals[e.index][1:]:
            parent[find(n)] = find(originals[e.index][0])
    comp: dict[str, list[int]] = {}
    for idx, names in originals.items():
        comp.setdefault(find(names[0]), []).append(idx)
    return {idx: f"opensfx/{min(members):02d}" for members in comp.values() for idx in members}


def _opensfx(pkg: PackageInfo) -> list[Recording]:
    entries = _cat_entries(str(pkg.location))
    groups = _opensfx_groups(entries)
    return [Recording(pkg.name, f"opensfx/{e.index:02d}", "events", e.title, groups[e.index],
                      pkg.location, str(e.index), None, e.description) for e in entries]


_SUBLABEL_FOLDERS = ("footsteps", "misc")


def ufoai_label(member: str) -> str:
    """Folder path, plus the surface/material for footsteps and breakage ("footsteps/grass")."""
    parts = member.split("/")[1:]  # drop "sound/"
    folder, stem = "/".join(parts[:-1]), Path(parts[-1]).stem
    base = re.sub(r"[\d_]+$", "", stem) or stem
    return f"{folder}/{base}" if folder in _SUBLABEL_FOLDERS else folder


def _ufoai_group(member: str) -> str:
    """Numbered variants (fire03..fire06, grass1..grass4) are takes of one recording session."""
    parts = member.split("/")[1:]
    stem = Path(parts[-1]).stem
    base = re.sub(r"[\d_]+$", "", stem) or stem
    return "ufoai/" + "/".join(parts[:-1] + [base])


def _ufoai(pkg: PackageInfo) -> list[Recording]:
    import zipfile

    with zipfile.ZipFile(pkg.location) as zf:
        members = sorted(n for n in zf.namelist() if n.startswith("sound/") and n.endswith(".ogg"))
    return [Recording(pkg.name, "ufoai/" + m[len("sound/"):-len(".ogg")], "events", ufoai_label(m),
                      _ufoai_group(m), pkg.location, m) for m in members]


def _heroes(pkg: PackageInfo) -> list[Recording]:
    return [Recording(pkg.name, f"heroes/{f.stem}", "events", f.stem, f"heroes/{f.stem}", f)
            for f in sorted(pkg.location.glob("*.wav"))]


_READERS = {
    "asterisk-core-sounds-en-wav": _asterisk_speech,
    "asterisk-core-sounds-fr-wav": _asterisk_speech,
    "asterisk-core-sounds-it-wav": _asterisk_speech,
    "asterisk-moh-opsound-wav": lambda p: _music_files(p, "*.wav", "moh"),
    "drascula-music": lambda p: _music_files(p, "track*.ogg", "drascula"),
    "openttd-opensfx": _opensfx,
    "ufoai-sound": _ufoai,
    "heroes-sound-effects": _heroes,
}


def catalogue(packages: Iterable[str] | None = None) -> list[Recording]:
    """All recordings of the given packages (default: all), sorted by (package, id)."""
    names = sorted(set(packages)) if packages is not None else sorted(PACKAGES)
    _require_installed(names)
    recs = [r for name in names for r in _READERS[name](PACKAGES[name])]
    return sorted(recs, key=lambda r: (r.package, _natural_key(r.id)))


def _natural_key(s: str) -> list:
    """track2 before track10: ids sort as people expect."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


@functools.lru_cache(maxsize=2)
def _cat_entries(path: str):
    return read_opensfx_cat(path)


def recording_bytes(rec: Recording) -> bytes | None:
    """Encoded bytes of a container member; None for plain files."""
    if rec.member is None:
        return None
    if rec.package == "openttd-opensfx":
        index = int(rec.member)
        for e in _cat_entries(str(rec.path)):
            if e.index == index:
                return e.wav
        raise DatasetError(f"{rec.path}: no entry {index}")
    return read_pk3_member(rec.path, rec.member)


def recording_duration(rec: Recording) -> float:
    """Duration in seconds from the header (no decoding)."""
    data = recording_bytes(rec)
    try:
        info = sf.info(io.BytesIO(data)) if data is not None else sf.info(str(rec.path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(rec.source, f"cannot read audio header ({exc})") from exc
    return float(info.duration)


def read_recording(rec: Recording, sr: int) -> np.ndarray:
    """Mono float32 at ``sr`` (silent recordings raise AudioError, naming the source)."""
    data = recording_bytes(rec)
    path = rec.path if data is None else Path(rec.source)
    y, _ = load_audio(path, sr=sr, mono=True, data=data)
    return y
