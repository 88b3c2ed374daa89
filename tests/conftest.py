import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _sphere_points(n, rng, noise=0.0, radius=1.0):
    """(n, 3) points on a sphere (with Gaussian noise) and their (n, 3) outward normals."""
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return radius * d + noise * rng.normal(size=(n, 3)), d


@pytest.fixture(scope="session")
def sphere_points():
    """``sphere_points(n, rng, noise=0, radius=1) -> (points (n, 3), normals (n, 3))``."""
    return _sphere_points


def _astronaut(size=32):
    """A (3, size, size) float32 crop of scikit-image's astronaut in [0, 1]."""
    from skimage import data
    from skimage.transform import resize

    img = resize(data.astronaut()[100:356, 150:406], (size, size), anti_aliasing=True)
    return img.transpose(2, 0, 1).astype(np.float32)


@pytest.fixture(scope="session")
def astronaut():
    """``astronaut(size) -> (3, size, size)`` float32 image in [0, 1]."""
    return _astronaut


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray instance for the whole test run (2 CPUs, a 200 MB object store), shut down
    at its end; `dgp.cluster.connect` uses it instead of starting its own. Skips without Ray."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
