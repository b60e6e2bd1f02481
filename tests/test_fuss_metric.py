"""Official FUSS separation evaluation (spec fuss_desed.md §4.1) and ``repro evaluate fuss``.

Oracles: fast_bss_eval.numpy SI-SDR (same definition without the official epsilons) and
hand-worked cases on orthogonal signals."""
from __future__ import annotations

import json
import math

import fast_bss_eval.numpy as fbe
import numpy as np
import pytest

from common import evaluation
from common.audio_io import write_audio
from common.errors import PredictionFileError
from common.evaluation import fuss as fuss_task
from common.metrics.fuss import (
    align_estimates,
    example_scores,
    fuss_separation_metrics,
    si_snr,
)

RNG = np.random.default_rng(2020)

# Orthogonal hand-worked signals (8 samples): ‖S1‖² = 4, ‖S2‖² = 16.
S1 = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=np.float32)
S2 = np.array([0, 0, 0, 0, 2, 2, 2, 2], dtype=np.float32)
N1 = np.array([1, -1, 1, -1, 0, 0, 0, 0], dtype=np.float32)  # ⟂ S1, S2
N2 = np.array([0, 0, 0, 0, 1, -1, 1, -1], dtype=np.float32)  # ⟂ S1, S2, N1
Z = np.zeros(8, dtype=np.float32)
# SI-SNR of the mixture S1 + S2 against each: c² = 16/(20·4) = 0.2 and 256/(20·16) = 0.8.
MIX_S1 = 10 * math.log10(0.2 / 0.8)
MIX_S2 = 10 * math.log10(0.8 / 0.2)
PERFECT = 10 * math.log10((1 + 1e-8) / 1e-8)  # 80 dB: the epsilon caps a perfect estimate


# --------------------------------------------------------------------------------------------
# SI-SNR


def test_si_snr_agrees_with_fast_bss_eval():
    target = RNG.standard_normal((6, 16000))
    noise = RNG.standard_normal((6, 16000))
    for snr_db in (-10.0, 0.0, 12.0, 25.0):
        estimate = 0.7 * target + noise * 10 ** (-snr_db / 20)
        ours = si_snr(estimate.astype(np.float32), target.astype(np.float32))
        oracle = fbe.si_sdr(target, estimate)
        np.testing.assert_allclose(ours, oracle, atol=2e-3)


def test_si_snr_hand_worked_values():
    assert si_snr(S1, S1) == pytest.approx(PERFECT, abs=1e-3)
    assert si_snr(3 * S1, S1) == pytest.approx(PERFECT, abs=1e-3)  # scale invariant
    assert si_snr(N1, S1) == pytest.approx(-PERFECT, abs=1e-3)  # orthogonal
    assert si_snr(N1, Z) == pytest.approx(-PERFECT, abs=1e-3)  # zero target
    assert si_snr(Z, S1) == pytest.approx(-PERFECT, abs=1e-3)  # zero estimate
    assert si_snr(S1 + N1, S1) == pytest.approx(10 * math.log10(4 / 4), abs=1e-4)
    assert si_snr(S1 + 0.5 * N1, S1) == pytest.approx(10 * math.log10(4 / 1), abs=1e-4)
    assert si_snr(S1 + S2, S1) == pytest.approx(MIX_S1, abs=1e-4)
    assert si_snr(S1 + S2, S2) == pytest.approx(MIX_S2, abs=1e-4)
    assert si_snr(S1, S1).dtype == np.float32


def test_permutation_agrees_with_fast_bss_eval():
    refs = RNG.standard_normal((4, 8000))
    order = [2, 0, 3, 1]
    ests = refs[order] + 0.3 * RNG.standard_normal((4, 8000))
    _, perm = align_estimates(refs, ests)
    _, oracle_perm = fbe.si_sdr(refs, ests, return_perm=True)
    assert list(perm) == list(oracle_perm) == [1, 3, 0, 2]


# --------------------------------------------------------------------------------------------
# per-example rules


def test_quiet_inactive_estimate_takes_a_reference_and_leaves_it_unscored():
    refs = np.stack([S1, S2, Z, Z])
    # estimate 1 is S2 at −40 dB: the best SI-SNR match for S2, but below the activity
    # threshold (power 2e-4 < 0.01 × 0.5), so the S2 pair is not scored; N1, N2 are active
    # and land on the zero references.
    ests = np.stack([N1, S1, 0.01 * S2, N2])
    scores = example_scores(refs, ests)
    assert scores.permutation == (1, 2, 0, 3) or scores.permutation == (1, 2, 3, 0)
    np.testing.assert_array_equal(scores.active_references, [True, True, False, False])
    np.testing.assert_array_equal(scores.scored_pairs, [True, False, False, False])
    assert (scores.n_active_references, scores.n_active_estimates) == (2, 3)
    result = fuss_separation_metrics([(refs, ests)])
    assert result["multi_source_si_snri"] == pytest.approx(PERFECT - MIX_S1, abs=1e-3)
    assert result.counts["multi_source_count"] == 1
    assert (result["under_separation"], result["equal_separation"],
            result["over_separation"]) == (0.0, 0.0, 1.0)
    assert math.isnan(result["single_source_si_snr"])


def test_single_source_example_and_equal_separation():
    refs = np.stack([S1, Z, Z, Z])
    ests = np.stack([Z, Z, S1 + 0.5 * N1, Z])
    result = fuss_separation_metrics([(refs, ests)])
    assert result["single_source_si_snr"] == pytest.approx(10 * math.log10(4.0), abs=1e-4)
    assert result.counts["single_source_count"] == 1
    assert result["equal_separation"] == 1.0
    assert math.isnan(result["multi_source_si_snri"])


def test_multi_source_si_snri_pools_pairs_not_examples_and_skips_silent_examples():
    perfect_two = (np.stack([S1, S2, Z, Z]), np.stack([Z, S2, Z, S1]))  # 2 scored pairs
    quirk = (np.stack([S1, S2, Z, Z]), np.stack([N1, S1, 0.01 * S2, N2]))  # 1 scored pair
    under = (np.stack([S1, S2, Z, Z]), np.stack([S1 + S2, Z, Z, Z]))  # 1 active estimate
    silent = (np.zeros((4, 8), np.float32), np.stack([S1, S2, Z, Z]))
    result = fuss_separation_metrics([perfect_two, quirk, silent, under])
    # under: estimate S1+S2 is best matched to S2 (+6 dB) and S1 gets a zero estimate
    # (inactive) → one scored pair, SI-SNR(mix, S2) − SI-SNR(mix, S2) = 0.
    pooled = [PERFECT - MIX_S1, PERFECT - MIX_S2, PERFECT - MIX_S1, 0.0]
    assert result["multi_source_si_snri"] == pytest.approx(np.mean(pooled), abs=1e-3)
    assert result.counts["multi_source_count"] == 4
    assert result.counts["examples_evaluated"] == 3
    assert result.counts["examples_skipped_all_zero"] == 1
    assert result["under_separation"] == pytest.approx(1 / 3)
    assert result["equal_separation"] == pytest.approx(1 / 3)
    assert result["over_separation"] == pytest.approx(1 / 3)
    assert result["si_snri_2_sources"] == pytest.approx(np.mean(pooled), abs=1e-3)
    assert math.isnan(result["si_snri_3_sources"])


def test_align_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="references"):
        align_estimates(np.zeros((4, 8)), np.zeros((3, 8)))


# --------------------------------------------------------------------------------------------
# repro evaluate fuss


SR = 16000
LENGTH = 1600


def _tree(tmp_path, estimates_fn=None):
    """ROOT with 3 examples (1, 2, 4 sources), the list file, and perfect estimates."""
    root = tmp_path / "root"
    est_dir = tmp_path / "estimates"
    lines, examples = [], []
    for index, n_src in enumerate((1, 2, 4)):
        mix_rel = f"eval/example{index:05d}.wav"
        sources = [(0.1 * RNG.standard_normal(LENGTH)).astype(np.float32) for _ in range(n_src)]
        src_rels = [f"eval/example{index:05d}_sources/foreground{j}_sound.wav"
                    for j in range(n_src)]
        write_audio(root / mix_rel, np.sum(sources, axis=0), SR, subtype="FLOAT")
        for rel, src in zip(src_rels, sources):
            write_audio(root / rel, src, SR, subtype="FLOAT")
        refs = np.zeros((4, LENGTH), np.float32)
        refs[:n_src] = sources
        ests = refs[::-1].copy() if estimates_fn is None else estimates_fn(refs)
        for j in range(4):
            write_audio(est_dir / f"eval/example{index:05d}_sources/estimate{j}.wav", ests[j],
                        SR, subtype="FLOAT")
        lines.append("\t".join([mix_rel, *src_rels]))
        examples.append((refs, ests))
    list_path = root / "eval_example_list.txt"
    list_path.write_text("\n".join(lines) + "\n")
    return list_path, root, est_dir, examples


def test_evaluate_task_reads_the_official_layout(tmp_path):
    list_path, root, est_dir, examples = _tree(tmp_path)
    task = evaluation.get("fuss")
    assert task is fuss_task.TASK
    assert [a.keyword for a in task.arguments] == ["list", "root", "estimates"]
    out = task.evaluate(list=str(list_path), root=str(root), estimates=str(est_dir))
    assert set(out) >= {"single_source_si_snr", "multi_source_si_snri", "single_source_count",
                        "multi_source_count", "under_separation", "equal_separation",
                        "over_separation"}
    json.dumps(out)
    assert out["single_source_si_snr"] == pytest.approx(PERFECT, abs=0.5)
    assert out["single_source_count"] == 1
    assert out["multi_source_count"] == 6
    assert out["equal_separation"] == 1.0
    direct = fuss_separation_metrics(examples)
    assert out["multi_source_si_snri"] == pytest.approx(direct["multi_source_si_snri"], abs=1e-4)
    assert "single-source SI-SNR" in task.describe(out)


def test_evaluate_errors_name_file_and_line(tmp_path):
    list_path, root, est_dir, _ = _tree(tmp_path)
    kwargs = {"list": str(list_path), "root": str(root), "estimates": str(est_dir)}

    missing = est_dir / "eval/example00001_sources/estimate3.wav"
    missing.unlink()
    with pytest.raises(PredictionFileError, match=r"line 2: .*estimate3\.wav.*does not exist"):
        fuss_task.evaluate(**kwargs)

    write_audio(missing, np.zeros(LENGTH, np.float32), 8000, subtype="FLOAT")
    with pytest.raises(PredictionFileError, match=r"line 2: .*estimate3\.wav.*8000 Hz"):
        fuss_task.evaluate(**kwargs)

    write_audio(missing, np.zeros(LENGTH - 5, np.float32), SR, subtype="FLOAT")
    with pytest.raises(PredictionFileError, match=r"line 2: .*estimate3\.wav: 1595 samples"):
        fuss_task.evaluate(**kwargs)

    lines = list_path.read_text().splitlines()
    list_path.write_text("\n".join([lines[0], "eval/example00009.wav", *lines[1:]]) + "\n")
    with pytest.raises(PredictionFileError, match=r"eval_example_list\.txt, line 2: expected"):
        fuss_task.evaluate(**kwargs)

    list_path.write_text("\t".join(["eval/x.wav"] + ["a.wav"] * 5) + "\n")
    with pytest.raises(PredictionFileError, match=r"line 1: 5 source paths"):
        fuss_task.evaluate(**kwargs)
