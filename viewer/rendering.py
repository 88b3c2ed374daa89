"""Headless rendering with Open3D's ``OffscreenRenderer`` (CPU Vulkan/Mesa works) and picture layout.

>>> import trimesh
>>> from viewer.rendering import render
>>> img = render([trimesh.creation.icosphere()], size=(160, 120))   # doctest: +SKIP
>>> img.shape                                                        # doctest: +SKIP
(120, 160, 3)
"""

from __future__ import annotations

import numpy as np

BACKGROUND = (1.0, 1.0, 1.0)


def _o3d():
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover
        raise ImportError(f"open3d is needed for rendering ({exc}); run scripts/setup.sh or "
                          "`apt-get install libusb-1.0-0 libvulkan1 mesa-vulkan-drivers && pip install open3d`") from exc
    return o3d


class RendererUnavailable(RuntimeError):
    """No offscreen renderer could start (missing Vulkan/EGL drivers)."""


def to_open3d(obj, color=None, point_size_hint=None):
    """Convert a `trimesh.Trimesh`, a `dgp.PointCloud` or an ``(N, 3)`` array to an Open3D geometry.

    ``color`` is one RGB in [0, 1] or per-vertex/per-point ``(N, 3)`` colours.
    """
    o3d = _o3d()
    if hasattr(obj, "faces"):
        g = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.asarray(obj.vertices, np.float64)),
                                      o3d.utility.Vector3iVector(np.asarray(obj.faces, np.int32)))
        g.compute_vertex_normals()
        vc = None
        if color is None and getattr(obj.visual, "kind", None) in ("vertex", "face"):
            vc = np.asarray(obj.visual.vertex_colors)[:, :3] / 255.0
        if color is not None:
            c = np.asarray(color, np.float64)
            vc = np.tile(c, (len(obj.vertices), 1)) if c.ndim == 1 else c
        if vc is not None:
            g.vertex_colors = o3d.utility.Vector3dVector(vc)
        return g
    pts = np.asarray(getattr(obj, "points", obj), np.float64)
    g = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    normals = getattr(obj, "normals", None)
    if normals is not None:
        g.normals = o3d.utility.Vector3dVector(np.asarray(normals, np.float64))
    c = np.asarray(color if color is not None else (0.25, 0.35, 0.6), np.float64)
    g.colors = o3d.utility.Vector3dVector(np.tile(c, (len(pts), 1)) if c.ndim == 1 else c)
    return g


def _camera(center, radius, azimuth, elevation, fov):
    az, el = np.deg2rad(azimuth), np.deg2rad(elevation)
    direction = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    dist = radius / np.sin(np.deg2rad(fov) / 2) * 0.8  # the bounding sphere is loose: fill the frame
    return center + dist * direction


def render(objects, size=(800, 600), azimuth: float = 0.0, elevation: float = 15.0, fov: float = 30.0,
           point_size: float | None = None, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """Render objects (meshes, clouds, or Open3D geometries) into an image.

    Parameters
    ----------
    objects : list of `trimesh.Trimesh`, `PointCloud`, (N, 3) arrays or Open3D geometries
    size : (width, height) in pixels
    azimuth, elevation : camera direction in degrees around ``up`` (the y axis by default)
    point_size : pixels; default from the image size

    Returns
    -------
    (height, width, 3) uint8 image; the camera frames all objects.
    """
    o3d = _o3d()
    rendering = o3d.visualization.rendering
    w, h = int(size[0]), int(size[1])
    try:
        r = rendering.OffscreenRenderer(w, h)
    except Exception as exc:  # pragma: no cover - depends on drivers
        raise RendererUnavailable(f"Open3D's offscreen renderer could not start ({exc}); install libvulkan1 and "
                                  "mesa-vulkan-drivers (Debian) or run scripts/setup.sh") from exc
    r.scene.set_background([*BACKGROUND, 1.0])
    r.scene.view.set_post_processing(False)
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for i, obj in enumerate(objects):
        g = obj if isinstance(obj, o3d.geometry.Geometry) else to_open3d(obj)
        mat = rendering.MaterialRecord()
        if isinstance(g, o3d.geometry.TriangleMesh):
            mat.shader = "defaultLit"
            if not g.has_vertex_colors():
                mat.base_color = [0.75, 0.75, 0.78, 1.0]
        else:
            mat.shader = "defaultLit" if g.has_normals() else "defaultUnlit"
            mat.point_size = float(point_size or max(1.5, min(w, h) / 300))
        r.scene.add_geometry(f"g{i}", g, mat)
        bb = g.get_axis_aligned_bounding_box()
        lo, hi = np.minimum(lo, bb.min_bound), np.maximum(hi, bb.max_bound)
    center = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-9)
    aspect = w / h
    fov_eff = fov if aspect >= 1 else np.rad2deg(2 * np.arctan(np.tan(np.deg2rad(fov) / 2) * aspect))
    eye = _camera(center, radius, azimuth, elevation, fov_eff)
    r.scene.scene.set_sun_light(list(center - eye), [1.0, 1.0, 1.0], 75000)
    r.scene.scene.enable_sun_light(True)
    r.setup_camera(fov, center.astype(np.float32), eye.astype(np.float32), np.asarray(up, np.float32))
    img = np.asarray(r.render_to_image()).copy()
    del r
    return img


def distance_colors(distances: np.ndarray, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map ``distances (N,)`` to RGB ``(N, 3)`` in [0, 1]: 0 -> the colormap's start, ``vmax`` (and above) -> its end."""
    from matplotlib import colormaps

    t = np.clip(np.asarray(distances, np.float64) / max(vmax, 1e-300), 0.0, 1.0)
    return colormaps[cmap](t)[:, :3]


def mesh_distances(mesh, reference, n_samples: int = 200_000, seed: int = 0) -> np.ndarray:
    """Distance from each vertex of ``mesh`` to the surface of ``reference`` (a mesh, by dense samples), ``(V,)``."""
    from scipy.spatial import cKDTree

    if hasattr(reference, "faces"):
        import trimesh

        pts, _ = trimesh.sample.sample_surface(reference, n_samples, seed=seed)
    else:
        pts = np.asarray(getattr(reference, "points", reference))
    return cKDTree(pts).query(np.asarray(mesh.vertices))[0]


def compose(panels, titles=None, colorbar=None, panel_width: float = 4.0):
    """Lay out rendered images side by side with titles and an optional colour bar.

    ``colorbar`` = (vmax, label, cmap). Returns a matplotlib Figure.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    n = len(panels)
    h, w = panels[0].shape[:2]
    fig, axes = plt.subplots(1, n, figsize=(panel_width * n, panel_width * h / w + 0.5), squeeze=False)
    for ax, img, title in zip(axes[0], panels, titles or [None] * n):
        ax.imshow(img)
        ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=11)
    if colorbar is not None:
        vmax, label, cmap = colorbar
        sm = cm.ScalarMappable(norm=colors.Normalize(0, vmax), cmap=cmap)
        cb = fig.colorbar(sm, ax=axes[0, -1], fraction=0.046, pad=0.02)
        cb.set_label(label)
    fig.tight_layout()
    return fig


def save_png(path, image_or_figure) -> None:
    """Write an ``(H, W, 3)`` uint8 image or a matplotlib Figure to ``path`` atomically."""
    from dgp._atomic import atomic_path

    with atomic_path(path) as tmp:
        if hasattr(image_or_figure, "savefig"):
            image_or_figure.savefig(tmp, dpi=100)
            import matplotlib.pyplot as plt

            plt.close(image_or_figure)
        else:
            import matplotlib.pyplot as plt

            plt.imsave(tmp, np.asarray(image_or_figure))
