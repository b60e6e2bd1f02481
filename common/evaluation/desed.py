"""``repro evaluate desed``: the DCASE 2020 Task 4 (DESED) evaluation of a user's detections
(specs/fuss_desed.md §3.2, §4.2; metric definitions in :mod:`common.metrics.desed`).

Inputs (tab-separated, UTF-8, with a header line; columns found by name, in any order):

- ``--ground-truth``: ``filename onset offset event_label`` (the official DESED metadata). A
  file with no event is a row with empty onset, offset and label (``Yxxx.wav<TAB><TAB><TAB>``,
  as pandas writes NaN) or the filename alone. Every listed file is evaluated.
- ``--durations``: ``filename duration`` (seconds) for every ground-truth file (PSDS needs it).
- ``--predictions``: detected events with the same four columns (the baseline writes them in
  the order ``event_label onset offset filename``). Files with no detection need no row.
  Predictions for files absent from the ground truth are ignored, as in the baseline, and
  counted in ``n_prediction_files_not_in_ground_truth``.
- ``--scores`` (optional): a folder holding one ``<stem>.tsv`` per ground-truth file (stem =
  the audio file name without its audio extension), columns ``onset offset <class>...``, one
  row per frame, frames contiguous (the sed_scores_eval format). Enables PSDS.

JSON keys (fractions in [0, 1]; ``null`` = undefined):
``event_macro_f1``, ``event_class_f1`` ({label: F1}), ``event_micro_f1``,
``segment_macro_f1_1s``, ``segment_micro_f1_1s``, ``labels``, ``n_files``,
``n_prediction_files_not_in_ground_truth``; with ``--scores``: ``psds`` (α_ct = α_st = 0, the
headline), ``psds_cross_trigger`` (1, 0), ``psds_macro`` (0, 1), ``psds_classes`` and
``psds_method``. PSDS covers the classes with at least one ground-truth event (sed_scores_eval
requires it); the score folder's other class columns are listed in ``psds_classes_without_
ground_truth`` and left out.
"""
from __future__ import annotations

import math
from pathlib import Path

from common.errors import PredictionFileError
from common.evaluation import Argument, EvaluationTask
from common.evaluation.formats import read_lines

NAME = "desed"
EVENT_COLUMNS = ("filename", "onset", "offset", "event_label")
DURATION_COLUMNS = ("filename", "duration")
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
# Frame edges of a score table must agree to this tolerance (seconds); the files are written
# with a few decimals.
TIME_TOLERANCE = 1e-6


def audio_id(filename: str) -> str:
    """The name without folder and without an audio extension. Only known audio extensions
    are removed: DESED stems themselves contain dots (``Yabc_30.000_40.000.wav``)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    for ext in AUDIO_EXTENSIONS:
        if base.lower().endswith(ext):
            return base[: -len(ext)]
    return base


def _read_table(path: str | Path, required: tuple[str, ...]) -> tuple[Path, list[tuple[int, dict[str, str]]]]:
    """Rows of a headed tsv as ``(line, {column: text})``; errors name file/line/column.
    Lines are read by :func:`common.evaluation.formats.read_lines`; a folder and an empty file
    get this reader's own messages (a tsv, and its header, are what is expected)."""
    path = Path(path)
    if path.is_dir():
        raise PredictionFileError(path, "is a folder, expected a tsv file")
    lines = read_lines(path, allow_empty=True)
    if not lines:
        raise PredictionFileError(path, "file is empty (expected a header line)")
    head_line, head = lines[0]
    columns = [c.strip() for c in head.split("\t")]
    missing = [c for c in required if c not in columns]
    if missing:
        raise PredictionFileError(path, f"header lacks column(s) {missing}; found {columns} "
                                        f"(tab-separated, expected {list(required)})",
                                  head_line, missing[0])
    rows = []
    for number, line in lines[1:]:
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) > len(columns):
            raise PredictionFileError(path, f"{len(fields)} fields but the header has "
                                            f"{len(columns)} columns", number,
                                      f"column {len(columns) + 1}")
        fields += [""] * (len(columns) - len(fields))
        rows.append((number, dict(zip(columns, fields))))
    return path, rows


def _number(text: str, path: Path, line: int, column: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PredictionFileError(path, f"{text!r} is not a number", line, column) from None
    if not math.isfinite(value) or value < minimum:
        raise PredictionFileError(path, f"{text!r} must be a finite number >= {minimum}",
                                  line, column)
    return value


def read_events(path: str | Path, *, allow_empty_rows: bool = True
                ) -> tuple[dict[str, list[dict]], dict[str, int], dict[str, list[int]]]:
    """``({audio_id: [event dict]}, {audio_id: first line}, {audio_id: event lines})``."""
    path, rows = _read_table(path, EVENT_COLUMNS)
    events: dict[str, list[dict]] = {}
    first: dict[str, int] = {}
    event_lines: dict[str, list[int]] = {}
    for line, row in rows:
        name = row["filename"]
        if not name:
            raise PredictionFileError(path, "empty filename", line, "filename")
        key = audio_id(name)
        events.setdefault(key, [])
        first.setdefault(key, line)
        event_lines.setdefault(key, [])
        onset_s, offset_s, label = row["onset"], row["offset"], row["event_label"]
        if not (onset_s or offset_s or label):
            if not allow_empty_rows:
                raise PredictionFileError(path, "row without an event", line, "event_label")
            continue  # a file with no event, as the official tsv writes it
        for column, value in (("onset", onset_s), ("offset", offset_s), ("event_label", label)):
            if not value:
                raise PredictionFileError(path, f"empty {column} in an event row", line, column)
        onset = _number(onset_s, path, line, "onset")
        offset = _number(offset_s, path, line, "offset")
        if offset < onset:
            raise PredictionFileError(path, f"offset {offset_s} is before onset {onset_s}",
                                      line, "offset")
        events[key].append({"onset": onset, "offset": offset, "event_label": label})
        event_lines[key].append(line)
    return events, first, event_lines


def read_durations(path: str | Path) -> dict[str, float]:
    path, rows = _read_table(path, DURATION_COLUMNS)
    out: dict[str, float] = {}
    for line, row in rows:
        if not row["filename"]:
            raise PredictionFileError(path, "empty filename", line, "filename")
        value = _number(row["duration"], path, line, "duration")
        if value <= 0:
            raise PredictionFileError(path, f"duration {row['duration']!r} must be > 0",
                                      line, "duration")
        out[audio_id(row["filename"])] = value
    return out


def read_score_folder(folder: str | Path, ids: list[str]):
    """``({audio_id: score DataFrame}, classes)`` from ``<folder>/<id>.tsv`` for every id."""
    import numpy as np

    from common.metrics.desed import score_dataframe

    folder = Path(folder)
    if not folder.is_dir():
        raise PredictionFileError(folder, "scores: expected a folder of <file stem>.tsv files")
    present = {p.name[:-4]: p for p in folder.iterdir() if p.name.endswith(".tsv")}
    missing = [i for i in ids if i not in present]
    if missing:
        raise PredictionFileError(folder / f"{missing[0]}.tsv",
                                  f"no score file for ground-truth file {missing[0]!r} "
                                  f"({len(missing)} missing in all)")
    extra = sorted(set(present) - set(ids))
    if extra:
        raise PredictionFileError(present[extra[0]], f"score file for a file that is not in "
                                                     f"the ground truth ({len(extra)} such)")
    classes: list[str] | None = None
    tables = {}
    for key in ids:
        path = present[key]
        text = path.read_text(encoding="utf-8-sig")
        lines = [(n, ln.rstrip("\r")) for n, ln in enumerate(text.split("\n"), start=1)
                 if ln.strip()]
        if len(lines) < 2:
            raise PredictionFileError(path, "needs a header and at least one frame row")
        header = [c.strip() for c in lines[0][1].split("\t")]
        if header[:2] != ["onset", "offset"] or len(header) < 3:
            raise PredictionFileError(path, f"header must be onset, offset, <class>...; found "
                                            f"{header}", lines[0][0], "onset")
        if classes is None:
            classes = header[2:]
        elif header[2:] != classes:
            raise PredictionFileError(path, f"class columns {header[2:]} differ from "
                                            f"{classes} of {present[ids[0]].name}",
                                      lines[0][0], header[2] if len(header) > 2 else "onset")
        onsets, offsets, rows = [], [], []
        for number, ln in lines[1:]:
            fields = [f.strip() for f in ln.split("\t")]
            if len(fields) != len(header):
                raise PredictionFileError(path, f"{len(fields)} fields, header has "
                                                f"{len(header)}", number,
                                          header[min(len(fields), len(header) - 1)])
            on = _number(fields[0], path, number, "onset")
            off = _number(fields[1], path, number, "offset")
            if off <= on:
                raise PredictionFileError(path, "offset must be after onset", number, "offset")
            if offsets and abs(on - offsets[-1]) > TIME_TOLERANCE:
                raise PredictionFileError(path, f"frame starts at {fields[0]} but the previous "
                                                f"one ended at {offsets[-1]}: frames must be "
                                                "contiguous", number, "onset")
            row = []
            for c, text_value in zip(header[2:], fields[2:]):
                try:
                    v = float(text_value)
                except ValueError:
                    raise PredictionFileError(path, f"score {text_value!r} is not a number",
                                              number, c) from None
                if not math.isfinite(v):
                    raise PredictionFileError(path, f"score {text_value!r} is not finite",
                                              number, c)
                row.append(v)
            onsets.append(on)
            offsets.append(off)
            rows.append(row)
        tables[key] = score_dataframe(np.asarray(rows), onsets + [offsets[-1]], classes)
    return tables, list(classes or [])


def _null(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def evaluate(ground_truth: str | Path, durations: str | Path, predictions: str | Path,
             scores: str | Path | None = None) -> dict:
    """The JSON contract of the module docstring."""
    from common.metrics.desed import (
        CTTC_THRESHOLD,
        PSDS_VARIANTS,
        event_based_f1,
        ground_truth_overlaps,
        psds,
        segment_based_f1,
    )

    truth, truth_first, truth_lines = read_events(ground_truth)
    lengths = read_durations(durations)
    missing = [k for k in truth if k not in lengths]
    if missing:
        raise PredictionFileError(durations, f"no duration for ground-truth file {missing[0]!r} "
                                             f"(line {truth_first[missing[0]]} of "
                                             f"{Path(ground_truth).name}); {len(missing)} missing")
    estimated, _, _ = read_events(predictions)
    event = event_based_f1(truth, estimated)
    segment = segment_based_f1(truth, estimated)
    labels = event.params["labels"]
    result: dict = {
        "event_macro_f1": _null(event["event_macro_f1"]),
        "event_class_f1": {lab: _null(event[f"event_f1/{lab}"]) for lab in labels},
        "event_micro_f1": _null(event["event_micro_f1"]),
        "segment_macro_f1_1s": _null(segment["segment_macro_f1"]),
        "segment_micro_f1_1s": _null(segment["segment_micro_f1"]),
        "labels": labels,
        "n_files": len(truth),
        "n_prediction_files_not_in_ground_truth": len(set(estimated) - set(truth)),
        "event_params": {k: event.params[k] for k in
                         ("t_collar", "percentage_of_length", "empty_system_output_handling",
                          "library", "library_version")},
    }
    if scores is None:
        return result
    ids = sorted(truth)
    tables, classes = read_score_folder(scores, ids)
    gt_labels = sorted({ev["event_label"] for evs in truth.values() for ev in evs})
    unknown = [lab for lab in gt_labels if lab not in classes]
    if unknown:
        key = next(k for k in ids for ev in truth[k] if ev["event_label"] == unknown[0])
        raise PredictionFileError(Path(scores) / f"{key}.tsv",
                                  f"no score column for ground-truth label {unknown[0]!r}",
                                  1, unknown[0])
    gt = {k: [(ev["onset"], ev["offset"], ev["event_label"]) for ev in truth[k]] for k in ids}
    overlaps = ground_truth_overlaps(gt)
    if overlaps:
        clip, label = overlaps[0]
        line = next(n for n, ev in zip(truth_lines[clip], truth[clip])
                    if ev["event_label"] == label)
        raise PredictionFileError(ground_truth, f"same-label {label!r} events of {clip!r} overlap "
                                                "or touch; PSDS (sed_scores_eval) needs them "
                                                "merged", line, "onset")
    dropped = [c for c in classes if c not in gt_labels]
    if dropped:
        tables = {k: df[["onset", "offset", *gt_labels]] for k, df in tables.items()}
    for key, (alpha_ct, alpha_st) in PSDS_VARIANTS.items():
        res = psds(tables, gt, lengths, alpha_ct=alpha_ct, alpha_st=alpha_st)
        result[key] = _null(res["psds"])
        if key == "psds":
            result["psds_method"] = res.params["method"]
            result["psds_params"] = {k: res.params[k] for k in
                                     ("dtc_threshold", "gtc_threshold", "max_efpr_per_hour",
                                      "library", "library_version")}
            result["psds_params"]["cttc_threshold_cross_trigger"] = CTTC_THRESHOLD
    result["psds_classes"] = gt_labels
    result["psds_classes_without_ground_truth"] = dropped
    return result


def describe(result: dict) -> str:
    def pct(x: float | None) -> str:
        return "undefined" if x is None else f"{100 * x:.2f} %"

    lines = [f"DESED (DCASE 2020 Task 4) on {result['n_files']} files",
             f"event-based macro F1 : {pct(result['event_macro_f1'])}",
             f"segment-based macro F1 (1 s): {pct(result['segment_macro_f1_1s'])}"]
    for lab, f in result["event_class_f1"].items():
        lines.append(f"  {lab:<28} {pct(f)}")
    if "psds" in result:
        lines.append(f"PSDS (0, 0, 100): {result['psds']:.4f}  cross-trigger (1, 0): "
                     f"{result['psds_cross_trigger']:.4f}  macro (0, 1): "
                     f"{result['psds_macro']:.4f}  [{result['psds_method']}]")
    if result["n_prediction_files_not_in_ground_truth"]:
        lines.append(f"ignored: predictions for {result['n_prediction_files_not_in_ground_truth']}"
                     " file(s) not in the ground truth")
    return "\n".join(lines)


TASK = EvaluationTask(
    name=NAME,
    help="DCASE 2020 Task 4 / DESED: sed_eval event-based macro F1 (200 ms, 20 %), segment F1 "
         "(1 s), PSDS (sed_scores_eval, DTC/GTC 0.5, CTTC 0.3, 100/h)",
    arguments=(
        Argument("--ground-truth", "tsv: filename, onset, offset, event_label (header)"),
        Argument("--durations", "tsv: filename, duration (header)"),
        Argument("--predictions", "tsv of detected events: filename, onset, offset, "
                                  "event_label (header)"),
        Argument("--scores", "folder of <file stem>.tsv frame scores (onset, offset, one "
                             "column per class) for PSDS", required=False),
    ),
    evaluate=evaluate,
    describe=describe,
)
