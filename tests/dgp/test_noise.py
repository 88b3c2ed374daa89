"""The noise estimator on scans whose noise is known: curvature, uneven density, misregistered
sweeps, noise comparable to the spacing. The stopping rule, the patch radius and the trim lean on it."""

import numpy as np
import pytest
import trimesh

from dgp.io import noisy_scan
from dgp.pointcloud import estimate_noise, unit_frame


def _unit(points):
    return unit_frame(points).to_unit(points)


@pytest.mark.parametrize("noise", [0.001, 0.0025, 0.005, 0.01])
def test_curved_surface_reads_its_noise(noise):
    """A torus (two curvatures) at 20,000 points: within 15% of the noise (per coordinate, which is
    also the noise along the normal), where a plane fit read curvature as noise."""
    mesh = trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=96, minor_sections=48)
    scan = noisy_scan(mesh, 20000, noise, seed=3)
    assert estimate_noise(_unit(scan.points)) == pytest.approx(noise, rel=0.15)


def test_noise_free_curved_surface_reads_almost_none():
    scan = noisy_scan(trimesh.creation.icosphere(subdivisions=5), 20000, 0.0, seed=0)
    assert estimate_noise(_unit(scan.points)) < 2e-4  # the plane-based estimate read about 1e-3


def test_uneven_density(rng):
    """A dense strip through a sparse plane: the density does not change the reading."""
    sparse = rng.uniform(size=(3000, 2))
    strip = np.c_[rng.uniform(size=20000), 0.45 + 0.1 * rng.uniform(size=20000)]
    uv = np.r_[sparse, strip]
    pts = np.c_[uv, 0.4 * np.sin(3 * uv[:, 0])] + 0.004 * rng.normal(size=(len(uv), 3))
    assert estimate_noise(pts) == pytest.approx(0.004, rel=0.15)


def test_misregistered_sweeps(rng):
    """Two sweeps of one surface offset by d along its normal read as noise of about
    sqrt(sigma² + d²/4), the spread of the points about their middle surface."""
    sigma, d = 0.002, 0.004
    sweeps = []
    for off in (-d / 2, d / 2):
        uv = rng.uniform(size=(10000, 2))
        normal = np.c_[-0.4 * uv[:, 0], np.zeros(10000), np.ones(10000)]  # of z = 0.2 x²
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        surface = np.c_[uv, 0.2 * uv[:, 0] ** 2]
        sweeps.append(surface + off * normal + sigma * rng.normal(size=(10000, 3)))
    assert estimate_noise(np.concatenate(sweeps)) == pytest.approx(np.hypot(sigma, d / 2), rel=0.15)


def test_seeded():
    scan = noisy_scan(trimesh.creation.icosphere(subdivisions=4), 8000, 0.003, seed=1)
    assert estimate_noise(scan.points, seed=5) == estimate_noise(scan.points, seed=5)
