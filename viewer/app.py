"""What ``dgp view`` does: load files as geometries, show them in a window, or snapshot them headless.

>>> from viewer.app import kind_of
>>> kind_of("scan.xyz"), kind_of("state.pt")
('points', 'state')
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from dgp.errors import InputError
from dgp.io import MESH_EXTS, POINT_EXTS


def kind_of(path) -> str:
    ext = Path(path).suffix.lower()
    if ext == ".pt":
        return "state"
    if ext in (".obj", ".off", ".stl", ".glb"):
        return "mesh"
    if ext == ".ply":
        return "ply"
    if ext in POINT_EXTS:
        return "points"
    raise InputError(
        f"cannot view {Path(path).suffix!r} files; "
        f"viewable: {' '.join(sorted(set(POINT_EXTS + MESH_EXTS + ('.pt',))))}",
        path,
    )


def load(path):
    """Read ``path`` as a `trimesh.Trimesh` (meshes; a ``.pt`` state as its coloured charts) or a `PointCloud`."""
    from dgp.io import read_any

    if kind_of(path) == "state":
        from dgp.reconstruction import Reconstruction

        return Reconstruction.load(path).chart_mesh()
    return read_any(path)


def geometries(objects, compare=None, normals: bool = False, compare_max: float | None = None):
    """Open3D geometries for loaded objects; meshes coloured by distance to ``compare`` when given.

    Returns ``(list of (name, geometry), colour-bar spec or None)``.
    """
    from viewer.rendering import distance_colors, mesh_distances, to_open3d

    out, bar = [], None
    diag = None
    if compare is not None:
        lo, hi = compare.bounds if hasattr(compare, "faces") else (compare.points.min(0), compare.points.max(0))
        diag = float(np.linalg.norm(np.asarray(hi) - np.asarray(lo)))
    for name, obj in objects:
        if compare is not None and hasattr(obj, "faces"):
            d = mesh_distances(obj, compare) / diag
            vmax = compare_max or max(float(np.quantile(d, 0.99)), 1e-6)
            out.append((name, to_open3d(obj, distance_colors(d, vmax))))
            bar = (vmax, "distance to reference / diagonal", "viridis")
        else:
            out.append((name, to_open3d(obj)))
            if normals and not hasattr(obj, "faces") and obj.normals is not None:
                out.append((f"{name} normals", normal_lines(obj)))
    return out, bar


def normal_lines(cloud, length: float | None = None, max_lines: int = 5000):
    """An Open3D LineSet of short normal segments (a subset of at most ``max_lines`` points)."""
    import open3d as o3d

    pts, nrm = cloud.points, cloud.normals
    if len(pts) > max_lines:
        sel = np.random.default_rng(0).choice(len(pts), max_lines, replace=False)
        pts, nrm = pts[sel], nrm[sel]
    length = length or 0.02 * float(np.linalg.norm(cloud.points.max(0) - cloud.points.min(0)))
    ends = np.concatenate([pts, pts + length * nrm])
    lines = np.stack([np.arange(len(pts)), np.arange(len(pts)) + len(pts)], 1)
    ls = o3d.geometry.LineSet(o3d.utility.Vector3dVector(ends), o3d.utility.Vector2iVector(lines))
    ls.paint_uniform_color([0.85, 0.3, 0.2])
    return ls


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: VkPhysicalDeviceType values, by name
VULKAN_DEVICE_TYPES = {0: "other", 1: "integrated-gpu", 2: "discrete-gpu", 3: "virtual-gpu", 4: "cpu"}


def vulkan_devices() -> list[str]:
    """The type of each Vulkan device (`VULKAN_DEVICE_TYPES`: ``"cpu"`` is a software renderer such
    as Mesa's llvmpipe); empty where no Vulkan instance can be created.

    Probed through the Vulkan loader with ctypes, because Open3D's renderer aborts the whole
    process (no Python exception) when it cannot create its instance.
    """
    import ctypes

    try:
        vk = ctypes.CDLL("libvulkan.so.1")
    except OSError:
        return []

    class InstanceCreateInfo(ctypes.Structure):
        _fields_ = [
            ("sType", ctypes.c_int),
            ("pNext", ctypes.c_void_p),
            ("flags", ctypes.c_uint32),
            ("pApplicationInfo", ctypes.c_void_p),
            ("enabledLayerCount", ctypes.c_uint32),
            ("ppEnabledLayerNames", ctypes.c_void_p),
            ("enabledExtensionCount", ctypes.c_uint32),
            ("ppEnabledExtensionNames", ctypes.c_void_p),
        ]

    info = InstanceCreateInfo(1, None, 0, None, 0, None, 0, None)  # 1: VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
    instance = ctypes.c_void_p()
    vk.vkCreateInstance.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    if vk.vkCreateInstance(ctypes.byref(info), None, ctypes.byref(instance)) != 0:
        return []
    vk.vkEnumeratePhysicalDevices.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    vk.vkGetPhysicalDeviceProperties.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    vk.vkDestroyInstance.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    types = []
    try:
        count = ctypes.c_uint32(0)
        vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), None)
        handles = (ctypes.c_void_p * count.value)()
        vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), handles)
        for handle in handles[: count.value]:
            # VkPhysicalDeviceProperties: 4 uint32 (api, driver, vendor, device), then deviceType;
            # the whole struct is under 1 KB, the buffer is larger
            props = ctypes.create_string_buffer(4096)
            vk.vkGetPhysicalDeviceProperties(handle, props)
            kind = int.from_bytes(props.raw[16:20], sys.byteorder)
            types.append(VULKAN_DEVICE_TYPES.get(kind, "other"))
    finally:
        vk.vkDestroyInstance(instance, None)
    return types


def vulkan_available() -> bool:
    """True when a Vulkan instance with at least one device can be created (Open3D's window needs it)."""
    return bool(vulkan_devices())


#: the keys of the OpenGL window (Open3D's own keys work too: H prints them)
GL_KEYS = "1-9: show/hide the n-th file; N: normals; +/-: point size; R: reset the view; Q or Esc: close"


#: point clouds larger than this are shown subsampled (uniformly, seeded) so the window stays interactive
WINDOW_MAX_POINTS = 2_000_000


def window_objects(paths, max_points: int = WINDOW_MAX_POINTS, seed: int = 0) -> list:
    """``(name, object)`` per geometry the window shows: each file; a state (``.pt``) as its charts
    coloured by patch and its input points; clouds above ``max_points`` subsampled (said on stderr)."""
    from dgp.pointcloud import PointCloud

    out = []
    for p in paths:
        name = Path(p).name
        if kind_of(p) == "state":
            from dgp.reconstruction import Reconstruction

            rec = Reconstruction.load(p)
            out += [(f"{name} charts", rec.chart_mesh())]
            out += [(f"{name} input points", PointCloud(rec.frame.from_unit(rec.points), rec.normals))]
        else:
            out.append((name, load(p)))
    for i, (name, obj) in enumerate(out):
        if isinstance(obj, PointCloud) and len(obj) > max_points:
            keep = np.sort(np.random.default_rng(seed).choice(len(obj), max_points, replace=False))
            print(f"dgp view: {name}: showing {max_points:,} of its {len(obj):,} points", file=sys.stderr)
            out[i] = (name, obj.subset(keep))
    return out


def show(paths, compare=None, normals: bool = False, backend: str = "auto", grab=None) -> str:
    """Open an interactive window with each file as a named, toggleable geometry; return the
    backend used.

    ``backend``: ``"vulkan"`` (Open3D's new visualizer: a side panel lists the geometries),
    ``"opengl"`` (the legacy visualizer: keys 1-9 toggle the files, see `GL_KEYS`), or
    ``"auto"``: Vulkan when `vulkan_available`, else OpenGL. On a software Vulkan device (no GPU)
    the window uses basic lighting (Open3D's raw mode). ``grab`` (OpenGL only): save what
    the window shows to that PNG once it has drawn, then close (for bug reports and tests).
    """
    if not has_display():
        raise InputError(
            "no display to open a window on; write a picture instead with "
            "`dgp view FILE ... --screenshot out.png` (add --views 4 for several angles)"
        )
    devices = vulkan_devices() if backend != "opengl" else []  # one probe: each creates an instance
    if backend == "auto":
        if not devices:
            print("dgp view: Vulkan is not available here; using the OpenGL window", file=sys.stderr)
        backend = "vulkan" if devices and grab is None else "opengl"
    elif backend == "vulkan" and not devices:
        raise InputError(
            "the Vulkan window cannot start here (no Vulkan loader or driver: install libvulkan1 and "
            "mesa-vulkan-drivers, or run scripts/setup.sh); --backend opengl works without it"
        )
    ref = load(compare) if compare else None
    geoms, bar = geometries(window_objects(paths), ref, normals)
    if bar is not None:
        print(f"colour scale: distance to {Path(compare).name}, 0 to {bar[0]:.4g} of its diagonal ({bar[2]})")
    if backend == "vulkan":
        import open3d as o3d

        # On a software Vulkan device (Mesa's llvmpipe) Filament's lit pipeline (image-based light,
        # shadows) left some meshes blank for minutes (a 2,562-vertex icosphere: over 110 s at full
        # load), while its basic mode draws them in seconds: use that there.
        basic = "cpu" in devices and not any(t.endswith("gpu") for t in devices)
        if basic:
            print("dgp view: Vulkan runs on a software renderer here; drawing with basic lighting", file=sys.stderr)
        o3d.visualization.draw(
            [{"name": n, "geometry": g} for n, g in geoms],
            title="dgp view",
            show_skybox=False,
            bg_color=(1.0, 1.0, 1.0, 1.0),
            raw_mode=basic,
            show_ui=True,
        )
    else:
        _show_opengl(geoms, grab)
    return backend


def _show_opengl(geoms, grab=None) -> None:
    """The legacy Open3D window: one geometry per file, toggled by the number keys."""
    import time

    import open3d as o3d

    vis = o3d.visualization.VisualizerWithKeyCallback()
    names = ", ".join(f"{i + 1}: {n}" for i, (n, _) in enumerate(geoms))
    if not vis.create_window(window_name=f"dgp view - {names}", width=1024, height=768):
        raise InputError("the OpenGL window could not be created on this display")
    shown = [True] * len(geoms)
    for _, g in geoms:
        vis.add_geometry(g)
    vis.get_render_option().background_color = np.ones(3)

    def toggle(i):
        def callback(v):
            shown[i] = not shown[i]
            (v.add_geometry if shown[i] else v.remove_geometry)(geoms[i][1], reset_bounding_box=False)
            return True

        return callback

    for i in range(min(9, len(geoms))):
        vis.register_key_callback(ord("1") + i, toggle(i))
    opts = vis.get_render_option()
    vis.register_key_callback(ord("N"), lambda v: setattr(opts, "point_show_normal", not opts.point_show_normal))
    vis.register_key_callback(ord("="), lambda v: setattr(opts, "point_size", opts.point_size + 1))
    vis.register_key_callback(ord("-"), lambda v: setattr(opts, "point_size", max(1.0, opts.point_size - 1)))
    try:
        if grab is None:
            vis.run()
        else:
            start = time.time()
            while time.time() - start < 2.0 and vis.poll_events():
                vis.update_renderer()
            from dgp.util import save_png

            frame = np.asarray(vis.capture_screen_float_buffer(True))
            save_png(grab, (np.clip(frame, 0, 1) * 255).astype(np.uint8))
    finally:
        vis.destroy_window()


def snapshot(
    paths,
    out,
    size=(1024, 768),
    views: int = 1,
    compare=None,
    normals: bool = False,
    titles=None,
    compare_max: float | None = None,
    elevation: float = 15.0,
    point_size: float | None = None,
) -> np.ndarray:
    """Render each file in its own panel (columns) from ``views`` angles (rows) and write a PNG.

    The views go round the y axis from ``elevation`` degrees above the horizon; ``point_size`` is
    the points' diameter in pixels (default from the panel size).
    Returns the rendered panels stacked as an ``(rows*H, cols*W, 3)`` image.
    """
    from dgp.util import save_png
    from viewer.rendering import compose, render

    if Path(out).suffix.lower() != ".png":
        raise InputError("the screenshot must be a .png file", out)
    ref = load(compare) if compare else None
    objs = [(Path(p).name, load(p)) for p in paths]
    geoms, bar = geometries(objs, ref, normals, compare_max)
    # one panel per file: its geometry and, if asked, its normal lines
    panels_geoms = []
    for name, _ in objs:
        panels_geoms.append([g for n, g in geoms if n == name or n == f"{name} normals"])
    w, h = size
    pw, ph = max(64, w // len(objs)), max(64, h // views)
    rows = []
    for v in range(views):
        az = 360.0 * v / views
        rows.append(
            [render(g, size=(pw, ph), azimuth=az, elevation=elevation, point_size=point_size) for g in panels_geoms]
        )
    grid = np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)
    if bar is not None or titles:
        panels = [np.concatenate([rows[v][c] for v in range(views)], axis=0) for c in range(len(objs))]
        fig = compose(panels, titles or [n for n, _ in objs], bar, panel_width=w / 100 / len(objs))
        save_png(out, fig)
    else:
        save_png(out, grid)
    return grid


def cmd_view(args) -> int:
    try:
        w, h = (int(t) for t in args.size.lower().split("x"))
        assert w > 0 and h > 0
    except (ValueError, AssertionError):
        raise InputError(f"--size must look like 1024x768, got {args.size!r}") from None
    if args.views < 1:
        raise InputError("--views must be at least 1")
    if args.point_size is not None and args.point_size <= 0:
        raise InputError("--point-size must be positive")
    if args.grab and args.backend == "vulkan":
        raise InputError("--grab saves the OpenGL window: use it with --backend opengl or auto")
    for p in args.files + ([args.compare] if args.compare else []):
        kind_of(p)
        if not Path(p).exists():
            raise InputError("no such file", p)
    if args.screenshot:
        snapshot(
            args.files,
            args.screenshot,
            (w, h),
            args.views,
            args.compare,
            args.normals,
            None,
            args.compare_max,
            args.elevation,
            args.point_size,
        )
        print(f"wrote {args.screenshot}")
    else:
        show(args.files, args.compare, args.normals, args.backend, args.grab)
        if args.grab:
            print(f"wrote {args.grab}")
    return 0
