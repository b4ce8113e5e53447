"""Gradient-matching utilities in one nonnegative-quadratic-program form, on the caller's device.

    F(S) = max { cᵀw − ½ wᵀQw : w ≥ 0 (if nonneg), w_i = 0 for i ∉ S },   Q = s·GGᵀ + λI

optionally with every cross-domain entry of Q set to zero (block diagonal). At the optimum
F(S) = ½ c_Sᵀ w_S, F(∅) = 0 and F is monotone. The utilities of the literature are instances:

* GradMatch ridge form (Killamsetty et al. 2021): c = G b, s = 1, λ ≥ 0, so that
  2F(S) = ‖b‖² − min_w (‖G_Sᵀw − b‖² + λ‖w‖²).
* PartitionSel's Taylor form: c = η G ā + ½η² diag(GGᵀ), s = η², λ = 0, with ā the mean of the
  validation anchors and rows L2-normalised by default.
* IWD (independent per domain): the Taylor form with cross-domain coupling off.

Q is represented either by the factor G (d-space: Q is never formed, rows cost O(nd)) or by a
precomputed Gram matrix K = GGᵀ (rows cost O(n)). Every array — G, K, c, the row scale, Q's
diagonal — stays in the caller's namespace on the caller's device (numpy, torch CPU or CUDA,
cupy; see :mod:`matroidomp._array`): c, the row norms and K are computed there, and only
|S| × |S| blocks (:meth:`QuadraticUtility.q_columns`) come to the host.
"""

from __future__ import annotations

import numpy as np

from ._array import (
    Backend,
    check_finite,
    detect,
    dtype_name,
    float_array,
    float_eps,
    gram,
    is_low_precision,
    matvec,
    row_stats,
    sq_row_norms,
    to_host,
)
from ._matrix_checks import check_gram, check_symmetric
from ._matrix_checks import check_psd as check_psd_matrix
from ._nnqp import coordinate_tolerances, nnqp
from ._validation import check_indices, check_nonnegative_scalar
from ._matroid import encode_labels
from ._setfunction import GainState, SetFunction

#: Learning rates are floored here, as in the authors' code, so that η² stays representable.
LR_FLOOR = 1e-12


def _max_float(X) -> float:
    return {"float16": 65504.0, "bfloat16": 3.3895e38, "float32": 3.4028235e38}.get(dtype_name(X), 1.7976931348623157e308)


def _tiny_float(X) -> float:
    return {"float16": 6.104e-05, "bfloat16": 1.1755e-38, "float32": 1.1754944e-38}.get(dtype_name(X), 2.2250738585072014e-308)


def _first(mask, xp) -> tuple[int, int]:
    """(first index, count) of the True entries of a boolean vector."""
    return int(xp.argmax(xp.astype(mask, xp.int8))), int(xp.sum(xp.astype(mask, xp.int64)))


def _checked_norms(X, sq, name: str, backend: Backend):
    """Raise when a squared row norm is not finite (a NaN/Inf entry, named by its row, or a
    float64 row whose norm overflows), or when a norm leaves X's dtype: overflow, or a nonzero row
    that squares to below its smallest normal number (it would act as a zero row)."""
    xp = backend.xp
    if not bool(xp.all(xp.isfinite(sq))):
        check_finite(X, name, backend)  # a NaN or Inf entry: named by its row
    over = ~(sq <= _max_float(X))
    if bool(xp.any(over)):
        first, count = _first(over, xp)
        raise ValueError(f"{name}: the squared norm of row {first} overflows {dtype_name(X)} "
                         f"({count} row(s)); rescale the gradients")
    under = sq < _tiny_float(X)  # a zero row is fine; a nonzero row that squares to ~0 is not
    if bool(xp.any(under)):
        under = under & (xp.max(xp.abs(xp.astype(X, xp.float64) if is_low_precision(X) else X), axis=1) > 0)
    if bool(xp.any(under)):
        first, count = _first(under, xp)
        raise ValueError(f"{name}: the squared norm of row {first} underflows {dtype_name(X)} "
                         f"({count} row(s)); rescale the gradients")
    return sq


def _inverse_norms(X, sq, name: str, backend: Backend):
    """s_i = 1/‖x_i‖ in float64 from the squared norms; zero rows, and rows whose squared norm
    leaves float64's range, raise naming the row (NaN/Inf entries first)."""
    xp = backend.xp
    if not bool(xp.all(xp.isfinite(sq))):
        check_finite(X, name, backend)
    zero = sq == 0
    if bool(xp.any(zero)):
        first, count = _first(zero, xp)
        raise ValueError(f"{name}: row {first} is all zeros and cannot be L2-normalised "
                         f"({count} zero row(s)); drop it or pass normalize=False")
    bad = ~(xp.isfinite(sq) & (sq >= 2.2250738585072014e-308))
    if bool(xp.any(bad)):
        first, count = _first(bad, xp)
        raise ValueError(f"{name}: the squared norm of row {first} leaves the float64 range "
                         f"({count} row(s)); rescale the gradients")
    return 1.0 / xp.sqrt(sq)


def _inverse_row_norms(X, name: str, backend: Backend):
    """s_i = 1/‖x_i‖ for a small matrix (the anchors): its own norms pass."""
    return _inverse_norms(X, sq_row_norms(X, backend), name, backend)


def _check_row_norms(G, name: str, backend: Backend):
    """‖g_i‖² in float64, checked (see :func:`_checked_norms`)."""
    return _checked_norms(G, sq_row_norms(G, backend), name, backend)


class QuadraticUtility(SetFunction):
    """F(S) = max{cᵀw − ½wᵀQw : w ≥ 0 (optional), supp w ⊆ S} with Q = scale·K + ridge·I.

    K is ``gram``, or (SG)(SG)ᵀ for the ``factor`` G and the diagonal S = diag(``row_scale``)
    (S = I when ``row_scale`` is None): row normalisation is kept as the n-vector s = 1/‖g_i‖
    and applied inside every product, so G itself is never copied. All arrays live in the
    namespace and on the device of the arrays it was built from (:attr:`backend`).

    Build it with :meth:`gradient_matching`, :meth:`taylor` or :meth:`from_gram` rather than
    directly. As a :class:`SetFunction` its gains are exact (one small NNQP per candidate), which
    suits brute-force checks and greedy on small pools; :func:`matroidomp.omp` is the fast solver.

    Parameters
    ----------
    c : (n,) array
        Linear term (float64 on the arrays' device).
    gram : (n, n) array, optional
        Symmetric PSD K (checked: symmetry, diagonal, 2 × 2 minors and, with ``check_psd``, a
        shifted Cholesky factorisation).
    factor : (n, d) array, optional
        G (exactly one of ``gram`` and ``factor``).
    row_scale : (n,) array, optional
        s with K = (SG)(SG)ᵀ.
    scale, ridge : float
        Q = scale·K + ridge·I.
    blocks : (n,) labels, optional
        Block-diagonal coupling: Q_ij = 0 across blocks.
    nonneg : bool, default True
        Weights w ≥ 0 (False: least squares, signed).
    check_psd : bool, default True
        Run the O(n³/3) PSD factorisation on ``gram``.

    Examples
    --------
    >>> import numpy as np, matroidomp as mo
    >>> G = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> u = mo.QuadraticUtility.gradient_matching(G, np.array([1.0, 1.0]))
    >>> round(u.value([0, 1]), 6), u.n
    (1.0, 3)
    """

    def __init__(self, c, *, gram=None, factor=None, row_scale=None, scale: float = 1.0, ridge: float = 0.0,
                 blocks=None, nonneg: bool = True, check_psd: bool = True):
        if (gram is None) == (factor is None):
            raise ValueError("QuadraticUtility needs a Gram matrix or a factor G (exactly one of them)")
        self.backend = detect(c=c, gram=gram, factor=factor, row_scale=row_scale)
        b = self.backend
        # G/K first: a row that overflows shows up as a non-finite c, and G names the cause
        self.factor = None if factor is None else float_array(factor, "G", 2, b)
        self.gram = None if gram is None else float_array(gram, "K", 2, b)
        if row_scale is not None and self.factor is None:
            raise ValueError("row_scale: scales the rows of a factor G, but no factor was given")
        self.row_scale = None if row_scale is None else float_array(row_scale, "row_scale", 1, b, float64=True)
        if self.factor is not None and self.row_scale is None:
            _check_row_norms(self.factor, "G", b)  # scaled rows have unit norm: the caller checked them
        if self.gram is not None:
            check_symmetric(self.gram, "K", b)
            check_gram(self.gram, "K", b)  # the 2 × 2 minors first: they name the offending entry
            if check_psd:
                check_psd_matrix(self.gram, "K", float_eps(gram), b)
        self.c = float_array(c, "c", 1, b, float64=True)
        self.n = int(self.c.shape[0])
        for arr, name in ((self.factor, "G"), (self.row_scale, "row_scale"), (self.gram, "K")):
            if arr is not None and int(arr.shape[0]) != self.n:
                raise ValueError(f"{name}: length {int(arr.shape[0])} does not match the length of c ({self.n})")
        self.scale = check_nonnegative_scalar(scale, "scale")
        self.ridge = check_nonnegative_scalar(ridge, "ridge")
        self.nonneg = bool(nonneg)
        self.blocks = None
        if blocks is not None:
            _, codes = encode_labels(blocks)
            if codes.shape[0] != self.n:
                raise ValueError(f"domains: length {codes.shape[0]} does not match the number of rows of G ({self.n})")
            self.blocks = codes
        self._diagonal = None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def gradient_matching(cls, G, b, lam: float = 0.0, *, nonneg: bool = True) -> "QuadraticUtility":
        """GradMatch: 2F(S) = ‖b‖² − min_{w (≥0)} ‖G_Sᵀw − b‖² + λ‖w‖²  (c = Gb, Q = GGᵀ + λI).

        Parameters
        ----------
        G : (n, d) array
            Per-example gradients.
        b : (d,) array
            Target gradient.
        lam : float, default 0
            Ridge λ ≥ 0.
        nonneg : bool, default True

        Returns
        -------
        QuadraticUtility
            On G's device; c = Gb accumulated in float64 (exact products of G's entries).

        Raises
        ------
        ValueError
            Shapes that disagree, NaN/Inf, rows whose squared norm overflows, a negative λ.

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> u = mo.QuadraticUtility.gradient_matching(np.eye(3), np.array([3.0, 1.0, 2.0]))
        >>> u.value([0, 2])  # ½(3² + 2²)
        6.5
        """
        backend = detect(G=G, b=b)
        Ga = float_array(G, "G", 2, backend, finite=False)  # checked below, in the pass that forms c
        ba = float_array(b, "b", 1, backend)
        if int(ba.shape[0]) != int(Ga.shape[1]):
            raise ValueError(f"b: length {int(ba.shape[0])} does not match G's {int(Ga.shape[1])} columns")
        lam = check_nonnegative_scalar(lam, "lam")
        sq, c = row_stats(Ga, ba, backend)
        _checked_norms(Ga, sq, "G", backend)
        return cls._checked(backend, c, Ga, None, 1.0, lam, None, nonneg, sq)

    @classmethod
    def taylor(cls, G, anchors, lr: float, *, normalize: bool = True, domains=None,
               nonneg: bool = True, anchor_weights=None, anchor_domains=None) -> "QuadraticUtility":
        """PartitionSel's Taylor utility: c = η G ā + ½η² diag(GGᵀ), Q = η² GGᵀ.

        ``anchors`` are validation gradients (m × d, or one d-vector); ā is their mean, so
        (Gā)_i is the mean inner product of g_i with the anchors. With ``normalize`` every row of
        G and of the anchors is L2-normalised (the authors' default: diag(GGᵀ) = 1); for G this
        is the row scale s = 1/‖g_i‖ (float64) applied inside the products, not a copy of G.
        ``domains`` (labels per row) switches cross-domain coupling off: the IWD baseline.

        The target can be a weighted mean instead, ā = Σ_a ω_a g_a / Σ_a ω_a: explicit
        ``anchor_weights`` ω, or ``anchor_domains`` (the validation domain of every anchor) for the
        authors' source-balanced anchors (``val_srcwt``): ω_a = 1 / (D · m_{p(a)}) with D the
        number of validation domains present and m_p the anchors of domain p, so that every
        validation domain weighs the same, 1/D, whatever its number of anchors
        (:func:`source_balanced_weights`). The anchors are normalised first, as in the plain mean.

        Parameters
        ----------
        G : (n, d) array
        anchors : (m, d) or (d,) array
        lr : float
            η ≥ 0 (floored at 1e-12).
        normalize : bool, default True
        domains : (n,) labels, optional
        nonneg : bool, default True
        anchor_weights : (m,) array, optional
            ω_a ≥ 0, finite, not all zero; only their ratios matter. Default: equal (the mean).
        anchor_domains : (m,) labels, optional
            Source-balanced weights from the anchors' domains (exclusive with ``anchor_weights``).

        Returns
        -------
        QuadraticUtility
            On G's device.

        Raises
        ------
        ValueError
            Shapes that disagree, NaN/Inf, zero rows with ``normalize``, no anchors, a negative or
            too large ``lr``; anchor weights of the wrong length, negative, NaN or all zero, or both
            ``anchor_weights`` and ``anchor_domains``.

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> G = np.array([[3.0, 4.0], [0.0, 1.0]])
        >>> u = mo.QuadraticUtility.taylor(G, np.array([[1.0, 0.0]]), lr=0.1)
        >>> np.round(u.c, 4).tolist()  # η⟨ĝ_i, â⟩ + ½η²
        [0.065, 0.005]

        Three anchors, two from domain "a" and one from "b": balanced, "b" weighs one half.

        >>> A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> plain = mo.QuadraticUtility.taylor(np.eye(2), A, lr=1.0)
        >>> balanced = mo.QuadraticUtility.taylor(np.eye(2), A, lr=1.0, anchor_domains=["a", "a", "b"])
        >>> np.round(plain.c - 0.5, 4).tolist(), (balanced.c - 0.5).tolist()  # ⟨e_i, ā⟩
        ([0.6667, 0.3333], [0.5, 0.5])
        """
        backend = detect(G=G, anchors=anchors)
        xp = backend.xp
        Ga = float_array(G, "G", 2, backend, finite=False)  # checked below, in the pass that forms c
        A = float_array(anchors, "anchors", 1, backend) if _ndim(anchors) == 1 else float_array(anchors, "anchors", 2, backend)
        if A.ndim == 1:
            A = xp.reshape(A, (1, -1))
        if int(A.shape[0]) == 0:
            raise ValueError("anchors: at least one validation gradient is needed")
        if int(A.shape[1]) != int(Ga.shape[1]):
            raise ValueError(f"anchors: dimension {int(A.shape[1])} does not match G's {int(Ga.shape[1])}")
        eta = max(check_nonnegative_scalar(lr, "lr"), LR_FLOOR)
        omega = _anchor_weights(anchor_weights, anchor_domains, int(A.shape[0]))
        A64 = xp.astype(A, xp.float64)
        if normalize:
            A64 = A64 * xp.reshape(_inverse_row_norms(A, "anchors", backend), (-1, 1))
        if omega is None:
            target = xp.mean(A64, axis=0)
        else:
            target = xp.sum(A64 * xp.reshape(backend.asarray(omega, "float64"), (-1, 1)), axis=0)
        sq, corr = row_stats(Ga, target, backend)  # one pass over G: norms, ⟨g_i, ā⟩, finiteness
        s = None  # row scale
        if normalize:
            s = _inverse_norms(Ga, sq, "G", backend)
            corr = corr * s
            sq_norms = xp.ones(int(Ga.shape[0]), dtype=xp.float64, device=backend.device) if not backend.is_numpy \
                else np.ones(Ga.shape[0])  # ‖s_i g_i‖² = 1
        else:
            sq_norms = _checked_norms(Ga, sq, "G", backend)
        if int(sq_norms.shape[0]) and not eta * eta * float(xp.max(sq_norms)) <= _max_float(Ga):
            raise ValueError(f"lr: {lr:g} is too large: lr²·‖g_i‖² overflows {dtype_name(Ga)}")
        c = eta * corr + 0.5 * eta**2 * sq_norms
        blocks = None
        if domains is not None:
            _, blocks = encode_labels(domains)
            if blocks.shape[0] != int(Ga.shape[0]):
                raise ValueError(f"domains: length {blocks.shape[0]} does not match the number of rows of G "
                                 f"({int(Ga.shape[0])})")
        return cls._checked(backend, c, Ga, s, eta**2, 0.0, blocks, nonneg, sq_norms)

    @classmethod
    def _checked(cls, backend: Backend, c, factor, row_scale, scale: float, ridge: float, blocks, nonneg: bool,
                 sq_scaled) -> "QuadraticUtility":
        """A factor utility from arrays the constructors validated (no second pass over G);
        ``sq_scaled`` = ‖s_i g_i‖² gives Q's diagonal."""
        out = object.__new__(cls)
        out.backend, out.c, out.factor, out.row_scale = backend, c, factor, row_scale
        out.gram, out.scale, out.ridge, out.blocks, out.nonneg = None, scale, ridge, blocks, bool(nonneg)
        out.n = int(c.shape[0])
        out._diagonal = scale * sq_scaled
        return out

    @classmethod
    def from_gram(cls, K, c, lam: float = 0.0, *, nonneg: bool = True, domains=None,
                  check_psd: bool = True) -> "QuadraticUtility":
        """From a precomputed PSD Gram matrix: Q = K + λI.

        K must be symmetric positive semi-definite: checked by a Cholesky factorisation of
        K + δI (δ = 10·n·eps(K's dtype)·max K_ii; O(n³/3), about the cost of forming K from
        n ≈ d gradients). ``check_psd=False`` skips it for a K you formed as GGᵀ yourself; the
        cheap checks (symmetry, diagonal, 2 × 2 minors) always run.

        Parameters
        ----------
        K : (n, n) array
        c : (n,) array
        lam : float, default 0
        nonneg : bool, default True
        domains : (n,) labels, optional
            Block-diagonal coupling.
        check_psd : bool, default True

        Returns
        -------
        QuadraticUtility

        Raises
        ------
        ValueError
            K not square, symmetric or PSD; NaN/Inf; lengths that disagree; a negative λ.

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> u = mo.QuadraticUtility.from_gram(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([2.0, 1.0]))
        >>> u.value([0, 1])  # 2²/(2·2) + 1²/(2·1)
        1.5
        """
        return cls(c, gram=K, ridge=check_nonnegative_scalar(lam, "lam"), nonneg=nonneg, blocks=domains,
                   check_psd=check_psd)

    @classmethod
    def taylor_from_gram(cls, K, corr, lr: float, *, domains=None, nonneg: bool = True,
                         check_psd: bool = True) -> "QuadraticUtility":
        """The Taylor utility of :meth:`taylor` from K = GGᵀ and corr = G ā instead of G:
        c = η·corr + ½η²·diag(K), Q = η²K — e.g. from ghost inner products
        (:func:`matroidomp.torch.ghost_gram`), which give K and Gā without forming G. For
        normalised rows pass the K and corr of the unit rows (and of the unit anchors' mean).

        Parameters
        ----------
        K : (n, n) array
            Symmetric PSD (checked as in :meth:`from_gram`).
        corr : (n,) array
            ⟨g_i, ā⟩.
        lr : float
            η ≥ 0 (floored at 1e-12).
        domains : (n,) labels, optional
            Block-diagonal coupling (the IWD baseline).
        nonneg : bool, default True
        check_psd : bool, default True

        Returns
        -------
        QuadraticUtility

        Raises
        ------
        ValueError
            As :meth:`from_gram`; a negative ``lr``.

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> G, A = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 2.0]])
        >>> a = mo.QuadraticUtility.taylor(G, A, lr=0.1, normalize=False)
        >>> b = mo.QuadraticUtility.taylor_from_gram(G @ G.T, G @ A[0], lr=0.1)
        >>> bool(np.allclose(a.c, b.c)), round(a.value([0, 1]), 12) == round(b.value([0, 1]), 12)
        (True, True)
        """
        eta = max(check_nonnegative_scalar(lr, "lr"), LR_FLOOR)
        backend = detect(K=K, corr=corr)
        xp = backend.xp
        K = float_array(K, "K", 2, backend)
        corr = float_array(corr, "corr", 1, backend, float64=True)
        if int(K.shape[0]) != int(corr.shape[0]):
            raise ValueError(f"corr: length {int(corr.shape[0])} does not match K's {int(K.shape[0])} rows")
        c = eta * corr + 0.5 * eta**2 * xp.astype(xp.linalg.diagonal(K), xp.float64)
        return cls(c, gram=K, scale=eta**2, blocks=domains, nonneg=nonneg, check_psd=check_psd)

    def with_gram(self) -> "QuadraticUtility":
        """The same utility with K = (SG)(SG)ᵀ precomputed on G's device (one GEMM, 2n²d flops).

        With a row scale, K = S (GGᵀ) S from one GEMM on G itself (no copy of G) when every
        |⟨g_i, g_j⟩| ≤ max‖g_i‖² fits G's dtype; otherwise by blocks I of rows,
        K[I, :] = (S_I G_I) Gᵀ · S, so that a row whose raw squared norm would overflow is scaled
        first (slower: Gᵀ is read once per block).
        """
        if self.gram is not None:
            return self
        out = object.__new__(QuadraticUtility)
        out.__dict__.update(self.__dict__)
        b, G = self.backend, self.factor
        xp = b.xp
        if self.row_scale is None:
            out.gram = gram(G, b)
            return out
        if self.n == 0 or float(xp.min(self.row_scale)) ** -2 <= 0.25 * _max_float(G):
            K = gram(G, b)
            s = xp.astype(self.row_scale, K.dtype)
            K = K * xp.reshape(s, (-1, 1))
            K = K * xp.reshape(s, (1, -1))
        else:
            K = _scaled_gram_by_blocks(G, self.row_scale, b)
        out.gram = K
        return out

    def diagonal(self):
        """Q_ii = scale·K_ii + ridge as a float64 n-vector on the device (one O(nd) pass, cached)."""
        xp = self.backend.xp
        if self._diagonal is None:
            if self.gram is not None:
                sq = xp.astype(xp.linalg.diagonal(self.gram) if not self.backend.is_numpy else np.diagonal(self.gram),
                               xp.float64)
            else:
                sq = sq_row_norms(self.factor, self.backend)
                if self.row_scale is not None:
                    sq = sq * self.row_scale**2
            self._diagonal = self.scale * sq
        return self._diagonal + self.ridge

    def tolerances(self, rtol: float):
        """Scale-invariant per-element tolerances tol_i = rtol·√Q_ii·max_j |c_j|/√Q_jj (host float64).

        ρ_i ≤ tol_i says element i gains at most rtol²/2 times the best single element's
        utility max_j c_j²/(2Q_jj): rescaling one gradient (a row 10⁵× larger) moves neither
        its own tolerance relative to its correlations nor anyone else's.
        """
        return coordinate_tolerances(to_host(self.diagonal()), to_host(self.c), rtol)

    def block_diagonal(self, blocks) -> "QuadraticUtility":
        """The same utility with every cross-block entry of Q set to 0 (no copy of G or K).

        Parameters
        ----------
        blocks : (n,) labels
            Block (domain) of every element.

        Returns
        -------
        QuadraticUtility

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> u = mo.QuadraticUtility.from_gram(np.array([[1.0, 0.5], [0.5, 1.0]]), np.ones(2))
        >>> u.block_diagonal([0, 1]).q_columns([0, 1]).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        _, codes = encode_labels(blocks)
        if codes.shape[0] != self.n:
            raise ValueError(f"blocks: length {codes.shape[0]} does not match the pool ({self.n})")
        out = object.__new__(QuadraticUtility)
        out.__dict__.update(self.__dict__)
        out.blocks = codes
        return out

    def q_row(self, j: int):
        """Q[j, :] as a float64 n-vector on the utility's device (O(n) from K, O(nd) from G).

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> u = mo.QuadraticUtility.gradient_matching(np.array([[1.0, 0.0], [1.0, 1.0]]), np.ones(2), 0.5)
        >>> u.q_row(1).tolist()
        [1.0, 2.5]
        """
        xp, b = self.backend.xp, self.backend
        if self.gram is not None:
            row = xp.astype(self.gram[j, :], xp.float64) * self.scale
        else:
            row = matvec(self.factor, xp.astype(self.scaled_rows([j])[0, :], xp.float64), b)
            row = row * self.scale
            if self.row_scale is not None:
                row = row * self.row_scale
        if self.blocks is not None:
            row = row * b.asarray((self.blocks == self.blocks[j]).astype(np.float64), "float64")
        row[j] = row[j] + self.ridge
        return row

    def scaled_rows(self, rows):
        """The rows s_i g_i of SG (G's dtype; a copy of |rows| rows only), on the device."""
        xp = self.backend.xp
        idx = self._index(rows)
        R = xp.take(self.factor, idx, axis=0)
        if self.row_scale is None:
            return R
        s = xp.take(self.row_scale, idx, axis=0)
        if is_low_precision(R):
            R = xp.astype(R, xp.float32)
        return R * xp.reshape(xp.astype(s, R.dtype), (-1, 1))

    def _index(self, rows):
        """Host indices as an index array of the backend."""
        idx = np.asarray(rows, dtype=np.int64).reshape(-1)
        return idx if self.backend.is_numpy else self.backend.asarray(idx, "int64")

    # ----------------------------------------------------------------- Q access
    def q_columns(self, S, rows=None) -> np.ndarray:
        """Q[rows, S] as a host float64 array (rows default to S): computed on the device, only
        the |rows| × |S| block comes back."""
        xp = self.backend.xp
        S = np.asarray(to_host(S), dtype=np.int64).reshape(-1)
        R = S if rows is None else np.asarray(to_host(rows), dtype=np.int64).reshape(-1)
        if self.gram is not None:
            sub = xp.take(xp.take(self.gram, self._index(R), axis=0), self._index(S), axis=1)
            block = to_host(xp.astype(sub, xp.float64))
        else:
            right = xp.astype(self.scaled_rows(S), xp.float64)
            left = right if rows is None else xp.astype(self.scaled_rows(R), xp.float64)
            block = to_host(xp.matmul(left, right.T))
        block = np.array(block, dtype=np.float64)
        block *= self.scale
        if self.blocks is not None:
            block *= self.blocks[R][:, None] == self.blocks[S][None, :]
        if self.ridge:
            block += self.ridge * (R[:, None] == S[None, :])
        return block

    def c_host(self, indices) -> np.ndarray:
        """c on ``indices`` as a host float64 array (a small gather)."""
        xp = self.backend.xp
        return np.array(to_host(xp.take(self.c, self._index(indices), axis=0)), dtype=np.float64).reshape(-1)

    # ----------------------------------------------------------------- evaluation
    def solve(self, indices) -> tuple[float, np.ndarray]:
        """(F(S), w_S): the exact optimum on support S; (inf, a ray) when F(S) is unbounded.

        With ``nonneg`` the NNQP on S is solved exactly (:func:`matroidomp.nnqp`; F(S) = +∞ when
        some v ≥ 0 on S has Qv = 0 and cᵀv > 0, e.g. the Taylor utility of gradients whose
        conic hull holds 0). Without it the least-squares optimum, and +∞ when c_S is not in
        the range of Q_SS. Only the |S| × |S| block and c_S leave the device; w_S is numpy.

        Examples
        --------
        >>> import numpy as np, matroidomp as mo
        >>> u = mo.QuadraticUtility.from_gram(np.array([[1.0, -1.0], [-1.0, 1.0]]), np.ones(2))
        >>> u.solve([0, 1])[0]  # a null direction v = (1, 1) with cᵀv > 0
        inf
        """
        S = check_indices(to_host(indices), self.n)
        if S.size == 0:
            return 0.0, np.zeros(0)
        Q = self.q_columns(S)
        cS = self.c_host(S)
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
        """F(S) (see :meth:`solve`)."""
        return self.solve(indices)[0]

    __call__ = value

    def new_state(self) -> GainState:
        """A gain state at S = ∅ whose gains re-solve the NNQP on S + j (exact, O(|S|³) a gain)."""
        return _ExactGainState(self)


def source_balanced_weights(anchor_domains) -> np.ndarray:
    """Anchor weights under which every validation domain weighs the same: ω_a = 1 / (D · m_{p(a)}).

    D is the number of distinct domains among the m anchors and m_p the number of anchors of
    domain p; the weights sum to 1 and each domain's anchors share 1/D equally (the PartitionSel
    authors' ``val_srcwt`` option). Pass them as ``anchor_weights`` of
    :meth:`QuadraticUtility.taylor`, or pass ``anchor_domains`` there directly.

    Parameters
    ----------
    anchor_domains : (m,) labels
        Domain of every anchor (ints or strings; m ≥ 1).

    Returns
    -------
    (m,) float64 numpy array

    Raises
    ------
    ValueError
        No labels, or labels that are not one-dimensional.
    TypeError
        Labels of mixed or unsupported types.

    Examples
    --------
    >>> source_balanced_weights(["math", "math", "math", "chem"]).tolist()
    [0.16666666666666666, 0.16666666666666666, 0.16666666666666666, 0.5]
    """
    _, codes = encode_labels(anchor_domains)
    if codes.shape[0] == 0:
        raise ValueError("anchor_domains: at least one label is needed")
    counts = np.bincount(codes)
    present = int(np.count_nonzero(counts))
    return 1.0 / (present * counts[codes].astype(np.float64))


def _anchor_weights(anchor_weights, anchor_domains, m: int) -> np.ndarray | None:
    """ω normalised to sum 1 (host float64), or None for the plain mean; checked."""
    if anchor_weights is not None and anchor_domains is not None:
        raise ValueError("give at most one of anchor_weights and anchor_domains")
    if anchor_domains is not None:
        _, codes = encode_labels(anchor_domains)
        if codes.shape[0] != m:
            raise ValueError(f"anchor_domains: {codes.shape[0]} labels for {m} anchors")
        return source_balanced_weights(anchor_domains)
    if anchor_weights is None:
        return None
    w = np.asarray(to_host(anchor_weights), dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != m:
        raise ValueError(f"anchor_weights: expected {m} weights (one per anchor), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"anchor_weights: entry {int(np.flatnonzero(~np.isfinite(w))[0])} is not finite")
    if np.any(w < 0):
        raise ValueError(f"anchor_weights: entry {int(np.flatnonzero(w < 0)[0])} is negative")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("anchor_weights: all weights are zero")
    return w / total


def _ndim(x) -> int:
    return int(x.ndim) if hasattr(x, "ndim") else np.ndim(x)


def _scaled_gram_by_blocks(G, s, backend: Backend):
    """K[I, :] = (S_I G_I) Gᵀ · S by row blocks I (a raw squared norm would overflow G's dtype)."""
    xp = backend.xp
    n = int(G.shape[0])
    acc = xp.float32 if is_low_precision(G) else G.dtype
    K = xp.empty((n, n), dtype=acc) if backend.is_numpy else xp.empty((n, n), dtype=acc, device=backend.device)
    sa = xp.astype(s, acc)
    step = max(1, (1 << 20) // max(int(G.shape[1]), 1))
    Gt = xp.astype(G, acc).T
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        K[lo:hi, :] = xp.matmul(xp.astype(G[lo:hi, :], acc) * xp.reshape(sa[lo:hi], (-1, 1)), Gt)
    return K * xp.reshape(sa, (1, -1))


class _ExactGainState(GainState):
    """Gains by re-solving the NNQP on S + j for each candidate: O(|S|³) per gain."""

    def __init__(self, utility: QuadraticUtility):
        self._u = utility
        self._S: list[int] = []
        self.value = 0.0

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        """F(S + j) − F(S) for each candidate j."""
        return np.array([self._u.value(self._S + [int(j)]) - self.value for j in candidates])

    def add(self, j: int) -> None:
        """S ← S + j."""
        self._S.append(int(j))
        self.value = self._u.value(self._S)

