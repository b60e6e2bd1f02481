"""From a validated SONYC-UST root to the fusion model's inputs, cached.

1. :func:`extract` — per file, in worker processes, cached in HDF5 by
   :func:`common.feature_cache.map_cached`: the log-mel (128 × 862) and the VGGish input patches
   (10 × 96 × 64) (:mod:`reproductions.vggish_fusion.features`).
2. :func:`vggish_embeddings` — the frozen VGGish on every patch, batched, with a progress bar;
   the raw 128-d outputs are cached (``.npz``) under a key naming the patches *and* the weights
   (the official checkpoint's path, size and mtime, or the seed of the stand-in random weights).
3. :func:`postprocessed` — the official post-processing (PCA, clip to ±2, 8-bit quantisation,
   stored as float32 as the report's code did) with the official PCA parameters when
   ``$VGGISH_PCA`` is given, else a PCA fitted on the **training** split.
4. :func:`dataset` — aligned arrays with the labels (``data_prep.sonyc_ust.file_labels``).
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common import feature_cache
from common.fileio import stable_hash
from common.paths import cache_dir
from reproductions.vggish_fusion import features as F
from reproductions.vggish_fusion.config import EmbeddingConfig, FeatureConfig


@dataclass
class ClipFeatures:
    """Per usable file (manifest order, skipped files left out): its path relative to the root,
    the log-mel and the VGGish input patches."""
    paths: list[str]
    logmel: np.ndarray          # (n, 128, 862) float32
    vggish_input: np.ndarray    # (n, 10, 96, 64) float32
    skipped: list[tuple[str, str]]
    cache: Path


def extract(manifest: pd.DataFrame, root: Path, cfg: FeatureConfig,
            workers: int | None = None) -> ClipFeatures:
    """Both inputs of every manifest file (parallel, progress bar, HDF5 cache keyed on the files
    and the whole FeatureConfig)."""
    rel = list(manifest["path"])
    items = [str(Path(root) / p) for p in rel]
    fn = functools.partial(F.clip_features, cfg=cfg)
    key_cfg = {"features": asdict(cfg), "pipeline": "vggish-fusion-v1"}
    cache = cache_dir() / "vggish_fusion" / f"features-{stable_hash([str(root), key_cfg], 10)}.h5"
    names = dict(zip(items, rel))
    path = feature_cache.map_cached(items, fn, cache, key_cfg, workers=workers,
                                    desc="SONYC-UST log-mel + VGGish input",
                                    names=names.__getitem__)
    paths, mels, patches = [], [], []
    for name, arrays in feature_cache.load_groups(path):
        paths.append(name)
        mels.append(arrays["logmel"])
        patches.append(arrays["vggish_input"])
    shape_m = (0, cfg.logmel.n_mels, cfg.logmel.frames)
    shape_v = (0, cfg.vggish.examples, cfg.vggish.example_frames, cfg.vggish.n_mels)
    return ClipFeatures(paths, np.stack(mels) if mels else np.zeros(shape_m, np.float32),
                        np.stack(patches) if patches else np.zeros(shape_v, np.float32),
                        feature_cache.read_skipped(path), path)


@dataclass(frozen=True)
class VGGishWeights:
    """Which VGGish ran: the official checkpoint (``source`` its path) or seeded random weights."""
    official: bool
    source: str
    identity: dict


def weights_identity(ecfg: EmbeddingConfig) -> VGGishWeights:
    from reproductions.vggish_fusion import vggish_weights as W

    ckpt = W.checkpoint_path()
    if ckpt is None:
        return VGGishWeights(False, f"random (seed {ecfg.random_seed})",
                             {"random_seed": ecfg.random_seed})
    files = sorted(ckpt.parent.glob(ckpt.name + "*"))
    return VGGishWeights(True, str(ckpt), {"checkpoint": [(str(f), f.stat().st_size,
                                                           f.stat().st_mtime_ns) for f in files]})


def build_vggish(ecfg: EmbeddingConfig, weights: VGGishWeights):
    """The frozen VGGish, with the official weights or seeded random ones."""
    import keras

    from reproductions.vggish_fusion import vggish_weights as W
    from reproductions.vggish_fusion.models import vggish

    if weights.official:
        return W.vggish_from_checkpoint(weights.source, embedding_relu=ecfg.embedding_relu)
    keras.utils.set_random_seed(ecfg.random_seed)
    return vggish(embedding_relu=ecfg.embedding_relu)


def vggish_embeddings(clips: ClipFeatures, ecfg: EmbeddingConfig
                      ) -> tuple[np.ndarray, VGGishWeights, dict]:
    """Raw (n, 10, 128) VGGish outputs of every clip, cached; plus which weights ran and the
    throughput (clips per second, batched) when they were computed now."""
    from tqdm.auto import tqdm

    weights = weights_identity(ecfg)
    key = stable_hash({"features": str(clips.cache), "key": feature_cache.read_key(clips.cache),
                       "weights": weights.identity, "relu": ecfg.embedding_relu,
                       "version": 2}, 12)
    path = clips.cache.parent / f"vggish-embeddings-{key}.npz"
    if path.is_file():
        # the throughput measured when the cache was written travels with it
        with np.load(path) as z:
            return z["embeddings"], weights, {**json.loads(str(z["timing"])), "cached": True}
    model = build_vggish(ecfg, weights)
    n, k = clips.vggish_input.shape[:2]
    flat = clips.vggish_input.reshape((n * k,) + clips.vggish_input.shape[2:])
    out = np.zeros((n * k, 128), dtype=np.float32)
    t0 = time.perf_counter()
    with tqdm(total=len(flat), desc="VGGish embeddings", unit="example", leave=False) as bar:
        for start in range(0, len(flat), ecfg.batch_size):
            batch = flat[start:start + ecfg.batch_size]
            out[start:start + len(batch)] = np.asarray(model(batch, training=False))
            bar.update(len(batch))
    seconds = time.perf_counter() - t0
    emb = out.reshape(n, k, 128)
    timing = {"seconds": seconds, "clips": n,
              "clips_per_second": n / seconds if seconds > 0 else None,
              "batch_size": ecfg.batch_size}
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, embeddings=emb, timing=np.array(json.dumps(timing)))
    tmp.replace(path)
    return emb, weights, {**timing, "cached": False}


def postprocessed(raw: np.ndarray, train_mask: np.ndarray, ecfg: EmbeddingConfig
                  ) -> tuple[np.ndarray, bool]:
    """Official post-processing of (n, 10, 128) embeddings → float32 (0..255 when quantised).
    Returns the array and whether the PCA parameters were the official ones."""
    from reproductions.vggish_fusion import vggish_weights as W

    if W.pca_path() is not None:
        params = W.load_pca_params()
    else:
        params = W.fit_pca_params(raw[train_mask].reshape(-1, raw.shape[-1]))
    flat = W.postprocess(raw.reshape(-1, raw.shape[-1]), params, quantize=ecfg.quantize)
    return flat.reshape(raw.shape).astype(np.float32), params.official


@dataclass
class FusionData:
    """Aligned model inputs and labels of every usable file."""
    names: list[str]            # audio_filename
    paths: list[str]
    split: np.ndarray           # "train" / "validate"
    logmel: np.ndarray          # (n, 128, 862, 1)
    embeddings: np.ndarray      # (n, 10, 128) post-processed
    raw_embeddings: np.ndarray  # (n, 10, 128) before post-processing (the baseline's input too)
    labels: np.ndarray          # (n, 37) in LABEL_ORDER (8 coarse, 29 fine)
    baseline_labels: np.ndarray  # (n, 37) with the official baseline's label rule

    def mask(self, split: str) -> np.ndarray:
        return self.split == split


def dataset(clips: ClipFeatures, file_labels: pd.DataFrame, baseline_labels: pd.DataFrame,
            embeddings: np.ndarray, raw: np.ndarray) -> FusionData:
    """Join features and labels on the file path (both ``data_prep`` manifests' order)."""
    from data_prep.sonyc_ust import LABEL_ORDER

    lab = file_labels.set_index("path")
    base = baseline_labels.set_index("path")
    missing = [p for p in clips.paths if p not in lab.index]
    if missing:
        raise KeyError(f"features for files without labels: {missing[:5]}")
    return FusionData(
        names=[Path(p).name for p in clips.paths], paths=list(clips.paths),
        split=lab.loc[clips.paths, "split"].to_numpy().astype(str),
        logmel=clips.logmel[..., None], embeddings=embeddings, raw_embeddings=raw,
        labels=lab.loc[clips.paths, list(LABEL_ORDER)].to_numpy().astype(np.float32),
        baseline_labels=base.loc[clips.paths, list(LABEL_ORDER)].to_numpy().astype(np.float32))
