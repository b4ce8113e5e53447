"""Torch adapter (requires torch; the solver core does not).

:func:`per_example_gradients` gives the matrix G (pool × D, or pool × p after a random
projection) that the solvers take; :func:`select_linears` names the parameter set.
"""

from .per_example import last_layer_linears, per_example_gradients, select_linears

__all__ = ["last_layer_linears", "per_example_gradients", "select_linears"]
