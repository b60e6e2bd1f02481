"""The report-003 experiment, stage by stage (spec §2). Each stage stores its result
(``common.runs.stage_result``) and its weights (``checkpoints/<stage>.npz``), so a rerun skips
finished stages; an interrupted training resumes from its last epoch (trainer.py).

Stages: ``teacher_large`` and ``teacher_small`` (KD teachers, C = 2·C_student and C_student,
on train + test as the report, or train only), ``student`` (no KD), ``student_kd_large``,
``student_kd_small`` (pre-training with KD), ``ft_<system>_lam<λ>`` (device-aware fine-tuning),
``eval_<system>`` (the official DCASE 2022 metric on fold-1 test, predictions file in the
baseline's format), ``qat_<system>`` (weight QAT continuing the submitted system's
fine-tuning, qat.py), ``int8`` (post-training and QAT INT8 TFLite models and their evaluation,
timings, the size of the report's C = 40 network as INT8),
then the figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.metrics.dcase2022_asc import dcase2022_asc_metrics
from common.progress import stage as announce
from common.runs import Run, stage_result
from common.training import seed_everything
from reproductions.bcres2net_asc import schedules, splits
from reproductions.bcres2net_asc.config import BcRes2NetConfig
from reproductions.bcres2net_asc.data import SceneSet, standardiser
from reproductions.bcres2net_asc.trainer import StagePlan, Trainer, run_stage


@dataclass(frozen=True)
class System:
    """One row of Table 2: the KD teacher ("none", "large", "small") and the fine-tuning λ."""

    kd: str
    lam: float | None

    @property
    def pretrain_stage(self) -> str:
        return "student" if self.kd == "none" else f"student_kd_{self.kd}"

    @property
    def key(self) -> str:
        return self.kd + ("" if self.lam is None else f"_ft{self.lam:g}")

    @property
    def stage(self) -> str:
        return self.pretrain_stage if self.lam is None else f"ft_{self.key}"


def systems(cfg: BcRes2NetConfig) -> list[System]:
    """Table 2's systems in its row order: no KD (no FT, each λ), then each teacher (no FT,
    FT with ``kd_lambda``)."""
    out = [System("none", None)] + [System("none", lam) for lam in cfg.finetune.lambdas]
    for teacher in cfg.kd.teachers:
        out += [System(teacher, None), System(teacher, cfg.finetune.kd_lambda)]
    return out


class Experiment:
    """The run's data, its two trained networks (student-sized, large teacher) and the stages.

    Networks are built on first use, so a resumed run whose stages are all done builds none."""

    def __init__(self, run: Run, cfg: BcRes2NetConfig, data: SceneSet):
        self.run, self.cfg, self.data = run, cfg, data
        folds = splits.fold_indices(data.split)
        self.train_idx, self.test_idx = folds["train"], folds["test"]
        self.stats = standardiser(data.x[self.train_idx])
        self.x_test = self._input(data.x[self.test_idx])
        self._trainers: dict[str, Trainer] = {}
        self._inits: dict[str, list[np.ndarray]] = {}

    # -- networks -----------------------------------------------------------------------------

    def _input(self, x: np.ndarray) -> np.ndarray:
        mean, std = self.stats
        return ((x - mean) / std)[..., None].astype(np.float32)

    def channels(self, role: str) -> int:
        return self.cfg.model.teacher_large_channels if role == "large" \
            else self.cfg.model.student_channels

    def build(self, role: str, seed_offset: int):
        from reproductions.bcres2net_asc.models import bc_res2net
        seed_everything(self.run.seed + seed_offset)
        f = self.cfg.features
        return bc_res2net(base_channels=self.channels(role), n_mels=f.n_mels,
                          n_frames=f.n_frames, n_classes=len(self.data.scenes),
                          upsample=self.cfg.model.upsample, name=f"bcres2net_{role}")

    def trainer(self, name: str) -> Trainer:
        """``student`` (trains every C_student network), ``large`` (the large teacher),
        ``small_teacher`` (inference copy of the small teacher)."""
        if name not in self._trainers:
            role, offset = {"student": ("student", 0), "large": ("large", 1),
                            "small_teacher": ("student", 2)}[name]
            tr = Trainer(self.build(role, offset), len(self.data.scenes))
            self._trainers[name] = tr
            self._inits[name] = tr.get_state()
        return self._trainers[name]

    def weights(self, stage: str) -> Path:
        return self.run.checkpoints / f"{stage}.npz"

    # -- evaluation ---------------------------------------------------------------------------

    def scores(self, proba: np.ndarray) -> dict:
        d = self.data
        res = dcase2022_asc_metrics(d.y[self.test_idx], proba, d.device[self.test_idx],
                                    labels=d.scenes)
        return res.to_dict()

    def curve(self, tr: Trainer, epoch: int) -> dict:
        v = self.scores(tr.probabilities(self.x_test))["values"]
        return {"test_log_loss": v["macro_class_log_loss"], "test_accuracy": v["accuracy"]}

    # -- training stages ----------------------------------------------------------------------

    def _pretrain_plan(self, name: str, code: int, teacher: Trainer | None, n: int) -> StagePlan:
        p = self.cfg.pretrain
        total = p.epochs * int(np.ceil(n / p.batch_size))

        def lr(step: int, steps: int) -> float:
            return schedules.warmup_cosine(step, total, p.warmup_epochs * steps, p.start_lr,
                                           p.peak_lr, p.final_lr)
        return StagePlan(name, p.epochs, p.batch_size, lr, augment=True,
                         mixup_alpha=self.cfg.augment.mixup_alpha, teacher=teacher,
                         stage_code=code)

    def _train(self, tr: Trainer, plan: StagePlan, idx: np.ndarray, curves: bool) -> list[dict]:
        d = self.data
        return run_stage(tr, plan, d.x[idx], d.y[idx], d.device[idx], seed=self.run.seed,
                         stats=self.stats, augment_cfg=self.cfg.augment,
                         feature_cfg=self.cfg.features,
                         state_dir=self.run.checkpoints / plan.name,
                         evaluate=self.curve if curves else None)

    def teacher(self, which: str) -> dict:
        """KD teacher ``large`` (C = teacher_large_channels) or ``small`` (C = student's),
        trained like a student on the teacher data (splits.teacher_indices)."""
        name = f"teacher_{which}"

        def compute():
            idx = splits.teacher_indices(self.data.split, self.cfg.kd.teacher_data)
            if which == "large":
                tr = self.trainer("large")
            else:
                tr = self.trainer("student")
                self.trainer("small_teacher")              # its own initial weights
                tr.set_state(self._inits["small_teacher"])
            tr.reset_optimizer(0.0, self.cfg.pretrain.weight_decay)
            tr.clear_anchor()
            tr.configure()
            t0 = time.perf_counter()
            hist = self._train(tr, self._pretrain_plan(name, 1 if which == "large" else 2,
                                                       None, len(idx)), idx, curves=False)
            tr.save(self.weights(name))
            return {"channels": self.channels("large" if which == "large" else "student"),
                    "teacher_data": self.cfg.kd.teacher_data, "n_train": int(len(idx)),
                    "test_segments_in_training": splits.teacher_test_overlap(
                        self.data.split, self.cfg.kd.teacher_data),
                    "history": hist, "train_seconds": time.perf_counter() - t0,
                    "test": self.scores(tr.probabilities(self.x_test))}
        return stage_result(self.run, name, compute)

    def _teacher_for_kd(self, which: str) -> Trainer:
        tr = self.trainer("large" if which == "large" else "small_teacher")
        tr.load(self.weights(f"teacher_{which}"))
        return tr

    def pretrain(self, kd: str) -> dict:
        """Student pre-training, without KD (``kd == "none"``) or from teacher ``kd``."""
        name = System(kd, None).pretrain_stage

        def compute():
            teacher = None if kd == "none" else self._teacher_for_kd(kd)
            tr = self.trainer("student")
            tr.set_state(self._inits["student"])      # every student starts from one init
            tr.reset_optimizer(0.0, self.cfg.pretrain.weight_decay)
            tr.clear_anchor()
            if teacher is None:
                tr.configure()
            else:
                tr.configure(kd_alpha=self.cfg.kd.alpha, kd_temperature=self.cfg.kd.temperature)
            t0 = time.perf_counter()
            code = {"none": 3, "large": 4, "small": 5}[kd]
            hist = self._train(tr, self._pretrain_plan(name, code, teacher, len(self.train_idx)),
                               self.train_idx, curves=True)
            tr.save(self.weights(name))
            return self._system_result(System(kd, None), tr, hist, time.perf_counter() - t0)
        return stage_result(self.run, name, compute)

    def finetune(self, system: System) -> dict:
        """Device-aware data-random-drop fine-tuning of a pre-trained student (seed §3.3)."""
        f = self.cfg.finetune

        def compute():
            tr = self.trainer("student")
            tr.load(self.weights(system.pretrain_stage))
            tr.reinit_classifier(self.run.seed)
            tr.set_anchor()
            tr.reset_optimizer(f.lr, f.weight_decay)
            tr.configure(penalty=float(system.lam), penalty_mode=f.penalty)
            plan = StagePlan(system.stage, f.epochs, f.batch_size, lambda s, n: f.lr,
                             augment=True, mixup_alpha=0.0,
                             drop_rate_fn=lambda e: schedules.drop_rate(
                                 e, f.epochs, f.max_drop_rate, f.steepness),
                             stage_code=10 + int(round(1000 * system.lam)))
            t0 = time.perf_counter()
            hist = self._train(tr, plan, self.train_idx, curves=True)
            tr.save(self.weights(system.stage))
            return self._system_result(system, tr, hist, time.perf_counter() - t0)
        return stage_result(self.run, system.stage, compute)

    def qat(self, system: System) -> dict:
        """Weight QAT (qat.py) continuing ``system``'s fine-tuning for ``int8.qat_epochs``
        epochs: same loss, penalty anchor, learning rate and the last fine-tuning epoch's drop
        rate; every step on INT8-grid weights."""
        from reproductions.bcres2net_asc.qat import WeightQAT
        f, name = self.cfg.finetune, f"qat_{system.key}"

        def compute():
            tr = self.trainer("student")
            tr.load(self.weights(system.pretrain_stage))
            tr.set_anchor()
            tr.load(self.weights(system.stage))
            tr.reset_optimizer(f.lr, f.weight_decay)
            tr.configure(penalty=float(system.lam or 0.0), penalty_mode=f.penalty)
            last_rate = schedules.drop_rate(f.epochs - 1, f.epochs, f.max_drop_rate, f.steepness)
            plan = StagePlan(name, self.cfg.int8.qat_epochs, f.batch_size, lambda s, n: f.lr,
                             augment=True, mixup_alpha=0.0, drop_rate_fn=lambda e: last_rate,
                             stage_code=900, qat=WeightQAT(tr.model))
            t0 = time.perf_counter()
            hist = self._train(tr, plan, self.train_idx, curves=False)
            tr.save(self.weights(name))
            return {"system": system.key, "epochs": self.cfg.int8.qat_epochs,
                    "quantised_kernels": len(plan.qat.kernels), "drop_rate": last_rate,
                    "history": hist, "train_seconds": time.perf_counter() - t0,
                    "test": self.scores(tr.probabilities(self.x_test))}
        return stage_result(self.run, name, compute)

    def _system_result(self, system: System, tr: Trainer, hist: list[dict],
                       seconds: float) -> dict:
        proba = tr.probabilities(self.x_test)
        self.write_predictions(system, proba)
        d = self.data
        scores = self.scores(proba)
        y_true, y_pred = d.y[self.test_idx], proba.argmax(1)
        k = len(d.scenes)
        cm = np.zeros((k, k))
        np.add.at(cm, (y_true, y_pred), 1)
        cm_norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        train_dev = d.device[self.train_idx]
        majority = np.bincount(d.y[self.train_idx], minlength=k).argmax()
        return {"system": system.key, "kd": system.kd, "lambda": system.lam,
                "history": hist, "train_seconds": seconds, "test": scores,
                "confusion_matrix_normalized": cm_norm.tolist(),
                "majority_class_accuracy": float(np.mean(y_true == majority)),
                "n_train": int(len(self.train_idx)), "n_test": int(len(self.test_idx)),
                "train_devices": {str(v): int(n) for v, n in
                                  zip(*np.unique(train_dev, return_counts=True))}}

    def write_predictions(self, system: System, proba: np.ndarray) -> Path:
        """The baseline's output format: filename, scene_label, one probability per scene."""
        d = self.data
        path = self.run.dir / "predictions" / f"{system.key}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["\t".join(["filename", "scene_label", *d.scenes])]
        for i, row in zip(self.test_idx, proba):
            lines.append("\t".join([Path(d.filename[i]).name, d.scenes[int(row.argmax())],
                                    *(f"{p:.6f}" for p in row)]))
        path.write_text("\n".join(lines) + "\n")
        return path


def run_all(run: Run, cfg: BcRes2NetConfig, data: SceneSet) -> tuple[dict, Experiment]:
    """Every training stage in dependency order; returns {stage: result}."""
    ex = Experiment(run, cfg, data)
    out: dict[str, dict] = {}
    for which in cfg.kd.teachers:
        announce(f"KD teacher '{which}' (C = {ex.channels('large' if which == 'large' else 'student')})")
        out[f"teacher_{which}"] = ex.teacher(which)
    for kd in ("none", *cfg.kd.teachers):
        announce(f"student pre-training (KD: {kd})")
        out[System(kd, None).stage] = ex.pretrain(kd)
    for system in systems(cfg):
        if system.lam is not None:
            announce(f"fine-tuning {system.key} (device-aware drop, λ = {system.lam:g})")
            out[system.stage] = ex.finetune(system)
    return out, ex


def run_everything(run: Run, cfg: BcRes2NetConfig, data: SceneSet, report,
                   skipped: list) -> dict:
    """Every stage, the INT8 models and the figures; returns the run's ``metrics.json``
    (what cells.run_cells and sections.py read)."""
    from reproductions.bcres2net_asc import cells

    results, ex = run_all(run, cfg, data)
    system_list = systems(cfg)
    int8 = {}
    if cfg.int8.enabled:
        announce("INT8: TFLite post-training quantisation, QAT, evaluation and timings")
        int8 = int8_stage(ex, system_list[-1])
    announce("figures")
    figures(run, cfg, results, data.scenes)
    return {"stages": results, "int8": int8,
            "systems": [{"key": s.key, "kd": s.kd, "lambda": s.lam, "stage": s.stage}
                        for s in system_list],
            "channels": {"student": cfg.model.student_channels,
                         "teacher_large": cfg.model.teacher_large_channels},
            "scenes": data.scenes,
            "dataset": cells.dataset_statistics(report, data),
            "skipped_files": skipped,
            "standardisation": {"mean": ex.stats[0], "std": ex.stats[1]}}


def int8_stage(ex: Experiment, system: System) -> dict:
    """Post-training INT8 TFLite model of ``system`` (the submitted one: KD + FT): size,
    DCASE scores of float Keras, float TFLite and INT8 TFLite side by side, prediction
    agreement, and inference times per 1 s segment (batch 1 and batched) on this CPU."""
    from reproductions.bcres2net_asc import int8

    cfg, run = ex.cfg, ex.run

    def compute():
        try:
            return convert_and_score()
        except Exception as exc:  # recorded, so that the run still finishes and reports why
            return {"system": system.key, "error": f"{type(exc).__name__}: {exc}"[:2000]}

    def convert_and_score():
        tr = ex.trainer("student")
        tr.load(ex.weights(system.stage))
        rng = np.random.default_rng([run.seed, 99])
        n_cal = min(len(ex.train_idx), cfg.int8.calibration_batches * cfg.int8.calibration_batch_size)
        calib = ex._input(ex.data.x[np.sort(rng.choice(ex.train_idx, n_cal, replace=False))])
        folder = run.checkpoints / "tflite"
        conv_float = int8.convert(tr.model, None, folder / f"{system.key}_float.tflite")
        conv_int8 = int8.convert(tr.model, calib, folder / f"{system.key}_int8.tflite")
        m_float = int8.TFLiteModel(folder / conv_float["path"])
        m_int8 = int8.TFLiteModel(folder / conv_int8["path"])
        p_keras = tr.probabilities(ex.x_test)
        p_float, p_int8 = m_float.probabilities(ex.x_test), m_int8.probabilities(ex.x_test)
        b = cfg.benchmark
        x1 = ex.x_test[:1]
        xb = ex.x_test[:min(b.batch, len(ex.x_test))]
        timing = benchmark({"keras_float": lambda x: tr._infer(x).numpy(),
                            "tflite_float": m_float, "tflite_int8": m_int8}, x1, xb, b)
        qat = {}
        if cfg.int8.qat_epochs > 0:
            trained = ex.qat(system)
            tr.load(ex.weights(f"qat_{system.key}"))
            conv_qat = int8.convert(tr.model, calib, folder / f"{system.key}_qat_int8.tflite")
            p_qat = int8.TFLiteModel(folder / conv_qat["path"]).probabilities(ex.x_test)
            qat = {"stage": {k: v for k, v in trained.items() if k != "test"},
                   "keras_fake_quant": trained["test"], "int8_tflite": conv_qat,
                   "tflite_int8": ex.scores(p_qat),
                   "agreement_int8_vs_keras_fake_quant": float(np.mean(
                       p_qat.argmax(1) == tr.probabilities(ex.x_test).argmax(1)))}
        return {"system": system.key, "runtime": m_int8.runtime, "qat": qat,
                "report_model": report_model_size(folder, run.seed, b),
                "float_tflite": conv_float, "int8_tflite": conv_int8,
                "scores": {"keras_float": ex.scores(p_keras), "tflite_float": ex.scores(p_float),
                           "tflite_int8": ex.scores(p_int8)},
                "agreement_int8_vs_float": float(np.mean(p_int8.argmax(1) == p_keras.argmax(1))),
                "max_abs_diff_tflite_float_vs_keras": float(np.abs(p_float - p_keras).max()),
                "calibration_segments": int(n_cal), "timing": timing, "batch": int(len(xb))}
    return stage_result(run, "int8", compute)


def benchmark(models: dict, x1: np.ndarray, xb: np.ndarray, b) -> dict:
    """Median milliseconds per 1 s segment of each model (callable on a float batch) at batch 1
    and at batch ``len(xb)`` (TIMING rows: this machine's, never compared)."""
    from reproductions.bcres2net_asc import int8
    timing = {}
    if b.enabled:
        for name, fn in models.items():
            timing[f"{name}_batch1_ms"] = 1000 * int8.time_calls(fn, x1, b.repeats, b.warmup)
            timing[f"{name}_batch{len(xb)}_ms_per_segment"] = 1000 * int8.time_calls(
                fn, xb, max(3, b.repeats // 10), 1) / len(xb)
    return timing


def report_model_size(folder: Path, seed: int, b) -> dict:
    """The report's submitted network (C = 40 on 256 × 32 patches) converted to full INT8 as
    the smoke student is: file bytes and constant bytes by type, whatever the profile trains
    (sizes do not depend on the weights' values; the weights are the seeded initial ones and
    the activation ranges come from 8 N(0, 1) patches, the standardised input's scale); and
    its inference time per segment as float Keras, float TFLite and INT8 TFLite."""
    import tensorflow as tf

    from reproductions.bcres2net_asc import int8
    from reproductions.bcres2net_asc.models import bc_res2net
    seed_everything(seed + 40)
    model = bc_res2net(name="bcres2net_c40")
    rng = np.random.default_rng([seed, 40])
    calib = rng.standard_normal((8,) + tuple(model.input_shape[1:])).astype(np.float32)
    out = int8.convert(model, calib, folder / "report_c40_int8.tflite")
    flt = int8.convert(model, None, folder / "report_c40_float.tflite")
    infer = tf.function(lambda x: model(x, training=False), jit_compile=False)
    xb = rng.standard_normal((b.batch,) + tuple(model.input_shape[1:])).astype(np.float32)
    timing = benchmark({"keras_float": lambda x: infer(x).numpy(),
                        "tflite_float": int8.TFLiteModel(folder / flt["path"]),
                        "tflite_int8": int8.TFLiteModel(folder / out["path"])}, xb[:1], xb, b)
    return {**out, "float_bytes": flt["bytes"], "channels": 40,
            "input": list(model.input_shape[1:]), "batch": b.batch, "timing": timing,
            "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights))}


def figures(run: Run, cfg: BcRes2NetConfig, results: dict, scenes: list[str]) -> None:
    """Device-wise log loss per system, the confusion matrix of the submitted system, the
    drop-rate schedule and the training curves."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common import plots

    sys_list = systems(cfg)
    devices = None
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for s in sys_list:
        v = results[s.stage]["test"]["values"]
        devices = devices or [k.split("/")[1] for k in v if k.startswith("device_log_loss/")]
        ax.plot(devices, [v[f"device_log_loss/{d}"] for d in devices], marker="o", label=s.key)
    ax.set_xlabel("device")
    ax.set_ylabel("log loss (legacy rule)")
    ax.set_title("Device-wise log loss on fold-1 test (Table 2)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    plots.save(fig, run.figures / "device_log_loss.png")

    last = sys_list[-1]
    plots.confusion_matrices({last.key: np.array(results[last.stage]["confusion_matrix_normalized"])},
                             scenes, run.figures / "confusion_matrix.png",
                             "Fold-1 test, row-normalised")

    f = cfg.finetune
    fig, ax = plt.subplots(figsize=(5, 3))
    e = np.arange(f.epochs)
    ax.plot(e + 1, [schedules.drop_rate(i, f.epochs, f.max_drop_rate, f.steepness) for i in e],
            marker=".")
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("device-A drop rate")
    ax.set_title(f"Data-random-drop schedule (steepness {f.steepness:g})")
    ax.grid(alpha=0.3)
    plots.save(fig, run.figures / "drop_rate.png")

    stages = [k for k in results if results[k].get("history")]
    fig, axes = plt.subplots(2, len(stages), figsize=(2.6 * len(stages), 5), squeeze=False)
    for j, k in enumerate(stages):
        h = results[k]["history"]
        ep = [r["epoch"] for r in h]
        axes[0][j].plot(ep, [r["loss"] for r in h], label="train loss")
        if any("test_log_loss" in r for r in h):
            axes[0][j].plot(ep, [r.get("test_log_loss", np.nan) for r in h], label="test log loss")
            axes[1][j].plot(ep, [r.get("test_accuracy", np.nan) for r in h], label="test acc.")
        axes[1][j].plot(ep, [r["train_accuracy"] for r in h], label="train acc.")
        axes[0][j].set_title(k, fontsize=8)
        for i in range(2):
            axes[i][j].grid(alpha=0.3)
            axes[i][j].legend(fontsize=6)
            axes[1][j].set_xlabel("epoch")
    fig.suptitle("Training curves (test curves are for the figure only, never for selection)")
    fig.tight_layout()
    plots.save(fig, run.figures / "training_curves.png")
