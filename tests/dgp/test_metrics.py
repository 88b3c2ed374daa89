"""Tests of `dgp.metrics`."""

import numpy as np
import pytest

from dgp.metrics import compare_points


def test_metrics_analytic(rng):
    a = np.c_[rng.uniform(size=(4000, 2)), np.zeros(4000)]
    shifted = a + [0, 0, 0.01]
    r = compare_points(shifted, a, diagonal=1.0)
    assert np.isclose(r["chamfer_l1"], 0.01) and np.isclose(r["hausdorff"], 0.01)
    assert np.isclose(r["chamfer_l2"], 1e-4)
    assert r["fscore"] == 0.0 and compare_points(shifted, a, threshold=0.02, diagonal=1.0)["fscore"] == 1.0
    n = np.tile([0, 0, 1.0], (4000, 1))
    assert np.isclose(compare_points(a, a, n, n)["normal_consistency"], 1.0)


def test_mesh_metrics_are_exact_point_to_surface():
    import trimesh

    from dgp.metrics import compare_meshes

    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    same = compare_meshes(box, box, n_samples=20000)
    assert same["chamfer_l1"] < 1e-6 and same["hausdorff"] < 1e-5 and same["fscore"] == 1.0
    assert np.isclose(same["normal_consistency"], 1.0)
    # point to point between two sample sets does not reach 0: the sampling floor
    assert compare_meshes(box, box, n_samples=20000, exact=False)["chamfer_l1"] > 1e-3
    # a unit square and its copy lifted by 0.01 along its normal: every distance is 0.01 (the
    # reference's diagonal is sqrt 2), where a point-to-point comparison would add its floor
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]])
    square = trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False)
    lifted = trimesh.Trimesh(v + [0, 0, 0.01], [[0, 1, 2], [0, 2, 3]], process=False)
    r = compare_meshes(lifted, square, n_samples=20000)
    assert np.isclose(r["chamfer_l1"], 0.01 / np.sqrt(2), rtol=1e-4)
    assert np.isclose(r["hausdorff"], 0.01 / np.sqrt(2), rtol=1e-4)
    assert np.isclose(r["normal_consistency"], 1.0)


def test_scan_distances_see_holes_and_spurious_surface():
    """Against its own scan, a mesh with a hole reads a large scan->mesh max and boundary edges;
    a mesh with extra surface reads a large mesh->scan p99; a faithful one reads neither."""
    import trimesh

    from dgp.metrics import scan_distances

    sphere = trimesh.creation.icosphere(subdivisions=4)
    scan = trimesh.sample.sample_surface(sphere, 5000, seed=0)[0]
    good = scan_distances(sphere, scan, n_samples=5000)
    assert good["scan_to_mesh_mean"] < 0.01 and good["boundary_edges"] == 0
    assert good["scan_to_mesh_mean_diag"] == pytest.approx(good["scan_to_mesh_mean"] / good["diagonal"])
    holed = sphere.copy()
    holed.update_faces(holed.triangles_center[:, 2] < 0.7)  # the cap above z = 0.7 cut away
    bad = scan_distances(holed, scan, n_samples=5000)
    assert bad["boundary_edges"] > 0 and bad["scan_to_mesh_max"] > 0.2 > good["scan_to_mesh_max"]
    extra = trimesh.util.concatenate(
        [sphere, trimesh.creation.box(extents=(0.5, 0.5, 0.5)).apply_translation((3, 0, 0))]
    )
    assert scan_distances(extra, scan, n_samples=5000)["mesh_to_scan_p99"] > 1.0 > good["mesh_to_scan_p99"]
