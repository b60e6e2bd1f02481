"""MUSAN-layout mini corpus from Debian recordings (the validator is :mod:`data_prep.musan`).

Subsets are named after the Debian sources: speech/{allison,june} (asterisk prompts joined
into 8-15 s files), music/{opsound,drascula} (10-20 s windows of tracks), noise/{opensfx,ufoai}
(sound effects and ambience loops).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.errors import DatasetError
from common.fileio import stable_hash
from data_prep import mini as mini_corpus
from data_prep.mini import OutputSpec, Piece
from data_prep.musan import LABELS, NAME, SAMPLERATE
from data_prep.sources import PACKAGES, Recording, catalogue, speaker_package
from data_prep.treatment import TreatmentConfig

MINI_VERSION = 1


@dataclass(frozen=True)
class MusanMiniConfig:
    """Amounts of the mini corpus (about 8-12 minutes per category)."""
    speech_speakers: tuple[str, ...] = ("en_US_f_Allison", "fr_CA_f_June")
    speech_seconds_per_speaker: float = 300.0
    speech_file_s: tuple[float, float] = (8.0, 15.0)
    speech_pause_s: tuple[float, float] = (0.2, 0.7)
    music_opsound_seconds_per_track: float = 60.0
    music_drascula_seconds_per_track: float = 15.0
    music_window_s: tuple[float, float] = (10.0, 20.0)
    noise_ambience_max_s_per_recording: float = 30.0
    noise_ambience_whole_below_s: float = 20.0
    noise_ambience_window_s: tuple[float, float] = (10.0, 15.0)
    noise_min_source_s: float = 1.0
    noise_sfx_file_s: tuple[float, float] = (5.0, 10.0)
    noise_sfx_pause_s: tuple[float, float] = (0.3, 0.8)
    noise_takes_pause_s: tuple[float, float] = (0.2, 0.5)
    max_files_per_subset: int | None = None  # tests: a tiny corpus


TREATMENT = TreatmentConfig(samplerate=SAMPLERATE)
SPEECH_SUBSETS = {"en_US_f_Allison": "allison", "fr_CA_f_June": "june", "it_IT_m_Carlo": "carlo"}
# UFO:AI ambience loops that hold speech or music, or are designed (alien) sounds, are not noise.
_AMBIENCE_EXCLUDE = re.compile(r"alien|radio|tv_|disco|jingle|bloodspider")
_NOISE_PACKAGES = ("openttd-opensfx", "ufoai-sound")
_MUSIC_PACKAGES = ("asterisk-moh-opsound-wav", "drascula-music")


# ----------------------------------------------------------------------------- planning

def _named(category: str, subset: str, specs: list[tuple[str, tuple[Piece, ...], tuple[float, ...]]],
           limit: int | None) -> list[OutputSpec]:
    """MUSAN-style names: <category>/<subset>/<category>-<subset>-0000.wav."""
    out = []
    for i, (group, pieces, gaps) in enumerate(specs[:limit] if limit else specs):
        out.append(OutputSpec(f"{category}/{subset}/{category}-{subset}-{i:04d}.wav",
                              category, subset, group, pieces, gaps))
    return out


def plan_speech(recs: list[Recording], durs: dict[str, float], speaker: str, seconds: float,
                file_s: tuple[float, float], pause_s: tuple[float, float],
                rng: np.random.Generator) -> list[tuple[str, tuple[Piece, ...], tuple[float, ...]]]:
    """Prompts of one speaker, shuffled, packed into files until ``seconds`` are used."""
    prompts = [r for r in recs if r.speaker == speaker]
    if not prompts:
        raise DatasetError(f"no speech prompts found for speaker {speaker}")
    order = [prompts[i] for i in rng.permutation(len(prompts))]
    chosen, total = [], 0.0
    for r in order:
        if total >= seconds:
            break
        chosen.append(r)
        total += durs[r.id] + np.mean(pause_s)
    by_id = {r.id: r for r in chosen}
    files = mini_corpus.pack([(r.id, durs[r.id]) for r in chosen], file_s, pause_s, rng)
    # Every prompt is used once, so the file is its own split group (named by its first prompt).
    return [(f"speech/{by_id[keys[0]].id}", tuple(Piece(by_id[k]) for k in keys), tuple(gaps))
            for keys, gaps in files]


def plan_music_windows(tracks: list[Recording], durs: dict[str, float], seconds_per_track: float,
                       window_s: tuple[float, float], rng: np.random.Generator):
    """Windows of each track; every window of one track shares the track's group."""
    out = []
    for r in tracks:
        for start, length in mini_corpus.plan_windows(durs[r.id], seconds_per_track, window_s, rng):
            out.append((r.group, (Piece(r, start, length),), ()))
    return out


def _group_takes(recs: list[Recording]) -> dict[str, list[Recording]]:
    groups: dict[str, list[Recording]] = {}
    for r in recs:
        groups.setdefault(r.group, []).append(r)
    return groups


def plan_noise_ufoai(recs: list[Recording], durs: dict[str, float], cfg: MusanMiniConfig,
                     rng: np.random.Generator):
    """Ambience loops (whole or windowed), footsteps per surface and breakage per material."""
    out = []
    ambience = [r for r in recs if r.label == "ambience" and not _AMBIENCE_EXCLUDE.search(r.id)
                and durs[r.id] >= cfg.noise_min_source_s]
    for r in ambience:
        if durs[r.id] <= cfg.noise_ambience_whole_below_s:
            out.append((r.group, (Piece(r),), ()))
            continue
        for start, length in mini_corpus.plan_windows(durs[r.id], cfg.noise_ambience_max_s_per_recording,
                                               cfg.noise_ambience_window_s, rng, margin_s=0.5):
            out.append((r.group, (Piece(r, start, length),), ()))
    takes = [r for r in recs if r.label.startswith(("footsteps/", "misc/break"))]
    for group, members in sorted(_group_takes(takes).items()):
        for keys, gaps in mini_corpus.pack([(r.id, durs[r.id]) for r in members],
                                    cfg.noise_sfx_file_s, cfg.noise_takes_pause_s, rng):
            by_id = {r.id: r for r in members}
            out.append((group, tuple(Piece(by_id[k]) for k in keys), tuple(gaps)))
    return out


def plan_noise_opensfx(recs: list[Recording], durs: dict[str, float], cfg: MusanMiniConfig,
                       rng: np.random.Generator):
    """Effects packed into files; entries cut from one original recording stay in one file."""
    groups = _group_takes(recs)
    names = sorted(groups)
    order = [names[i] for i in rng.permutation(len(names))]
    pause = float(np.mean(cfg.noise_sfx_pause_s))
    items = [(g, sum(durs[r.id] for r in groups[g]) + pause * (len(groups[g]) - 1)) for g in order]
    out = []
    for gkeys, _ in mini_corpus.pack(items, cfg.noise_sfx_file_s, cfg.noise_sfx_pause_s, rng):
        pieces = [Piece(r) for g in gkeys for r in groups[g]]
        gaps = tuple(round(float(rng.uniform(*cfg.noise_sfx_pause_s)), 3) for _ in pieces[1:])
        out.append((gkeys[0], tuple(pieces), gaps))
    return out


def plan_mini(seed: int = 0, config: MusanMiniConfig | None = None) -> list[OutputSpec]:
    """The whole mini corpus as output specs (cheap: reads headers only)."""
    cfg = config or MusanMiniConfig()
    speech_pkgs = sorted({speaker_package(s) for s in cfg.speech_speakers})
    recs = catalogue(speech_pkgs + list(_MUSIC_PACKAGES) + list(_NOISE_PACKAGES))
    durs = mini_corpus.durations(r for r in recs if r.package != "ufoai-sound" or r.label == "ambience"
                          or r.label.startswith(("footsteps/", "misc/break")))
    rng = np.random.default_rng(seed)
    lim = cfg.max_files_per_subset
    specs: list[OutputSpec] = []
    for speaker in cfg.speech_speakers:
        sub = SPEECH_SUBSETS.get(speaker, speaker.split("_")[-1].lower())
        specs += _named("speech", sub, plan_speech(
            [r for r in recs if r.role == "speech"], durs, speaker, cfg.speech_seconds_per_speaker,
            cfg.speech_file_s, cfg.speech_pause_s, rng), lim)
    moh = [r for r in recs if r.package == "asterisk-moh-opsound-wav"]
    musan_tracks, _ = mini_corpus.drascula_partition(recs, durs)
    specs += _named("music", "opsound", plan_music_windows(
        moh, durs, cfg.music_opsound_seconds_per_track, cfg.music_window_s, rng), lim)
    specs += _named("music", "drascula", plan_music_windows(
        musan_tracks, durs, cfg.music_drascula_seconds_per_track, cfg.music_window_s, rng), lim)
    specs += _named("noise", "opensfx", plan_noise_opensfx(
        [r for r in recs if r.package == "openttd-opensfx"], durs, cfg, rng), lim)
    specs += _named("noise", "ufoai", plan_noise_ufoai(
        [r for r in recs if r.package == "ufoai-sound" and r.id in durs], durs, cfg, rng), lim)
    return specs


# ----------------------------------------------------------------------------- writing

_GENRE = {"asterisk-moh-opsound-wav": "electronic", "drascula-music": "soundtrack"}


def _artist(rec: Recording) -> str:
    if rec.package == "drascula-music":
        return "Alcachofa_Soft"
    return rec.path.stem.split("-")[0]  # macroform-cold_day -> macroform


def _clean(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "-"


def _extra_files(specs, manifest) -> dict[str, str]:
    """ANNOTATIONS + LICENSE per subset, README at the root."""
    files: dict[str, list[str]] = {}
    packages: dict[str, set[str]] = {}
    for s in specs:
        folder = f"{s.category}/{s.subset}"
        first = s.pieces[0].rec
        if s.category == "music":
            line = f"{s.utt} {_GENRE[first.package]} N {_artist(first)}"
        elif s.category == "speech":
            line = f"{s.utt} {first.speaker} {first.speaker.split('_')[0]}"
        else:
            line = f"{s.utt} {_clean(s.group)} {_clean(first.label)}"
        files.setdefault(folder, []).append(line)
        packages.setdefault(folder, set()).update(p.rec.package for p in s.pieces)
    out = {f"{folder}/ANNOTATIONS": "\n".join(lines) + "\n" for folder, lines in files.items()}
    for folder, pkgs in packages.items():
        out[f"{folder}/LICENSE"] = "\n".join(
            f"{p}: {PACKAGES[p].licence}. Authors: {PACKAGES[p].authors}. "
            f"Full terms: /usr/share/doc/{p}/copyright" for p in sorted(pkgs)) + "\n"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(manifest["counts"].items()))
    out["README"] = (
        "MUSAN-layout mini corpus built from real recordings shipped by Debian packages\n"
        "(not the MUSAN corpus). Layout: {music,noise,speech}/<subset>/*.wav + ANNOTATIONS +\n"
        f"LICENSE. {SAMPLERATE} Hz mono 16-bit WAV. Files: {counts}.\n"
        "Every file had the same treatment (see MINI.json 'treatment'); MINI.json lists the\n"
        "source recordings and split group of every file; NOTICE lists authors and licences.\n")
    return out


def mini_key(seed: int, config: MusanMiniConfig | None = None) -> str:
    cfg = config or MusanMiniConfig()
    return stable_hash({"dataset": NAME, "seed": seed, "version": MINI_VERSION,
                        "config": asdict(cfg), "treatment": TREATMENT.to_dict()})


def write_mini(dest: str | Path | None = None, seed: int = 0, *,
               config: MusanMiniConfig | None = None, workers: int | None = None) -> Path:
    """Build the MUSAN-layout mini corpus (idempotent: a matching done marker returns at once)."""
    info = {"dataset": NAME, "layout": "MUSAN (OpenSLR 17)", "mini_version": MINI_VERSION,
            "seed": seed, "config": asdict(config or MusanMiniConfig()), "labels": LABELS,
            "samplerate": SAMPLERATE}
    return mini_corpus.write_planned(NAME, dest, mini_key(seed, config), lambda: plan_mini(seed, config),
                                     TREATMENT, info, _extra_files, workers)
