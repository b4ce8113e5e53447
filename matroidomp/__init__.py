"""matroidomp: gradient-matching subset selection under partition matroids."""

from .matroid import PartitionMatroid, equal_budgets, make_matroid, proportional_budgets
from .result import SelectionResult
from .setfunction import CallableSetFunction, GainState, SetFunction

__version__ = "0.1.0"

__all__ = [
    "CallableSetFunction",
    "GainState",
    "PartitionMatroid",
    "SelectionResult",
    "SetFunction",
    "equal_budgets",
    "make_matroid",
    "proportional_budgets",
]
