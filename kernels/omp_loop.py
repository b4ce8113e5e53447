"""The whole nonnegative OMP loop under a partition matroid as one numba function (CPU).

This is the compiled form of :func:`matroidomp.solve_omp`'s loop for host arrays and
``nonneg=True`` (what PartitionSel and GradMatch use): one call runs every step — the fused
residual/mask/arg-max pass (:func:`matroidomp.kernels.omp_step.gram_step_into` or
``factor_step_into``), the randomized rule's shortlist and draw, the exact column of the refit,
the warm-started active-set refit with its roll-back (:func:`matroidomp.kernels.active_set.add_coordinate`)
and the bookkeeping — so that no Python runs between steps (the Python loop spent ~125 µs a step
there, more than the step's own work on a 1,024-candidate Gram path). Its decisions are those of
the reference loop in :mod:`matroidomp._omp` step by step: the same kernels, tolerances, horizon
and random stream (:func:`uniform_index`), tested for identical selections.

Per step (S the selected set, w its weights, tol_i = √Q_ii·(τσ + noise·√(|S|+1)·Σ_{j∈S} √Q_jj w_j))::

    ρ = c − Q[:, S]w  (Gram: stored rows Q[S, :];  d-space: ρ_i = c_i − scale·s_i⟨g_i, U_{b_i}⟩)
    j = feasible arg-max of ρ (scores ≤ tol are 0, ties → lowest index), or a uniform draw from
        each domain's top rem_d (randomized)
    refit on S + j; on UNBOUNDED / MAX_ITER j is excluded for good and the fit is unchanged

Forced picks. The first |A| steps add the given elements ``forced`` (the solvers' ``initial``)
in order, whatever their ρ and without a draw, each refitted exactly like any pick; the random
stream's counter starts after them. One that the refit cannot take (UNBOUNDED or MAX_ITER)
stops the run with :data:`STOP_INITIAL_FAILED` (it is the ``skipped`` entry; the caller raises).

Status codes of the run: :data:`STOP_RANK`, :data:`STOP_NO_GAIN`, :data:`STOP_UNBOUNDED_LEFT`,
:data:`STOP_CALLBACK`, :data:`STOP_INITIAL_FAILED`.

Progress. With ``report`` set, the loop leaves compiled code once per selection: an object-mode
block (``numba.objmode``) calls :func:`report_step`, which hands (index, objective) to the
reporter installed by :func:`reporting` in this thread (the solvers' tqdm bar and callback) and
stops the run when it answers False. Without ``report`` the loop pays one branch a step.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
from numba import njit, objmode

from .active_set import add_coordinate, quadratic_value
from .omp_step import factor_step_into, gram_step_into, shortlist_into
from .status import CONVERGED, UNBOUNDED

STOP_RANK, STOP_NO_GAIN, STOP_UNBOUNDED_LEFT, STOP_CALLBACK, STOP_INITIAL_FAILED = 0, 1, 2, 3, 4

_REPORTER = threading.local()  # .fn: fn(index, objective) -> bool; .error: what it raised


def report_step(index, objective) -> bool:
    """One selection of a compiled loop, passed to this thread's reporter; False stops the loop.

    Called from object mode inside :func:`omp_loop`. An exception of the reporter (a callback's
    error, Ctrl-C in the bar) is kept and stops the loop; :func:`reporting` raises it afterwards.

    Parameters
    ----------
    index : int
        The element just selected.
    objective : float
        F(S) after the step.

    Returns
    -------
    bool
        Whether the loop goes on (True when no reporter is installed).
    """
    fn = getattr(_REPORTER, "fn", None)
    if fn is None:
        return True
    try:
        return bool(fn(int(index), float(objective)))
    except BaseException as exc:  # noqa: BLE001 - re-raised by reporting() once the loop has returned
        _REPORTER.error = exc
        return False


@contextmanager
def reporting(fn):
    """Install ``fn(index, objective) -> bool`` as this thread's reporter for the compiled loops run
    inside the block; after the block, raise what ``fn`` raised.

    Parameters
    ----------
    fn : callable or None
        e.g. :meth:`matroidomp._progress.Progress.step`; None installs nothing.

    Examples
    --------
    >>> seen = []
    >>> with reporting(lambda index, objective: seen.append(index) or len(seen) < 2):
    ...     report_step(7, 0.5), report_step(3, 0.75)
    (True, False)
    >>> seen
    [7, 3]
    """
    previous = getattr(_REPORTER, "fn", None), getattr(_REPORTER, "error", None)
    _REPORTER.fn, _REPORTER.error = fn, None
    try:
        yield
        error = _REPORTER.error
    finally:
        _REPORTER.fn, _REPORTER.error = previous
    if error is not None:
        raise error

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def splitmix64(x):
    """SplitMix64 finaliser of the uint64 ``x`` (Steele, Lea & Flood 2014)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def uniform_index(key, counter, size):
    """The ``counter``-th draw of the randomized rule: an index uniform in [0, size).

    A counter-based stream (SplitMix64 of key + counter·golden), so every backend — this loop,
    the reference loop, a device loop — draws the same sequence from one 63-bit ``key`` taken
    from the caller's Generator, whatever happens in between.
    """
    z = splitmix64(np.uint64(key) + np.uint64(counter) * _GOLDEN)
    u = float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # 53 random bits in [0, 1)
    return min(int(u * size), size - 1)


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dot64(a, b):
    """Σ_l a_l b_l with float64 products and accumulation (vectorised: reassociation allowed)."""
    acc = 0.0
    for l in range(a.shape[0]):
        acc += np.float64(a[l]) * np.float64(b[l])
    return acc


@njit(cache=True)
def settle_ties(best, rho, codes, remaining, selected, tol):
    """The lowest-index feasible i with score_i ≥ score_best − tol_best (see
    :mod:`matroidomp.kernels.reference`): scores within the best's rounding allowance are ties."""
    if best < 0:
        return best
    top = rho[best]
    if abs(top) <= tol[best]:
        top = 0.0
    floor = top - tol[best]
    for i in range(best):
        if not selected[i] and remaining[codes[i]] > 0:
            s = rho[i]
            if abs(s) <= tol[i]:
                s = 0.0
            if s >= floor:
                return i
    return best


@njit(cache=True)
def tolerant_pool(score, codes, remaining, selected, tol, pool, size, out):
    """The shortlist ``pool[:size]`` with near-ties at each domain's cut settled by index, into
    ``out``; returns its size (the rule of :func:`matroidomp.kernels.reference.tolerant_shortlist`)."""
    n_domains = remaining.shape[0]
    cut = np.full(n_domains, -1, dtype=np.int64)
    for q in range(size):  # the last kept element of each domain: lowest score, highest index among equals
        i = pool[q]
        d = codes[i]
        if cut[d] < 0 or score[i] < score[cut[d]] or (score[i] == score[cut[d]] and i > cut[d]):
            cut[d] = i
    above = np.zeros(n_domains, dtype=np.int64)
    for i in range(score.shape[0]):
        d = codes[i]
        if cut[d] >= 0 and not selected[i] and score[i] > score[cut[d]] + tol[cut[d]]:
            above[d] += 1
    taken = np.zeros(n_domains, dtype=np.int64)
    m = 0
    for i in range(score.shape[0]):
        d = codes[i]
        if cut[d] < 0 or selected[i] or remaining[d] <= 0:
            continue
        v = score[cut[d]]
        t = tol[cut[d]]
        if score[i] > v + t:
            out[m] = i
            m += 1
        elif score[i] >= v - t and taken[d] < remaining[d] - above[d]:
            out[m] = i
            m += 1
            taken[d] += 1
    return m


@njit(cache=True)
def _masked_best(rho, codes, remaining, selected, tol, out):
    """Feasible arg-max of an unchanged ρ (a p = 0 Gram step that copies ρ through), ties settled."""
    empty = np.empty((0, rho.shape[0]), dtype=np.float64)
    best = gram_step_into(empty, np.empty(0, dtype=np.float64), rho, codes, remaining, selected, False, tol, out)
    return settle_ties(best, rho, codes, remaining, selected, tol)


@njit(cache=True)
def omp_loop(gram, factor, row_scale, row_scale_d, c, root, scale, ridge, consts, blocks, n_blocks, codes, budgets,
             forced, randomized, key, fill, base_tol, refit_tol, noise, cap, dep_tol, order, weights, history, skipped,
             report):
    """Run nonnegative OMP to the end; return (selected, stop code, refit iterations).

    Parameters (host arrays; the caller validates): ``gram`` (n × n, float32/float64) for the
    Gram path or an empty (0 × 0) array for d-space; ``factor`` (n × d, same dtype) holds G for
    the d-space path, and on the Gram path, when not empty, the rows from which the refit's
    columns are computed exactly in float64 (else they are read from ``gram``);
    ``row_scale`` (n,) float64 or empty (no scale) and ``row_scale_d``, the same in the data's
    dtype; ``c``, ``root`` = √Q_ii (n,) float64; ``scale``, ``ridge`` and ``consts`` = [scale,
    ridge] in the data's dtype (staged rows round exactly as the reference loop's); ``blocks`` (n,) int64 block codes (all 0 without block-diagonal
    coupling) with ``n_blocks``; ``codes`` (n,) int64 and ``budgets`` (D,) int64 of the matroid;
    ``forced`` (|A|,) int64, the distinct elements the first |A| steps add (within the budgets);
    ``randomized``, ``key`` (the rule's stream), ``fill`` (keep filling at weight 0 when nothing
    gains); ``base_tol`` = τσ, ``refit_tol`` the refit's KKT tolerance per unit of √Q_jj, ``noise`` = rounding allowance per unit of Σ√Q_jj w_j, ``cap`` the
    horizon on F, ``dep_tol`` the refit's dependence tolerance. Outputs: ``order``, ``weights``,
    ``history`` (rank,) and ``skipped`` (n,) int8 (1: unbounded or beyond the horizon, 2: refit
    unresolved). ``report``: call :func:`report_step` after every selection but the forced ones
    (stop code :data:`STOP_CALLBACK` when it answers False).
    """
    n = c.shape[0]
    steps = order.shape[0]
    n_forced = forced.shape[0]
    gram_path = gram.shape[0] > 0
    has_scale = row_scale.shape[0] > 0
    has_blocks = n_blocks > 1
    data = gram if gram_path else factor
    width = n if gram_path else factor.shape[1]
    stored = np.empty((steps, width), dtype=data.dtype)  # Gram: rows Q[S, :]; d-space: s_j g_j
    exact = factor.shape[0] > 0  # the refit's columns from the rows of G in float64
    sel_rows = stored if not gram_path else np.empty((steps if exact else 0, factor.shape[1]), dtype=factor.dtype)
    # ρ accumulates in float64 from the staged rows (data dtype): rounding far below the tie
    # allowance, so the reference loop, summing in another order, picks alike
    w_acc = np.zeros(steps)
    U = np.zeros((n_blocks, width if not gram_path else 1))
    zeros = np.zeros(n)
    corr = np.empty(n)
    rho = c.copy()
    tol = root * base_tol
    selected = np.zeros(n, dtype=np.bool_)
    counts = np.zeros(budgets.shape[0], dtype=np.int64)
    remaining = budgets.copy()
    score = np.empty(n)
    pick_pool = np.empty(n, dtype=np.int64)
    settled_pool = np.empty(n, dtype=np.int64)
    # the refit's state (see kernels.active_set.add_coordinate)
    Q = np.zeros((steps, steps))
    L = np.zeros((steps, steps))
    cvec = np.zeros(steps)
    tolv = np.zeros(steps)
    w = np.zeros(steps)
    ray = np.zeros(steps)
    perm = np.zeros(steps, dtype=np.int64)
    q_col = np.empty(steps)
    m = 0
    p = 0
    objective = 0.0
    refits = 0
    draws = 0
    stop = STOP_RANK
    stale = False
    while m < steps:
        forced_step = m < n_forced
        if forced_step:  # the given initial elements first, whatever their ρ (no draw)
            j = forced[m]
        else:
            if not stale:  # same ρ: only the mask changed
                best = _masked_best(rho, codes, remaining, selected, tol, rho)
            else:
                mass = 0.0
                for t in range(m):
                    mass += root[order[t]] * w[t]
                factor_now = base_tol + noise * np.sqrt(m + 1.0) * mass
                for i in range(n):
                    tol[i] = root[i] * factor_now
                for t in range(m):
                    w_acc[t] = w[t]
                if gram_path:
                    best = gram_step_into(stored[:m], w_acc[:m], c, codes, remaining, selected, False, tol, rho)
                    best = settle_ties(best, rho, codes, remaining, selected, tol)
                else:
                    U[:] = 0
                    for t in range(m):
                        b = blocks[order[t]] if has_blocks else 0
                        for l in range(width):
                            U[b, l] += w_acc[t] * stored[t, l]
                    if not has_scale:
                        best = factor_step_into(factor, U, blocks, c, scale, codes, remaining, selected, False, tol, rho)
                        best = settle_ties(best, rho, codes, remaining, selected, tol)
                    else:  # ρ_i = c_i − scale·s_i⟨g_i, U_b⟩: unscaled correlations, then a masked pass
                        factor_step_into(factor, U, blocks, zeros, -1.0, codes, remaining, selected, False, tol, corr)
                        for i in range(n):
                            rho[i] = c[i] - scale * row_scale[i] * corr[i]
                        best = _masked_best(rho, codes, remaining, selected, tol, rho)
                    for t in range(m):
                        rho[order[t]] -= ridge * w[t]  # selected rows only: the arg-max is unaffected
                stale = False
            if best < 0:  # every feasible element left would make F unbounded
                stop = STOP_UNBOUNDED_LEFT
                break
            if not rho[best] > tol[best] and not fill:
                stop = STOP_NO_GAIN
                break
            j = best
            if randomized:
                for i in range(n):
                    s = rho[i]
                    score[i] = 0.0 if abs(s) <= tol[i] else s
                size = shortlist_into(score, codes, remaining, selected, pick_pool)
                size = tolerant_pool(score, codes, remaining, selected, tol, pick_pool, size, settled_pool)
                j = settled_pool[uniform_index(key, draws, size)]
                draws += 1
        # stage j and form the refit's column Q[S + j, j] in float64
        if gram_path:
            bj = blocks[j]
            for i in range(n):
                v = data[j, i] * consts[0]
                if has_blocks and blocks[i] != bj:
                    v = consts[0] * 0
                stored[m, i] = v
            stored[m, j] = stored[m, j] + consts[1]
            if not exact:
                for t in range(m + 1):
                    q_col[t] = np.float64(stored[t, j])
        if exact:
            if has_scale:
                sj = row_scale_d[j]
                for l in range(sel_rows.shape[1]):
                    sel_rows[m, l] = factor[j, l] * sj
            else:
                for l in range(sel_rows.shape[1]):
                    sel_rows[m, l] = factor[j, l]
            for t in range(m + 1):
                q_col[t] = _dot64(sel_rows[t], sel_rows[m]) * scale
                if has_blocks and blocks[order[t] if t < m else j] != blocks[j]:
                    q_col[t] = 0.0
            q_col[m] += ridge
        code, it, m_new, p = add_coordinate(Q, L, cvec, tolv, w, ray, perm, m, p, q_col[: m + 1], c[j],
                                            refit_tol * root[j], dep_tol, 3 * (m + 1) + 10, cap)
        refits += it
        selected[j] = True
        if code != CONVERGED:
            skipped[j] = 1 if code == UNBOUNDED else 2
            if forced_step:  # an initial element cannot be left out: the caller raises
                stop = STOP_INITIAL_FAILED
                break
            continue
        order[m] = j
        counts[codes[j]] += 1
        remaining[codes[j]] -= 1
        if it > 0:
            objective = quadratic_value(Q, cvec, w, m_new)
            stale = True
        history[m] = objective
        m = m_new
        if report and not forced_step:
            with objmode(go="boolean"):
                go = report_step(j, objective)
            if not go:
                stop = STOP_CALLBACK
                break
    for t in range(m):
        weights[t] = w[t]
    return m, stop, refits
