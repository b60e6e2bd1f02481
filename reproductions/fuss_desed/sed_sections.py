"""REPORT.md prose of the sed half. Interface used by :mod:`.sections`:
report_sections(rows, run), deviations(), complexity_models()."""
from __future__ import annotations

from common.markdown import Section


def report_sections(rows, run: dict | None) -> list[Section]:
    """This half's sections; ``run`` is the finished run used (None before any)."""
    return []


def deviations() -> list[str]:
    return []


def complexity_models() -> dict:
    """{name: common.complexity.ModelVariant} for every network of this half."""
    return {}
