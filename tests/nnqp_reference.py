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
from scipy.optimize import linprog


def range_basis(Q: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    vals, vecs = np.linalg.eigh(Q)
    top = max(float(np.max(np.abs(vals))), 1e-300) if vals.size else 1.0
    return vecs[:, vals > rel * top]


def unbounded_ray(Q: np.ndarray, c: np.ndarray, rel: float = 1e-9):
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


def brute_force_nnqp(Q: np.ndarray, c: np.ndarray, rel: float = 1e-9):
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
