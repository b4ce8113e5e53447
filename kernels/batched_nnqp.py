"""Many independent small NNQPs at once (numba, CPU): one active-set solve per problem.

    for b = 1..B:  maximise c_bᵀw − ½wᵀQ_b w  subject to  w ≥ 0      (Q_b symmetric PSD, k × k)

Each problem runs :func:`matroidomp.kernels.active_set.active_set_solve` from w = 0 with its own
factor buffers; problems are spread over threads by ``prange`` once the batch holds at least
:data:`PARALLEL_MIN_WORK` entries of Q (B·k²), below which one serial loop avoids the thread
start-up. Uses: the per-domain blocks of the IWD baseline, several pools or several steps at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .active_set import active_set_solve, quadratic_value

#: B·k² from which the problems run on all threads.
PARALLEL_MIN_WORK = 1 << 16


@njit(cache=True)
def _solve_one(Q, c, tol, max_iter, W, objective, status, n_iter, b):
    k = c.shape[1]
    L = np.zeros((k, k))
    perm = np.zeros(k, dtype=np.int64)
    w = np.zeros(k)
    code, it, _ = active_set_solve(Q[b], c[b], k, w, perm, 0, L, tol[b], max_iter, True)
    W[b] = w
    objective[b] = quadratic_value(Q[b], c[b], w, k)
    status[b] = code
    n_iter[b] = it


@njit(cache=True)
def _solve_serial(Q, c, tol, max_iter, W, objective, status, n_iter):
    for b in range(c.shape[0]):
        _solve_one(Q, c, tol, max_iter, W, objective, status, n_iter, b)


@njit(cache=True, parallel=True)
def _solve_parallel(Q, c, tol, max_iter, W, objective, status, n_iter):
    for b in prange(c.shape[0]):
        _solve_one(Q, c, tol, max_iter, W, objective, status, n_iter, b)


def batched_active_set(Q: np.ndarray, c: np.ndarray, tol: np.ndarray, max_iter: int):
    """(W, objective, status codes, n_iter) for float64 Q (B × k × k), c (B × k), tol (B,).

    Status codes are :data:`~matroidomp.kernels.active_set.CONVERGED` or ``MAX_ITER``.
    """
    B, k = c.shape
    W = np.zeros((B, k))
    objective = np.zeros(B)
    status = np.zeros(B, dtype=np.int64)
    n_iter = np.zeros(B, dtype=np.int64)
    solve = _solve_parallel if B * k * k >= PARALLEL_MIN_WORK and B > 1 else _solve_serial
    solve(Q, c, tol, int(max_iter), W, objective, status, n_iter)
    return W, objective, status, n_iter
