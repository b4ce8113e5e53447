"""Small random instances of the submodular functions (from matroidomp.testing) and from-scratch numpy references.

The references recompute f(S) directly from its definition, independently of the incremental
gain states they check.
"""

from __future__ import annotations

import numpy as np

from matroidomp import PartitionMatroid
from matroidomp.testing import random_partition_matroid as random_matroid
from matroidomp.testing import random_set_function as make_function

# The instance builders are matroidomp.testing's. KINDS are the kinds test_submodular, test_greedy and
# test_streaming draw; reference() knows every kind of matroidomp.testing.SET_FUNCTION_KINDS ("modular" is
# coverage of disjoint items).
KINDS = ("facility", "feature_sqrt", "feature_log1p", "coverage")

__all__ = ["KINDS", "brute_force_opt", "make_function", "random_matroid", "reference"]


def _facility(sim, S) -> np.ndarray:
    """max_{j in S} sim_ij per row i (0 for an empty S)."""
    return sim[:, S].max(axis=1) if S else np.zeros(sim.shape[0])


def _row_max(t) -> np.ndarray:
    """max_q t_iq per row i (0 for a matrix without columns)."""
    return t.max(axis=1) if t.shape[1] else np.zeros(t.shape[0])


def reference(kind: str, data: dict, S) -> float:
    """f(S) from the definition, for data from make_function(kind, ...)."""
    S = list(S)
    if kind == "facility":
        return float(_facility(data["sim"], S).sum())
    if kind.startswith("feature"):
        phi = np.sqrt if kind == "feature_sqrt" else np.log1p
        return float(phi(data["X"][S].sum(axis=0)).sum())
    if kind in ("coverage", "modular"):
        covered = data["A"][:, S].any(axis=1)
        return float(data["w"][covered].sum())
    if kind in ("graph_cut", "sum_redundancy"):
        s = data["sim"]
        inside = float(s[np.ix_(S, S)].sum())
        if kind == "graph_cut":
            return float(s[:, S].sum()) - data["lam"] * inside
        return 2.0 * float(s.sum(axis=0).max()) * len(S) - inside
    if kind == "saturated_coverage":
        s = data["sim"]
        return float(np.minimum(s[:, S].sum(axis=1), data["alpha"] * s.sum(axis=1)).sum())
    if kind == "log_determinant":
        sign, logdet = np.linalg.slogdet(data["L"][np.ix_(S, S)] + data["regularization"] * np.eye(len(S)))
        assert sign > 0
        return float(logdet)
    if kind == "flmi":
        return float(np.minimum(_facility(data["sim"], S), data["eta"] * _row_max(data["query_sim"])).sum())
    if kind == "flcg":
        return float(np.maximum(_facility(data["sim"], S) - data["nu"] * _row_max(data["private_sim"]), 0.0).sum())
    if kind == "gcmi":
        return float(data["query_sim"][S].sum())
    if kind == "mixture":
        return float(sum(w * reference(k, part, S) for k, part, w in zip(data["kinds"], data["parts"], data["weights"])))
    raise ValueError(f"kind: no reference for {kind!r}")


def brute_force_opt(kind: str, data: dict, matroid: PartitionMatroid) -> float:
    """max f over the bases (f is monotone, so some basis is optimal)."""
    return max(reference(kind, data, S) for S in matroid.bases())
