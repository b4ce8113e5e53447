"""The OMP loop's step operations on a :class:`~matroidomp.distributed._pool.ChunkedPool`.

:class:`DaskSteps` is the ``op`` of :func:`matroidomp._omp.reference_loop` — the single-machine
loop, with its stopping rules, horizon, skip rule and exact refit, runs unchanged on the client;
only the n-sized work moves to the chunks. Per step: the residual directions U_b from the staged
rows (client, |S| × d), one pass over G for ρ (workers) that also reports each chunk's best
candidates with their rows, the feasible arg-max settled on the client with OMP's tie rule, and
the refit's exact column from the candidate's row. ρ is a handle (:class:`Rho`) on the chunks'
futures plus the lists and values the client has seen. Rows not brought by a step are fetched by
indexing G (one computation for a list of them).
"""

from __future__ import annotations

import numpy as np

from .._omp import exact_column, residual_directions, scale_terms
from ..kernels import omp_loop, reference
from ._pool import ChunkedPool


class Rho:
    """ρ held by the chunks (one future each), the values of it the client has read, the chunks'
    latest :class:`~matroidomp.distributed._pool.Top` lists and deep shortlists."""

    def __init__(self, futures: list, tops: list | None = None):
        self.futures = futures
        self.known: dict[int, float] = {}
        self.tops = tops
        self.short = None  # the chunks' deep shortlists (random_pick)
        self.draws = 0


class DaskSteps:
    """OMP's n-sized work over the chunks of a pool (see the module docstring).

    Parameters
    ----------
    pool : ChunkedPool
    make : callable
        The chunk utility's constructor; on one fetched row it gives that row's staged (scaled)
        row, c_j and √Q_jj exactly as the chunks compute them.
    capacity : int
        Steps at most (the matroid's rank).
    scale, ridge : float
        Q = scale·K + ridge·I.
    store : numpy dtype
        The staged rows' dtype (float64 for float64 data, float32 otherwise), as in one machine.
    codes : (n,) int64 array or None
        The domains of block-diagonal coupling, None without it.
    n_blocks : int
    """

    def __init__(self, pool: ChunkedPool, make, capacity: int, scale: float, ridge: float, store, codes, n_blocks: int):
        self.pool, self.make = pool, make
        self.scale, self.ridge = scale, ridge
        self.codes, self.n_blocks = codes, n_blocks
        self.staged = np.zeros((max(capacity, 1), int(pool.G.shape[1])), dtype=store)
        self.sel: list[int] = []
        self.gone: list[int] = []  # selected or excluded
        self.rows: dict[int, tuple] = {}  # j -> (staged row, c_j, √Q_jj)
        self.raw: dict[int, np.ndarray] = {}  # j -> row j of G, as the last step's lists brought them
        self.roots: dict[int, float] = {}
        self.c = Rho(pool.initial())

    def _selected(self) -> np.ndarray:
        return np.asarray(self.gone, dtype=np.int64)

    def tolerances(self, factor: float) -> float:
        """tol_i = √Q_ii·factor is formed in every chunk: the factor is all that travels."""
        return factor

    def step(self, w: np.ndarray, remaining: np.ndarray, absolute: bool, factor: float):
        """One pass over G for ρ at the weights w_S, and its settled feasible arg-max."""
        p = len(self.sel)
        wd = np.asarray(w[:p], dtype=np.float64)
        sel_blocks = None if self.n_blocks == 1 else self.codes[np.asarray(self.sel, dtype=np.int64)]
        U = residual_directions(np, wd, self.staged[:p], sel_blocks, self.n_blocks, np.float64)
        rem = np.asarray(remaining, dtype=np.int64)
        futures = self.pool.residuals(U, self.scale, self._selected(), rem, factor)
        rho = Rho(futures, self.pool.step_tops(futures))
        self.raw = {j: row for top in rho.tops for j, row in zip(top.idx.tolist(), top.rows)}
        return rho, self.masked_best(rho, rem, absolute, factor)

    def masked_best(self, rho: Rho, remaining, absolute: bool, factor: float) -> int:
        """The feasible arg-max of ρ with OMP's tie rule, from the chunks' :class:`Top` lists.

        Global rule (:func:`~matroidomp.kernels.reference.settle_ties`): the lowest index whose
        masked score is ≥ top − tol_best, top the largest masked score (its lowest index is the
        best). The lists answer while they can — each chunk's maximum is its first element still
        feasible unless ``rest`` (the bound on its other elements) is higher — so that after
        elements are excluded or domains fill no pass is needed; otherwise the lists are
        refreshed (a pass over ρ), and a chunk whose ``rest`` reaches a tie or the floor is asked
        directly (:func:`~matroidomp.distributed._pool.chunk_first`).
        """
        rem = np.asarray(remaining, dtype=np.int64)
        gone = self._selected()
        alive = None if rho.tops is None else self._alive(rho.tops, gone, rem)
        if alive is None:
            rho.tops = self.pool.tops(rho.futures, gone, rem, factor)
            alive = self._alive(rho.tops, gone, rem)
            # the listed elements are the next candidates: their rows in one computation
            listed = np.concatenate([top.idx for top in rho.tops])
            self.raw.update(self.pool.rows([j for j in listed.tolist() if j not in self.raw and j not in self.rows]))
        tops, live = rho.tops, [q for q, a in enumerate(alive) if a is not None]
        if not live:
            return -1
        top = max(tops[q].score[alive[q][0]] for q in live)
        b = next(q for q in live if tops[q].score[alive[q][0]] == top)
        best = self._first(rho, [b], top, alive, gone, rem, factor)  # lowest index scoring ≥ top
        floor = top - self.roots[best] * factor
        return self._first(rho, [q for q in live if q <= b], floor, alive, gone, rem, factor)

    @staticmethod
    def _alive(tops: list, gone: np.ndarray, remaining: np.ndarray):
        """Per chunk, the positions of its listed elements still feasible (None: nothing feasible
        left in the chunk); None overall when some chunk's maximum is not in its list any more."""
        out = []
        for top in tops:
            ok = np.flatnonzero(~np.isin(top.idx, gone) & (remaining[top.codes] > 0))
            if ok.shape[0] and top.score[ok[0]] >= top.rest:
                out.append(ok)
            elif top.rest == -np.inf:
                out.append(None)
            else:
                return None
        return out

    def _first(self, rho: Rho, chunks: list, floor: float, alive: list, gone, remaining, factor: float) -> int:
        """The lowest index scoring ≥ ``floor`` in the first of ``chunks`` that has one: from a
        chunk's list when its ``rest`` is below the floor, else by asking the chunk."""
        ask = [q for q in chunks if rho.tops[q].rest >= floor]
        asked = dict(zip(ask, self.pool.first(rho.futures, ask, floor, gone, remaining, factor))) if ask else {}
        for q in chunks:
            if q in asked:
                hit = asked[q]
            else:
                top, ok = rho.tops[q], alive[q]
                ok = ok[top.score[ok] >= floor]
                hit = None if not ok.shape[0] else min(
                    (int(top.idx[i]), float(top.rho[i]), float(top.root[i])) for i in ok)
            if hit is not None:
                j, value, root = hit
                rho.known[j] = value
                self.roots[j] = root
                return j
        raise AssertionError("the chunk holding the maximum has an element at the floor")

    @staticmethod
    def value(rho: Rho, j: int) -> float:
        return rho.known[j]

    def _fetch(self, j: int) -> tuple:
        """Row j's staged row, c_j and √Q_jj (row j of G comes to the client, unless a step's
        lists brought it)."""
        if j not in self.rows:
            raw = self.raw[j] if j in self.raw else self.pool.rows([j])[j]
            u = self.make(raw[None, :])
            staged = np.asarray(u.scaled_rows([0])[0, :]).astype(self.staged.dtype)
            root, _, _ = scale_terms(np, u.diagonal(), u.c, False)
            self.rows[j] = (staged, float(u.c[0]), float(root[0]))
        return self.rows[j]

    def root_at(self, j: int) -> float:
        return self.roots[j] if j in self.roots else self._fetch(j)[2]

    def c_at(self, j: int) -> float:
        return self._fetch(j)[1]

    def column(self, j: int) -> np.ndarray:
        """Stage row j in slot |S|; return Q[S + j, j] (float64, diagonal last)."""
        p = len(self.sel)
        self.staged[p, :] = self._fetch(j)[0]
        sel_blocks = None if self.n_blocks == 1 else self.codes[np.asarray(self.sel + [j], dtype=np.int64)]
        return exact_column(np, self.staged[: p + 1], self.scale, self.ridge, sel_blocks)

    def commit(self, j: int) -> None:
        self.sel.append(j)
        self.gone.append(j)

    def exclude(self, j: int) -> None:
        self.gone.append(j)

    def random_pick(self, rho: Rho, remaining, absolute: bool, factor: float, key: int, draw: int) -> int:
        """Residual random greedy: the ``draw``-th uniform pick among every domain's top rem_d
        (:func:`~matroidomp.kernels.reference.tolerant_shortlist`, reduced over the chunks).

        The chunks report their shortlists :data:`DEPTH` deeper with a bound on the rest; the
        pool is computed from their union while every element that could enter it is in there —
        after exclusions (skipped elements) too, without a pass. Otherwise (a tie band reaching
        past the lists) the cuts' members are asked from the chunks.
        """
        rem = np.asarray(remaining, dtype=np.int64)
        selected = self._selected()
        pool = None if rho.short is None else _pool_from(rho.short, selected, rem)
        if pool is None:
            rho.short = self.pool.shortlist(rho.futures, selected, rem, factor, depth=DEPTH)
            pool = _pool_from(rho.short, selected, rem)
        if pool is None:
            idx, score, codes, tol, _ = rho.short
            alive = ~np.isin(idx, selected) & (rem[codes] > 0)
            idx, score, codes, tol = idx[alive], score[alive], codes[alive], tol[alive]
            none = np.zeros(idx.shape[0], dtype=bool)
            cuts = reference.shortlist_cuts(score, codes, rem, reference.shortlist(score, codes, rem, none), tol)
            idx, score, codes = self.pool.members(rho.futures, cuts, selected, rem, factor)
            pool = idx[reference.tolerant_members(score, codes, rem, np.zeros(idx.shape[0], dtype=bool), cuts)]
        j = int(pool[omp_loop.uniform_index(np.uint64(key), draw, int(pool.shape[0]))])
        if rho.draws and j not in self.raw and j not in self.rows:  # skipping: the pool's rows at once
            self.raw.update(self.pool.rows([i for i in pool.tolist() if i not in self.raw and i not in self.rows]))
        rho.draws += 1
        return j


#: How much deeper than the budgets left the chunks report their shortlists (see random_pick).
DEPTH = 8


def _pool_from(short, selected: np.ndarray, remaining: np.ndarray):
    """The randomized rule's pool from the chunks' deep shortlists (None when it is not certain).

    Certain when, in every domain d with budget left, every element outside the lists scores
    below the cut's band v_d − τ_d (so the union holds the top rem_d, everything above the cut
    and the whole band), or the domain has nothing outside them; the pool is then
    :func:`~matroidomp.kernels.reference.tolerant_shortlist` of the union.
    """
    idx, score, codes, tol, rest = short
    alive = ~np.isin(idx, selected) & (remaining[codes] > 0)
    idx, score, codes, tol = idx[alive], score[alive], codes[alive], tol[alive]
    none = np.zeros(idx.shape[0], dtype=bool)
    base = reference.shortlist(score, codes, remaining, none)
    cuts = reference.shortlist_cuts(score, codes, remaining, base, tol) if base.shape[0] else []
    cut_of = {d: (v, t) for d, v, t in cuts}
    counts = np.bincount(codes, minlength=remaining.shape[0])
    for d in np.flatnonzero(remaining > 0).tolist():
        if rest[d] == -np.inf:
            continue
        if d not in cut_of or counts[d] < remaining[d] or not rest[d] < cut_of[d][0] - cut_of[d][1]:
            return None
    if not base.shape[0]:
        return base
    return idx[reference.tolerant_members(score, codes, remaining, none, cuts)]
