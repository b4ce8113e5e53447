"""The set-function protocol the generic solvers use, and an adapter for plain callables.

A set function f : 2^[n] -> R, normalised so that f(empty) = 0, is evaluated through a
*gain state*: an object holding the current set S with memoised bookkeeping, which returns the
marginal gains f(S + j) - f(S) for a batch of candidates and absorbs one element at a time.
Incremental states make greedy cost O(gain evaluations) instead of O(full evaluations).

To plug in your own function, either subclass :class:`SetFunction` (fast, incremental) or wrap a
callable with :class:`CallableSetFunction` (simple, one full evaluation per candidate).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class GainState(ABC):
    """Current set S of a :class:`SetFunction`, with the memoised state needed for gains."""

    #: f(S) for the current S.
    value: float = 0.0

    @abstractmethod
    def gains(self, candidates: np.ndarray) -> np.ndarray:
        """Marginal gains f(S + j) - f(S) for each j in ``candidates`` (float64 array).

        Each candidate's gain must not depend on which other candidates are in the batch
        (lazy and naive greedy compare gains computed in batches of different sizes).
        """

    @abstractmethod
    def add(self, j: int) -> None:
        """Add element ``j`` to S and update ``value``."""


class SetFunction(ABC):
    """A set function over ground set {0, ..., n-1} with f(empty) = 0."""

    #: Ground-set size.
    n: int

    @abstractmethod
    def new_state(self) -> GainState:
        """A fresh :class:`GainState` at S = empty."""

    def __call__(self, indices) -> float:
        """f(S), by adding the elements of ``indices`` to a fresh state one at a time."""
        state = self.new_state()
        for j in np.asarray(indices, dtype=np.int64).reshape(-1):
            state.add(int(j))
        return float(state.value)


class _CallableState(GainState):
    def __init__(self, fn, empty_value: float):
        self._fn = fn
        self._empty = empty_value
        self._selected: list[int] = []
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return np.array(
            [float(self._fn(self._selected + [int(j)])) - self._empty - self.value for j in candidates],
            dtype=np.float64,
        )

    def add(self, j: int) -> None:
        self._selected.append(int(j))
        self.value = float(self._fn(self._selected)) - self._empty


class CallableSetFunction(SetFunction):
    """Wrap a plain callable ``fn(list_of_indices) -> float`` as a :class:`SetFunction`.

    ``fn`` is shifted so that f(empty) = 0. Each gain costs one call of ``fn``; subclass
    :class:`SetFunction` when you can compute gains incrementally.
    """

    def __init__(self, fn, n: int):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        self._fn = fn
        self.n = int(n)
        empty = float(fn([]))
        if not np.isfinite(empty):
            raise ValueError(f"fn([]) returned {empty}; the function must be finite on the empty set")
        self._empty = empty

    def new_state(self) -> GainState:
        return _CallableState(self._fn, self._empty)
