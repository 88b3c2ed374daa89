"""Headless rendering, error colouring and `dgp view`."""

import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from dgp.io import write_mesh

PROBE = "import trimesh; from viewer.rendering import render; render([trimesh.creation.icosphere()], size=(64, 48))"


def _renderer_reason():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return f"Open3D's offscreen renderer cannot start here: {proc.stderr.strip().splitlines()[-1:]}"
    return None


_REASON = _renderer_reason()
needs_renderer = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@needs_renderer
def test_render_known_mesh_in_frame():
    import viewer

    img = viewer.render([trimesh.creation.box(extents=(1, 1, 1))], size=(200, 150), azimuth=30, elevation=20)
    assert img.shape == (150, 200, 3) and img.dtype == np.uint8
    fg = np.any(img < 250, axis=2)
    frac = fg.mean()
    assert 0.05 < frac < 0.9, frac
    ys, xs = np.nonzero(fg)
    assert abs((xs.min() + xs.max()) / 2 - 100) < 20 and abs((ys.min() + ys.max()) / 2 - 75) < 20


@needs_renderer
def test_cli_screenshot_writes_png(tmp_path):
    write_mesh(tmp_path / "s.ply", trimesh.creation.icosphere())
    bumpy = trimesh.creation.icosphere()
    bumpy.vertices *= 1.05
    write_mesh(tmp_path / "b.obj", bumpy)
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "view", str(tmp_path / "b.obj"), "--compare",
                           str(tmp_path / "s.ply"), "--screenshot", str(out), "--size", "300x200", "--views", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from matplotlib.image import imread

    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 0.05


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
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "view", str(tmp_path / "s.ply")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "--screenshot" in proc.stderr


def test_view_bad_inputs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "view", str(tmp_path / "none.ply"), "--screenshot",
                           str(tmp_path / "o.png")], capture_output=True, text=True)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "view", "a.ply", "--size", "big"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--size" in proc.stderr
