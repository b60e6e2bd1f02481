"""The dataset facts report 001 states (its Tables 1 and 2 and the text around them), read from
the validated datasets' files: class and label counts, durations, bit depths, sample rates."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from common.audio_io import audio_info
from common.errors import AudioError
from data_prep import tut_sed_2016 as tut
from reproductions.drossos_sed.data import SUBTYPE_BITS, label_distribution
from reproductions.drossos_sed.features import MONO_MFCC


def audio_facts(paths: list[str]) -> dict:
    """Bit depth, sample rate and channel counts over files (headers only)."""
    bits, rates, channels = Counter(), Counter(), Counter()
    for p in paths:
        try:
            info = audio_info(p)
        except AudioError:
            continue
        bits[SUBTYPE_BITS.get(info.subtype, -1)] += 1
        rates[info.samplerate] += 1
        channels[info.channels] += 1

    def summary(c: Counter) -> dict:
        known = {k: v for k, v in c.items() if k != -1}
        if not known:
            return {"min": None, "max": None, "majority": None, "counts": {}}
        return {"min": min(known), "max": max(known),
                "majority": max(known, key=lambda k: (known[k], k)),
                "counts": {str(k): v for k, v in sorted(c.items())}}
    return {"bit_depth": summary(bits), "samplerate": summary(rates),
            "channels": summary(channels)}


def us8k_facts(root: Path, manifest: pd.DataFrame) -> dict:
    """Table 1 and the §2.1 description, from the metadata and the usable files."""
    dist = label_distribution(root)
    facts = audio_facts(list(manifest["path"].astype(str)))
    return {"table1": dist, "recordings": int(sum(dist.values())), "classes": len(dist),
            "classes_below_1000": int(sum(v < 1000 for v in dist.values())),
            "max_duration_s": float(manifest["duration"].max()) if len(manifest) else None,
            "shorter_than_fft_window": int((manifest["duration"] * MONO_MFCC.sr
                                            < MONO_MFCC.n_fft).sum()),
            **facts}


def tut_facts(root: Path, manifest: pd.DataFrame) -> dict:
    """Table 2 and the §3.1 description, from the annotations and the usable mixtures."""
    counts = tut.event_counts(root)
    facts = audio_facts(list(manifest["path"].astype(str)))
    per_label = dict(zip(counts.per_class["event_label"], counts.per_class["count"].astype(int)))
    return {"table2": {k: int(v) for k, v in per_label.items()},
            "events": counts.total_events, "mixtures": counts.mixtures,
            "max_polyphony": counts.max_polyphony,
            "labels_with_events": int(sum(v > 0 for v in per_label.values())), **facts}
