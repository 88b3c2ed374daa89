"""Headless rendering on the CPU (Open3D's Embree ray caster for meshes, disc splats for points
and lines) and picture layout.

Open3D's ``OffscreenRenderer`` (Filament) on a machine without a GPU runs on Mesa's llvmpipe and
there stalled for seconds to minutes on some views (multisampled frames, a process's later
pictures); ray casting keeps no such state and gives the same picture for the same input.

>>> import trimesh
>>> from viewer.rendering import render
>>> img = render([trimesh.creation.icosphere()], size=(160, 120))
>>> img.shape, img.dtype.name
((120, 160, 3), 'uint8')
"""

from __future__ import annotations

import numpy as np

BACKGROUND = (1.0, 1.0, 1.0)


def _o3d():
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            f"open3d is needed for rendering ({exc}); run scripts/setup.sh or "
            "`apt-get install libusb-1.0-0 libvulkan1 mesa-vulkan-drivers && pip install open3d`"
        ) from exc
    return o3d


class RendererUnavailable(RuntimeError):
    """This Open3D cannot render (no ray caster)."""


def to_open3d(obj, color=None, point_size_hint=None):
    """Convert a `trimesh.Trimesh`, a `dgp.PointCloud` or an ``(N, 3)`` array to an Open3D geometry.

    ``color`` is one RGB in [0, 1] or per-vertex/per-point ``(N, 3)`` colours.
    """
    o3d = _o3d()
    if hasattr(obj, "faces"):
        g = o3d.geometry.TriangleMesh(
            o3d.utility.Vector3dVector(np.asarray(obj.vertices, np.float64)),
            o3d.utility.Vector3iVector(np.asarray(obj.faces, np.int32)),
        )
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
    c = np.asarray(color if color is not None else CLOUD_COLOR, np.float64)
    g.colors = o3d.utility.Vector3dVector(np.tile(c, (len(pts), 1)) if c.ndim == 1 else c)
    return g


#: Rays per pixel side: pictures are rendered at this multiple of their size and box-filtered down.
SUPERSAMPLE = 2
#: Points splatted at a time (bounds the memory of one pass, whatever the size of the cloud).
SPLAT_CHUNK = 100_000
#: Grey of meshes without vertex colours; blue of clouds without colours.
MESH_COLOR, CLOUD_COLOR = (0.75, 0.75, 0.78), (0.25, 0.35, 0.6)


def _camera(center, radius, azimuth, elevation, fov):
    """Eye position looking at ``center`` from ``azimuth``/``elevation`` (degrees, about the y axis)
    at a distance where a sphere of ``radius`` about fills the field of view ``fov``."""
    az, el = np.deg2rad(azimuth), np.deg2rad(elevation)
    direction = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    dist = radius / np.sin(np.deg2rad(fov) / 2) * 0.8  # the bounding sphere is loose: fill the frame
    return center + dist * direction


def _arrays(g):
    """``(kind, dict of float arrays)`` of an Open3D mesh, point cloud or line set."""
    o3d = _o3d()
    if isinstance(g, o3d.geometry.TriangleMesh):
        if not g.has_vertex_normals():
            g = o3d.geometry.TriangleMesh(g)
            g.compute_vertex_normals()
        v = np.asarray(g.vertices, np.float64)
        c = np.asarray(g.vertex_colors, np.float64) if g.has_vertex_colors() else np.tile(MESH_COLOR, (len(v), 1))
        return "mesh", {
            "vertices": v,
            "triangles": np.asarray(g.triangles, np.int64),
            "colors": c,
            "normals": np.asarray(g.vertex_normals, np.float64),
        }
    if isinstance(g, o3d.geometry.PointCloud):
        p = np.asarray(g.points, np.float64)
        c = np.asarray(g.colors, np.float64) if g.has_colors() else np.tile(CLOUD_COLOR, (len(p), 1))
        return "points", {
            "points": p,
            "colors": c,
            "normals": np.asarray(g.normals, np.float64) if g.has_normals() else None,
        }
    if isinstance(g, o3d.geometry.LineSet):
        p, ln = np.asarray(g.points, np.float64), np.asarray(g.lines, np.int64)
        c = np.asarray(g.colors, np.float64) if g.has_colors() else np.zeros((len(ln), 3))
        return "lines", {"points": p, "lines": ln, "colors": c}
    raise TypeError(f"cannot render a {type(g).__name__}; give meshes, point clouds or line sets")


def _shade(normals, colors, view, light):
    """Two-sided Lambert plus a little Blinn-Phong: ``normals, colors, view (n, 3)`` (view: unit
    vectors towards the eye), ``light (3,)`` unit -> ``(n, 3)`` RGB in [0, 1]."""
    n = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    n = np.where((n * view).sum(1, keepdims=True) < 0, -n, n)  # light the side that faces the eye
    diffuse = np.clip(n @ light, 0.0, 1.0)[:, None]
    half = light + view
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
    spec = np.clip((n * half).sum(1), 0.0, 1.0)[:, None] ** 32
    return np.clip(colors * (0.3 + 0.7 * diffuse) + 0.15 * spec, 0.0, 1.0)


def render(
    objects,
    size=(800, 600),
    azimuth: float = 0.0,
    elevation: float = 15.0,
    fov: float = 30.0,
    point_size: float | None = None,
    up=(0.0, 1.0, 0.0),
) -> np.ndarray:
    """Render objects (meshes, clouds, line sets) into an image, on the CPU.

    Meshes are ray cast with Open3D's `RaycastingScene` (Embree) and shaded with their
    interpolated vertex normals and colours; points and lines are splatted as discs into the same
    depth buffer. There is no GPU or window system involved and no state kept between calls:
    the same input gives the same picture. The picture is traced at `SUPERSAMPLE` times its size
    and box-filtered down (anti-aliasing).

    Parameters
    ----------
    objects : list of `trimesh.Trimesh`, `PointCloud`, (N, 3) arrays or Open3D geometries
        (``TriangleMesh``, ``PointCloud``, ``LineSet``)
    size : (width, height) in pixels
    azimuth, elevation : camera direction in degrees around ``up`` (the y axis by default)
    fov : vertical field of view in degrees; the camera stands back far enough for the objects
        to fit the narrower side
    point_size : point diameter in pixels; default from the image size

    Returns
    -------
    (height, width, 3) uint8 image; the camera frames all objects.
    """
    o3d = _o3d()
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got {size}")
    geoms = [_arrays(obj if isinstance(obj, o3d.geometry.Geometry) else to_open3d(obj)) for obj in objects]
    spots = [a["vertices"] if k == "mesh" else a["points"] for k, a in geoms]
    spots = [p for p in spots if len(p)]
    if not spots:
        raise ValueError("nothing to render: every object is empty")
    allp = np.concatenate(spots)
    lo, hi = allp.min(0), allp.max(0)
    center = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-9)
    aspect = w / h
    fov_eff = fov if aspect >= 1 else np.rad2deg(2 * np.arctan(np.tan(np.deg2rad(fov) / 2) * aspect))
    eye = _camera(center, radius, azimuth, elevation, fov_eff)
    fwd = (center - eye) / np.linalg.norm(center - eye)
    right = np.cross(fwd, np.asarray(up, np.float64))
    if np.linalg.norm(right) < 1e-9:  # looking along ``up``
        right = np.cross(fwd, [1.0, 0.0, 0.0] if abs(fwd[0]) < 0.9 else [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, fwd)
    tan_y = np.tan(np.deg2rad(fov) / 2)
    tan_x = tan_y * aspect
    # the light comes from above-left of the camera
    light = -fwd + 0.45 * cam_up - 0.3 * right
    light /= np.linalg.norm(light)

    s = SUPERSAMPLE
    W, H = w * s, h * s
    depth = np.full(H * W, np.inf)
    color = np.tile(np.asarray(BACKGROUND, np.float64), (H * W, 1))
    xs = ((np.arange(W) + 0.5) / W * 2 - 1) * tan_x
    ys = (1 - (np.arange(H) + 0.5) / H * 2) * tan_y

    meshes = [a for k, a in geoms if k == "mesh" and len(a["triangles"])]
    if meshes:
        _trace(meshes, eye, fwd, right, cam_up, xs, ys, light, depth, color)
    dots = [a for k, a in geoms if k == "points" and len(a["points"])]
    dots += [_line_points(a, eye, fwd, tan_y, H) for k, a in geoms if k == "lines" and len(a["lines"])]
    if dots:
        diam = float(point_size or max(1.5, min(w, h) / 300)) * s
        for a in dots:
            _splat(a, eye, fwd, right, cam_up, tan_x, tan_y, W, H, a.get("diameter", diam), light, depth, color)
    img = color.reshape(h, s, w, s, 3).mean(axis=(1, 3))
    return np.round(img * 255).astype(np.uint8)


def _trace(meshes, eye, fwd, right, cam_up, xs, ys, light, depth, color, rays_per_cast: int = 1 << 20):
    """Ray cast the meshes (lists of `_arrays` dicts) through every pixel (rows of ``ys``,
    columns of ``xs``, in tangent units) and write the hits nearer than ``depth`` into the flat
    ``depth (H*W,)`` and ``color (H*W, 3)`` buffers."""
    o3d = _o3d()
    try:
        scene = o3d.t.geometry.RaycastingScene()
    except AttributeError as exc:  # pragma: no cover - very old Open3D
        raise RendererUnavailable(f"this Open3D has no RaycastingScene ({exc}); pip install 'open3d>=0.14'") from exc
    offsets = np.cumsum([0] + [len(m["vertices"]) for m in meshes])
    verts = np.concatenate([m["vertices"] for m in meshes])
    tris = np.concatenate([m["triangles"] + o for m, o in zip(meshes, offsets)])
    cols = np.concatenate([m["colors"] for m in meshes])
    nrms = np.concatenate([m["normals"] for m in meshes])
    scene.add_triangles(o3d.core.Tensor(verts.astype(np.float32)), o3d.core.Tensor(tris.astype(np.uint32)))
    W = len(xs)
    rows = max(1, rays_per_cast // W)
    for r0 in range(0, len(ys), rows):
        yy = ys[r0 : r0 + rows]
        d = fwd + xs[None, :, None] * right + yy[:, None, None] * cam_up  # (rows, W, 3)
        d = (d / np.linalg.norm(d, axis=-1, keepdims=True)).reshape(-1, 3)
        rays = np.concatenate([np.broadcast_to(eye, d.shape), d], axis=1).astype(np.float32)
        ans = scene.cast_rays(o3d.core.Tensor(rays))
        t = ans["t_hit"].numpy().astype(np.float64)
        base = r0 * W
        hit = np.flatnonzero(np.isfinite(t) & (t < depth[base : base + len(t)]))
        if not len(hit):
            continue
        tri = tris[ans["primitive_ids"].numpy()[hit].astype(np.int64)]
        uv = ans["primitive_uvs"].numpy()[hit].astype(np.float64)
        bary = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], axis=1)[:, :, None]
        n = (nrms[tri] * bary).sum(1)
        flat = ans["primitive_normals"].numpy()[hit].astype(np.float64)
        n = np.where(np.linalg.norm(n, axis=1, keepdims=True) > 1e-9, n, flat)  # no vertex normal: the face's
        c = (cols[tri] * bary).sum(1)
        depth[base + hit] = t[hit]
        color[base + hit] = _shade(n, c, -d[hit], light)


def _line_points(a, eye, fwd, tan_y, H):
    """A line set as a dense row of points (about two per pixel of its projected length), coloured
    per line, for `_splat`."""
    p0, p1 = a["points"][a["lines"][:, 0]], a["points"][a["lines"][:, 1]]
    z = np.maximum(np.minimum((p0 - eye) @ fwd, (p1 - eye) @ fwd), 1e-9)
    px = np.linalg.norm(p1 - p0, axis=1) / (z * tan_y) * H / 2  # projected length, upper bound
    k = np.clip(np.ceil(2 * px).astype(np.int64), 1, 10_000) + 1
    line = np.repeat(np.arange(len(k)), k)
    t = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k - 1, k)
    pts = p0[line] + t[:, None] * (p1 - p0)[line]
    return {"points": pts, "colors": a["colors"][line], "normals": None, "diameter": 1.0 * SUPERSAMPLE}


def _splat(a, eye, fwd, right, cam_up, tan_x, tan_y, W, H, diameter, light, depth, color, chunk=None):
    """Draw points as discs of ``diameter`` pixels into the flat depth and colour buffers
    (nearest wins, also against the meshes already there), `SPLAT_CHUNK` points at a time."""
    n, chunk = len(a["points"]), chunk or SPLAT_CHUNK
    if n > chunk:
        for i in range(0, n, chunk):
            part = {k: (v[i : i + chunk] if isinstance(v, np.ndarray) else v) for k, v in a.items()}
            _splat(part, eye, fwd, right, cam_up, tan_x, tan_y, W, H, diameter, light, depth, color, chunk)
        return
    rel = a["points"] - eye
    z = rel @ fwd
    front = z > 1e-9
    rel, z = rel[front], z[front]
    col = (rel @ right) / (z * tan_x)
    row = (rel @ cam_up) / (z * tan_y)
    cx = (col + 1) / 2 * W - 0.5
    cy = (1 - row) / 2 * H - 0.5
    dist = np.linalg.norm(rel, axis=1)
    rgb = a["colors"][front]
    if a.get("normals") is not None:
        rgb = _shade(a["normals"][front], rgb, -rel / dist[:, None], light)
    rad = max(diameter / 2, 0.5)
    r = int(np.ceil(rad))
    dx, dy = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
    disc = (dx**2 + dy**2) <= rad**2
    dx, dy = dx[disc], dy[disc]
    px = (np.round(cx).astype(np.int64)[:, None] + dx[None]).ravel()
    py = (np.round(cy).astype(np.int64)[:, None] + dy[None]).ravel()
    who = np.repeat(np.arange(len(z)), len(dx))
    inside = (px >= 0) & (px < W) & (py >= 0) & (py < H)
    pix, who = py[inside] * W + px[inside], who[inside]
    order = np.lexsort((dist[who], pix))  # by pixel, nearest first
    pix, who = pix[order], who[order]
    first = np.r_[True, pix[1:] != pix[:-1]]
    pix, who = pix[first], who[first]
    near = dist[who] < depth[pix]
    depth[pix[near]] = dist[who[near]]
    color[pix[near]] = rgb[who[near]]


def distance_colors(distances: np.ndarray, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map ``distances (N,)`` to RGB ``(N, 3)`` in [0, 1].

    0 -> the colormap's start, ``vmax`` (and above) -> its end.
    """
    from matplotlib import colormaps

    t = np.clip(np.asarray(distances, np.float64) / max(vmax, 1e-300), 0.0, 1.0)
    return colormaps[cmap](t)[:, :3]


def mesh_distances(mesh, reference) -> np.ndarray:
    """Distance from each vertex of ``mesh`` to ``reference``, ``(V,)``: to its surface when it is a
    mesh (exact point-to-triangle distance, as `dgp evaluate` measures), else to its nearest point."""
    if hasattr(reference, "faces"):
        from dgp.metrics import surface_distances

        return surface_distances(reference, np.asarray(mesh.vertices))[0]
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(getattr(reference, "points", reference))).query(np.asarray(mesh.vertices))[0]


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
