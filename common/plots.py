"""Matplotlib figures shared by the reports (Agg backend, atomic PNG writes)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.fileio import atomic_write_bytes  # noqa: E402


def save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def training_curves(histories: dict[str, list[dict]], path: Path, title: str,
                    metrics: Sequence[str] = ("loss", "accuracy")) -> Path:
    """One column per history (e.g. per clip length), one row per metric; train and val lines."""
    n = max(1, len(histories))
    fig, axes = plt.subplots(len(metrics), n, figsize=(4.2 * n, 3.0 * len(metrics)), squeeze=False)
    for j, (name, hist) in enumerate(histories.items()):
        epochs = [h["epoch"] for h in hist]
        for i, m in enumerate(metrics):
            ax = axes[i][j]
            ax.plot(epochs, [h.get(m, np.nan) for h in hist], label=f"train {m}")
            if any(f"val_{m}" in h for h in hist):
                ax.plot(epochs, [h.get(f"val_{m}", np.nan) for h in hist], label=f"validation {m}")
            ax.set_xlabel("epoch")
            ax.set_title(f"{name}: {m}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def confusion_matrices(matrices: dict[str, np.ndarray], class_names: Sequence[str], path: Path,
                       title: str) -> Path:
    """Row-normalised confusion matrices side by side (rows = true class)."""
    n = max(1, len(matrices))
    fig, axes = plt.subplots(1, n, figsize=(3.8 * n, 3.6), squeeze=False)
    for ax, (name, cm) in zip(axes[0], matrices.items()):
        cm = np.asarray(cm, dtype=float)
        ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    color="white" if v > 0.6 else "black", fontsize=9)
        ax.set_xticks(range(len(class_names)), class_names, rotation=30)
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def grouped_bars(groups: Sequence[str], series: dict[str, Sequence[float]], path: Path,
                 title: str, ylabel: str) -> Path:
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(groups), 3.4))
    for k, (name, vals) in enumerate(series.items()):
        ax.bar(x + k * width - 0.4 + width / 2, [np.nan if v is None else v for v in vals], width,
               label=name)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def event_roll(reference: Sequence[dict], estimated: Sequence[dict], labels: Sequence[str],
               path: Path, title: str, duration: float | None = None,
               only_active: bool = True) -> Path:
    """Ground truth above prediction for one recording: one horizontal bar per event
    (``event_label``, ``onset``, ``offset`` in seconds), one line per label, shared time axis.
    ``only_active`` keeps the labels that occur in either list (all labels when none do)."""
    used = {e["event_label"] for e in [*reference, *estimated]}
    shown = [lab for lab in labels if lab in used] if only_active and used else list(labels)
    row = {lab: i for i, lab in enumerate(shown)}
    end = duration or max([e["offset"] for e in [*reference, *estimated]] or [1.0])
    fig, axes = plt.subplots(2, 1, figsize=(10, 1.2 + 0.55 * len(shown) * 2), sharex=True,
                             squeeze=False)
    for ax, (name, events, colour) in zip(axes[:, 0], (("ground truth", reference, "tab:blue"),
                                                       ("prediction", estimated, "tab:orange"))):
        for e in events:
            if e["event_label"] in row:
                ax.broken_barh([(e["onset"], e["offset"] - e["onset"])],
                               (row[e["event_label"]] - 0.4, 0.8), color=colour)
        ax.set_yticks(range(len(shown)), shown, fontsize=8)
        ax.set_ylim(-0.6, len(shown) - 0.4)
        ax.invert_yaxis()
        ax.set_xlim(0, end)
        ax.set_title(f"{name} ({len(events)} events)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[-1][0].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
