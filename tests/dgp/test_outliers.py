"""The outlier filter (`dgp.pointcloud.find_outliers`, `remove_outliers`):
stray points off curved, creased and noisy surfaces are dropped; the surface's own points stay."""

import numpy as np
import pytest
import trimesh

from dgp.io import noisy_scan
from dgp.patches import surface_spacing
from dgp.pointcloud import (
    OUTLIER_ISOLATION,
    OUTLIER_SPACING,
    PointCloud,
    estimate_noise,
    find_outliers,
    outlier_measures,
    remove_outliers,
    unit_frame,
)

#: the threshold the tests use when the package's default leaves the filter off
FACTOR = 4.5


def _strays(points, n, lo, hi, seed):
    """``n`` points ``lo``-``hi`` (fractions of the diagonal) from random points of ``points``."""
    rng = np.random.default_rng(seed)
    diag = float(np.linalg.norm(points.max(0) - points.min(0)))
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return points[rng.choice(len(points), n, replace=False)] + d * rng.uniform(lo, hi, (n, 1)) * diag


def _mask(points):
    unit = unit_frame(points).to_unit(points)
    return find_outliers(unit, estimate_noise(unit), surface_spacing(unit), FACTOR, OUTLIER_SPACING, OUTLIER_ISOLATION)


@pytest.mark.parametrize("noise", [0.0, 0.0025])
def test_strays_off_a_torus_are_dropped_and_its_points_kept(noise):
    mesh = trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=96, minor_sections=48)
    scan = noisy_scan(mesh, 20000, noise, seed=3).points
    stray = _strays(scan, 100, 0.03, 0.08, seed=1)  # 0.03 of the diagonal: over 10x the noise
    mask = _mask(np.vstack([scan, stray]))
    assert mask[len(scan) :].mean() >= 0.8  # a few land on the other side of the tube, near its surface
    assert mask[: len(scan)].sum() <= 0.001 * len(scan)


def test_a_clean_crease_is_not_read_as_outliers():
    # a box's edges and corners bend a quadric fit far more than a clean scan's noise (none)
    scan = noisy_scan(trimesh.creation.box(extents=(1.0, 0.6, 0.4)), 20000, 0.0, seed=0).points
    assert _mask(scan).sum() <= 0.001 * len(scan)


def test_a_stray_neighbour_does_not_bend_the_fit_of_its_neighbours():
    rng = np.random.default_rng(0)
    plane = np.c_[rng.uniform(size=(2000, 2)), 0.001 * rng.normal(size=2000)]
    plane[:3, 2] = 0.05
    d, _, _ = outlier_measures(plane)
    assert (d[:3] > 0.045).all() and d[3:].max() < 0.01


def test_a_factor_of_zero_keeps_everything():
    pts = np.random.default_rng(0).normal(size=(500, 3))
    assert not find_outliers(pts, 0.01, 0.1, 0.0, OUTLIER_SPACING, OUTLIER_ISOLATION).any()


def test_remove_outliers_keeps_normals_with_their_points():
    rng = np.random.default_rng(0)
    plane = np.c_[rng.uniform(size=(3000, 2)), 0.002 * rng.normal(size=3000)]
    far = np.array([[0.5, 0.5, 0.3], [0.2, 0.7, -0.25]])
    pts = np.vstack([plane, far])
    normals = np.tile([0.0, 0.0, 1.0], (len(pts), 1))
    normals[-2:] = [1.0, 0.0, 0.0]
    kept, dropped = remove_outliers(PointCloud(pts, normals), FACTOR)
    assert dropped == 2 and len(kept) == 3000
    assert np.allclose(kept.normals, [0.0, 0.0, 1.0])


def test_far_strays_among_themselves_are_found_by_their_isolation():
    # a cluster of stray returns far off: each one's neighbours are the others, which a quadric
    # can pass through, but they are far more isolated than any surface point
    scan = noisy_scan(trimesh.creation.icosphere(subdivisions=5), 20000, 0.002, seed=0).points
    rng = np.random.default_rng(2)
    far = rng.uniform(-6.0, 6.0, size=(30, 3))
    far = far[np.linalg.norm(far, axis=1) > 3.0]
    mask = _mask(np.vstack([scan, far]))
    assert mask[len(scan) :].all() and mask[: len(scan)].sum() <= 0.001 * len(scan)


def test_sparse_parts_of_a_clean_scan_are_kept():
    # density falling 100x along one axis: the box's edges at the sparse end bend a quadric more
    # (90 points past a threshold of the median spacing), which the local spacing allows for
    pts = noisy_scan(trimesh.creation.box(extents=(1.0, 0.6, 0.4)), 120000, 0.0, seed=1).points
    t = (pts[:, 0] - pts[:, 0].min()) / np.ptp(pts[:, 0])
    rng = np.random.default_rng(0)
    pts = pts[rng.uniform(size=len(pts)) < 100.0**-t]
    assert _mask(pts).sum() <= 0.001 * len(pts)


def test_threads_give_the_same_measures():
    pts = noisy_scan(trimesh.creation.icosphere(subdivisions=4), 30000, 0.003, seed=4).points
    one = outlier_measures(pts, chunk=4000)
    two = outlier_measures(pts, chunk=4000, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_info_measures_the_cloud_reconstruct_fits_without_its_strays():
    """`dgp info` (`describe`) reads the noise, the spacing and the settings they call for off the cloud
    the filter keeps, in its frame, as `reconstruct` does: a few far strays, which stretch the box,
    change none of them; measured with the strays kept (``outliers=0``) the radius fraction shrinks."""
    from dgp.io import describe

    mesh = trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=96, minor_sections=48)
    scan = noisy_scan(mesh, 20000, 0.0025, seed=3).points
    far = np.array([[3.0, 0, 0], [0, 3, 0], [0, 0, 2], [-3, 0, 0], [0, -3, 0], [0, 0, -2]])  # beyond the box
    clean, dirty = describe(PointCloud(scan)), describe(PointCloud(np.vstack([scan, far])))
    assert dirty["stray_points"] == clean["stray_points"] + 6 and dirty["diagonal"] > 1.2 * clean["diagonal"]
    assert dirty["kept_diagonal"] == pytest.approx(clean["kept_diagonal"])
    keys = ("noise_rms", "spacing", "auto_radius_of_diagonal", "auto_normal_weight", "auto_local_steps")
    assert {k: dirty[k] for k in keys} == pytest.approx({k: clean[k] for k in keys}, rel=0.01)
    unfiltered = describe(PointCloud(np.vstack([scan, far])), outliers=0)
    assert unfiltered["stray_points"] == 0
    assert unfiltered["auto_radius_of_diagonal"] < 0.9 * clean["auto_radius_of_diagonal"]
