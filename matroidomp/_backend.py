"""Array backends: the framework and device of the caller's arrays, and results sent back there.

For array arguments x₁, …, x_m (numpy, torch, cupy, … — anything array-api-compat knows)

    namespace(x₁, …, x_m) = their one array namespace     (two frameworks → TypeError)
    device(x₁, …, x_m)    = their one device               (two devices    → ValueError)

Plain Python sequences and scalars are not arrays and adopt the others' framework; with no array
argument at all the backend is numpy. Labels (``domains``) and matroids are host metadata and
take no part. The solvers validate and compute on numpy arrays — zero-copy views of torch CPU
tensors; CUDA tensors and cupy arrays are copied to host once — except that OMP's selection loop
on torch CUDA tensors runs in the Triton step kernels (:meth:`Backend.step_backend`, see
:func:`matroidomp.solve_omp`). :meth:`Backend.selection` returns a result's ``indices`` (int64) and ``weights`` (float64) in
the input's namespace on the input's device; numpy in is numpy out, untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import array_api_compat
import numpy as np


def _framework(x) -> str:
    return type(x).__module__.split(".")[0]


@dataclass(frozen=True)
class Backend:
    """An array namespace (array-api-compat's wrapper) and a device within it."""

    xp: object
    device: object

    @property
    def is_numpy(self) -> bool:
        return array_api_compat.is_numpy_namespace(self.xp)

    def step_backend(self, backend: str) -> str:
        """The OMP step backend: ``'auto'`` becomes ``'triton'`` for torch tensors on a CUDA device."""
        cuda_torch = array_api_compat.is_torch_namespace(self.xp) and self.device.type == "cuda"
        return "triton" if backend == "auto" and cuda_torch else backend

    def asarray(self, arr: np.ndarray, dtype: str):
        """``arr`` as an array of ``dtype`` (``'int64'``, ``'float64'``) in this namespace and device."""
        if self.is_numpy:
            return arr
        return self.xp.asarray(np.ascontiguousarray(arr), dtype=getattr(self.xp, dtype), device=self.device)

    def selection(self, result):
        """A :class:`~matroidomp.SelectionResult` with ``indices`` and ``weights`` in this backend."""
        if self.is_numpy:
            return result
        return dataclasses.replace(result, indices=self.asarray(result.indices, "int64"),
                                   weights=self.asarray(result.weights, "float64"))

    def fields(self, result, *names: str):
        """A dataclass result with the named float fields in this backend (e.g. an NNQP's ``w``)."""
        if self.is_numpy:
            return result
        return dataclasses.replace(result, **{n: self.asarray(getattr(result, n), "float64") for n in names
                                              if getattr(result, n) is not None})


NUMPY = Backend(array_api_compat.array_namespace(np.zeros(0)), "cpu")


def detect(**arrays) -> Backend:
    """The backend shared by the named arguments that are arrays (``None`` and lists are skipped).

    Raises TypeError when two arguments come from different frameworks (say a torch ``G`` with
    a numpy ``b``) and ValueError when they sit on different devices, naming both arguments.
    """
    named = [(name, x) for name, x in arrays.items()
             if x is not None and array_api_compat.is_array_api_obj(x) and not isinstance(x, np.generic)]
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
