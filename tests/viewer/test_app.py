"""Tests of `viewer.app`."""

import os
import subprocess
import sys

import numpy as np
import trimesh

from dgp.io import write_mesh


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


def test_window_objects_show_a_state_with_its_points_and_subsample_huge_clouds(tmp_path, capsys):
    import numpy as np

    import dgp
    from dgp.io import write_points
    from dgp.pointcloud import PointCloud
    from viewer.app import window_objects

    rng = np.random.default_rng(0)
    d = rng.normal(size=(800, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    cfg = dgp.ReconstructionConfig(radius=0.3, local_steps=5, consistency_steps=0, progress=False)
    dgp.reconstruct(PointCloud(d, d), cfg).save(tmp_path / "fit.pt")
    write_points(tmp_path / "big.ply", PointCloud(rng.normal(size=(5000, 3))))
    objs = window_objects([tmp_path / "fit.pt", tmp_path / "big.ply"], max_points=1000)
    names = [n for n, _ in objs]
    assert names == ["fit.pt charts", "fit.pt input points", "big.ply"]
    assert len(objs[1][1]) == 800 and len(objs[2][1]) == 1000
    assert "showing 1,000 of its 5,000 points" in capsys.readouterr().err
