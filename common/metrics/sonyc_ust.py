"""The official SONYC-UST (DCASE2019 Task 5) evaluation: micro/macro AUPRC and micro F1.

Definitions follow ``sonyc-project/urban-sound-tagging-baseline`` ``metrics.py`` +
``evaluate_predictions.py`` (spec ``vggish_fusion.md`` §4), quirks included:

* Ground truth = the annotation rows with ``annotator_id == 0`` and ``split == "validate"`` (the
  SONYC-verified labels). Coarse truth comes from the **coarse** ``<c>_<name>_presence``
  columns, never from the fine ones (most real validate files positive for a coarse category
  have none of its fine tags set).
* Thresholds per coarse category: the unique predicted scores of that category's columns that
  are ≥ 0.01, plus 1.0, decreasing. A score < 0.01 is therefore never a positive. In fine mode
  the columns are the *complete* fine tags only: the ``c-X`` score is thresholded at those
  thresholds but does not add thresholds of its own.
* Coarse mode: TP/FP/FN of one column at ``score >= threshold``. (The official code takes them
  from sklearn's ``confusion_matrix``, which fails when a category has a single class in truth
  and prediction; direct counting gives the intended numbers.)
* Fine mode, per category with complete tags k and incomplete tag X (an all-zero X where the
  taxonomy has none: categories 3 and 8), per sample:
  TP = Σ_k t_k∧y_k + [t_X ∧ ŷ ∧ no complete TP];  FP = Σ_k ¬t_k∧y_k∧¬t_X +
  [¬t_X ∧ no true complete tag ∧ y_X ∧ ¬(all complete tags predicted)];
  FN = Σ_k t_k∧¬y_k + [t_X ∧ no true complete tag ∧ ¬ŷ], where ŷ = (∨_k y_k) ∨ y_X.
* P = TP / max(TP+FP, 0.5), R = TP / max(TP+FN, 0.5), F = 2 / (1/P + 1/R) (0 when TP = 0).
* AUPRC: the points (R, P) sorted by recall, (0, 1) prepended and (1, 0) appended, trapezoidal
  area (sklearn ``auc``). Macro = unweighted mean over the coarse categories. Micro: the union
  of all category thresholds; at each, every category contributes the row of its own smallest
  threshold ≥ it; TP/FP/FN summed, then P/R as above. Micro F1 = F of the micro table at its
  smallest threshold ≥ 0.5.

**Tie order (documented deviation in form, not in definition).** The official code sorts the
points by recall with numpy's default, unstable sort, so the order of points with equal recall
— and with it the area — depends on the numpy version (up to 0.05 on a class between numpy
1.16 and 2.4). Here the sort is ``np.argsort(recall, kind="stable")`` on the tables exactly as
the official code lays them out: each per-category table by **decreasing** threshold, the micro
table by **increasing** threshold. So equal recalls keep decreasing-threshold order in the
class-wise (macro) AUPRC and increasing-threshold order in the micro AUPRC: the official code
with ``kind="stable"`` added, nothing else changed. (On the real validate annotations with
synthetic scores, numpy 2.4's default sort gave the same areas; the micro AUPRC with
decreasing-threshold ties would differ by ~0.001.)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from common.errors import ConfigError, DatasetError, PredictionFileError
from common.metrics import MetricResult

MIN_THRESHOLD = 0.01
F1_THRESHOLD = 0.5
PR_FLOOR = 0.5  # the official "mu": denominators are max(count, 0.5)
LEVELS = ("coarse", "fine")
TIE_ORDER = ("np.argsort(recall, kind='stable') on the official table layout: per-category tables "
             "by decreasing threshold, micro table by increasing threshold")


# --------------------------------------------------------------------------------------------
# taxonomy


@dataclass(frozen=True)
class Taxonomy:
    """The DCASE-UST taxonomy: coarse ids 1..8 with names; per coarse id its fine tags
    (fine id "1", "2", ... or "X" for the incomplete tag) with names, in YAML order."""
    coarse: tuple[tuple[int, str], ...]
    fine: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "taxonomy") -> Taxonomy:
        """From the parsed ``dcase-ust-taxonomy.yaml`` (``{"fine": {c: {f: name}}, "coarse":
        {c: name}}``); errors name the key at fault."""
        if not isinstance(data, Mapping) or "coarse" not in data or "fine" not in data:
            raise ConfigError(f"{source}: needs top-level keys 'coarse' and 'fine'")
        coarse_raw, fine_raw = data["coarse"], data["fine"]
        if not isinstance(coarse_raw, Mapping) or not coarse_raw:
            raise ConfigError(f"{source}: 'coarse' must map coarse ids to names")
        if not isinstance(fine_raw, Mapping):
            raise ConfigError(f"{source}: 'fine' must map coarse ids to {{fine id: name}}")
        coarse = []
        for key, name in coarse_raw.items():
            cid = _int_key(key, f"{source}: coarse.{key}")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{source}: coarse.{key} must be a non-empty name")
            coarse.append((cid, name))
        fine = []
        for cid, _ in coarse:
            tags = fine_raw.get(cid, fine_raw.get(str(cid)))
            if not isinstance(tags, Mapping) or not tags:
                raise ConfigError(f"{source}: fine.{cid} is missing or empty")
            entries = []
            for fkey, fname in tags.items():
                fid = str(fkey)
                if fid != "X":
                    _int_key(fkey, f"{source}: fine.{cid}.{fkey}")
                if not isinstance(fname, str) or not fname:
                    raise ConfigError(f"{source}: fine.{cid}.{fkey} must be a non-empty name")
                entries.append((fid, fname))
            if [f for f, _ in entries if f != "X"] == []:
                raise ConfigError(f"{source}: fine.{cid} has no complete (non-X) tag")
            fine.append((cid, tuple(entries)))
        extra = sorted({str(k) for k in fine_raw} - {str(c) for c, _ in coarse})
        if extra:
            raise ConfigError(f"{source}: fine has coarse ids {extra} that 'coarse' lacks")
        return cls(tuple(coarse), tuple(fine))

    def coarse_name(self, cid: int) -> str:
        return dict(self.coarse)[cid]

    def fine_tags(self, cid: int) -> tuple[tuple[str, str], ...]:
        return dict(self.fine)[cid]

    # Column names of the official files (spec §3).
    def fine_columns(self) -> list[str]:
        """Submission fine columns ``<c>-<f>_<name>`` (29 for DCASE2019), taxonomy order."""
        return [f"{cid}-{fid}_{name}" for cid, tags in self.fine for fid, name in tags]

    def coarse_columns(self) -> list[str]:
        """Submission coarse columns ``<c>_<name>`` (8)."""
        return [f"{cid}_{name}" for cid, name in self.coarse]

    def prediction_columns(self) -> list[str]:
        return self.fine_columns() + self.coarse_columns()

    def annotation_presence_columns(self) -> list[str]:
        return [f"{c}_presence" for c in self.prediction_columns()]


def _int_key(key: Any, where: str) -> int:
    try:
        value = int(key)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: id must be an integer") from None
    if str(value) != str(key).strip():
        raise ConfigError(f"{where}: id must be an integer")
    return value


# --------------------------------------------------------------------------------------------
# tables: truth and predictions as arrays keyed by "c" / "c-f"


def ground_truth(annotations: pd.DataFrame, taxonomy: Taxonomy,
                 source: str = "annotations") -> pd.DataFrame:
    """Official ground truth: rows with annotator_id 0 on the validate split, indexed by
    ``audio_filename``, columns ``"c"`` (coarse presence) and ``"c-f"`` (fine presence incl.
    ``c-X``; an all-zero ``c-X`` where the taxonomy has none), integer 0/1."""
    needed = ["split", "audio_filename", "annotator_id"] + taxonomy.annotation_presence_columns()
    missing = [c for c in needed if c not in annotations.columns]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {missing}")
    annotator = pd.to_numeric(annotations["annotator_id"], errors="coerce")
    rows = annotations[(annotator == 0) & (annotations["split"].astype(str) == "validate")]
    if rows.empty:
        raise DatasetError(f"{source}: no rows with annotator_id 0 on the validate split "
                           "(the official ground truth)")
    dupes = rows["audio_filename"][rows["audio_filename"].duplicated()].tolist()
    if dupes:
        raise DatasetError(f"{source}: several annotator_id 0 rows for {sorted(set(dupes))[:5]}")
    table = {}
    for cid, tags in taxonomy.fine:
        for fid, name in tags:
            table[f"{cid}-{fid}"] = _presence(rows, f"{cid}-{fid}_{name}_presence", source)
        if "X" not in dict(tags):
            table[f"{cid}-X"] = np.zeros(len(rows), dtype=np.int8)
    for cid, name in taxonomy.coarse:
        table[str(cid)] = _presence(rows, f"{cid}_{name}_presence", source)
    return pd.DataFrame(table, index=pd.Index(rows["audio_filename"].astype(str),
                                              name="audio_filename")).sort_index()


def _presence(rows: pd.DataFrame, column: str, source: str) -> np.ndarray:
    values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        first = rows.index[int(np.argmax(bad))]
        raise DatasetError(f"{source}: column {column!r}, row index {first}: ground-truth "
                           f"(annotator 0) presence must be 0 or 1, got {rows[column].loc[first]!r}")
    return values.astype(np.int8)


def prediction_table(predictions: pd.DataFrame, taxonomy: Taxonomy,
                     source: str = "predictions") -> pd.DataFrame:
    """Submission scores indexed by ``audio_filename``, columns ``"c"`` and ``"c-f"`` (an
    all-zero ``c-X`` where the taxonomy has none, as the official parser adds)."""
    needed = ["audio_filename"] + taxonomy.prediction_columns()
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise PredictionFileError(source, f"missing column(s) {missing}")
    table = {}
    for cid, tags in taxonomy.fine:
        for fid, name in tags:
            table[f"{cid}-{fid}"] = _scores(predictions, f"{cid}-{fid}_{name}", source)
        if "X" not in dict(tags):
            table[f"{cid}-X"] = np.zeros(len(predictions))
    for cid, name in taxonomy.coarse:
        table[str(cid)] = _scores(predictions, f"{cid}_{name}", source)
    names = predictions["audio_filename"].astype(str)
    dupes = names[names.duplicated()].tolist()
    if dupes:
        raise PredictionFileError(source, f"duplicate audio_filename {sorted(set(dupes))[:5]}",
                                  column="audio_filename")
    return pd.DataFrame(table, index=pd.Index(names, name="audio_filename")).sort_index()


def _scores(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~((values >= 0.0) & (values <= 1.0))  # NaN is bad too
    if bad.any():
        first = frame.index[int(np.argmax(bad))]
        raise PredictionFileError(source, f"score {frame[column].loc[first]!r} (row index "
                                  f"{first}) is not a number in [0, 1]", column=column)
    return values


def align(truth: pd.DataFrame, predictions: pd.DataFrame,
          source: str = "predictions") -> pd.DataFrame:
    """Predictions reordered to the ground truth's files; the file sets must be equal."""
    extra = sorted(set(predictions.index) - set(truth.index))
    missing = sorted(set(truth.index) - set(predictions.index))
    if extra or missing:
        raise PredictionFileError(
            source, f"file mismatch with the ground truth (annotator 0, validate): "
            f"{len(extra)} file(s) not in the ground truth {extra[:5]}, {len(missing)} "
            f"ground-truth file(s) without a prediction {missing[:5]}", column="audio_filename")
    return predictions.loc[truth.index]


# --------------------------------------------------------------------------------------------
# confusion counts


def category_thresholds(scores: np.ndarray) -> np.ndarray:
    """Unique scores ≥ 0.01, plus 1.0, in decreasing order (official ``evaluate``)."""
    values = np.ravel(scores)
    values = values[values >= MIN_THRESHOLD]
    return np.unique(np.append(values, 1.0))[::-1]


def coarse_counts(truth: np.ndarray, scores: np.ndarray, thresholds: np.ndarray):
    """TP, FP, FN of one coarse column at each threshold (arrays of len(thresholds))."""
    t = np.asarray(truth).astype(bool)[None, :]
    y = np.asarray(scores)[None, :] >= np.asarray(thresholds)[:, None]
    tp = np.sum(t & y, axis=1)
    fp = np.sum(~t & y, axis=1)
    fn = np.sum(t & ~y, axis=1)
    return tp, fp, fn


def fine_counts(truth: np.ndarray, truth_x: np.ndarray, scores: np.ndarray,
                scores_x: np.ndarray, thresholds: np.ndarray):
    """TP, FP, FN of one coarse category in fine mode (official ``confusion_matrix_fine``),
    at each threshold. ``truth`` / ``scores``: (N, K) complete tags; ``*_x``: (N,) X tag."""
    T = np.asarray(truth).astype(bool)[None]                         # (1, N, K)
    tx = np.asarray(truth_x).astype(bool)[None]                      # (1, N)
    thr = np.asarray(thresholds)
    Y = np.asarray(scores)[None] >= thr[:, None, None]               # (T, N, K)
    yx = np.asarray(scores_x)[None] >= thr[:, None]                  # (T, N)
    tp_complete = T & Y
    fp_complete = ~T & Y & ~tx[..., None]
    fn_complete = T & ~Y
    y_coarsened = Y.any(axis=2) | yx
    no_true_complete = ~T.any(axis=2)
    tp_incomplete = tx & y_coarsened & ~tp_complete.any(axis=2)
    fp_incomplete = ~tx & no_true_complete & yx & ~Y.all(axis=2)
    fn_incomplete = tx & no_true_complete & ~y_coarsened
    tp = tp_complete.sum(axis=(1, 2)) + tp_incomplete.sum(axis=1)
    fp = fp_complete.sum(axis=(1, 2)) + fp_incomplete.sum(axis=1)
    fn = fn_complete.sum(axis=(1, 2)) + fn_incomplete.sum(axis=1)
    return tp, fp, fn


def _with_prf(thresholds, tp, fp, fn) -> pd.DataFrame:
    tp, fp, fn = (np.asarray(a, dtype=np.int64) for a in (tp, fp, fn))
    precision = tp / np.maximum(tp + fp, PR_FLOOR)
    recall = tp / np.maximum(tp + fn, PR_FLOOR)
    with np.errstate(divide="ignore"):
        f1 = 2.0 / (1.0 / precision + 1.0 / recall)  # 0 when TP = 0 (2 / inf)
    return pd.DataFrame({"threshold": np.asarray(thresholds, dtype=float), "TP": tp, "FP": fp,
                         "FN": fn, "P": precision, "R": recall, "F": f1})


def level_curves(truth: pd.DataFrame, predictions: pd.DataFrame, taxonomy: Taxonomy,
                 level: str) -> dict[int, pd.DataFrame]:
    """Per coarse id, the official per-category table (threshold decreasing; TP, FP, FN, P, R,
    F). ``truth`` / ``predictions`` as from :func:`ground_truth` / :func:`align`."""
    if level not in LEVELS:
        raise ConfigError(f"level={level!r} is not one of {LEVELS}")
    curves = {}
    for cid, tags in taxonomy.fine:
        if level == "coarse":
            scores = predictions[str(cid)].to_numpy()
            thresholds = category_thresholds(scores)
            counts = coarse_counts(truth[str(cid)].to_numpy(), scores, thresholds)
        else:
            columns = sorted(f"{cid}-{fid}" for fid, _ in tags if fid != "X")
            scores = predictions[columns].to_numpy()
            thresholds = category_thresholds(scores)
            counts = fine_counts(truth[columns].to_numpy(), truth[f"{cid}-X"].to_numpy(),
                                 scores, predictions[f"{cid}-X"].to_numpy(), thresholds)
        curves[cid] = _with_prf(thresholds, *counts)
    return curves


def micro_curve(curves: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Official micro table: thresholds = union (increasing); each category contributes its row
    at its smallest threshold ≥ the union threshold; counts summed."""
    union = np.unique(np.concatenate([c["threshold"].to_numpy() for c in curves.values()]))
    total = np.zeros((3, len(union)), dtype=np.int64)
    for cid, curve in curves.items():
        ascending = curve["threshold"].to_numpy()[::-1]
        if union[-1] > ascending[-1]:
            raise ConfigError(f"category {cid}: no threshold ≥ {union[-1]} (scores above 1?)")
        rows = len(ascending) - 1 - np.searchsorted(ascending, union, side="left")
        for i, key in enumerate(("TP", "FP", "FN")):
            total[i] += curve[key].to_numpy()[rows]
    return _with_prf(union, *total)


def auprc(curve: pd.DataFrame) -> float:
    """Trapezoidal area under (R, P) with (0, 1) prepended and (1, 0) appended (official
    ``micro/macro_averaged_auprc``); points sorted by recall with a **stable** sort on the
    table's own row order (see the module docstring on ties)."""
    recall = curve["R"].to_numpy(dtype=float)
    precision = curve["P"].to_numpy(dtype=float)
    order = np.argsort(recall, kind="stable")
    r = np.concatenate([[0.0], recall[order], [1.0]])
    p = np.concatenate([[1.0], precision[order], [0.0]])
    return float(np.trapezoid(p, r))


def micro_f1(micro: pd.DataFrame) -> float:
    """F of the micro table at its smallest threshold ≥ 0.5 (official driver)."""
    at = micro.index[micro["threshold"].to_numpy() >= F1_THRESHOLD]
    return float(micro["F"].loc[at[0]])


def level_scores(curves: Mapping[int, pd.DataFrame], taxonomy: Taxonomy) -> dict[str, Any]:
    """``{"micro_auprc", "micro_f1", "macro_auprc", "class_auprc": {coarse name: AUPRC}}``."""
    micro = micro_curve(curves)
    class_auprc = {taxonomy.coarse_name(cid): auprc(curve) for cid, curve in curves.items()}
    return {"micro_auprc": auprc(micro), "micro_f1": micro_f1(micro),
            "macro_auprc": float(np.mean(list(class_auprc.values()))),
            "class_auprc": class_auprc}


# --------------------------------------------------------------------------------------------
# entry points


def sonyc_ust_scores(annotations: pd.DataFrame, taxonomy: Taxonomy | Mapping[str, Any],
                     predictions: pd.DataFrame, annotations_source: str = "annotations",
                     predictions_source: str = "predictions") -> dict[str, dict[str, Any]]:
    """Both levels as the nested dict of ``repro evaluate sonyc-ust``:
    ``{"coarse": {...}, "fine": {...}}`` (see :func:`level_scores`)."""
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else Taxonomy.from_dict(taxonomy)
    truth = ground_truth(annotations, tax, annotations_source)
    scores = align(truth, prediction_table(predictions, tax, predictions_source),
                   predictions_source)
    return {level: level_scores(level_curves(truth, scores, tax, level), tax)
            for level in LEVELS}


def sonyc_ust_metrics(annotations: pd.DataFrame, taxonomy: Taxonomy | Mapping[str, Any],
                      predictions: pd.DataFrame) -> MetricResult:
    """:func:`sonyc_ust_scores` as a flat :class:`MetricResult` (``"coarse/micro_auprc"``,
    ``"fine/class_auprc/engine"``, ...) for metrics.json."""
    nested = sonyc_ust_scores(annotations, taxonomy, predictions)
    values = {}
    for level, scores in nested.items():
        for key in ("micro_auprc", "micro_f1", "macro_auprc"):
            values[f"{level}/{key}"] = scores[key]
        for name, value in scores["class_auprc"].items():
            values[f"{level}/class_auprc/{name}"] = value
    params = {"metric": "SONYC-UST official (urban-sound-tagging-baseline metrics.py)",
              "ground_truth": "annotator_id 0, split validate", "min_threshold": MIN_THRESHOLD,
              "f1_threshold": F1_THRESHOLD, "pr_floor": PR_FLOOR, "tie_order": TIE_ORDER}
    return MetricResult(values=values, params=params)
