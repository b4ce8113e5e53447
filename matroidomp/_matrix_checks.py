"""Checks that a given Gram matrix K is symmetric positive semi-definite, in K's namespace.

* symmetry: max|K − Kᵀ| ≤ 10³·eps·max(1, max|K|), entry by entry up to 2,048 rows, on 256
  evenly spaced rows (against the matching columns) above — a wrong matrix is caught without
  reading K twice;
* the necessary conditions of a PSD matrix: K_ii ≥ 0 and |K_ij| ≤ √(K_ii K_jj) (every 2 × 2
  principal minor ≥ 0), O(n²) or O(256 n), naming the offending entry;
* PSD itself: K + δI has a Cholesky factor, δ = 10·n·eps·max K_ii (O(n³/3); LAPACK potrf for
  numpy in K's precision, ``torch.linalg.cholesky_ex`` on the tensor's device, cupy's Cholesky).

``eps`` is the relative rounding of the input as the caller gave it (a Gram matrix given in half
precision is PSD only up to eps(float16)).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import get_lapack_funcs

from ._array import Backend, dtype_name, float_eps

#: Matrices up to this size are checked entry by entry; larger ones on evenly spaced rows.
FULL_CHECK = 2048


def _rows(n: int) -> np.ndarray:
    return np.arange(n) if n <= FULL_CHECK else np.linspace(0, n - 1, 256).astype(np.int64)


def _index(rows: np.ndarray, backend: Backend):
    return rows if backend.is_numpy else backend.asarray(rows, "int64")


def check_symmetric(K, name: str, backend: Backend) -> None:
    """Raise unless K is square and symmetric to a dtype-aware tolerance."""
    xp = backend.xp
    if K.ndim != 2 or int(K.shape[0]) != int(K.shape[1]):
        raise ValueError(f"{name}: expected a square matrix, got shape {tuple(K.shape)}")
    n = int(K.shape[0])
    if n == 0:
        return
    idx = _index(_rows(n), backend)
    part = xp.astype(xp.take(K, idx, axis=0), xp.float64)
    part_t = xp.astype(xp.take(K, idx, axis=1), xp.float64).T
    scale = float(xp.max(xp.abs(part)))
    tol = 1e3 * float_eps(K) * max(scale, 1.0)
    asym = float(xp.max(xp.abs(part - part_t)))
    if asym > tol:
        raise ValueError(f"{name}: matrix is not symmetric (max |A - A^T| = {asym:.3g})")


def check_gram(K, name: str, backend: Backend) -> None:
    """Necessary conditions for K to be PSD: a nonnegative diagonal and |K_ij| ≤ √(K_ii K_jj)."""
    xp = backend.xp
    n = int(K.shape[0])
    if n == 0:
        return
    diag = xp.astype(np.diagonal(K) if backend.is_numpy else xp.linalg.diagonal(K), xp.float64)
    scale = max(float(xp.max(xp.abs(diag))), 1e-300)
    tol = 1e3 * float_eps(K)
    neg = diag < -tol * scale
    if bool(xp.any(neg)):
        i = int(xp.argmax(xp.astype(neg, xp.int8)))
        raise ValueError(f"{name}: diagonal entry {i} is negative ({float(diag[i]):.3g}); "
                         "a Gram matrix is positive semi-definite")
    root = xp.sqrt(xp.clip(diag, 0.0, None)) if hasattr(xp, "clip") else xp.sqrt(xp.where(diag > 0, diag, 0.0))
    rows = _rows(n)
    for start in range(0, rows.size, 512):
        r = rows[start:start + 512]
        ri = _index(r, backend)
        block = xp.abs(xp.astype(xp.take(K, ri, axis=0), xp.float64))
        bound = xp.reshape(xp.take(root, ri, axis=0), (-1, 1)) * xp.reshape(root, (1, -1)) * (1 + tol) + tol * scale
        over = xp.reshape(block - bound > 0, (-1,))
        if bool(xp.any(over)):
            flat = int(xp.argmax(xp.astype(over, xp.int8)))  # the first offending entry, row by row
            i, j = int(r[flat // n]), flat % n
            value = abs(float(K[i, j]))
            raise ValueError(f"{name}: not positive semi-definite: |K[{i}, {j}]| = {value:.3g} exceeds "
                             f"sqrt(K[{i}, {i}] K[{j}, {j}]) = {float(root[i]) * float(root[j]):.3g}")


def check_psd(K, name: str, eps: float, backend: Backend) -> None:
    """Raise unless K + δI has a Cholesky factor, δ = 10·n·eps·max|K_ii| (O(n³/3))."""
    xp = backend.xp
    n = int(K.shape[0])
    if n == 0:
        return
    diag = np.diagonal(K) if backend.is_numpy else xp.linalg.diagonal(K)
    delta = 10 * n * eps * max(float(xp.max(xp.abs(xp.astype(diag, xp.float64)))), 1e-300)
    if backend.is_numpy:
        shifted = np.array(K, dtype=np.float32 if K.dtype == np.float32 else np.float64, order="F")
        shifted.flat[:: n + 1] += delta
        potrf, = get_lapack_funcs(("potrf",), (shifted,))
        info = potrf(shifted, lower=0, overwrite_a=1, clean=0)[1]
        failed = info > 0
    elif backend.is_torch:
        import torch

        dtype = torch.float64 if dtype_name(K) == "float64" else torch.float32
        shifted = K.to(dtype) + delta * torch.eye(n, dtype=dtype, device=K.device)
        failed = int(torch.linalg.cholesky_ex(shifted).info) > 0
    else:  # cupy and others: a Cholesky that reports failure as NaN
        shifted = xp.astype(K, xp.float64) + delta * xp.eye(n, dtype=xp.float64, device=backend.device)
        factor = xp.linalg.cholesky(shifted)
        failed = not bool(xp.all(xp.isfinite(factor)))
    if failed:
        raise ValueError(f"{name}: matrix is not positive semi-definite")
