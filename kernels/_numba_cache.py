"""numba's on-disk cache, invalidated when *any* kernel source changes.

numba stamps a cached function with a hash of its own source file only. A kernel that calls a
jitted function of another file (``omp_loop`` → ``active_set``, ``cholesky``, ``omp_step``…)
compiles the callee into itself, so after an edit of the callee alone numba loads the stale
machine code of the caller — wrong results or a segmentation fault on the next call. This
module puts one more locator in front of numba's: for functions defined in this package it
delegates to the locator numba would have chosen (same directory, same file names) and adds
the SHA-256 of all kernel sources to the freshness stamp, so that any change recompiles every
kernel once. Functions of other packages are untouched.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent


def sources_digest(directory: Path = KERNEL_DIR) -> str:
    """SHA-256 over the names and contents of the ``*.py`` files of ``directory`` (sorted).

    Parameters
    ----------
    directory : Path
        The kernel package's folder.

    Returns
    -------
    str
        Hex digest; changes whenever any kernel source file does.

    Examples
    --------
    >>> len(sources_digest())
    64
    """
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def install() -> bool:
    """Register the locator with numba (idempotent). Returns False when this numba's caching
    internals are not the ones it was written for (numba's own per-file stamps then apply)."""
    try:
        from numba.core import caching
        base = caching._CacheLocator
        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # public name since numba 0.59
        defaults = list(impl._locator_classes)
    except (ImportError, AttributeError):
        return False
    if any(getattr(c, "_matroidomp", False) for c in defaults):
        return True
    digest = sources_digest()

    class KernelSourcesLocator(base):
        """numba's own locator for the function, its stamp extended by the kernels' digest."""

        _matroidomp = True

        def __init__(self, inner):
            self._inner = inner

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        def get_source_stamp(self):
            return (self._inner.get_source_stamp(), digest)

        @classmethod
        def from_function(cls, py_func, py_file):
            if Path(os.path.abspath(py_file)).parent != KERNEL_DIR:
                return None
            for other in defaults:
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
            return None

    impl._locator_classes = [KernelSourcesLocator, *defaults]
    return True
