"""An independent brute-force NNQP solver for the differential tests.

    sup { cᵀw − ½wᵀQw : w ≥ 0 },   Q symmetric PSD (possibly singular), n ≤ 12

* Unbounded iff some v ≥ 0 has Qv = 0 and cᵀv > 0: one LP over the null space of Q,
  max cᵀv s.t. Uᵀv = 0 (U spans range(Q)), Σv = 1, v ≥ 0 (scipy's HiGHS).
* Otherwise the optimum is attained at a vertex of the optimal face, whose support P has Q_PP
  positive definite (a dependent column could move the objective linearly at fixed Qw), so it is
  the best of w_P = Q_PP⁻¹c_P ≥ 0 over the supports with Q_PP ≻ 0 (and w = 0).

No active set, no warm start, nothing shared with the package's solvers.
"""

from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import linprog


def range_basis(Q: np.ndarray, rel: float = 1e-12) -> np.ndarray:
    vals, vecs = np.linalg.eigh(Q)
    top = max(float(np.max(np.abs(vals))), 1e-300) if vals.size else 1.0
    return vecs[:, vals > rel * top]


def unbounded_ray(Q: np.ndarray, c: np.ndarray, rel: float = 1e-12):
    """A v ≥ 0, Σv = 1, Qv = 0 with cᵀv > 0 if there is one (the LP optimum), else None."""
    n = Q.shape[0]
    if n == 0:
        return None
    U = range_basis(Q, rel)
    A_eq = np.vstack([U.T, np.ones((1, n))])
    b_eq = np.concatenate([np.zeros(U.shape[1]), [1.0]])
    res = linprog(-c, A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
    if res.status != 0:
        return None
    scale = max(float(np.max(np.abs(c))), 1e-300)
    return res.x if -res.fun > 1e-7 * scale else None


def brute_force_nnqp(Q: np.ndarray, c: np.ndarray, rel: float = 1e-12):
    """(objective, w) of the NNQP; objective = inf (and w = the ray) when unbounded.

    Solved on the equilibrated problem Q̃ = DQD, c̃ = Dc, w = Dw̃ with D = diag(1/√Q_ii), an exact
    reformulation that makes the rank thresholds independent of the rows' scales; a zero column
    (Q_ii = 0) is a ray on its own when c_i > 0 and is fixed at 0 otherwise.
    """
    Q = np.asarray(Q, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    n = c.shape[0]
    diag = np.diag(Q).copy()
    for i in np.flatnonzero(diag <= 0):
        if c[i] > 0:
            ray = np.zeros(n)
            ray[i] = 1.0
            return np.inf, ray
    live = np.flatnonzero(diag > 0)
    D = 1.0 / np.sqrt(diag[live])
    value, w_live = _brute_force(Q[np.ix_(live, live)] * D[:, None] * D[None, :], c[live] * D, rel)
    w = np.zeros(n)
    w[live] = w_live * D
    return value, w


def _brute_force(Q: np.ndarray, c: np.ndarray, rel: float):
    n = c.shape[0]
    ray = unbounded_ray(Q, c, rel)
    if ray is not None:
        return np.inf, ray
    best, arg = 0.0, np.zeros(n)
    top = max(float(np.max(np.abs(np.diag(Q)))), 1e-300) if n else 1.0
    for size in range(1, n + 1):
        for P in combinations(range(n), size):
            P = list(P)
            QP = Q[np.ix_(P, P)]
            if np.linalg.eigvalsh(QP)[0] <= rel * top:
                continue
            wP = np.linalg.solve(QP, c[P])
            if np.any(wP < -1e-12 * max(1.0, float(np.max(np.abs(wP))))):
                continue
            wP = np.maximum(wP, 0.0)
            value = float(c[P] @ wP - 0.5 * wP @ QP @ wP)
            if value > best:
                w = np.zeros(n)
                w[P] = wP
                best, arg = value, w
    return best, arg


# ----------------------------------------------------------------------------- instances
KINDS = ("full_rank", "rank_deficient", "duplicated", "antipodal", "wild_scale", "zero_row")


def singular_instance(seed: int, n: int, kind: str, c_kind: int):
    """(Q, c) with Q = BBᵀ PSD of the given kind (n × n), c random (0), in range(Q) (1) or ≥ 0 (2).

    rank_deficient: B is n × r with r < n; duplicated / antipodal: a row of B repeated or
    negated; wild_scale: rows scaled by 10^U(−4, 4); zero_row: a zero row (zero column of Q).
    """
    rng = np.random.default_rng(seed)
    r = n if kind == "full_rank" else int(rng.integers(1, n)) if n > 1 else 1
    B = rng.standard_normal((n, max(r, 1)))
    if kind in ("duplicated", "antipodal") and n > 1:
        i, j = rng.choice(n, 2, replace=False)
        B[j] = B[i] if kind == "duplicated" else -B[i]
    if kind == "wild_scale":
        B *= 10.0 ** rng.uniform(-4, 4, size=(n, 1))
    if kind == "zero_row":
        B[rng.integers(n)] = 0.0
    Q = B @ B.T
    if c_kind == 0:
        c = rng.standard_normal(n)
    elif c_kind == 1:
        c = B @ rng.standard_normal(B.shape[1])
    else:
        c = np.abs(rng.standard_normal(n))
    return Q, c


def assert_matches_brute_force(Q, c, status: str, objective: float, w, ray, rel: float = 1e-7):
    """A solver's answer on (Q, c) against :func:`brute_force_nnqp`: the same verdict, the same
    optimum (relative ``rel``), a feasible w attaining it, and a valid certificate when unbounded."""
    opt, _ = brute_force_nnqp(Q, c)
    w = np.asarray(w, dtype=np.float64)
    if np.isinf(opt):
        assert status == "unbounded", f"supremum is +inf but the solver says {status} ({objective})"
        v = np.asarray(ray, dtype=np.float64)
        root = np.sqrt(np.maximum(np.diag(Q), 0.0))
        assert np.all(v >= 0) and v.max() == 1.0
        assert c @ v > 0
        assert np.all(np.abs(Q @ v) <= 1e-6 * root * (root @ v) + 1e-300)
        assert objective == np.inf
        return
    assert status == "converged", f"optimum {opt} is finite but the solver says {status}"
    assert np.all(w >= 0)
    value = float(c @ w - 0.5 * w @ Q @ w)
    diag = np.diag(Q)
    live = diag > 0
    singleton = float(np.max(np.maximum(c[live], 0) ** 2 / diag[live], initial=0.0)) / 2  # best single coordinate
    assert objective == pytest.approx(opt, rel=rel, abs=rel * singleton + 1e-300)
    assert value == pytest.approx(opt, rel=rel, abs=rel * singleton + 1e-300)
