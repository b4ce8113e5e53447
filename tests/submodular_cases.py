"""Small random instances of the submodular functions (from matroidomp.testing) and from-scratch numpy references.

The references recompute f(S) directly from its definition, independently of the incremental
gain states they check.
"""

from __future__ import annotations

import numpy as np

from matroidomp import PartitionMatroid
from matroidomp.testing import random_partition_matroid as random_matroid
from matroidomp.testing import random_set_function as make_function

# The instance builders are matroidomp.testing's; "modular" (one more kind there) is coverage of
# disjoint items, which reference() handles as coverage.
KINDS = ("facility", "feature_sqrt", "feature_log1p", "coverage")

__all__ = ["KINDS", "brute_force_opt", "make_function", "random_matroid", "reference"]


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


def brute_force_opt(kind: str, data: dict, matroid: PartitionMatroid) -> float:
    """max f over the bases (f is monotone, so some basis is optimal)."""
    return max(reference(kind, data, S) for S in matroid.bases())
