"""Numbers of the sed half that need no data (settings, parameter counts). Interface used by
:mod:`.analytic`: TABLES, measurements(), explanations()."""
from __future__ import annotations

from common.results import Measurement

TABLES: dict = {}


def measurements() -> list[Measurement]:
    return [m for fns in TABLES.values() for fn in fns for m in fn()]


def explanations() -> dict:
    return {}
