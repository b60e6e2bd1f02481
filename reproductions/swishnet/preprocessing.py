"""SwishNet feature pipeline (spec §2.2): waveform -> clips of 20 MFCCs, one step per function.

Order per file, as in the seed's ``Q2/preprocessing.ipynb`` (MUSAN) and
``Q4/gtzan_preprocessing.ipynb`` (GTZAN):

1. load mono; GTZAN only: Log-MMSE denoising at the file's own rate (:func:`denoise_logmmse`);
   resample to 16 kHz;
2. :func:`remove_silence`;
3. :func:`equalise_loudness` (each 250 ms block divided by its standard deviation);
4. :func:`segment` into 0.5/1/2 s clips with 50 % overlap, full windows only;
5. python_speech_features MFCC per clip (:func:`common.features.psf_mfcc`); no normalisation.

Every setting comes from :class:`reproductions.swishnet.config.FeatureConfig` (the YAML's
``features:`` block) under the same name, here as argument names of the step functions;
:mod:`reproductions.swishnet.features` names the seed code's, the seed text's and the paper's
settings. No TensorFlow here (feature workers import this module).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np

from common.audio_io import load_audio
from common.errors import AudioError, ConfigError
from common.features import psf_mfcc, psf_mfcc_args, psf_num_frames
from reproductions.swishnet.config import SILENCE_MODES, FeatureConfig


# ---------------------------------------------------------------------------------------------
# 2. silence removal
# ---------------------------------------------------------------------------------------------

def _absolute_nonsilent_mask(y: np.ndarray, threshold_dbfs: float, frame_length: int,
                             hop_length: int) -> np.ndarray:
    """Per-sample mask: True where a frame whose mean power exceeds the threshold covers it."""
    keep = np.zeros(y.shape[0], dtype=bool)
    y64 = y.astype(np.float64)
    for start in range(0, y.shape[0], hop_length):
        frame = y64[start:start + frame_length]
        power = float(np.mean(frame * frame))
        # power 0 -> -inf dBFS: silent at any finite threshold.
        power_dbfs = 10.0 * np.log10(power) if power > 0.0 else -np.inf
        if power_dbfs > threshold_dbfs:
            keep[start:start + frame_length] = True
    return keep


def remove_silence(y: np.ndarray, samplerate: int, top_db: float = 40.0,
                   silence_frame: int = 400, silence_hop: int = 400,
                   silence_mode: str = "relative") -> np.ndarray:
    """Drop silent stretches and join what is left (dtype kept; may return an empty array).

    ``silence_mode="relative"`` (seed code): ``librosa.effects.split(top_db,
    frame_length=silence_frame, hop_length=silence_hop, ref=np.max)``: a frame is silent
    when its RMS (centred frames, zero padded) lies more than ``top_db`` dB below the
    loudest frame *of this file*. The non-silent intervals are concatenated. Seed: 400/400
    samples (25 ms, no overlap) for MUSAN, hop 240 for GTZAN. An all-zero signal is kept
    whole (every frame equals the maximum).

    ``silence_mode="absolute"`` (seed text: "over a window of 250 ms we compute the power using
    the logarithmic scale ... threshold 40 dB"): frames start every ``silence_hop`` samples and
    span ``silence_frame`` samples (the last one only the samples that exist, no padding); a
    frame is non-silent when its mean power 10·log10(mean(y²)) is above ``-top_db`` dBFS,
    where 0 dBFS is the power of a constant full-scale signal (y² = 1; a full-scale sine is
    -3 dBFS). Samples covered by any non-silent frame are kept. Digital audio carries no
    sound-pressure calibration, so "40 dB ... a quiet library" can only mean a level relative
    to full scale; we read it as 40 dB below it. Use silence_frame = silence_hop =
    0.25·samplerate for the text's 250 ms windows.

    ``samplerate`` is not used by the computation; it is part of the signature so that every
    step takes (y, samplerate) and window lengths can be checked against it.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"remove_silence expects a mono 1-D signal, got shape {y.shape}")
    if silence_frame < 1 or silence_hop < 1:
        raise ConfigError(f"remove_silence: silence_frame={silence_frame}, "
                          f"silence_hop={silence_hop} must be >= 1")
    if samplerate <= 0:
        raise ConfigError(f"remove_silence: samplerate={samplerate} must be positive")
    if y.size == 0:
        return y.copy()
    if silence_mode == "relative":
        import librosa

        intervals = librosa.effects.split(y, top_db=top_db, ref=np.max, frame_length=silence_frame,
                                          hop_length=silence_hop, aggregate=np.max)
        if len(intervals) == 0:
            return y[:0].copy()
        return np.concatenate([y[start:end] for start, end in intervals])
    if silence_mode == "absolute":
        return y[_absolute_nonsilent_mask(y, -float(top_db), silence_frame, silence_hop)]
    raise ConfigError(f"remove_silence: silence_mode={silence_mode!r}, choose one of "
                      f"{SILENCE_MODES}")


# ---------------------------------------------------------------------------------------------
# 3. loudness equalisation
# ---------------------------------------------------------------------------------------------

def equalise_loudness(y: np.ndarray, samplerate: int, loudness_block_seconds: float = 0.25,
                      loudness_eps: float = 0.0) -> np.ndarray:
    """Divide each non-overlapping ``loudness_block_seconds`` block by its std (float64).

    As the seed: python_speech_features ``framesig`` cuts blocks of
    round(loudness_block_seconds·samplerate) samples (the last one zero-padded, and its std
    is taken *with* the padding), each block is divided by its population std (ddof 0),
    and ``deframesig`` re-assembles the signal, truncated to the input length. psf works in
    float64 and so does the result (the seed fed that float64 signal to the MFCC).

    Guard (our choice; the seed had none and produced NaN/inf): a block whose std is
    ``<= loudness_eps`` is left unchanged, so an all-zero block stays zero. With the default
    ``loudness_eps=0`` only blocks that are exactly constant are affected, i.e. exactly those where
    the seed's division was undefined; every other block gets the seed's result.
    """
    from python_speech_features.sigproc import deframesig, framesig

    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"equalise_loudness expects a mono 1-D signal, got shape {y.shape}")
    if loudness_block_seconds <= 0 or samplerate <= 0:
        raise ConfigError(f"equalise_loudness: loudness_block_seconds={loudness_block_seconds}, "
                          f"samplerate={samplerate} must be > 0")
    if loudness_eps < 0:
        raise ConfigError(f"equalise_loudness: loudness_eps={loudness_eps} must be >= 0")
    if y.size == 0:
        return y.astype(np.float64)
    block = loudness_block_seconds * samplerate
    frames = framesig(y.astype(np.float64), block, block)
    std = frames.std(axis=-1, keepdims=True)
    scale = np.where(std > loudness_eps, std, 1.0)
    return deframesig(frames / scale, siglen=len(y), frame_len=block, frame_step=block)


# ---------------------------------------------------------------------------------------------
# 4. segmentation
# ---------------------------------------------------------------------------------------------

def clip_samples(samplerate: int, clip_seconds: float) -> int:
    """Samples per clip: round(clip_seconds·samplerate) (8000/16000/32000 at 16 kHz)."""
    n = int(round(clip_seconds * samplerate))
    if n < 1:
        raise ConfigError(f"clip of {clip_seconds} s at {samplerate} Hz has no samples")
    return n


def segment(y: np.ndarray, samplerate: int, clip_seconds: float,
            clip_overlap: float = 0.5) -> np.ndarray:
    """Full-length windows of ``clip_seconds``, hop (1 - clip_overlap)·window: (n_clips, samples).

    Windows start at 0, hop, 2·hop, ...; a window running past the end is dropped, so
    n_clips = 1 + (len(y) - window) // hop for len(y) >= window, else 0 (the seed's loop).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"segment expects a mono 1-D signal, got shape {y.shape}")
    if not 0.0 <= clip_overlap < 1.0:
        raise ConfigError(f"segment: clip_overlap={clip_overlap} must be in [0, 1)")
    window = clip_samples(samplerate, clip_seconds)
    hop = int(round(window * (1.0 - clip_overlap)))
    if hop < 1:
        raise ConfigError(f"segment: clip_overlap={clip_overlap} leaves a hop of {hop} samples")
    if y.shape[0] < window:
        return np.empty((0, window), dtype=y.dtype)
    views = np.lib.stride_tricks.sliding_window_view(y, window)[::hop]
    return np.ascontiguousarray(views)


# ---------------------------------------------------------------------------------------------
# 1b. Log-MMSE denoising (GTZAN)
# ---------------------------------------------------------------------------------------------

def _logmmse_function():
    """Import logmmse without letting it change numpy's global error state.

    logmmse 1.5 runs ``np.seterr('raise')`` at import time, which would turn every later
    floating-point warning anywhere in the process into an exception.
    """
    saved = np.geterr()
    try:
        from logmmse import logmmse
    finally:
        np.seterr(**saved)
    return logmmse


def denoise_logmmse(y: np.ndarray, samplerate: int, initial_noise: int = 6, window_size: int = 0,
                    noise_threshold: float = 0.15) -> np.ndarray:
    """Log-MMSE speech enhancement (``logmmse`` 1.5), returned at the input length (float32).

    Defaults are the package's (what the seed's ``logmmse_from_file(file, file)`` used):
    noise estimated from the first 6 frames, 20 ms frames (``window_size=0``) with 50 %
    overlap, VAD threshold 0.15. The package drops the last 2-3 half-frames (its output has
    floor(n/half) - 2 half-frames), so we zero-pad the tail back; the output is
    time-aligned with the input (frame k's first half lands at sample k·half).
    The package processes 60 s chunks and shortens each, so for inputs longer than 60 s
    everything after the first chunk comes out slightly earlier; GTZAN files are 30 s.

    Differences from the seed: the seed denoised the 16-bit WAV file in place (int16 in and
    out) at its native 22,050 Hz, and because the notebook ran the function once per clip
    length on the same files, the 1 s and 2 s features saw 2 and 3 passes
    (``denoise_passes`` of :func:`clean_waveform`). We work on float32 samples: logmmse's float64
    path is broken (its ``from_float`` returns a tuple), float32 is its tested path.
    Floating-point errors are raised (as under the package's own ``seterr('raise')``),
    except underflow, which is harmless here.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"denoise_logmmse expects a mono 1-D signal, got shape {y.shape}")
    n = y.shape[0]
    logmmse = _logmmse_function()
    # astype copies: logmmse adds eps to its input array in place.
    with np.errstate(all="raise", under="ignore"):
        out = np.asarray(logmmse(y.astype(np.float32), int(samplerate), initial_noise=initial_noise,
                                 window_size=window_size, noise_threshold=noise_threshold),
                         dtype=np.float32)
    if out.shape[0] >= n:
        return out[:n]
    return np.concatenate([out, np.zeros(n - out.shape[0], dtype=np.float32)])


# ---------------------------------------------------------------------------------------------
# composition: every step's settings from one FeatureConfig, by name
# ---------------------------------------------------------------------------------------------

def frames_per_clip(cfg: FeatureConfig, clip_seconds: float) -> int:
    """MFCC frames per clip: 33/66/133 at 15 ms hop, 49/99/199 at 10 ms (0.5/1/2 s)."""
    return psf_num_frames(clip_samples(cfg.samplerate, clip_seconds),
                          samplerate=cfg.samplerate, winlen=cfg.winlen, winstep=cfg.winstep)


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    # The same resampler as common.audio_io.load_audio, so denoised and plain paths agree.
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32)


def load_waveform(path_or_array: Union[str, Path, np.ndarray], cfg: FeatureConfig, *,
                  denoise: bool = False, denoise_passes: int = 1,
                  source_samplerate: int | None = None) -> np.ndarray:
    """Step 1: mono float32 at ``cfg.samplerate``, Log-MMSE denoised first (at the source
    rate, package defaults) when ``denoise`` (GTZAN, ``finetune.denoise``).

    An array is taken to be at ``source_samplerate`` (default ``cfg.samplerate``); a path is
    read with :func:`common.audio_io.load_audio` (AudioError names a missing/unreadable/silent
    file). ``denoise_passes`` > 1 replays the seed notebook's repeated in-place denoising.
    """
    if denoise_passes < 1:
        raise ConfigError(f"load_waveform: denoise_passes={denoise_passes} must be >= 1")
    if isinstance(path_or_array, (str, Path)):
        source = Path(path_or_array)
        y, source_sr = load_audio(source, sr=None if denoise else cfg.samplerate)
    else:
        source = Path("<array>")
        y = np.asarray(path_or_array, dtype=np.float32)
        source_sr = cfg.samplerate if source_samplerate is None else int(source_samplerate)
        if y.ndim != 1:
            raise AudioError(source, f"expected a mono 1-D signal, got shape {y.shape}")
    if denoise:
        try:
            for _ in range(denoise_passes):
                y = denoise_logmmse(y, source_sr)
        except FloatingPointError as exc:
            raise AudioError(source, f"Log-MMSE denoising failed ({exc})") from exc
    if source_sr != cfg.samplerate:
        y = _resample(y, source_sr, cfg.samplerate)
    return y


def clean_waveform(path_or_array: Union[str, Path, np.ndarray], cfg: FeatureConfig, *,
                   silence_hop: int | None = None, denoise: bool = False,
                   denoise_passes: int = 1, source_samplerate: int | None = None) -> np.ndarray:
    """Steps 1-3 once per file: load (+ denoise), remove silence, equalise loudness.

    ``silence_hop`` replaces ``cfg.silence_hop`` (GTZAN: ``cfg.gtzan_silence_hop``).
    """
    y = load_waveform(path_or_array, cfg, denoise=denoise, denoise_passes=denoise_passes,
                      source_samplerate=source_samplerate)
    y = remove_silence(y, cfg.samplerate, top_db=cfg.top_db, silence_frame=cfg.silence_frame,
                       silence_hop=cfg.silence_hop if silence_hop is None else silence_hop,
                       silence_mode=cfg.silence_mode)
    return equalise_loudness(y, cfg.samplerate, loudness_block_seconds=cfg.loudness_block_seconds,
                             loudness_eps=cfg.loudness_eps)


def clip_mfccs(y: np.ndarray, cfg: FeatureConfig, clip_seconds: float) -> np.ndarray:
    """Steps 4-5 on a cleaned waveform: float32 (n_clips, frames_per_clip, numcep)."""
    clips = segment(y, cfg.samplerate, clip_seconds, clip_overlap=cfg.clip_overlap)
    mfcc_args = psf_mfcc_args(cfg)
    out = np.empty((clips.shape[0], frames_per_clip(cfg, clip_seconds), cfg.numcep),
                   dtype=np.float32)
    for i, clip in enumerate(clips):
        out[i] = psf_mfcc(clip, **mfcc_args)
    return out


def file_to_clips(path_or_array: Union[str, Path, np.ndarray], cfg: FeatureConfig,
                  clip_seconds: float, *, silence_hop: int | None = None, denoise: bool = False,
                  source_samplerate: int | None = None) -> np.ndarray:
    """The whole pipeline for one file: float32 (n_clips, frames_per_clip, numcep).

    Files too short (after silence removal) for one clip give an array with 0 clips.
    """
    y = clean_waveform(path_or_array, cfg, silence_hop=silence_hop, denoise=denoise,
                       source_samplerate=source_samplerate)
    return clip_mfccs(y, cfg, clip_seconds)
