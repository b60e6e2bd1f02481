"""From the validated TAU22 manifest (``data_prep.tau22``) to model inputs, cached.

Every listed segment's log-mel patch is computed once (worker processes, HDF5 cache keyed by
the whole :class:`FeatureConfig`, :func:`common.feature_cache.map_cached`); corrupt files are
skipped and listed. :class:`SceneSet` keeps each segment's scene index (alphabetical scene
order, the challenge's probability columns), device, recording location and fold-1 split.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common import feature_cache
from common.fileio import stable_hash
from common.paths import cache_dir
from reproductions.bcres2net_asc.config import FeatureConfig
from reproductions.bcres2net_asc.features import segment_logmel


@dataclass
class SceneSet:
    """Every usable segment: features (n, n_mels, n_frames), labels and where it came from."""

    x: np.ndarray
    y: np.ndarray             # scene index into ``scenes``
    device: np.ndarray        # "a", "b", ... (str)
    location: np.ndarray      # recording location identifier (<city>-<location>)
    split: np.ndarray         # "train", "test" or "" (fold 1)
    filename: list[str]       # "audio/<...>.wav" as in meta.csv
    scenes: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: np.ndarray) -> "SceneSet":
        return SceneSet(self.x[index], self.y[index], self.device[index], self.location[index],
                        self.split[index], [self.filename[i] for i in index], self.scenes)


def extract(manifest: pd.DataFrame, cfg: FeatureConfig, *, workers: int | None = None
            ) -> tuple[SceneSet, list[tuple[str, str]]]:
    """Features of every manifest row (``path`` is absolute, ``filename`` relative), plus the
    files skipped as unreadable."""
    paths = list(manifest["path"])
    names = dict(zip(paths, manifest["filename"]))
    key_cfg = {"features": asdict(cfg), "pipeline": "bcres2net-asc-v1"}
    root_key = str(Path(paths[0]).parent.parent) if paths else ""
    cache = cache_dir() / "bcres2net_asc" / f"tau22-{stable_hash([root_key, key_cfg], 10)}.h5"
    fn = functools.partial(segment_logmel, cfg=cfg)
    path = feature_cache.map_cached(paths, fn, cache, key_cfg, workers=workers,
                                    desc="TAU22 log-mel", names=names.__getitem__)
    skipped = feature_cache.read_skipped(path)
    feats = {name: arrays["logmel"] for name, arrays in feature_cache.load_groups(path)}
    rows = manifest[manifest["filename"].isin(feats)].reset_index(drop=True)
    scenes = sorted(manifest["scene_label"].unique())
    index = {s: i for i, s in enumerate(scenes)}
    x = np.stack([feats[f] for f in rows["filename"]]) if len(rows) else \
        np.zeros((0, cfg.n_mels, cfg.n_frames), np.float32)
    return SceneSet(x.astype(np.float32), rows["scene_label"].map(index).to_numpy(np.int32),
                    rows["device"].to_numpy(str), rows["identifier"].to_numpy(str),
                    rows["split"].to_numpy(str), list(rows["filename"]), scenes), skipped


def standardiser(x_train: np.ndarray) -> tuple[float, float]:
    """One mean and standard deviation over every bin of the training patches: the input is
    standardised so that SpecAugment's zero masks are the mean (the report does not say how it
    normalised; a global scalar keeps the relative levels of mel bins and devices)."""
    return float(x_train.mean()), float(x_train.std() + 1e-8)


def model_input(x: np.ndarray, stats: tuple[float, float]) -> np.ndarray:
    """(n, F, T) → standardised (n, F, T, 1) float32."""
    mean, std = stats
    return ((x - mean) / std)[..., None].astype(np.float32)
