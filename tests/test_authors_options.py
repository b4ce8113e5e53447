"""The PartitionSel authors' options and baselines (issue 11.3): source-balanced anchors
(``val_srcwt``), take-all minority domains (``minority_full``), curriculum budgets
(``curricullum``), gradient-norm top-k (``gradnorm``) and facility location on gradients
(``facloc``) — hand-computed cases, feasibility, exact scoring, determinism, bad input."""

import importlib.util

import numpy as np
import pytest

import matroidomp as mo
from matroidomp import baselines
from matroidomp import curriculum_budgets, curriculum_gain, domain_utilities, source_balanced_weights

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _instance(seed=0, n=30, d=8, m=5):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, size=(n, 1))
    A = rng.standard_normal((m, d))
    return G, A


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- source-balanced anchors
def test_source_balanced_weights_by_hand():
    w = source_balanced_weights(["a", "a", "a", "b"])
    np.testing.assert_allclose(w, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    np.testing.assert_allclose(source_balanced_weights([2, 0, 2, 2, 5]), [1 / 9, 1 / 3, 1 / 9, 1 / 9, 1 / 3])
    assert source_balanced_weights([7]).tolist() == [1.0]


@pytest.mark.parametrize("normalize", [True, False])
def test_anchor_weights_give_the_explicit_weighted_mean(normalize):
    G, A = _instance(1)
    omega = np.array([1.0, 0.0, 3.0, 2.0, 0.5])
    eta = 0.05
    u = mo.QuadraticUtility.taylor(G, A, eta, normalize=normalize, anchor_weights=omega)
    Gn, An = (_unit(G), _unit(A)) if normalize else (G, A)
    target = (omega[:, None] * An).sum(0) / omega.sum()
    expected = eta * Gn @ target + 0.5 * eta**2 * (Gn**2).sum(1)
    np.testing.assert_allclose(u.c, expected, rtol=1e-12, atol=1e-15)
    # Q is untouched by the weights
    plain = mo.QuadraticUtility.taylor(G, A, eta, normalize=normalize)
    np.testing.assert_allclose(u.q_columns([0, 3, 7]), plain.q_columns([0, 3, 7]))
    np.testing.assert_allclose(u.diagonal(), plain.diagonal())


def test_equal_weights_are_the_plain_mean_and_only_ratios_matter():
    G, A = _instance(2)
    plain = mo.QuadraticUtility.taylor(G, A, 0.1)
    np.testing.assert_allclose(mo.QuadraticUtility.taylor(G, A, 0.1, anchor_weights=np.full(5, 7.0)).c, plain.c,
                               rtol=1e-13)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(mo.QuadraticUtility.taylor(G, A, 0.1, anchor_weights=w).c,
                               mo.QuadraticUtility.taylor(G, A, 0.1, anchor_weights=10 * w).c, rtol=1e-13)


def test_anchor_domains_make_every_validation_domain_weigh_the_same():
    G, A = _instance(3)
    labels = ["math", "math", "math", "chem", "code"]
    u = mo.QuadraticUtility.taylor(G, A, 0.1, anchor_domains=labels)
    An = _unit(A)
    target = (An[:3].mean(0) + An[3] + An[4]) / 3  # each domain's mean, then the mean over domains
    np.testing.assert_allclose(u.c, 0.1 * _unit(G) @ target + 0.005, rtol=1e-12)
    v = mo.QuadraticUtility.taylor(G, A, 0.1, anchor_weights=source_balanced_weights(labels))
    np.testing.assert_array_equal(u.c, v.c)
    # one domain only: the plain mean
    np.testing.assert_allclose(mo.QuadraticUtility.taylor(G, A, 0.1, anchor_domains=[0] * 5).c,
                               mo.QuadraticUtility.taylor(G, A, 0.1).c, rtol=1e-13)


@pytest.mark.parametrize("kw, match", [
    ({"anchor_weights": np.ones(4)}, "expected 5 weights"),
    ({"anchor_weights": np.ones((5, 1))}, "expected 5 weights"),
    ({"anchor_weights": np.array([1.0, np.nan, 1.0, 1.0, 1.0])}, "entry 1 is not finite"),
    ({"anchor_weights": np.array([1.0, 1.0, -1.0, 1.0, 1.0])}, "entry 2 is negative"),
    ({"anchor_weights": np.zeros(5)}, "all weights are zero"),
    ({"anchor_domains": [0, 1, 0]}, "3 labels for 5 anchors"),
    ({"anchor_weights": np.ones(5), "anchor_domains": [0] * 5}, "at most one"),
])
def test_bad_anchor_weights(kw, match):
    G, A = _instance(4)
    with pytest.raises(ValueError, match=match):
        mo.QuadraticUtility.taylor(G, A, 0.1, **kw)


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_anchor_weights_on_torch_tensors():
    import torch

    G, A = _instance(5)
    labels = torch.tensor([0, 0, 1, 1, 1])
    ref = mo.QuadraticUtility.taylor(G, A, 0.1, anchor_domains=labels.numpy())
    u = mo.QuadraticUtility.taylor(torch.from_numpy(G), torch.from_numpy(A), 0.1, anchor_domains=labels)
    np.testing.assert_allclose(u.c.numpy(), ref.c, rtol=1e-12)
    w = mo.QuadraticUtility.taylor(torch.from_numpy(G), torch.from_numpy(A), 0.1,
                                   anchor_weights=torch.tensor(source_balanced_weights([0, 0, 1, 1, 1])))
    np.testing.assert_allclose(w.c.numpy(), ref.c, rtol=1e-12)


# ----------------------------------------------------------------------------- take-all minority domains
LABELS = np.array([0] * 20 + [1] * 3 + [2] * 9)


def test_minority_full_by_hand():
    # domain 1 whole (3); 5 left over {0: 20, 2: 9}: floors 100//29 = 3 and 45//29 = 1, the leftover
    # to the smaller floor (domain 2) — the authors' get_source_masks with include_full=[1]
    m = mo.make_matroid(LABELS, "proportional", 8, minority_full=[1])
    assert dict(zip(m.domains.tolist(), m.budgets.tolist())) == {0: 3, 1: 3, 2: 2}
    # without it: floors 5, 0, 2 and the leftover to domain 1
    assert mo.make_matroid(LABELS, "proportional", 8).budgets.tolist() == [5, 1, 2]


def test_minority_full_errors_and_edge_cases():
    with pytest.raises(ValueError, match=r"hold 12 examples, more than k = 8"):
        mo.make_matroid(LABELS, "proportional", 8, minority_full=[1, 2])
    with pytest.raises(TypeError, match="collection of domain labels"):
        mo.make_matroid(LABELS, "proportional", 8, minority_full=True)
    with pytest.raises(TypeError, match="collection of domain labels"):
        mo.make_matroid(["ab", "ab", "c"], "proportional", 2, minority_full="c")
    with pytest.raises(ValueError, match="explicit budgets"):
        mo.make_matroid(LABELS, {0: 4, 1: 2, 2: 2}, 8, minority_full=[1])
    # a listed domain absent from the pool is ignored; an empty list changes nothing
    plain = mo.make_matroid(LABELS, "proportional", 8).budgets.tolist()
    assert mo.make_matroid(LABELS, "proportional", 8, minority_full=[7]).budgets.tolist() == plain
    assert mo.make_matroid(LABELS, "proportional", 8, minority_full=[]).budgets.tolist() == plain
    # every domain whole: k = n
    assert mo.make_matroid(LABELS, "proportional", 32, minority_full=[0, 1, 2]).budgets.tolist() == [20, 3, 9]
    # the other rules split the rest the same way; string labels; a numpy array of labels
    m = mo.make_matroid(LABELS, "equal", 9, minority_full=np.array([1]))
    assert m.budgets.tolist() == [3, 3, 3]
    m = mo.make_matroid(["x"] * 5 + ["y"] * 2 + ["z"] * 5, "proportional-authors", 6, minority_full=["y"])
    assert dict(zip(m.domains.tolist(), m.budgets.tolist())) == {"x": 2, "y": 2, "z": 2}


@pytest.mark.parametrize("method", ["partitionsel", "partitionsel-omp", "gradmatch-per-domain", "iwd", "facloc",
                                    "stratified-random"])
def test_minority_full_methods_take_the_domain_whole(method):
    G, A = _instance(6, n=32)
    u = mo.QuadraticUtility.taylor(G, A, 0.05)
    res = baselines.select(method, u, LABELS, 8, minority_full=[1], seed=0)
    assert res.counts == {0: 3, 1: 3, 2: 2}
    assert set(np.flatnonzero(LABELS == 1)) <= set(res.indices.tolist())
    assert res.objective == pytest.approx(u.value(res.indices), rel=1e-12)


def test_minority_full_does_not_change_domain_agnostic_methods():
    G, A = _instance(7, n=32)
    u = mo.QuadraticUtility.taylor(G, A, 0.05)
    for method in ("gradmatch", "greats", "gradnorm", "random"):
        a = baselines.select(method, u, LABELS, 8, seed=3)
        b = baselines.select(method, u, LABELS, 8, seed=3, minority_full=[1])
        assert a.indices.tolist() == b.indices.tolist(), method


# ----------------------------------------------------------------------------- curriculum budgets
ABC = ["a"] * 10 + ["b"] * 10 + ["c"] * 10


def test_curriculum_budgets_by_hand():
    gain = {"a": 0.3, "b": 0.1, "c": -0.1}  # z = (√1.5, 0, −√1.5)
    z = np.sqrt(1.5)
    assert np.rint([2 - z, 2, 2 + z]).tolist() == [1, 2, 3]
    assert curriculum_budgets(ABC, gain, 6, lam=6.0) == {"a": 1, "b": 2, "c": 3}
    # λ < 0: toward the domains with more gain
    assert curriculum_budgets(ABC, gain, 6, lam=-6.0) == {"a": 3, "b": 2, "c": 1}
    # equal gains (or all zero, the first step): the equal split k/C
    assert curriculum_budgets(ABC, {"a": 0.2, "b": 0.2, "c": 0.2}, 9) == {"a": 3, "b": 3, "c": 3}
    # a pool domain missing from the gains counts with γ = 0
    for seed in range(3):
        assert curriculum_budgets(ABC, {"a": 1.0, "b": 1.0}, 6, lam=-6.0, seed=seed) == \
            curriculum_budgets(ABC, {"a": 1.0, "b": 1.0, "c": 0.0}, 6, lam=-6.0, seed=seed)


def test_curriculum_budgets_clip_and_correct_at_random():
    labels = ["a"] * 1 + ["b"] * 10 + ["c"] * 10
    # k/C = 3 each, 'a' holds 1: 7 after clipping, two slots added to 'b' or 'c' at random
    seen = set()
    for seed in range(30):
        b = curriculum_budgets(labels, {"a": 0.0, "b": 0.0, "c": 0.0}, 9, seed=seed)
        assert b["a"] == 1 and sum(b.values()) == 9 and b["b"] >= 3 and b["c"] >= 3
        seen.add((b["b"], b["c"]))
    assert seen == {(5, 3), (4, 4), (3, 5)}
    assert curriculum_budgets(labels, {"a": 0, "b": 0, "c": 0}, 9, seed=4) == \
        curriculum_budgets(labels, {"a": 0, "b": 0, "c": 0}, 9, seed=4)
    # a small λ overshoots: 2 − 24z clipped to (0, 2, 10) = 12 > 6, six slots removed at random
    for seed in range(10):
        b = curriculum_budgets(ABC, {"a": 0.3, "b": 0.1, "c": -0.1}, 6, lam=0.5, seed=seed)
        assert sum(b.values()) == 6 and b["a"] == 0 and all(0 <= v <= 10 for v in b.values())
    # training domains absent from the pool count in C and get nothing
    b = curriculum_budgets(["a"] * 5 + ["b"] * 5, {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}, 4, seed=0)
    assert set(b) == {"a", "b"} and sum(b.values()) == 4
    # k = 0 and k = n
    assert curriculum_budgets(ABC, {"a": 1.0}, 0) == {"a": 0, "b": 0, "c": 0}
    assert curriculum_budgets(ABC, {"a": 1.0}, 30) == {"a": 10, "b": 10, "c": 10}


def test_curriculum_budgets_feed_the_selection():
    G, A = _instance(8, n=30)
    u = mo.QuadraticUtility.taylor(G, A, 0.05)
    budgets = curriculum_budgets(ABC, {"a": 0.3, "b": 0.1, "c": -0.1}, 6, lam=6.0)
    res = baselines.select("partitionsel", u, ABC, 6, budgets=budgets, seed=0)
    assert res.counts == budgets


@pytest.mark.parametrize("kw, err, match", [
    ({"lam": 0.0}, ValueError, "finite nonzero"),
    ({"lam": float("nan")}, ValueError, "finite nonzero"),
    ({"gain": {"a": float("nan")}}, ValueError, r"gain\['a'\]: nan is not finite"),
    ({"gain": {"a": "x"}}, TypeError, "expected a number"),
    ({"gain": [0.0, 1.0]}, TypeError, "expected a mapping"),
    ({"k": 31}, ValueError, "cannot select 31"),
])
def test_curriculum_budgets_bad_input(kw, err, match):
    args = {"gain": {"a": 0.0}, "k": 6, **kw}
    with pytest.raises(err, match=match):
        curriculum_budgets(ABC, args.pop("gain"), args.pop("k"), **args)


def test_curriculum_gain_by_hand():
    g = curriculum_gain({"a": 0.1, "b": 0.2, "c": 0.3}, {"a": 2.0, "b": -4.0}, {"a": 3.0, "b": -2.0, "d": 5.0},
                        beta=0.9)
    # a: 0.9·(3−2)/2 + 0.1·0.1; b: 0.9·(−2+4)/4 + 0.1·0.2; c: unchanged; d: no previous U → 0
    assert g == pytest.approx({"a": 0.46, "b": 0.47, "c": 0.3, "d": 0.0})
    assert curriculum_gain({}, {}, {"a": 1.0}) == {"a": 0.0}
    with pytest.raises(ValueError, match="beta"):
        curriculum_gain({}, {}, {}, beta=1.5)
    with pytest.raises(ValueError, match="not finite"):
        curriculum_gain({}, {}, {"a": float("inf")})


def test_domain_utilities_by_hand_and_against_the_selection_objective():
    G = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    A = np.array([[1.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
    # w = (2, 1) on rows 0 and 2 (normalised: e1 and (1, 1)/√2); η = 0.5
    got = domain_utilities(G, A, ["x", "y", "y"], 0.5, [0, 2], [2.0, 1.0])
    r = 1 / np.sqrt(2)
    Q = 0.25 * np.array([[1.0, r], [r, 1.0]])
    w = np.array([2.0, 1.0])
    quad = 0.5 * w @ Q @ w
    cx = 0.5 * np.array([1.0, r]) + 0.125
    cy = 0.5 * np.array([0.0, r]) + 0.125
    assert got == pytest.approx({"x": cx @ w - quad, "y": cy @ w - quad}, rel=1e-12)
    # one domain holding every anchor: the selection's own F(S) at its optimal weights
    G, A = _instance(9)
    u = mo.QuadraticUtility.taylor(G, A, 0.05)
    res = baselines.select("partitionsel-omp", u, ABC, 6)
    one = domain_utilities(G, A, [0] * 5, 0.05, res.indices, res.weights)
    assert one[0] == pytest.approx(res.objective, rel=1e-9)
    with pytest.raises(ValueError, match="2 weights for 1 indices"):
        domain_utilities(G, A, [0] * 5, 0.05, [0], [1.0, 2.0])
    with pytest.raises(ValueError, match="4 labels"):
        domain_utilities(G, A, [0] * 4, 0.05, [0], [1.0])


# ----------------------------------------------------------------------------- gradnorm
@pytest.mark.parametrize("normalize", [True, False])
def test_gradnorm_is_the_top_k_of_the_raw_norms(normalize):
    G, A = _instance(10)
    u = mo.QuadraticUtility.taylor(G, A, 0.05, normalize=normalize)
    expected = np.argsort(-np.linalg.norm(G, axis=1), kind="stable")[:7]
    res = baselines.select("gradnorm", u, ABC, 7, seed=0)
    assert res.indices.tolist() == expected.tolist()
    assert res.objective == pytest.approx(u.value(res.indices), rel=1e-12)
    assert res.counts == {d: int(np.sum(np.asarray(ABC)[expected] == d)) for d in "abc"}
    # from a Gram matrix: its diagonal ranks alike
    K = G @ G.T
    ug = mo.QuadraticUtility.from_gram(K, np.ones(30), 0.1)
    assert baselines.gradnorm(ug, 7).tolist() == expected.tolist()


def test_gradnorm_breaks_ties_at_random_and_reproducibly():
    G, A = _instance(11)
    u = mo.QuadraticUtility.taylor(_unit(G), A, 0.05, normalize=False)  # every norm is 1
    picks = [tuple(baselines.gradnorm(u, 5, seed=s).tolist()) for s in range(6)]
    assert len(set(picks)) > 1
    assert tuple(baselines.gradnorm(u, 5, seed=3).tolist()) == picks[3]
    assert all(len(set(p)) == 5 for p in picks)
    assert baselines.gradnorm(u, 0).tolist() == []
    with pytest.raises(ValueError, match="cannot select 31"):
        baselines.gradnorm(u, 31)


# ----------------------------------------------------------------------------- facloc
def _authors_facloc(S: np.ndarray, candidates: np.ndarray, k: int) -> list:
    """Greedy facility location on the raw similarity as the authors write it: the first pick by
    column sum, then gains Σ_i max(0, S_ij − best_i), over one domain's rows and columns."""
    sub = S[np.ix_(candidates, candidates)]
    chosen = [int(np.argmax(sub.sum(0)))]
    best = sub[:, chosen[0]].copy()
    for _ in range(k - 1):
        gains = np.maximum(sub - best[:, None], 0).sum(0)
        gains[chosen] = -np.inf
        j = int(np.argmax(gains))
        chosen.append(j)
        best = np.maximum(best, sub[:, j])
    return sorted(candidates[chosen].tolist())


def test_facloc_is_the_authors_per_domain_facility_location():
    for seed in range(5):
        G, A = _instance(20 + seed, n=30)
        u = mo.QuadraticUtility.taylor(G, A, 0.05)
        m = mo.make_matroid(ABC, "proportional", 9)
        res = baselines.select("facloc", u, ABC, 9)
        cos = _unit(G) @ _unit(G).T
        labels = np.asarray(ABC)
        for d in "abc":  # equal coverage Σ_{i∈d} max_{j∈S_d} cos_ij (ties are common: compare values)
            rows = np.flatnonzero(labels == d)
            ours = np.intersect1d(res.indices, rows)
            theirs = _authors_facloc(cos, rows, 3)
            assert cos[np.ix_(rows, ours)].max(1).sum() == pytest.approx(cos[np.ix_(rows, theirs)].max(1).sum(),
                                                                         rel=1e-12)
        assert res.counts == dict(zip(m.domains.tolist(), m.budgets.tolist()))
        assert res.objective == pytest.approx(u.value(res.indices), rel=1e-12)
        # the learning rate, the row norms and the representation of Q change nothing
        # (up to ties, frequent in facility location: equal coverage)
        v = mo.QuadraticUtility.taylor(_unit(G) * 5.0, A, 0.7, normalize=False).with_gram()
        other = baselines.select("facloc", v, ABC, 9).indices
        for d in "abc":
            rows = np.flatnonzero(labels == d)
            assert cos[np.ix_(rows, np.intersect1d(other, rows))].max(1).sum() == pytest.approx(
                cos[np.ix_(rows, np.intersect1d(res.indices, rows))].max(1).sum(), rel=1e-12)


def test_facloc_by_hand_and_deterministic():
    G = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0], [0.0, 0.0]])
    u = mo.QuadraticUtility.taylor(G, G[:1], 0.1, normalize=False)
    m = mo.PartitionMatroid([0, 0, 0, 1, 1, 1], {0: 2, 1: 2})
    # domain 0: row 1 covers rows 0 and 1 best, then row 2; domain 1: the zero row has cosine 0
    # with all (similarity ½), so the two unit rows come first
    assert baselines.facloc(u, m).tolist() == [1, 2, 3, 4]
    assert baselines.facloc(u, m).tolist() == baselines.facloc(u, m).tolist()
    with pytest.raises(ValueError, match="5 elements for a pool of 6"):
        baselines.facloc(u, mo.PartitionMatroid([0] * 5, {0: 1}))


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
@pytest.mark.parametrize("method", ["gradnorm", "facloc"])
def test_new_baselines_on_torch_tensors_select_what_numpy_selects(method):
    import torch

    G, A = _instance(12)
    ref = baselines.select(method, mo.QuadraticUtility.taylor(G, A, 0.05), ABC, 6, seed=2)
    res = baselines.select(method, mo.QuadraticUtility.taylor(torch.from_numpy(G), torch.from_numpy(A), 0.05),
                           ABC, 6, seed=2)
    assert res.indices.tolist() == ref.indices.tolist()
    assert res.objective == pytest.approx(ref.objective, rel=1e-10)


def test_every_method_is_feasible_distinct_and_exactly_scored():
    G, A = _instance(13)
    u = mo.QuadraticUtility.taylor(G, A, 0.05)
    for method in baselines.METHODS:
        res = baselines.select(method, u, ABC, 6, seed=1)
        size = 30 if method == "full" else 6
        assert len(set(res.indices.tolist())) == len(res.indices) == size, method
        assert res.objective == pytest.approx(u.value(res.indices), rel=1e-9), method


# ----------------------------------------------------------------------------- the torch selector
@pytest.mark.skipif(not HAS_TORCH or importlib.util.find_spec("transformers") is None,
                    reason="needs torch and transformers")
def test_selector_passes_the_options_through():
    import torch
    from lm_cases import answer_batch, tiny_qwen2

    from matroidomp.torch import PartitionSelector, last_layer_linears
    from matroidomp.torch._selector import select_on_gradients

    domains = torch.tensor([0] * 16 + [1] * 3 + [2] * 13)
    pool, valid = answer_batch(domains, 1), answer_batch([0, 1, 2, 2], 2)
    model = tiny_qwen2()
    names = last_layer_linears(model, 1)
    sel = PartitionSelector(model, names, k=8, minority_full=[1]).select(pool, domains, valid, lr=1e-3)
    assert sel.counts[1] == 3
    balanced = PartitionSelector(model, names, method="partitionsel-omp", k=8, source_balanced_anchors=True)
    with pytest.raises(ValueError, match="under 'domain'"):
        balanced.select(pool, domains, valid, lr=1e-3)
    valid = {**valid, "domain": ["m", "c", "p", "p"]}
    sel = balanced.select(pool, domains, valid, lr=1e-3)
    G, Av = balanced._gradients(pool, valid, None)
    res, _ = select_on_gradients(G, Av, 1e-3, domains, 8, method="partitionsel-omp", budgets="proportional",
                                 seed=0, anchor_domains=["m", "c", "p", "p"], normalize=True)
    assert sel.indices.tolist() == res.indices.tolist() and sel.objective == pytest.approx(res.objective)


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_minority_full_and_curriculum_with_labels_on_a_torch_tensor():
    import torch

    labels = torch.from_numpy(LABELS)
    assert mo.make_matroid(labels, "proportional", 8, minority_full=torch.tensor([1])).budgets.tolist() == [3, 3, 2]
    # k/C − (k/λ)·z = 8/3 − 2·(1.22, 0, −1.22) = (0.22, 2.67, 5.12) → clipped (n_1 = 3), rounded: (0, 3, 5)
    assert curriculum_budgets(labels, {0: 0.1, 1: 0.0, 2: -0.1}, 8, lam=4.0) == {0: 0, 1: 3, 2: 5}


@pytest.mark.skipif(not HAS_TORCH or importlib.util.find_spec("transformers") is None,
                    reason="needs torch and transformers")
def test_selector_runs_the_curriculum_across_steps():
    """PartitionSelector(curriculum=...): each step's budgets are the curriculum's, and the step's
    selection (its utility on every validation domain's anchors) updates the gains."""
    import torch
    from lm_cases import answer_batch, tiny_qwen2

    from matroidomp import Curriculum, curriculum_gain, domain_utilities
    from matroidomp.torch import PartitionSelector, last_layer_linears

    domains = torch.tensor([0] * 12 + [1] * 10 + [2] * 10)
    pool = answer_batch(domains, 1)
    valid = {**answer_batch([0, 1, 2, 2], 2), "domain": [0, 1, 2, 2]}
    model = tiny_qwen2()
    names = last_layer_linears(model, 1)
    cur = Curriculum([0, 1, 2], lam=0.5, seed=3)
    shadow = Curriculum([0, 1, 2], lam=0.5, seed=3)  # the same rule by hand
    s = PartitionSelector(model, names, method="partitionsel-omp", k=9, curriculum=cur)
    for lr in (1e-3, 2e-3, 3e-3):
        expected = shadow.budgets(domains.numpy(), 9)
        sel = s.select(pool, domains, valid, lr=lr)
        assert sel.counts == expected
        G, A = s._gradients(pool, valid, None)
        current = domain_utilities(G, A, valid["domain"], lr, sel.indices, sel.weights, normalize=True)
        shadow.gain = curriculum_gain(shadow.gain, shadow.previous, current, beta=0.9)
        shadow.previous = {**shadow.previous, **current}
        assert cur.gain == pytest.approx(shadow.gain, rel=1e-4) and cur.previous == pytest.approx(shadow.previous, rel=1e-5)
    assert any(g != 0 for g in cur.gain.values())  # the gains moved after the first step
    with pytest.raises(ValueError, match="curriculum: the validation batch needs"):
        s.select(pool, domains, answer_batch([0, 1], 2), lr=1e-3)
    with pytest.raises(ValueError, match="curriculum and minority_full"):
        PartitionSelector(model, names, k=9, curriculum=cur, minority_full=[1])
    with pytest.raises(TypeError, match="expected a matroidomp.Curriculum"):
        PartitionSelector(model, names, k=9, curriculum={"lam": 0.5})
