"""NOTICE file for a corpus built from Debian recordings: who made them, under which licence."""
from __future__ import annotations

import fnmatch
import subprocess
from collections.abc import Iterable
from pathlib import Path

from common.fileio import atomic_write_text
from data_prep.sources import PACKAGES, Recording

DOC_ROOT = Path("/usr/share/doc")


def package_version(name: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def copyright_stanzas(path: Path) -> list[dict[str, str]]:
    """Machine-readable Debian copyright (DEP-5) as a list of {field: value} stanzas."""
    if not path.is_file():
        return []
    stanzas, cur, key = [], {}, None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            cur[key] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


def file_licence(stanzas: list[dict[str, str]], installed_path: str) -> tuple[str, str]:
    """(copyright, licence) of the last ``Files:`` stanza matching the path, as DEP-5 says."""
    found = ("", "")
    for st in stanzas:
        if "Files" not in st:
            continue
        patterns = st["Files"].split()
        if any(fnmatch.fnmatch(installed_path, p) or installed_path.endswith("/" + p)
               for p in patterns):
            found = (" ".join(st.get("Copyright", "").split()),
                     st.get("License", "").split("\n")[0])
    return found


def _member_path(rec: Recording) -> str:
    # The copyright file names pk3 members relative to the game's data folder (base/...).
    return f"base/{rec.member}" if rec.package == "ufoai-sound" else rec.path.name


def write_notice(dest_root: Path, packages: Iterable[str],
                 recordings: Iterable[Recording] | None = None) -> Path:
    """Write ``dest_root/NOTICE``: per package its authors and licence, per recording its credit."""
    dest_root = Path(dest_root)
    names = sorted(set(packages))
    by_pkg: dict[str, list[Recording]] = {}
    for r in recordings or []:
        by_pkg.setdefault(r.package, []).append(r)
    out = ["NOTICE",
           "",
           "This corpus is derived from real recordings distributed by Debian packages. The audio",
           "was cut, joined, resampled, band-limited and level-normalised; the original works and",
           "their licences are listed below. Redistribution must keep this notice and follow each",
           "licence (attribution; share-alike where the licence says so).",
           ""]
    for name in names:
        info = PACKAGES[name]
        copyright_file = DOC_ROOT / name / "copyright"
        out += [f"== {name} (version {package_version(name)})",
                f"   {info.description}",
                f"   authors:  {info.authors}",
                f"   licence:  {info.licence}",
                f"   installed at {info.location}; full terms in {copyright_file}"]
        stanzas = copyright_stanzas(copyright_file)
        recs = by_pkg.get(name, [])
        if recs:
            out.append(f"   recordings used: {len(recs)}")
        for r in recs:
            if r.credit:
                out.append(f"     {r.id}: {r.credit}")
            elif r.package == "ufoai-sound":
                holder, lic = file_licence(stanzas, _member_path(r))
                out.append(f"     {r.id}: {lic or info.licence}" + (f" ({holder})" if holder else ""))
        out.append("")
    return atomic_write_text(dest_root / "NOTICE", "\n".join(out))
