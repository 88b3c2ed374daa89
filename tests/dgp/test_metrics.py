"""Tests of `dgp.metrics`."""

import numpy as np

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
