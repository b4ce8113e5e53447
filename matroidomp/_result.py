"""The result object every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import to_numpy

#: Why a solver stopped.
STOP_RANK = "rank_reached"  # every domain budget is filled (a basis of the matroid)
STOP_NO_GAIN = "no_positive_gain"  # no feasible element improves the objective
STOP_UNBOUNDED_LEFT = "only_unbounded_left"  # OMP: each feasible element left would make F unbounded
STOP_CALLBACK = "stopped_by_callback"  # the solver's callback returned False
STOP_STREAM = "stream_end"  # streaming: the elements read so far did not fill every budget


@dataclass(frozen=True)
class SelectionResult:
    """A selected subset S and how it was reached: the indices, their weights, F(S) and its history.

    Every solver returns one (:func:`~matroidomp.greedy`, :func:`~matroidomp.omp`,
    :func:`~matroidomp.partitionsel`, ...); the fields are read-only.

    Parameters
    ----------
    indices : int64 array
        Selected elements in selection order. numpy, or — from :func:`~matroidomp.omp`,
        :func:`~matroidomp.omp_gram` and :func:`~matroidomp.partitionsel` — an array of the
        input's framework on the input's device (e.g. a torch tensor).
    weights : float64 array
        Weight of each selected element, aligned with ``indices`` (ones for unweighted solvers,
        the NNQP/least-squares coefficients for OMP); same framework and device as ``indices``.
    objective : float
        Final objective F(S).
    history : float64 numpy array
        F after each selection step (same length as ``indices``).
    counts : dict
        ``{domain: number selected}`` for every domain of the matroid.
    stop_reason : str
        ``'rank_reached'`` (every budget filled), ``'no_positive_gain'`` (no feasible element
        improves the objective) or ``'only_unbounded_left'`` (OMP: every feasible element left
        would make the utility unbounded; see :func:`~matroidomp.solve_omp`),
        ``'stopped_by_callback'`` (the ``callback`` returned False: the selection so far) or
        ``'stream_end'`` (streaming: the elements read so far did not fill every budget).
    info : dict, optional
        Solver details, e.g. ``gain_evaluations`` (greedy), ``gram`` (the path OMP used),
        ``tol`` or ``sample_size``.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> f = mo.FeatureBased(np.array([[4.0, 0.0], [0.0, 9.0], [1.0, 1.0]]))
    >>> res = mo.greedy(f, 2)
    >>> res.indices.tolist(), res.weights.tolist(), res.objective
    ([1, 0], [1.0, 1.0], 5.0)
    >>> res.history.tolist(), res.gains.tolist()
    ([3.0, 5.0], [3.0, 2.0])
    >>> len(res), res.mask(3).tolist(), res.stop_reason
    (2, [True, True, False], 'rank_reached')
    """

    indices: np.ndarray
    weights: np.ndarray
    objective: float
    history: np.ndarray
    counts: dict
    stop_reason: str
    info: dict = field(default_factory=dict)

    @property
    def gains(self) -> np.ndarray:
        """Objective increase at every step: diff of ``history`` from F(empty) = 0.

        Returns
        -------
        numpy.ndarray of float64
            Same length as ``indices``.
        """
        return np.diff(np.concatenate([[0.0], self.history]))

    def __len__(self) -> int:
        """|S|, the number of selected elements."""
        return int(self.indices.shape[0])

    def mask(self, n: int) -> np.ndarray:
        """Boolean membership mask over a ground set of size ``n``.

        Parameters
        ----------
        n : int
            Ground-set size (larger than every selected index).

        Returns
        -------
        numpy.ndarray of bool, shape (n,)
            True exactly at the selected indices.

        Raises
        ------
        IndexError
            When a selected index is >= ``n``.
        """
        m = np.zeros(n, dtype=bool)
        m[to_numpy(self.indices, "indices")] = True
        return m
