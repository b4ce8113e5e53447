"""Compute kernels behind the solvers, installed as ``matroidomp.kernels``."""

from ._numba_cache import install as _install_numba_cache

_install_numba_cache()  # before any kernel module is imported: their cached code then tracks every kernel source
