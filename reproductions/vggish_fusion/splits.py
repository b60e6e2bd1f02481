"""How SONYC-UST is divided (spec §2.4): the official ``train`` split trains, the official
``validate`` split selects checkpoints *and* gives the reported numbers (the report has no
held-out test: spec §1.5 item 7, stated in the report's deviations). Sensors do not cross the
official split (35 train sensors, 8 validate sensors); :func:`shared_sensors` checks it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from common.errors import DatasetError


def official(split: np.ndarray) -> dict[str, np.ndarray]:
    """Indices of the official train and validate files."""
    split = np.asarray(split).astype(str)
    out = {name: np.flatnonzero(split == name) for name in ("train", "validate")}
    for name, idx in out.items():
        if len(idx) == 0:
            raise DatasetError(f"SONYC-UST: no usable {name!r} files (annotations.csv split "
                               "column)")
    return out


def shared_sensors(manifest: pd.DataFrame) -> list[int]:
    """Sensor ids with files on both sides of the official split (none in SONYC-UST v1)."""
    sides = manifest.groupby("sensor_id")["split"].nunique()
    return sorted(int(s) for s in sides[sides > 1].index)
