"""Report 002's numbers that need no data: report Tables 1 and 2 and the text's architecture
numbers read back from built models (``models.architecture_table``), the input shapes produced
by the feature code on a 10 s clip, and the settings of ``configs/full.yaml`` (SETTING, never
reproduced). :data:`TABLES` names the registry tables each function fills.

Tables 1 and 2 are registered as settings (the report states them; any implementation
configures them), so their cells show SETTING even though they are read from the layers here;
their text-only cells (kernel, stride, padding …) are compared in the report section
"Tables 1 and 2 regenerated from the built models".
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from common.results import Measurement, setting
from reproductions.vggish_fusion import config as config_mod

FULL_YAML = "configs/full.yaml"


def _analytic(table: str, row: str, column: str, value: float, note: str) -> Measurement:
    return Measurement(table, row, column, float(value), "analytic", "analytic", note=note)


# variants one report rendering needs twice (here and in the complexity table): built once
SHARED_VARIANTS = ("vggish", "fusion_bilinear_all", "fusion_concat_all")


@lru_cache(maxsize=len(SHARED_VARIANTS))
def shared_model(name: str):
    """Registry variant ``name`` at full size, built once per process (only SHARED_VARIANTS:
    the 169.5 M-parameter bilinear model takes seconds and 0.7 GB to build)."""
    from reproductions.vggish_fusion import models as M

    if name not in SHARED_VARIANTS:
        raise ValueError(f"{name!r} is not one of {SHARED_VARIANTS}")
    return M.build(name)


@lru_cache(maxsize=1)
def built_tables() -> dict:
    """Tables 1 and 2 read from the full-size Table-1 CNN and the bilinear and concat heads."""
    from reproductions.vggish_fusion import models as M

    out = {"conv": M.conv_block_table(M.spectrogram_cnn())}
    bil = shared_model("fusion_bilinear_all")
    out["fc"] = M.fc_table(bil)
    out["cnn_out"] = tuple(int(d) for d in bil.get_layer("block6_drop").output.shape[1:])
    out["cnn_flat"] = int(bil.get_layer("cnn_flatten").output.shape[-1])
    out["vggish_flat"] = int(bil.get_layer("vggish_flatten").output.shape[-1])
    cat = shared_model("fusion_concat_all")
    out["concat"] = int(cat.get_layer("fusion_concat").output.shape[-1])
    out["concat_fc"] = M.fc_table(cat)
    return out


def architecture() -> list[Measurement]:
    t = built_tables()
    src = "read from the built model (models.architecture_table)"
    out = []
    for r in t["conv"]:
        row = f"Conv Block {r['block']}"
        out += [_analytic("T1", row, "In Channels", r["in_channels"], src),
                _analytic("T1", row, "Out Channels", r["out_channels"], src),
                _analytic("T1", row, "Dropout", r["dropout"], src)]
    names = {"fc1": "Bilinear", "fc2": "Linear 1", "fc_final": "Linear 2"}
    for r in t["fc"]:
        row = names[r["name"]]
        if r["name"] != "fc1":
            out.append(_analytic("T2", row, "In Channels", r["in_channels"], src))
        if r["name"] != "fc_final":
            out += [_analytic("T2", row, "Out Channels", r["out_channels"], src),
                    _analytic("T2", row, "Dropout", r["dropout"], src)]
    cnn_c, cnn_h, cnn_w = t["cnn_out"][2], t["cnn_out"][0], t["cnn_out"][1]
    out += [_analytic("X-fusion", "CNN output", "channels", cnn_c, src),
            _analytic("X-fusion", "CNN output", "values per channel", cnn_h * cnn_w, src),
            _analytic("X-fusion", "flattened CNN vector", "length", t["cnn_flat"], src),
            _analytic("X-fusion", "flattened VGGish vector", "length", t["vggish_flat"], src),
            _analytic("X-fusion", "concatenated vector", "length", t["concat"],
                      "model.fc1=concat (the report text's reading; the default is bilinear)"),
            _analytic("X-fusion", "fully-connected layers", "count", len(t["fc"]), src),
            _analytic("X-fusion", "FC output sizes", "layer 1", t["fc"][0]["out_channels"], src),
            _analytic("X-fusion", "FC output sizes", "layer 2", t["fc"][1]["out_channels"], src),
            _analytic("X-fusion", "FC dropout", "value", t["fc"][0]["dropout"], src)]
    conv = t["conv"]
    out += [_analytic("X-cnn", "conv block dropout", "value", conv[0]["dropout"], src),
            _analytic("X-cnn", "max-pool layers", "count",
                      sum(r["max_pool"] is not None for r in conv), src)]
    return out


@lru_cache(maxsize=1)
def input_shapes() -> dict:
    """Shapes the feature code gives a 10 s, 44.1 kHz clip (seeded noise), and VGGish's
    embedding size read from the built network."""
    import librosa

    from reproductions.vggish_fusion import features as F

    cfg = config_mod.load("full").features
    y = np.random.default_rng(0).normal(scale=0.1, size=10 * cfg.logmel.samplerate)
    y = y.astype(np.float32)
    mel = F.logmel(y, cfg.logmel)
    raw_frames = F.vggish_log_mel(librosa.resample(y, orig_sr=cfg.logmel.samplerate,
                                                   target_sr=cfg.vggish.samplerate), cfg.vggish)
    ex = F.vggish_examples(y, cfg.logmel.samplerate, cfg.vggish)
    dim = int(shared_model("vggish").output.shape[-1])
    return {"mel": mel.shape, "vggish_frames": len(raw_frames), "examples": len(ex),
            "dim": dim}


def features() -> list[Measurement]:
    s = input_shapes()
    src = "features.py on a 10 s, 44.1 kHz clip"
    cfg = config_mod.load("full").features
    return [_analytic("X-features", "log-mel spectrogram", "mel bins", s["mel"][0], src),
            _analytic("X-features", "log-mel spectrogram", "time bins", s["mel"][1],
                      src + " (1 + 441000 // 512, before any padding)"),
            setting("X-features", "log-mel spectrogram", "sample rate",
                    cfg.logmel.samplerate / 1000, FULL_YAML),
            _analytic("X-features", "VGGish embedding", "dimensions", s["dim"],
                      "models.vggish output"),
            _analytic("X-features", "VGGish embedding", "time bins", s["examples"],
                      f"{s['vggish_frames']} frames of 10 ms → 96-frame examples")]


def settings() -> list[Measurement]:
    """What the full profile is configured with (SETTING, never reproduced)."""
    from reproductions.vggish_fusion.pipeline import SYSTEMS

    cfg = config_mod.load("full")
    t, h = cfg.train, cfg.hierarchical
    vals = {
        ("X-labels", "multi-label outputs (all labels)", "value"): config_mod.OUTPUT_MODES["all"],
        ("X-labels", "fine labels (coarse inferred)", "value"): config_mod.OUTPUT_MODES["fine"],
        ("X-labels", "coarse labels", "value"): config_mod.OUTPUT_MODES["coarse"],
        ("X-labels", "submissions", "count"): len(SYSTEMS),
        ("X-label-choice", "chosen: positive if agreement over", "value"):
            50 if cfg.labels.mode == "report" else float("nan"),
        ("X-training", "Adam learning rate", "value"): t.lr,
        ("X-training", "class-weight smoothing root", "value"): t.weight_root,
        ("X-hierarchical", "coarse labels predicted by M_C", "value"):
            config_mod.OUTPUT_MODES["coarse"],
        ("X-hierarchical", "coarse labels with a single fine label", "count"):
            8 - len(h.fine_models),
        ("X-hierarchical", "fine-level models M_Fi", "count"): len(h.fine_models),
        ("X-hierarchical", "models in total", "count"): 1 + len(h.fine_models),
        ("X-hierarchical", "extra fine models run if coarse output above", "value"):
            h.threshold,
    }
    return [setting(tb, r, c, v, FULL_YAML) for (tb, r, c), v in vals.items()
            if not np.isnan(v)]


def explanations() -> dict:
    """Why an analytic or configured number differs from the report."""
    return {
        ("X-fusion", "concatenated vector", "length"):
            "the 1536-d concatenation is the report text's fusion (model.fc1=concat, "
            "2,531,477 parameters); Table 2 and the code use Bilinear((256, 1280) → 512) "
            "(169,517,205 parameters), our default",
    }


def measurements() -> list[Measurement]:
    return settings() + features() + architecture()


# registry table id -> the functions that fill (part of) it without data
TABLES: dict[str, tuple] = {
    "X-labels": (settings,), "X-label-choice": (settings,), "X-training": (settings,),
    "X-hierarchical": (settings,), "X-features": (features,), "X-fusion": (architecture,),
    "X-cnn": (architecture,), "T1": (architecture,), "T2": (architecture,),
}
