"""Tests of `viewer.rendering`."""

import numpy as np
import pytest
import trimesh


def test_render_known_mesh_in_frame():
    import viewer

    img = viewer.render([trimesh.creation.box(extents=(1, 1, 1))], size=(200, 150), azimuth=30, elevation=20)
    assert img.shape == (150, 200, 3) and img.dtype == np.uint8
    fg = np.any(img < 250, axis=2)
    frac = fg.mean()
    assert 0.05 < frac < 0.9, frac
    ys, xs = np.nonzero(fg)
    assert abs((xs.min() + xs.max()) / 2 - 100) < 20 and abs((ys.min() + ys.max()) / 2 - 75) < 20


def test_render_is_deterministic_and_the_sphere_has_its_analytic_size():
    from viewer.rendering import _camera, render

    sphere = trimesh.creation.icosphere(subdivisions=5)
    img = render([sphere], size=(200, 200), azimuth=0, elevation=0, fov=30)
    assert np.array_equal(img, render([sphere], size=(200, 200), azimuth=0, elevation=0, fov=30))
    fg = np.any(img < 250, axis=2)
    # the camera frames the bounding box (radius sqrt 3); the unit sphere then subtends asin(1 / D)
    D = np.linalg.norm(_camera(np.zeros(3), np.sqrt(3), 0, 0, 30))
    r_px = np.tan(np.arcsin(1 / D)) / np.tan(np.deg2rad(15)) * 100
    assert abs(fg.sum() / (np.pi * r_px**2) - 1) < 0.03, (fg.sum(), np.pi * r_px**2)
    ys, xs = np.nonzero(fg)
    assert abs(xs.mean() - 99.5) < 1 and abs(ys.mean() - 99.5) < 1
    # lit from above-left of the camera: the upper left of the sphere is brighter than the lower right
    lum = img.astype(float).sum(2)
    assert lum[70, 70] > lum[130, 130] + 30


def test_render_depth_order_and_colours():
    from viewer.rendering import render, to_open3d

    box = trimesh.creation.box(extents=(1, 1, 1))
    red = trimesh.creation.box(extents=(1, 1, 1))
    red.visual.vertex_colors = [255, 0, 0, 255]
    cloud = np.array([[0.0, 0.0, 1.5], [0.0, 0.0, -1.5]])  # in front of and behind the box
    dots = to_open3d(cloud, color=np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    img = render([box, dots], size=(120, 120), azimuth=0, elevation=0, point_size=9).astype(int)
    c = img[60, 60]
    assert c[1] > 200 and c[0] < 60 and c[2] < 60  # the green point in front covers the box
    blue = (img[..., 2] > 150) & (img[..., 0] < 80) & (img[..., 1] < 80)
    assert not blue.any()  # the one behind is hidden
    img = render([red], size=(80, 80), azimuth=30, elevation=20).astype(int)
    fg = np.any(img < 250, axis=2)
    assert (img[fg][:, 0] > img[fg][:, 1] + 40).mean() > 0.95  # vertex colours reach the picture


def test_points_splatted_in_chunks_give_the_same_picture(monkeypatch):
    import viewer.rendering as R

    rng = np.random.default_rng(1)
    pts = rng.normal(size=(3000, 3))
    objs = [R.to_open3d(pts, color=rng.uniform(size=(3000, 3))), trimesh.creation.box(extents=(1, 1, 1))]
    whole = R.render(objs, size=(90, 60), azimuth=20)
    monkeypatch.setattr(R, "SPLAT_CHUNK", 257)
    assert np.array_equal(whole, R.render(objs, size=(90, 60), azimuth=20))


def test_render_line_sets():
    import open3d as o3d

    from viewer.rendering import render

    ls = o3d.geometry.LineSet(
        o3d.utility.Vector3dVector(np.array([[-1.0, 0, 0], [1.0, 0, 0], [0, -1.0, 0], [0, 1.0, 0]])),
        o3d.utility.Vector2iVector(np.array([[0, 1], [2, 3]])),
    )
    img = render([ls], size=(100, 100), azimuth=0, elevation=0)
    dark = img.sum(2) < 300
    assert dark[50, 10:90].mean() > 0.9 and dark[10:90, 50].mean() > 0.9  # a cross through the centre
    assert dark.mean() < 0.1
    with pytest.raises(ValueError, match="empty"):
        render([np.zeros((0, 3))])
