"""Metrics shared by every reproduction, behind one result type.

Every metric function returns a :class:`MetricResult`:

- ``values``: flat ``name -> float`` (``"accuracy"``, ``"recall/speech"``, ``"f1_macro"``,
  ``"segment_f1"`` ...). NaN means "undefined" (e.g. recall of a class absent from y_true).
- ``params``: everything that defines the numbers (threshold, averaging, segment length,
  label order, library and version), so a number in a report can be traced to its definition.
- ``arrays``: optional tables (confusion matrices) as nested lists.
- ``counts``: optional integer tallies behind the numbers (TP/FP/FN, supports, sample counts).

``to_dict()`` gives a strict-JSON-ready dict for metrics.json (NaN becomes ``None``);
``from_dict()`` reads it back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from common.fileio import to_jsonable


def _nan_to_none(obj: Any) -> Any:
    """NaN/inf are not valid JSON; write them as null so any JSON reader accepts metrics.json."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return obj


def _none_to_nan(obj: Any) -> Any:
    if obj is None:
        return math.nan
    if isinstance(obj, list):
        return [_none_to_nan(v) for v in obj]
    return obj


@dataclass(frozen=True)
class MetricResult:
    values: dict[str, float]
    params: dict[str, Any]
    arrays: dict[str, list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Normalise numpy scalars to plain Python numbers once, so equality, JSON and
        # printing behave the same whatever produced the numbers.
        object.__setattr__(self, "values", {str(k): float(v) for k, v in self.values.items()})
        object.__setattr__(self, "counts", {str(k): int(v) for k, v in self.counts.items()})
        object.__setattr__(self, "params", to_jsonable(dict(self.params)))
        object.__setattr__(self, "arrays", to_jsonable(dict(self.arrays)))

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": _nan_to_none(dict(self.values)),
            "params": _nan_to_none(to_jsonable(self.params)),
            "arrays": _nan_to_none(to_jsonable(self.arrays)),
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MetricResult":
        """Inverse of :meth:`to_dict` (null values and array cells come back as NaN)."""
        values = {k: math.nan if v is None else float(v) for k, v in data["values"].items()}
        arrays = {k: _none_to_nan(v) for k, v in data.get("arrays", {}).items()}
        return cls(values=values, params=data.get("params", {}), arrays=arrays,
                   counts=data.get("counts", {}))


# The submodules import MetricResult from this package, so they are imported only after it
# is defined.
from common.metrics.classification import (  # noqa: E402
    binary_subset_metrics,
    classification_metrics,
    speech_nonspeech_accuracy,
)
from common.metrics.sed import (  # noqa: E402
    frame_f1_er,
    frames_to_events,
    per_class_f1,
    segment_based_metrics,
)

__all__ = [
    "MetricResult",
    "binary_subset_metrics",
    "classification_metrics",
    "frame_f1_er",
    "frames_to_events",
    "per_class_f1",
    "segment_based_metrics",
    "speech_nonspeech_accuracy",
]
