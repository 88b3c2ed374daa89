import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def sphere_points(n, rng, noise=0.0, radius=1.0):
    """(n, 3) points on a sphere (with Gaussian noise) and their (n, 3) outward normals."""
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return radius * d + noise * rng.normal(size=(n, 3)), d
