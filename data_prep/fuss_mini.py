"""Mini corpus in the FUSS layout from Debian recordings, dry and reverberant.

Like FUSS's own recipe (make_ss_examples.py, reverberate_and_mix.py): every mixture has one
background (a scene bed covering the whole mixture: UFO:AI fire, water, wind, thunder, night,
city and machinery ambience) and 0-3 foreground events at seeded onsets, so mixtures hold 1-4
sources; here the number of sources cycles so each split has as many 1-, 2-, 3- and 4-source
mixtures. Foreground events come from two pools, drawn with probability ``speech_fraction``:
sound effects (OpenSFX; UFO:AI footsteps, breakage, doors, impacts; Heroes) and speech
(Asterisk prompts of three voices, en/fr/it, joined with short pauses into utterances of
``speech_seconds``, one voice each; MINI.json lists the prompts of each as "parts").
Version 1 had the effects only: 102 distinct foreground recordings, which the smoke TDCN++
learned by heart without separating unseen ones (train +4.6 dB, eval about 0 dB SI-SNRi); the
prompts add 1,686 distinct recordings. Version 2 placed single prompts (1.7 s on average):
events were short and rarely overlapped, and the smoke model's refit scored -0.4 to +1.1 dB
on dry eval over three seeds; joined into utterances (version 3) it scores +2.7 to +3.8 dB.
Foreground levels
are drawn as SNR U(-5, 25) dB against the background (FUSS's scaper setting; active RMS here,
LUFS there). The reverberant version convolves the same dry sources with RIRs of seeded
shoebox rooms (data_prep/rooms.py; one room per mixture, one position per source slot, rooms
reused in a shuffled cycle within a split as FUSS did), scaled by 10 as FUSS scaled its RIRs.

Differences from FUSS, on purpose: the convolution is causal by default (the first N
samples of the full convolution; FUSS used numpy's 'same' mode, which advances the output by
half the RIR length; FussMiniConfig(convolution="same") does that); each version gets one
gain per mixture so that its peak stays below PEAK; no .jams
or .txt files; speech is 8 kHz telephone audio, so a prompt has no energy above 4 kHz. Each
wav is 16-bit PCM; the mixture is the integer sum of its quantised sources, so mixture == sum
of sources holds exactly on the decoded files.

Splits by recording: background and foreground leak groups are each split into
train/validation/eval (data_prep/splits.group_split), so a recording's audio never serves two
splits.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import oaconvolve

from common.audio_io import write_audio
from common.errors import DatasetError
from common.fileio import (
    atomic_write_text,
    stable_hash,
)
from data_prep import mini as mini_corpus
from data_prep import rooms
from data_prep.mixer import active_extent
from data_prep.paths import mini_root
from data_prep.sources import Recording, catalogue, read_recording
from data_prep.splits import group_split

NAME = "fuss"
MINI_VERSION = 3            # 2: speech prompts and Heroes effects join the foregrounds; 96/24/24
                            # 3: speech events join prompts of one voice into 2-6 s utterances
SAMPLERATE = 16000
SPLITS = ("train", "validation", "eval")
VERSIONS = ("ssdata", "ssdata_reverb")
PACKAGES = ("openttd-opensfx", "ufoai-sound", "heroes-sound-effects", "asterisk-core-sounds-en-wav",
            "asterisk-core-sounds-fr-wav", "asterisk-core-sounds-it-wav")
PEAK = 0.8               # per-version peak of the mixture and of every source
RIR_SCALE = 10.0         # FUSS reverberate_and_mix.py scale_rirs
BACKGROUND_RE = (r"ufoai/ambience/(arcticwind|city_abnd_ufoai_atm|sand-city|fire\d*|firesoft"
                 r"|smallfire|thunder\d|water\d*|waterfontain|ufo_night_atm|cricket_loop"
                 r"|minepump03|hum2?|machine1)")
FOREGROUND_UFOAI_RE = r"ufoai/(footsteps/\w+|misc/break\w+|doors/[\w-]+|impact/[\w-]+)"
# OpenSFX entries that are scene beds or under 0.3 s are not foreground events.
OPENSFX_EXCLUDE = ("Wind", "Heavy wind")


@dataclass(frozen=True)
class FussMiniConfig:
    duration_s: float = 10.0
    n_train: int = 96
    n_validation: int = 24
    n_eval: int = 24
    # Probability that a foreground event is speech rather than a sound effect. The prompts
    # outnumber the effects ten to one; drawing the pool first keeps effects common.
    speech_fraction: float = 0.5
    # A speech event joins prompts of one voice, with pauses, up to a length drawn from this
    # range: single prompts last 1.7 s on average and rarely overlap other events.
    speech_seconds: tuple[float, float] = (2.0, 6.0)
    speech_pause_s: tuple[float, float] = (0.15, 0.5)
    snr_db: tuple[float, float] = (-5.0, 25.0)
    background_rms_dbfs: float = -30.0
    foreground_max_s: float = 4.0        # longer events: a seeded window of this length
    foreground_min_s: float = 0.25
    rooms_per_split: tuple[int, int, int] = (12, 4, 4)
    rt60_s: tuple[float, float] = (0.3, 0.9)
    max_order_cap: int = 40
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    # "causal": the first N samples of the full convolution (default); "same": FUSS's own
    # numpy.convolve(..., 'same'), which advances the reverberant source by (len(rir) - 1) // 2.
    convolution: str = "causal"

    def __post_init__(self):
        if self.duration_s <= self.foreground_min_s:
            raise ValueError(f"duration_s={self.duration_s} is too short")
        if not 0 < self.speech_seconds[0] <= self.speech_seconds[1]:
            raise ValueError(f"speech_seconds={self.speech_seconds}: expected 0 < low <= high")
        if not 0.0 <= self.speech_fraction <= 1.0:
            raise ValueError(f"speech_fraction={self.speech_fraction}: expected a probability")
        if self.convolution not in ("causal", "same"):
            raise ValueError(f"convolution={self.convolution!r}: expected 'causal' or 'same'")


def default_dest(cfg: FussMiniConfig) -> Path:
    """mini/fuss for 10 s mixtures; mini/fuss_<d>s for other durations (smoke runs)."""
    return mini_root(NAME if cfg.duration_s == 10.0 else f"{NAME}_{cfg.duration_s:g}s")


def leak_group(rec: Recording) -> str:
    from data_prep.urbansound8k import leak_group as us_leak_group
    return us_leak_group(rec)


def select(recs: list[Recording]) -> tuple[list[Recording], dict[str, list[Recording]]]:
    """(backgrounds, foreground pools) from the catalogue: the pools are "effects" (OpenSFX,
    UFO:AI events, Heroes) and "speech" (the three Asterisk voices, one prompt per recording).
    DatasetError when the backgrounds or a pool are empty."""
    bg = [r for r in recs if re.fullmatch(BACKGROUND_RE, r.id)]
    pools = {
        "effects": [r for r in recs
                    if (r.package == "openttd-opensfx" and r.label not in OPENSFX_EXCLUDE)
                    or re.fullmatch(FOREGROUND_UFOAI_RE, r.id)
                    or r.package == "heroes-sound-effects"],
        "speech": [r for r in recs if r.role == "speech"],
    }
    empty = [name for name, pool in pools.items() if not pool]
    if not bg or empty:
        raise DatasetError(f"no {'background' if not bg else ' or '.join(empty)} recordings found "
                           f"in {PACKAGES}")
    return bg, pools


def join_prompts(first: Recording, pool: list[Recording], target: int,
                 pause_s: tuple[float, float], rng: np.random.Generator, audio,
                 exclude: set[str]) -> tuple[np.ndarray, list[Recording]]:
    """One speech event: the active part of ``first`` and then of further prompts of its voice
    (from ``pool``, leak groups in ``exclude`` left out), each after a pause drawn from
    ``pause_s``, until ``target`` samples are reached; no prompt is cut. Returns the audio
    and the prompts used, in order."""
    voice = [r for r in pool if r.speaker == first.speaker and r != first
             and leak_group(r) not in exclude]
    pieces, parts, length, rec = [], [], 0, first
    while True:
        y = audio(rec)
        a, b = active_extent(y, SAMPLERATE, 40.0)
        pieces.append(y[a:b])
        parts.append(rec)
        length += b - a
        if length >= target or not voice:
            return np.concatenate(pieces), parts
        gap = np.zeros(int(rng.uniform(*pause_s) * SAMPLERATE))
        pieces.append(gap)
        length += len(gap)
        rec = voice.pop(int(rng.integers(len(voice))))


def split_recordings(recs: list[Recording], fractions: tuple[float, float, float],
                     seed: int) -> dict[str, list[Recording]]:
    """Recordings per split; all recordings of one leak group in one split."""
    parts = group_split([r.id for r in recs], [leak_group(r) for r in recs],
                        dict(zip(SPLITS, fractions)), seed)
    by_id = {r.id: r for r in recs}
    return {s: [by_id[i] for i in parts[s]] for s in SPLITS}


def _active_rms(y: np.ndarray) -> float:
    a, b = active_extent(y, SAMPLERATE, 40.0)
    return float(np.sqrt(np.mean(y[a:b].astype(np.float64) ** 2)))


def reverberate(x: np.ndarray, rir: np.ndarray, mode: str = "causal") -> np.ndarray:
    """``x`` convolved with ``RIR_SCALE * rir``, as long as ``x``: the first samples of the full
    convolution ("causal"), or its centred part as numpy's 'same' mode gives (FUSS)."""
    full = oaconvolve(x, RIR_SCALE * rir)
    start = 0 if mode == "causal" else (len(rir) - 1) // 2
    return full[start:start + len(x)]


def quantise_mixture(sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int16 sources, int16 mixture = their integer sum). ValueError if the sum overflows."""
    q = np.round(sources * 32768.0).astype(np.int64)
    q = np.clip(q, -32768, 32767)
    mix = q.sum(axis=0)
    if np.abs(mix).max() > 32767:
        raise ValueError("mixture overflows 16 bits")
    return q.astype(np.int16), mix.astype(np.int16)


def mini_key(seed: int, cfg: FussMiniConfig) -> str:
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION, "config": asdict(cfg),
                        "bg": BACKGROUND_RE, "fg": [FOREGROUND_UFOAI_RE, OPENSFX_EXCLUDE],
                        "peak": PEAK, "rir_scale": RIR_SCALE})


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: FussMiniConfig | None = None) -> Path:
    """Build the FUSS-layout mini corpus (idempotent for a seed and config); returns its root."""
    cfg = config or FussMiniConfig()
    dest = Path(dest) if dest is not None else default_dest(cfg)
    return mini_corpus.build_mini(dest, mini_key(seed, cfg), lambda out: _fill(out, seed, cfg),
                                  seconds_in_manifest=True)


_NOTICE_NOTE = ("\nThe reverberant version (ssdata_reverb) uses SIMULATED shoebox-room impulse\n"
                "responses (pyroomacoustics image-source method; rooms in MINI.json).\n")


def _fill(out: Path, seed: int, cfg: FussMiniConfig) -> mini_corpus.Built:
    """Write both versions' mixtures, sources and example lists into the build folder ``out``."""
    sr = SAMPLERATE
    n = int(round(cfg.duration_s * sr))
    rng = np.random.default_rng(seed)
    bg_all, pools = select(catalogue(PACKAGES))
    bg_split = split_recordings(bg_all, cfg.split_fractions, seed)
    # Each pool is split on its own so that every split holds effects and speech.
    pool_split = {name: split_recordings(pool, cfg.split_fractions, seed + 1 + k)
                  for k, (name, pool) in enumerate(pools.items())}
    cache: dict[str, np.ndarray] = {}

    def audio(rec: Recording) -> np.ndarray:
        if rec.id not in cache:
            cache[rec.id] = read_recording(rec, sr)
        return cache[rec.id]

    counts = dict(zip(SPLITS, (cfg.n_train, cfg.n_validation, cfg.n_eval)))
    lists = {v: {s: [] for s in SPLITS} for v in VERSIONS}
    examples, room_info, used = [], [], set()
    t_rooms = 0.0
    for si, split in enumerate(SPLITS):
        bgs = bg_split[split]
        fg_pools = {name: parts[split] for name, parts in pool_split.items()}
        if not bgs or not all(fg_pools.values()):
            raise DatasetError(f"split {split}: no background or foreground recordings")
        t = time.perf_counter()
        specs = [rooms.draw_room(rng, 4, cfg.rt60_s, max_order_cap=cfg.max_order_cap)
                 for _ in range(cfg.rooms_per_split[si])]
        rirs = [rooms.room_rirs(s, sr) for s in specs]
        t_rooms += time.perf_counter() - t
        for ri, (spec, hs) in enumerate(zip(specs, rirs)):
            measured = []
            for h in hs:
                try:
                    measured.append(round(rooms.measure_rt60(h, sr), 3))
                except ValueError:
                    measured.append(None)
            room_info.append({"split": split, "room": ri, **spec.to_dict(),
                              "rt60_measured_s": measured})
        n_src = np.resize([1, 2, 3, 4], counts[split])
        n_src = n_src[rng.permutation(len(n_src))]
        bg_order = [bgs[i] for i in rng.permutation(len(bgs))]
        room_order: list[int] = []
        for i in range(counts[split]):
            if i % len(specs) == 0:        # FUSS: shuffle the rooms each time the cycle restarts
                room_order += [int(j) for j in rng.permutation(len(specs))]
            name = f"example{i:05d}"
            rel_mix = f"{split}/{name}.wav"
            src_dir = f"{split}/{name}_sources"
            dry = np.zeros((int(n_src[i]), n))
            meta_sources = []
            # Background: a seeded window of the bed, tiled when the bed is shorter (as scaper).
            rec = bg_order[i % len(bg_order)]
            y = audio(rec)
            if len(y) >= n:
                start = int(rng.integers(0, len(y) - n + 1))
                dry[0] = y[start:start + n]
            else:
                start = 0
                dry[0] = np.tile(y, -(-n // len(y)))[:n]
            bg_rms = max(_active_rms(dry[0]), 1e-9)
            dry[0] *= 10 ** (cfg.background_rms_dbfs / 20) / bg_rms
            meta_sources.append({"path": f"{src_dir}/background0_sound.wav", "id": rec.id,
                                 "package": rec.package, "label": rec.label,
                                 "group": leak_group(rec), "start_s": round(start / sr, 4),
                                 "onset_s": 0.0, "duration_s": cfg.duration_s,
                                 "tiled": len(y) < n})
            used.add(rec)
            groups = {leak_group(rec)}
            for k in range(1, int(n_src[i])):
                pool = "speech" if rng.random() < cfg.speech_fraction else "effects"
                fgs = fg_pools[pool]
                cand = [r for r in fgs if leak_group(r) not in groups] or fgs
                rec = cand[int(rng.integers(len(cand)))]
                if pool == "speech":
                    target = int(rng.uniform(*cfg.speech_seconds) * sr)
                    clip, parts = join_prompts(rec, fgs, target, cfg.speech_pause_s, rng, audio,
                                               groups)
                    a, max_len = 0, int(min(cfg.speech_seconds[1], cfg.duration_s) * sr)
                else:
                    y = audio(rec)
                    a, b = active_extent(y, sr, 40.0)
                    clip, parts = y[a:b], [rec]
                    max_len = int(min(cfg.foreground_max_s, cfg.duration_s) * sr)
                start = 0
                if len(clip) > max_len:
                    start = int(rng.integers(0, len(clip) - max_len + 1))
                    clip = clip[start:start + max_len]
                onset = int(rng.integers(0, n - len(clip) + 1))
                snr = float(rng.uniform(*cfg.snr_db))
                gain = 10 ** (cfg.background_rms_dbfs / 20) * 10 ** (snr / 20) / max(_active_rms(clip), 1e-9)
                dry[k, onset:onset + len(clip)] = clip * gain
                meta_sources.append({"path": f"{src_dir}/foreground{k - 1}_sound.wav",
                                     "id": rec.id, "package": rec.package, "label": rec.label,
                                     "pool": pool, "group": leak_group(rec),
                                     "start_s": round((a + start) / sr, 4),
                                     "onset_s": round(onset / sr, 4),
                                     "duration_s": round(len(clip) / sr, 4),
                                     "snr_db": round(snr, 2),
                                     **({"parts": [r.id for r in parts]}
                                        if len(parts) > 1 else {})})
                used.update(parts)
                groups.update(leak_group(r) for r in parts)
            room = room_order[i]
            # Slot 0 of a room is the background position, slots 1-3 the foregrounds.
            wet = np.stack([reverberate(dry[k], rirs[room][k], cfg.convolution)
                            for k in range(len(dry))])
            gains = {}
            for version, sig in (("ssdata", dry), ("ssdata_reverb", wet)):
                peak = max(np.abs(sig).max(), np.abs(sig.sum(axis=0)).max(), 1e-9)
                g = PEAK / peak
                gains[version] = round(20 * np.log10(g), 3)
                q, mix = quantise_mixture(sig * g)
                vroot = out / version
                write_audio(vroot / rel_mix, mix, sr, "PCM_16")
                for k, src in enumerate(meta_sources):
                    write_audio(vroot / src["path"], q[k], sr, "PCM_16")
                lists[version][split].append("\t".join([rel_mix] + [s["path"] for s in meta_sources]))
            examples.append({"mixture": rel_mix, "split": split, "n_sources": int(n_src[i]),
                             "room": {"split": split, "room": room}, "gain_db": gains,
                             "sources": meta_sources})
    for version in VERSIONS:
        for split in SPLITS:
            atomic_write_text(out / version / f"{split}_example_list.txt",
                              "\n".join(lists[version][split]) + "\n")
    used_recs = sorted(used, key=lambda r: (r.package, r.id))
    measured = [m for r in room_info for m in r["rt60_measured_s"] if m is not None]
    targets = [r["rt60_target_s"] for r in room_info for m in r["rt60_measured_s"] if m is not None]
    found = {f"{v}/{s}": counts[s] for v in VERSIONS for s in SPLITS}
    manifest = {
        "dataset": NAME, "layout": "FUSS (DCASE2020 Task 4 separation), ssdata + ssdata_reverb",
        "mini_version": MINI_VERSION, "seed": seed, "config": asdict(cfg), "samplerate": sr,
        "duration_s": cfg.duration_s, "peak": PEAK, "rir_scale": RIR_SCALE,
        "note": "Debian recordings (not FSD50K); reverberation from simulated shoebox rooms; "
                "causal convolution (FUSS used numpy 'same'); see data_prep/fuss_mini.py",
        "counts": found,
        "mixtures_by_sources": {s: {str(k): int(sum(1 for e in examples if e["split"] == s
                                                    and e["n_sources"] == k)) for k in (1, 2, 3, 4)}
                                for s in SPLITS},
        "recordings_per_split": {s: {"background": [r.id for r in bg_split[s]],
                                     **{name: [r.id for r in parts[s]]
                                        for name, parts in pool_split.items()}} for s in SPLITS},
        "rt60_summary": {"target_mean_s": round(float(np.mean(targets)), 3) if targets else None,
                         "measured_mean_s": round(float(np.mean(measured)), 3) if measured else None,
                         "measured_over_target_mean": round(float(np.mean(np.divide(measured, targets))), 3)
                         if measured else None,
                         "method": "Schroeder T30 (-5 to -35 dB) extrapolated to 60 dB"},
        "rooms": room_info, "examples": examples, "room_seconds": round(t_rooms, 2),
    }
    return mini_corpus.Built(manifest, sorted({r.package for r in used_recs}), used_recs,
                             {"seed": seed, "version": MINI_VERSION, "mixtures": len(examples)},
                             _NOTICE_NOTE)
