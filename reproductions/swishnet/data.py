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
from common.audio_io import load_audio
from common.features import PsfMfccConfig, psf_mfcc
from common.fileio import atomic_write_text, stable_hash
from common.paths import cache_dir
from reproductions.swishnet import preprocessing as pp
from reproductions.swishnet.config import LABELS, FeatureConfig


def mfcc_config(cfg: FeatureConfig) -> PsfMfccConfig:
    return PsfMfccConfig(samplerate=cfg.samplerate, winlen=cfg.winlen, winstep=cfg.winstep,
                         numcep=cfg.numcep, nfilt=cfg.nfilt, nfft=cfg.nfft)


def clip_key(seconds: float) -> str:
    return f"clips_{seconds:g}s"


def file_features(path: str, cfg: FeatureConfig, clip_seconds: tuple[float, ...],
                  silence_hop: int, denoise: bool) -> dict[str, np.ndarray]:
    """All clips of one file as MFCC arrays, one array per clip length (may hold 0 clips)."""
    if denoise:
        # the report denoised the GTZAN wav files in place (at 22,050 Hz) before loading at 16 kHz
        y, sr = load_audio(path)
        y = pp.denoise_logmmse(y, sr)
        y, _ = load_audio(path, sr=cfg.samplerate, data=_wav_bytes(y, sr))
    else:
        y, _ = load_audio(path, sr=cfg.samplerate)
    sr = cfg.samplerate
    y = pp.remove_silence(y, sr, top_db=cfg.top_db, frame_length=cfg.silence_frame,
                          hop_length=silence_hop, mode=cfg.silence_mode)
    y = pp.equalise_loudness(y, sr, block_seconds=cfg.loudness_block_seconds)
    mcfg = mfcc_config(cfg)
    out = {}
    for seconds in clip_seconds:
        clips = pp.segment(y, sr, seconds, overlap=cfg.clip_overlap)
        frames = _frames(seconds, mcfg)
        feats = np.zeros((len(clips), frames, cfg.numcep), np.float32)
        for i, clip in enumerate(clips):
            feats[i] = psf_mfcc(clip, mcfg)
        out[clip_key(seconds)] = feats
    return out


def _frames(seconds: float, mcfg: PsfMfccConfig) -> int:
    from common.features import psf_num_frames
    return psf_num_frames(int(round(seconds * mcfg.samplerate)), mcfg)


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    import io

    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="FLOAT")
    return buf.getvalue()


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
    """Features of every manifest file for every clip length, plus the skipped files."""
    rel = list(manifest["path"])
    items = [str(Path(root) / p) for p in rel]
    hop = silence_hop or cfg.silence_hop
    fn = functools.partial(file_features, cfg=cfg, clip_seconds=tuple(clip_seconds),
                           silence_hop=hop, denoise=denoise)
    key_cfg = {"features": asdict(cfg), "clips": list(clip_seconds), "hop": hop,
               "denoise": denoise, "pipeline": "swishnet-v1"}
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
