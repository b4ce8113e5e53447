"""Lawson–Hanson active-set NNQP as one numba kernel (CPU).

    maximise cᵀw − ½wᵀQw  subject to  w ≥ 0         (Q symmetric PSD, float64)

State lives in caller-owned buffers so that OMP can grow the problem one coordinate at a time
and warm-start every solve: ``Q`` and ``L`` are (capacity × capacity), the leading m × m block
in use; ``perm[:p]`` lists the passive (free) coordinates in the order of the Cholesky factor
``L`` of Q[perm, perm]. Adding a coordinate appends a factor row (O(p²)); removing one deletes
its row and restores triangularity with Givens rotations (O(p²)), so the factor is never
recomputed. Each iteration costs O(mp) for the gradient plus O(p²) for the solves.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cholesky import cholesky_append, cholesky_solve

CONVERGED = 0
MAX_ITER = 1

#: Schur complements at or below this fraction of the diagonal count as linear dependence
#: (callers guarantee Q is PSD, so a negative pivot is rounding on a dependent column).
DEPENDENCE_TOL = 1e-10


@njit(cache=True)
def _append(Q, L, perm, p, j):
    """Append coordinate j to the factor of Q[perm[:p], perm[:p]]; False if it is dependent."""
    q = np.empty(p)
    for t in range(p):
        q[t] = Q[perm[t], j]
    return cholesky_append(L, p, q, Q[j, j], DEPENDENCE_TOL)


@njit(cache=True)
def _remove(L, perm, p, t):
    """Delete factor position t (row/column t of Q[perm, perm]) in O(p²) by Givens rotations."""
    for i in range(t, p - 1):
        perm[i] = perm[i + 1]
        for j in range(i + 2):
            L[i, j] = L[i + 1, j]
    for i in range(t, p - 1):
        a = L[i, i]
        b = L[i, i + 1]
        if b != 0.0:
            r = np.sqrt(a * a + b * b)
            cs = a / r
            sn = b / r
            for row in range(i, p - 1):
                x = L[row, i]
                y = L[row, i + 1]
                L[row, i] = cs * x + sn * y
                L[row, i + 1] = -sn * x + cs * y
        if L[i, i] < 0.0:
            for row in range(i, p - 1):
                L[row, i] = -L[row, i]
    for row in range(p - 1):
        L[row, p - 1] = 0.0


@njit(cache=True)
def _descend(Q, c, w, perm, p, L, in_p, just_added):
    """Move w to the optimum on the passive set, backtracking to stay ≥ 0.

    Returns (p, dropped); dropped = -1 when the just-added last coordinate would turn
    nonpositive at once (it is taken out again and w is unchanged).
    """
    dropped = 0
    rhs = np.empty(p)
    while p > 0:
        for t in range(p):
            rhs[t] = c[perm[t]]
        z = cholesky_solve(L, rhs, p)
        positive = True
        for t in range(p):
            if not z[t] > 0.0:
                positive = False
                break
        if positive:
            for t in range(p):
                w[perm[t]] = z[t]
            return p, dropped
        if just_added and dropped == 0 and not z[p - 1] > 0.0:
            in_p[perm[p - 1]] = False
            return p - 1, -1
        alpha = np.inf
        hit = -1
        for t in range(p):
            if not z[t] > 0.0:
                wt = w[perm[t]]
                ratio = wt / (wt - z[t])
                if ratio < alpha:
                    alpha = ratio
                    hit = t
        for t in range(p):
            col = perm[t]
            w[col] += alpha * (z[t] - w[col])
        w[perm[hit]] = 0.0
        t = p - 1
        while t >= 0:
            col = perm[t]
            if not w[col] > 0.0:
                w[col] = 0.0
                in_p[col] = False
                _remove(L, perm, p, t)
                p -= 1
                dropped += 1
            t -= 1
    return p, dropped


@njit(cache=True)
def active_set_solve(Q, c, m, w, perm, p, L, tol, max_iter, optimal_on_passive):
    """Solve the NNQP on the leading m coordinates from the feasible warm start (w, perm[:p]).

    w must be ≥ 0 and zero off perm[:p]; unless ``optimal_on_passive`` the first pass moves it
    to the optimum on that set. Returns (status, n_iter, p).
    """
    blocked = np.zeros(m, dtype=np.bool_)
    in_p = np.zeros(m, dtype=np.bool_)
    for t in range(p):
        in_p[perm[t]] = True
    g = np.empty(m)
    n_iter = 0
    if p > 0 and not optimal_on_passive:
        p, dropped = _descend(Q, c, w, perm, p, L, in_p, False)
        n_iter += dropped
    while True:
        for i in range(m):
            g[i] = c[i]
        for t in range(p):
            col = perm[t]
            wt = w[col]
            for i in range(m):
                g[i] -= Q[col, i] * wt  # Q symmetric: read row col contiguously
        best = -1
        top = tol
        for i in range(m):
            if not in_p[i] and not blocked[i] and g[i] > top:
                best = i
                top = g[i]
        if best < 0:
            return CONVERGED, n_iter, p
        if n_iter >= max_iter:
            return MAX_ITER, n_iter, p
        n_iter += 1
        if not _append(Q, L, perm, p, best):
            blocked[best] = True  # dependent on P: at the optimum on P its gradient is 0
            continue
        perm[p] = best
        p += 1
        in_p[best] = True
        p, dropped = _descend(Q, c, w, perm, p, L, in_p, True)
        if dropped < 0:
            blocked[best] = True  # no progress along it: exclude until w moves
        else:
            blocked[:] = False
            n_iter += dropped


@njit(cache=True)
def quadratic_value(Q, c, w, m):
    """cᵀw − ½wᵀQw on the leading m coordinates."""
    lin = 0.0
    quad = 0.0
    for i in range(m):
        if w[i] != 0.0:
            lin += c[i] * w[i]
            acc = 0.0
            for j in range(m):
                acc += Q[i, j] * w[j]
            quad += w[i] * acc
    return lin - 0.5 * quad
