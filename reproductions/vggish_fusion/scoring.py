"""Model outputs → the official submission table → the official SONYC-UST metric (spec §4).

The fusion model's 37 outputs are in the order of the report's ``label_order.pkl`` (8 coarse,
then 29 fine: :data:`data_prep.sonyc_ust.LABEL_ORDER`); a submission CSV has ``audio_filename``,
the 29 fine columns, then the 8 coarse columns (spec §3). Scores come from
:func:`common.metrics.sonyc_ust.sonyc_ust_scores` with the annotations as read by
``data_prep.sonyc_ust.read_annotations``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from common.metrics.sonyc_ust import Taxonomy, level_curves, sonyc_ust_scores
from data_prep import sonyc_ust as ust

N_COARSE = len(ust.COARSE_TAGS)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    import yaml

    return Taxonomy.from_dict(yaml.safe_load(ust.taxonomy_yaml()), "dcase-ust-taxonomy.yaml")


def fine_indices(coarse_id: int) -> list[int]:
    """Positions of coarse category ``coarse_id``'s fine tags (X included) in the 37-vector
    (spec §1.4: 1 → 8–11, 2 → 12–16, 3 → 17, …, 8 → 36)."""
    return [N_COARSE + i for i, tag in enumerate(ust.FINE_TAGS)
            if tag.split("-", 1)[0] == str(coarse_id)]


def complete_fine_indices() -> list[int]:
    """Positions of the 23 complete (non-X) fine tags in the 37-vector."""
    return [N_COARSE + i for i, tag in enumerate(ust.FINE_TAGS) if "-X_" not in tag]


def submission(names: list[str], probs37: np.ndarray) -> pd.DataFrame:
    """Official submission table from (n, 37) probabilities in LABEL_ORDER."""
    probs37 = np.clip(np.asarray(probs37, dtype=float), 0.0, 1.0)
    if probs37.ndim != 2 or probs37.shape[1] != len(ust.LABEL_ORDER):
        raise ValueError(f"expected (n, {len(ust.LABEL_ORDER)}) probabilities, got "
                         f"{probs37.shape}")
    frame = pd.DataFrame(probs37, columns=list(ust.LABEL_ORDER))
    out = frame[list(ust.FINE_TAGS) + list(ust.COARSE_TAGS)]
    out.insert(0, "audio_filename", list(names))
    return out


def scores(annotations: pd.DataFrame, table: pd.DataFrame) -> dict:
    """``{"coarse": {micro_auprc, micro_f1, macro_auprc, class_auprc}, "fine": {...}}``."""
    return sonyc_ust_scores(annotations, taxonomy(), table)


def pr_curves(annotations: pd.DataFrame, table: pd.DataFrame, level: str = "coarse"
              ) -> dict[str, dict[str, list[float]]]:
    """Per coarse class the official (recall, precision) points, for the PR-curve figure."""
    from common.metrics.sonyc_ust import align, ground_truth, prediction_table

    tax = taxonomy()
    truth = ground_truth(annotations, tax)
    pred = align(truth, prediction_table(table, tax))
    curves = level_curves(truth, pred, tax, level)
    return {tax.coarse_name(cid): {"recall": c["R"].tolist(), "precision": c["P"].tolist()}
            for cid, c in curves.items()}


def constant_predictor(annotations: pd.DataFrame, names: list[str], train_labels: np.ndarray
                       ) -> dict:
    """Scores of a constant predictor at each class's training prevalence: the floor the smoke
    models must clearly beat (issue acceptance)."""
    prevalence = np.asarray(train_labels, dtype=float).mean(axis=0)
    probs = np.tile(prevalence, (len(names), 1))
    return scores(annotations, submission(names, probs))


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.6f")
    return path
