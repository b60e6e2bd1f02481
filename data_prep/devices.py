"""Simulated recording devices for the TAU22-layout mini corpus (spec bcres2net_asc.md §3).

TAU Urban Acoustic Scenes 2022 Mobile was recorded with device A (a binaural microphone and a
field recorder), two phones (B, C) in parallel, and S1-S11 were *simulated* by convolving
device-A audio with a measured device impulse response and applying device-specific dynamic
range compression. The mini corpus does the same with parametric devices, because no measured
responses ship with Debian:

    device A audio -> minimum-phase EQ (high-pass, low-pass, spectral tilt, one presence peak
    or notch) -> microphone self-noise -> mild preamp saturation -> dynamic range compression
    (AGC) -> output gain -> clip to full scale

A :class:`DeviceModel` holds every parameter, so a corpus can document each device exactly.
B and C are fixed presets (two phone-like devices), S1..Sn are seeded random draws; a draw
whose response is too close (:func:`response_distance_db`) to a device already chosen is
rejected, so every device is audibly distinct. Device A is the identity (the source).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import oaconvolve

# Magnitude floor of the EQ (keeps the log finite in the cepstral minimum-phase design).
FLOOR_DB = -80.0
# Compressor level detector block.
BLOCK_S = 0.005
# Frequencies where responses are compared: where the mini corpus has content (its treatment
# band-limits every source to 50 Hz - 7.5 kHz).
COMPARE_BAND_HZ = (100.0, 7500.0)


@dataclass(frozen=True)
class DeviceModel:
    """One recording device. ``identity`` devices pass audio through unchanged (device A)."""
    name: str
    description: str = ""
    identity: bool = False
    hp_hz: float = 20.0            # Butterworth-magnitude high-pass corner
    hp_order: int = 2
    lp_hz: float = 20000.0         # Butterworth-magnitude low-pass corner
    lp_order: int = 2
    tilt_db_per_oct: float = 0.0   # spectral tilt, 0 dB at 1 kHz
    peak_hz: float = 1000.0        # presence peak (gain > 0) or notch (gain < 0)
    peak_gain_db: float = 0.0
    peak_bw_oct: float = 0.5       # Gaussian width (standard deviation) in octaves
    comp_threshold_db: float = 0.0   # block-RMS level (dBFS) above which gain is reduced
    comp_ratio: float = 1.0
    attack_ms: float = 5.0
    release_ms: float = 100.0
    makeup_db: float = 0.0
    drive: float = 1.0             # saturation: tanh(drive * x) / drive (1 = nearly linear)
    noise_dbfs: float = -200.0     # self-noise RMS (white, added after the EQ)
    gain_db: float = 0.0

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


IDENTITY = DeviceModel("a", "device A: the source recording itself (no simulation)", identity=True)

# Two fixed phone-like devices (the real B and C were phones recording in parallel with A).
PRESETS: dict[str, DeviceModel] = {
    "b": DeviceModel("b", "phone-like preset 1: small MEMS microphone, 3 kHz presence peak, "
                     "strong fast AGC", hp_hz=180.0, hp_order=2, lp_hz=7000.0, lp_order=4,
                     tilt_db_per_oct=1.0, peak_hz=3000.0, peak_gain_db=5.0, peak_bw_oct=0.6,
                     comp_threshold_db=-32.0, comp_ratio=4.0, attack_ms=3.0, release_ms=150.0,
                     makeup_db=6.0, drive=1.8, noise_dbfs=-70.0, gain_db=0.0),
    "c": DeviceModel("c", "phone-like preset 2: dark response with a 1.2 kHz notch, steep "
                     "low cut, gentle slow AGC, noisier", hp_hz=300.0, hp_order=4,
                     lp_hz=5000.0, lp_order=6, tilt_db_per_oct=-1.5, peak_hz=1200.0,
                     peak_gain_db=-6.0, peak_bw_oct=0.4, comp_threshold_db=-24.0,
                     comp_ratio=2.0, attack_ms=15.0, release_ms=400.0, makeup_db=2.0,
                     drive=1.3, noise_dbfs=-62.0, gain_db=-3.0),
}

# Ranges of the seeded draws for simulated devices (uniform unless noted).
DRAW_RANGES: dict[str, tuple] = {
    "hp_hz": (60.0, 400.0), "hp_order": (2, 3, 4), "lp_hz": (3500.0, 9000.0),
    "lp_order": (2, 4, 6), "tilt_db_per_oct": (-3.0, 3.0), "peak_hz": (500.0, 6000.0),  # log-uniform
    "peak_gain_db": (-9.0, 9.0), "peak_bw_oct": (0.3, 1.2), "comp_threshold_db": (-40.0, -18.0),
    "comp_ratio": (1.5, 6.0), "attack_ms": (2.0, 20.0), "release_ms": (50.0, 500.0),
    "makeup_db": (0.0, 6.0), "drive": (1.0, 3.0), "noise_dbfs": (-80.0, -60.0),
    "gain_db": (-6.0, 3.0),
}


# ----------------------------------------------------------------------------- response

def magnitude_db(device: DeviceModel, freqs: np.ndarray) -> np.ndarray:
    """Designed EQ magnitude in dB at ``freqs`` (Hz), before noise/saturation/compression.

    High-pass: -10 log10(1 + (fc/f)^(2n)); low-pass: -10 log10(1 + (f/fc)^(2n)) (Butterworth
    magnitudes, -3.01 dB at the corner); tilt: t * log2(f / 1 kHz); peak: g * exp(-0.5 (log2(f /
    f0) / bw)^2). Floored at FLOOR_DB. The identity device is 0 dB everywhere.
    """
    f = np.maximum(np.asarray(freqs, dtype=np.float64), 1e-3)
    if device.identity:
        return np.zeros_like(f)
    db = -10.0 * np.log10(1.0 + (device.hp_hz / f) ** (2 * device.hp_order))
    db -= 10.0 * np.log10(1.0 + (f / device.lp_hz) ** (2 * device.lp_order))
    db += device.tilt_db_per_oct * np.log2(np.maximum(f, 20.0) / 1000.0)
    db += device.peak_gain_db * np.exp(-0.5 * (np.log2(f / device.peak_hz) / device.peak_bw_oct) ** 2)
    return np.maximum(db, FLOOR_DB)


def minimum_phase_fir(device: DeviceModel, sr: int, n_taps: int = 4096,
                      oversample: int = 8) -> np.ndarray:
    """Minimum-phase FIR (``n_taps`` taps) with the magnitude of :func:`magnitude_db`.

    Homomorphic design: the real cepstrum of the log magnitude, folded onto positive quefrency,
    exponentiated back. It is computed on a grid ``oversample`` times finer than the FIR (so
    the cepstrum barely aliases), then cut to ``n_taps`` with a short raised-cosine fade. The
    minimum-phase filter puts its energy as early as a filter with this magnitude can, like a
    microphone (no pre-ringing).
    """
    n_fft = n_taps * oversample
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    log_mag = magnitude_db(device, freqs) * (np.log(10.0) / 20.0)
    cep = np.fft.irfft(log_mag, n_fft)
    fold = np.zeros(n_fft)
    fold[0] = 1.0
    fold[1:n_fft // 2] = 2.0
    fold[n_fft // 2] = 1.0
    h = np.fft.irfft(np.exp(np.fft.rfft(cep * fold, n_fft)), n_fft)[:n_taps]
    fade = n_taps // 8
    h[-fade:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, fade)))
    return h


def response_distance_db(a: DeviceModel, b: DeviceModel,
                         band_hz: tuple[float, float] = COMPARE_BAND_HZ, n: int = 64) -> float:
    """RMS difference (dB) of two EQ shapes on a log-frequency grid over ``band_hz``, after
    removing the mean difference (an overall level offset is undone by any AGC)."""
    f = np.geomspace(band_hz[0], band_hz[1], n)
    d = magnitude_db(a, f) - magnitude_db(b, f)
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


# ----------------------------------------------------------------------------- processing

def compress(y: np.ndarray, sr: int, device: DeviceModel) -> np.ndarray:
    """Feed-forward compressor: block-RMS level (BLOCK_S), static curve above the threshold
    (output rises 1/ratio dB per input dB), gain reduction smoothed with one-pole attack and
    release, interpolated to samples, plus make-up gain."""
    block = max(1, int(round(BLOCK_S * sr)))
    n = -(-len(y) // block)
    padded = np.zeros(n * block)
    padded[:len(y)] = y
    level = 10.0 * np.log10(np.mean(padded.reshape(n, block) ** 2, axis=1) + 1e-12)
    target = np.maximum(0.0, level - device.comp_threshold_db) * (1.0 - 1.0 / device.comp_ratio)
    a_att = np.exp(-BLOCK_S * 1000.0 / max(device.attack_ms, 1e-3))
    a_rel = np.exp(-BLOCK_S * 1000.0 / max(device.release_ms, 1e-3))
    gr = np.empty(n)
    state = 0.0
    for i, t in enumerate(target):      # recursive smoothing: ~200 blocks per second of audio
        coef = a_att if t > state else a_rel
        state = coef * state + (1.0 - coef) * t
        gr[i] = state
    centres = (np.arange(n) + 0.5) * block
    gain_db = device.makeup_db - np.interp(np.arange(len(y)), centres, gr)
    return y * 10.0 ** (gain_db / 20.0)


def saturate(y: np.ndarray, drive: float) -> np.ndarray:
    """Soft clipping tanh(drive x)/drive: linear for small x, |out| <= |in|, odd symmetric."""
    if drive <= 1e-6:
        return y
    return np.tanh(drive * y) / drive


def apply_device(y: np.ndarray, sr: int, device: DeviceModel, rng: np.random.Generator,
                 fir: np.ndarray | None = None) -> np.ndarray:
    """Record device-A audio ``y`` (mono float) with ``device``: same length, float32."""
    y = np.asarray(y, dtype=np.float64)
    if device.identity:
        return y.astype(np.float32)
    h = minimum_phase_fir(device, sr) if fir is None else fir
    out = oaconvolve(y, h)[:len(y)]
    out = out + rng.standard_normal(len(out)) * 10.0 ** (device.noise_dbfs / 20.0)
    out = saturate(out, device.drive)
    out = compress(out, sr, device) * 10.0 ** (device.gain_db / 20.0)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- drawing

def draw_device(name: str, rng: np.random.Generator) -> DeviceModel:
    """One simulated device with parameters from DRAW_RANGES (peak frequency log-uniform)."""
    r = DRAW_RANGES
    u = lambda key: float(rng.uniform(*r[key]))
    return DeviceModel(
        name, f"simulated device {name.upper()}: seeded parametric response and dynamics",
        hp_hz=u("hp_hz"), hp_order=int(rng.choice(r["hp_order"])), lp_hz=u("lp_hz"),
        lp_order=int(rng.choice(r["lp_order"])), tilt_db_per_oct=u("tilt_db_per_oct"),
        peak_hz=float(np.exp(rng.uniform(np.log(r["peak_hz"][0]), np.log(r["peak_hz"][1])))),
        peak_gain_db=u("peak_gain_db"), peak_bw_oct=u("peak_bw_oct"),
        comp_threshold_db=u("comp_threshold_db"), comp_ratio=u("comp_ratio"),
        attack_ms=u("attack_ms"), release_ms=u("release_ms"), makeup_db=u("makeup_db"),
        drive=u("drive"), noise_dbfs=u("noise_dbfs"), gain_db=u("gain_db"))


def draw_devices(names: Sequence[str], rng: np.random.Generator,
                 existing: Sequence[DeviceModel] = (), min_distance_db: float = 2.0,
                 max_tries: int = 1000) -> tuple[list[DeviceModel], int]:
    """Draw one device per name, rejecting a draw whose response lies within
    ``min_distance_db`` (:func:`response_distance_db`) of any device in ``existing`` or drawn
    before it. Returns (devices, number of rejected draws); ValueError after ``max_tries``
    rejections for one name."""
    chosen: list[DeviceModel] = []
    rejected = 0
    for name in names:
        for _ in range(max_tries):
            cand = draw_device(name, rng)
            if all(response_distance_db(cand, d) >= min_distance_db for d in [*existing, *chosen]):
                chosen.append(cand)
                break
            rejected += 1
        else:
            raise ValueError(f"draw_devices: no draw for device {name!r} is at least "
                             f"{min_distance_db} dB from the others after {max_tries} tries")
    return chosen, rejected


def device_set(seed: int, simulated: Sequence[str] = ("s1", "s2", "s3", "s4", "s5", "s6"),
               min_distance_db: float = 3.0) -> tuple[dict[str, DeviceModel], int]:
    """A, the B/C presets and seeded S devices (names as in TAU file names), and the number of
    rejected draws."""
    base = [IDENTITY, *PRESETS.values()]
    drawn, rejected = draw_devices(simulated, np.random.default_rng([seed, 0xDE71CE]), base,
                                   min_distance_db)
    return {d.name: d for d in [*base, *drawn]}, rejected
