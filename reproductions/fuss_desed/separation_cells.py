"""Registry tables of the separation half filled from a finished run's metrics
(``metrics["separation"]``): one pure function per table. Interface used by :mod:`.cells`:
TABLES, EXPLANATIONS, HEADLINE, NOT_MEASURED."""
from __future__ import annotations

TABLES: dict = {}
EXPLANATIONS: dict = {}
HEADLINE: list[tuple[str, str, str]] = []
NOT_MEASURED: dict[str, str] = {}
