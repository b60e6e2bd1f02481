"""Figures of the DESED SED half, drawn from a run's metrics and logs (file names are what
:mod:`.sed_sections` links): the PSD-ROC of each trained system, the class-wise event F1
beside the report's Table 2 columns, the per-layer gradient norms (our offline stand-in for
the report's W&B gradient visualisation) and the event roll of one validation clip."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from common.runs import Run

PSD_ROC = "sed_psd_roc.png"
CLASS_F1 = "sed_class_f1.png"
GRAD_NORMS = "sed_gradient_norms.png"
EVENT_ROLL = "sed_event_roll.png"
TRAINING = "sed_training.png"


def layer_of(variable_path: str) -> str:
    """The layer a variable belongs to: ``block3_conv/kernel`` → ``block3``,
    ``bigru1/forward_bigru1_gru/gru_cell/kernel`` → ``bigru1``, ``strong/kernel`` → ``strong``."""
    head = variable_path.split("/")[0]
    m = re.match(r"(block\d+|bigru\d+)", head)
    return m.group(1) if m else head


def grad_norms_by_layer(path: Path) -> tuple[list[int], dict[str, np.ndarray]]:
    """Steps and, per layer, the L2 norm of the gradient of all its variables together."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    steps = [int(r[0]) for r in body]
    values = np.array([[float(v) for v in r[1:]] for r in body]) if body else np.zeros((0, 0))
    layers: dict[str, list[int]] = {}
    for j, name in enumerate(header[1:]):
        layers.setdefault(layer_of(name), []).append(j)
    return steps, {k: np.sqrt((values[:, idx] ** 2).sum(axis=1)) if len(body) else np.zeros(0)
                   for k, idx in layers.items()}


def all_figures(run_: Run, metrics: dict) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common import plots
    from common.registry import load_registry

    out = []
    systems = metrics["systems"]
    trained = {k: v for k, v in systems.items() if k in ("mean_teacher", "weak_only")}

    # PSD-ROC (validation, alpha_ct = alpha_st = 0)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, r in trained.items():
        for method, style in (("psds_eval_50", "-"), ("exact", ":")):
            p = r.get("validation", {}).get(f"psds_{method}", {}).get("psds")
            if not p or not p.get("arrays", {}).get("efpr"):
                continue
            ax.step(p["arrays"]["efpr"], p["arrays"]["etpr"], style, where="post",
                    label=f"{name}, {method} (PSDS {p['values']['psds']:.3f})")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("eFPR (per hour)")
    ax.set_ylabel("eTPR")
    ax.set_title("PSD-ROC on validation (dtc 0.5, gtc 0.5, α_ct = α_st = 0)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.append(str(plots.save(fig, run_.figures / PSD_ROC)))

    # class-wise event F1 beside the report's columns
    reg = load_registry("fuss_desed")
    from reproductions.fuss_desed.sed_cells import T2_CLASS_ROWS
    published = {(r.row, r.column): r.value for r in reg.rows if r.table == "T2"}
    rows = list(T2_CLASS_ROWS)
    series = {f"report {col.lower()}": [published.get((row, col)) for row in rows]
              for col in ("Baseline", "Ours")}
    for name, r in trained.items():
        f1 = r.get("validation", {}).get("event_class_f1", {})
        series[f"ours: {name}"] = [None if f1.get(cls) is None else 100 * f1[cls]
                                   for cls in T2_CLASS_ROWS.values()]
    out.append(str(plots.grouped_bars([r.replace(" ", "\n", 1) for r in rows], series,
                                      run_.figures / CLASS_F1,
                                      "Class-wise event-based F1 on validation (%)",
                                      "F1 (%)")))

    # gradient norms per layer
    grad_csv = run_.logs / "mean_teacher_grad_norms.csv"
    if grad_csv.is_file():
        steps, layers = grad_norms_by_layer(grad_csv)
        if steps:
            fig, ax = plt.subplots(figsize=(7, 4))
            ax.set_prop_cycle(color=plt.cm.tab20.colors)  # 11 layers: tab10 would repeat
            for k, v in layers.items():
                ax.plot(steps, np.maximum(v, 1e-12), label=k)
            ax.set_yscale("log")
            ax.set_xlabel("optimizer step")
            ax.set_ylabel("gradient L2 norm")
            ax.set_title("Student gradient norm per layer (mean teacher)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, ncol=2)
            fig.tight_layout()
            out.append(str(plots.save(fig, run_.figures / GRAD_NORMS)))

    # training curves
    hist = {k: r["train"]["history"] for k, r in trained.items() if r["train"].get("history")}
    if hist:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for k, h in hist.items():
            ep = [row["epoch"] for row in h]
            axes[0].plot(ep, [row.get("loss") for row in h], label=k)
            if "synthetic_valid_event_macro_f1" in h[0]:
                axes[1].plot(ep, [row["synthetic_valid_event_macro_f1"] for row in h], label=k)
        axes[0].set_title("training loss")
        axes[1].set_title("event macro F1, held-out synthetic clips")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        out.append(str(plots.save(fig, run_.figures / TRAINING)))

    ex = systems.get("mean_teacher", {}).get("example")
    if ex:
        from reproductions.fuss_desed.sed_data import LABELS
        out.append(str(plots.event_roll(ex["reference"], ex["estimated"], LABELS,
                                        run_.figures / EVENT_ROLL,
                                        f"validation clip {ex['clip']}: reference vs mean "
                                        "teacher", duration=ex["duration"])))
    return [str(Path(p).relative_to(run_.dir)) for p in out]
