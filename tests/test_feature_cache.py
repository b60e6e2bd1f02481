"""HDF5 feature cache: keys, reuse, atomicity, skipped items, parallel == serial."""
from __future__ import annotations

import dataclasses
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from common import feature_cache as FC
from common.audio_io import load_audio, write_audio
from common.errors import AudioError, ConfigError, ReproError
from common.features import psf_mfcc, psf_mfcc_args
from reproductions.swishnet.config import FeatureConfig

REPO = Path(__file__).resolve().parents[1]
# the SwishNet report's MFCC settings: a frozen dataclass, as the cache keys take
SWISHNET_MFCC = FeatureConfig()


# Top-level (picklable) item functions, as map_cached requires.

def clip_mfccs(path: str, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """SwishNet-like job: 0.5 s clips with 50 % overlap, psf MFCC of each."""
    y, sr = load_audio(path, expected_sr=cfg.samplerate)
    win = sr // 2
    starts = range(0, len(y) - win + 1, win // 2)
    return {"mfcc": np.stack([psf_mfcc(y[s:s + win], **psf_mfcc_args(cfg)) for s in starts]),
            "label": np.int64(len(Path(path).stem))}


def counted(item: str, counter: str) -> dict[str, np.ndarray]:
    """Record every call in a file (O_APPEND writes are atomic across worker processes)."""
    fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{item}\n".encode())
    finally:
        os.close(fd)
    return {"x": np.frombuffer(item.encode(), dtype=np.uint8).astype(np.float32)}


def fails_on(item: str, bad: str, exc: str) -> dict[str, np.ndarray]:
    if item == bad:
        if exc == "runtime":
            raise RuntimeError(f"boom on {item}")
        raise KeyboardInterrupt
    return {"x": np.ones(3)}


def calls(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def no_temp_files(folder: Path) -> bool:
    return not list(folder.glob(".*.tmp"))


@pytest.fixture
def wavs(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        p = tmp_path / "audio" / f"clip{'x' * i}.wav"
        write_audio(p, (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
        paths.append(str(p))
    return paths


# --- keys ------------------------------------------------------------------------------------

def test_key_is_stable_and_tracks_config_files_order_and_fn(wavs):
    cfg = SWISHNET_MFCC
    key = FC.cache_key(wavs, cfg)
    assert key == FC.cache_key(list(wavs), dataclasses.replace(cfg))
    assert key != FC.cache_key(wavs, dataclasses.replace(cfg, winstep=0.010))
    assert key != FC.cache_key(wavs[::-1], cfg)
    assert key != FC.cache_key(wavs[:-1], cfg)
    assert FC.cache_key(wavs, cfg, fn=clip_mfccs) != FC.cache_key(wavs, cfg, fn=counted)
    # A partial is identified by the function it wraps.
    assert FC.cache_key(wavs, cfg, fn=functools.partial(clip_mfccs, cfg=cfg)) == \
        FC.cache_key(wavs, cfg, fn=clip_mfccs)

    # Same file, new modification time -> new key; same mtime, other size -> new key.
    st = os.stat(wavs[0])
    os.utime(wavs[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = FC.cache_key(wavs, cfg)
    assert touched != key
    st1 = os.stat(wavs[1])
    with open(wavs[1], "ab") as fh:
        fh.write(b"\0\0")
    os.utime(wavs[1], ns=(st1.st_atime_ns, st1.st_mtime_ns))
    assert FC.cache_key(wavs, cfg) != touched


def test_key_is_the_same_in_another_process(wavs):
    code = ("import sys; from common.feature_cache import cache_key; "
            "from reproductions.swishnet.config import FeatureConfig; "
            "print(cache_key(sys.argv[1:], FeatureConfig()))")
    out = subprocess.run([sys.executable, "-c", code, *wavs], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == FC.cache_key(wavs, SWISHNET_MFCC)


def test_key_of_tuples_and_plain_ids(tmp_path):
    items = [("a", 0), ("a", 1)]
    assert FC.cache_key(items, None) == FC.cache_key([("a", 0), ("a", 1)], None)
    assert FC.cache_key(items, None) != FC.cache_key([("a", 0), ("a", 2)], None)
    with pytest.raises(ConfigError, match="not a str"):
        FC.cache_key([object()], None)


# --- reuse and rebuild -----------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_second_call_does_no_work_and_changes_rebuild(tmp_path, workers):
    counter = tmp_path / "calls.txt"
    items = [f"item{i}" for i in range(8)]
    fn = functools.partial(counted, counter=str(counter))
    cache = tmp_path / "cache.h5"
    assert FC.map_cached(items, fn, cache, {"v": 1}, workers=workers) == cache
    assert sorted(calls(counter)) == sorted(items)

    FC.map_cached(items, fn, cache, {"v": 1}, workers=workers)
    assert len(calls(counter)) == len(items)  # nothing ran again

    FC.map_cached(items, fn, cache, {"v": 2}, workers=workers)  # new config -> rebuild
    assert len(calls(counter)) == 2 * len(items)
    assert FC.read_key(cache) == FC.cache_key(items, {"v": 2}, fn=fn)
    assert no_temp_files(tmp_path)


def test_changed_audio_file_rebuilds(tmp_path, wavs):
    fn = functools.partial(clip_mfccs, cfg=SWISHNET_MFCC)
    cache = tmp_path / "mfcc.h5"
    FC.map_cached(wavs, fn, cache, SWISHNET_MFCC, workers=1)
    first_key = FC.read_key(cache)
    write_audio(wavs[2], np.zeros(16000, np.float32) + 0.01, 16000)  # new content
    FC.map_cached(wavs, fn, cache, SWISHNET_MFCC, workers=1)
    assert FC.read_key(cache) != first_key
    groups = dict(FC.load_groups(cache))
    fresh = clip_mfccs(wavs[2], SWISHNET_MFCC)["mfcc"]
    np.testing.assert_array_equal(groups[wavs[2]]["mfcc"], fresh)


# --- atomicity -------------------------------------------------------------------------------

@pytest.mark.parametrize("workers, exc", [(1, "runtime"), (2, "runtime"), (1, "interrupt")])
def test_failed_run_leaves_no_cache(tmp_path, workers, exc):
    items = [f"i{k}" for k in range(10)]
    fn = functools.partial(fails_on, bad="i6", exc=exc)
    cache = tmp_path / "c.h5"
    expected = ReproError if exc == "runtime" else KeyboardInterrupt
    with pytest.raises(expected) as info:
        FC.map_cached(items, fn, cache, None, workers=workers)
    if exc == "runtime":
        assert "'i6'" in str(info.value) and "boom on i6" in str(info.value)
    assert not cache.exists()
    assert no_temp_files(tmp_path)


def test_failed_rebuild_keeps_the_old_cache_and_never_passes_as_new(tmp_path):
    items = [f"i{k}" for k in range(5)]
    cache = tmp_path / "c.h5"
    good = functools.partial(fails_on, bad="none", exc="runtime")
    FC.map_cached(items, good, cache, {"v": 1}, workers=1)
    old_key = FC.read_key(cache)
    bad = functools.partial(fails_on, bad="i3", exc="runtime")
    with pytest.raises(ReproError):
        FC.map_cached(items, bad, cache, {"v": 2}, workers=1)
    assert FC.read_key(cache) == old_key
    assert not FC.is_complete(cache, FC.cache_key(items, {"v": 2}, fn=bad))


def test_incomplete_or_corrupt_file_is_not_trusted(tmp_path):
    items = ["a", "b"]
    counter = tmp_path / "calls.txt"
    fn = functools.partial(counted, counter=str(counter))
    cache = tmp_path / "c.h5"
    key = FC.cache_key(items, None, fn=fn)
    with h5py.File(cache, "w") as f:  # right key, but 'complete' never written
        f.attrs["key"] = key
    assert FC.read_key(cache) is None
    with pytest.raises(ReproError, match="not a complete"):
        list(FC.load_groups(cache))
    FC.map_cached(items, fn, cache, None, workers=1)
    assert calls(counter) == items and FC.is_complete(cache, key)

    cache.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 10)  # truncated/corrupt file
    assert FC.read_key(cache) is None
    FC.map_cached(items, fn, cache, None, workers=1)
    assert len(calls(counter)) == 4 and FC.is_complete(cache, key)


def test_killed_process_leaves_no_cache_and_next_run_cleans_up(tmp_path):
    cache = tmp_path / "c.h5"
    script = (
        "import functools, sys, time\n"
        "from common import feature_cache as FC\n"
        "def slow(i):\n"
        "    time.sleep(0.05)\n"
        "    import numpy as np; return {'x': np.arange(i)}\n"
        "if __name__ == '__main__':\n"
        "    FC.map_cached(list(range(200)), slow, sys.argv[1], None, workers=1)\n")
    (tmp_path / "job.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": str(REPO), "REPRO_NO_PROGRESS": "1"}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "job.py"), str(cache)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".c.h5.*.tmp")):
            assert proc.poll() is None and time.monotonic() < deadline, "job never started"
            time.sleep(0.05)
        time.sleep(0.3)  # some items written
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not cache.exists()
    assert FC.read_key(cache) is None
    stale = list(tmp_path.glob(".c.h5.*.tmp"))
    assert stale  # a hard kill cannot clean up ...
    FC.map_cached(["a"], functools.partial(counted, counter=str(tmp_path / "n")), cache, None,
                  workers=1)
    assert not any(p.exists() for p in stale)  # ... but the next run removes it


# --- skipped items ---------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_audio_error_item_is_skipped_and_listed(tmp_path, wavs, workers):
    missing = str(tmp_path / "audio" / "missing.wav")
    silent = str(tmp_path / "audio" / "silent.wav")
    write_audio(silent, np.zeros(16000, np.float32), 16000)
    items = [wavs[0], missing, wavs[1], silent]
    cache = FC.map_cached(items, functools.partial(clip_mfccs, cfg=SWISHNET_MFCC),
                          tmp_path / "c.h5", SWISHNET_MFCC, workers=workers)
    skipped = FC.read_skipped(cache)
    assert [name for name, _ in skipped] == [missing, silent]
    assert "does not exist" in skipped[0][1] and "silent" in skipped[1][1]
    assert [name for name, _ in FC.load_groups(cache)] == [wavs[0], wavs[1]]
    assert FC.read_items(cache) == items
    with h5py.File(cache, "r") as f:
        assert f.attrs["n_skipped"] == 2 and f.attrs["n_items"] == 4


def test_audio_error_reason_survives_the_worker_boundary():
    # AudioError cannot be unpickled by its own class; the guard sends the reason as text.
    def raiser(item):
        raise AudioError(item, "header says 0 channels")
    assert FC._guarded(raiser, "x.wav") == (FC._SKIP, "header says 0 channels")


# --- parallel == serial ----------------------------------------------------------------------

def _read_all(cache: Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    return list(FC.load_groups(cache))


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_parallel_equals_serial_bit_for_bit(tmp_path, wavs, start_method):
    fn = functools.partial(clip_mfccs, cfg=SWISHNET_MFCC)
    serial = _read_all(FC.map_cached(wavs, fn, tmp_path / "s.h5", SWISHNET_MFCC,
                                     workers=1))
    parallel = _read_all(FC.map_cached(wavs, fn, tmp_path / "p.h5", SWISHNET_MFCC,
                                       workers=2, chunksize=2, start_method=start_method))
    assert [n for n, _ in parallel] == [n for n, _ in serial] == wavs  # item order kept
    for (_, a), (_, b) in zip(serial, parallel):
        assert a.keys() == b.keys() == {"mfcc", "label"}
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes()
    assert serial[0][1]["mfcc"].shape == (3, 33, 20)  # 1 s -> three 0.5 s clips, 33 frames


# --- names -----------------------------------------------------------------------------------

def test_names_with_slashes_and_custom_names(tmp_path):
    counter = str(tmp_path / "n")
    fn = functools.partial(counted, counter=counter)
    items = ["a/b", ".", "50%/x", "..", "%2E"]
    cache = FC.map_cached(items, fn, tmp_path / "c.h5", None, workers=1)
    assert [n for n, _ in FC.load_groups(cache)] == items
    cache2 = FC.map_cached(items, fn, tmp_path / "c2.h5", None, workers=1,
                           names=lambda s: f"id-{len(s)}-{s[0]}")
    assert [n for n, _ in FC.load_groups(cache2)] == \
        ["id-3-a", "id-1-.", "id-5-5", "id-2-.", "id-3-%"]
    with pytest.raises(ConfigError, match="share the group name"):
        FC.map_cached(["ab", "ac"], fn, tmp_path / "c3.h5", None, names=lambda s: s[0])
