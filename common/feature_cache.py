"""HDF5 feature cache: extract once in parallel worker processes, reuse while inputs are unchanged.

Layout of one cache file::

    /<escaped item name>/<array name>   one group per item that succeeded, arrays from ``fn``
    /__items__                          names of all items, in input order (utf-8 strings)
    /__skipped__                        (n, 2) utf-8 strings: item name, reason (AudioError)
    attrs: key, version, n_items, n_skipped, complete (written last)

The item list is a dataset rather than an attribute because HDF5 attributes are limited to
64 KiB, which a corpus-sized list of paths exceeds.

Writes go to a temporary file beside the cache that is renamed over it only after
``complete=True`` has been written and the file closed, so an interrupted run leaves either
the previous complete cache or nothing: never a half file under the cache's name.

This module must not import TensorFlow/Keras: it runs in worker processes whose start-up cost
is the import time of whatever they import.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import multiprocessing
import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import h5py
import numpy as np
from tqdm import tqdm

from common.errors import AudioError, ConfigError, ReproError
from common.fileio import stable_hash

CACHE_VERSION = "feature-cache-v1"
ITEMS = "__items__"
SKIPPED = "__skipped__"
_RESERVED = (ITEMS, SKIPPED)
_STR = h5py.string_dtype("utf-8")


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------

def _identity(value: Any) -> Any:
    """JSON-able identity of one item (or tuple element): existing files add size + mtime."""
    if isinstance(value, (tuple, list)):
        return [_identity(v) for v in value]
    if isinstance(value, (str, Path)):
        path = Path(value)
        try:
            st = path.stat()
        except (OSError, ValueError):
            return str(value)
        if path.is_file():
            return {"path": str(value), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        return str(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise ConfigError(f"cache_key: item element {value!r} of type {type(value).__name__} "
                      "is not a str, Path, number or tuple of those")


def _config_identity(config: Any) -> Any:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {"type": type(config).__qualname__, "fields": dataclasses.asdict(config)}
    if isinstance(config, dict) or config is None:
        return config
    raise ConfigError(f"cache_key: config must be a dataclass instance, dict or None, "
                      f"got {type(config).__name__}")


def _fn_identity(fn: Callable) -> str:
    """Module + qualified name of the function behind ``fn`` (partials unwrapped).

    A partial's bound arguments are *not* part of the key: pass them as ``config``.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def cache_key(items: Sequence[Any], config: Any, *, fn: Callable | None = None) -> str:
    """Stable hash of the items (ids, and size + mtime of each item that is a file path),
    the config dataclass (``asdict``), the extracting function's name when given, and
    :data:`CACHE_VERSION`. Independent of process, machine clock and dict order."""
    blob = {"version": CACHE_VERSION, "items": [_identity(i) for i in items],
            "config": _config_identity(config),
            "fn": None if fn is None else _fn_identity(fn)}
    return stable_hash(blob, length=32)


# ---------------------------------------------------------------------------------------------
# Group names
# ---------------------------------------------------------------------------------------------

def _escape(name: str) -> str:
    """HDF5 treats '/' as a path separator and '.' as the current group: escape them."""
    out = name.replace("%", "%25").replace("/", "%2F")
    return out.replace(".", "%2E") if out in (".", "..") else out


def _names(items: Sequence[Any], names: Callable[[Any], str] | None) -> list[str]:
    out = [str(names(i) if names is not None else i) for i in items]
    seen: set[str] = set()
    for name in out:
        if name in seen:
            raise ConfigError(f"map_cached: two items share the group name {name!r}; "
                              "pass names= that makes them unique")
        if not name or name in _RESERVED:
            raise ConfigError(f"map_cached: group name {name!r} is empty or reserved")
        seen.add(name)
    return out


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def read_key(cache_path: str | Path) -> str | None:
    """The key of a *complete* cache file, else None (missing, unreadable or interrupted)."""
    cache_path = Path(cache_path)
    if not cache_path.is_file():
        return None
    try:
        with h5py.File(cache_path, "r") as f:
            if not bool(f.attrs.get("complete", False)):
                return None
            return str(f.attrs["key"])
    except (OSError, KeyError):
        return None


def is_complete(cache_path: str | Path, key: str) -> bool:
    return read_key(cache_path) == key


def _open_complete(cache_path: str | Path) -> h5py.File:
    if read_key(cache_path) is None:
        raise ReproError(f"{cache_path}: not a complete feature cache (missing or interrupted)")
    return h5py.File(cache_path, "r")


def _strings(ds) -> list[str]:
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in ds[()].ravel()]


def read_items(cache_path: str | Path) -> list[str]:
    """Names of all items in input order (skipped ones included)."""
    with _open_complete(cache_path) as f:
        return _strings(f[ITEMS])


def read_skipped(cache_path: str | Path) -> list[tuple[str, str]]:
    """(item name, reason) of every item whose ``fn`` raised AudioError, in input order."""
    with _open_complete(cache_path) as f:
        flat = _strings(f[SKIPPED])
    return list(zip(flat[0::2], flat[1::2]))


def load_groups(cache_path: str | Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Yield (item name, {array name: array}) for every stored item, in input order."""
    with _open_complete(cache_path) as f:
        for name in _strings(f[ITEMS]):
            group = f.get(_escape(name))
            if group is None:  # skipped item
                continue
            yield name, {k: group[k][()] for k in group.keys()}


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

_OK, _SKIP, _FAIL = 0, 1, 2


def _guarded(fn: Callable[[Any], dict], item: Any) -> tuple[int, Any]:
    """Run ``fn`` in a worker; return a status instead of raising.

    Exceptions are turned into strings here because AudioError (and many library errors)
    cannot be unpickled in the parent: their __init__ takes other arguments than ``args``.
    """
    try:
        out = fn(item)
    except AudioError as exc:
        return _SKIP, exc.reason if exc.reason else str(exc)
    except Exception:  # noqa: BLE001 - reported to the parent with the traceback
        return _FAIL, traceback.format_exc()
    if not isinstance(out, dict):
        return _FAIL, f"fn returned {type(out).__name__}, expected dict[str, np.ndarray]"
    return _OK, {str(k): np.asarray(v) for k, v in out.items()}


def _worker_init() -> None:
    # One BLAS/OpenMP thread per worker: the pool already uses every core, and extra threads
    # only oversubscribe them.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _progress_disabled() -> bool:
    return os.environ.get("REPRO_NO_PROGRESS") == "1" or not sys.stderr.isatty()


def _remove_stale_temps(cache_path: Path) -> None:
    """Delete temp files of earlier runs of this cache whose process no longer exists."""
    for tmp in cache_path.parent.glob(f".{cache_path.name}.*.tmp"):
        try:
            pid = int(tmp.name[len(cache_path.name) + 2:-4])
            os.kill(pid, 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except (ValueError, PermissionError, OSError):
            continue


def _item_results(fn, items, pool: ProcessPoolExecutor | None,
                  chunksize: int) -> Iterator[tuple[int, Any]]:
    guarded = functools.partial(_guarded, fn)
    if pool is None:
        return map(guarded, items)
    # map() yields results in item order while chunks run out of order in the workers.
    return pool.map(guarded, items, chunksize=chunksize)


def _default_start_method() -> str:
    # 'fork' is the cheapest start (no imports at all), but forking a parent that runs
    # TensorFlow's (or torch's) threads can deadlock the child; use a clean fork server then.
    if any(m in sys.modules for m in ("tensorflow", "keras", "torch")):
        return "forkserver"
    return "fork"


def _make_pool(fn, workers: int, start_method: str) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # Import fn's module once in the fork server; workers fork from it with the module
        # (numpy, psf, ...) already loaded instead of importing it each. (No effect when the
        # server already runs; workers then import on first use.)
        base = fn
        while isinstance(base, functools.partial):
            base = base.func
        module = getattr(base, "__module__", None)
        ctx.set_forkserver_preload([m for m in (__name__, module) if m])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)


def default_workers() -> int:
    """CPUs this process may run on (affinity-aware, unlike os.cpu_count in containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def map_cached(items: Sequence[Any], fn: Callable[[Any], dict[str, np.ndarray]],
               cache_path: str | Path, config: Any, *, workers: int | None = None,
               desc: str = "features", names: Callable[[Any], str] | None = None,
               chunksize: int | None = None, start_method: str | None = None) -> Path:
    """Apply ``fn`` to every item and store the arrays in an HDF5 cache; return its path.

    ``fn`` must be picklable (a top-level function, or a functools.partial of one: bind the
    feature config with partial *and* pass it as ``config`` so it enters the key). Each item's
    dict of arrays goes to the group ``names(item)`` (default ``str(item)``). When
    ``cache_path`` already holds a complete cache with the same key nothing runs. An item
    whose ``fn`` raises AudioError is skipped and listed (:func:`read_skipped`); any other
    exception aborts the run and leaves no cache behind (an earlier complete cache under
    ``cache_path`` stays as it was).
    ``workers``: processes (default :func:`default_workers`); 1 runs in this process.
    ``start_method``: 'fork' or 'forkserver' (default: fork unless TensorFlow is loaded).
    """
    cache_path = Path(cache_path)
    items = list(items)
    group_names = _names(items, names)
    key = cache_key(items, config, fn=fn)
    if is_complete(cache_path, key):
        return cache_path

    workers = max(1, min(workers or default_workers(), len(items) or 1))
    if chunksize is None:
        # About 4 chunks per worker: few enough round trips that per-item overhead is low,
        # enough that one slow chunk does not leave the other workers idle at the end.
        chunksize = max(1, -(-len(items) // (workers * 4)))
    start_method = start_method or _default_start_method()

    cache_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(cache_path)
    tmp = cache_path.parent / f".{cache_path.name}.{os.getpid()}.tmp"
    skipped: list[tuple[str, str]] = []
    try:
        with contextlib.ExitStack() as stack:
            if workers > 1 and items:
                # Run the first item here before starting the pool: forked workers then
                # inherit everything it warmed up (lazy imports such as librosa.feature,
                # numba JIT, filterbank caches) instead of paying for it once each.
                first = _guarded(fn, items[0])
                rest: Iterator[tuple[int, Any]] = iter(())
                if first[0] != _FAIL and len(items) > 1:
                    # The pool starts before the HDF5 file is opened so forked workers never
                    # inherit an open HDF5 handle. On error, queued chunks are cancelled.
                    pool = stack.enter_context(_make_pool(fn, workers, start_method))
                    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
                    rest = _item_results(fn, items[1:], pool, chunksize)
                results = itertools.chain([first], rest)
            else:
                results = _item_results(fn, items, None, chunksize)
            f = stack.enter_context(h5py.File(tmp, "w"))
            f.attrs["key"] = key
            f.attrs["version"] = CACHE_VERSION
            f.attrs["complete"] = False
            f.create_dataset(ITEMS, data=np.array(group_names, dtype=object), dtype=_STR)
            bar = stack.enter_context(
                tqdm(total=len(items), desc=desc, unit="item", disable=_progress_disabled()))
            for name, (status, payload) in zip(group_names, results):
                if status == _OK:
                    group = f.create_group(_escape(name))
                    for array_name, array in payload.items():
                        group.create_dataset(array_name, data=array)
                elif status == _SKIP:
                    skipped.append((name, payload))
                else:
                    raise ReproError(f"feature extraction failed for item {name!r} "
                                     f"(cache {cache_path}):\n{payload}")
                bar.update(1)
            flat = np.array([s for pair in skipped for s in pair], dtype=object)
            f.create_dataset(SKIPPED, data=flat.reshape(len(skipped), 2), dtype=_STR)
            f.attrs["n_items"] = len(items)
            f.attrs["n_skipped"] = len(skipped)
            f.attrs["complete"] = True  # last write: a file without it is never trusted
        # Closed (flushed) above; the rename makes the complete file appear atomically.
        os.replace(tmp, cache_path)
    except BrokenProcessPool as exc:
        raise ReproError(f"feature extraction for {cache_path}: a worker process died "
                         f"(killed, out of memory, or fn's module not importable in a "
                         f"'{start_method}' worker)") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return cache_path
