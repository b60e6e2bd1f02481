"""Report 004's tables filled from a finished run: one pure function per registry table, each
fed from the run's metrics (``metrics.json``), returning that table's cells.

The run's metrics hold, per clip length ("0.5s", "1s", "2s"): ``musan`` (the default split),
``musan_<other>_split`` (the other split mode), ``gtzan`` (zero-shot and fine-tuned), and
``question1``, ``benchmark``, ``corpora`` (statistics read from the datasets' files),
``split_modes``. Times measured on this machine are ``timing`` cells.
"""
from __future__ import annotations

from collections.abc import Callable

from common.runs import cell
from reproductions.swishnet.config import CLASS_NAMES

LENGTH_ROW = {0.5: "0.5s", 1.0: "1.0s", 2.0: "2.0s"}
T2_COLUMNS = {"accuracy": "Overall Accuracy (%)", "recall/speech": "Speech Recall (%)",
              "recall/music": "Music Recall (%)", "recall_macro": "Average Recall (%)",
              "f1": "F1 Score (%)"}
P_T7_COLUMNS = {k: v.replace(" (%)", "") for k, v in T2_COLUMNS.items()}


def _by_length(results: dict) -> list[tuple[str, dict]]:
    """(registry row, result) for every clip length the run has a row for."""
    out = []
    for key, r in results.items():
        row = LENGTH_ROW.get(float(key.rstrip("s")))
        if row is not None:
            out.append((row, r))
    return out


def _pct(result: dict, name: str) -> float:
    return 100.0 * result["values"][name]


def _gtzan_corpus(m: dict) -> str:
    c = m["corpora"]
    return "mini" if (c["musan"]["is_mini"] or c["gtzan"]["is_mini"]) else "real"


def _paper_split(m: dict) -> dict:
    """The paper split files: its tables are compared with our file-level split."""
    modes = m["split_modes"]
    return m["musan"] if modes["default"] == "file" else m.get(f"musan_{modes['other']}_split", {})


def t1(m: dict) -> list[dict]:
    """Table 1: overall and speech/non-speech accuracy on MUSAN (the report's split)."""
    out = []
    for row, r in _by_length(m["musan"]):
        out += [cell("T1", row, "Overall (%)", _pct(r["classification"], "accuracy")),
                cell("T1", row, "SNS (%)", _pct(r["sns"], "sns_accuracy"))]
    return out


def t2(m: dict) -> list[dict]:
    """Table 2: GTZAN after fine-tuning."""
    corpus = _gtzan_corpus(m)
    return [cell("T2", row, col, _pct(r["finetuned"], metric), corpus=corpus)
            for row, r in _by_length(m["gtzan"]) for metric, col in T2_COLUMNS.items()]


def p_t7(m: dict) -> list[dict]:
    """Paper Table VII (GTZAN, 2 s): the report's fine-tuned reference-code model."""
    corpus = _gtzan_corpus(m)
    return [cell("P-T7", "SwishNet-slim", col, _pct(r["finetuned"], metric), corpus=corpus,
                 note="reference-code model, fine-tuned as the report did")
            for row, r in _by_length(m["gtzan"]) if row == "2.0s"
            for metric, col in P_T7_COLUMNS.items()]


def p_t2(m: dict) -> list[dict]:
    """Paper Table II: overall and SNS accuracy with the file-level split."""
    out = []
    for row, r in _by_length(_paper_split(m)):
        out += [cell("P-T2", "SwishNet-slim Undistilled", f"{row} Overall",
                     _pct(r["classification"], "accuracy"), note="file-level split, as the paper"),
                cell("P-T2", "SwishNet-slim Undistilled", f"{row} SNS",
                     _pct(r["sns"], "sns_accuracy"))]
    return out


def p_t3(m: dict) -> list[dict]:
    """Paper Table III: class-wise average F1, file-level split."""
    return [cell("P-T3", "SwishNet-slim Undistilled", row, _pct(r["classification"], "f1_macro"))
            for row, r in _by_length(_paper_split(m))]


def p_t4(m: dict) -> list[dict]:
    """Paper Table IV: row-normalised confusion matrices, file-level split."""
    out = []
    for row, r in _by_length(_paper_split(m)):
        cm = r["classification"]["arrays"]["confusion_matrix_normalized"]
        for i, true in enumerate(CLASS_NAMES):
            for j, pred in enumerate(CLASS_NAMES):
                out.append(cell("P-T4", f"{row}, true {true}", f"pred {pred}", cm[i][j]))
    return out


def x_q1_sanity(m: dict) -> list[dict]:
    """Question 1: the seeded prediction of the reference code, replayed."""
    q1 = m["question1"]["reference_report_procedure"]
    return [cell("X-q1-sanity", f"keras impl [8], sample {i}", f"class {j}", q1[i][j],
                 corpus="analytic", note="reference code, Keras-2 initialiser replay (init=keras2)")
            for i in range(2) for j in range(2)]


def p_t1(m: dict) -> list[dict]:
    """Paper Table I on this machine: CPU milliseconds per clip (parameter counts and file
    sizes are analytic: analytic.py)."""
    names = {"paper-slim": "SwishNet-slim", "paper-wide": "SwishNet-wide"}
    out = []
    for key, row in names.items():
        b = (m.get("benchmark") or {}).get(key)
        if not b:
            continue
        for length in LENGTH_ROW.values():
            ms = b.get(f"cpu_ms_{float(length[:-1]):g}s")
            if ms is not None:
                out.append(cell("P-T1", row, f"CPU {length}", ms, corpus="this_machine",
                                kind="timing"))
    return out


def p_x_corpora(m: dict) -> list[dict]:
    """The corpora as the paper describes them, read from the datasets' files."""
    c = m["corpora"]
    mu, g = c["musan"], c["gtzan"]
    gc = "mini" if g["is_mini"] else "real"
    out = [cell("P-X-corpora", "MUSAN", f"{cat} files", mu["files"][cat])
           for cat in ("music", "noise", "speech")]
    out += [cell("P-X-corpora", "MUSAN", "hours", mu["hours"]),
            cell("P-X-corpora", "MUSAN", "sampling rate", mu["samplerate_khz"])]
    out += [cell("P-X-corpora", "GTZAN music/speech", f"{cat} files", g["files"][cat], corpus=gc)
            for cat in ("music", "speech")]
    out += [cell("P-X-corpora", "GTZAN music/speech", "track length", g["median_seconds"],
                 corpus=gc),
            cell("P-X-corpora", "GTZAN music/speech", "sampling rate", g["samplerate_hz"],
                 corpus=gc)]
    return out


def corpus_statistics(resolved: dict) -> dict:
    """What P-X-corpora needs, read from the validated manifests (stored in metrics.json)."""
    m, g = resolved["musan"][2].manifest, resolved["gtzan"][2].manifest
    return {"musan": {"is_mini": bool(resolved["musan"][1]),
                      "files": {cat: int((m["category"] == cat).sum())
                                for cat in ("music", "noise", "speech")},
                      "hours": float(m["duration"].sum()) / 3600,
                      "samplerate_khz": float(m["samplerate"].median()) / 1000},
            "gtzan": {"is_mini": bool(resolved["gtzan"][1]),
                      "files": {cat: int((g["category"] == cat).sum())
                                for cat in ("music", "speech")},
                      "median_seconds": float(g["duration"].median()),
                      "samplerate_hz": float(g["samplerate"].median())}}


# registry table id -> the function that fills it from a run (analytic tables: analytic.py)
TABLES: dict[str, Callable[[dict], list[dict]]] = {
    "T1": t1, "T2": t2, "P-T7": p_t7, "P-T2": p_t2, "P-T3": p_t3, "P-T4": p_t4,
    "X-q1-sanity": x_q1_sanity, "P-T1": p_t1, "P-X-corpora": p_x_corpora,
}


def run_cells(metrics: dict) -> list[dict]:
    """Every cell a finished run fills, table by table."""
    return [c for fill in TABLES.values() for c in fill(metrics)]
