"""Shared machinery for building mini corpora in an official layout from Debian recordings.

A dataset module *plans* its corpus as a list of :class:`OutputSpec` (which pieces of which
recordings, joined with which pauses, written where); this module renders the plan with one
treatment for every file, in a process pool, into a temporary folder that replaces the
destination only when complete (with MINI.json, NOTICE and a done marker keyed by the plan).
Planning is cheap and deterministic for a seed, so tests can check a plan without building it.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from common.audio_io import check_audio, write_audio
from common.errors import AudioError, DatasetError
from common.fileio import atomic_write_json, atomic_write_text, is_done, mark_done, read_json
from data_prep.notice import write_notice
from data_prep.sources import Recording, recording_bytes, recording_duration
from data_prep.treatment import TreatmentConfig, normalise_level, treat

MINI_JSON = "MINI.json"


@dataclass(frozen=True)
class Piece:
    rec: Recording
    start_s: float = 0.0
    dur_s: float | None = None  # None: to the end of the recording

    def to_dict(self) -> dict:
        return {"id": self.rec.id, "package": self.rec.package, "source": self.rec.source,
                "label": self.rec.label, "group": self.rec.group, "speaker": self.rec.speaker,
                "start_s": round(self.start_s, 3),
                "duration_s": None if self.dur_s is None else round(self.dur_s, 3)}


@dataclass(frozen=True)
class OutputSpec:
    relpath: str                 # relative to the corpus root
    category: str                # the dataset's class folder (music / speech / noise ...)
    subset: str
    group: str                   # split unit: every source group lies in exactly one MINI group
    pieces: tuple[Piece, ...]
    gaps_s: tuple[float, ...] = ()   # silence between consecutive pieces
    length_s: float | None = None    # exact output length (zero-pad / trim at the end)

    @property
    def utt(self) -> str:
        return Path(self.relpath).stem


def read_piece(piece: Piece) -> tuple[np.ndarray, int]:
    """Mono float32 samples of a piece at the recording's own rate (seeks; no full decode)."""
    rec = piece.rec
    data = recording_bytes(rec)
    source = io.BytesIO(data) if data is not None else str(rec.path)
    try:
        with sf.SoundFile(source) as fh:
            sr = fh.samplerate
            start = int(round(piece.start_s * sr))
            frames = -1 if piece.dur_s is None else int(round(piece.dur_s * sr))
            if start:
                fh.seek(start)
            y = fh.read(frames, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(rec.source, f"cannot decode audio ({exc})") from exc
    check_audio(y, sr, rec.source, allow_silent=True)
    return y.mean(axis=1), sr


def render(spec: OutputSpec, cfg: TreatmentConfig) -> np.ndarray:
    """Treated samples of one output file at ``cfg.samplerate``.

    Each piece is treated on its own (sources differ in rate), then pieces and planned pauses
    are joined; the joined file gets one final level normalisation.
    """
    parts = []
    for i, piece in enumerate(spec.pieces):
        if i:
            parts.append(np.zeros(int(round(spec.gaps_s[i - 1] * cfg.samplerate)), np.float32))
        y, sr = read_piece(piece)
        parts.append(treat(y, sr, cfg))
    y = np.concatenate(parts)
    if len(spec.pieces) > 1:
        y = normalise_level(y, cfg.samplerate, cfg)
    if spec.length_s is not None:
        n = int(round(spec.length_s * cfg.samplerate))
        y = np.pad(y, (0, max(0, n - len(y))))[:n]
    return y


def _write_one(args: tuple[OutputSpec, TreatmentConfig, str]) -> dict:
    spec, cfg, root = args
    y = render(spec, cfg)
    write_audio(Path(root) / spec.relpath, y, cfg.samplerate, "PCM_16")
    return {"path": spec.relpath, "duration_s": round(len(y) / cfg.samplerate, 4)}


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def run_specs(specs: Sequence[OutputSpec], cfg: TreatmentConfig, root: Path,
              workers: int | None = None) -> list[dict]:
    """Render and write every spec; results in spec order."""
    workers = default_workers() if workers is None else workers
    jobs = [(s, cfg, str(root)) for s in specs]
    if workers <= 1 or len(jobs) < 4:
        return [_write_one(j) for j in jobs]
    # fork is fastest, but a parent that already runs TensorFlow's threads is not safe to fork.
    method = "spawn" if "tensorflow" in sys.modules else "fork"
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_write_one, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


def check_dest(dest: Path) -> None:
    """Refuse to build over a non-empty folder that is not a mini corpus (a user's data)."""
    if dest.exists() and any(dest.iterdir()) and not (dest / MINI_JSON).is_file():
        raise DatasetError(f"{dest} exists and is not a mini corpus (no {MINI_JSON}); "
                           f"refusing to overwrite it: choose another destination")


def staging(dest: Path) -> Path:
    """Empty build folder next to ``dest``: a crash never leaves a half corpus at ``dest``."""
    tmp = dest.parent / f".{dest.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish(tmp: Path, dest: Path) -> Path:
    """Swap the finished build folder into place (the previous corpus is removed after)."""
    old = dest.parent / f".{dest.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


@dataclass(frozen=True)
class Built:
    """What a corpus writer hands back once it has filled the build folder."""
    manifest: dict                      # MINI.json
    packages: Sequence[str]             # NOTICE: the packages, with authors and licences
    recordings: Sequence[Recording]     # NOTICE: each recording's credit, in this order
    done: dict = field(default_factory=dict)  # extra fields of the done marker
    notice_note: str = ""               # NOTICE: a paragraph after the credits (what is simulated)


def destination(dataset: str, dest: str | Path | None) -> Path:
    """``dest``, or the dataset's default mini root under REPRO_DATA_DIR."""
    from data_prep.paths import mini_root

    return Path(dest) if dest is not None else mini_root(dataset)


def build_mini(dest: str | Path, key: str, fill: Callable[[Path], Built], *,
               seconds_in_manifest: bool = False) -> Path:
    """Build (or keep, when the done marker matches ``key``) a mini corpus at ``dest``.

    ``fill(folder)`` writes the corpus's own files into an empty build folder next to ``dest``
    and returns :class:`Built`; this adds NOTICE (then ``Built.notice_note``), MINI.json (with ``build_seconds`` when
    ``seconds_in_manifest``) and the done marker, then swaps the folder into place, so every
    mini corpus is published the same way and a crash never leaves half of one at ``dest``.
    """
    dest = Path(dest)
    if is_done(dest, key):
        return dest
    check_dest(dest)
    t0 = time.perf_counter()
    tmp = staging(dest)
    built = fill(tmp)
    seconds = round(time.perf_counter() - t0, 2)
    write_notice(tmp, built.packages, built.recordings)
    if built.notice_note:
        with open(tmp / "NOTICE", "a", encoding="utf-8") as fh:
            fh.write(built.notice_note)
    manifest = {**built.manifest, "build_seconds": seconds} if seconds_in_manifest else built.manifest
    atomic_write_json(tmp / MINI_JSON, manifest)
    mark_done(tmp, key, build_seconds=seconds, **built.done)
    return publish(tmp, dest)


def build_corpus(dest: Path, key: str, specs: Sequence[OutputSpec], cfg: TreatmentConfig,
                 info: dict, extra_files: Callable[[Sequence[OutputSpec], dict], dict[str, str]],
                 packages: Iterable[str], workers: int | None = None) -> Path:
    """Build (or keep, when the done marker matches ``key``) a mini corpus of planned files."""
    def fill(tmp: Path) -> Built:
        results = run_specs(specs, cfg, tmp, workers)
        durations = {r["path"]: r["duration_s"] for r in results}
        files = [{"path": s.relpath, "utt": s.utt, "category": s.category, "subset": s.subset,
                  "group": s.group, "duration_s": durations[s.relpath],
                  "sources": [p.to_dict() for p in s.pieces],
                  "speakers": sorted({p.rec.speaker for p in s.pieces if p.rec.speaker})}
                 for s in specs]
        counts: dict[str, int] = {}
        seconds: dict[str, float] = {}
        for f in files:
            counts[f["category"]] = counts.get(f["category"], 0) + 1
            seconds[f["category"]] = round(seconds.get(f["category"], 0.0) + f["duration_s"], 3)
        manifest = {**info, "treatment": cfg.to_dict(), "counts": counts, "durations_s": seconds,
                    "packages": sorted(set(packages)), "files": files}
        for rel, text in extra_files(specs, manifest).items():
            atomic_write_text(tmp / rel, text)
        recs = {p.rec for s in specs for p in s.pieces}
        return Built(manifest, manifest["packages"], sorted(recs, key=lambda r: (r.package, r.id)),
                     {"files": len(files)})

    return build_mini(dest, key, fill)


def write_planned(dataset: str, dest: str | Path | None, key: str,
                  plan: Callable[[], Sequence[OutputSpec]], cfg: TreatmentConfig, info: dict,
                  extra_files: Callable[[Sequence[OutputSpec], dict], dict[str, str]],
                  workers: int | None = None) -> Path:
    """A planned corpus (MUSAN, GTZAN): planning reads every recording's header, so a corpus
    whose done marker matches ``key`` is returned before ``plan()`` is called."""
    dest = destination(dataset, dest)
    if is_done(dest, key):
        return dest
    specs = plan()
    packages = sorted({p.rec.package for s in specs for p in s.pieces})
    return build_corpus(dest, key, specs, cfg, info, extra_files, packages, workers)


def find_mini_json(root: Path) -> Path | None:
    """MINI.json of a mini corpus given its root or a folder inside it."""
    for folder in (root, root.parent):
        if (folder / MINI_JSON).is_file():
            return folder / MINI_JSON
    return None


def mini_meta(root: str | Path, dataset: str, mini: bool) -> dict | None:
    """MINI.json of a mini corpus when ``mini``; None for a real dataset. A mini corpus checked
    as the official dataset (whose counts it would only fail), or the reverse, is a
    DatasetError that says which flag to use."""
    root = Path(root)
    found = find_mini_json(root)
    if not mini:
        if found is not None:
            raise DatasetError(f"{root} is a mini corpus ({found}), not the official {dataset}: "
                               f"validate it with mini=True")
        return None
    info = read_mini(root)
    if info.get("dataset") != dataset:
        raise DatasetError(f"{found} describes dataset {info.get('dataset')!r}, not {dataset}")
    return info


def resolve_root(dataset: str, env_var: str, root: str | Path | None, mini_if_unset: bool,
                 build_mini: Callable[[], Path], layout: Callable[[Path], Path] | None = None
                 ) -> tuple[Path, bool]:
    """(root, is_mini): the root given or in ``env_var``, else (when allowed) the mini corpus;
    ``layout`` (a dataset's ``resolve_layout``) then maps either to the folder the files are in
    (is_mini is read at the root itself, where MINI.json lies)."""
    from data_prep.paths import dataset_root

    given = (root is not None and str(root).strip()) or os.environ.get(env_var, "").strip()
    if given or not mini_if_unset:
        path = dataset_root(dataset, env_var, root)
        is_mini = find_mini_json(path) is not None
    else:
        path, is_mini = build_mini(), True
    return (layout(path) if layout is not None else path), is_mini


def writer_attr(module: str, name: str):
    """``name`` from the mini writer of dataset module ``module`` (``<module>_mini``), for a
    dataset module's ``__getattr__``: the writer's public names stay reachable from the
    validator module without the validator importing the writer (which imports it)."""
    if name.startswith("_"):
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    import importlib

    writer = importlib.import_module(f"{module}_mini")
    try:
        return getattr(writer, name)
    except AttributeError:
        raise AttributeError(f"module {module!r} has no attribute {name!r}") from None


def read_mini(root: Path) -> dict:
    path = find_mini_json(Path(root))
    if path is None:
        raise DatasetError(f"{root}: no {MINI_JSON} found; not a mini corpus "
                           f"(validate it with mini=False, or rebuild it with write_mini)")
    return read_json(path)


# ----------------------------------------------------------------------------- planners

def durations(recs: Iterable[Recording]) -> dict[str, float]:
    return {r.id: recording_duration(r) for r in recs}


def plan_windows(duration: float, total_s: float, window_s: tuple[float, float],
                 rng: np.random.Generator, margin_s: float = 3.0) -> list[tuple[float, float]]:
    """Non-overlapping (start, length) windows covering about ``total_s`` of one recording.

    The usable span (skipping ``margin_s`` at each end: fades, count-ins) is cut into equal
    sections, one window per section at a random offset, so windows spread over the recording.
    A recording shorter than the window gives one window of what it has.
    """
    lo, hi = window_s
    span_start = margin_s if duration > lo + 2 * margin_s else 0.0
    span = duration - 2 * span_start
    if span <= 0:
        return []
    n = max(1, int(round(total_s / ((lo + hi) / 2))))
    n = min(n, max(1, int(span // lo)))
    section = span / n
    out = []
    for i in range(n):
        length = min(rng.uniform(lo, hi), section)
        start = span_start + i * section + rng.uniform(0, section - length)
        out.append((round(start, 3), round(length, 3)))
    return out


def pack(items: Sequence[tuple[str, float]], target_s: tuple[float, float], pause_s: tuple[float, float],
         rng: np.random.Generator) -> list[tuple[list[str], list[float]]]:
    """Pack (key, duration) items, in the given order, into files of about ``target_s``.

    Returns [(keys, gaps)] with one random pause per gap. An item longer than the target makes
    a file on its own; a short remainder at the end joins the previous file.
    """
    files: list[tuple[list[str], list[float]]] = []
    keys: list[str] = []
    gaps: list[float] = []
    length = 0.0
    goal = rng.uniform(*target_s)
    for key, dur in items:
        if keys:
            gap = float(rng.uniform(*pause_s))
            if length + gap + dur > target_s[1] and length >= target_s[0]:
                files.append((keys, gaps))
                keys, gaps, length, goal = [], [], 0.0, rng.uniform(*target_s)
            else:
                gaps.append(round(gap, 3))
                length += gap
        keys.append(key)
        length += dur
        if length >= goal:
            files.append((keys, gaps))
            keys, gaps, length, goal = [], [], 0.0, rng.uniform(*target_s)
    if keys:
        if files and length < target_s[0]:
            prev_keys, prev_gaps = files.pop()
            keys, gaps = prev_keys + keys, prev_gaps + [round(float(rng.uniform(*pause_s)), 3)] + gaps
        files.append((keys, gaps))
    return files


# Drascula tracks are shared between the MUSAN mini (music) and the GTZAN mini (music): a fixed,
# seed-independent partition keeps the two corpora disjoint whatever seeds they are built with.
GTZAN_TRACK_MIN_S = 35.0


def drascula_partition(recs: Sequence[Recording], durs: dict[str, float]
                       ) -> tuple[list[Recording], list[Recording]]:
    """(tracks for the MUSAN mini, tracks for the GTZAN mini): every third long track to GTZAN."""
    tracks = [r for r in recs if r.package == "drascula-music"]  # catalogue order: track1, 2, ...
    long_tracks = [r for r in tracks if durs[r.id] >= GTZAN_TRACK_MIN_S]
    gtzan = {r.id for i, r in enumerate(long_tracks) if i % 3 == 2}
    return [r for r in tracks if r.id not in gtzan], [r for r in tracks if r.id in gtzan]


def mini_file_groups(root: Path) -> dict[str, str]:
    """{path relative to ``root``: split group} from the MINI.json above or at ``root``."""
    path = find_mini_json(Path(root))
    if path is None:
        return {}
    prefix = Path(root).resolve().relative_to(path.parent.resolve())
    out = {}
    for f in read_json(path)["files"]:
        p = Path(f["path"])
        try:
            out[p.relative_to(prefix).as_posix()] = f["group"]
        except ValueError:
            continue
    return out
