"""A pool of gradients held as a row-chunked dask array, and the passes OMP makes over it.

Chunk q holds rows [lo_q, hi_q) of G. One pass, when the pool is set up, builds the utility of
each chunk with the single-machine constructor (:class:`~matroidomp.QuadraticUtility`: c, the row
scale s_i = 1/‖g_i‖ and Q_ii depend on row i alone, so chunk by chunk they are what the whole
pool's utility holds) and keeps on its worker c, s, √Q_ii and the domain codes of its rows —
O(n) numbers in all; G itself is read again at every step and never held. Each OMP step is then
one pass over G: every chunk forms its residual correlations ρ with the step of one machine
(:func:`matroidomp._omp.dspace_rho` on the numba kernel of the compiled loop), keeps them, and
reports its :class:`Top` — its best few feasible elements under OMP's masked scores
(:func:`matroidomp.kernels.reference.masked_scores`), their rows of G, and a bound on the rest —
from which the client settles the arg-max and the tie rule
(:class:`~matroidomp.distributed._steps.DaskSteps`); later passes over the kept ρ refresh the
lists, answer a tie directly (:func:`chunk_first`) or report the randomized rule's shortlists
(:func:`~matroidomp.kernels.reference.shortlist`, :func:`~matroidomp.kernels.reference.tolerant_members`).
Only O(chunks · rank) numbers and a few rows of G ever reach the client.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np

from .._omp import dspace_rho, scale_terms
from ..kernels import omp_step, reference
from ._cluster import gather


@dataclass
class Chunk:
    """The per-row terms of one chunk of the pool, held on a worker."""

    lo: int
    c: np.ndarray
    row_scale: np.ndarray | None
    root: np.ndarray
    codes: np.ndarray
    blocks: np.ndarray
    sigma: float
    gain: float


def check_pool(G):
    """G as a 2-D dask array with known row chunks, each chunk holding whole rows.

    Row chunks of any sizes are fine (also empty ones); column chunks are merged
    (``rechunk({1: -1})``, lazily) so that a chunk holds complete gradients.

    Raises
    ------
    TypeError
        G is not a dask array.
    ValueError
        G is not 2-D, or its chunk sizes are unknown (NaN).
    """
    if not isinstance(G, da.Array):
        raise TypeError(f"G: expected a row-chunked dask.array.Array, got {type(G).__name__}; "
                        "for an in-memory array use matroidomp.omp / matroidomp.partitionsel")
    if G.ndim != 2:
        raise ValueError(f"G: expected a 2-D array (one gradient per row), got shape {G.shape}")
    if any(math.isnan(size) for sizes in G.chunks for size in sizes):
        raise ValueError("G: the sizes of its chunks are unknown (NaN); call G.compute_chunk_sizes() first")
    return G.rechunk({1: -1}) if len(G.chunks[1]) > 1 else G


def global_rows(message: str, lo: int, hi: int) -> str:
    """A chunk's error message with the rows it names counted from the start of G."""
    text = re.sub(r"\brow (\d+)", lambda m: f"row {lo + int(m.group(1))}", message)
    return f"{text} [chunk of rows {lo}..{hi - 1}]"


def chunk_terms(G, lo: int, codes: np.ndarray, blocks: bool, make, absolute: bool) -> Chunk:
    """Build the chunk's utility with ``make`` and keep its per-row terms, the domain ``codes`` as
    int64 (errors name global rows)."""
    G = np.asarray(G)
    codes = codes.astype(np.int64)
    try:
        u = make(G)
    except ValueError as exc:
        raise ValueError(global_rows(str(exc), lo, lo + int(G.shape[0]))) from None
    root, sigma, gain = scale_terms(np, u.diagonal(), u.c, absolute)
    return Chunk(lo, u.c, u.row_scale, root, codes, codes if blocks else np.zeros_like(codes), sigma, gain)


def chunk_stats(chunk: Chunk) -> tuple[float, float]:
    """(σ, γ) of the chunk (:func:`matroidomp._omp.scale_terms`); the pool's are their maxima."""
    return chunk.sigma, chunk.gain


def _mask(chunk: Chunk, selected: np.ndarray) -> np.ndarray:
    """The chunk's part of the selected-or-excluded mask, from their global indices."""
    n = chunk.c.shape[0]
    local = selected[(selected >= chunk.lo) & (selected < chunk.lo + n)] - chunk.lo
    mask = np.zeros(n, dtype=bool)
    mask[local] = True
    return mask


#: Candidates a chunk reports in a pass: its best feasible elements (and, after a step, their rows).
TOP = 8


@dataclass(frozen=True)
class Top:
    """A chunk's (at most) :data:`TOP` best feasible elements by masked score (descending; ties:
    lowest index) — global indices, masked scores, ρ, √Q_ii, domain codes and, when the pass read
    G, their rows — and ``rest``: every other feasible element of the chunk scores ≤ ``rest``
    (−inf: there is none). Excluding elements or filling domains keeps the bound valid."""

    idx: np.ndarray
    score: np.ndarray
    rho: np.ndarray
    root: np.ndarray
    codes: np.ndarray
    rest: float
    rows: np.ndarray | None


@dataclass(frozen=True)
class Residuals:
    """ρ on a chunk's rows and, after a step, its :class:`Top` under the step's mask."""

    rho: np.ndarray
    top: Top | None = None


def top_of(rho, chunk: Chunk, mask, remaining, absolute: bool, tol, G=None) -> Top:
    """The chunk's :class:`Top` (masked scores of :func:`matroidomp.kernels.reference.masked_scores`)."""
    masked = reference.masked_scores(rho, chunk.codes, remaining, mask, absolute, tol)
    n = int(masked.shape[0])
    m = min(TOP + 1, n)
    cand = np.argpartition(-masked, m - 1)[:m] if m < n else np.arange(n)
    cand = cand[np.lexsort((cand, -masked[cand]))]
    rest = float(masked[cand[TOP]]) if cand.shape[0] > TOP else -np.inf
    keep = cand[:TOP]
    keep = keep[masked[keep] > -np.inf]
    return Top(chunk.lo + keep, masked[keep], rho[keep], chunk.root[keep], chunk.codes[keep], rest,
               None if G is None else np.array(G[keep]))


def chunk_rho(G, chunk: Chunk, U, scale: float, selected, remaining, absolute: bool, factor: float) -> Residuals:
    """ρ on the chunk's rows — the d-space step of :func:`matroidomp._omp.dspace_rho` with the
    numba step kernel (:func:`matroidomp.kernels.omp_step.factor_step`, the contract of the
    reference step and the kernel of the compiled single-machine loop: one pass over the chunk,
    float64 accumulation, ρ of a row independent of the chunking) — and its :class:`Top` with rows.

    (The single-machine loop also shifts ρ of the selected rows by the ridge term; those entries
    are masked and never read, so they are left unshifted here.)
    """
    G = np.asarray(G)
    mask = _mask(chunk, selected)
    tol = chunk.root * factor
    if not G.shape[0]:
        return Residuals(np.zeros(0), top_of(np.zeros(0), chunk, mask, remaining, absolute, tol, G))
    rho, _ = dspace_rho(
        lambda V, c, s: omp_step.factor_step(G, V, chunk.blocks, c, s, chunk.codes, remaining, mask, absolute, tol),
        U, chunk.c, scale, chunk.row_scale,
        lambda r: reference.masked_argmax(r, chunk.codes, remaining, mask, absolute, tol))
    return Residuals(rho, top_of(rho, chunk, mask, remaining, absolute, tol, G))


def chunk_c(chunk: Chunk) -> Residuals:
    """ρ before the first step: c."""
    return Residuals(chunk.c)


def chunk_top(res: Residuals, chunk: Chunk, selected, remaining, absolute: bool, factor: float) -> Top:
    """The chunk's :class:`Top` under the current mask (a pass over ρ; no rows)."""
    return top_of(res.rho, chunk, _mask(chunk, selected), remaining, absolute, chunk.root * factor)


def step_top(res: Residuals) -> Top:
    """The :class:`Top` a step computed with ρ."""
    return res.top


def chunk_first(res: Residuals, chunk: Chunk, floor: float, selected, remaining, absolute: bool, factor: float):
    """(global index, ρ, √Q_ii) of the chunk's lowest-index feasible element scoring ≥ ``floor``, or None."""
    rho = res.rho
    if not rho.shape[0]:
        return None
    tol = chunk.root * factor
    masked = reference.masked_scores(rho, chunk.codes, remaining, _mask(chunk, selected), absolute, tol)
    i = reference.first_at_least(masked, floor)
    return None if i < 0 else (chunk.lo + i, float(rho[i]), float(chunk.root[i]))


def chunk_shortlist(res: Residuals, chunk: Chunk, selected, remaining, absolute: bool, factor: float,
                    depth: int = 0):
    """The chunk's shortlist, ``depth`` deeper: its top remaining[d] + depth feasible elements of
    each domain d with budget left, by score (:func:`matroidomp.kernels.reference.shortlist`).

    Returns (global indices, scores, codes, tolerances, rest) with rest[d] the largest score of
    the chunk's other feasible elements of domain d (−inf: none).
    """
    tol = chunk.root * factor
    score = reference.feasible_scores(res.rho, absolute, tol)
    mask = _mask(chunk, selected)
    deeper = np.where(remaining > 0, remaining + depth, 0)
    pos = reference.shortlist(score, chunk.codes, deeper, mask)
    others = reference.feasible(chunk.codes, remaining, mask)
    others[pos] = False
    rest = np.full(remaining.shape[0], -np.inf)
    np.maximum.at(rest, chunk.codes[others], score[others])
    return chunk.lo + pos, score[pos], chunk.codes[pos], tol[pos], rest[None, :]


def chunk_members(res: Residuals, chunk: Chunk, cuts, selected, remaining, absolute: bool, factor: float):
    """The chunk's tolerant members of the global ``cuts``: (global indices, scores, codes)."""
    score = reference.feasible_scores(res.rho, absolute, chunk.root * factor)
    pos = reference.tolerant_members(score, chunk.codes, remaining, _mask(chunk, selected), cuts)
    return chunk.lo + pos, score[pos], chunk.codes[pos]


def _union(parts):
    """The per-chunk tuples of arrays joined into one tuple (chunk order = global index order)."""
    return tuple(np.concatenate(column) for column in zip(*parts))


class ChunkedPool:
    """The chunks of G on the workers of ``client`` and the passes over them.

    Parameters
    ----------
    G : dask array (n, d)
        Checked by :func:`check_pool`.
    make : callable
        ``make(G_chunk) -> QuadraticUtility``, picklable (run on the workers).
    codes : (n,) int64 numpy array
        The matroid's domain codes.
    blocks : bool
        Block-diagonal coupling by domain (the residual directions are per domain).
    absolute : bool
        Signed weights (scores are |ρ|).
    client : distributed.Client
    """

    def __init__(self, G, make, codes: np.ndarray, blocks: bool, absolute: bool, client):
        self.G = G
        self.client = client
        self.absolute = absolute
        sizes = [int(s) for s in G.chunks[0]]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.blocks = G.to_delayed(optimize_graph=True).ravel().tolist()
        # the codes travel once, inside the set-up graph (so that a lost chunk can be rebuilt from
        # its lineage), in their smallest dtype: one byte a row for up to 256 domains
        small = codes.astype(np.min_scalar_type(int(codes.max(initial=0))))
        terms = [dask.delayed(chunk_terms, pure=True)(blk, int(lo), small[lo:hi], blocks, make, absolute)
                 for blk, lo, hi in zip(self.blocks, self.starts[:-1], self.starts[1:])]
        self.chunks = client.compute(terms)
        stats = gather(client, client.map(chunk_stats, self.chunks))
        self.sigma = max((s for s, _ in stats), default=0.0)
        self.gain = max((g for _, g in stats), default=0.0)
        self.passes = 1

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def initial(self) -> list:
        """ρ before the first step (c), as futures per chunk."""
        return self.client.map(chunk_c, self.chunks)

    def residuals(self, U, scale: float, selected, remaining, factor: float) -> list:
        """One pass over G: ρ of every chunk, kept on the workers (futures per chunk)."""
        self.passes += 1
        tasks = [dask.delayed(chunk_rho, pure=True)(blk, ch, U, scale, selected, remaining, self.absolute, factor)
                 for blk, ch in zip(self.blocks, self.chunks)]
        return self.client.compute(tasks)

    def _map(self, fn, rho, **kwargs):
        """``fn(ρ_q, chunk_q, **kwargs)`` on every chunk, where ρ_q lives; the results on the client."""
        return gather(self.client, self.client.map(fn, rho, self.chunks, absolute=self.absolute, **kwargs))

    def tops(self, rho, selected, remaining, factor: float) -> list:
        """Every chunk's :class:`Top` under the current mask (a pass over ρ)."""
        return self._map(chunk_top, rho, selected=selected, remaining=remaining, factor=factor)

    def step_tops(self, rho) -> list:
        """The :class:`Top` lists the step that computed ρ made (with rows of G)."""
        return gather(self.client, self.client.map(step_top, rho))

    def first(self, rho, chunk_ids, floor: float, selected, remaining, factor: float):
        """:func:`chunk_first` on the chunks ``chunk_ids`` (in their order)."""
        futures = [self.client.submit(chunk_first, rho[q], self.chunks[q], floor, selected, remaining, self.absolute,
                                      factor) for q in chunk_ids]
        return gather(self.client, futures)

    def shortlist(self, rho, selected, remaining, factor: float, depth: int = 0):
        """The union of the chunks' shortlists (:func:`chunk_shortlist`): (global indices, scores,
        codes, tolerances, the largest score outside them per domain)."""
        idx, score, codes, tol, rest = _union(self._map(chunk_shortlist, rho, selected=selected, remaining=remaining,
                                                        factor=factor, depth=depth))
        return idx, score, codes, tol, rest.max(axis=0, initial=-np.inf)

    def members(self, rho, cuts, selected, remaining, factor: float):
        """The union of the chunks' tolerant members of ``cuts``: (global indices, scores, codes)."""
        return _union(self._map(chunk_members, rho, cuts=cuts, selected=selected, remaining=remaining, factor=factor))

    def rows(self, idx) -> dict:
        """{j: row j of G} for the indices ``idx``, on the client (one computation)."""
        idx = np.unique(np.asarray(idx, dtype=np.int64))
        if not idx.shape[0]:
            return {}
        block = np.asarray(gather(self.client, self.client.compute(self.G[idx])))
        return dict(zip(idx.tolist(), block))
