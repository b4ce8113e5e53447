"""Lawson–Hanson active-set NNQP as one numba kernel (CPU), exact on singular Q.

    maximise cᵀw − ½wᵀQw  subject to  w ≥ 0         (Q symmetric PSD, possibly singular; float64)

State lives in caller-owned buffers so that OMP can grow the problem one coordinate at a time
and warm-start every solve: ``Q`` and ``L`` are (capacity × capacity), the leading m × m block
in use; ``perm[:p]`` lists the passive (free, positive) coordinates in the order of the Cholesky
factor ``L`` of Q[perm, perm], which is kept nonsingular. Adding a coordinate appends a factor
row (O(p²)); removing one deletes its row and restores triangularity with Givens rotations
(O(p²)), so the factor is never recomputed. Each iteration costs O(mp) for the gradient plus
O(p²) for the solves.

Singular Q. When the entering coordinate j (gradient g_j > tol_j at the optimum on P) is
linearly dependent on P — Schur complement s = Q_jj − q_Pjᵀ Q_PP⁻¹ q_Pj ≤ dep_tol·Q_jj — the
vector v = (−Q_PP⁻¹ q_Pj, 1) on P + j satisfies vᵀQv = s ≈ 0, so Qv = 0 (Q is PSD) and
cᵀv = g_j > 0: the objective grows linearly along v while the gradient stays put. If v ≥ 0
the problem is unbounded and v is the certificate (status UNBOUNDED, ``ray`` = v / max v).
Otherwise the *degenerate step* moves along v until the first passive coordinate reaches 0
(ratio test), that coordinate leaves, and j is appended to the factor of the smaller P (now
independent of it) — never "blocked", which would be valid only when c ∈ range(Q). Every step
raises the objective strictly, so no passive set repeats and the method terminates at the exact
optimum or with a ray.

Statuses are those of :mod:`matroidomp.kernels.status`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cholesky import backward_substitution_transposed, cholesky_solve, forward_substitution
from .status import CONVERGED, MAX_ITER, UNBOUNDED

#: Schur complements at or below this fraction of the diagonal count as linear dependence
#: (for float64 data; a negative pivot on a PSD matrix is rounding on a dependent column).
DEPENDENCE_TOL = 1e-10
#: A null direction's passive entry u_t counts as zero when u_t·√Q_tt is at most this fraction
#: of the largest such term (scale-invariant: rescaling a column rescales u_t inversely).
RAY_ZERO_TOL = 1e-9

#: How a coordinate entered the passive set (see :func:`_enter`).
_APPENDED, _AFTER_DEGENERATE_STEPS, _RAY = 0, 1, 2


@njit(cache=True)
def _schur(Q, L, perm, p, j, row):
    """row[:p] = L⁻¹ Q[perm[:p], j]; return the Schur complement Q_jj − ‖row‖²."""
    q = np.empty(p)
    for t in range(p):
        q[t] = Q[perm[t], j]
    forward_substitution(L, q, p, row)
    s = Q[j, j]
    for t in range(p):
        s -= row[t] * row[t]
    return s


@njit(cache=True)
def append_column(Q, L, perm, p, j, dep_tol):
    """Append coordinate j to the factor of Q[perm[:p], perm[:p]]; False if it is dependent."""
    row = np.empty(p)
    s = _schur(Q, L, perm, p, j, row)
    if not s > dep_tol * Q[j, j]:
        return False
    for t in range(p):
        L[p, t] = row[t]
    L[p, p] = np.sqrt(s)
    perm[p] = j
    return True


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
def _drop_nonpositive(w, perm, p, L, in_p):
    """Take every passive coordinate with w ≤ 0 out of P (w set to 0); return (p, how many)."""
    dropped = 0
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
def _descend(Q, c, w, perm, p, L, in_p, just_added):
    """Move w to the optimum on the passive set, backtracking to stay ≥ 0.

    Returns (p, dropped); dropped = -1 when the just-added last coordinate (entered at w = 0)
    would turn nonpositive at once (it is taken out again and w is unchanged).
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
        p, more = _drop_nonpositive(w, perm, p, L, in_p)
        dropped += more
    return p, dropped


@njit(cache=True)
def _enter(Q, w, perm, p, L, in_p, j, dep_tol, root_diag, ray):
    """Bring coordinate j (g_j > 0 at the optimum on P, w_j = 0) into the passive set.

    While j depends on P, step along the null direction v = (−u, 1), u = Q_PP⁻¹q_Pj, until a
    passive coordinate reaches 0 and leaves (ratio test; ties → the largest scaled u_t). Returns
    (p, how): ``_APPENDED`` (j appended at once, w unchanged), ``_AFTER_DEGENERATE_STEPS`` (w
    moved, j appended with w_j > 0) or ``_RAY`` (v ≥ 0: ``ray`` holds v / max v, p unchanged).
    """
    row = np.empty(p + 1)
    u = np.empty(p + 1)
    how = _APPENDED
    while True:
        s = _schur(Q, L, perm, p, j, row)
        if s > dep_tol * Q[j, j]:
            for t in range(p):
                L[p, t] = row[t]
            L[p, p] = np.sqrt(s)
            perm[p] = j
            in_p[j] = True
            return p + 1, how
        backward_substitution_transposed(L, row, p, u)
        biggest = root_diag[j]
        for t in range(p):
            biggest = max(biggest, abs(u[t]) * root_diag[perm[t]])
        floor = RAY_ZERO_TOL * biggest
        alpha = np.inf
        hit = -1
        for t in range(p):
            scaled = u[t] * root_diag[perm[t]]
            if scaled > floor:
                ratio = w[perm[t]] / u[t]
                if ratio < alpha or (ratio == alpha and scaled > u[hit] * root_diag[perm[hit]]):
                    alpha = ratio
                    hit = t
        if hit < 0:
            top = 1.0
            for t in range(p):
                top = max(top, -u[t])
            for t in range(p):
                ray[perm[t]] = max(-u[t], 0.0) / top
            ray[j] = 1.0 / top
            return p, _RAY
        for t in range(p):
            w[perm[t]] -= alpha * u[t]
        w[j] += alpha
        w[perm[hit]] = 0.0
        p, _ = _drop_nonpositive(w, perm, p, L, in_p)
        how = _AFTER_DEGENERATE_STEPS


@njit(cache=True)
def active_set_solve(Q, c, m, w, perm, p, L, tol, dep_tol, max_iter, optimal_on_passive, ray):
    """Solve the NNQP on the leading m coordinates from the feasible warm start (w, perm[:p]).

    w must be ≥ 0 and zero off perm[:p]; unless ``optimal_on_passive`` the first pass moves it
    to the optimum on that set. ``tol`` (m,) is the KKT tolerance of each coordinate: the
    solve stops when g_i = (c − Qw)_i ≤ tol_i off P. The entering coordinate is the one with the
    largest scaled gradient g_i/√Q_ii (scale-invariant). Returns (status, n_iter, p); on
    UNBOUNDED ``ray[:m]`` holds the certificate and w the last feasible iterate.
    """
    blocked = np.zeros(m, dtype=np.bool_)
    in_p = np.zeros(m, dtype=np.bool_)
    root_diag = np.empty(m)
    for i in range(m):
        root_diag[i] = np.sqrt(max(Q[i, i], 0.0))
        ray[i] = 0.0
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
        top = 0.0
        for i in range(m):
            if not in_p[i] and not blocked[i] and g[i] > tol[i]:
                score = g[i] / root_diag[i] if root_diag[i] > 0.0 else np.inf
                if best < 0 or score > top:
                    best = i
                    top = score
        if best < 0:
            return CONVERGED, n_iter, p
        if n_iter >= max_iter:
            return MAX_ITER, n_iter, p
        n_iter += 1
        p, how = _enter(Q, w, perm, p, L, in_p, best, dep_tol, root_diag, ray)
        if how == _RAY:
            return UNBOUNDED, n_iter, p
        p, dropped = _descend(Q, c, w, perm, p, L, in_p, how == _APPENDED)
        if dropped < 0:
            blocked[best] = True  # rounding: no progress along it, exclude until w moves
        else:
            blocked[:] = False
            n_iter += dropped


@njit(cache=True)
def refactor(Q, L, perm, p, dep_tol):
    """Recompute the factor of Q[perm[:p], perm[:p]] from scratch (O(p³)); False if it is singular."""
    for t in range(p):
        if not append_column(Q, L, perm, t, perm[t], dep_tol):
            return False
    return True


@njit(cache=True)
def add_coordinate(Q, L, c, tol, w, ray, perm, m, p, q_col, c_j, tol_j, dep_tol, max_iter, cap):
    """Extend the problem by coordinate m (Q[:m+1, m] = q_col, diagonal last) and re-solve from
    the current optimum: OMP's refit. Returns (status, n_iter, m, p).

    A warm solve that reaches ``max_iter`` (rounding on a nearly singular passive block can make
    the active set cycle) is redone from w = 0 with ten times the limit. CONVERGED requires the
    optimum to be at most ``cap`` (beyond it: UNBOUNDED, the caller's numerical horizon) and not
    below the previous optimum (F is monotone; a decrease is rounding breaking down: MAX_ITER).
    On any other status the coordinate is taken out again and (w, perm[:p], L) are restored
    exactly as they were, the factor by an O(p³) recomputation (rare: only on a skipped element).
    """
    w_before = w[:m].copy()
    perm_before = perm[:p].copy()
    value_before = quadratic_value(Q, c, w, m)
    for t in range(m + 1):
        Q[m, t] = q_col[t]
        Q[t, m] = q_col[t]
    c[m] = c_j
    tol[m] = tol_j
    w[m] = 0.0
    m_new = m + 1
    code, n_iter, p_new = active_set_solve(Q, c, m_new, w, perm, p, L, tol, dep_tol, max_iter, True, ray)
    if code == MAX_ITER:
        w[:m_new] = 0.0
        code, more, p_new = active_set_solve(Q, c, m_new, w, perm, 0, L, tol, dep_tol, 10 * max_iter, True, ray)
        n_iter += more
    if code == CONVERGED:
        value = quadratic_value(Q, c, w, m_new)
        if not value <= cap:
            code = UNBOUNDED
        elif value < value_before - 1e-9 * abs(value_before):
            code = MAX_ITER
    if code == CONVERGED:
        return code, n_iter, m_new, p_new
    w[:m] = w_before
    w[m] = 0.0
    perm[:p] = perm_before
    refactor(Q, L, perm, p, dep_tol)
    return code, n_iter, m, p


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
