"""Where the distributed solvers run: the caller's Dask client, or an embedded local cluster.

With ``client=None`` a :class:`distributed.LocalCluster` of ``n_workers`` worker processes (one
thread each, numba's kernels on one thread too) is started on this machine for the one call and
closed when it returns or raises; a :class:`distributed.Client` the caller passes (a real
cluster, or a local one they manage) is used as it is and never closed. Results come back through :func:`gather`, which turns the loss
of workers into one clear error: a run either completes on the workers that remain (Dask
recomputes the lost pieces from their lineage) or raises — never a partial selection.
"""

from __future__ import annotations

import contextlib
import logging
import numbers

import distributed
from distributed.scheduler import KilledWorker


def check_n_workers(n_workers) -> int:
    """``n_workers`` as an int ≥ 1 (TypeError / ValueError otherwise)."""
    if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral):
        raise TypeError(f"n_workers: expected an int >= 1, got {n_workers!r}")
    if int(n_workers) < 1:
        raise ValueError(f"n_workers: expected an int >= 1, got {n_workers}")
    return int(n_workers)


@contextlib.contextmanager
def client_for(client, n_workers: int):
    """The client to run on: ``client`` as given, or an embedded local cluster's (closed on exit).

    Parameters
    ----------
    client : distributed.Client or None
    n_workers : int
        Worker processes of the embedded cluster (ignored with a client).

    Yields
    ------
    distributed.Client

    Raises
    ------
    TypeError
        ``client`` is neither None nor a :class:`distributed.Client`.
    """
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client: expected a distributed.Client or None, got {type(client).__name__}")
        yield client
        return
    n_workers = check_n_workers(n_workers)
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": "1"}) as cluster:
        with distributed.Client(cluster) as local:
            yield local


def gather(client, futures):
    """``client.gather(futures)``, with the loss of workers reported as a RuntimeError.

    Dask reruns a task whose worker died on another worker; a task whose workers died
    ``distributed.scheduler.allowed-failures`` + 1 times raises :class:`KilledWorker`, and so does
    this call — as a RuntimeError that says no selection is returned.
    """
    try:
        return client.gather(futures)
    except KilledWorker as exc:
        raise RuntimeError(f"Dask workers died while running the selection ({exc}); the run is abandoned and no "
                           "selection is returned: rerun it, or give the workers more memory") from exc


def n_workers_of(client) -> int:
    """The number of workers the scheduler knows of now."""
    return len(client.nthreads())
