"""GTZAN music/speech (marsyas): validator for the official layout, and a mini corpus in it.

Official layout (spec swishnet.md §3.2)::

    music_speech/{music_wav,speech_wav}/*.wav     22,050 Hz mono, 30 s; 64 + 64 files

(the SwishNet paper says 60 + 60; the seed's notebook logs 64 + 64). Labels use the seed's
MUSAN map: music=1, speech=2.

The mini corpus is disjoint from the MUSAN mini: speech from a different speaker (it_IT Carlo
prompts joined into 30 s files) and music from the Drascula tracks the MUSAN mini does not use.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import DatasetError
from common.fileio import is_done, stable_hash
from data_prep import mini as mini_corpus
from data_prep.mini import OutputSpec, Piece
from data_prep.paths import dataset_root, mini_root
from data_prep.sources import Recording, catalogue, speaker_package
from data_prep.treatment import TreatmentConfig
from data_prep.validation import ValidationReport, check_audio_files, problems

NAME = "gtzan"
ENV_VAR = "GTZAN_ROOT"
SAMPLERATE = 22050
FILE_SECONDS = 30.0
FOLDERS = {"music": "music_wav", "speech": "speech_wav"}
EXPECTED = {"music": 64, "speech": 64}
PAPER_COUNTS = {"music": 60, "speech": 60}
LABELS = {"music": 1, "speech": 2}
LAYOUT_DIR = "music_speech"
# A file this far from 30 s is reported in the notes (not rejected).
DURATION_TOLERANCE_S = 1.0
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
    dest = Path(dest) if dest is not None else mini_root(NAME)
    key = mini_key(seed, config)
    if is_done(dest, key):
        return dest
    specs = plan_mini(seed, config)
    packages = sorted({p.rec.package for s in specs for p in s.pieces})
    info = {"dataset": NAME, "layout": "GTZAN music/speech (marsyas)", "mini_version": MINI_VERSION,
            "seed": seed, "config": asdict(config or GtzanMiniConfig()), "labels": LABELS,
            "samplerate": SAMPLERATE}
    return mini_corpus.build_corpus(dest, key, specs, TREATMENT, info, _extra_files, packages, workers)


def _resolve_layout(root: Path) -> Path:
    if not any((root / f).is_dir() for f in FOLDERS.values()) and (root / LAYOUT_DIR).is_dir():
        root = root / LAYOUT_DIR
    if not any((root / f).is_dir() for f in FOLDERS.values()):
        raise DatasetError(f"{root}: no GTZAN music/speech folders (music_wav/, speech_wav/, or "
                           f"{LAYOUT_DIR}/ holding them); set {ENV_VAR} to that folder")
    return root


def validate(root: str | Path | None = None, *, mini: bool = False) -> ValidationReport:
    root = _resolve_layout(dataset_root(NAME, ENV_VAR, root))
    meta = mini_corpus.mini_meta(root, NAME, mini)
    expected = dict(meta["counts"]) if meta else dict(EXPECTED)
    groups = _mini_groups(root) if meta else {}
    notes = [] if meta else [f"official counts {EXPECTED}; the SwishNet paper reports {PAPER_COUNTS}"]
    missing: list[tuple[str, str]] = []
    found: dict[str, int] = {}
    rows = []
    for cat, folder in FOLDERS.items():
        if not (root / folder).is_dir():
            missing.append((f"{folder}/", "category folder is missing"))
            found[cat] = 0
            continue
        wavs = sorted((root / folder).glob("*.wav"))
        found[cat] = len(wavs)
        for w in wavs:
            rel = w.relative_to(root).as_posix()
            rows.append({"file": str(w), "path": rel, "category": cat, "subset": folder,
                         "utt": w.stem, "label": LABELS[cat], "group": groups.get(rel, f"{cat}/{w.stem}")})
    ok, bad = check_audio_files([r["file"] for r in rows], expected_sr=SAMPLERATE)
    info = ok.set_index("path")
    manifest = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "file"}
         | {"samplerate": int(info.loc[r["file"], "samplerate"]),
            "channels": int(info.loc[r["file"], "channels"]),
            "duration": float(info.loc[r["file"], "duration"])}
         for r in rows if r["file"] in info.index],
        columns=["path", "category", "subset", "utt", "label", "group", "samplerate", "channels",
                 "duration"])
    off = manifest[(manifest["duration"] - FILE_SECONDS).abs() > DURATION_TOLERANCE_S]
    if len(off):
        notes.append(f"{len(off)} file(s) are not {FILE_SECONDS:g} s long: "
                     + ", ".join(f"{p} ({d:.1f} s)"
                                 for p, d in zip(off["path"].head(5), off["duration"].head(5))))
    stereo = manifest[manifest["channels"] != 1]
    if len(stereo):
        notes.append(f"{len(stereo)} file(s) are not mono (downmixed when read)")
    bad = bad.assign(path=[Path(p).relative_to(root).as_posix() for p in bad["path"]])
    return ValidationReport(NAME, root, manifest, problems(missing), bad, expected, found,
                            is_mini=meta is not None, notes=notes)


def _mini_groups(root: Path) -> dict[str, str]:
    return mini_corpus.mini_file_groups(root)


def root(root: str | Path | None = None, *, mini_if_unset: bool = True,
         seed: int = 0) -> tuple[Path, bool]:
    """(dataset root, is_mini): the user's root (argument or $GTZAN_ROOT), else the mini corpus."""
    return mini_corpus.resolve_root(NAME, ENV_VAR, root, mini_if_unset,
                                    lambda: write_mini(seed=seed))
