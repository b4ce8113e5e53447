"""The docstring examples of ``kernels/`` as doctests, imported under their installed name.

pytest's ``--doctest-modules`` imports a file by its path, which would make ``kernels/omp_step.py``
the module ``kernels.omp_step``; numba's on-disk cache then records that module name and every
later ``import matroidomp`` fails to load it. So the kernels are collected here instead, as
``matroidomp.kernels.*``.
"""

import doctest
import importlib
import pkgutil

import pytest

import matroidomp.kernels

MODULES = sorted(m.name for m in pkgutil.iter_modules(matroidomp.kernels.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_kernel_docstring_examples(name):
    if name.startswith("triton_"):
        pytest.importorskip("triton", reason="needs triton")
    module = importlib.import_module(f"matroidomp.kernels.{name}")
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module.__name__}"
