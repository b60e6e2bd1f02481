"""``repro evaluate sonyc-ust``: the official DCASE2019 Task 5 (SONYC-UST) evaluation.

Inputs are the official files (spec ``vggish_fusion.md`` §3): ``annotations.csv`` (one row per
file × annotator; the ground truth is annotator 0 on the validate split), the taxonomy YAML and
a submission CSV (``audio_filename`` + 29 fine ``<c>-<f>_<name>`` + 8 coarse ``<c>_<name>``
score columns). The metric is :mod:`common.metrics.sonyc_ust` (official definitions, stable tie
order). Output JSON contract::

    {"coarse": {"micro_auprc": float, "micro_f1": float, "macro_auprc": float,
                "class_auprc": {<coarse name>: float, ...}},
     "fine":   {... same keys ...}}

Bad input raises :class:`PredictionFileError` naming the file, the line (1-based, the header is
line 1) and the column. Parsing is local to this module for now (no shared helpers yet).
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import yaml

from common.errors import PredictionFileError
from common.evaluation import Argument, EvaluationTask
from common.metrics.sonyc_ust import LEVELS, Taxonomy, sonyc_ust_scores

GROUND_TRUTH_COLUMNS = ("split", "audio_filename", "annotator_id")


def read_taxonomy(path: str | Path) -> Taxonomy:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PredictionFileError(path, "taxonomy file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise PredictionFileError(path, f"not valid YAML ({getattr(err, 'problem', err)})",
                                  line=line) from None
    return Taxonomy.from_dict(data, source=str(path))


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise PredictionFileError(path, "file not found") from None
    if not header:
        raise PredictionFileError(path, "empty file (no header line)", line=1)
    return [name.strip() for name in header]


def read_annotations(path: str | Path, taxonomy: Taxonomy) -> pd.DataFrame:
    """The annotation table as strings (all rows), after checking the columns the official
    evaluation reads and, on the ground-truth rows, that presence values are 0 or 1."""
    path = Path(path)
    header = _read_header(path)
    needed = list(GROUND_TRUTH_COLUMNS) + taxonomy.annotation_presence_columns()
    missing = [c for c in needed if c not in header]
    if missing:
        raise PredictionFileError(path, f"missing column(s) {missing} (official annotations.csv "
                                  "layout, spec §3)", line=1, column=missing[0])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    # RangeIndex i is file line i + 2 (header on line 1); embedded newlines are not used.
    annotator = pd.to_numeric(frame["annotator_id"], errors="coerce")
    bad = annotator.isna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise PredictionFileError(path, f"annotator_id {frame['annotator_id'].iloc[i]!r} is not "
                                  "a number", line=i + 2, column="annotator_id")
    truth_rows = (annotator == 0) & (frame["split"] == "validate")
    if not truth_rows.any():
        raise PredictionFileError(path, "no rows with annotator_id 0 and split 'validate' (the "
                                  "official ground truth)", column="annotator_id")
    for column in taxonomy.annotation_presence_columns():
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = truth_rows & ~values.isin((0.0, 1.0))
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise PredictionFileError(path, f"ground-truth (annotator 0) presence "
                                      f"{frame[column].iloc[i]!r} is not 0 or 1",
                                      line=i + 2, column=column)
    names = frame.loc[truth_rows, "audio_filename"]
    dupes = names[names.duplicated()]
    if not dupes.empty:
        i = int(dupes.index[0])
        raise PredictionFileError(path, f"second annotator_id 0 row for {dupes.iloc[0]!r}",
                                  line=i + 2, column="audio_filename")
    return frame


def read_predictions(path: str | Path, taxonomy: Taxonomy,
                     truth_files: set[str]) -> pd.DataFrame:
    """The submission table with float scores; every check names line and column."""
    path = Path(path)
    header = _read_header(path)
    expected = ["audio_filename"] + taxonomy.prediction_columns()
    unknown = [c for c in header if c not in expected]
    if unknown:
        raise PredictionFileError(path, f"unknown column {unknown[0]!r}; expected "
                                  "audio_filename + the 29 fine and 8 coarse columns of the "
                                  "taxonomy", line=1, column=unknown[0])
    missing = [c for c in expected if c not in header]
    if missing:
        raise PredictionFileError(path, f"missing column(s) {missing}", line=1,
                                  column=missing[0])
    dupes = [c for c in header if header.count(c) > 1]
    if dupes:
        raise PredictionFileError(path, "column appears twice", line=1, column=dupes[0])
    rows: list[list] = []
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise PredictionFileError(path, f"{len(record)} fields, the header has "
                                          f"{len(header)}", line=line)
            cells = dict(zip(header, record))
            name = cells["audio_filename"].strip()
            if name not in truth_files:
                raise PredictionFileError(path, f"prediction for {name!r}, a file that is not "
                                          "in the ground truth (annotator 0, validate split)",
                                          line=line, column="audio_filename")
            if name in seen:
                raise PredictionFileError(path, f"second prediction for {name!r} (first on "
                                          f"line {seen[name]})", line=line,
                                          column="audio_filename")
            seen[name] = line
            row: list = [name]
            for column in expected[1:]:
                text = cells[column].strip()
                try:
                    value = float(text)
                except ValueError:
                    raise PredictionFileError(path, f"{text!r} is not a number", line=line,
                                              column=column) from None
                if not 0.0 <= value <= 1.0:  # NaN fails too
                    raise PredictionFileError(path, f"score {text} is outside [0, 1]",
                                              line=line, column=column)
                row.append(value)
            rows.append(row)
    absent = sorted(truth_files - set(seen))
    if absent:
        raise PredictionFileError(path, f"no prediction for {len(absent)} ground-truth file(s), "
                                  f"e.g. {absent[:5]}", column="audio_filename")
    return pd.DataFrame(rows, columns=expected)


def evaluate(annotations: str, taxonomy: str, predictions: str) -> dict:
    """Official SONYC-UST scores of a submission (JSON contract in the module docstring)."""
    tax = read_taxonomy(taxonomy)
    ann = read_annotations(annotations, tax)
    annotator = pd.to_numeric(ann["annotator_id"])
    truth_files = set(ann.loc[(annotator == 0) & (ann["split"] == "validate"),
                              "audio_filename"].str.strip())
    pred = read_predictions(predictions, tax, truth_files)
    ann = ann.assign(audio_filename=ann["audio_filename"].str.strip())
    return sonyc_ust_scores(ann, tax, pred, annotations_source=str(annotations),
                            predictions_source=str(predictions))


def describe(result: dict) -> str:
    lines = []
    for level in reversed(LEVELS):  # fine first, as the official driver prints
        scores = result[level]
        lines += [f"{level.capitalize()} level evaluation:",
                  f"  Micro AUPRC:           {scores['micro_auprc']:.4f}",
                  f"  Micro F1-score (@0.5): {scores['micro_f1']:.4f}",
                  f"  Macro AUPRC:           {scores['macro_auprc']:.4f}",
                  "  Coarse tag AUPRC:"]
        lines += [f"    {name}: {value:.4f}" for name, value in scores["class_auprc"].items()]
    return "\n".join(lines)


TASK = EvaluationTask(
    name="sonyc-ust",
    help="SONYC-UST / DCASE2019 Task 5: coarse and fine micro/macro AUPRC and micro F1 "
         "(official urban-sound-tagging-baseline metrics.py, stable tie order)",
    arguments=(
        Argument("--annotations", "official annotations.csv (ground truth = annotator 0, "
                 "validate split)"),
        Argument("--taxonomy", "dcase-ust-taxonomy.yaml"),
        Argument("--predictions", "submission CSV: audio_filename + 29 fine + 8 coarse "
                 "score columns"),
    ),
    evaluate=evaluate,
    describe=describe,
)
