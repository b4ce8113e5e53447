"""numba's cache of the kernels is stamped with every kernel source (kernels/_numba_cache.py).

numba alone stamps a cached function with its own file: editing a callee in another kernel file
left callers' stale machine code in the cache (segmentation faults in development sessions)."""

import importlib.util
import sys

import numba
import pytest

from matroidomp.kernels import _numba_cache, cholesky, omp_loop


def _dispatchers(module):
    return [f for f in vars(module).values() if isinstance(f, numba.core.registry.CPUDispatcher)]


def test_locator_is_installed_for_every_cached_kernel():
    assert _numba_cache.install()  # the numba pinned by the package: the hook must take
    assert _numba_cache.install()  # idempotent
    kernels = _dispatchers(cholesky) + _dispatchers(omp_loop)
    assert kernels
    digest = _numba_cache.sources_digest()
    for f in kernels:
        locator = f._cache._impl._locator
        assert type(locator).__name__ == "KernelSourcesLocator"
        assert locator.get_source_stamp()[1] == digest


def test_digest_follows_any_source_file(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = _numba_cache.sources_digest(tmp_path)
    assert _numba_cache.sources_digest(tmp_path) == before
    (tmp_path / "b.py").write_text("y = 3\n")  # a callee's file changes, the caller's does not
    assert _numba_cache.sources_digest(tmp_path) != before
    (tmp_path / "b.py").write_text("y = 2\n")
    assert _numba_cache.sources_digest(tmp_path) == before
    (tmp_path / "c.py").write_text("")  # a new kernel file
    assert _numba_cache.sources_digest(tmp_path) != before


def test_functions_of_other_packages_keep_numbas_locator(tmp_path, monkeypatch):
    (tmp_path / "elsewhere_kernel.py").write_text(
        "import numba\n\n@numba.njit(cache=True)\ndef plus_one(x):\n    return x + 1\n")
    spec = importlib.util.spec_from_file_location("elsewhere_kernel", tmp_path / "elsewhere_kernel.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "elsewhere_kernel", module)
    spec.loader.exec_module(module)
    assert module.plus_one(1) == 2
    assert type(module.plus_one._cache._impl._locator).__name__ != "KernelSourcesLocator"


@pytest.mark.parametrize("module", [cholesky, omp_loop])
def test_cache_files_stay_where_numba_puts_them(module):
    locator = _dispatchers(module)[0]._cache._impl._locator
    assert locator.get_cache_path() == locator._inner.get_cache_path()
