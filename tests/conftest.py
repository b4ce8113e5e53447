import numpy as np
import pytest

import matroidomp as mo


def random_instance(rng, n, d, n_domains, k, normalize=True):
    """Row-normalised Gaussian gradients, random labels, proportional budgets."""
    G = rng.standard_normal((n, d))
    if normalize:
        G /= np.linalg.norm(G, axis=1, keepdims=True)
    b = rng.standard_normal(d)
    labels = rng.integers(0, n_domains, n)
    matroid = mo.PartitionMatroid(labels, mo.proportional_budgets(labels, k))
    return G, b, labels, matroid


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
