"""Weighted sums of set functions over one ground set."""

from __future__ import annotations

import numpy as np

from ._setfunction import GainState, SetFunction
from ._validation import as_float_array, check_length


class _MixtureState(GainState):
    """Gain state of :class:`Mixture`: one state per part."""

    def __init__(self, functions, weights: np.ndarray):
        self._states = [f.new_state() for f in functions]
        self._weights = weights
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        out = np.zeros(len(candidates), dtype=np.float64)
        for w, state in zip(self._weights, self._states):
            out += w * np.asarray(state.gains(candidates), dtype=np.float64)
        return out

    def add(self, j: int) -> None:
        value = 0.0
        for w, state in zip(self._weights, self._states):
            state.add(j)
            value += w * float(state.value)
        self.value = value


class Mixture(SetFunction):
    """Weighted sum of set functions: f(S) = Σ_k w_k f_k(S), w_k ≥ 0; a gain costs one gain of each part.

    The gain of j is Σ_k w_k Δ_k(j | S), the parts' gains combined in the order given (apricot's
    ``MixtureSelection``; its functions need the weights scaled to their conventions, e.g.
    w · λ for :class:`~matroidomp.GraphCut`). Nonnegative weights keep monotonicity and
    submodularity of the parts, so greedy's guarantees hold whenever they hold for every part.
    Lazy greedy selects what naive greedy selects whenever every part's computed gains never
    increase as S grows (true for the built-in functions): w · g and a fixed-order sum are
    monotone under rounding.

    Parameters
    ----------
    functions : sequence of SetFunction
        At least one, all over the same ground set {0, ..., n-1}.
    weights : array-like of shape (len(functions),), optional
        w_k >= 0, finite; default all ones.

    Raises
    ------
    TypeError
        When ``functions`` is not a sequence of :class:`~matroidomp.SetFunction`, or
        ``weights`` is not a real numeric array.
    ValueError
        When ``functions`` is empty or its functions have different ground-set sizes, or
        ``weights`` has the wrong length, a negative or a non-finite entry.

    Notes
    -----
    A gain costs the sum of the parts' gains, ``add`` the sum of their adds; memory: the parts'
    states.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> s = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> f = Mixture([mo.FacilityLocation(s), mo.SumRedundancy(s)], weights=[1.0, 0.5])
    >>> f([0, 2]) == mo.FacilityLocation(s)([0, 2]) + 0.5 * mo.SumRedundancy(s)([0, 2])
    True
    >>> mo.greedy(f, 2).indices.tolist()
    [1, 2]
    >>> Mixture([mo.FacilityLocation(s), mo.GraphCut(s[:2, :2])])
    Traceback (most recent call last):
    ...
    ValueError: functions: function 1 has a ground set of 2 elements but function 0 has 3
    """

    def __init__(self, functions, weights=None):
        if isinstance(functions, SetFunction) or not hasattr(functions, "__len__"):
            raise TypeError(f"functions: expected a sequence of SetFunction, got {type(functions).__name__}")
        functions = list(functions)
        if not functions:
            raise ValueError("functions: expected at least one SetFunction, got none")
        for k, f in enumerate(functions):
            if not isinstance(f, SetFunction):
                raise TypeError(
                    f"functions: function {k} is a {type(f).__name__}, not a SetFunction (wrap a plain "
                    "callable with CallableSetFunction(fn, n))"
                )
            if f.n != functions[0].n:
                raise ValueError(
                    f"functions: function {k} has a ground set of {f.n} elements but function 0 has {functions[0].n}"
                )
        if weights is None:
            w = np.ones(len(functions), dtype=np.float64)
        else:
            w = as_float_array(weights, "weights", 1, dtype=np.float64)
            check_length(w, len(functions), "weights", "the number of functions")
            if w.size and w.min() < 0:
                raise ValueError(
                    f"weights: entry {int(np.argmin(w))} is {w.min():.6g} < 0; a mixture needs w >= 0 "
                    "to stay monotone and submodular"
                )
        self.functions = functions
        self.weights = w
        self.n = int(functions[0].n)
        # lazy greedy pays when it pays for some part (the expensive gains dominate the mixture's)
        self.lazy_greedy_pays = any(f.lazy_greedy_pays for f in functions)

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty (a fresh state of every part)."""
        return _MixtureState(self.functions, self.weights)
