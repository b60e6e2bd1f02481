"""``repro evaluate fuss``: official FUSS separation scores of a user's separated audio.

Input (spec fuss_desed.md §3.1, §4.1):

* ``--list``: an official example list (``eval_example_list.txt`` …): one example per line,
  tab-separated paths relative to ``--root``: the mixture, then 1–4 reference sources.
* ``--estimates``: a folder holding, per example, ``<mixture path without .wav>_sources/
  estimate0.wav … estimate3.wav`` (the layout the baseline's inference writes next to the
  mixture), 16 kHz mono, as long as the references.

As the official evaluation, the mixture file is not read (the mixture is the sum of the
references) and examples with fewer than 4 sources get all-zero references. Scoring is
:func:`common.metrics.fuss.fuss_separation_metrics`.

JSON keys: ``single_source_si_snr``, ``multi_source_si_snri`` (dB; null when no pair),
``single_source_count``, ``multi_source_count`` (scored source pairs behind the two means),
``under_separation``, ``equal_separation``, ``over_separation`` (fractions of evaluated
examples), plus ``examples`` (lines read) and ``examples_evaluated``.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common.audio_io import load_audio
from common.errors import AudioError, PredictionFileError
from common.evaluation import Argument, EvaluationTask
from common.metrics.fuss import MAX_SOURCES, fuss_separation_metrics

SAMPLE_RATE = 16000


def read_example_list(path: str | Path) -> list[tuple[int, str, list[str]]]:
    """(line number, mixture path, source paths) per non-blank line of an official list."""
    path = Path(path)
    if not path.is_file():
        raise PredictionFileError(path, "example list does not exist")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise PredictionFileError(path, "expected a mixture path and 1–4 source paths "
                                          f"separated by tabs, got {len(fields)} field(s)",
                                          line=number)
            if len(fields) > 1 + MAX_SOURCES:
                raise PredictionFileError(path, f"{len(fields) - 1} source paths; FUSS examples "
                                          f"have at most {MAX_SOURCES}", line=number)
            for column, field in enumerate(fields, start=1):
                if not field.strip():
                    raise PredictionFileError(path, "empty path", line=number,
                                              column=str(column))
            if not fields[0].endswith(".wav"):
                raise PredictionFileError(path, f"mixture path {fields[0]!r} does not end in "
                                          ".wav", line=number, column="1")
            rows.append((number, fields[0], fields[1:]))
    if not rows:
        raise PredictionFileError(path, "example list holds no examples")
    return rows


def estimate_paths(estimates_dir: str | Path, mixture: str) -> list[Path]:
    """The four estimate files expected for one mixture path of the list."""
    folder = Path(estimates_dir) / (mixture[: -len(".wav")] + "_sources")
    return [folder / f"estimate{j}.wav" for j in range(MAX_SOURCES)]


def _load(path: Path, list_path: Path, line: int) -> np.ndarray:
    try:
        audio, _ = load_audio(path, expected_sr=SAMPLE_RATE, allow_silent=True)
    except AudioError as err:
        raise PredictionFileError(list_path, f"{err.path}: {err.reason}", line=line) from err
    return audio


def _examples(list_path: Path, root: Path, estimates_dir: Path
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for line, mixture, sources in read_example_list(list_path):
        references = [_load(root / src, list_path, line) for src in sources]
        estimates = [_load(p, list_path, line) for p in estimate_paths(estimates_dir, mixture)]
        length = len(references[0])
        for path, audio in zip([root / s for s in sources]
                               + estimate_paths(estimates_dir, mixture),
                               references + estimates):
            if len(audio) != length:
                raise PredictionFileError(
                    list_path, f"{path}: {len(audio)} samples, but the first source "
                    f"{root / sources[0]} has {length}", line=line)
        refs = np.zeros((MAX_SOURCES, length), dtype=np.float32)
        refs[: len(references)] = np.stack(references)
        yield refs, np.stack(estimates)


def evaluate(list: str, root: str, estimates: str) -> dict:
    """Official FUSS scores (module docstring) as a JSON-ready dict."""
    list_path = Path(list)
    counted = [0]

    def counting():
        for example in _examples(list_path, Path(root), Path(estimates)):
            counted[0] += 1
            yield example

    result = fuss_separation_metrics(counting())

    def number(value: float) -> float | None:
        return None if math.isnan(value) else float(value)

    return {
        "single_source_si_snr": number(result["single_source_si_snr"]),
        "multi_source_si_snri": number(result["multi_source_si_snri"]),
        "single_source_count": result.counts["single_source_count"],
        "multi_source_count": result.counts["multi_source_count"],
        "under_separation": number(result["under_separation"]),
        "equal_separation": number(result["equal_separation"]),
        "over_separation": number(result["over_separation"]),
        "examples": counted[0],
        "examples_evaluated": result.counts["examples_evaluated"],
    }


def describe(result: dict) -> str:
    def db(value):
        return "n/a" if value is None else f"{value:.1f} dB"

    def rate(value):
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        (f"FUSS separation ({result['examples_evaluated']} of {result['examples']} examples "
         "evaluated)"),
        (f"  single-source SI-SNR : {db(result['single_source_si_snr'])} "
         f"({result['single_source_count']} sources)"),
        (f"  multi-source SI-SNRi : {db(result['multi_source_si_snri'])} "
         f"({result['multi_source_count']} sources)"),
        (f"  under / equal / over separation: {rate(result['under_separation'])} / "
         f"{rate(result['equal_separation'])} / {rate(result['over_separation'])}"),
    ]
    return "\n".join(lines)


TASK = EvaluationTask(
    name="fuss",
    help="FUSS / DCASE2020 task 4 separation: single-source SI-SNR, multi-source SI-SNRi "
         "(google-research/sound-separation evaluate_lib)",
    arguments=(
        Argument("--list", "official example list (mixture<TAB>source1<TAB>… per line)"),
        Argument("--root", "folder the list's paths are relative to"),
        Argument("--estimates", "folder with <mixture without .wav>_sources/estimate{0..3}.wav"),
    ),
    evaluate=evaluate,
    describe=describe,
)
