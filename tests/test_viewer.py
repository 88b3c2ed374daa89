"""Headless rendering, error colouring and `dgp view`."""

import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from dgp.io import write_mesh


def test_render_known_mesh_in_frame():
    import viewer

    img = viewer.render([trimesh.creation.box(extents=(1, 1, 1))], size=(200, 150), azimuth=30, elevation=20)
    assert img.shape == (150, 200, 3) and img.dtype == np.uint8
    fg = np.any(img < 250, axis=2)
    frac = fg.mean()
    assert 0.05 < frac < 0.9, frac
    ys, xs = np.nonzero(fg)
    assert abs((xs.min() + xs.max()) / 2 - 100) < 20 and abs((ys.min() + ys.max()) / 2 - 75) < 20


def test_cli_screenshot_writes_png(tmp_path):
    write_mesh(tmp_path / "s.ply", trimesh.creation.icosphere())
    bumpy = trimesh.creation.icosphere()
    bumpy.vertices *= 1.05
    write_mesh(tmp_path / "b.obj", bumpy)
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dgp.cli",
            "view",
            str(tmp_path / "b.obj"),
            "--compare",
            str(tmp_path / "s.ply"),
            "--screenshot",
            str(out),
            "--size",
            "300x200",
            "--views",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    from matplotlib.image import imread

    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 0.05


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


def test_cli_screenshot_elevation_and_point_size(tmp_path):
    from matplotlib.image import imread

    write_mesh(tmp_path / "slab.ply", trimesh.creation.box(extents=(2.0, 0.05, 2.0)))
    np.savetxt(tmp_path / "p.xyz", np.random.default_rng(0).uniform(-1, 1, size=(300, 3)))
    cover = {}
    for name, extra in (
        ("side", ["--elevation", "0"]),
        ("top", ["--elevation", "80"]),
        ("dots", ["--point-size", "1"]),
        ("blobs", ["--point-size", "6"]),
    ):
        src = tmp_path / ("p.xyz" if name in ("dots", "blobs") else "slab.ply")
        out = tmp_path / f"{name}.png"
        proc = subprocess.run(
            [sys.executable, "-m", "dgp.cli", "view", str(src), "--screenshot", str(out), "--size", "200x200", *extra],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        cover[name] = (imread(out)[..., :3] < 0.95).any(-1).mean()
    assert cover["top"] > 5 * cover["side"]  # a thin slab seen edge-on, then from above
    assert cover["blobs"] > 4 * cover["dots"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dgp.cli",
            "view",
            str(tmp_path / "p.xyz"),
            "--screenshot",
            str(tmp_path / "x.png"),
            "--point-size",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "--point-size" in proc.stderr


def test_distance_colors_ends_of_scale():
    from matplotlib import colormaps

    from viewer.rendering import distance_colors

    c = distance_colors(np.array([0.0, 0.5, 1.0, 3.0]), vmax=1.0)
    cmap = colormaps["viridis"]
    np.testing.assert_allclose(c[0], cmap(0.0)[:3])
    np.testing.assert_allclose(c[2], cmap(1.0)[:3])
    np.testing.assert_allclose(c[3], c[2])  # clipped above the scale


def test_view_without_display_says_how(tmp_path):
    write_mesh(tmp_path / "s.ply", trimesh.creation.icosphere())
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "view", str(tmp_path / "s.ply")], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2 and "--screenshot" in proc.stderr


def test_view_bad_inputs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "view", str(tmp_path / "none.ply"), "--screenshot", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "view", "a.ply", "--size", "big"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "--size" in proc.stderr


def test_error_colours_measure_what_dgp_evaluate_measures():
    # a vertex 0.1 above the centre of a unit square's face is 0.1 from the surface; the nearest
    # vertex of a sampled surface would put it further, and its colour would disagree with `dgp evaluate`
    import trimesh

    from dgp.metrics import surface_distances
    from viewer.rendering import mesh_distances

    box = trimesh.creation.box(extents=(1, 1, 1))
    probe = trimesh.Trimesh([[0, 0, 0.6], [0.2, 0.1, -0.8], [0.5, 0.5, 0.5]], [[0, 1, 2]], process=False)
    d = mesh_distances(probe, box)
    assert np.allclose(d, [0.1, 0.3, 0.0], atol=1e-6)
    assert np.allclose(d, surface_distances(box, probe.vertices)[0])
