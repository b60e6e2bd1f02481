"""The two inputs of the fusion model, per 10 s clip (spec §2.1, §2.2).

* :func:`logmel` — the spectrogram branch: ``librosa.feature.melspectrogram`` with its defaults
  (n_fft 2048, hop 512, Hann, centred, 128 Slaney mel bands, power 2) at 44.1 kHz, then
  ``power_to_db(ref=np.max)`` (top_db 80), right-padded with zeros or cut to 862 frames.
* :func:`vggish_examples` — VGGish's input, written from the definitions of the official
  ``vggish_input.py`` / ``mel_features.py``: resample to 16 kHz, frames of 400 samples every
  160 (no padding), periodic Hann, |rfft| over 512 points (magnitude, not power), a 64-band HTK
  mel matrix 125–7,500 Hz built **in mel space** with the DC bin zeroed
  (:func:`vggish_mel_matrix`; librosa's ``htk=True`` filters ramp in Hz and differ), log(mel +
  0.01), then 96-frame examples every 96 frames → (10, 96, 64) for 10 s.

:func:`clip_features` computes both for one file (a worker process of
:func:`common.feature_cache.map_cached` calls it; no TensorFlow import here).
"""
from __future__ import annotations

import numpy as np

from common.errors import AudioError
from reproductions.vggish_fusion.config import FeatureConfig, LogMelConfig, VGGishInputConfig


def load_audio(path: str, samplerate: int) -> np.ndarray:
    """Mono float32 at ``samplerate`` (librosa.load, as the report's code: soxr resampling)."""
    import librosa

    try:
        y, _ = librosa.load(path, sr=samplerate, mono=True)
    except Exception as exc:  # decoding errors come in many types
        raise AudioError(f"{path}: cannot decode ({exc})") from exc
    if y.size == 0:
        raise AudioError(f"{path}: no samples")
    return y.astype(np.float32)


def logmel(y: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """(n_mels, frames) log-mel in dB relative to the clip's maximum (0 dB at the peak)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=cfg.samplerate, n_fft=cfg.n_fft,
                                         hop_length=cfg.hop_length, n_mels=cfg.n_mels,
                                         power=cfg.power)
    db = librosa.power_to_db(mel, ref=np.max, top_db=cfg.top_db)
    out = np.zeros((cfg.n_mels, cfg.frames), dtype=np.float32)
    n = min(cfg.frames, db.shape[1])
    out[:, :n] = db[:, :n]   # the report's code right-pads short clips with zeros
    return out


def hz_to_mel_htk(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 1127 · ln(1 + f / 700)."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def vggish_mel_matrix(n_mels: int, n_spectrum_bins: int, samplerate: int, fmin: float,
                      fmax: float) -> np.ndarray:
    """(n_spectrum_bins, n_mels) triangular weights, triangles in **mel** space (the definition
    of ``mel_features.spectrogram_to_mel_matrix``): band i rises from edge i to edge i+1 and
    falls to edge i+2 of ``n_mels + 2`` edges evenly spaced in HTK mel between fmin and fmax;
    the DC bin gets weight 0."""
    bin_mel = hz_to_mel_htk(np.linspace(0.0, samplerate / 2.0, n_spectrum_bins))
    edges = np.linspace(hz_to_mel_htk(fmin), hz_to_mel_htk(fmax), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower[None, :]) / (centre - lower)[None, :]
    falling = (upper[None, :] - bin_mel[:, None]) / (upper - centre)[None, :]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def vggish_log_mel(y16k: np.ndarray, cfg: VGGishInputConfig) -> np.ndarray:
    """(frames, n_mels) log mel of a 16 kHz waveform, frames of ``window`` every ``hop``
    samples without padding (a 10 s clip gives 998 frames)."""
    window = int(round(cfg.window_seconds * cfg.samplerate))
    hop = int(round(cfg.hop_seconds * cfg.samplerate))
    n_fft = 2 ** int(np.ceil(np.log2(window)))
    if len(y16k) < window:
        raise AudioError(f"clip of {len(y16k)} samples is shorter than one VGGish frame")
    n_frames = 1 + (len(y16k) - window) // hop
    idx = np.arange(window)[None, :] + hop * np.arange(n_frames)[:, None]
    periodic_hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window) / window)
    spectrum = np.abs(np.fft.rfft(y16k[idx].astype(np.float64) * periodic_hann, n=n_fft))
    mel = spectrum @ vggish_mel_matrix(cfg.n_mels, n_fft // 2 + 1, cfg.samplerate, cfg.fmin,
                                       cfg.fmax)
    return np.log(mel + cfg.log_offset)


def vggish_examples(y: np.ndarray, samplerate: int, cfg: VGGishInputConfig) -> np.ndarray:
    """(examples, 96, 64) float32 VGGish input patches of one clip; a clip with fewer
    examples than ``cfg.examples`` is padded with copies of silence-level patches (never for
    10 s clips), extra examples are dropped."""
    import librosa

    y16 = y if samplerate == cfg.samplerate else librosa.resample(
        y, orig_sr=samplerate, target_sr=cfg.samplerate)
    frames = vggish_log_mel(y16, cfg)
    n = 1 + (len(frames) - cfg.example_frames) // cfg.example_hop_frames
    if n < 1:
        raise AudioError(f"clip gives {len(frames)} VGGish frames, fewer than one example "
                         f"({cfg.example_frames})")
    idx = (np.arange(cfg.example_frames)[None, :]
           + cfg.example_hop_frames * np.arange(n)[:, None])
    examples = frames[idx][: cfg.examples]
    if len(examples) < cfg.examples:
        pad = np.full((cfg.examples - len(examples),) + examples.shape[1:],
                      np.log(cfg.log_offset))
        examples = np.concatenate([examples, pad])
    return examples.astype(np.float32)


def clip_features(path: str, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Both inputs of one clip: ``logmel`` (128, 862) and ``vggish_input`` (10, 96, 64)."""
    y = load_audio(path, cfg.logmel.samplerate)
    return {"logmel": logmel(y, cfg.logmel),
            "vggish_input": vggish_examples(y, cfg.logmel.samplerate, cfg.vggish)}
