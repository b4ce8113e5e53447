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
    input_eps,
    to_numpy,
)
from .matroid import _encode_labels
from ._nnqp import check_psd as check_psd_matrix
from ._nnqp import coordinate_tolerances, nnqp
from .setfunction import GainState, SetFunction

#: Learning rates are floored here, as in the authors' code, so that η² stays representable.
LR_FLOOR = 1e-12


#: Row blocks of about this many entries bound the scratch of normalisation and of K (no n × d copy).
_BLOCK_ENTRIES = 1 << 20


def _inverse_row_norms(X: np.ndarray, name: str) -> np.ndarray:
    """s_i = 1/‖x_i‖ in float64, accumulated by row blocks: O(nd) time, O(n) memory.

    Zero rows, and rows whose squared norm leaves float64's range, raise naming the row.
    """
    sq = np.empty(X.shape[0])
    step = max(1, _BLOCK_ENTRIES // max(X.shape[1], 1))
    for lo in range(0, X.shape[0], step):
        block = X[lo:lo + step].astype(np.float64)
        np.einsum("ij,ij->i", block, block, out=sq[lo:lo + step])
    zero = np.flatnonzero(sq == 0)
    if zero.size:
        raise ValueError(
            f"{name}: row {int(zero[0])} is all zeros and cannot be L2-normalised "
            f"({zero.size} zero row(s)); drop it or pass normalize=False"
        )
    bad = np.flatnonzero(~(np.isfinite(sq) & (sq >= np.finfo(np.float64).tiny)))
    if bad.size:
        raise ValueError(f"{name}: the squared norm of row {int(bad[0])} leaves the float64 range "
                         f"({bad.size} row(s)); rescale the gradients")
    return 1.0 / np.sqrt(sq)


class QuadraticUtility(SetFunction):
    """F(S) = max{cᵀw − ½wᵀQw : w ≥ 0 (optional), supp w ⊆ S} with Q = scale·K + ridge·I.

    K is ``gram``, or (SG)(SG)ᵀ for the ``factor`` G and the diagonal S = diag(``row_scale``)
    (S = I when ``row_scale`` is None): row normalisation is kept as the n-vector s = 1/‖g_i‖
    and applied inside every product, so G itself is never copied.

    Build it with :meth:`gradient_matching`, :meth:`taylor` or :meth:`from_gram` rather than
    directly. As a :class:`SetFunction` its gains are exact (one small NNQP per candidate), which
    suits brute-force checks and greedy on small pools; :func:`matroidomp.omp` is the fast solver.
    """

    def __init__(self, c, *, gram=None, factor=None, row_scale=None, scale: float = 1.0, ridge: float = 0.0,
                 blocks=None, nonneg: bool = True, check_psd: bool = True):
        if (gram is None) == (factor is None) and gram is None:
            raise ValueError("QuadraticUtility needs a Gram matrix or a factor G")
        # G/K first: a row that overflows shows up as a non-finite c, and G names the cause
        self.factor = None if factor is None else as_float_array(factor, "G", 2)
        self.gram = None if gram is None else as_float_array(gram, "K", 2)
        if row_scale is not None and self.factor is None:
            raise ValueError("row_scale: scales the rows of a factor G, but no factor was given")
        self.row_scale = None if row_scale is None else as_float_array(row_scale, "row_scale", 1, dtype=np.float64)
        if self.factor is not None and self.row_scale is None:
            check_row_norms(self.factor, "G")  # scaled rows have unit norm: the caller checked them
        if self.gram is not None:
            check_symmetric(self.gram, "K")
            check_gram(self.gram, "K")  # the 2 × 2 minors first: they name the offending entry
            if check_psd:
                check_psd_matrix(self.gram, "K", input_eps(gram))
        self.c = as_float_array(c, "c", 1, dtype=np.float64)
        self.n = int(self.c.shape[0])
        if self.factor is not None:
            check_length(self.factor, self.n, "G", "the length of c")
        if self.row_scale is not None:
            check_length(self.row_scale, self.n, "row_scale", "the length of c")
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
        self._diagonal = None

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
        G and of the anchors is L2-normalised (the authors' default: diag(GGᵀ) = 1); for G this
        is the row scale s = 1/‖g_i‖ (float64) applied inside the products, not a copy of G.
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
        s = None  # row scale
        if normalize:
            s = _inverse_row_norms(Ga, "G")
            A = A * _inverse_row_norms(A, "anchors")[:, None].astype(A.dtype)
            sq_norms = np.ones(Ga.shape[0])  # ‖s_i g_i‖² = 1
        else:
            sq_norms = np.einsum("ij,ij->i", Ga, Ga).astype(np.float64)
            if not np.all(np.isfinite(sq_norms)):
                check_row_norms(Ga, "G")  # raises, naming the row
        if sq_norms.size and not eta * eta * float(sq_norms.max()) <= float(np.finfo(Ga.dtype).max):
            raise ValueError(f"lr: {lr:g} is too large: lr²·‖g_i‖² overflows {Ga.dtype}")
        anchor_mean = A.astype(np.float64).mean(axis=0).astype(Ga.dtype)
        corr = (Ga @ anchor_mean).astype(np.float64)
        if s is not None:
            corr *= s
        c = eta * corr + 0.5 * eta**2 * sq_norms
        out = cls(c, factor=Ga, row_scale=s, scale=eta**2, blocks=domains, nonneg=nonneg)
        out._diagonal = eta**2 * sq_norms  # Q_ii = η²‖s_i g_i‖², known without another pass
        return out

    @classmethod
    def from_gram(cls, K, c, lam: float = 0.0, *, nonneg: bool = True, domains=None,
                  check_psd: bool = True) -> "QuadraticUtility":
        """From a precomputed PSD Gram matrix: Q = K + λI.

        K must be symmetric positive semi-definite: checked by a Cholesky factorisation of
        K + δI (δ = 10·n·eps(K's dtype)·max K_ii; O(n³/3), about the cost of forming K from
        n ≈ d gradients). ``check_psd=False`` skips it for a K you formed as GGᵀ yourself; the
        cheap checks (symmetry, diagonal, 2 × 2 minors) always run.
        """
        return cls(c, gram=K, ridge=check_nonnegative_scalar(lam, "lam"), nonneg=nonneg, blocks=domains,
                   check_psd=check_psd)

    def with_gram(self) -> "QuadraticUtility":
        """The same utility with K = (SG)(SG)ᵀ precomputed (one GEMM, 2n²d flops).

        With a row scale, K = S (GGᵀ) S from one GEMM on G itself (no copy of G) when every
        |⟨g_i, g_j⟩| ≤ max‖g_i‖² fits G's dtype; otherwise by blocks I of rows,
        K[I, :] = (S_I G_I) Gᵀ · S, so that a row whose raw squared norm would overflow is scaled
        first (slower: Gᵀ is read once per block).
        """
        if self.gram is not None:
            return self
        out = object.__new__(QuadraticUtility)
        out.__dict__.update(self.__dict__)
        G = self.factor
        if self.row_scale is None:
            out.gram = G @ G.T
            return out
        s = self.row_scale.astype(G.dtype)
        if self.n == 0 or float(self.row_scale.min()) ** -2 <= 0.25 * float(np.finfo(G.dtype).max):
            gram = G @ G.T
            gram *= s[:, None]
        else:
            gram = np.empty((self.n, self.n), dtype=G.dtype)
            step = max(1, _BLOCK_ENTRIES // max(G.shape[1], 1))
            for lo in range(0, self.n, step):
                np.matmul(G[lo:lo + step] * s[lo:lo + step, None], G.T, out=gram[lo:lo + step])
        gram *= s
        out.gram = gram
        return out

    def diagonal(self) -> np.ndarray:
        """Q_ii = scale·K_ii + ridge as a float64 n-vector (one O(nd) pass over G, cached)."""
        if self._diagonal is None:
            if self.gram is not None:
                sq = np.diagonal(self.gram).astype(np.float64)
            else:
                sq = np.empty(self.n)
                step = max(1, _BLOCK_ENTRIES // max(self.factor.shape[1], 1))
                for lo in range(0, self.n, step):
                    block = self.factor[lo:lo + step].astype(np.float64)
                    np.einsum("ij,ij->i", block, block, out=sq[lo:lo + step])
                if self.row_scale is not None:
                    sq *= self.row_scale**2
            self._diagonal = self.scale * sq
        return self._diagonal + self.ridge

    def tolerances(self, rtol: float) -> np.ndarray:
        """Scale-invariant per-element tolerances tol_i = rtol·√Q_ii·max_j |c_j|/√Q_jj.

        ρ_i ≤ tol_i says element i gains at most rtol²/2 times the best single element's
        utility max_j c_j²/(2Q_jj): rescaling one gradient (a row 10⁵× larger) moves neither
        its own tolerance relative to its correlations nor anyone else's.
        """
        return coordinate_tolerances(self.diagonal(), self.c, rtol)

    def scaled_rows(self, rows) -> np.ndarray:
        """The rows s_i g_i of SG (G's dtype; a copy of |rows| rows only)."""
        if self.row_scale is None:
            return self.factor[rows]
        return self.factor[rows] * self.row_scale[rows, None].astype(self.factor.dtype)

    # ----------------------------------------------------------------- Q access
    def q_columns(self, S: np.ndarray, rows=None) -> np.ndarray:
        """Q[rows, S] as a float64 array (rows default to S): small blocks only."""
        S = np.asarray(S, dtype=np.int64)
        R = S if rows is None else np.asarray(rows, dtype=np.int64)
        if self.gram is not None:
            block = self.gram[np.ix_(R, S)].astype(np.float64)
        else:
            block = self.scaled_rows(R).astype(np.float64) @ self.scaled_rows(S).astype(np.float64).T
        block *= self.scale
        if self.blocks is not None:
            block *= self.blocks[R][:, None] == self.blocks[S][None, :]
        if self.ridge:
            block += self.ridge * (R[:, None] == S[None, :])
        return block

    # ----------------------------------------------------------------- evaluation
    def solve(self, indices) -> tuple[float, np.ndarray]:
        """(F(S), w_S): the exact optimum on support S; (inf, a ray) when F(S) is unbounded.

        With ``nonneg`` the NNQP on S is solved exactly (:func:`matroidomp.nnqp`; F(S) = +∞ when
        some v ≥ 0 on S has Qv = 0 and cᵀv > 0, e.g. the Taylor utility of gradients whose
        conic hull holds 0). Without it the least-squares optimum, and +∞ when c_S is not in
        the range of Q_SS.
        """
        S = check_indices(indices, self.n)
        if S.size == 0:
            return 0.0, np.zeros(0)
        Q = self.q_columns(S)
        cS = self.c[S]
        if self.nonneg:
            res = nnqp(Q, cS, max_iter=100 * (S.size + 10))
            if res.status == "max_iter":  # pragma: no cover - finite termination in practice
                raise RuntimeError(f"NNQP on {S.size} elements did not converge")
            return float(res.objective), (res.ray if res.unbounded else res.w)
        w, *_ = np.linalg.lstsq(Q, cS, rcond=None)
        residual = cS - Q @ w
        if np.max(np.abs(residual), initial=0.0) > 1e-8 * max(float(np.max(np.abs(cS))), 1e-300):
            return np.inf, residual  # c_S ∉ range(Q_SS): the objective grows along the residual
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
