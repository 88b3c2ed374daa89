"""Tests of `dgp.pointcloud`."""

import numpy as np
import pytest

from dgp.errors import InputError
from dgp.pointcloud import PointCloud, estimate_noise, unit_frame


def test_noise_estimate_plane(rng):
    plane = np.c_[rng.uniform(size=(4000, 2)), 0.005 * rng.normal(size=4000)]
    assert abs(estimate_noise(plane) / 0.005 - 1) < 0.15
    assert estimate_noise(np.c_[rng.uniform(size=(4000, 2)), np.zeros(4000)]) < 1e-9


def test_unit_frame_roundtrip(rng):
    pts = rng.normal(size=(100, 3)) * 5 + 3
    f = unit_frame(pts)
    u = f.to_unit(pts)
    assert np.isclose(np.linalg.norm(u.max(0) - u.min(0)), 1.0)
    np.testing.assert_allclose(f.from_unit(u), pts)


def test_pointcloud_validation():
    with pytest.raises(InputError, match="shape"):
        PointCloud(np.zeros((4, 2)))
    with pytest.raises(InputError, match="normals must have shape"):
        PointCloud(np.zeros((4, 3)), np.ones((3, 3)))
    c = PointCloud(np.zeros((2, 3)), np.array([[0, 0, 2.0], [3.0, 0, 0]]))
    np.testing.assert_allclose(np.linalg.norm(c.normals, axis=1), 1.0)
