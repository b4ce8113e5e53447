"""Selection on a Dask cluster: the pool as a row-chunked dask array, or split across workers.

* :func:`omp` and :func:`partitionsel` — the d-space OMP of :func:`matroidomp.omp` /
  :func:`matroidomp.partitionsel` on a row-chunked ``dask.array`` G (n × d, rows = candidates):
  every step is one distributed pass over G (residual correlations and the masked arg-max per
  chunk, reduced on the client), the selected rows come to the client and the weights are solved
  there. Same selection as one machine on the same data and seed.
* :func:`greedy` — two-round distributed greedy under a partition matroid (GreeDi, Mirzasoleiman
  et al. 2013; RandGreeDi, Barbosa et al. 2015): greedy on each part of a partition of the ground
  set, greedy on the union of their solutions, the best of all. Its factor is
  :func:`matroidomp.bounds.distributed_greedy_guarantee`.

With no ``client`` each call starts a :class:`distributed.LocalCluster` on this machine and closes
it when it returns or raises; a ``client`` passed in is used as it is. Needs the ``dask`` extra
(``pip install matroidomp[dask]``).
"""

from ._greedy import greedy
from ._omp import omp, partitionsel

__all__ = ["greedy", "omp", "partitionsel"]
