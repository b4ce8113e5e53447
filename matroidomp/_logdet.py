"""The log-determinant set function f(S) = log det(L_S + λ I) with incremental Cholesky gains.

The numba kernels are in :mod:`matroidomp.kernels.logdet_gains`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ._pairwise import _check_weight
from ._setfunction import GainState, SetFunction
from ._submodular import similarity_matrix
from ._validation import as_float_array
from .kernels.logdet_gains import logdet_add, logdet_gains
from .kernels.submodular_gains import is_symmetric


def _psd_similarity(similarity, check_psd: bool) -> np.ndarray:
    """A validated dense symmetric n x n similarity (float32 or float64), positive semidefinite if ``check_psd``.

    PSD is checked by a Cholesky factorisation of L + τ I with τ = √eps(dtype) · max_j L_jj
    (rounding in a computed Gram matrix may leave eigenvalues slightly below 0); on failure the
    error names the smallest eigenvalue.
    """
    if sp.issparse(similarity):
        raise TypeError(
            "similarity: LogDeterminant needs a dense array (its gains read whole rows of L); "
            "pass similarity.toarray()"
        )
    L = as_float_array(similarity, "similarity", 2)
    if L.shape[0] != L.shape[1]:
        raise ValueError(f"similarity: expected a square n x n matrix over the ground set, got shape {L.shape}")
    if not is_symmetric(L):
        i, j = (int(x[0]) for x in np.nonzero(L != L.T))
        raise ValueError(
            f"similarity: expected a symmetric matrix, but entry ({i}, {j}) is {L[i, j]:.6g} and ({j}, {i}) is "
            f"{L[j, i]:.6g}; symmetrise it, e.g. (S + S.T) / 2"
        )
    n = L.shape[0]
    if check_psd and n:
        scale = max(float(np.max(np.abs(np.diagonal(L)))), np.finfo(np.float64).tiny)
        tau = float(np.sqrt(np.finfo(L.dtype).eps)) * scale
        shifted = np.array(L, dtype=np.float64, order="F")  # the one n x n copy, factorised in place
        shifted[np.diag_indices(n)] += tau
        try:
            scipy.linalg.cholesky(shifted, lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            low = float(np.linalg.eigvalsh(L.astype(np.float64))[0])
            raise ValueError(
                f"similarity: expected a positive semidefinite matrix, but its smallest eigenvalue is {low:.6g} "
                f"(tolerance {-tau:.3g}); log det(L_S + λ I) is then not submodular"
            ) from None
    return L


class _LogDeterminantState(GainState):
    """Gain state of :class:`LogDeterminant`: Cholesky rows c_j (rows of ``_C``) and pivots d_j²."""

    def __init__(self, f: "LogDeterminant"):
        self._f = f
        self._d2 = f._diag + f.regularization
        self._C = np.zeros((f.n, 4), dtype=np.float64)
        self._selected = np.zeros(f.n, dtype=np.bool_)
        self._k = 0
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        cand = np.ascontiguousarray(candidates, dtype=np.int64)
        out = np.empty(cand.shape[0], dtype=np.float64)
        logdet_gains(self._d2, cand, out)
        return out

    def add(self, j: int) -> None:
        j = int(j)
        self.value += float(np.log(self._d2[j]))
        self._selected[j] = True
        if self._k == self._C.shape[1]:
            self._C = np.concatenate([self._C, np.zeros_like(self._C)], axis=1)
        low = logdet_add(self._f._L[j], j, self._C, self._d2, self._k, self._selected)
        self._k += 1
        if low <= 0:
            raise ValueError(
                f"LogDeterminant: after adding element {j}, L_(S+c) + λ I is not positive definite for some "
                f"candidate c (pivot {low:.3g} <= 0): L is not PSD, or rounding at a λ tiny relative to L; "
                f"check L or increase regularization (now {self._f.regularization:g})"
            )


class LogDeterminant(SetFunction):
    """Log-determinant: f(S) = log det(L_S + λ I), f(∅) = 0; a gain costs O(1), ``add`` O(n |S|).

    L is a symmetric positive semidefinite similarity over the ground set and λ > 0 a
    regularization; this is submodlib's ``LogDeterminantFunction(lambdaVal=λ)`` (its value
    and gains, f(∅) = 0). It rewards large, diverse sets (the volume spanned by the selected
    items, as in a DPP). The gain of j is

        Δ(j | S) = log d_j²,   d_j² = L_jj + λ − ||c_j||²,

    the log of the Schur complement of L_S + λ I in L_{S+j} + λ I, kept for every candidate by
    the incremental Cholesky of Chen, Zhang and Zhou (2018). f is submodular for every PSD L
    and λ > 0 (L + λ I is positive definite). Since d_j² ≥ λ, it is monotone when λ ≥ 1;
    exactly, adding j increases f iff d_j² ≥ 1. For λ < 1 gains may turn negative; greedy
    then stops early (``'no_positive_gain'``) and its guarantees do not apply.

    Parameters
    ----------
    similarity : array-like of shape (n, n)
        Dense, symmetric, positive semidefinite, finite. float32 input is kept as float32;
        the factor rows and pivots are float64. Used as is (no copy of a C-contiguous float
        array, so do not modify it afterwards).
    regularization : float, default 1.0
        λ > 0; the default is the smallest λ for which f is monotone for every PSD L.
    check_psd : bool, default True
        Check that L is PSD (O(n³ / 3), see Notes). False skips it for a large L known to be
        PSD (a Gram or cosine matrix); a non-PSD L then goes unnoticed unless a pivot reaches
        d_j² ≤ 0, which ``add`` reports.

    Raises
    ------
    TypeError
        When ``similarity`` is scipy.sparse or not of a real numeric dtype, or
        ``regularization`` is not a real number.
    ValueError
        When ``similarity`` is not square, not symmetric, not positive semidefinite (with
        ``check_psd``; the message names its smallest eigenvalue) or has a non-finite entry; when
        ``regularization`` is not a finite number > 0; and from ``add`` when rounding makes a
        pivot d_j² ≤ 0 (λ tiny relative to L, or a non-PSD L let through by
        ``check_psd=False``).

    Notes
    -----
    With ``check_psd`` the constructor tests PSD by one Cholesky factorisation of L + τ I,
    τ = √eps · max_j L_jj (O(n³ / 3) time, an n x n float64 copy). A state holds the n x |S| factor rows (grown by
    doubling) and n pivots: O(n |S|) memory; ``add`` costs O(n |S|), so greedy with budget k
    costs O(n k²). f(S) accumulates the gains.

    Examples
    --------
    >>> import numpy as np
    >>> import matroidomp as mo
    >>> L = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> f = LogDeterminant(L, regularization=1.0)
    >>> round(f([0]), 6), round(f([0, 1]), 6)  # log 2;  log det [[2, .9], [.9, 2]] = log 3.19
    (0.693147, 1.160021)
    >>> mo.greedy(f, 2).indices.tolist()  # the dissimilar pair
    [0, 2]
    >>> LogDeterminant(np.array([[0.0, 1.0], [1.0, 0.0]]))
    Traceback (most recent call last):
    ...
    ValueError: similarity: expected a positive semidefinite matrix, but its smallest eigenvalue is -1 ...
    """

    #: Gains are O(1) reads and every pick changes all of them: greedy's default is naive.
    lazy_greedy_pays = False

    def __init__(self, similarity, regularization: float = 1.0, *, check_psd: bool = True):
        self.regularization = _check_weight(regularization, "regularization", positive=True)
        self._L = _psd_similarity(similarity, bool(check_psd))
        self.n = int(self._L.shape[0])
        self._diag = np.diagonal(self._L).astype(np.float64)

    @classmethod
    def from_features(cls, X, metric: str = "cosine", regularization: float = 1.0) -> "LogDeterminant":
        """Log-determinant over the rows of ``X`` with the dense cosine :func:`~matroidomp.similarity_matrix`.

        L_ij = (1 + cos(x_i, x_j)) / 2, the convention of :meth:`FacilityLocation.from_features
        <matroidomp.FacilityLocation.from_features>`; it is PSD, being (1 1ᵀ + X̂ X̂ᵀ) / 2 for the
        normalised rows X̂, so the O(n³) PSD check is skipped. ``'euclidean'``
        (max_kl ||x_k − x_l||² − ||x_i − x_j||²) is refused: it is not PSD in general. O(n² d)
        time, O(n²) memory.

        Parameters
        ----------
        X : array-like of shape (n, d)
            One item per row, real and finite.
        metric : {'cosine'}, default 'cosine'
        regularization : float, default 1.0
            λ > 0.

        Returns
        -------
        LogDeterminant

        Raises
        ------
        TypeError
            When ``X`` is a scipy.sparse matrix or not a real numeric array.
        ValueError
            When ``X`` is not 2-D or has a non-finite entry, ``metric`` is not ``'cosine'``, or
            ``regularization`` is invalid.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> f = LogDeterminant.from_features(X)  # L = [[1, .5, 0], [.5, 1, .5], [0, .5, 1]]
        >>> f.n, round(f([0, 2]), 6)  # log det [[2, 0], [0, 2]] = log 4
        (3, 1.386294)
        """
        if metric != "cosine":
            raise ValueError(
                f"metric: LogDeterminant.from_features supports only 'cosine' (its similarity is positive "
                f"semidefinite), got {metric!r}; the euclidean similarity is not PSD in general"
            )
        return cls(similarity_matrix(X, metric), regularization=regularization, check_psd=False)

    def new_state(self) -> GainState:
        """A fresh gain state at S = empty."""
        return _LogDeterminantState(self)
