"""Which Debian recordings make up each class of an event mini corpus (UrbanSound8K, TUT-SED).

A class is named by OpenSFX titles and/or a regular expression over catalogue ids; a rule that
finds nothing means the installed packages changed, which must stop the build rather than give
a class fewer (or other) sounds than its description says.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from common.errors import DatasetError
from data_prep.sources import Recording

EVENT_PACKAGES = ("openttd-opensfx", "ufoai-sound")


@dataclass(frozen=True)
class ClassRule:
    """Recordings of one class: OpenSFX titles and/or a regular expression over catalogue ids."""
    titles: tuple[str, ...] = ()
    id_pattern: str | None = None


def select_recordings(recs: Iterable[Recording], rules: dict[str, ClassRule],
                      what: str = "class") -> dict[str, list[Recording]]:
    """Recordings per class, in catalogue order; DatasetError naming the ``what`` (class or
    label) whose titles are not all found, or whose id pattern matches no UFO:AI recording."""
    recs = list(recs)
    out: dict[str, list[Recording]] = {}
    for label, rule in rules.items():
        chosen = [r for r in recs
                  if (r.package == "openttd-opensfx" and r.label in rule.titles)
                  or (rule.id_pattern and re.fullmatch(rule.id_pattern, r.id))]
        found_titles = {r.label for r in chosen if r.package == "openttd-opensfx"}
        lost = [t for t in rule.titles if t not in found_titles]
        if lost or not chosen or (rule.id_pattern and not any(r.package != "openttd-opensfx"
                                                              for r in chosen)):
            raise DatasetError(f"{what} {label!r}: recordings {lost or rule.id_pattern!r} not found "
                               f"in the installed packages {EVENT_PACKAGES}")
        out[label] = chosen
    return out


def merge_shot_edits(group: str) -> str:
    """One group for the edits of one UFO:AI shot: "bullet-rifle-3x" repeats "bullet-rifle",
    "bullet-pistol2" and "bullet-shotgunmini" are takes of "bullet-pistol" / "bullet-shotgun"."""
    return re.sub(r"^(ufoai/weapons/bullet-[a-z]+?)(2|mini)?(-\d+x)?$", r"\1", group)


def rule_table(rules: dict[str, ClassRule]) -> dict[str, dict]:
    """The rules as MINI.json records them (which titles and id pattern made each class)."""
    return {label: {"opensfx_titles": list(r.titles), "id_pattern": r.id_pattern}
            for label, r in rules.items()}


def rms(y: np.ndarray) -> float:
    """Root mean square in float64 (0 for no samples): the level a quiet cut is judged by."""
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def ordered(chosen: dict[str, Sequence[Recording]]) -> list[Recording]:
    """Every chosen recording, class by class in sorted class order (the NOTICE order)."""
    return [r for label in sorted(chosen) for r in chosen[label]]


# Catalogue-id patterns used by more than one corpus (one definition, so the corpora agree).
UFOAI_FOOTSTEPS = (r"ufoai/footsteps/(carpet|dirt|grass|gravel|linoleum|metal|sand"
                   r"|snow|splash|stone|tile|wood)\d*")
UFOAI_GUN_SHOTS = (r"ufoai/weapons/bullet-(pistol2?|rifle(-\d+x)?|shotgun(-3x|mini)?"
                   r"|smg(-\d+x)?|sniper|hmg-\d+x|chaingun-\d+x)")
UFOAI_THUNDER = r"ufoai/ambience/thunder\d"
