"""The OMP loop's step operations on a :class:`~matroidomp.distributed._pool.ChunkedPool`.

:class:`DaskSteps` is the ``op`` of :func:`matroidomp._omp.reference_loop` — the single-machine
loop, with its stopping rules, horizon, skip rule and exact refit, runs unchanged on the client;
only the n-sized work moves to the chunks. Per step: the residual directions U_b from the staged
rows (client, |S| × d), one pass over G for ρ (workers), the feasible arg-max reduced over the
chunks with OMP's tie rule, and the new row fetched for the refit's exact column. ρ is a
handle (:class:`Rho`) on the chunks' futures plus the few values the client has seen.
"""

from __future__ import annotations

import numpy as np

from .._omp import exact_column, residual_directions, scale_terms
from ..kernels import omp_loop, reference
from ._pool import ChunkedPool


class Rho:
    """ρ held by the chunks (one future each) and the values of it the client has read."""

    def __init__(self, futures: list):
        self.futures = futures
        self.known: dict[int, float] = {}


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
        rho = Rho(self.pool.residuals(U, self.scale, self._selected(), rem, factor))
        return rho, self.masked_best(rho, rem, absolute, factor)

    def masked_best(self, rho: Rho, remaining, absolute: bool, factor: float) -> int:
        """The feasible arg-max of ρ with OMP's tie rule, reduced over the chunks.

        Global rule (:func:`~matroidomp.kernels.reference.settle_ties`): the lowest index whose
        masked score is ≥ top − tol_best. Chunk b holding the arg-max settles within itself;
        only an earlier chunk whose own maximum reaches that floor is searched again.
        """
        rem = np.asarray(remaining, dtype=np.int64)
        selected = self._selected()
        bests = self.pool.best(rho.futures, selected, rem, factor)
        live = [(q, b) for q, b in enumerate(bests) if b is not None]
        if not live:
            return -1
        top = max(b.top for _, b in live)
        q_best, b_best = next((q, b) for q, b in live if b.top == top)
        floor = top - b_best.tol
        for j, value, root in b_best.values:
            rho.known[j] = value
            self.roots[j] = root
        earlier = [q for q, b in live if q < q_best and b.top >= floor]
        if not earlier:
            return b_best.settled
        for hit in self.pool.first(rho.futures, earlier, floor, selected, rem, factor):
            if hit is not None:
                j, value, root = hit
                rho.known[j] = value
                self.roots[j] = root
                return j
        return b_best.settled

    @staticmethod
    def value(rho: Rho, j: int) -> float:
        return rho.known[j]

    def _fetch(self, j: int) -> tuple:
        """Row j's staged row, c_j and √Q_jj (one row of G comes to the client)."""
        if j not in self.rows:
            u = self.make(self.pool.row(j))
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
        (:func:`~matroidomp.kernels.reference.tolerant_shortlist`, reduced over the chunks)."""
        rem = np.asarray(remaining, dtype=np.int64)
        selected = self._selected()
        idx, score, codes, tol = self.pool.shortlist(rho.futures, selected, rem, factor)
        none = np.zeros(idx.shape[0], dtype=bool)
        cuts = reference.shortlist_cuts(score, codes, rem, reference.shortlist(score, codes, rem, none), tol)
        idx, score, codes = self.pool.members(rho.futures, cuts, selected, rem, factor)
        pool = idx[reference.tolerant_members(score, codes, rem, np.zeros(idx.shape[0], dtype=bool), cuts)]
        return int(pool[omp_loop.uniform_index(np.uint64(key), draw, int(pool.shape[0]))])
