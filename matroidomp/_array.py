"""Array namespaces and devices: where the caller's arrays live, and computing there.

For array arguments x₁, …, x_m (numpy, torch, cupy — anything array-api-compat knows)

    namespace(x₁, …, x_m) = their one array namespace     (two frameworks → TypeError)
    device(x₁, …, x_m)    = their one device               (two devices    → ValueError)

Plain Python sequences and scalars are not arrays and adopt the others' framework; with no array
argument at all the backend is numpy. Labels (``domains``) and matroids are host metadata.

Everything here computes in the arrays' own namespace on their device — validation (dtype,
shape, finiteness naming the first bad row), row norms, matrix-vector products and the Gram
matrix — so that a utility built from CUDA tensors never leaves the GPU; only scalars and
O(k²) small blocks come back to the host. Half-precision input (float16, bfloat16) is read in
row blocks and accumulated in float32 (bounded scratch, no float32 copy of the whole matrix); on
the host, numpy float16 is upcast to float32 once, as before.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import array_api_compat
import numpy as np

#: Row blocks of about this many entries bound the scratch of half-precision products.
BLOCK_ENTRIES = 1 << 22


def _framework(x) -> str:
    return type(x).__module__.split(".")[0]


def dtype_name(x) -> str:
    """'float32', 'bfloat16', 'int64', … whatever the namespace."""
    return _dtype_name(x.dtype)


@functools.lru_cache(maxsize=64)
def _dtype_name(dtype) -> str:  # str(numpy dtype) costs ~1 µs and runs several times per solver call
    return str(dtype).split(".")[-1]


def is_low_precision(x) -> bool:
    return dtype_name(x) in ("float16", "bfloat16")


@dataclass(frozen=True)
class Backend:
    """An array namespace (array-api-compat's wrapper) and a device within it."""

    xp: object
    device: object

    @property
    def is_numpy(self) -> bool:
        return array_api_compat.is_numpy_namespace(self.xp)

    @property
    def is_torch(self) -> bool:
        return array_api_compat.is_torch_namespace(self.xp)

    @property
    def is_cupy(self) -> bool:
        return array_api_compat.is_cupy_namespace(self.xp)

    @property
    def is_cuda(self) -> bool:
        return self.is_cupy or (self.is_torch and getattr(self.device, "type", None) == "cuda")

    @property
    def is_host(self) -> bool:
        """numpy, or torch on the CPU: the host kernels can read these arrays in place."""
        return self.is_numpy or (self.is_torch and getattr(self.device, "type", None) == "cpu")

    def asarray(self, arr, dtype: str | None = None):
        """A host (numpy) array or number as an array of this namespace on this device."""
        if self.is_numpy:
            return np.asarray(arr) if dtype is None else np.asarray(arr, dtype=dtype)
        arr = np.ascontiguousarray(arr)
        return self.xp.asarray(arr, dtype=None if dtype is None else getattr(self.xp, dtype), device=self.device)

    def zeros(self, shape, dtype: str):
        return self.xp.zeros(shape, dtype=getattr(self.xp, dtype), device=self.device)

    def selection(self, result):
        """A :class:`~matroidomp.SelectionResult` with ``indices`` and ``weights`` in this backend."""
        if self.is_numpy:
            return result
        return dataclasses.replace(result, indices=self.asarray(to_host(result.indices), "int64"),
                                   weights=self.asarray(to_host(result.weights), "float64"))

    def fields(self, result, *names: str):
        """A dataclass result with the named float fields in this backend (e.g. an NNQP's ``w``)."""
        if self.is_numpy:
            return result
        return dataclasses.replace(result, **{n: self.asarray(getattr(result, n), "float64") for n in names
                                              if getattr(result, n) is not None})


NUMPY = Backend(array_api_compat.array_namespace(np.zeros(0)), "cpu")


def is_array(x) -> bool:
    return x is not None and array_api_compat.is_array_api_obj(x) and not isinstance(x, np.generic)


def detect(**arrays) -> Backend:
    """The backend shared by the named arguments that are arrays (``None`` and lists are skipped).

    Raises TypeError when two arguments come from different frameworks (say a torch ``G`` with
    a numpy ``b``) and ValueError when they sit on different devices, naming both arguments.
    """
    named = [(name, x) for name, x in arrays.items() if is_array(x)]
    if not named:
        return NUMPY
    first_name, first = named[0]
    xp = array_api_compat.array_namespace(first)
    dev = array_api_compat.device(first)
    for name, x in named[1:]:
        if array_api_compat.array_namespace(x) is not xp:
            raise TypeError(
                f"{name} is a {_framework(x)} array but {first_name} is a {_framework(first)} array: "
                "pass every array argument from one framework"
            )
        if array_api_compat.device(x) != dev:
            raise ValueError(
                f"{name} is on {array_api_compat.device(x)} but {first_name} is on {dev}: "
                "pass every array argument on one device"
            )
    return Backend(xp, dev)


def to_host(x) -> np.ndarray:
    """``x`` as a numpy array (a view for numpy and CPU torch; a copy from a device).

    Callers use it for small arrays only (indices, a |S| × |S| block, per-domain counts) — or once,
    documented, where a host kernel must read a device array.
    """
    if isinstance(x, np.ndarray):
        return x
    if _framework(x) == "torch":
        t = x.detach()
        if is_low_precision(t):
            t = t.float()
        return t.cpu().numpy()
    if _framework(x) == "cupy":
        return x.get()
    return np.asarray(x)


def host_views(backend_name: str, arrays: Backend, *xs):
    """The arrays as the compiled host kernels will read them: for the ``'numba'`` backend on
    float32/float64 torch CPU tensors, zero-copy numpy views; anything else unchanged.

    So that a utility meant for the host path is built on numpy from the start (its one pass over
    G runs in the numba kernel), while ``backend='torch'`` never converts a tensor. Half-precision
    tensors stay tensors: their tolerances (PSD check, ties) follow their own eps.
    """
    if backend_name != "numba" or not (arrays.is_torch and arrays.is_host):
        return xs
    return tuple(to_host(x) if is_array(x) and not is_low_precision(x) else x for x in xs)


def as_backend(x, backend: Backend, name: str):
    """``x`` (an array or a sequence) as an array of ``backend``; a host array goes to the device once."""
    if is_array(x):
        return x if backend.is_numpy or array_api_compat.array_namespace(x) is backend.xp else \
            backend.asarray(to_host(x))
    try:
        host = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name}: cannot convert object of type {type(x).__name__} to an array") from exc
    return host if backend.is_numpy else backend.asarray(host)


def check_real(x, name: str, ndim: int) -> None:
    """Raise unless ``x`` is a real numeric array of rank ``ndim`` (names the argument)."""
    kind = dtype_name(x)
    if kind.startswith("complex"):
        raise TypeError(f"{name}: complex dtype {kind} is not supported")
    if not (kind.startswith(("float", "int", "uint", "bfloat")) or kind == "bool"):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {tuple(x.shape)}")


def float_array(x, name: str, ndim: int, backend: Backend, *, float64: bool = False, finite: bool = True):
    """Validate a real array of rank ``ndim`` in ``backend``; return it as a float array there.

    float32 and float64 stay as they are (float64 when ``float64``); integers and booleans become
    float64. float16/bfloat16: upcast to float32 on the host (numpy) as before; on a device they
    are kept (read in blocks and accumulated in float32 by the functions below) unless ``float64``.
    NaN or Inf raise, naming the first bad row (entry) — unless ``finite=False``: the caller then
    checks finiteness itself in a pass it makes anyway (:func:`row_stats`).
    """
    x = as_backend(x, backend, name)
    check_real(x, name, ndim)
    xp = backend.xp
    kind = dtype_name(x)
    if float64:
        x = xp.astype(x, xp.float64)
    elif kind.startswith(("int", "uint")) or kind == "bool":
        x = xp.astype(x, xp.float64)
    elif kind in ("float16", "bfloat16") and backend.is_host:
        x = xp.astype(x, xp.float32)
    if backend.is_numpy:
        x = np.ascontiguousarray(x)
    elif backend.is_torch:
        x = x.detach().contiguous()
    if finite:
        check_finite(x, name, backend)
    return x


def row_stats(X, v, backend: Backend):
    """(‖x_i‖², X v), both float64, from one read of X (numpy: the numba kernel
    :func:`matroidomp.kernels.products.row_stats`; other namespaces: row blocks on the device).
    A non-finite entry shows as a non-finite squared norm of its row."""
    if backend.is_numpy:
        from .kernels.products import row_stats as kernel

        return kernel(X, np.asarray(v, dtype=np.float64))
    return sq_row_norms(X, backend), matvec(X, v, backend)


def check_finite(x, name: str, backend: Backend) -> None:
    """Raise if ``x`` holds NaN or Inf, naming the first offending row (or entry).

    Fast path: one float64 sum (NaN and Inf propagate through it, and float64 does not overflow
    on finite half- or single-precision data); only when it is not finite is every entry checked.
    """
    xp = backend.xp
    if math.prod(x.shape) == 0:
        return
    if backend.is_numpy:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(x)):
                return
    elif bool(xp.isfinite(xp.sum(xp.astype(x, xp.float64)))):
        return
    finite = xp.isfinite(x)
    if bool(xp.all(finite)):
        return
    if x.ndim == 1:
        i = int(xp.argmax(xp.astype(~finite, xp.int8)))
        raise ValueError(f"{name}: entry {i} is not finite ({float(x[i])})")
    bad_rows = ~xp.all(xp.reshape(finite, (x.shape[0], -1)), axis=1)
    count = int(xp.sum(xp.astype(bad_rows, xp.int64)))
    first = int(xp.argmax(xp.astype(bad_rows, xp.int8)))
    raise ValueError(f"{name}: {count} row(s) contain NaN or Inf, first is row {first}")


def _row_blocks(X, entries: int = BLOCK_ENTRIES):
    step = max(1, entries // max(int(X.shape[1]), 1))
    for lo in range(0, int(X.shape[0]), step):
        yield lo, min(lo + step, int(X.shape[0]))


def sq_row_norms(X, backend: Backend):
    """‖x_i‖² in float64 for every row, by row blocks: O(nd) time, bounded scratch."""
    xp = backend.xp
    out = []
    for lo, hi in _row_blocks(X, 1 << 20):
        block = xp.astype(X[lo:hi, :], xp.float64)
        out.append(xp.sum(block * block, axis=1))
    return xp.concat(out) if out else backend.zeros((0,), "float64")


def matvec(X, v, backend: Backend):
    """X v accumulated in float64 (exact products of the data; one pass over X).

    numpy: the numba kernel :func:`matroidomp.kernels.products.matvec64`; other namespaces:
    float64 products by row blocks on the device (bounded scratch).
    """
    xp = backend.xp
    if backend.is_numpy:
        from .kernels.products import matvec64

        return matvec64(X, np.asarray(v, dtype=np.float64))
    v64 = xp.astype(v, xp.float64)
    parts = [xp.matmul(xp.astype(X[lo:hi, :], xp.float64), v64) for lo, hi in _row_blocks(X)]
    return xp.concat(parts) if parts else backend.zeros((0,), "float64")


def gram(X, backend: Backend):
    """K = X Xᵀ in X's accumulation precision (float32 for half-precision X, by tiles)."""
    xp = backend.xp
    if backend.is_numpy:
        return np.matmul(X, X.T)  # BLAS syrk-free sgemm/dgemm, no wrapper in between
    if not is_low_precision(X):
        return xp.matmul(X, X.T)
    n = int(X.shape[0])
    K = backend.zeros((n, n), "float32")
    tiles = list(_row_blocks(X))
    for lo, hi in tiles:
        A = xp.astype(X[lo:hi, :], xp.float32)
        for lo2, hi2 in tiles:
            K[lo:hi, lo2:hi2] = xp.matmul(A, xp.astype(X[lo2:hi2, :], xp.float32).T)
    return K


def float_eps(x) -> float:
    """Relative rounding of ``x``'s dtype (float64 for integers)."""
    kind = dtype_name(x)
    return {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23}.get(kind, 2.0**-52)
