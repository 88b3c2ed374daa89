"""Open3D viewer: interactive window and headless snapshots of point clouds, meshes and charts.

``viewer.show(paths, compare=None, normals=False)`` opens a window; ``viewer.render(objects,
size=(w, h), azimuth=0, elevation=15) -> (h, w, 3) uint8`` renders without a display;
``viewer.snapshot(paths, out_png, size, views, compare)`` is what ``dgp view --screenshot`` does.
Open3D is imported only when one of them runs.
"""

from __future__ import annotations


def show(*args, **kwargs):
    """See `viewer.app.show`."""
    from viewer.app import show as _show

    return _show(*args, **kwargs)


def render(*args, **kwargs):
    """See `viewer.rendering.render`."""
    from viewer.rendering import render as _render

    return _render(*args, **kwargs)


def snapshot(*args, **kwargs):
    """See `viewer.app.snapshot`."""
    from viewer.app import snapshot as _snapshot

    return _snapshot(*args, **kwargs)


__all__ = ["show", "render", "snapshot"]
