"""Log-mel features and the seeded training augmentations of report 003 (seed §2.2, spec §2).

Extraction: a 1 s segment at 44.1 kHz → soxr resampling to 16 kHz → librosa log-mel
(256 bins, Hann 2,048, hop 512, centred) → (256, 32) float32, frequency first as the model
takes it. Augmentation works on batches of such patches with a ``numpy.random.Generator`` the
caller seeds per (stage, epoch, batch), so a training run sees the same augmented batches
every time it runs:

* circular roll along time by a whole number of frames in ±``roll_seconds``;
* SpecAugment: ``freq_masks`` masks of width U{0..freq_mask_param} bins and ``time_masks``
  masks of width U{0..time_mask_param} frames, each mask applied with probability p, masked
  values set to 0 (the mean of a standardised input);
* mixup of features and one-hot targets with λ ~ Beta(α, α) and a random pairing.
"""
from __future__ import annotations

import numpy as np

from common.audio_io import load_audio
from common.features import librosa_logmel, pad_or_trim
from reproductions.bcres2net_asc.config import AugmentConfig, FeatureConfig


def segment_logmel(path: str, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """One segment's log-mel patch (n_mels, n_frames) under the key ``logmel``."""
    y, _ = load_audio(path, sr=cfg.samplerate, allow_silent=True)
    # a 1 s file gives exactly 16,000 samples after resampling; pad/cut guards off-by-one rates
    y = pad_or_trim(y, cfg.samplerate)
    mel = librosa_logmel(y, cfg.logmel())          # (frames, n_mels)
    mel = pad_or_trim(mel, cfg.n_frames, axis=0)
    return {"logmel": np.ascontiguousarray(mel.T, dtype=np.float32)}


def roll_frames(cfg: AugmentConfig, features: FeatureConfig) -> int:
    """The largest roll in frames: ±0.5 s at hop 512 / 16 kHz = ±15 frames."""
    return int(round(cfg.roll_seconds * features.samplerate / features.hop_length))


def time_roll(x: np.ndarray, max_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Each item of ``x`` (batch, freq, time) rolled circularly along time by U{−m..m} frames."""
    if max_frames <= 0:
        return x.copy()
    shifts = rng.integers(-max_frames, max_frames + 1, size=len(x))
    return np.stack([np.roll(item, int(s), axis=1) for item, s in zip(x, shifts)])


def _mask(x: np.ndarray, axis: int, count: int, width_max: int, p: float,
          rng: np.random.Generator) -> None:
    size = x.shape[axis + 1]
    for i in range(len(x)):
        for _ in range(count):
            if rng.random() >= p:
                continue
            width = int(rng.integers(0, min(width_max, size) + 1))
            if width == 0:
                continue
            start = int(rng.integers(0, size - width + 1))
            if axis == 0:
                x[i, start:start + width, :] = 0.0
            else:
                x[i, :, start:start + width] = 0.0


def spec_augment(x: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """SpecAugment frequency and time masks on (batch, freq, time); returns a new array."""
    out = x.copy()
    _mask(out, 0, cfg.freq_masks, cfg.freq_mask_param, cfg.mask_probability, rng)
    _mask(out, 1, cfg.time_masks, cfg.time_mask_param, cfg.mask_probability, rng)
    return out


def mixup(x: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mixed x, mixed targets, λ per item, partner index); α = 0 returns the inputs."""
    n = len(x)
    if alpha <= 0 or n < 2:
        return x, y, np.ones(n, np.float32), np.arange(n)
    lam = rng.beta(alpha, alpha, size=n).astype(np.float32)
    perm = rng.permutation(n)
    lx = lam.reshape((n,) + (1,) * (x.ndim - 1))
    ly = lam.reshape((n,) + (1,) * (y.ndim - 1))
    return (lx * x + (1 - lx) * x[perm]).astype(np.float32), \
        (ly * y + (1 - ly) * y[perm]).astype(np.float32), lam, perm


def augment_batch(x: np.ndarray, cfg: AugmentConfig, features: FeatureConfig,
                  rng: np.random.Generator) -> np.ndarray:
    """Roll then SpecAugment (mixup is applied by the caller, which also mixes the targets)."""
    return spec_augment(time_roll(x, roll_frames(cfg, features), rng), cfg, rng)
