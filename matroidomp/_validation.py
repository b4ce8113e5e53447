"""Input checks shared by every public entry point.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message
that names the argument and the problem, so that bad input never reaches numerical code.
"""

from __future__ import annotations

import numpy as np

_FLOAT_KINDS = "fiub"


def to_numpy(x, name: str) -> np.ndarray:
    """Return ``x`` as a numpy array; torch/cupy arrays are moved to host memory.

    bfloat16 tensors (which numpy cannot represent) are upcast to float32 first.
    """
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__.split(".")[0]
    if module == "torch":
        import torch

        t = x.detach()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        return t.cpu().numpy()
    if module == "cupy":
        return x.get()
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name}: cannot convert object of type {type(x).__name__} to an array") from exc


def input_eps(x) -> float:
    """The relative rounding eps of ``x``'s dtype as the caller gave it (before any upcast).

    float16 and bfloat16 tensors count as such, not as the float32 they are converted to;
    integer, boolean and non-array input counts as float64.
    """
    dtype = getattr(x, "dtype", None)
    if type(x).__module__.split(".")[0] == "torch":
        import torch

        return float(torch.finfo(dtype).eps) if dtype.is_floating_point else float(np.finfo(np.float64).eps)
    try:
        dtype = np.dtype(dtype) if dtype is not None else np.asarray(x).dtype
    except TypeError:
        return float(np.finfo(np.float64).eps)
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else float(np.finfo(np.float64).eps)


def as_float_array(x, name: str, ndim: int, dtype=None, *, finite: bool = True) -> np.ndarray:
    """Validate a real array of the given rank; return it as float32 or float64.

    float16 input is upcast to float32 (half precision cannot accumulate gradient dot products);
    integer and boolean input to float64. Non-finite entries raise, naming the first bad row,
    unless ``finite=False``: then the caller checks them itself (in a pass it makes anyway) and
    calls :func:`check_finite` for the message.
    """
    arr = to_numpy(x, name)
    if arr.dtype == object or arr.dtype.kind not in _FLOAT_KINDS:
        if arr.dtype.kind == "c":
            raise TypeError(f"{name}: complex dtype {arr.dtype} is not supported")
        raise TypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if dtype is None:
        dtype = np.float32 if arr.dtype in (np.float16, np.float32) else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or Inf, naming the first offending row (or entry).

    Fast path: one sum without temporaries (NaN and Inf propagate through it); only when the
    sum is not finite — bad entries, or a legitimate overflow of the sum — is every entry checked.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(arr)):
            return
    finite = np.isfinite(arr)
    if finite.all():
        return
    if arr.ndim == 1:
        i = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{name}: entry {i} is not finite ({arr[i]})")
    rows = np.flatnonzero(~finite.reshape(arr.shape[0], -1).all(axis=1))
    raise ValueError(
        f"{name}: {rows.size} row(s) contain NaN or Inf, first is row {int(rows[0])}"
    )


def check_square(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {arr.shape}")


#: Matrices up to this size are checked entry by entry; larger ones on evenly spaced rows.
_FULL_SYMMETRY_CHECK = 2048


def check_symmetric(arr: np.ndarray, name: str) -> None:
    """Raise unless ``arr`` is symmetric to a dtype-aware tolerance.

    Above 2048 rows only 256 evenly spaced rows are compared with the matching columns, which
    catches a wrong matrix (a similarity that is not a Gram matrix) without reading it twice.
    """
    check_square(arr, name)
    if arr.size == 0:
        return
    n = arr.shape[0]
    rows = slice(None) if n <= _FULL_SYMMETRY_CHECK else np.linspace(0, n - 1, 256).astype(np.int64)
    part, part_t = arr[rows], arr[:, rows].T
    scale = float(np.max(np.abs(part)))
    tol = 1e3 * np.finfo(arr.dtype).eps * max(scale, 1.0)
    asym = float(np.max(np.abs(part - part_t)))
    if asym > tol:
        raise ValueError(f"{name}: matrix is not symmetric (max |A - A^T| = {asym:.3g})")


def check_length(arr: np.ndarray, n: int, name: str, what: str) -> None:
    if arr.shape[0] != n:
        raise ValueError(f"{name}: length {arr.shape[0]} does not match {what} ({n})")


def check_nonnegative_scalar(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a number, got {value!r}") from exc
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name}: expected a finite value >= 0, got {value!r}")
    return v


def make_rng(seed) -> np.random.Generator:
    """A numpy Generator from ``None``, an int, a SeedSequence or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_nonnegative_int(value, name: str) -> int:
    """An int >= 0 (numpy ints and integral floats accepted, bools refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    try:
        v = int(value)
        integral = v == value
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name}: expected an int, got {value!r}") from exc
    if not integral:
        raise TypeError(f"{name}: expected an int, got {value!r}")
    if v < 0:
        raise ValueError(f"{name}: expected an int >= 0, got {v}")
    return v


def check_indices(indices, n: int, name: str = "indices") -> np.ndarray:
    """Integer indices into a pool of ``n``, as a flat int64 array; negative ones are refused."""
    idx = to_numpy(indices, name).reshape(-1)
    if idx.size and idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx[(idx < 0) | (idx >= n)][0])
        raise ValueError(f"{name}: index {bad} is out of range for a pool of {n}")
    return idx


def check_row_norms(G: np.ndarray, name: str) -> None:
    """Raise when a row's squared norm overflows or underflows G's dtype.

    Every Gram entry is bounded by the row norms (|⟨g_i, g_j⟩| ≤ ‖g_i‖‖g_j‖), so finite squared
    norms mean GGᵀ is finite; a nonzero row whose squared norm underflows to 0 or the subnormal
    range would be treated as a zero row. One O(nd) pass.
    """
    if G.size == 0:
        return
    sq = np.einsum("ij,ij->i", G, G)
    info = np.finfo(G.dtype)
    over = np.flatnonzero(~np.isfinite(sq))
    if over.size:
        raise ValueError(
            f"{name}: the squared norm of row {int(over[0])} overflows {G.dtype} "
            f"({over.size} row(s)); rescale the gradients"
        )
    under = np.flatnonzero(sq < info.tiny)
    if under.size:
        under = under[np.any(G[under] != 0, axis=1)]
        if under.size:
            raise ValueError(
                f"{name}: the squared norm of row {int(under[0])} underflows {G.dtype} "
                f"({under.size} row(s)); rescale the gradients"
            )


#: Above this many rows, the Gram matrix checks look at evenly spaced rows only.
_FULL_GRAM_CHECK = 2048


def check_gram(K: np.ndarray, name: str) -> None:
    """Necessary conditions for K to be positive semi-definite: O(n²), or O(256 n) when large.

    A PSD matrix has a nonnegative diagonal and satisfies |K_ij|² ≤ K_ii·K_jj (every 2 × 2
    principal minor is ≥ 0). This catches the usual wrong inputs (a negated Gram matrix, a
    distance matrix, a similarity with a zero diagonal) without an O(n³) eigendecomposition.
    """
    n = K.shape[0]
    if n == 0:
        return
    diag = np.diag(K).astype(np.float64)
    scale = max(float(np.max(np.abs(diag))), 1e-300)
    tol = 1e3 * np.finfo(K.dtype).eps
    neg = np.flatnonzero(diag < -tol * scale)
    if neg.size:
        raise ValueError(
            f"{name}: diagonal entry {int(neg[0])} is negative ({diag[neg[0]]:.3g}); "
            "a Gram matrix is positive semi-definite"
        )
    root = np.sqrt(np.maximum(diag, 0.0))
    rows = np.arange(n) if n <= _FULL_GRAM_CHECK else np.linspace(0, n - 1, 256).astype(np.int64)
    for start in range(0, rows.size, 512):
        r = rows[start:start + 512]
        excess = np.abs(K[r].astype(np.float64)) - root[r, None] * root[None, :] * (1 + tol) - tol * scale
        bad = np.argwhere(excess > 0)
        if bad.size:
            i, j = int(r[bad[0, 0]]), int(bad[0, 1])
            raise ValueError(
                f"{name}: not positive semi-definite: |K[{i}, {j}]| = {abs(float(K[i, j])):.3g} exceeds "
                f"sqrt(K[{i}, {i}] K[{j}, {j}]) = {root[i] * root[j]:.3g}"
            )
