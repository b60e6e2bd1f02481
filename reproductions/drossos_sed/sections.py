"""Report 001's REPORT.md sections: run summaries, figures, the parameter tables, the
complexity table, and the deviations (where report, paper and reference code disagree)."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from common.complexity import ModelVariant
from common.markdown import Section, complexity_section, md_table
from common.runs import finished_runs, measurements_from_runs
from reproductions.drossos_sed.analytic import REFERENCE_CRNN, full_size_model_facts
from reproductions.drossos_sed.cells import BASELINE, DND_SED
from reproductions.drossos_sed.config import MONO_ROWS, T4_MODELS

PAPER = "drossos_sed"


def deviations() -> list[str]:
    return [
        ("**Code.** The seed's Keras code is not public. Models follow models.py: the report's "
         "Keras variants (our reading where the text is under-specified) for Tables 3-4, the "
         "reference dnd-sed (PyTorch) architecture for the extra DnD-SED row."),
        ("**Splits.** The report splits both datasets 60/20/20 at random, and so does the "
         "`full` profile (`mono.split: random`, `poly.split: random`). A random split of "
         "UrbanSound8K slices puts slices of one freesound recording on both sides; the options "
         "`mono.split: group` (60/20/20 per class, whole fsIDs in one split; mini corpus: whole "
         "recording groups) and `folds` (official folds 1-6/7-8/9-10) avoid it, and "
         "`poly.split: setup` uses TUT-SED's evaluation_setup lists (60/20/20 of mixtures). "
         "The `smoke` profile uses `group` and `setup`, because a random split of the tiny mini "
         "corpora would test on slices of training recordings."),
        ("**Metrics.** Accuracy, loss and F1 are computed on whole test mixtures without the "
         "zero padding of the last sequence (Keras' model.evaluate on padded sequences would "
         "count padded frames as true negatives). F1 is the frame-level micro F1 of the report "
         "(= dnd-sed's f1_per_frame on probabilities); the paper's sed_eval segment F1 / ER on "
         "1-s segments is reported beside it."),
        ("**Monophonic loss.** Integer targets with sparse categorical cross-entropy: the same "
         "numbers as the report's one-hot categorical cross-entropy."),
        ("**Sizes.** Table 4's model sizes (43 KB for 3.7 M parameters) are physically "
         "impossible for stored weights; our Dimension column is the weight-file size."),
        ("**Smoke profile.** 16 CNN channels and 64 GRU units / dilated filters instead of 256, "
         "44-frame UrbanSound8K clips and 64-frame TUT sequences instead of 174 / 1,024, 20 "
         "epochs (UrbanSound8K 60): same layers and code path, for a CPU-minutes run. Parameter "
         "counts and sizes in the tables are always the full-size models'."),
        ("**Standardisation.** The report feeds raw MFCCs (c0 is in the hundreds), and so does "
         "the `full` profile. The `smoke` profile z-scores each MFCC coefficient with "
         "training-split statistics (`mono.standardize`, `poly.standardize`; padding stays "
         "zero): with raw MFCCs the shrunk smoke models stayed below a constant predictor on "
         "the mini corpora."),
    ]


def _best_run() -> dict | None:
    """The newest finished run that produced the Table-4 (else any trained) cells used."""
    used = {m.run_id for m in measurements_from_runs(PAPER)}
    runs = [r for r in finished_runs(PAPER) if r["run_id"] in used]
    return runs[-1] if runs else None


def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def _mono_section(m: dict, rel: Path) -> list[Section]:
    out = []
    rows = []
    for name, r in m["models"].items():
        v = r["classification"]["values"]
        rows.append([name, MONO_ROWS.get(name, "extra"), _fmt(v["accuracy"]),
                     _fmt(r["test_loss"]), _fmt(v["f1_macro"]), r["fit"]["epochs_run"],
                     r["fit"]["best_epoch"], _fmt(r["train_seconds"], 0),
                     _fmt(r["trainable_params"])])
    b = m["baselines"]
    rows.append([f"majority class ({b['majority_class']})", "constant", _fmt(
        b["majority"]["values"]["accuracy"]), _fmt(b["train_prior_loss"]),
        _fmt(b["majority"]["values"]["f1_macro"]), "–", "–", "–", "–"])
    sp = m["split"]
    body = [(f"Split `{sp['mode']}`: {sp['sizes']['train']} / {sp['sizes']['validation']} / "
             f"{sp['sizes']['test']} slices (train / validation / test); "
             f"{sp['groups_in_train_and_test']} of {sp['n_groups']} recording groups have "
             "slices in both training and test."),
            md_table(["model", "report row", "test accuracy", "test loss", "macro F1",
                    "epochs", "best epoch", "train s", "params (as trained)"], rows)]
    names = m["class_names"]
    per = [[n] + [_fmt(r["classification"]["values"].get(f"f1/{n}")) for r in
                  m["models"].values()]
           + [m["facts"]["table1"].get(n, "–"),
              _test_support(m, n)] for n in names]
    body.append("Per-class test F1 (the report's Table 3 is the baseline's column), with the "
                "metadata's slice count per class (the report's Table 1) and the test support:")
    body.append(md_table(["class", *m["models"], "slices (Table 1)", "test slices"], per))
    if m["is_mini"]:
        body.append("This is the **mini corpus**: its ten classes are its own (real Debian "
                    "recordings: breaking, explosion, ... wind), not UrbanSound8K's, so the "
                    "registry's Table 1 and Table 3 rows (air_conditioner ... street_music) "
                    "cannot be matched and stay NOT_RUN; the counts and F1s above are shown "
                    "instead. On the real dataset Table 1 is regenerated from "
                    "metadata/UrbanSound8K.csv and must match exactly.")
    out.append(Section("Monophonic (UrbanSound8K) results", "\n\n".join(body),
                       [("Training curves", str(rel / "mono_training_curves.png")),
                        ("Per-class test F1", str(rel / "mono_per_class_f1.png"))]))
    return out


def _test_support(m: dict, name: str) -> str:
    first = next(iter(m["models"].values()), None)
    if first is None:
        return "–"
    return str(first["classification"]["counts"].get(f"support/{name}", "–"))


def _poly_section(m: dict, rel: Path, profile: str) -> list[Section]:
    rows = []
    inv = {v: k for k, v in T4_MODELS.items()}
    for name, r in m["models"].items():
        t = r["test"]
        fv, sv = t["frame"]["values"], t["segment"]["values"]
        rows.append([name, inv.get(name, "extra (reference DnD-SED)"), _fmt(t["accuracy"]),
                     _fmt(t["loss"]), _fmt(fv["frame_f1"]), _fmt(fv["frame_error_rate"]),
                     _fmt(sv["segment_f1"]), _fmt(sv["segment_error_rate"]),
                     r["fit"]["epochs_run"], r["fit"]["best_epoch"],
                     _fmt(r["seconds_per_epoch"], 2), _fmt(r["train_seconds"], 0),
                     _fmt(r["trainable_params"])])
    for key, label in (("all_zero", "constant: nothing active"),
                       ("best_constant_train", "constant: best class set (train)"),
                       ("best_constant_test_oracle", "constant: best class set (test, oracle)")):
        t = m["baselines"][key]
        fv, sv = t["frame"]["values"], t["segment"]["values"]
        rows.append([label, ", ".join(t["classes_on"]) or "–", _fmt(t["accuracy"]),
                     _fmt(m["baselines"]["train_prior_loss"]) if key == "all_zero" else "–",
                     _fmt(fv["frame_f1"]), _fmt(fv["frame_error_rate"]), _fmt(sv["segment_f1"]),
                     _fmt(sv["segment_error_rate"]), "–", "–", "–", "–", "–"])
    ids = m["split"]["mixtures"]
    body = [(f"Features `{m['features']}` (hop {1000 * m['hop_seconds']:.2f} ms), sequences of "
             f"{m['sequence_frames']} frames, split `{m['split']['mode']}`: "
             f"{len(ids['train'])} / {len(ids['validation'])} / {len(ids['test'])} mixtures. "
             "Metrics on whole test mixtures (padding removed); frame F1/ER = the report's "
             "micro F1 (dnd-sed definition), segment F1/ER = sed_eval, 1-s segments (the "
             "paper's metric). The constant rows are the floor: the loss shown for 'nothing "
             "active' is the cross-entropy of predicting the training class priors."),
            md_table(["system", "Table 4 row / classes on", "accuracy", "loss", "frame F1",
                    "frame ER", "segment F1", "segment ER", "epochs", "best epoch",
                    "s / epoch", "train s", "params (as trained)"], rows)]
    if profile == "smoke":
        body.append("Profile **smoke** (configs/smoke.yaml): every model is the full "
                    "architecture, shrunk in width and input length (see the *Run summary*); "
                    "'params (as trained)' are therefore small. Table 4's parameter counts come "
                    "from the full-size models (section *Parameters and model size*).")
    if m["is_mini"]:
        body.append("Mini corpus: 8 of the 16 labels have events (real Debian recordings, see "
                    "MINI.json); every recording feeds one split only, so some labels occur in "
                    "training mixtures only and their test F1 is undefined (–).")
    figs = [("Training curves (loss, binary accuracy)", str(rel / "poly_training_curves.png")),
            ("Per-class test frame F1", str(rel / "poly_per_class_f1.png"))]
    for name in (BASELINE, DND_SED):
        ex = m["models"].get(name, {}).get("example")
        if ex:
            figs.append((f"Event roll, mixture {ex['mixture']}: ground truth vs {name}",
                         str(rel / f"event_roll_{name}.png")))
    out = [Section("Polyphonic (TUT-SED Synthetic 2016) results", "\n\n".join(body), figs)]
    t2 = m["facts"]["table2"]
    out.append(Section("TUT-SED event counts (report Table 2)",
                       md_table(["label", "events"], [[k, v] for k, v in t2.items()])
                       + f"\n\n{m['facts']['events']} events in {m['facts']['mixtures']} "
                         f"mixtures, maximum polyphony {m['facts']['max_polyphony']}."))
    return out


def _params_section() -> Section:
    rows = []
    from common.registry import load_registry
    reg = load_registry(PAPER)
    for row, name in [*T4_MODELS.items(), ("(paper) DnD-SED k3 d10", DND_SED),
                      ("(paper) CRNN baseline", REFERENCE_CRNN)]:
        f = full_size_model_facts(name)
        pub = (reg.get("T4", row, "Number of parameters").display() + " / "
               + reg.get("T4", row, "Dimension").display()) if row in T4_MODELS else "–"
        rows.append([row, name, f"{f['trainable']:,}", f"{f['total']:,}",
                     f"{f['float32_bytes'] / 1e6:.2f}", f"{f['weights_file_bytes'] / 1024:,.0f}",
                     pub])
    return Section(
        "Parameters and model size (full-size models)",
        md_table(["row", "variant", "trainable", "total (incl. BN statistics)",
                "float32 weights (MB)", ".weights.h5 (KB)", "published params / size"], rows)
        + "\n\nThe report's sizes (43 KB for the 3.7 M-parameter models, 6-6.5 KB for the "
          "0.5 M ones) cannot be weight files: 3.7 M float32 values alone take 14.7 MB, and even "
          "8-bit weights would take 3.7 MB. The ratio 6/43 matches the parameter ratio, so the "
          "report probably printed some other file's size; only the parameter counts are "
          "comparable.")


def _sizes(run_: dict) -> str:
    """The run's shrunk sizes, read from its own config.yaml."""
    import yaml
    path = Path(run_["dir"]) / "config.yaml"
    if not path.is_file():
        return "see configs/smoke.yaml."
    c = (yaml.safe_load(path.read_text()) or {}).get("config", {})
    mdl, mono, poly, tr = c.get("model", {}), c.get("mono", {}), c.get("poly", {}), c.get("train", {})
    return (f"{mdl.get('channels')} CNN channels, {mdl.get('rnn_units')} GRU units, "
            f"{mdl.get('dilated_channels')} dilated filters (full: 256 each); UrbanSound8K clips "
            f"of {mono.get('n_frames')} frames (full: the longest slice), TUT sequences of "
            f"{poly.get('sequence_frames')} frames (full: 1,024); {tr.get('epochs')} epochs "
            f"(UrbanSound8K: {mono.get('epochs') or tr.get('epochs')}), patience "
            f"{tr.get('patience')}.")


def report_sections(rows) -> list[Section]:
    run_ = _best_run()
    sections: list[Section] = []
    if run_ is None:
        sections.append(Section("How to run", "No finished run yet. `make reproduce-drossos-sed` "
                                "runs the smoke profile on the mini corpora (or the full recipe "
                                "when `URBANSOUND8K_ROOT` / `TUT_SED_2016_ROOT` are set)."))
        return sections + [_params_section(), _complexity_section()]
    m = run_["metrics"]
    rel = Path("runs") / run_["run_id"] / "figures"
    hw = run_.get("env", {}).get("hardware", {})
    load = m.get("load_average")
    sections.append(Section("Run summary", (
        f"Run `{run_['run_id']}`: profile **{run_['profile']}**, corpus **{run_['corpus']}**, "
        f"seed {run_['seed']}, on {hw.get('cpu', '?')} ({hw.get('cores', '?')} cores); load "
        f"average at start {load} and end {m.get('load_average_end')} (1/5/15 min): training "
        "times are those of a shared machine."
        + (" Smoke sizes: " + _sizes(run_) if run_["profile"] == "smoke" else ""))))
    if m.get("mono"):
        sections += _mono_section(m["mono"], rel)
    if m.get("poly"):
        sections += _poly_section(m["poly"], rel, run_["profile"])
    sections.append(_params_section())
    sections.append(_complexity_section())
    sections.append(Section(
        "Reproduce on the real data",
        "```\nmake reproduce-drossos-sed URBANSOUND8K_ROOT=/data/UrbanSound8K "
        "TUT_SED_2016_ROOT=/data/TUT-SED-synthetic-2016\n```\n"
        "With a dataset root set the `full` profile runs (256 channels, 1,024-frame sequences, "
        "up to 300 epochs, early stopping patience 30). Options: `repro run drossos_sed --set "
        "poly.features=paper_logmel` (the paper's features), `--set mono.split=folds` (official "
        "folds), `--set poly.split=random`, `--set mono.enabled=false`."))
    return sections


def complexity_models() -> dict:
    """Every variant models.py builds, by name, at full size (`repro complexity`)."""
    from reproductions.drossos_sed import models as M
    return {name: ModelVariant(functools.partial(M.build, name), v["expected_trainable_params"],
                               ", ".join(x for x in (v["source"], v["note"]) if x))
            for name, v in M.MODEL_VARIANTS.items()}


# the report's Table 4 models, the reference pair and the UrbanSound8K models
REPORT_COMPLEXITY = (*T4_MODELS.values(), DND_SED, REFERENCE_CRNN, "report_mono_crnn",
                     "report_mono_proposed")


def _complexity_section() -> Section:
    models = complexity_models()
    return complexity_section(
        PAPER, {name: models[name] for name in REPORT_COMPLEXITY},
        "Complexity (full-size models; 1,024 × 40 TUT input, 174 × 40 UrbanSound8K input; "
        "every variant: `repro complexity drossos_sed`)", "input")
