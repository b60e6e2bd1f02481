"""Report 001's tables filled from a finished run: one pure function per registry table, each
fed from the run's metrics (``metrics.json``), returning that table's cells.

A function returns no cell for a number the run could not produce (a model not trained, a
dataset not used). Rows named after UrbanSound8K's classes (Tables 1 and 3) are filled on the
real dataset only: a mini corpus's classes are its own. Times measured on this machine are
``timing`` cells: shown, never compared.
"""
from __future__ import annotations

from collections.abc import Callable

from common.runs import cell
from reproductions.drossos_sed.config import T4_MODELS, TEXT_ROWS

BASELINE, DILATED, DESSED, PROP_1X1, PROP_POOL = T4_MODELS.values()
DND_SED = "poly_dnd_sed_k3_d10"      # reference-exact DnD-SED (the paper's proposed model)
MONO_BASELINE, MONO_PROPOSED = "report_mono_crnn", "report_mono_proposed"


def _corpus(part: dict) -> str:
    return "mini" if part["is_mini"] else "real"


def _f1(r: dict) -> float:
    return r["test"]["frame"]["values"]["frame_f1"]


def _minutes(r: dict) -> float | None:
    return None if r["train_seconds"] is None else r["train_seconds"] / 60


# ------------------------------------------------------------------------- UrbanSound8K (§2)

def t1(m: dict) -> list[dict]:
    """Table 1: elements per class (real UrbanSound8K only)."""
    from data_prep.urbansound8k import CLASSES
    mono = m.get("mono")
    if mono is None or mono["is_mini"]:
        return []
    return [cell("T1", name, "number of elements", n, corpus="real")
            for name, n in mono["facts"]["table1"].items() if name in CLASSES]


def x_us8k(m: dict) -> list[dict]:
    """The dataset facts of §2.1, read from the files."""
    mono = m.get("mono")
    if mono is None:
        return []
    f, corpus = mono["facts"], _corpus(mono)
    add = [("recordings", "count", f["recordings"]), ("classes", "count", f["classes"]),
           ("max recording duration", "value", f["max_duration_s"]),
           ("classes with < 1000 elements", "count", f["classes_below_1000"])]
    for stat in ("min", "max", "majority"):
        add.append(("bit depth", stat, f["bit_depth"][stat]))
        sr = f["samplerate"][stat]
        add.append(("sample rate", stat, None if sr is None else sr / 1000))
    return [cell("X-us8k", r, c, v, corpus=corpus) for r, c, v in add if v is not None]


def x_mono_preprocessing(m: dict) -> list[dict]:
    """The two §2.2 numbers that come from the data (the rest are settings: analytic.py)."""
    mono = m.get("mono")
    if mono is None:
        return []
    corpus = _corpus(mono)
    return [cell("X-mono-preprocessing", "recordings shorter than the window", "count",
                 mono["facts"]["shorter_than_fft_window"], corpus=corpus),
            cell("X-mono-preprocessing", "frames after padding (longest audio)", "value",
                 mono["padding"]["longest_raw_frames"], corpus=corpus)]


def x_mono_results(m: dict) -> list[dict]:
    """§4.1's text numbers for the monophonic baseline and proposed model."""
    mono = m.get("mono")
    if mono is None:
        return []
    corpus, models, out = _corpus(mono), mono["models"], []
    if MONO_BASELINE in models:
        r = models[MONO_BASELINE]
        v = r["classification"]["values"]
        out += [cell("X-mono-results", "baseline", "epochs", r["fit"]["epochs_run"], corpus=corpus),
                cell("X-mono-results", "baseline", "accuracy", v["accuracy"], corpus=corpus),
                cell("X-mono-results", "baseline", "lowest loss during training",
                     r["min_val_loss"], corpus=corpus, note="lowest validation loss"),
                cell("X-mono-results", "baseline", "test loss", r["test_loss"], corpus=corpus)]
        if r["train_seconds"] is not None:
            out.append(cell("X-mono-results", "baseline", "training time",
                            r["train_seconds"] / 3600, corpus=corpus, kind="timing"))
    if MONO_PROPOSED in models:
        r = models[MONO_PROPOSED]
        out += [cell("X-mono-results", "proposed", "test accuracy",
                     r["classification"]["values"]["accuracy"], corpus=corpus),
                cell("X-mono-results", "proposed", "test loss", r["test_loss"], corpus=corpus),
                cell("X-mono-results", "proposed", "epochs", r["fit"]["epochs_run"],
                     corpus=corpus)]
    return out


def t3(m: dict) -> list[dict]:
    """Table 3: class-wise F1 of the monophonic baseline (real UrbanSound8K only)."""
    from data_prep.urbansound8k import CLASSES
    mono = m.get("mono")
    if mono is None or mono["is_mini"] or MONO_BASELINE not in mono["models"]:
        return []
    v = mono["models"][MONO_BASELINE]["classification"]["values"]
    return [cell("T3", name, "f1-score", v.get(f"f1/{name}"), corpus="real")
            for name in CLASSES if f"f1/{name}" in v]


# -------------------------------------------------------------- TUT-SED Synthetic 2016 (§3)

def t2(m: dict) -> list[dict]:
    """Table 2: events per label, read from the annotations."""
    poly = m.get("poly")
    if poly is None:
        return []
    return [cell("T2", label, "number of elements", n, corpus=_corpus(poly))
            for label, n in poly["facts"]["table2"].items()]


def x_tut(m: dict) -> list[dict]:
    """The dataset facts of §3.1, read from the files."""
    poly = m.get("poly")
    if poly is None:
        return []
    f = poly["facts"]
    add = [("maximum polyphony", "value", f["max_polyphony"]),
           ("recordings (mixtures)", "count", f["mixtures"]),
           ("events", "count", f["events"]),
           ("classes", "count", f["labels_with_events"]),
           ("channels", "value", f["channels"]["majority"]),
           ("bit depth", "value", f["bit_depth"]["majority"]),
           ("sample rate", "value", None if f["samplerate"]["majority"] is None
            else f["samplerate"]["majority"] / 1000)]
    return [cell("X-tut", r, c, v, corpus=_corpus(poly)) for r, c, v in add if v is not None]


def t4(m: dict) -> list[dict]:
    """Table 4: accuracy, loss, F1 and training time of the five polyphonic models (their
    parameter counts and sizes are analytic: analytic.py)."""
    poly = m.get("poly")
    if poly is None:
        return []
    corpus, res, out = _corpus(poly), poly["models"], []
    for row, name in T4_MODELS.items():
        r = res.get(name)
        if r is None:
            continue
        t = r["test"]
        out += [cell("T4", row, "Accuracy", t["accuracy"], corpus=corpus),
                cell("T4", row, "Loss", t["loss"], corpus=corpus),
                cell("T4", row, "f1-score", _f1(r), corpus=corpus,
                     note="frame-level micro F1 over whole test mixtures")]
        if _minutes(r) is not None:
            out.append(cell("T4", row, "Training time", _minutes(r), corpus=corpus,
                            kind="timing"))
    return out


def x_poly_results(m: dict) -> list[dict]:
    """§4.2's text numbers per polyphonic model."""
    poly = m.get("poly")
    if poly is None:
        return []
    corpus, res, out = _corpus(poly), poly["models"], []
    for name in T4_MODELS.values():
        r = res.get(name)
        if r is None:
            continue
        t, text = r["test"], TEXT_ROWS[name]
        out += [cell("X-poly-results", text, "test accuracy", t["accuracy"], corpus=corpus),
                cell("X-poly-results", text, "test loss", t["loss"], corpus=corpus),
                cell("X-poly-results", text, "micro F1", _f1(r), corpus=corpus)]
        if name != PROP_POOL:  # the report gives no epoch count for the max-pool variant
            out.append(cell("X-poly-results", text, "epochs", r["fit"]["epochs_run"],
                            corpus=corpus))
        if name in (BASELINE, DILATED, DESSED) and _minutes(r) is not None:
            out.append(cell("X-poly-results", text, "training time", _minutes(r) / 60,
                            corpus=corpus, kind="timing"))
    if BASELINE in res:
        out.append(cell("X-poly-results", "baseline", "best epoch",
                        res[BASELINE]["fit"]["best_epoch"], corpus=corpus))
    if BASELINE in res and DESSED in res:
        out.append(cell("X-poly-results", "dessed", "F1 loss vs baseline",
                        _f1(res[BASELINE]) - _f1(res[DESSED]), corpus=corpus))
    if all(n in res and _minutes(res[n]) for n in (PROP_1X1, PROP_POOL)):
        out.append(cell("X-poly-results", "proposed (both variants)", "training time",
                        (_minutes(res[PROP_1X1]) + _minutes(res[PROP_POOL])) / 120,
                        corpus=corpus, note="mean of the two variants, hours", kind="timing"))
    return out


def x_claims(m: dict) -> list[dict]:
    """The comparative claims after Table 4, recomputed from our models."""
    poly = m.get("poly")
    if poly is None:
        return []
    corpus, res, out = _corpus(poly), poly["models"], []

    def have(*names):
        return all(n in res for n in names)

    def have_time(*names):
        return have(*names) and all(_minutes(res[n]) for n in names)

    minutes = {n: _minutes(r) for n, r in res.items()}
    if have(BASELINE, DILATED):
        out.append(cell("X-claims", "dilated vs baseline", "F1 advancement",
                        _f1(res[DILATED]) - _f1(res[BASELINE]), corpus=corpus))
    if have_time(BASELINE, DILATED):
        out.append(cell("X-claims", "dilated vs baseline", "training-time factor",
                        minutes[DILATED] / minutes[BASELINE], corpus=corpus, kind="timing"))
    if have(BASELINE, DESSED, PROP_POOL):
        out.append(cell("X-claims", "separable models vs baseline", "F1 loss",
                        _f1(res[BASELINE]) - (_f1(res[DESSED]) + _f1(res[PROP_POOL])) / 2,
                        corpus=corpus, note="baseline minus the mean of dessed and proposed "
                        "(max pooling)"))
    if have_time(BASELINE, PROP_1X1, PROP_POOL):
        out.append(cell("X-claims", "separable models vs baseline", "training-time factor",
                        (minutes[PROP_1X1] + minutes[PROP_POOL]) / 2 / minutes[BASELINE],
                        corpus=corpus, note="mean of the two proposed variants / baseline",
                        kind="timing"))
    if have(DILATED, PROP_POOL) and _f1(res[DILATED]) > 0:
        out.append(cell("X-claims", "new approaches", "performance loss",
                        100 * (1 - _f1(res[PROP_POOL]) / _f1(res[DILATED])), corpus=corpus,
                        note="1 - F1(proposed, max pooling) / F1(dilated)"))
    return out


def p_x_abstract(m: dict) -> list[dict]:
    """The paper's abstract claims, from the reference-exact DnD-SED against the baseline."""
    poly = m.get("poly")
    if poly is None or not (BASELINE in poly["models"] and DND_SED in poly["models"]):
        return []
    corpus = _corpus(poly)
    b, d = poly["models"][BASELINE], poly["models"][DND_SED]
    fb, fd = b["test"]["frame"]["values"], d["test"]["frame"]["values"]
    note = ("reference-exact DnD-SED (k3, d10) vs the report's Keras CRNN baseline; "
            "difference in percentage points")
    out = [cell("P-X-abstract", "DnD-SED vs baseline", "mean frame-wise F1 increase",
                100 * (fd["frame_f1"] - fb["frame_f1"]), corpus=corpus, note=note),
           cell("P-X-abstract", "DnD-SED vs baseline", "mean error-rate reduction",
                100 * (fb["frame_error_rate"] - fd["frame_error_rate"]), corpus=corpus,
                note=note)]
    if b["seconds_per_epoch"] and d["seconds_per_epoch"]:
        out.append(cell("P-X-abstract", "DnD-SED vs baseline", "mean time-per-epoch reduction",
                        100 * (1 - d["seconds_per_epoch"] / b["seconds_per_epoch"]),
                        corpus=corpus, note="one run on this machine", kind="timing"))
    return out


# why a number from a run differs from the report (shown beside it)
EXPLANATIONS = {
    ("X-mono-preprocessing", "frames after padding (longest audio)", "value"):
        "frames of the longest slice of this corpus (4 s at 22,050 Hz, hop 512, centred: 173); "
        "every slice is zero-padded to it (mono.n_frames: null), as the report did with the "
        "real data's longest slice",
}

# registry table id -> the function that fills it from a run (analytic tables: analytic.py)
TABLES: dict[str, Callable[[dict], list[dict]]] = {
    "T1": t1, "X-us8k": x_us8k, "X-mono-preprocessing": x_mono_preprocessing,
    "X-mono-results": x_mono_results, "T3": t3, "T2": t2, "X-tut": x_tut, "T4": t4,
    "X-poly-results": x_poly_results, "X-claims": x_claims, "P-X-abstract": p_x_abstract,
}


def run_cells(metrics: dict) -> list[dict]:
    """Every cell a finished run fills, table by table."""
    return [c for fill in TABLES.values() for c in fill(metrics)]
