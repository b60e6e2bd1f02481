"""Registry tables of the sed half filled from a finished run's metrics
(``metrics["sed"]``): one pure function per table. Interface used by :mod:`.cells`:
TABLES, EXPLANATIONS, HEADLINE, NOT_MEASURED."""
from __future__ import annotations

TABLES: dict = {}
EXPLANATIONS: dict = {}
HEADLINE: list[tuple[str, str, str]] = []
NOT_MEASURED: dict[str, str] = {}
