"""SwishNet feature pipeline (spec §2.2): waveform -> clips of 20 MFCCs, one step per function.

Order per file, as in the seed's ``Q2/preprocessing.ipynb`` (MUSAN) and
``Q4/gtzan_preprocessing.ipynb`` (GTZAN):

1. load mono; GTZAN only: Log-MMSE denoising at the file's own rate (:func:`denoise_logmmse`);
   resample to 16 kHz;
2. :func:`remove_silence`;
3. :func:`equalise_loudness` (each 250 ms block divided by its standard deviation);
4. :func:`segment` into 0.5/1/2 s clips with 50 % overlap, full windows only;
5. python_speech_features MFCC per clip (:func:`common.features.psf_mfcc`); no normalisation.

:class:`PreprocessConfig` holds every parameter; :meth:`PreprocessConfig.preset` names the
seed code, the seed text and the paper's choices. No TensorFlow here (feature workers import
this module).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from common.audio_io import load_audio
from common.errors import AudioError, ConfigError
from common.features import PsfMfccConfig, psf_mfcc, psf_num_frames

SILENCE_MODES = ("relative", "absolute")


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


def remove_silence(y: np.ndarray, sr: int, top_db: float = 40.0, frame_length: int = 400,
                   hop_length: int = 400, mode: str = "relative") -> np.ndarray:
    """Drop silent stretches and join what is left (dtype kept; may return an empty array).

    ``mode="relative"`` (seed code): ``librosa.effects.split(top_db, frame_length,
    hop_length, ref=np.max)``: a frame is silent when its RMS (centred frames, zero padded)
    lies more than ``top_db`` dB below the loudest frame *of this file*. The non-silent
    intervals are concatenated. Seed: 400/400 samples (25 ms, no overlap) for MUSAN,
    hop 240 for GTZAN. An all-zero signal is kept whole (every frame equals the maximum).

    ``mode="absolute"`` (seed text: "over a window of 250 ms we compute the power using the
    logarithmic scale ... threshold 40 dB"): frames start every ``hop_length`` samples and
    span ``frame_length`` samples (the last one only the samples that exist, no padding); a
    frame is non-silent when its mean power 10·log10(mean(y²)) is above ``-top_db`` dBFS,
    where 0 dBFS is the power of a constant full-scale signal (y² = 1; a full-scale sine is
    -3 dBFS). Samples covered by any non-silent frame are kept. Digital audio carries no
    sound-pressure calibration, so "40 dB ... a quiet library" can only mean a level relative
    to full scale; we read it as 40 dB below it. Use frame_length = hop_length = 0.25·sr
    for the text's 250 ms windows.

    ``sr`` is not used by the computation; it is part of the signature so that every step
    takes (y, sr) and window lengths can be checked against it.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"remove_silence expects a mono 1-D signal, got shape {y.shape}")
    if frame_length < 1 or hop_length < 1:
        raise ConfigError(f"remove_silence: frame_length={frame_length}, hop_length={hop_length}"
                          " must be >= 1")
    if sr <= 0:
        raise ConfigError(f"remove_silence: sr={sr} must be positive")
    if y.size == 0:
        return y.copy()
    if mode == "relative":
        import librosa

        intervals = librosa.effects.split(y, top_db=top_db, ref=np.max, frame_length=frame_length,
                                          hop_length=hop_length, aggregate=np.max)
        if len(intervals) == 0:
            return y[:0].copy()
        return np.concatenate([y[start:end] for start, end in intervals])
    if mode == "absolute":
        return y[_absolute_nonsilent_mask(y, -float(top_db), frame_length, hop_length)]
    raise ConfigError(f"remove_silence: mode={mode!r}, choose one of {SILENCE_MODES}")


# ---------------------------------------------------------------------------------------------
# 3. loudness equalisation
# ---------------------------------------------------------------------------------------------

def equalise_loudness(y: np.ndarray, sr: int, block_seconds: float = 0.25,
                      eps: float = 0.0) -> np.ndarray:
    """Divide each non-overlapping ``block_seconds`` block by its standard deviation (float64).

    As the seed: python_speech_features ``framesig`` cuts blocks of round(block_seconds·sr)
    samples (the last one zero-padded, and its std is taken *with* the padding), each block
    is divided by its population std (ddof 0), and ``deframesig`` re-assembles the signal,
    truncated to the input length. psf works in float64 and so does the result (the seed fed
    that float64 signal to the MFCC).

    Guard (our choice; the seed had none and produced NaN/inf): a block whose std is
    ``<= eps`` is left unchanged, so an all-zero block stays zero. With the default
    ``eps=0`` only blocks that are exactly constant are affected, i.e. exactly those where
    the seed's division was undefined; every other block gets the seed's result.
    """
    from python_speech_features.sigproc import deframesig, framesig

    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"equalise_loudness expects a mono 1-D signal, got shape {y.shape}")
    if block_seconds <= 0 or sr <= 0:
        raise ConfigError(f"equalise_loudness: block_seconds={block_seconds}, sr={sr} must be > 0")
    if eps < 0:
        raise ConfigError(f"equalise_loudness: eps={eps} must be >= 0")
    if y.size == 0:
        return y.astype(np.float64)
    block = block_seconds * sr
    frames = framesig(y.astype(np.float64), block, block)
    std = frames.std(axis=-1, keepdims=True)
    scale = np.where(std > eps, std, 1.0)
    return deframesig(frames / scale, siglen=len(y), frame_len=block, frame_step=block)


# ---------------------------------------------------------------------------------------------
# 4. segmentation
# ---------------------------------------------------------------------------------------------

def clip_samples(sr: int, clip_seconds: float) -> int:
    """Samples per clip: round(clip_seconds·sr) (8000/16000/32000 at 16 kHz)."""
    n = int(round(clip_seconds * sr))
    if n < 1:
        raise ConfigError(f"clip of {clip_seconds} s at {sr} Hz has no samples")
    return n


def segment(y: np.ndarray, sr: int, clip_seconds: float, overlap: float = 0.5) -> np.ndarray:
    """Full-length windows of ``clip_seconds``, hop (1 - overlap)·window: (n_clips, samples).

    Windows start at 0, hop, 2·hop, ...; a window running past the end is dropped, so
    n_clips = 1 + (len(y) - window) // hop for len(y) >= window, else 0 (the seed's loop).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"segment expects a mono 1-D signal, got shape {y.shape}")
    if not 0.0 <= overlap < 1.0:
        raise ConfigError(f"segment: overlap={overlap} must be in [0, 1)")
    window = clip_samples(sr, clip_seconds)
    hop = int(round(window * (1.0 - overlap)))
    if hop < 1:
        raise ConfigError(f"segment: overlap={overlap} leaves a hop of {hop} samples")
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


def denoise_logmmse(y: np.ndarray, sr: int, initial_noise: int = 6, window_size: int = 0,
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
    (``PreprocessConfig.denoise_passes``). We work on float32 samples: logmmse's float64
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
        out = np.asarray(logmmse(y.astype(np.float32), int(sr), initial_noise=initial_noise,
                                 window_size=window_size, noise_threshold=noise_threshold),
                         dtype=np.float32)
    if out.shape[0] >= n:
        return out[:n]
    return np.concatenate([out, np.zeros(n - out.shape[0], dtype=np.float32)])


# ---------------------------------------------------------------------------------------------
# configuration and composition
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreprocessConfig:
    """Every parameter of the SwishNet feature pipeline; defaults = the seed code (MUSAN).

    ``mfcc_winstep`` is 15 ms in the seed code; the seed text and the paper say 15 ms
    *overlap*, i.e. a 10 ms hop (preset "paper"). MFCC fields not listed take
    python_speech_features 0.6 defaults, spelled out: preemphasis 0.97, lifter 22, c0
    replaced by log frame energy, rectangular window, 0 Hz to Nyquist.
    """

    sr: int = 16000
    # silence removal
    silence_mode: str = "relative"
    silence_top_db: float = 40.0
    silence_frame_length: int = 400
    silence_hop_length: int = 400
    # loudness equalisation
    loudness_block_seconds: float = 0.25
    loudness_eps: float = 0.0
    # segmentation
    clip_seconds: tuple[float, ...] = (0.5, 1.0, 2.0)
    overlap: float = 0.5
    # MFCC (python_speech_features.mfcc)
    mfcc_winlen: float = 0.025
    mfcc_winstep: float = 0.015
    mfcc_numcep: int = 20
    mfcc_nfilt: int = 32
    mfcc_nfft: int = 512
    mfcc_preemph: float = 0.97
    mfcc_ceplifter: int = 22
    mfcc_append_energy: bool = True
    # Log-MMSE denoising (GTZAN), applied at the file's own sample rate before resampling
    denoise: bool = False
    denoise_passes: int = 1
    logmmse_initial_noise: int = 6
    logmmse_window_size: int = 0
    logmmse_noise_threshold: float = 0.15

    def __post_init__(self) -> None:
        if self.sr <= 0:
            raise ConfigError(f"PreprocessConfig.sr={self.sr}: must be positive")
        if self.silence_mode not in SILENCE_MODES:
            raise ConfigError(f"PreprocessConfig.silence_mode={self.silence_mode!r}: choose one "
                              f"of {SILENCE_MODES}")
        if self.silence_frame_length < 1 or self.silence_hop_length < 1:
            raise ConfigError("PreprocessConfig.silence_frame_length/silence_hop_length: "
                              "must be >= 1")
        if not self.clip_seconds or any(c <= 0 for c in self.clip_seconds):
            raise ConfigError(f"PreprocessConfig.clip_seconds={self.clip_seconds}: must be "
                              "positive lengths")
        if not 0.0 <= self.overlap < 1.0:
            raise ConfigError(f"PreprocessConfig.overlap={self.overlap}: must be in [0, 1)")
        if self.denoise_passes < 1:
            raise ConfigError(f"PreprocessConfig.denoise_passes={self.denoise_passes}: "
                              "must be >= 1")
        self.mfcc_config()  # validates the MFCC fields (ConfigError names the field)

    def mfcc_config(self) -> PsfMfccConfig:
        return PsfMfccConfig(samplerate=self.sr, winlen=self.mfcc_winlen,
                             winstep=self.mfcc_winstep, numcep=self.mfcc_numcep,
                             nfilt=self.mfcc_nfilt, nfft=self.mfcc_nfft, lowfreq=0.0,
                             highfreq=self.sr / 2, preemph=self.mfcc_preemph,
                             ceplifter=self.mfcc_ceplifter,
                             append_energy=self.mfcc_append_energy, window="rectangular")

    def frames_per_clip(self, clip_seconds: float) -> int:
        """MFCC frames per clip: 33/66/133 at 15 ms hop, 49/99/199 at 10 ms (0.5/1/2 s)."""
        return psf_num_frames(clip_samples(self.sr, clip_seconds), self.mfcc_config())

    @classmethod
    def preset(cls, name: str) -> "PreprocessConfig":
        """Named settings: see :data:`PRESETS`."""
        if name not in PRESETS:
            raise ConfigError(f"PreprocessConfig.preset: unknown {name!r}; choose one of "
                              f"{sorted(PRESETS)}")
        return dataclasses.replace(cls(), **PRESETS[name])


# Overrides of the defaults (= seed code, MUSAN).
PRESETS: dict[str, dict] = {
    # Q2/preprocessing.ipynb
    "seed_code": {},
    # Q4/gtzan_preprocessing.ipynb: Log-MMSE first, silence hop 240 (15 ms)
    "seed_code_gtzan": {"denoise": True, "silence_hop_length": 240},
    # report text: absolute 40 dB threshold on 250 ms windows; 15 ms overlap -> 10 ms hop
    "seed_text": {"silence_mode": "absolute", "silence_frame_length": 4000,
                  "silence_hop_length": 4000, "mfcc_winstep": 0.010},
    # paper: 25 ms frames with 15 ms overlap -> 10 ms hop (silence method not specified)
    "paper": {"mfcc_winstep": 0.010},
}


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    # The same resampler as common.audio_io.load_audio, so denoised and plain paths agree.
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32)


def load_waveform(path_or_array: Union[str, Path, np.ndarray], cfg: PreprocessConfig,
                  sr: int | None = None) -> np.ndarray:
    """Step 1: mono float32 at ``cfg.sr``, denoised first (at the source rate) if configured.

    An array is taken to be at ``sr`` (default ``cfg.sr``); a path is read with
    :func:`common.audio_io.load_audio` (AudioError names a missing/unreadable/silent file).
    """
    if isinstance(path_or_array, (str, Path)):
        source = Path(path_or_array)
        y, source_sr = load_audio(source, sr=None if cfg.denoise else cfg.sr)
    else:
        source = Path("<array>")
        y = np.asarray(path_or_array, dtype=np.float32)
        source_sr = cfg.sr if sr is None else int(sr)
        if y.ndim != 1:
            raise AudioError(source, f"expected a mono 1-D signal, got shape {y.shape}")
    if cfg.denoise:
        try:
            for _ in range(cfg.denoise_passes):
                y = denoise_logmmse(y, source_sr, cfg.logmmse_initial_noise,
                                    cfg.logmmse_window_size, cfg.logmmse_noise_threshold)
        except FloatingPointError as exc:
            raise AudioError(source, f"Log-MMSE denoising failed ({exc})") from exc
    if source_sr != cfg.sr:
        y = _resample(y, source_sr, cfg.sr)
    return y


def clean_waveform(path_or_array: Union[str, Path, np.ndarray], cfg: PreprocessConfig,
                   sr: int | None = None) -> np.ndarray:
    """Steps 1-3 once per file: load (+ denoise), remove silence, equalise loudness."""
    y = load_waveform(path_or_array, cfg, sr=sr)
    y = remove_silence(y, cfg.sr, top_db=cfg.silence_top_db,
                       frame_length=cfg.silence_frame_length,
                       hop_length=cfg.silence_hop_length, mode=cfg.silence_mode)
    return equalise_loudness(y, cfg.sr, block_seconds=cfg.loudness_block_seconds,
                             eps=cfg.loudness_eps)


def clip_mfccs(y: np.ndarray, cfg: PreprocessConfig, clip_seconds: float) -> np.ndarray:
    """Steps 4-5 on a cleaned waveform: float32 (n_clips, frames_per_clip, numcep)."""
    clips = segment(y, cfg.sr, clip_seconds, overlap=cfg.overlap)
    mfcc_cfg = cfg.mfcc_config()
    out = np.empty((clips.shape[0], cfg.frames_per_clip(clip_seconds), cfg.mfcc_numcep),
                   dtype=np.float32)
    for i, clip in enumerate(clips):
        out[i] = psf_mfcc(clip, mfcc_cfg)
    return out


def file_to_clips(path_or_array: Union[str, Path, np.ndarray], cfg: PreprocessConfig,
                  clip_seconds: float, sr: int | None = None) -> np.ndarray:
    """The whole pipeline for one file: float32 (n_clips, frames_per_clip, numcep).

    Files too short (after silence removal) for one clip give an array with 0 clips.
    """
    return clip_mfccs(clean_waveform(path_or_array, cfg, sr=sr), cfg, clip_seconds)
