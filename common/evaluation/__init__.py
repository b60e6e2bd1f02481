"""``repro evaluate``: score a user's own predictions with the exact metric of a report.

One task per official metric. A task module (``common/evaluation/<task>.py``) exposes ``TASK``,
an :class:`EvaluationTask`: its command-line arguments, a pure ``evaluate(**arguments) -> dict``
whose keys are a stable, documented JSON contract, and a ``describe(result) -> str`` for the
human-readable output. Tasks read the official submission formats and raise
:class:`common.errors.PredictionFileError` naming the file, line and column of bad input.

The CLI (``reproductions/cli.py``) only lists :data:`TASKS`; it knows no metric. The README's
`repro evaluate` section documents every task's arguments and JSON keys.

For task authors: :mod:`common.evaluation.formats` holds the shared readers (``read_lines``,
``parse_float``, ``parse_time``, ``parse_probability``, ``check_label``, ``split_fields``,
``file_key``, ``read_event_list``, ``read_annotation_folder``, ``read_scene_labels``,
``match_predictions``, ``parse_label_list``); each raises
``PredictionFileError(path, reason, line, column)``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import ConfigError

# task name (as typed after `repro evaluate`) -> module holding TASK
TASKS: dict[str, str] = {
    "tut-sed-2016": "common.evaluation.tut_sed_2016",
    "scene-classification": "common.evaluation.scene_classification",
    "sonyc-ust": "common.evaluation.sonyc_ust",
    "tau22": "common.evaluation.tau22",
    "fuss": "common.evaluation.fuss",
    "desed": "common.evaluation.desed",
}


@dataclass(frozen=True)
class Argument:
    """One command-line argument of a task. ``flag`` is e.g. ``"--ground-truth"``; the keyword
    passed to ``evaluate`` is the flag without dashes, dashes turned to underscores."""
    flag: str
    help: str
    required: bool = True
    default: object = None

    @property
    def keyword(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class EvaluationTask:
    name: str
    help: str                                # one line: metric and official tool it follows
    arguments: tuple[Argument, ...]
    evaluate: Callable[..., dict]            # keyword arguments named by Argument.keyword
    describe: Callable[[dict], str]          # the result as text for a terminal


def get(name: str) -> EvaluationTask:
    try:
        module = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown evaluation task {name!r}; known: {sorted(TASKS)}") from None
    return importlib.import_module(module).TASK


def names() -> list[str]:
    return sorted(TASKS)
