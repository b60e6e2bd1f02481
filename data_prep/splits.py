"""Group-aware splits: every key of one group (a track, a prompt, a source file) in one split."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def group_split(keys: Sequence[str], groups: Sequence[str], fractions: dict[str, float],
                seed: int) -> dict[str, list[str]]:
    """Assign whole groups to splits so each split holds about ``fractions`` of the keys.

    Groups are visited largest first (ties in a seeded random order) and each goes to the split
    furthest below its target, so big groups cannot overshoot a small split late in the run.
    Keys keep their input order inside each split. Deterministic for a given seed.
    Raises ValueError when lengths differ, keys repeat, fractions are invalid, or there are
    fewer groups than splits with a non-zero fraction.
    """
    if len(keys) != len(groups):
        raise ValueError(f"group_split: {len(keys)} keys but {len(groups)} groups")
    if len(set(keys)) != len(keys):
        raise ValueError("group_split: keys must be unique")
    if not fractions or any(f < 0 for f in fractions.values()):
        raise ValueError(f"group_split: fractions must be non-negative, got {fractions}")
    total_fraction = sum(fractions.values())
    if not math.isclose(total_fraction, 1.0, abs_tol=1e-6):
        raise ValueError(f"group_split: fractions sum to {total_fraction}, not 1")
    names = list(fractions)
    wanted = [n for n in names if fractions[n] > 0]
    unique = sorted(set(groups))
    if len(unique) < len(wanted):
        raise ValueError(f"group_split: {len(unique)} groups cannot fill {len(wanted)} splits "
                         f"{wanted} (every split with a non-zero fraction needs a group)")

    size: dict[str, int] = {}
    for g in groups:
        size[g] = size.get(g, 0) + 1
    rng = np.random.default_rng(seed)
    order = [unique[i] for i in rng.permutation(len(unique))]
    order.sort(key=lambda g: -size[g])  # stable: equal sizes keep the seeded order

    n = len(keys)
    target = {s: fractions[s] * n for s in names}
    filled = {s: 0 for s in names}
    assign: dict[str, str] = {}
    for g in order:
        s = max(wanted, key=lambda s: (target[s] - filled[s]) / target[s])
        assign[g] = s
        filled[s] += size[g]
    # A split left empty (few, large groups) takes the smallest group of the split holding
    # the most groups, so every split with a non-zero fraction gets something.
    for s in wanted:
        if filled[s]:
            continue
        members = {t: [g for g in order if assign[g] == t] for t in wanted}
        donor = max(wanted, key=lambda t: (len(members[t]), filled[t]))
        g = min(reversed(members[donor]), key=lambda g: size[g])
        assign[g] = s
        filled[donor] -= size[g]
        filled[s] += size[g]
    out: dict[str, list[str]] = {s: [] for s in names}
    for k, g in zip(keys, groups):
        out[assign[g]].append(k)
    return out
