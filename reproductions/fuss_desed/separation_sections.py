"""REPORT.md prose of the separation half. Interface used by :mod:`.sections`:
report_sections(rows, run), deviations(), complexity_models().

Sections: what was run (data, model, training, the grid and why), the grid search's whole
``cv_results_`` per FUSS version with the score-vs-parameter figure, Table 1's numbers beside
the identity floor with SI-SNRi by number of sources, the spectrogram example, the
separation speed, the settings of the full profile, and the complexity of both networks.
"""
from __future__ import annotations

import functools
from pathlib import Path

from common.markdown import Section, complexity_section, md_table
from reproductions.fuss_desed.separation_config import VERSION_LABEL

PAPER = "fuss_desed"


def _db(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def _param(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _what_was_run(run: dict, sep: dict, rel: Path) -> Section:
    cfg = run.get("config", {})
    c, d = sep["complexity"], sep["data"]
    lines = []
    for v, splits in d["versions"].items():
        lines.append(f"- `{v}` ({'reverberant' if v == 'ssdata_reverb' else 'dry'}): " + ", ".join(
            f"{s} {x['examples']} ({', '.join(f'{k}-src {n}' for k, n in x['by_listed_sources'].items())})"
            for s, x in splits.items()) + f"; {next(iter(splits.values()))['seconds']:g} s mixtures")
    body = [f"Profile **{run['profile']}** on the **{'mini corpus' if sep['is_mini'] else 'real FUSS'}**"
            f" (`{d['root']}`); files skipped by the validator: {d['files_skipped']}.",
            "\n".join(lines)]
    if sep["is_mini"]:
        rt = (d.get("mini") or {}).get("rt60_summary") or {}
        body.append(
            "The mini corpus is built from Debian-packaged recordings (not FSD50K) in the FUSS "
            "layout. Foreground events per split (events placed / distinct recordings on offer): "
            + "; ".join(f"{split} " + ", ".join(f"{pool} {x['events']}/{x['recordings']}"
                                                 for pool, x in pools.items())
                        for split, pools in ((d.get("mini") or {}).get("foreground_pools")
                                             or {}).items())
            + ". Its reverberant version uses simulated shoebox rooms (pyroomacoustics). "
            f"Measured RT60 {rt.get('measured_mean_s')} s against a target mean of "
            f"{rt.get('target_mean_s')} s ({rt.get('method')}): the image-source method "
            "overshoots its target. Its numbers are MINI_CORPUS: they show the code runs and "
            "separates, not the report's values.")
    body.append(
        f"Model trained: TDCN++ with {c['trained_model_trainable_params']:,} trainable "
        f"parameters in this profile; the full-size `{c['variant']}` built here has "
        f"**{c['full_size_trainable_params']:,}** (spec §1.1: "
        f"{c['expected_trainable_params']:,})."
        + (f" Receptive field of the dilated convolutions (read from the built layers): "
           f"{c['trained_model_receptive_field_frames']:,} frames = "
           f"{c['trained_model_receptive_field_frames'] * c['frame_step_seconds']:.2f} s here, "
           f"{c['full_size_receptive_field_frames']:,} frames = "
           f"{c['full_size_receptive_field_frames'] * c['frame_step_seconds']:.2f} s at full size."
           if "trained_model_receptive_field_frames" in c else ""))
    sep_cfg = cfg.get("separation", {})
    if sep_cfg:
        t = sep_cfg.get("train", {})
        body.append(f"Training per model: {t.get('steps')} steps of batch {t.get('batch_size')}, "
                    f"crop {t.get('crop_seconds') or 'none (whole mixtures)'} s; grid: "
                    + ", ".join(f"`{k}` {v}" for k, v in sep_cfg.get("grid", {}).items()
                                if k != "refit") + ".")
    body.append(
        "Why the full profile's grid (the report names none; the smoke grid above is a "
        "two-point slice of the same code): the **learning rate** is what a practitioner "
        "fine-tuning the baseline reaches for first (the baseline fixes 1e-4 at batch 3); "
        "**mixture consistency** is the baseline's own output-stage switch (it changes the "
        "estimates without touching the trunk); **repeats** trade depth and receptive field "
        "against parameters (3 or 4 repeats of the 8 dilations). The scorer is the official "
        "multi-source SI-SNRi, the split predefined (train → validation), and the best point "
        "is refit on train ∪ validation (GridSearchCV's refit).")
    return Section("Separation (FUSS): what was run", "\n\n".join(body))


def _grid_section(sep: dict, rel: Path) -> Section:
    parts = []
    for v, r in sep["versions"].items():
        g = r.get("grid")
        if not g:
            continue
        names = list(g["cv_results"][0]["params"])
        body = [[str(k), *[_param(row["params"][n]) for n in names],
                 _db(row["mean_test_multi_source_si_snri"]),
                 _db(row["mean_test_single_source_si_snr"]), str(row["rank"]),
                 _db(row.get("eval_multi_source_si_snri")),
                 f"{row['mean_fit_time']:.1f}", f"{row['mean_score_time']:.1f}"]
                for k, row in enumerate(g["cv_results"])]
        parts.append(
            f"**{VERSION_LABEL[v]} (`{v}`)**: {g['n_points']} points, train {g['n_train']} / "
            f"validation {g['n_validation']} mixtures, search {g['search_seconds']:.0f} s; best "
            f"point #{g['best_index']} {g['best_params']}, refit on {g['refit_on']} "
            f"in {g.get('refit_seconds', 0):.0f} s.\n\n"
            + md_table(["#", *names, "val multi-src SI-SNRi (dB)", "val single-src SI-SNR (dB)",
                        "rank", "eval multi-src SI-SNRi (dB, not used to select)", "fit s",
                        "score s (validation + eval)"], body))
    return Section("Separation: GridSearchCV results (`cv_results_`)", "\n\n".join(parts)
                   or "No grid search in this run.",
                   [("Validation score of every grid point against each searched parameter",
                     str(rel / "sep_grid_scores.png"))])


def _table1_section(sep: dict, rel: Path) -> Section:
    rows = []
    for v, r in sep["versions"].items():
        ident = r.get("identity", {})
        for system, res in (("identity (mixture / n)", ident),
                            ("baseline", r.get("baseline") or {}),
                            ("ours (grid best, refit)", r.get("grid") or {})):
            ev = res.get("eval") or {}
            va = res.get("validation") or {}
            if not ev:
                continue
            rows.append([VERSION_LABEL[v], system, _db(va.get("single_source_si_snr")),
                         _db(va.get("multi_source_si_snri")),
                         _db(ev.get("single_source_si_snr")), _db(ev.get("multi_source_si_snri")),
                         *[_db(ev.get(f"si_snri_{n}_sources")) for n in (2, 3, 4)],
                         " / ".join(_db(ev.get(k)) for k in ("under_separation",
                                                              "equal_separation",
                                                              "over_separation"))])
    text = (
        "Official FUSS metric (spec §4.1) on our systems; Table 1 above holds the same numbers "
        "beside the report's. The identity floor (every estimate = mixture / number of listed "
        "sources) scores 0 dB multi-source SI-SNRi by construction (SI-SNR is scale-invariant): "
        "a separator must clear it. The refit model's *validation* columns are left out ('–') "
        "because it trained on the validation mixtures (Table 1's 'Ours, Val' is the best "
        "point's `cv_results_` score instead).\n\n"
        + md_table(["data", "system", "val 1-src SI-SNR", "val multi SI-SNRi",
                    "eval 1-src SI-SNR", "eval multi SI-SNRi", "eval 2-src", "eval 3-src",
                    "eval 4-src", "under / equal / over separation"], rows))
    seen = []
    for v, r in sep["versions"].items():
        t = (r.get("grid") or {}).get("train_seen_in_refit")
        ev = (r.get("grid") or {}).get("eval") or {}
        if t:
            seen.append([VERSION_LABEL[v], str(t["examples"]), _db(t.get("multi_source_si_snri")),
                         *[_db(t.get(f"si_snri_{n}_sources")) for n in (2, 3, 4)],
                         _db(ev.get("multi_source_si_snri"))])
    if seen:
        text += ("\n\n**Learning check: mixtures the model trained on.** The refit model on the "
                 "first training mixtures (recordings it has seen) beside its eval score "
                 "(recordings it has not): a gap between the two is the model learning its "
                 "training recordings rather than separation in general.\n\n"
                 + md_table(["data", "training mixtures", "multi SI-SNRi", "2-src", "3-src",
                             "4-src", "eval multi SI-SNRi"], seen))
    checks = []
    for v, r in sep["versions"].items():
        cc = (r.get("grid") or {}).get("eval_cross_check")
        if cc:
            cli = cc["repro_evaluate_fuss"]
            d = cc["abs_difference_db"]["multi_source_si_snri"]
            checks.append(f"{VERSION_LABEL[v]}: {_db(cli['multi_source_si_snri'])} dB "
                          f"multi-source SI-SNRi over {cli['multi_source_count']} pairs "
                          f"(|difference| to the in-memory score "
                          f"{'n/a' if d is None else f'{d:.1e}'} dB)")
    if checks:
        text += ("\n\n**Cross-check through the user's path.** The refit model's eval estimates "
                 "are written as the baseline's inference writes them (16 kHz float WAV, "
                 "`<mixture>_sources/estimate{0..3}.wav` under the run's `estimates/<version>/`, "
                 "not committed) and scored again with `repro evaluate fuss`: "
                 + "; ".join(checks) + ".")
    return Section("Separation: Table 1 systems, identity floor, SI-SNRi by number of sources",
                   text, [("Eval SI-SNRi by number of sources", str(rel / "sep_si_snri_by_sources.png"))])


def report_sections(rows, run: dict | None) -> list[Section]:
    """This half's sections; ``run`` is the finished run used (None before any)."""
    sections: list[Section] = []
    sep = (run or {}).get("metrics", {}).get("separation")
    if sep:
        rel = Path("runs") / run["run_id"] / "figures"
        if "config" not in run:
            cfg_path = Path(run["dir"]) / "config.yaml"
            if cfg_path.is_file():
                import yaml
                run = {**run, "config": yaml.safe_load(cfg_path.read_text(encoding="utf-8"))}
        sections += [_what_was_run(run, sep, rel), _grid_section(sep, rel),
                     _table1_section(sep, rel)]
        sections.append(Section(
            "Separation: one eval mixture", "Log-magnitude spectrograms (√Hann STFT, 32/8 ms) of "
            "the mixture, each reference and the estimates aligned to it by the official "
            "permutation, titled with the pair's SI-SNR.",
            [(f"{VERSION_LABEL[v]}: mixture, references and estimates",
              str(rel / f"sep_example_{v}.png")) for v in sep["versions"]]))
        t = sep.get("timing")
        if t:
            sections.append(Section(
                "Separation speed on this CPU",
                f"Full-size `{t['variant']}` (random weights; speed does not depend on them), "
                f"batches of {t['batch_size']} × {t['mixture_seconds']:g} s mixtures: "
                f"{', '.join(f'{s:.2f}' for s in t['seconds_per_batch'])} s per batch, "
                f"real-time factor **{t['real_time_factor']:.1f}** seconds of audio per second "
                "(best repeat; TIMING: this machine, never compared)."))
    else:
        sections.append(Section("Separation (FUSS)", "No finished run of the separation half "
                                "yet: `make reproduce-fuss-desed`."))
    from reproductions.fuss_desed.separation_analytic import full_settings
    sections.append(Section("Separation: settings of the full profile",
                            md_table(["setting", "configs/full.yaml", "source"],
                                     [list(r) for r in full_settings()])))
    sections.append(complexity_section(PAPER, complexity_models(),
                                       "Separation: complexity (10 s mixture, 160,000 samples)",
                                       "10 s mixture"))
    return sections


def deviations() -> list[str]:
    return [
        "**Separation: no grid in the report (spec §1.3 item 1).** The report says it fine-tuned "
        "the FUSS baseline with scikit-learn's GridSearchCV and Keras, but the baseline is TF1 "
        "Estimator code and the report gives no grid, ranges or selection metric. We rebuilt the "
        "baseline in Keras 3 (9,179,401 parameters, equal to the spec's hand count), wrapped it "
        "in our own scikit-learn estimator and searched a grid we chose and documented "
        "(learning rate, mixture consistency, repeats), scored by the official multi-source "
        "SI-SNRi on a predefined train → validation split.",
        "**Separation: 'Ours' single-source equals the baseline (spec §1.3 item 2).** The "
        "report's single-source SI-SNR of 'Ours' equals the baseline's in every cell (35.0/37.6, "
        "30.6/31.8); only multi-source SI-SNRi moves, by +0.1 to +0.4 dB — within the run-to-run "
        "spread of one TDCN++ (registry tolerance 0.5 dB). A search that changed the model would "
        "normally move both; we report both as measured.",
        "**Separation: training length and starting point.** The report fine-tuned the released "
        "baseline; this suite trains every grid point from scratch for `separation.train.steps` "
        "steps (the official recipe trains up to 20,000,000 steps), so even the full profile is "
        "a shortened recipe.",
        "**Separation: refit.** GridSearchCV refits the best point on train ∪ validation; "
        "'Ours, Val' is therefore the best point's validation score from `cv_results_` "
        "(trained on train only) and 'Ours, Eval' the refit model's.",
        "**Separation: smoke profile.** A small TDCN++ (see the complexity of the trained "
        "model in 'what was run'), trained on seeded random crops of the mixtures for a few "
        "hundred steps at a higher learning rate, on a two-point grid; evaluation always on "
        "whole mixtures.",
    ]


@functools.cache
def complexity_models() -> dict:
    """{name: common.complexity.ModelVariant} for every network of this half."""
    from common.complexity import ModelVariant
    from reproductions.fuss_desed import separation_models as M
    return {name: ModelVariant(functools.partial(M.build, name), v["expected_trainable_params"],
                               ", ".join(x for x in (v["source"], v["note"]) if x))
            for name, v in M.MODEL_VARIANTS.items()}
