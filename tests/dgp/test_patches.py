"""Tests of `dgp.patches`."""

import numpy as np
import pytest

from dgp.patches import blue_noise_uv, make_patches, poisson_disk


def test_poisson_disk_spacing_and_cover(rng):
    pts = rng.uniform(size=(3000, 3))
    idx = poisson_disk(pts, 0.15, seed=0)
    from scipy.spatial import cKDTree

    d = cKDTree(pts[idx]).query(pts[idx], k=2)[0][:, 1]
    assert d.min() > 0.15
    assert cKDTree(pts[idx]).query(pts)[0].max() <= 0.15


def test_blue_noise_is_more_even_than_uniform(rng):
    from scipy.spatial import cKDTree

    uv = blue_noise_uv(400, rng)
    uni = rng.uniform(size=(400, 2))
    nn_blue = cKDTree(uv).query(uv, k=2)[0][:, 1]
    nn_uni = cKDTree(uni).query(uni, k=2)[0][:, 1]
    assert uv.min() >= 0 and uv.max() <= 1
    assert nn_blue.min() > 2 * nn_uni.min() and nn_blue.std() < nn_uni.std()


def test_threaded_blue_noise_is_the_serial_one():
    from dgp.patches import _blue_noise_many

    sizes = [5, 130, 1, 64, 200, 33, 90]
    rng = np.random.default_rng(3)
    serial = [blue_noise_uv(n, rng) for n in sizes]
    threaded = _blue_noise_many(sizes, np.random.default_rng(3), workers=3, group=2)
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded)) and len(threaded) == len(sizes)
    pts, nrm = _plane(np.random.default_rng(0), n=1500, noise=0.01)
    one, many = (make_patches(pts, nrm, radius=0.2, padding=1.5, min_points=10, seed=1, workers=w) for w in (1, 4))
    assert np.array_equal(one.uv, many.uv) and np.array_equal(one.index, many.index)


def _plane(rng, n=2000, noise=0.0):
    pts = np.c_[rng.uniform(-1, 1, size=(n, 2)), noise * rng.normal(size=n)]
    return pts, np.tile([0.0, 0.0, 1.0], (n, 1))


def test_patches_cover_and_frames(rng):
    pts, nrm = _plane(rng)
    p = make_patches(pts, nrm, radius=0.3, padding=1.5, min_points=10, seed=0)
    assert p.covered(len(pts)).all()
    assert np.array_equal(p.mask, np.arange(p.index.shape[1])[None] < p.counts[:, None])
    loc = p.to_local(pts)
    assert np.abs(np.linalg.norm(loc, axis=-1)[p.mask]).max() <= 1 + 1e-9
    np.testing.assert_allclose(p.to_world(loc)[p.mask], pts[p.index][p.mask], atol=1e-12)
    # the third local axis of a plane patch is the plane normal, on the normals' side
    np.testing.assert_allclose(p.rotation[:, 2], np.tile([0, 0, 1.0], (len(p), 1)), atol=1e-9)
    # and the plane's normal, turned into every frame, is that frame's third axis
    nloc = p.directions_to_local(nrm)
    np.testing.assert_allclose(nloc[p.mask], np.tile([0, 0, 1.0], (p.mask.sum(), 1)), atol=1e-9)
    assert not nloc[~p.mask].any()
    assert np.allclose([np.linalg.det(r) for r in p.rotation], 1)


def test_patches_respect_normal_angle(rng):
    # two parallel sheets with opposite normals, closer than the patch radius: never mixed
    a, _ = _plane(rng, 1000)
    b = a.copy()
    b[:, 2] += 0.05
    pts = np.r_[a, b]
    nrm = np.r_[np.tile([0, 0, -1.0], (1000, 1)), np.tile([0, 0, 1.0], (1000, 1))]
    p = make_patches(pts, nrm, radius=0.3, padding=1.5, min_points=10, angle=60, seed=0)
    for row, m in zip(p.index, p.mask):
        sides = set((row[m] >= 1000).tolist())
        assert len(sides) == 1


def test_patches_cover_every_point_within_the_core(rng):
    # a thin fin: two sheets 0.05 apart with opposite normals; with cover=1 every point lies
    # within r of the centre of a patch that holds it, not only somewhere in a padded patch
    a, _ = _plane(rng, 1500)
    pts = np.r_[a, a + [0, 0, 0.05]]
    nrm = np.r_[np.tile([0, 0, -1.0], (1500, 1)), np.tile([0, 0, 1.0], (1500, 1))]
    r = 0.2
    loose = make_patches(pts, nrm, radius=r, padding=1.5, min_points=10, angle=60, seed=0)
    tight = make_patches(pts, nrm, radius=r, padding=1.5, min_points=10, angle=60, seed=0, cover=1.0)
    assert len(tight) >= len(loose)

    def core_covered(p):
        ok = np.zeros(len(pts), dtype=bool)
        for c, row, m in zip(p.centers, p.index, p.mask):
            near = row[m][np.linalg.norm(pts[row[m]] - pts[c], axis=1) <= r + 1e-12]
            ok[near] = True
        return ok

    assert core_covered(tight).all()


def test_auto_radius_follows_spacing_and_noise(rng):
    """A dense clean scan gets small patches (detail), a sparse or noisy one large patches
    (averaging), within the documented bounds."""
    from dgp.patches import MAX_RADIUS, MIN_RADIUS, auto_radius, surface_spacing

    def plane(n, noise):
        return np.c_[rng.uniform(size=(n, 2)), noise * rng.normal(size=n)] / np.sqrt(2)

    dense, sparse = surface_spacing(plane(100_000, 0)), surface_spacing(plane(5_000, 0))
    assert dense == pytest.approx(np.sqrt(0.5 / 100_000), rel=0.15)  # side of the area per point
    assert sparse > 3 * dense
    assert MIN_RADIUS <= auto_radius(dense, 0.0) < auto_radius(sparse, 0.0) <= MAX_RADIUS
    assert auto_radius(dense, 0.0) < auto_radius(dense, 0.003)  # noise widens the patches
    assert auto_radius(1e-9, 0.0) == MIN_RADIUS and auto_radius(1.0, 1.0) == MAX_RADIUS


def test_uv_from_the_points_is_their_tangent_coordinates_and_matches_them_as_they_are(rng):
    from dgp.fit import _tangent_matching

    pts, nrm = _plane(rng, n=1500, noise=0.01)
    p = make_patches(pts, nrm, radius=0.3, padding=1.5, min_points=10, seed=0, uv_from="points")
    blue = make_patches(pts, nrm, radius=0.3, padding=1.5, min_points=10, seed=0)
    assert np.array_equal(p.index, blue.index) and not np.allclose(p.uv[p.mask], blue.uv[blue.mask])
    loc = p.to_local(pts)
    for i in range(len(p)):
        n = p.counts[i]
        uv, xy = p.uv[i, :n], loc[i, :n, :2]
        assert uv.min() == 0 and uv.max() == 1  # scaled to the unit square
        # an axis-aligned affine map of the tangent coordinates: it keeps their order on each axis
        for a in (0, 1):
            np.testing.assert_allclose(np.polyfit(xy[:, a], uv[:, a], 1, full=True)[1], 0, atol=1e-18)
    # the fit's first matching (uv spread over the tangent box against the points) is the identity
    idx = _tangent_matching(p.uv, loc, p.counts, "lsa")
    assert np.array_equal(idx[p.mask], np.tile(np.arange(p.index.shape[1]), (len(p), 1))[p.mask])
    with pytest.raises(ValueError, match="uv_from"):
        make_patches(pts, nrm, radius=0.3, uv_from="grid")
