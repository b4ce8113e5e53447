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


def as_float_array(x, name: str, ndim: int, dtype=None) -> np.ndarray:
    """Validate a real array of the given rank; return it as float32 or float64.

    float16 input is upcast to float32 (half precision cannot accumulate gradient dot products);
    integer and boolean input to float64. Non-finite entries raise, naming the first bad row.
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
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or Inf, naming the first offending row (or entry)."""
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


def check_symmetric(arr: np.ndarray, name: str) -> None:
    """Raise unless ``arr`` is symmetric to a dtype-aware tolerance."""
    check_square(arr, name)
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    tol = 1e3 * np.finfo(arr.dtype).eps * max(scale, 1.0)
    asym = float(np.max(np.abs(arr - arr.T))) if arr.size else 0.0
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
