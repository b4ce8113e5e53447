"""The set-function protocol the generic solvers use, and an adapter for plain callables.

A set function f : 2^[n] -> R, normalised so that f(empty) = 0, is evaluated through a
*gain state*: an object holding the current set S with memoised bookkeeping, which returns the
marginal gains f(S + j) - f(S) for a batch of candidates and absorbs one element at a time.
Incremental states make greedy cost O(gain evaluations) instead of O(full evaluations).

To plug in your own function, either subclass :class:`SetFunction` (fast, incremental) or wrap a
callable with :class:`CallableSetFunction` (simple, one full evaluation per candidate).
"""

from __future__ import annotations

import math
import numbers
import reprlib
from abc import ABC, abstractmethod

import numpy as np


class GainState(ABC):
    """Current set S of a :class:`SetFunction`, with the memoised state that makes gains cheap.

    A state starts at S = empty (``value`` = f(empty) = 0); :meth:`gains` returns the marginal
    gains f(S + j) - f(S) of a batch of candidates and :meth:`add` moves S to S + j. The solvers
    only ever call these two and read ``value``.

    Examples
    --------
    A modular function f(S) = sum_{j in S} v_j, whose gains never change:

    >>> import numpy as np
    >>> class SumState(GainState):
    ...     def __init__(self, v):
    ...         self.v, self.value = v, 0.0
    ...     def gains(self, candidates):
    ...         return self.v[candidates]
    ...     def add(self, j):
    ...         self.value += float(self.v[j])
    >>> state = SumState(np.array([3.0, 1.0, 2.0]))
    >>> state.gains(np.array([0, 2])).tolist()
    [3.0, 2.0]
    >>> state.add(0)
    >>> state.value
    3.0
    """

    #: f(S) for the current S.
    value: float = 0.0

    @abstractmethod
    def gains(self, candidates: np.ndarray) -> np.ndarray:
        """Marginal gains f(S + j) - f(S) for each j in ``candidates`` (float64 array).

        Each candidate's gain must not depend on which other candidates are in the batch
        (lazy and naive greedy compare gains computed in batches of different sizes).

        Parameters
        ----------
        candidates : numpy.ndarray of int64, shape (b,)
            Elements not in S, in increasing order.

        Returns
        -------
        numpy.ndarray of float64, shape (b,)
            One finite gain per candidate.
        """

    @abstractmethod
    def add(self, j: int) -> None:
        """Add element ``j`` to S and update ``value``.

        Parameters
        ----------
        j : int
            An element not in S.
        """


class SetFunction(ABC):
    """A set function f over the ground set {0, ..., n-1} with f(empty) = 0.

    Subclasses set ``n`` and implement :meth:`new_state`; calling the function on a list of
    indices evaluates f(S) from a fresh state. The solvers (:func:`~matroidomp.greedy`,
    :func:`~matroidomp.stochastic_greedy`) take any subclass.

    Examples
    --------
    The modular function f(S) = sum_{j in S} v_j with its state:

    >>> import numpy as np
    >>> import matroidomp as mo
    >>> class SumState(GainState):
    ...     def __init__(self, v):
    ...         self.v, self.value = v, 0.0
    ...     def gains(self, candidates):
    ...         return self.v[candidates]
    ...     def add(self, j):
    ...         self.value += float(self.v[j])
    >>> class Sum(SetFunction):
    ...     def __init__(self, v):
    ...         self.v, self.n = np.asarray(v, dtype=float), len(v)
    ...     def new_state(self):
    ...         return SumState(self.v)
    >>> f = Sum([3.0, 1.0, 2.0, 5.0])
    >>> f([0, 2])
    5.0
    >>> mo.greedy(f, 2).indices.tolist()
    [3, 0]
    """

    #: Ground-set size.
    n: int

    #: Whether lazy greedy is expected to beat naive greedy on this function; ``greedy``'s
    #: default (``lazy=None``) reads it. False for functions whose gains cost O(1) and all change
    #: with every pick (graph cut, sum redundancy, log-determinant): one batch of every gain is
    #: then cheaper than the lazy heap's per-entry work. Both select the same set.
    lazy_greedy_pays: bool = True

    @abstractmethod
    def new_state(self) -> GainState:
        """A fresh :class:`GainState` at S = empty.

        Returns
        -------
        GainState
            With ``value`` 0.
        """

    def __call__(self, indices) -> float:
        """f(S), by adding the elements of ``indices`` to a fresh state one at a time.

        Parameters
        ----------
        indices : array-like of int
            The distinct elements of S.

        Returns
        -------
        float
            f(S).
        """
        state = self.new_state()
        for j in np.asarray(indices, dtype=np.int64).reshape(-1):
            state.add(int(j))
        return float(state.value)


def _name(fn) -> str:
    """How error messages name a user's callable: its ``__name__``, else its repr."""
    return getattr(fn, "__name__", None) or repr(fn)


def _describe(value) -> str:
    """A short description of a returned value: the type and shape of an array, else a short repr."""
    shape = getattr(value, "shape", None)
    if shape is not None and tuple(shape) != ():
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return reprlib.repr(value)


def _evaluate(fn, S: list) -> float:
    """``fn(S)`` as a float; raise, naming ``fn`` and ``S``, unless it is one finite real number.

    Python and numpy real scalars and 0-d arrays or tensors are accepted; None, sequences,
    arrays with any dimension, complex numbers and strings are not.
    """
    value = fn(S)
    scalar = value.item() if getattr(value, "shape", None) == () and hasattr(value, "item") else value
    if not isinstance(scalar, numbers.Real):
        raise TypeError(
            f"fn {_name(fn)!r} returned {_describe(value)} for S = {reprlib.repr(S)}; "
            "expected a real number"
        )
    v = float(scalar)
    if not math.isfinite(v):
        raise ValueError(
            f"fn {_name(fn)!r} returned {v} for S = {reprlib.repr(S)}; a set function must be finite"
        )
    return v


class _CallableState(GainState):
    """Gain state of :class:`CallableSetFunction`: the selected list; one call of fn per gain."""

    def __init__(self, fn, empty_value: float):
        self._fn = fn
        self._empty = empty_value
        self._selected: list[int] = []
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return np.array(
            [_evaluate(self._fn, self._selected + [int(j)]) - self._empty - self.value for j in candidates],
            dtype=np.float64,
        )

    def add(self, j: int) -> None:
        self._selected.append(int(j))
        self.value = _evaluate(self._fn, self._selected) - self._empty


class CallableSetFunction(SetFunction):
    """f(S) = fn(S) - fn(empty) for a plain callable ``fn(list_of_indices) -> float``; one call per gain.

    Each gain costs one call of ``fn``; subclass :class:`SetFunction` when you can compute
    gains incrementally.

    Parameters
    ----------
    fn : callable
        Takes a list of distinct element indices, returns one finite real number (a Python or
        numpy scalar, or a 0-d array or tensor).
    n : int
        Ground-set size.

    Raises
    ------
    TypeError
        When ``fn`` is not callable, or (here for S = [], later for any S) returns anything but
        a real number, e.g. None or an array; the message names ``fn``, S and the value.
    ValueError
        When ``fn`` returns NaN or an infinity; the message names ``fn`` and S.

    Examples
    --------
    >>> f = CallableSetFunction(lambda S: len(set(S) | {7}), 4)
    >>> f([0, 2])
    2.0
    >>> f.new_state().gains(np.array([1, 3])).tolist()
    [1.0, 1.0]
    >>> def broken(S):
    ...     return None
    >>> CallableSetFunction(broken, 3)
    Traceback (most recent call last):
    ...
    TypeError: fn 'broken' returned None for S = []; expected a real number
    """

    def __init__(self, fn, n: int):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        self._fn = fn
        self.n = int(n)
        self._empty = _evaluate(fn, [])

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _CallableState(self._fn, self._empty)
