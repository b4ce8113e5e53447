"""Diagnostics of a selected batch: conflicting gradient pairs and per-domain coverage."""

from __future__ import annotations

import numpy as np

from ._array import as_backend, check_finite, check_real, detect, to_host
from ._validation import check_indices as _check_indices
from ._matroid import encode_labels


def conflicting_pairs(G, indices) -> int:
    """Number of conflicting pairs, #{i < j in S : ⟨g_i, g_j⟩ < 0}: selected gradients that pull apart.

    S is the *set* of ``indices``: a repeated index counts once (as in :func:`domain_coverage`),
    so a duplicate never adds pairs. O(|S|² d) from the selected rows only, on G's device (a
    CUDA tensor stays there; one number comes back).

    Parameters
    ----------
    G : array-like of shape (n, d)
        One gradient per row, finite.
    indices : array-like of int
        The selection, indices in [0, n).

    Returns
    -------
    int
        The number of unordered pairs of distinct selected rows with a negative inner product
        (computed in float64).

    Raises
    ------
    TypeError
        When ``indices`` are not integers or ``G`` is not a real numeric array.
    ValueError
        When an index is out of range, or ``G`` is not 2-D or has a non-finite entry.

    Examples
    --------
    >>> G = np.array([[1.0, 0.0], [-1.0, 0.5], [0.0, 1.0]])
    >>> conflicting_pairs(G, [0, 1, 2])
    1
    >>> conflicting_pairs(G, [0, 1, 1])
    1
    """
    backend = detect(G=G)
    xp = backend.xp
    Ga = as_backend(G, backend, "G")
    check_real(Ga, "G", 2)
    check_finite(Ga, "G", backend)  # a NaN anywhere in G is a bug upstream: say so
    idx = np.unique(_check_indices(to_host(indices), int(Ga.shape[0])))
    rows = xp.astype(xp.take(Ga, idx if backend.is_numpy else backend.asarray(idx, "int64"), axis=0), xp.float64)
    if idx.size < 2:
        return 0
    inner = xp.matmul(rows, rows.T)  # on G's device; one number comes back
    pos = xp.arange(idx.size, **({} if backend.is_numpy else {"device": backend.device}))
    upper = xp.reshape(pos, (-1, 1)) < xp.reshape(pos, (1, -1))
    return int(xp.sum(xp.astype((inner < 0) & upper, xp.int64)))


def domain_coverage(labels, indices) -> dict:
    """Share of each domain's pool that was selected: {d: |S ∩ domain d| / n_d}; 0 means starved.

    S is the *set* of ``indices`` (a repeated index counts once).

    Parameters
    ----------
    labels : array-like of shape (n,)
        Domain id of every pool element (as for :class:`~matroidomp.PartitionMatroid`).
    indices : array-like of int
        The selection, indices in [0, n).

    Returns
    -------
    dict
        Every domain (a Python int or str, in sorted order) to a float in [0, 1].

    Raises
    ------
    TypeError
        When ``indices`` are not integers, or the labels mix numbers and strings.
    ValueError
        When an index is out of range, or a label is missing.

    Examples
    --------
    >>> domain_coverage(["math", "math", "chem", "code"], [0, 2, 2])
    {'chem': 1.0, 'code': 0.0, 'math': 0.5}
    """
    domains, codes = encode_labels(labels)
    idx = _check_indices(indices, codes.shape[0])
    pool = np.bincount(codes, minlength=len(domains))
    chosen = np.bincount(codes[np.unique(idx)], minlength=len(domains))  # a repeat is one element
    return {d.item(): float(c / p) for d, c, p in zip(domains, chosen, pool)}
