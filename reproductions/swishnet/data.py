"""From a dataset root (MUSAN or GTZAN layout) to per-clip-length feature arrays.

Per file (in parallel worker processes, cached in HDF5 by :func:`common.feature_cache.map_cached`):
load → (GTZAN: Log-MMSE denoising at the file's own rate) → resample to 16 kHz → silence removal →
loudness equalisation → 50 %-overlap clips of every length → python_speech_features MFCC.
Then one HDF5 file per clip length holds every clip's MFCC, label and name
(``{clipIndex}-{wavBasename}`` as the report's code named them) plus the ordered file list.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from common import feature_cache
from common.fileio import atomic_write_text, stable_hash
from common.paths import cache_dir
from reproductions.swishnet import preprocessing as pp
from reproductions.swishnet.config import LABELS, FeatureConfig


def clip_key(seconds: float) -> str:
    return f"clips_{seconds:g}s"


def file_features(path: str, cfg: FeatureConfig, clip_seconds: tuple[float, ...],
                  silence_hop: int, denoise: bool) -> dict[str, np.ndarray]:
    """All clips of one file as MFCC arrays, one array per clip length (may hold 0 clips).
    The file is cleaned once; only segmentation and MFCC run per clip length."""
    y = pp.clean_waveform(path, cfg, silence_hop=silence_hop, denoise=denoise)
    return {clip_key(s): pp.clip_mfccs(y, cfg, s) for s in clip_seconds}


@dataclass
class ClipSet:
    """Every clip of one clip length: features, labels, and where each clip came from."""
    x: np.ndarray            # (n, frames, 20) float32
    y: np.ndarray            # (n,) int labels (noise 0, music 1, speech 2)
    file_index: np.ndarray   # (n,) index into ``files``
    names: list[str]         # "{clipIndex}-{wavBasename}"
    files: list[str]         # ordered file list (paths relative to the root)
    groups: list[str]        # per file: the unit a file-level split keeps together

    def __len__(self) -> int:
        return len(self.y)


def extract(manifest: pd.DataFrame, root: Path, cfg: FeatureConfig,
            clip_seconds: tuple[float, ...], dataset: str, *, denoise: bool = False,
            silence_hop: int | None = None, workers: int | None = None
            ) -> tuple[dict[float, ClipSet], list[tuple[str, str]]]:
    """Features of every manifest file for every clip length, plus the skipped files.

    ``silence_hop`` replaces ``cfg.silence_hop`` (GTZAN passes ``cfg.gtzan_silence_hop``);
    ``denoise`` runs Log-MMSE first (GTZAN). The cache key holds the whole FeatureConfig and
    these arguments, so any change of a setting extracts afresh.
    """
    rel = list(manifest["path"])
    items = [str(Path(root) / p) for p in rel]
    silence_hop = cfg.silence_hop if silence_hop is None else silence_hop
    clip_seconds = tuple(clip_seconds)
    fn = functools.partial(file_features, cfg=cfg, clip_seconds=clip_seconds,
                           silence_hop=silence_hop, denoise=denoise)
    key_cfg = {"features": asdict(cfg), "clip_seconds": list(clip_seconds),
               "silence_hop": silence_hop, "denoise": denoise, "pipeline": "swishnet-v3"}
    cache = cache_dir() / "swishnet" / f"{dataset}-{stable_hash([str(root), key_cfg], 10)}.h5"
    names = dict(zip(items, rel))
    path = feature_cache.map_cached(items, fn, cache, key_cfg, workers=workers,
                                    desc=f"{dataset} features", names=names.__getitem__)
    skipped = feature_cache.read_skipped(path)
    labels = dict(zip(rel, manifest["label"].astype(int)))
    groups = dict(zip(rel, manifest["group"] if "group" in manifest else rel))
    per_len = {s: ([], [], [], []) for s in clip_seconds}
    files: list[str] = []
    for name, arrays in feature_cache.load_groups(path):
        fi = len(files)
        files.append(name)
        base = Path(name).stem
        for s in clip_seconds:
            feats = arrays[clip_key(s)]
            xs, ys, fis, ns = per_len[s]
            xs.append(feats)
            ys.append(np.full(len(feats), labels[name], np.int32))
            fis.append(np.full(len(feats), fi, np.int32))
            ns += [f"{i}-{base}" for i in range(len(feats))]
    out = {}
    for s, (xs, ys, fis, ns) in per_len.items():
        out[s] = ClipSet(np.concatenate(xs) if xs else np.zeros((0, 1, cfg.numcep), np.float32),
                         np.concatenate(ys) if ys else np.zeros(0, np.int32),
                         np.concatenate(fis) if fis else np.zeros(0, np.int32), ns, files,
                         [groups[f] for f in files])
        derived = path.with_suffix("") / f"{dataset}_data_derived_{s:g}s.h5"
        if not derived.is_file():
            write_clip_h5(out[s], derived)
    return out, skipped


def write_clip_h5(clips: ClipSet, path: Path) -> Path:
    """The report's derived-data layout: one HDF5 per clip length (mfcc, label, clip name) and
    the ordered file list beside it (``f_list_<len>s.txt``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("mfcc", data=clips.x, compression="gzip", compression_opts=1)
        f.create_dataset("label", data=clips.y)
        f.create_dataset("file_index", data=clips.file_index)
        f.create_dataset("clip_name", data=np.array(clips.names, dtype=object),
                         dtype=h5py.string_dtype())
        f.attrs["label_map"] = str(LABELS)
    tmp.replace(path)
    atomic_write_text(path.with_name(path.stem + "_files.txt"), "\n".join(clips.files) + "\n")
    return path
