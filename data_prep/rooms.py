"""Simulated shoebox rooms for the FUSS-layout mini corpus (spec fuss_desed.md §3.1).

FUSS reverberated every source with a room impulse response from an image-method room
simulator, one room per mixture and one source position per source slot (background0,
foreground0..2). We draw seeded shoebox rooms, invert Sabine's formula for a target RT60
(pyroomacoustics.inverse_sabine gives the wall energy absorption and image order), compute the
RIRs with pyroomacoustics' image-source method, and MEASURE the RT60 of every RIR (Schroeder
backward integration): the image-source method with few, uniform walls decays slower than
Sabine predicts, so the measured value is what a corpus must report, beside its target.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RoomSpec:
    dims_m: tuple[float, float, float]
    rt60_target_s: float
    absorption: float
    max_order: int
    mic_m: tuple[float, float, float]
    sources_m: tuple[tuple[float, float, float], ...]

    def to_dict(self) -> dict:
        r = lambda v: [round(float(x), 3) for x in v]
        return {"dims_m": r(self.dims_m), "rt60_target_s": round(self.rt60_target_s, 3),
                "absorption": round(self.absorption, 4), "max_order": self.max_order,
                "mic_m": r(self.mic_m), "sources_m": [r(s) for s in self.sources_m]}


def draw_room(rng: np.random.Generator, n_sources: int = 4,
              rt60_s: tuple[float, float] = (0.3, 0.9),
              dims_m: tuple[tuple[float, float], ...] = ((3.0, 10.0), (3.0, 8.0), (2.5, 4.0)),
              wall_margin_m: float = 0.5, max_order_cap: int = 40) -> RoomSpec:
    """A seeded shoebox: size, target RT60, a microphone and ``n_sources`` source positions,
    all at least ``wall_margin_m`` from the walls. The image order from inverse Sabine is capped
    at ``max_order_cap`` (build time); the measured RT60 says what that did."""
    import pyroomacoustics as pra

    dims = tuple(float(rng.uniform(lo, hi)) for lo, hi in dims_m)
    target = float(rng.uniform(*rt60_s))
    try:
        absorption, max_order = pra.inverse_sabine(target, list(dims))
    except ValueError:   # RT60 too short for this room: the most absorbing walls Sabine allows
        absorption, max_order = 0.99, 1
    point = lambda: tuple(float(rng.uniform(wall_margin_m, d - wall_margin_m)) for d in dims)
    mic = point()
    return RoomSpec(dims, target, float(absorption), int(min(max_order, max_order_cap)), mic,
                    tuple(point() for _ in range(n_sources)))


def room_rirs(spec: RoomSpec, sr: int) -> list[np.ndarray]:
    """One RIR per source position (image-source method, pyroomacoustics ShoeBox)."""
    import pyroomacoustics as pra

    room = pra.ShoeBox(list(spec.dims_m), fs=sr, materials=pra.Material(spec.absorption),
                       max_order=spec.max_order)
    for s in spec.sources_m:
        room.add_source(list(s))
    room.add_microphone(list(spec.mic_m))
    room.compute_rir()
    return [np.asarray(room.rir[0][i], dtype=np.float64) for i in range(len(spec.sources_m))]


def measure_rt60(h: np.ndarray, sr: int, decay_db: float = 30.0, start_db: float = 5.0) -> float:
    """RT60 (s) from an impulse response: Schroeder backward-integrated energy decay curve,
    a least-squares line between -start_db and -(start_db + decay_db), extrapolated to 60 dB
    (T30 by default). ValueError when the curve never falls that far."""
    e = np.asarray(h, dtype=np.float64) ** 2
    edc = np.cumsum(e[::-1])[::-1]
    if edc[0] <= 0:
        raise ValueError("impulse response is silent")
    edc_db = 10.0 * np.log10(np.maximum(edc / edc[0], 1e-300))
    lo, hi = -start_db, -(start_db + decay_db)
    idx = np.flatnonzero((edc_db <= lo) & (edc_db >= hi))
    if len(idx) < 2 or edc_db[-1] > hi:
        raise ValueError(f"energy decay curve does not fall {start_db + decay_db} dB")
    t = idx / sr
    slope = np.polyfit(t, edc_db[idx], 1)[0]     # dB per second (negative)
    return float(-60.0 / slope)
