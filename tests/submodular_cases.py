"""Small random instances of the submodular functions and from-scratch numpy references.

The references recompute f(S) directly from its definition, independently of the incremental
gain states they check.
"""

from __future__ import annotations

import numpy as np

from matroidomp import PartitionMatroid
from matroidomp._submodular import Coverage, FacilityLocation, FeatureBased

KINDS = ("facility", "feature_sqrt", "feature_log1p", "coverage")


def reference(kind: str, data: dict, S) -> float:
    """f(S) from the definition."""
    S = list(S)
    if kind == "facility":
        return float(data["sim"][:, S].max(axis=1).sum()) if S else 0.0
    if kind.startswith("feature"):
        phi = np.sqrt if kind == "feature_sqrt" else np.log1p
        return float(phi(data["X"][S].sum(axis=0)).sum())
    covered = data["A"][:, S].any(axis=1)
    return float(data["w"][covered].sum())


def build(kind: str, data: dict):
    """The library's function for ``data``."""
    if kind == "facility":
        return FacilityLocation(data["sim"])
    if kind == "coverage":
        return Coverage(data["A"], data["w"])
    return FeatureBased(data["X"], concave=kind.split("_")[1])


def make_function(kind: str, n: int, rng: np.random.Generator, *, ties: bool = False):
    """(function, data) over n candidates; ``ties`` draws small integers and duplicates one."""
    m = int(rng.integers(1, 9))
    if kind == "coverage":
        w = rng.integers(1, 4, m).astype(float) if ties else rng.random(m) * 3
        data = {"A": rng.random((m, n)) < 0.35, "w": w}
    elif kind == "facility":
        data = {"sim": rng.integers(0, 4, (m, n)).astype(float) if ties else rng.random((m, n))}
    else:
        X = rng.integers(0, 3, (n, m)).astype(float) if ties else rng.random((n, m)) * (rng.random((n, m)) < 0.6)
        data = {"X": X}
    if ties and n > 1:
        # Candidate dst copies candidate src: equal gains everywhere, the lower index must win.
        src, dst = rng.choice(n, 2, replace=False)
        if kind == "feature_sqrt" or kind == "feature_log1p":
            data["X"][dst] = data["X"][src]
        else:
            key = "A" if kind == "coverage" else "sim"
            data[key][:, dst] = data[key][:, src]
    return build(kind, data), data


def random_matroid(n: int, rng: np.random.Generator) -> PartitionMatroid:
    """Random labels over 1-3 domains, each budget uniform in [0, domain size]."""
    labels = rng.integers(0, int(rng.integers(1, 4)), n)
    domains, sizes = np.unique(labels, return_counts=True)
    budgets = {int(d): int(rng.integers(0, s + 1)) for d, s in zip(domains, sizes)}
    return PartitionMatroid(labels, budgets)


def brute_force_opt(kind: str, data: dict, matroid: PartitionMatroid) -> float:
    """max f over the bases (f is monotone, so some basis is optimal)."""
    return max(reference(kind, data, S) for S in matroid.bases())
