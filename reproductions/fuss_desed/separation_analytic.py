"""Numbers of the separation half that need no data. Interface used by :mod:`.analytic`:
TABLES, measurements(), explanations().

The registry of report 000 has no separation table of settings or parameter counts (the
report prints neither), so nothing here fills a registry cell: TABLES is empty. The settings
the full profile is configured with are listed for REPORT.md by :func:`full_settings` (read
from ``configs/full.yaml`` through the typed config, never retyped), and the parameter count
of the built model is in the complexity section (:mod:`.separation_sections`).
"""
from __future__ import annotations

from common.results import Measurement

TABLES: dict = {}


def measurements() -> list[Measurement]:
    return [m for fns in TABLES.values() for fn in fns for m in fn()]


def explanations() -> dict:
    return {}


def full_settings() -> list[tuple[str, str, str]]:
    """(setting, value in configs/full.yaml, where it comes from) of the separation half."""
    from reproductions.fuss_desed import config as config_mod
    s = config_mod.load("full").separation
    m, t, g = s.model, s.train, s.grid
    return [
        ("STFT window / hop / FFT", "512 / 128 / 512 samples (32 / 8 ms at 16 kHz), √Hann",
         "spec §1.1 (official signal_transformer)"),
        ("TDCN++ bottleneck / conv channels", f"{m.bottleneck} / {m.conv_channels}",
         "spec §1.1 (network_config improved_tdcn)"),
        ("repeats × dilations", f"{m.n_repeats} × {list(m.dilations)}", "spec §1.1"),
        ("mixture consistency", str(m.mixture_consistency), "spec §1.1 step 6"),
        ("optimizer", f"Adam, lr {t.learning_rate:g}, ×{t.decay_rate:g} every "
         f"{t.decay_steps:,} steps (continuous)", "spec §2.1 (train_model.py)"),
        ("batch size", str(t.batch_size), "spec §2.1"),
        ("training steps per model", f"{t.steps:,}", "ours: the baseline trains up to "
         "20,000,000 steps; the report gives no length"),
        ("training crop", "whole 10 s mixtures" if t.crop_seconds is None else
         f"{t.crop_seconds:g} s", "spec §2.1"),
        ("grid", ", ".join(f"{k} {v}" for k, v in g.param_grid().items()),
         "ours (the report names no grid): configs/full.yaml"),
        ("grid split / scorer / refit", "PredefinedSplit train → validation; official "
         "multi-source SI-SNRi; refit on train ∪ validation",
         "report §2.1 (GridSearchCV), spec §4.1"),
    ]
