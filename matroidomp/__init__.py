"""matroidomp: gradient-matching subset selection under partition matroids.

Solvers: :func:`greedy`, :func:`stochastic_greedy` (any monotone set function), :func:`omp`, :func:`omp_gram`, :func:`solve_omp`, :func:`partitionsel` (OMP with exact
nonnegative weights), :func:`nnqp`, :func:`nnqp_batched`, :func:`nnls` (active set); one pass over a
stream: :class:`SieveStreaming`, :class:`MatroidStreaming` (with :class:`RowFunction` chunks of feature rows). Constraints:
:class:`PartitionMatroid` and the budget rules. Utilities: :class:`QuadraticUtility`.
"""

from . import bounds
from ._curriculum import Curriculum, curriculum_budgets, curriculum_gain, domain_utilities
from ._greedy import greedy, stochastic_greedy
from ._logdet import LogDeterminant
from ._matroid import PartitionMatroid, equal_budgets, make_matroid, proportional_budgets
from ._metrics import conflicting_pairs, domain_coverage
from ._mixture import Mixture
from ._nnqp import BatchedNNQPResult, NNQPResult, nnls, nnqp, nnqp_batched
from ._objectives import QuadraticUtility, source_balanced_weights
from ._omp import omp, omp_gram, solve_omp
from ._partitionsel import partitionsel
from ._pairwise import GraphCut, SaturatedCoverage, SumRedundancy
from ._result import SelectionResult
from ._rowfunctions import FacilityLocationRows, FeatureBasedRows, RowFunction, RowState
from ._setfunction import CallableSetFunction, GainState, SetFunction
from ._streaming import MatroidStreaming, SieveStreaming
from ._submodular import Coverage, FacilityLocation, FeatureBased, similarity_matrix
from ._targeted import (
    FacilityLocationConditionalGain,
    FacilityLocationMutualInformation,
    GraphCutMutualInformation,
    feature_similarities,
)

__version__ = "0.1.0"

__all__ = [
    "BatchedNNQPResult",
    "CallableSetFunction",
    "Coverage",
    "FacilityLocation",
    "FacilityLocationConditionalGain",
    "FacilityLocationMutualInformation",
    "FacilityLocationRows",
    "FeatureBased",
    "FeatureBasedRows",
    "GainState",
    "GraphCut",
    "GraphCutMutualInformation",
    "LogDeterminant",
    "MatroidStreaming",
    "Mixture",
    "NNQPResult",
    "PartitionMatroid",
    "QuadraticUtility",
    "RowFunction",
    "RowState",
    "SaturatedCoverage",
    "SelectionResult",
    "SetFunction",
    "SieveStreaming",
    "SumRedundancy",
    "SubsetSelector",
    "bounds",
    "conflicting_pairs",
    "Curriculum",
    "curriculum_budgets",
    "curriculum_gain",
    "domain_coverage",
    "domain_utilities",
    "equal_budgets",
    "feature_similarities",
    "greedy",
    "make_matroid",
    "nnls",
    "nnqp",
    "nnqp_batched",
    "omp",
    "omp_gram",
    "partitionsel",
    "proportional_budgets",
    "similarity_matrix",
    "solve_omp",
    "source_balanced_weights",
    "stochastic_greedy",
]


def __getattr__(name):
    # SubsetSelector (scikit-learn estimator API) imports scikit-learn, extra ``sklearn``: on first use only
    if name == "SubsetSelector":
        import importlib.util

        if importlib.util.find_spec("sklearn") is None:
            raise ImportError("matroidomp.SubsetSelector needs scikit-learn: pip install 'matroidomp[sklearn]'")
        from ._estimator import SubsetSelector

        return SubsetSelector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
