"""GTZAN music/speech-layout mini corpus from Debian recordings (validator: :mod:`data_prep.gtzan`).

Disjoint from the MUSAN mini: speech from a different speaker (it_IT Carlo prompts joined
into 30 s files) and music from the Drascula tracks the MUSAN mini does not use.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.errors import DatasetError
from common.fileio import stable_hash
from data_prep import mini as mini_corpus
from data_prep.gtzan import FILE_SECONDS, LABELS, LAYOUT_DIR, NAME, SAMPLERATE
from data_prep.mini import OutputSpec, Piece
from data_prep.sources import Recording, catalogue, speaker_package
from data_prep.treatment import TreatmentConfig

MINI_VERSION = 1


@dataclass(frozen=True)
class GtzanMiniConfig:
    speech_speaker: str = "it_IT_m_Carlo"
    n_speech_files: int = 12
    n_music_files: int = 12
    file_s: float = FILE_SECONDS
    pause_s: tuple[float, float] = (0.3, 1.0)
    music_margin_s: float = 3.0


TREATMENT = TreatmentConfig(samplerate=SAMPLERATE)


def plan_speech(prompts: list[Recording], durs: dict[str, float], cfg: GtzanMiniConfig,
                rng: np.random.Generator) -> list[OutputSpec]:
    """Shuffled prompts, each file filled to exactly ``file_s`` by stretching its pauses."""
    lo = cfg.pause_s[0]
    order = [prompts[i] for i in rng.permutation(len(prompts))
             if durs[prompts[i].id] <= cfg.file_s - 2 * lo]
    specs, pos = [], 0
    for n in range(cfg.n_speech_files):
        chosen: list[Recording] = []
        total = 0.0
        while pos < len(order):
            d = durs[order[pos].id]
            if chosen and total + d + len(chosen) * lo > cfg.file_s:
                break
            chosen.append(order[pos])
            total += d
            pos += 1
        if not chosen:
            raise DatasetError(f"not enough prompts of {cfg.speech_speaker} for "
                               f"{cfg.n_speech_files} files of {cfg.file_s} s")
        slack = cfg.file_s - total - lo * (len(chosen) - 1)
        weights = rng.dirichlet(np.ones(len(chosen))) if len(chosen) > 1 else np.ones(1)
        # The slack is spread over the gaps and the file's end (last weight).
        gaps = tuple(round(lo + float(w) * slack, 3) for w in weights[:-1])
        specs.append(OutputSpec(f"{LAYOUT_DIR}/speech_wav/carlo-{n:02d}.wav", "speech", "speech_wav",
                                f"speech/{chosen[0].id}", tuple(Piece(r) for r in chosen), gaps,
                                cfg.file_s))
    return specs


def plan_music(tracks: list[Recording], durs: dict[str, float], cfg: GtzanMiniConfig,
               rng: np.random.Generator) -> list[OutputSpec]:
    """``n_music_files`` 30 s windows: one per track, extra ones from the longest tracks."""
    room = {r.id: int((durs[r.id] - 2 * cfg.music_margin_s) // cfg.file_s) for r in tracks}
    count = {r.id: 0 for r in tracks}
    by_length = sorted(tracks, key=lambda r: -durs[r.id])
    for i in range(cfg.n_music_files):
        free = [r for r in by_length if count[r.id] < room[r.id]]
        if not free:
            raise DatasetError(f"Drascula tracks for the GTZAN mini hold fewer than "
                               f"{cfg.n_music_files} windows of {cfg.file_s} s")
        pick = min(free, key=lambda r: count[r.id])  # stable: longest first among equals
        count[pick.id] += 1
    specs = []
    for r in tracks:
        if not count[r.id]:
            continue
        windows = mini_corpus.plan_windows(durs[r.id], count[r.id] * cfg.file_s,
                                    (cfg.file_s, cfg.file_s), rng, cfg.music_margin_s)
        for k, (start, length) in enumerate(windows):
            stem = r.id.replace("/", "-")
            specs.append(OutputSpec(f"{LAYOUT_DIR}/music_wav/{stem}-{k:02d}.wav", "music",
                                    "music_wav", r.group, (Piece(r, start, length),), (),
                                    cfg.file_s))
    return specs


def plan_mini(seed: int = 0, config: GtzanMiniConfig | None = None) -> list[OutputSpec]:
    cfg = config or GtzanMiniConfig()
    recs = catalogue([speaker_package(cfg.speech_speaker), "drascula-music"])
    durs = mini_corpus.durations(recs)
    rng = np.random.default_rng(seed)
    _, tracks = mini_corpus.drascula_partition(recs, durs)
    prompts = [r for r in recs if r.speaker == cfg.speech_speaker]
    return plan_music(tracks, durs, cfg, rng) + plan_speech(prompts, durs, cfg, rng)


def _extra_files(specs, manifest) -> dict[str, str]:
    counts = manifest["counts"]
    return {"README": (
        "GTZAN music/speech-layout mini corpus built from real recordings shipped by Debian\n"
        "packages (not GTZAN). Layout: music_speech/{music_wav,speech_wav}/*.wav, "
        f"{SAMPLERATE} Hz mono\n16-bit WAV, {FILE_SECONDS:g} s each; music {counts.get('music', 0)}, "
        f"speech {counts.get('speech', 0)} files.\nSpeech: asterisk it_IT Carlo prompts; music: "
        "Drascula tracks unused by the MUSAN mini.\nMINI.json lists every file's sources and split "
        "group; NOTICE lists authors and licences.\n")}


def mini_key(seed: int, config: GtzanMiniConfig | None = None) -> str:
    cfg = config or GtzanMiniConfig()
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION,
                        "config": asdict(cfg), "treatment": TREATMENT.to_dict(),
                        "partition_min_s": mini_corpus.GTZAN_TRACK_MIN_S})


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: GtzanMiniConfig | None = None, workers: int | None = None) -> Path:
    """Build the GTZAN-layout mini corpus; returns the folder holding MINI.json and music_speech/."""
    info = {"dataset": NAME, "layout": "GTZAN music/speech (marsyas)", "mini_version": MINI_VERSION,
            "seed": seed, "config": asdict(config or GtzanMiniConfig()), "labels": LABELS,
            "samplerate": SAMPLERATE}
    return mini_corpus.write_planned(NAME, dest, mini_key(seed, config), lambda: plan_mini(seed, config),
                                     TREATMENT, info, _extra_files, workers)
