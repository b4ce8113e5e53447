"""Many independent small NNQPs at once (numba, CPU): input check and active-set solve per problem.

    for b = 1..B:  maximise c_bᵀw − ½wᵀQ_b w  subject to  w ≥ 0      (Q_b symmetric PSD, k × k)

Each problem is first checked as :func:`matroidomp.nnqp` checks one — symmetric when
max|Q_b − Q_bᵀ| ≤ 10³·eps·max(1, max|Q_b|), PSD when Q_b + δ_b I has a Cholesky factor,
δ_b = 10·k·rel_tol·max|diag Q_b| — then solved by
:func:`matroidomp.kernels.active_set.active_set_solve` from w = 0 with its own factor buffers.
Check and solve share one parallel region and call no BLAS: on a few cores numba's threads and
OpenBLAS's contend, and a separate LAPACK check cost more than the solves. Problems are spread
over threads by ``prange`` once the batch holds at least :data:`PARALLEL_MIN_WORK` entries of Q
(B·k²), below which one serial loop avoids the thread start-up. Uses: the per-domain blocks of
the IWD baseline, several pools or several steps at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .active_set import active_set_solve, quadratic_value
from .active_set import DEPENDENCE_TOL
from .status import ASYMMETRIC, INDEFINITE, UNBOUNDED

#: B·k² from which the problems run on all threads.
PARALLEL_MIN_WORK = 1 << 16


@njit(cache=True, fastmath=True)  # reassociated sums: rounding that δ covers; Q is finite (checked before)
def _check(A, rel_tol, L):
    """0 if A is symmetric and A + δI has a Cholesky factor (left in L), else ASYMMETRIC/INDEFINITE."""
    k = A.shape[0]
    diag = 0.0
    scale = 0.0
    asym = 0.0
    for i in range(k):  # row slices: numba vectorises them (no wrap-around checks)
        row = A[i]
        diag = max(diag, abs(row[i]))
        for j in range(i):
            scale = max(scale, abs(row[j]), abs(A[j, i]))
            asym = max(asym, abs(row[j] - A[j, i]))
    if asym > 1e3 * np.finfo(np.float64).eps * max(scale, diag, 1.0):
        return ASYMMETRIC
    delta = 10 * k * rel_tol * max(diag, 1e-300)
    for i in range(k):  # Cholesky–Banachiewicz on the lower triangle of A + δI, row by row
        Li = L[i]
        for j in range(i + 1):
            Lj = L[j]
            acc = A[i, j]
            for t in range(j):
                acc -= Li[t] * Lj[t]
            if i == j:
                acc += delta
                if not acc > 0.0:
                    return INDEFINITE
                Li[i] = np.sqrt(acc)
            else:
                Li[j] = acc / Lj[j]
    return 0


@njit(cache=True)
def _solve_one(Q, c, tol, rel_tol, dep_tol, max_iter, W, objective, status, n_iter, rays, b):
    k = c.shape[1]
    L = np.zeros((k, k))
    bad = _check(Q[b], rel_tol, L)
    if bad:
        status[b] = bad
        return
    L[:] = 0.0
    perm = np.zeros(k, dtype=np.int64)
    w = np.zeros(k)
    ray = np.zeros(k)
    code, it, _ = active_set_solve(Q[b], c[b], k, w, perm, 0, L, tol[b], dep_tol, max_iter, True, ray)
    W[b] = w
    if code == UNBOUNDED:
        objective[b] = np.inf
        rays[b] = ray
    else:
        objective[b] = quadratic_value(Q[b], c[b], w, k)
    status[b] = code
    n_iter[b] = it


@njit(cache=True)
def _solve_serial(Q, c, tol, rel_tol, dep_tol, max_iter, W, objective, status, n_iter, rays):
    for b in range(c.shape[0]):
        _solve_one(Q, c, tol, rel_tol, dep_tol, max_iter, W, objective, status, n_iter, rays, b)


@njit(cache=True, parallel=True)
def _solve_parallel(Q, c, tol, rel_tol, dep_tol, max_iter, W, objective, status, n_iter, rays):
    for b in prange(c.shape[0]):
        _solve_one(Q, c, tol, rel_tol, dep_tol, max_iter, W, objective, status, n_iter, rays, b)


def batched_active_set(Q: np.ndarray, c: np.ndarray, tol: np.ndarray, max_iter: int, rel_tol: float,
                       dep_tol: float = DEPENDENCE_TOL):
    """(W, objective, status codes, n_iter, rays) for float64 Q (B × k × k), c (B × k), tol (B × k).

    ``tol`` holds every problem's per-coordinate KKT tolerances; ``rel_tol`` is the relative
    rounding of the caller's Q (it sets the PSD shift δ); ``dep_tol`` the relative Schur
    complement below which a column counts as dependent. Status codes are those of
    :mod:`matroidomp.kernels.status`: CONVERGED, MAX_ITER, UNBOUNDED (objective inf, the
    problem's row of ``rays`` its certificate), or ASYMMETRIC / INDEFINITE for a problem that
    failed its check (left at w = 0).
    """
    B, k = c.shape
    W = np.zeros((B, k))
    objective = np.zeros(B)
    status = np.zeros(B, dtype=np.int64)
    n_iter = np.zeros(B, dtype=np.int64)
    rays = np.zeros((B, k))
    solve = _solve_parallel if B * k * k >= PARALLEL_MIN_WORK and B > 1 else _solve_serial
    solve(Q, c, np.ascontiguousarray(tol, dtype=np.float64), float(rel_tol), float(dep_tol), int(max_iter), W,
          objective, status, n_iter, rays)
    return W, objective, status, n_iter, rays
