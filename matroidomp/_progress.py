"""Progress reporting of the solvers: a tqdm bar with the objective, and a callback that may stop.

Every solver (:func:`~matroidomp.greedy`, :func:`~matroidomp.stochastic_greedy`,
:func:`~matroidomp.omp`, :func:`~matroidomp.omp_gram`, :func:`~matroidomp.solve_omp`,
:func:`~matroidomp.partitionsel` and the streaming classes) takes ``verbose`` and ``callback``:

* ``verbose=True`` shows a tqdm progress bar on stderr, one tick per selected element (per
  element read for the streaming classes), with the current objective F(S) in its postfix;
* ``callback(step, index, objective)`` is called after each selection with ``step`` the number
  of elements selected so far (1, 2, ...), ``index`` the element just selected and ``objective``
  F(S) after it — the same number as ``result.history[step - 1]``. Returning ``False`` (any
  false value other than ``None``) stops the run: the solver returns the selection so far, a
  valid result with ``stop_reason='stopped_by_callback'``. Returning ``None`` or ``True``
  continues. An exception raised by the callback propagates out of the solver.

Both are off by default, and then a solver pays nothing: :func:`make_progress` returns ``None``,
tqdm is not imported, and the loops test one ``is not None`` per step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Signature of a callback: ``callback(step, index, objective)``; a false return value other than
#: None stops the run.
Callback = Callable[[int, int, float], object]


class Progress:
    """Reports the steps of one run to a tqdm bar and/or a callback.

    Parameters
    ----------
    verbose : bool
        Show a tqdm bar (on ``sys.stderr``) with the objective in its postfix.
    callback : callable or None
        ``callback(step, index, objective)``, called after each step.
    total : int or None
        Number of steps the bar expects (None: unknown, the bar counts).
    desc : str
        The bar's label.
    unit : str, default 'step'
        The bar's unit.
    initial : int, default 0
        Steps already done (a stream resumed after :meth:`close`).

    Examples
    --------
    >>> seen = []
    >>> p = Progress(False, lambda step, index, objective: seen.append((step, index, objective)), 3, "demo")
    >>> p.step(7, 1.5), p.step(2, 2.0), seen
    (True, True, [(1, 7, 1.5), (2, 2, 2.0)])
    >>> p.close()
    """

    def __init__(self, verbose: bool, callback: Callback | None, total: int | None, desc: str, unit: str = "step",
                 initial: int = 0):
        self.callback = callback
        self.steps = initial
        self.bar = None
        if verbose:
            from tqdm.auto import tqdm  # imported only when a bar is asked for

            self.bar = tqdm(total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True, leave=True)

    def step(self, index: int, objective: float) -> bool:
        """Report one selected element; False when the callback asks to stop.

        Parameters
        ----------
        index : int
            The element just selected.
        objective : float
            F(S) after the step.

        Returns
        -------
        bool
            Whether the run goes on.
        """
        self.steps += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"objective={objective:.6g}", refresh=False)
            self.bar.update(1)
        if self.callback is None:
            return True
        answer = self.callback(self.steps, int(index), float(objective))
        return answer is None or bool(answer)

    def advance(self, count: int, index: int, objective: float) -> bool:
        """Report ``count`` more elements at once (the streaming classes: one chunk read).

        The callback is called once, with ``step`` the number of elements so far.

        Parameters
        ----------
        count : int
            Elements handled since the last report.
        index : int
            The last of them.
        objective : float
            The current objective.

        Returns
        -------
        bool
            Whether the run goes on.
        """
        self.steps += count
        if self.bar is not None:
            self.bar.set_postfix_str(f"objective={objective:.6g}", refresh=False)
            self.bar.update(count)
        if self.callback is None:
            return True
        answer = self.callback(self.steps, int(index), float(objective))
        return answer is None or bool(answer)

    def close(self) -> None:
        """Close the bar (prints its final state); idempotent."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def check_progress(verbose, callback) -> None:
    """Raise unless ``verbose`` is a bool and ``callback`` None or callable.

    Parameters
    ----------
    verbose : object
    callback : object

    Raises
    ------
    TypeError
        Naming the argument.

    Examples
    --------
    >>> check_progress(True, print)
    >>> check_progress(False, 3)
    Traceback (most recent call last):
    ...
    TypeError: callback: expected a callable callback(step, index, objective) or None, got int
    """
    if not isinstance(verbose, (bool, np.bool_)):
        raise TypeError(f"verbose: expected a bool, got {verbose!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable callback(step, index, objective) or None, "
                        f"got {type(callback).__name__}")


def make_progress(verbose, callback, total: int | None, desc: str, unit: str = "step",
                  initial: int = 0) -> Progress | None:
    """A :class:`Progress` for a solver's ``verbose`` and ``callback`` arguments, None when both are off.

    Parameters
    ----------
    verbose : bool
        Show a tqdm bar.
    callback : callable or None
        ``callback(step, index, objective)``.
    total : int or None
        Steps expected (the bar's total).
    desc : str
        The bar's label (the solver's name).
    unit : str, default 'step'
        The bar's unit.
    initial : int, default 0
        Steps already done.

    Returns
    -------
    Progress or None

    Raises
    ------
    TypeError
        When ``verbose`` is not a bool or ``callback`` is neither None nor callable.

    Examples
    --------
    >>> make_progress(False, None, 10, "greedy") is None
    True
    >>> make_progress("yes", None, 10, "greedy")
    Traceback (most recent call last):
    ...
    TypeError: verbose: expected a bool, got 'yes'
    """
    check_progress(verbose, callback)
    if not verbose and callback is None:
        return None
    return Progress(bool(verbose), callback, total, desc, unit, initial)
