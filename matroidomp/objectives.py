"""Gradient-matching utilities in one nonnegative-quadratic-program form.

    F(S) = max { cᵀw − ½ wᵀQw : w ≥ 0 (if nonneg), w_i = 0 for i ∉ S },   Q = s·GGᵀ + λI

optionally with every cross-domain entry of Q set to zero (block diagonal). At the optimum
F(S) = ½ c_Sᵀ w_S, F(∅) = 0 and F is monotone. The utilities of the literature are instances:

* GradMatch ridge form (Killamsetty et al. 2021): c = G b, s = 1, λ ≥ 0, so that
  2F(S) = ‖b‖² − min_w (‖G_Sᵀw − b‖² + λ‖w‖²).
* PartitionSel's Taylor form: c = η G ā + ½η² diag(GGᵀ), s = η², λ = 0, with ā the mean of the
  validation anchors and rows L2-normalised by default.
* IWD (independent per domain): the Taylor form with cross-domain coupling off.

Q is represented either by the factor G (d-space: Q is never formed, rows cost O(nd)) or by a
precomputed Gram matrix K = GGᵀ (rows cost O(n)).
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_float_array,
    check_gram,
    check_indices,
    check_length,
    check_nonnegative_scalar,
    check_row_norms,
    check_symmetric,
    to_numpy,
)
from .matroid import _encode_labels
from ._nnqp import CONVERGED, nnqp
from .setfunction import GainState, SetFunction

#: Learning rates are floored here, as in the authors' code, so that η² stays representable.
LR_FLOOR = 1e-12


def _normalize_rows(X: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(X.astype(np.float64, copy=False), axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"{name}: row {int(zero[0])} is all zeros and cannot be L2-normalised "
            f"({zero.size} zero row(s)); drop it or pass normalize=False"
        )
    return (X / norms[:, None].astype(X.dtype)).astype(X.dtype, copy=False)


class QuadraticUtility(SetFunction):
    """F(S) = max{cᵀw − ½wᵀQw : w ≥ 0 (optional), supp w ⊆ S} with Q = scale·K + ridge·I.

    Build it with :meth:`gradient_matching`, :meth:`taylor` or :meth:`from_gram` rather than
    directly. As a :class:`SetFunction` its gains are exact (one small NNQP per candidate), which
    suits brute-force checks and greedy on small pools; :func:`matroidomp.omp` is the fast solver.
    """

    def __init__(self, c, *, gram=None, factor=None, scale: float = 1.0, ridge: float = 0.0,
                 blocks=None, nonneg: bool = True):
        if (gram is None) == (factor is None) and gram is None:
            raise ValueError("QuadraticUtility needs a Gram matrix or a factor G")
        # G/K first: a row that overflows shows up as a non-finite c, and G names the cause
        self.factor = None if factor is None else as_float_array(factor, "G", 2)
        self.gram = None if gram is None else as_float_array(gram, "K", 2)
        if self.factor is not None:
            check_row_norms(self.factor, "G")
        if self.gram is not None:
            check_symmetric(self.gram, "K")
            check_gram(self.gram, "K")
        self.c = as_float_array(c, "c", 1, dtype=np.float64)
        self.n = int(self.c.shape[0])
        if self.factor is not None:
            check_length(self.factor, self.n, "G", "the length of c")
        if self.gram is not None:
            check_length(self.gram, self.n, "K", "the length of c")
        self.scale = check_nonnegative_scalar(scale, "scale")
        self.ridge = check_nonnegative_scalar(ridge, "ridge")
        self.nonneg = bool(nonneg)
        self.blocks = None
        if blocks is not None:
            _, codes = _encode_labels(blocks)
            check_length(codes, self.n, "domains", "the number of rows of G")
            self.blocks = codes

    # ----------------------------------------------------------------- constructors
    @classmethod
    def gradient_matching(cls, G, b, lam: float = 0.0, *, nonneg: bool = True) -> "QuadraticUtility":
        """GradMatch: 2F(S) = ‖b‖² − min_{w (≥0)} ‖G_Sᵀw − b‖² + λ‖w‖²  (c = Gb, Q = GGᵀ + λI)."""
        Ga = as_float_array(G, "G", 2)
        ba = as_float_array(b, "b", 1)
        if ba.shape[0] != Ga.shape[1]:
            raise ValueError(f"b: length {ba.shape[0]} does not match G's {Ga.shape[1]} columns")
        c = (Ga @ ba.astype(Ga.dtype)).astype(np.float64)
        return cls(c, factor=Ga, ridge=check_nonnegative_scalar(lam, "lam"), nonneg=nonneg)

    @classmethod
    def taylor(cls, G, anchors, lr: float, *, normalize: bool = True, domains=None,
               nonneg: bool = True) -> "QuadraticUtility":
        """PartitionSel's Taylor utility: c = η G ā + ½η² diag(GGᵀ), Q = η² GGᵀ.

        ``anchors`` are validation gradients (m × d, or one d-vector); ā is their mean, so
        (Gā)_i is the mean inner product of g_i with the anchors. With ``normalize`` every row of
        G and of the anchors is L2-normalised first (the authors' default: diag(GGᵀ) = 1).
        ``domains`` (labels per row) switches cross-domain coupling off: the IWD baseline.
        """
        Ga = as_float_array(G, "G", 2)
        A = to_numpy(anchors, "anchors")
        A = as_float_array(A.reshape(1, -1) if A.ndim == 1 else A, "anchors", 2)
        if A.shape[0] == 0:
            raise ValueError("anchors: at least one validation gradient is needed")
        if A.shape[1] != Ga.shape[1]:
            raise ValueError(f"anchors: dimension {A.shape[1]} does not match G's {Ga.shape[1]}")
        eta = max(check_nonnegative_scalar(lr, "lr"), LR_FLOOR)
        if normalize:
            Ga = _normalize_rows(Ga, "G")
            A = _normalize_rows(A, "anchors")
        sq_norms = np.einsum("ij,ij->i", Ga, Ga).astype(np.float64)
        if not np.all(np.isfinite(sq_norms)):
            check_row_norms(Ga, "G")  # raises, naming the row
        if sq_norms.size and not eta * eta * float(sq_norms.max()) <= float(np.finfo(Ga.dtype).max):
            raise ValueError(f"lr: {lr:g} is too large: lr²·‖g_i‖² overflows {Ga.dtype}")
        anchor_mean = A.astype(np.float64).mean(axis=0).astype(Ga.dtype)
        c = eta * (Ga @ anchor_mean).astype(np.float64) + 0.5 * eta**2 * sq_norms
        return cls(c, factor=Ga, scale=eta**2, blocks=domains, nonneg=nonneg)

    @classmethod
    def from_gram(cls, K, c, lam: float = 0.0, *, nonneg: bool = True, domains=None) -> "QuadraticUtility":
        """From a precomputed PSD Gram matrix: Q = K + λI."""
        return cls(c, gram=K, ridge=check_nonnegative_scalar(lam, "lam"), nonneg=nonneg, blocks=domains)

    def with_gram(self) -> "QuadraticUtility":
        """The same utility with K = GGᵀ precomputed (one GEMM, 2n²d flops)."""
        if self.gram is not None:
            return self
        out = object.__new__(QuadraticUtility)
        out.__dict__.update(self.__dict__)
        out.gram = self.factor @ self.factor.T
        return out

    # ----------------------------------------------------------------- Q access
    def q_columns(self, S: np.ndarray, rows=None) -> np.ndarray:
        """Q[rows, S] as a float64 array (rows default to S): small blocks only."""
        S = np.asarray(S, dtype=np.int64)
        R = S if rows is None else np.asarray(rows, dtype=np.int64)
        if self.gram is not None:
            block = self.gram[np.ix_(R, S)].astype(np.float64)
        else:
            block = self.factor[R].astype(np.float64) @ self.factor[S].astype(np.float64).T
        block *= self.scale
        if self.blocks is not None:
            block *= self.blocks[R][:, None] == self.blocks[S][None, :]
        if self.ridge:
            block += self.ridge * (R[:, None] == S[None, :])
        return block

    # ----------------------------------------------------------------- evaluation
    def solve(self, indices) -> tuple[float, np.ndarray]:
        """(F(S), w_S): the exact optimum on support S."""
        S = check_indices(indices, self.n)
        if S.size == 0:
            return 0.0, np.zeros(0)
        Q = self.q_columns(S)
        cS = self.c[S]
        if self.nonneg:
            res = nnqp(Q, cS, tol=1e-12 * float(np.max(np.abs(cS))))  # relative: c may be ~lr ≪ 1
            if res.status != CONVERGED:  # pragma: no cover - finite termination in practice
                raise RuntimeError(f"NNQP on {S.size} elements did not converge")
            return float(res.objective), res.w
        w = np.linalg.lstsq(Q, cS, rcond=None)[0]
        return float(cS @ w - 0.5 * w @ Q @ w), w

    def value(self, indices) -> float:
        """F(S)."""
        return self.solve(indices)[0]

    __call__ = value

    def new_state(self) -> GainState:
        return _ExactGainState(self)


class _ExactGainState(GainState):
    """Gains by re-solving the NNQP on S + j for each candidate: O(|S|³) per gain."""

    def __init__(self, utility: QuadraticUtility):
        self._u = utility
        self._S: list[int] = []
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return np.array([self._u.value(self._S + [int(j)]) - self.value for j in candidates])

    def add(self, j: int) -> None:
        self._S.append(int(j))
        self.value = self._u.value(self._S)
