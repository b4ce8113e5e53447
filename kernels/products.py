"""Matrix–vector products of float32 data accumulated in float64 (numba, CPU, one pass).

    out_i = Σ_l float64(X_il)·float64(v_l)         (products of float32 numbers are exact in float64)
    sq_i  = Σ_l float64(X_il)²                      (:func:`row_stats`, in the same pass)

This is how the utilities compute c = G b and c = G ā from float32 gradients: a float32 sgemv
would round c to float32, and with c off range(Q) at rounding level, an exact refit would take a
dependent gradient for an unbounded direction (GradMatch is never unbounded). One read of X like
an sgemv, no float64 copy of it. Serial on purpose: it runs right before the Gram GEMM, and on a
few cores numba's OpenMP threads and OpenBLAS's then spin against each other (measured: the whole
OMP call at n = 256, d = 8192 took 3.0× the GEMM with these rows in parallel, 1.5× serial).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"reassoc", "contract"})
def _rows(X, v, out, lo, hi):
    for i in range(lo, hi):
        row = X[i]
        acc = 0.0
        for l in range(row.shape[0]):
            acc += np.float64(row[l]) * v[l]
        out[i] = acc


@njit(cache=True, fastmath={"reassoc", "contract"})
def _stats_rows(X, v, sq, out, lo, hi):
    for i in range(lo, hi):
        row = X[i]
        acc = 0.0
        nrm = 0.0
        for l in range(row.shape[0]):
            x = np.float64(row[l])
            acc += x * v[l]
            nrm += x * x
        out[i] = acc
        sq[i] = nrm


def row_stats(X: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(‖x_i‖², X v) in float64 from one read of X — what a utility needs of G (row norms for the
    normalisation and range checks, c = Gb or Gā), and a finiteness check: a NaN or Inf entry
    makes its row's squared norm non-finite (float32 squares cannot overflow float64).

    Examples
    --------
    >>> import numpy as np
    >>> sq, c = row_stats(np.array([[3.0, 4.0], [1.0, 0.0]], dtype=np.float32), np.array([1.0, 2.0]))
    >>> sq.tolist(), c.tolist()
    ([25.0, 1.0], [11.0, 1.0])
    """
    X = np.ascontiguousarray(X)
    v = np.ascontiguousarray(v, dtype=np.float64)
    if X.ndim != 2 or v.shape != (X.shape[1],):
        raise ValueError(f"row_stats: shapes {X.shape} and {v.shape} do not match")
    sq = np.empty(X.shape[0])
    out = np.empty(X.shape[0])
    _stats_rows(X, v, sq, out, 0, X.shape[0])
    return sq, out


def matvec64(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """X v in float64 for a C-contiguous float32/float64 X (n × d) and a vector v (d,).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1e8, 1.0], [3.0, 4.0]], dtype=np.float32)
    >>> matvec64(X, np.array([1.0, 1.0])).tolist()  # float32 would round 1e8 + 1 to 1e8
    [100000001.0, 7.0]
    """
    X = np.ascontiguousarray(X)
    v = np.ascontiguousarray(v, dtype=np.float64)
    if X.ndim != 2 or v.shape != (X.shape[1],):
        raise ValueError(f"matvec64: shapes {X.shape} and {v.shape} do not match")
    out = np.empty(X.shape[0])
    _rows(X, v, out, 0, X.shape[0])
    return out
