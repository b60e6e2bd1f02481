"""Numbers of the SED half that need no data. Interface used by :mod:`.analytic`: TABLES,
measurements(), explanations().

Table ``B-metric-settings`` (the official baseline's metric parameters) is filled with the
values this suite *evaluates with*, read from ``configs/full.yaml`` (``sed.eval``) and from
the PSDS variants of :mod:`common.metrics.desed`: settings, shown as SETTING, never
reproduced. The CRNN's 1,112,420 parameters have no registry row (the report prints none);
they are counted from the built model in :mod:`.sed_sections` and the tests.
"""
from __future__ import annotations

from common.metrics import desed as DM
from common.results import Measurement, setting

TABLE = "B-metric-settings"


def metric_settings() -> list[Measurement]:
    from reproductions.fuss_desed import config as config_mod

    e = config_mod.load("full").sed.eval
    src = "configs/full.yaml sed.eval"
    vals = [
        ("event-based F-score", "onset collar", 1000 * e.t_collar_s, src + ".t_collar_s (ms)"),
        ("event-based F-score", "offset collar", 1000 * e.t_collar_s, src + ".t_collar_s (ms)"),
        ("event-based F-score", "offset collar (share of event length)",
         100 * e.percentage_of_length, src + ".percentage_of_length (%)"),
        ("detection tolerance (dtc)", "value", e.dtc, src + ".dtc"),
        ("ground-truth intersection (gtc)", "value", e.gtc, src + ".gtc"),
        ("cross-trigger tolerance (cttc)", "value", e.cttc, src + ".cttc"),
        ("maximum false-positive rate (e_max)", "value", e.max_efpr_per_hour,
         src + ".max_efpr_per_hour"),
        ("thresholds for PSDS", "count", e.psds_thresholds,
         src + ".psds_thresholds (emulated operating points; the exact sweep is also reported)"),
        ("single-prediction threshold", "value", e.threshold, src + ".threshold"),
    ]
    rows = {"psds": "PSDS", "psds_cross_trigger": "PSDS cross-trigger",
            "psds_macro": "PSDS macro"}
    for key, (a_ct, a_st) in DM.PSDS_VARIANTS.items():
        vals += [(rows[key], "alpha_ct", a_ct, "common/metrics/desed.py PSDS_VARIANTS"),
                 (rows[key], "alpha_st", a_st, "common/metrics/desed.py PSDS_VARIANTS")]
    return [setting(TABLE, r, c, v, s) for r, c, v, s in vals]


TABLES: dict = {TABLE: (metric_settings,)}


def measurements() -> list[Measurement]:
    return [m for fns in TABLES.values() for fn in fns for m in fn()]


def explanations() -> dict:
    return {}
