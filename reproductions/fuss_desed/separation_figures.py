"""Figures of the separation half: grid-search score against each searched parameter, and
spectrograms of one mixture with its references and (aligned) estimates. Matplotlib through
:mod:`common.plots` (Agg backend, atomic PNG writes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common import plots

SCORE_LABEL = {"multi_source_si_snri": "multi-source SI-SNRi (dB)",
               "single_source_si_snr": "single-source SI-SNR (dB)"}


def grid_scores(results: dict[str, dict], parameters: list[str], path: Path, title: str,
                score: str = "multi_source_si_snri") -> Path:
    """One panel per searched parameter: every grid point's validation score at its value of
    the parameter (dots), the mean over the other parameters (line), one colour per FUSS
    version. ``results``: {version label: the grid stage's result}."""
    plt = plots.plt
    names = parameters or ["learning_rate"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        for label, res in results.items():
            rows = res["cv_results"]
            values = sorted({r["params"][name] for r in rows}, key=lambda v: (str(type(v)), v))
            pos = {v: i for i, v in enumerate(values)}
            xs = [pos[r["params"][name]] for r in rows]
            ys = [np.nan if r[f"mean_test_{score}"] is None else r[f"mean_test_{score}"]
                  for r in rows]
            line = ax.plot([pos[v] for v in values],
                           [np.nanmean([y for x, y in zip(xs, ys) if x == pos[v]] or [np.nan])
                            for v in values], marker="", label=label)[0]
            ax.scatter(xs, ys, color=line.get_color(), s=18, alpha=0.8)
            ax.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v)
                                               for v in values])
        ax.set_xlabel(name)
        ax.set_ylabel(f"validation {SCORE_LABEL[score]}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return plots.save(fig, path)


def _log_spectrogram(x: np.ndarray, frame: int = 512, hop: int = 128) -> np.ndarray:
    """dB magnitude of a √Hann STFT (display only), (bins, frames)."""
    window = np.sqrt(np.hanning(frame + 1)[:-1])
    n = max(1, 1 + (len(x) - frame) // hop)
    frames = np.stack([x[i * hop:i * hop + frame] * window for i in range(n)])
    mag = np.abs(np.fft.rfft(frames, axis=-1)).T
    return 20 * np.log10(mag + 1e-6)


def separation_example(mixture: np.ndarray, references: np.ndarray, estimates: dict[str, np.ndarray],
                       path: Path, title: str, sample_rate: int = 16000,
                       scores: dict[str, list[float | None]] | None = None) -> Path:
    """Mixture on top, then one row per source: reference, then each system's estimate aligned
    to it (official permutation), titled with the pair's SI-SNR."""
    plt = plots.plt
    n_src = len(references)
    cols = 1 + len(estimates)
    fig, axes = plt.subplots(1 + n_src, cols, figsize=(3.3 * cols, 1.7 * (1 + n_src)),
                             squeeze=False, sharex=True, sharey=True)
    seconds = len(mixture) / sample_rate
    extent = (0, seconds, 0, sample_rate / 2000)
    mix_db = _log_spectrogram(mixture)
    vmax = float(mix_db.max())
    kw = {"aspect": "auto", "origin": "lower", "extent": extent, "vmin": vmax - 80, "vmax": vmax,
          "cmap": "magma"}
    axes[0][0].imshow(mix_db, **kw)
    axes[0][0].set_title("mixture", fontsize=8)
    for c in range(1, cols):
        axes[0][c].axis("off")
    for i in range(n_src):
        axes[1 + i][0].imshow(_log_spectrogram(references[i]), **kw)
        active = float(np.sqrt(np.mean(np.square(references[i])))) > 1e-8
        axes[1 + i][0].set_title(f"reference {i}" + ("" if active else " (all zero)"), fontsize=8)
        for c, (name, est) in enumerate(estimates.items(), 1):
            axes[1 + i][c].imshow(_log_spectrogram(est[i]), **kw)
            s = (scores or {}).get(name, [None] * n_src)[i]
            axes[1 + i][c].set_title(f"{name}" + ("" if s is None else f": {s:.1f} dB SI-SNR"),
                                     fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("kHz", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("s", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return plots.save(fig, path)
