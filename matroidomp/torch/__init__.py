"""Torch adapter (requires torch; the solver core does not).

:func:`per_example_gradients` gives the matrix G (pool × D, or pool × p after a random
projection) that the solvers take; :func:`select_linears` names the parameter set;
:class:`PartitionSelector` is the selection step of a training loop.
"""

from .per_example import last_layer_linears, per_example_gradients, select_linears
from .selector import PartitionSelector, Selection

__all__ = ["PartitionSelector", "Selection", "last_layer_linears", "per_example_gradients", "select_linears"]
