"""FUSS examples as arrays (spec fuss_desed.md §3.1): one version (``ssdata`` dry or
``ssdata_reverb``) and split at a time, read from the official example lists of a validated
root (:mod:`data_prep.fuss`).

As the baseline's reader: the mixture is the sum of the listed sources (the mixture file is
not read for training or scoring), examples with fewer than 4 sources are padded with all-zero
sources to 4. Only mixtures the validator found usable (the manifest) are read; the others are
listed by the validator's report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.audio_io import load_audio
from common.errors import DatasetError
from data_prep import fuss as fuss_data

MAX_SOURCES = 4


@dataclass(frozen=True)
class FussSplit:
    version: str
    split: str
    mixtures: np.ndarray      # (N, T) float32: the sum of the sources
    sources: np.ndarray       # (N, 4, T) float32, zero-padded
    n_sources: np.ndarray     # (N,) listed sources per example
    ids: list[str]            # mixture paths relative to the version folder

    def __len__(self) -> int:
        return len(self.ids)


def load_split(root: Path, version: str, split: str, manifest=None) -> FussSplit:
    """Every usable example of ``version/split``; ``manifest`` (the validator's) restricts to
    usable mixtures. DatasetError when none is left or lengths differ."""
    vroot = Path(root) / version
    examples = fuss_data.read_example_list(fuss_data.list_path(vroot, split), split)
    if manifest is not None:
        usable = set(manifest[(manifest["version"] == version)
                              & (manifest["split"] == split)]["mixture"])
        examples = [(m, s) for m, s in examples if m in usable]
    if not examples:
        raise DatasetError(f"{vroot}: no usable {split} example")
    mixtures, sources, counts, ids = [], [], [], []
    length = None
    for mix, srcs in examples:
        refs = [load_audio(vroot / s, expected_sr=fuss_data.SAMPLERATE, allow_silent=True)[0]
                for s in srcs]
        n = len(refs[0])
        if length is None:
            length = n
        if any(len(r) != length for r in refs):
            raise DatasetError(f"{vroot / mix}: sources of {[len(r) for r in refs]} samples, "
                               f"expected {length} as the first example")
        padded = np.zeros((MAX_SOURCES, length), dtype=np.float32)
        padded[:len(refs)] = np.stack(refs)
        sources.append(padded)
        mixtures.append(padded.sum(axis=0))
        counts.append(len(refs))
        ids.append(mix)
    return FussSplit(version, split, np.stack(mixtures), np.stack(sources),
                     np.asarray(counts), ids)
