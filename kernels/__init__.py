"""Compute kernels behind the solvers, installed as ``matroidomp.kernels``."""
