"""The CNN + VGGish experiment, stage by stage. Every stage writes its ``result.json`` and a done
marker into the run folder (``common.runs.stage_result``), so a rerun skips finished stages;
the training stages also resume inside, per epoch (``training.py``).

Stages: ``embeddings`` (VGGish throughput and which weights ran), ``constant`` (the floor: a
constant predictor at the training prevalence), ``fusion`` (CNN+VGGish, the report's loop;
CNN+VGGish1 = best coarse checkpoint, CNN+VGGish2 = best fine checkpoint), ``fine_model_<c>``
and ``hierarchical`` (submission 3), ``baseline_fine`` / ``baseline_coarse`` (report Table 4),
then the figures.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from common.runs import Run, stage_result
from common.training import seed_everything
from reproductions.vggish_fusion import scoring, training
from reproductions.vggish_fusion.config import FusionConfig
from reproductions.vggish_fusion.data import FusionData

SYSTEMS = ("CNN+VGGish1", "CNN+VGGish2", "Hierarchical")


def _inputs(data: FusionData, idx: np.ndarray) -> list[np.ndarray]:
    return [data.logmel[idx], data.embeddings[idx]]


def _score_table(annotations, names, probs37) -> tuple[dict, pd.DataFrame]:
    table = scoring.submission(names, probs37)
    return scoring.scores(annotations, table), table


def _save_predictions(run: Run, name: str, table: pd.DataFrame) -> str:
    path = scoring.write_csv(table, run.dir / "predictions" / f"{name}.csv")
    return str(path.relative_to(run.dir))


def _to_37(probs: np.ndarray, outputs: str) -> np.ndarray:
    """Model outputs → 37 probabilities in LABEL_ORDER. ``fine`` (29): coarse = max of its fine
    tags; ``coarse`` (8): every fine tag gets its category's probability."""
    n = len(probs)
    if outputs == "all":
        return probs
    out = np.zeros((n, 37))
    if outputs == "fine":
        out[:, scoring.N_COARSE:] = probs
        for c in range(1, 9):
            out[:, c - 1] = out[:, scoring.fine_indices(c)].max(axis=1)
    else:
        out[:, :scoring.N_COARSE] = probs
        for c in range(1, 9):
            out[:, scoring.fine_indices(c)] = probs[:, [c - 1]]
    return out


def _label_slice(outputs: str) -> slice:
    return {"all": slice(0, 37), "fine": slice(8, 37), "coarse": slice(0, 8)}[outputs]


def constant(run: Run, data: FusionData, annotations: pd.DataFrame, parts) -> dict:
    def compute():
        names = [data.names[i] for i in parts["validate"]]
        return {"scores": scoring.constant_predictor(annotations, names,
                                                     data.labels[parts["train"]]),
                "train_prevalence": data.labels[parts["train"]].mean(axis=0).tolist()}
    return stage_result(run, "constant", compute)


def fusion(run: Run, cfg: FusionConfig, data: FusionData, annotations: pd.DataFrame,
           parts) -> dict:
    """CNN+VGGish with the report's loop; VGGish1/2 = the best-coarse / best-fine checkpoints."""
    def compute():
        import keras

        from reproductions.vggish_fusion.models import fusion as build_fusion

        tr, va = parts["train"], parts["validate"]
        m, t = cfg.model, cfg.train
        sl = _label_slice(cfg.labels.outputs)
        seed_everything(run.seed)
        model = build_fusion(n_outputs=sl.stop - sl.start, fc1=m.fc1, fc1_units=m.fc1_units,
                             fc2_units=m.fc2_units, fc_dropout=m.fc_dropout, width=m.width)
        pos_weight = training.class_pos_weights(data.labels[tr], t.weight_root,
                                                t.zero_weight_indices)[sl]
        names = [data.names[i] for i in va]

        def probs(mdl):
            return _to_37(training.sigmoid(mdl.predict(_inputs(data, va), batch_size=64,
                                                       verbose=0)), cfg.labels.outputs)

        def evaluate(mdl):
            return _score_table(annotations, names, probs(mdl))[0]

        t0 = time.perf_counter()
        state = training.train_report_loop(
            model, lambda lr: keras.optimizers.Adam(learning_rate=lr),
            training.weighted_bce_with_logits(pos_weight), _inputs(data, tr),
            data.labels[tr][:, sl], evaluate, lr=t.lr, batch_size=t.batch_size,
            max_epochs=t.max_epochs, stagnation=t.stagnation, min_lr=t.min_lr, factor=t.factor,
            factor_step=t.factor_step, seed=run.seed, state_dir=run.checkpoints / "fusion",
            jit_compile=t.jit_compile)
        seconds = time.perf_counter() - t0
        out = {"history": state["history"], "checkpoints": state["checkpoints"],
               "restarts": state["restarts"], "train_seconds": seconds,
               "step_seconds_median": float(np.median(state["step_seconds"])),
               "peak_rss_gb": state.get("peak_rss_gb"), "pos_weight": pos_weight.tolist(),
               "params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
               "systems": {}}
        for system, which, epoch in (("CNN+VGGish1", "best_coarse", state["best_coarse_epoch"]),
                                     ("CNN+VGGish2", "best_fine", state["best_fine_epoch"])):
            model.load_weights(run.checkpoints / "fusion" / f"{which}.weights.h5")
            p = probs(model)
            sc, table = _score_table(annotations, names, p)
            out["systems"][system] = {"epoch": epoch, "selected_by": which, "scores": sc,
                                      "predictions": _save_predictions(run, system, table),
                                      "pr_curves": scoring.pr_curves(annotations, table),
                                      "probs": p.tolist()}
        return out
    return stage_result(run, "fusion", compute)


def fine_model(run: Run, cfg: FusionConfig, data: FusionData, parts, coarse_id: int) -> dict:
    """M_F<c>: the VGG_alt fine model of one coarse category (spec §1.4)."""
    def compute():
        import keras

        from reproductions.vggish_fusion.models import fusion as build_fusion

        h = cfg.hierarchical
        tr, va = parts["train"], parts["validate"]
        cols = scoring.fine_indices(coarse_id)
        seed_everything(run.seed + coarse_id)
        model = build_fusion(n_outputs=len(cols), trunk="vgg_alt", fc1_units=h.fc1_units,
                             fc2_units=h.fc2_units, width=h.width)
        state = training.train_plateau_loop(
            model, lambda lr: keras.optimizers.RMSprop(learning_rate=lr, rho=0.99,
                                                        epsilon=1e-8),
            training.weighted_bce_with_logits(None), _inputs(data, tr),
            data.labels[tr][:, cols], _inputs(data, va), data.labels[va][:, cols], lr=h.lr,
            batch_size=h.batch_size, max_epochs=h.max_epochs,
            plateau_patience=h.plateau_patience, plateau_factor=h.plateau_factor,
            early_stopping=h.early_stopping, seed=run.seed,
            state_dir=run.checkpoints / f"fine_model_{coarse_id}", desc=f"M_F{coarse_id}")
        p = training.sigmoid(model.predict(_inputs(data, va), batch_size=64, verbose=0))
        return {"coarse_id": coarse_id, "columns": cols, "history": state["history"],
                "best_epoch": state["best_epoch"], "stopped_early": state["stopped_early"],
                "probs": p.tolist()}
    return stage_result(run, f"fine_model_{coarse_id}", compute)


def hierarchical_probs(coarse_probs37: np.ndarray, fine: dict[int, np.ndarray],
                       threshold: float) -> np.ndarray:
    """Submission 3's inference rule (report §4.2): coarse outputs = M_C's; the fine model of the
    argmax coarse class runs, and those of every class with coarse probability > ``threshold``;
    fine tags of a class whose model did not run are 0; the single fine tag of classes 3 and 8
    (and of any class without a trained fine model) copies M_C's coarse probability."""
    p = np.asarray(coarse_probs37, dtype=float)
    out = np.zeros_like(p)
    out[:, :scoring.N_COARSE] = p[:, :scoring.N_COARSE]
    coarse = p[:, :scoring.N_COARSE]
    run_mask = coarse > threshold
    run_mask[np.arange(len(p)), coarse.argmax(axis=1)] = True
    for c in range(1, scoring.N_COARSE + 1):
        cols = scoring.fine_indices(c)
        if c in fine:
            out[:, cols] = np.where(run_mask[:, [c - 1]], fine[c], 0.0)
        else:
            out[:, cols] = np.where(run_mask[:, [c - 1]], coarse[:, [c - 1]], 0.0) \
                if len(cols) > 1 else coarse[:, [c - 1]]
    return out


def hierarchical(run: Run, cfg: FusionConfig, data: FusionData, annotations, parts,
                 fusion_result: dict, fine_results: dict[int, dict]) -> dict:
    def compute():
        names = [data.names[i] for i in parts["validate"]]
        coarse = np.asarray(fusion_result["systems"]["CNN+VGGish1"]["probs"])
        fine = {c: np.asarray(r["probs"]) for c, r in fine_results.items()}
        p = hierarchical_probs(coarse, fine, cfg.hierarchical.threshold)
        sc, table = _score_table(annotations, names, p)
        return {"scores": sc, "predictions": _save_predictions(run, "Hierarchical", table),
                "fine_models": sorted(fine), "pr_curves": scoring.pr_curves(annotations, table)}
    return stage_result(run, "hierarchical", compute)


def baseline(run: Run, cfg: FusionConfig, data: FusionData, annotations, parts,
             mode: str) -> dict:
    """The official baseline (classify.py): standardised post-processed VGGish frames →
    Dense(sigmoid), masked fine loss, clip score = mean over its frames (report Table 4)."""
    def compute():
        import keras
        from keras import ops

        from common.training import fit
        from reproductions.vggish_fusion.models import baseline as build_baseline

        b = cfg.baseline
        tr, va = parts["train"], parts["validate"]
        cols = (scoring.complete_fine_indices() if mode == "fine"
                else list(range(scoring.N_COARSE)))
        k = len(cols)
        emb = data.embeddings
        mean = emb[tr].reshape(-1, emb.shape[-1]).mean(axis=0)
        std = emb[tr].reshape(-1, emb.shape[-1]).std(axis=0)
        std = np.where(std > 0, std, 1.0)

        def frames(idx):
            x = ((emb[idx] - mean) / std).reshape(-1, emb.shape[-1]).astype(np.float32)
            y = np.repeat(data.baseline_labels[idx][:, cols], emb.shape[1], axis=0)
            mask = np.ones_like(y)
            if mode == "fine":
                # classify.py: a category's fine-tag loss is masked when its "X" tag is on
                for c in range(1, 9):
                    xcol = [i for i in scoring.fine_indices(c)
                            if "-X_" in scoring.ust.LABEL_ORDER[i]]
                    if not xcol:
                        continue
                    x_on = np.repeat(data.baseline_labels[idx][:, xcol[0]], emb.shape[1])
                    own = [j for j, col in enumerate(cols) if col in scoring.fine_indices(c)]
                    mask[np.ix_(x_on > 0, own)] = 0.0
            return x, np.concatenate([y, mask], axis=1).astype(np.float32)

        def masked_bce(y_true, y_pred):
            y, w = y_true[:, :k], y_true[:, k:]
            p = ops.clip(y_pred, 1e-7, 1 - 1e-7)
            bce = -(y * ops.log(p) + (1 - y) * ops.log(1 - p))
            return ops.sum(w * bce, axis=-1) / ops.maximum(ops.sum(w, axis=-1), 1.0)

        seed_everything(run.seed)
        model = build_baseline(label_mode=mode, l2=b.l2)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=b.lr), loss=masked_bce)
        xt, yt = frames(tr)
        xv, yv = frames(va)
        res = fit(model, xt, yt, epochs=b.max_epochs, batch_size=b.batch_size, seed=run.seed,
                  state_dir=run.checkpoints / f"baseline_{mode}", validation=(xv, yv),
                  monitor="val_loss", mode="min", patience=b.patience,
                  desc=f"baseline ({mode})", log_path=run.logs / f"baseline_{mode}.csv")
        frame_p = np.asarray(model.predict(xv, batch_size=1024, verbose=0))
        clip_p = frame_p.reshape(len(va), emb.shape[1], k).mean(axis=1)
        p37 = np.zeros((len(va), 37))
        p37[:, cols] = clip_p
        if mode == "fine":
            for c in range(1, 9):   # coarse score = max of the category's fine scores
                p37[:, c - 1] = p37[:, scoring.fine_indices(c)].max(axis=1)
        names = [data.names[i] for i in va]
        sc, table = _score_table(annotations, names, p37)
        return {"mode": mode, "scores": sc, "fit": res.to_dict(), "history": res.history,
                "predictions": _save_predictions(run, f"baseline_{mode}", table)}
    return stage_result(run, f"baseline_{mode}", compute)


def figures(run: Run, fusion_result: dict, hier: dict | None, fine_results: dict) -> None:
    """PR curves per coarse class, training curves with the learning-rate restarts, per-class
    AUPRC bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common import plots

    curves = fusion_result["systems"]["CNN+VGGish1"]["pr_curves"]
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), squeeze=False)
    for ax, (name, c) in zip(axes.ravel(), curves.items()):
        order = np.argsort(c["recall"], kind="stable")
        r = np.concatenate([[0.0], np.asarray(c["recall"])[order], [1.0]])
        p = np.concatenate([[1.0], np.asarray(c["precision"])[order], [0.0]])
        ax.plot(r, p, drawstyle="default")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
    fig.suptitle("CNN+VGGish1, coarse level: official precision-recall points per class")
    fig.tight_layout()
    plots.save(fig, run.figures / "pr_curves_coarse.png")

    hist = fusion_result["history"]
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ep = [h["epoch"] for h in hist]
    axes[0].plot(ep, [h["coarse_micro_auprc"] for h in hist], label="coarse micro-AUPRC")
    axes[0].plot(ep, [h["fine_micro_auprc"] for h in hist], label="fine micro-AUPRC")
    for h in hist:
        if h.get("checkpoint"):
            axes[0].axvline(h["epoch"], color="grey", alpha=0.2)
    axes[0].legend(fontsize=8)
    axes[0].set_ylabel("validate")
    axes[0].grid(alpha=0.3)
    axes[1].semilogy(ep, [h["lr"] for h in hist], label="learning rate")
    for h in hist:
        if h.get("event") == "restart":
            axes[1].axvline(h["epoch"], color="red", alpha=0.5)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("learning rate")
    axes[1].grid(alpha=0.3)
    fig.suptitle("CNN+VGGish training (grey: checkpoints; red: warm restarts)")
    fig.tight_layout()
    plots.save(fig, run.figures / "training_curves.png")

    systems = {"CNN+VGGish1": fusion_result["systems"]["CNN+VGGish1"]["scores"],
               "CNN+VGGish2": fusion_result["systems"]["CNN+VGGish2"]["scores"]}
    if hier:
        systems["Hierarchical"] = hier["scores"]
    for level in ("coarse", "fine"):
        classes = list(systems["CNN+VGGish1"][level]["class_auprc"])
        plots.grouped_bars(classes, {s: [v[level]["class_auprc"][c] for c in classes]
                                     for s, v in systems.items()},
                           run.figures / f"class_auprc_{level}.png",
                           f"Per-class AUPRC, {level} level (validate)", "AUPRC")


def benchmark(run: Run, cfg: FusionConfig) -> dict:
    """Seconds per training step of the full-size bilinear head (report Table 2: 169.5 M
    parameters, 167.8 M of them in fc1) at batch ``train.batch_size`` with Adam; median of
    ``benchmark.steps`` steps after one compile step; peak memory of the process after it."""
    def compute():
        import gc

        import keras

        from reproductions.vggish_fusion.models import fusion_head

        seed_everything(run.seed)
        b, n = cfg.benchmark, cfg.train.batch_size
        model = fusion_head(n_outputs=37)
        model.compile(optimizer=keras.optimizers.Adam(cfg.train.lr),
                      loss=training.weighted_bce_with_logits(None), jit_compile=b.jit_compile)
        rng = np.random.default_rng(0)
        x = [rng.normal(size=(n, 256)).astype(np.float32),
             rng.uniform(0, 255, size=(n, 1280)).astype(np.float32)]
        y = (rng.uniform(size=(n, 37)) > 0.8).astype(np.float32)
        effective_jit = bool(model.jit_compile)  # Keras turns XLA off under op determinism
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        first = time.perf_counter() - t0
        times = []
        for _ in range(b.steps):
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - t0)
        params = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        del model
        gc.collect()
        return {"step_seconds": float(np.median(times)), "first_step_seconds": first,
                "steps": b.steps, "batch_size": n, "jit_compile": effective_jit,
                "params": params, "peak_rss_gb": training.peak_rss_gb()}
    return stage_result(run, "benchmark_bilinear", compute)
