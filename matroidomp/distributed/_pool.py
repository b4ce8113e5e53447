"""A pool of gradients held as a row-chunked dask array, and the passes OMP makes over it.

Chunk q holds rows [lo_q, hi_q) of G. One pass, when the pool is set up, builds the utility of
each chunk with the single-machine constructor (:class:`~matroidomp.QuadraticUtility`: c, the row
scale s_i = 1/‖g_i‖ and Q_ii depend on row i alone, so chunk by chunk they are what the whole
pool's utility holds) and keeps on its worker c, s, √Q_ii and the domain codes of its rows —
O(n) numbers in all, G itself is read again at every step and never held. Each OMP step is then
one pass over G: every chunk forms its residual correlations ρ with the step of one machine
(:func:`matroidomp._omp.dspace_rho` on the numba kernel of the compiled loop) and keeps them, and a second, n-sized pass over ρ reports
its feasible arg-max under the tie rule (:func:`matroidomp.kernels.reference.masked_scores`,
:func:`~matroidomp.kernels.reference.first_at_least`). The randomized rule's shortlist is
reduced the same way (:func:`~matroidomp.kernels.reference.shortlist`,
:func:`~matroidomp.kernels.reference.shortlist_cuts`,
:func:`~matroidomp.kernels.reference.tolerant_members`): only O(chunks · rank) numbers and the
selected rows (|S| × d) ever reach the client.
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


def chunk_rho(G, chunk: Chunk, U, scale: float, selected, remaining, absolute: bool, factor: float) -> np.ndarray:
    """ρ on the chunk's rows: the d-space step of :func:`matroidomp._omp.dspace_rho` with the
    numba step kernel (:func:`matroidomp.kernels.omp_step.factor_step`, the contract of the
    reference step and the kernel of the compiled single-machine loop: one pass over the chunk,
    float64 accumulation, ρ of a row independent of the chunking).

    (The single-machine loop also shifts ρ of the selected rows by the ridge term; those entries
    are masked and never read, so they are left unshifted here.)
    """
    G = np.asarray(G)
    if not G.shape[0]:
        return np.zeros(0)
    mask = _mask(chunk, selected)
    tol = chunk.root * factor
    rho, _ = dspace_rho(
        lambda V, c, s: omp_step.factor_step(G, V, chunk.blocks, c, s, chunk.codes, remaining, mask, absolute, tol),
        U, chunk.c, scale, chunk.row_scale,
        lambda r: reference.masked_argmax(r, chunk.codes, remaining, mask, absolute, tol))
    return rho


def chunk_c(chunk: Chunk) -> np.ndarray:
    """ρ before the first step: c."""
    return chunk.c


@dataclass(frozen=True)
class Best:
    """A chunk's feasible arg-max (global index, masked score, its tolerance) and its settled
    pick (the lowest index within that tolerance of it), with ρ and √Q_ii at both."""

    top: float
    best: int
    tol: float
    settled: int
    values: tuple


def chunk_best(rho, chunk: Chunk, selected, remaining, absolute: bool, factor: float) -> Best | None:
    """The chunk's :class:`Best` (None when nothing in it is feasible)."""
    if not rho.shape[0]:
        return None
    tol = chunk.root * factor
    masked = reference.masked_scores(rho, chunk.codes, remaining, _mask(chunk, selected), absolute, tol)
    best = int(np.argmax(masked))
    if not masked[best] > -np.inf:
        return None
    settled = reference.first_at_least(masked, masked[best] - tol[best])
    return Best(float(masked[best]), chunk.lo + best, float(tol[best]), chunk.lo + settled,
                ((chunk.lo + best, float(rho[best]), float(chunk.root[best])),
                 (chunk.lo + settled, float(rho[settled]), float(chunk.root[settled]))))


def chunk_first(rho, chunk: Chunk, floor: float, selected, remaining, absolute: bool, factor: float):
    """(global index, ρ, √Q_ii) of the chunk's lowest-index feasible element scoring ≥ ``floor``, or None."""
    if not rho.shape[0]:
        return None
    tol = chunk.root * factor
    masked = reference.masked_scores(rho, chunk.codes, remaining, _mask(chunk, selected), absolute, tol)
    i = reference.first_at_least(masked, floor)
    return None if i < 0 else (chunk.lo + i, float(rho[i]), float(chunk.root[i]))


def chunk_shortlist(rho, chunk: Chunk, selected, remaining, absolute: bool, factor: float):
    """The chunk's shortlist (its top remaining[d] feasible elements of each domain d by score):
    (global indices, scores, codes, tolerances)."""
    tol = chunk.root * factor
    score = reference.feasible_scores(rho, absolute, tol)
    pos = reference.shortlist(score, chunk.codes, remaining, _mask(chunk, selected))
    return chunk.lo + pos, score[pos], chunk.codes[pos], tol[pos]


def chunk_members(rho, chunk: Chunk, cuts, selected, remaining, absolute: bool, factor: float):
    """The chunk's tolerant members of the global ``cuts``: (global indices, scores, codes)."""
    score = reference.feasible_scores(rho, absolute, chunk.root * factor)
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

    def best(self, rho, selected, remaining, factor: float):
        """Every chunk's :class:`Best` (None where nothing is feasible)."""
        return self._map(chunk_best, rho, selected=selected, remaining=remaining, factor=factor)

    def first(self, rho, chunk_ids, floor: float, selected, remaining, factor: float):
        """:func:`chunk_first` on the chunks ``chunk_ids`` (in their order)."""
        futures = [self.client.submit(chunk_first, rho[q], self.chunks[q], floor, selected, remaining, self.absolute,
                                      factor) for q in chunk_ids]
        return gather(self.client, futures)

    def shortlist(self, rho, selected, remaining, factor: float):
        """The union of the chunks' shortlists: (global indices, scores, codes, tolerances)."""
        return _union(self._map(chunk_shortlist, rho, selected=selected, remaining=remaining, factor=factor))

    def members(self, rho, cuts, selected, remaining, factor: float):
        """The union of the chunks' tolerant members of ``cuts``: (global indices, scores, codes)."""
        return _union(self._map(chunk_members, rho, cuts=cuts, selected=selected, remaining=remaining, factor=factor))

    def row(self, j: int) -> np.ndarray:
        """Row j of G (1 × d) on the client."""
        return np.asarray(gather(self.client, self.client.compute(self.G[j:j + 1])))
