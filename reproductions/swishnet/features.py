"""Named SwishNet feature settings (spec §2.2), as FeatureConfig overrides.

The YAML's ``features:`` block (:class:`reproductions.swishnet.config.FeatureConfig`) defaults
to the report's code; these dicts name the other readings. Each is a set of ``features.*``
values, so ``repro run swishnet --set features.winstep=0.010`` selects "paper" from the
command line; :func:`preset` builds the FeatureConfig in code (tests, notebooks).

GTZAN is not a separate preset: the report's ``Q4/gtzan_preprocessing.ipynb`` used the same
settings plus Log-MMSE denoising (``finetune.denoise``) and a silence hop of 240 samples
(``features.gtzan_silence_hop``); :func:`reproductions.swishnet.data.extract` takes both as
arguments.
"""
from __future__ import annotations

import dataclasses

from common.errors import ConfigError
from reproductions.swishnet.config import FeatureConfig

PRESET_OVERRIDES: dict[str, dict] = {
    # the report's code, Q2/preprocessing.ipynb: the FeatureConfig defaults
    "seed_code": {},
    # the report's text: absolute 40 dB threshold on 250 ms windows (4000 samples at 16 kHz);
    # "15 ms overlap" of 25 ms frames -> 10 ms hop
    "seed_text": {"silence_mode": "absolute", "silence_frame": 4000, "silence_hop": 4000,
                  "winstep": 0.010},
    # the paper: 25 ms frames with 15 ms overlap -> 10 ms hop (silence method not specified)
    "paper": {"winstep": 0.010},
}


def preset(name: str) -> FeatureConfig:
    """FeatureConfig of a named reading (see :data:`PRESET_OVERRIDES`)."""
    if name not in PRESET_OVERRIDES:
        raise ConfigError(f"SwishNet feature preset {name!r} unknown; choose one of "
                          f"{sorted(PRESET_OVERRIDES)}")
    return dataclasses.replace(FeatureConfig(), **PRESET_OVERRIDES[name])
