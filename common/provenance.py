"""What a number was computed with: date, git hash, library versions, hardware."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as md
import os
import platform
import subprocess

from common.paths import REPO_ROOT

LIBRARIES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scipy", "librosa",
             "python_speech_features", "logmmse", "scikit-learn", "h5py", "pandas", "matplotlib",
             "soundfile", "soxr", "sed_eval", "dcase_util", "PyYAML", "tqdm")


def git_state() -> dict:
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = run("rev-parse", "HEAD") or "unknown"
    dirty = bool(run("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit, "short": commit[:10], "dirty": dirty}


def library_versions() -> dict:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware(include_gpu: bool = True) -> dict:
    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(),
            "memory_gib": _memory_gib()}
    if include_gpu:
        try:
            import tensorflow as tf
            info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
        except Exception:  # TensorFlow absent or broken: hardware info must never fail a run
            info["gpus"] = []
    return info


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        return round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def collect_env(include_gpu: bool = True) -> dict:
    return {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "git": git_state(), "python": platform.python_version(),
            "platform": platform.platform(), "hardware": hardware(include_gpu),
            "libraries": library_versions()}
