"""The one status convention of every NNQP kernel (numba and Triton) and of the public results.

Kernels return the integer codes; :func:`matroidomp.nnqp` and friends report the names.

=========  ====  =========================================================================
name       code  meaning
=========  ====  =========================================================================
converged     0  w is the exact optimum (KKT conditions hold to the tolerance)
max_iter      1  the iteration limit was reached; w is the last feasible iterate
unbounded     2  sup = +∞: ``ray`` is a v ≥ 0 with Qv = 0 (to rounding) and cᵀv > 0
asymmetric    3  the input failed its symmetry check (batched solvers; not solved)
indefinite    4  the input failed its positive semi-definiteness check (not solved)
=========  ====  =========================================================================
"""

CONVERGED, MAX_ITER, UNBOUNDED, ASYMMETRIC, INDEFINITE = 0, 1, 2, 3, 4

#: Status names indexed by code.
NAMES = ("converged", "max_iter", "unbounded", "asymmetric", "indefinite")
