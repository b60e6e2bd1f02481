"""Report 003's tables filled from a finished run: one pure function per registry table, fed
from the run's ``metrics.json``, returning that table's cells.

The run's metrics hold ``stages`` (per training stage: history and, for students, the DCASE
2022 scores on fold-1 test under ``test.values``), ``systems`` (Table 2's rows: stage, KD
teacher, λ), ``channels``, ``dataset`` (counts read from the validated files) and ``int8``.
"""
from __future__ import annotations

from collections.abc import Callable

from common.runs import cell

DEVICE_COLUMNS = {"a": "A", "b": "B", "c": "C", "s1": "S1", "s2": "S2", "s3": "S3", "s4": "S4",
                  "s5": "S5", "s6": "S6"}
KD_ROW = {"none": "no KD", "large": "KD large (C=80)", "small": "KD small (C=40)"}
UNSEEN = ("s4", "s5", "s6")


def t2_row(kd: str, lam: float | None) -> str:
    """Table 2's row label of a system (KD teacher, fine-tuning λ)."""
    return f"{KD_ROW[kd]}, " + ("no FT" if lam is None else f"FT λ={lam:g}")


def _systems(m: dict) -> list[tuple[dict, dict]]:
    """(system, its stage result) for every system of the run that has scores."""
    return [(s, m["stages"][s["stage"]]) for s in m["systems"]
            if "test" in m["stages"].get(s["stage"], {})]


def _scores(result: dict) -> dict:
    v = result["test"]["values"]
    out = {"Average log loss": v["macro_class_log_loss"], "Acc.": 100 * v["accuracy"]}
    for dev, col in DEVICE_COLUMNS.items():
        if f"device_log_loss/{dev}" in v:
            out[col] = v[f"device_log_loss/{dev}"]
    return out


def t2(m: dict) -> list[dict]:
    """Table 2: device-wise log loss, average (macro class-wise, the challenge's ranking
    figure) log loss and class-wise average accuracy of every system; KD teacher width and λ
    as configured."""
    out = []
    for s, r in _systems(m):
        row = t2_row(s["kd"], s["lambda"])
        for col, value in _scores(r).items():
            out.append(cell("T2", row, col, value))
        if s["kd"] != "none":
            ch = m["channels"]["teacher_large" if s["kd"] == "large" else "student"]
            out.append(cell("T2", row, "KD", ch, note=f"teacher C = {ch}", kind="setting"))
        if s["lambda"] is not None:
            out.append(cell("T2", row, "Fine-tuning (λ)", s["lambda"], kind="setting"))
    return out


def relative_improvement(before: float, after: float, lower_is_better: bool = True) -> float:
    """(before − after) / before in % for a loss, (after − before) / before for accuracy."""
    return 100.0 * ((before - after) if lower_is_better else (after - before)) / before


def x_claims(m: dict) -> list[dict]:
    """The abstract's best system and Section 5's relative improvements, from our numbers."""
    by = {(s["kd"], s["lambda"]): _scores(r) for s, r in _systems(m)}
    out = []
    best = by.get(("small", 0.4))
    if best:
        out += [cell("X-claims", "best system (abstract)", "accuracy", best["Acc."]),
                cell("X-claims", "best system (abstract)", "log loss", best["Average log loss"])]
    base, ft = by.get(("none", None)), by.get(("none", 0.04))
    if base and ft:
        row = "FT λ=0.04 vs no FT"
        out += [cell("X-claims", row, "average log loss improvement",
                     relative_improvement(base["Average log loss"], ft["Average log loss"])),
                cell("X-claims", row, "accuracy improvement",
                     relative_improvement(base["Acc."], ft["Acc."], lower_is_better=False))]
        for dev in UNSEEN:
            col = DEVICE_COLUMNS[dev]
            if col in base and col in ft:
                out.append(cell("X-claims", row, f"{col} log loss improvement",
                                relative_improvement(base[col], ft[col])))
    return out


def x_dataset(m: dict) -> list[dict]:
    """The development set and its fold-1 split, counted from the validated files."""
    d = m["dataset"]
    rows = [("audio format", "sample rate", d["samplerate_khz"]),
            ("audio format", "channels", d["channels"]),
            ("segment length", "value", d["segment_seconds"]),
            ("devices", "real (A, B, C)", d["real_devices"]),
            ("devices", "simulated (S1-S6)", d["simulated_devices"]),
            ("development set", "segments", d["segments"]),
            ("development set", "cities", d["cities"]),
            ("development set", "scenes", d["scenes"]),
            ("official split", "training segments", d["train"]),
            ("official split", "test segments", d["test"]),
            ("official split", "device A share of training", d["train_device_a_percent"]),
            ("official split", "devices unseen in training (S4-S6)", d["unseen_in_train"])]
    return [cell("X-dataset", r, c, v) for r, c, v in rows if v is not None]


def dataset_statistics(report, scene_set) -> dict:
    """What X-dataset needs, read from the validated manifest and the extracted segments."""
    man = report.manifest
    devices = set(man["device"])
    train_dev = set(man.loc[man["split"] == "train", "device"])
    test_dev = set(man.loc[man["split"] == "test", "device"])
    n_train = int((man["split"] == "train").sum())
    return {"is_mini": bool(report.is_mini),
            "samplerate_khz": float(man["samplerate"].median()) / 1000,
            "channels": 1,   # the validator accepts mono files only (data_prep.tau22)
            "segment_seconds": float(man["duration"].median()),
            "real_devices": len(devices & {"a", "b", "c"}),
            "simulated_devices": len(devices & {"s1", "s2", "s3", "s4", "s5", "s6"}),
            "segments": int(len(man)), "cities": int(man["city"].nunique()),
            "scenes": int(man["scene_label"].nunique()), "train": n_train,
            "test": int((man["split"] == "test").sum()),
            "train_device_a_percent": round(100.0 * float(
                ((man["split"] == "train") & (man["device"] == "a")).sum()) / max(n_train, 1)),
            "unseen_in_train": len(test_dev - train_dev),
            "train_per_device": {str(k): int(v) for k, v in
                                 man[man["split"] == "train"].groupby("device").size().items()},
            "test_per_device": {str(k): int(v) for k, v in
                                man[man["split"] == "test"].groupby("device").size().items()},
            "usable_segments": int(len(scene_set))}


# registry table id -> the function that fills it from a run (analytic tables: analytic.py)
TABLES: dict[str, Callable[[dict], list[dict]]] = {
    "T2": t2, "X-claims": x_claims, "X-dataset": x_dataset,
}

EXPLANATIONS = {
    **{("T2", t2_row(kd, lam), "KD"):
       "the smoke profile divides every width by 5 (student C = 8, teachers C = 16 and 8); the "
       "full profile trains C = 80 and 40 teachers"
       for kd in ("large", "small") for lam in (None, 0.4)},
}


def run_cells(metrics: dict) -> list[dict]:
    """Every cell a finished run fills, table by table."""
    return [c for fill in TABLES.values() for c in fill(metrics)]
