"""Normal estimation and consistent orientation (Open3D).

>>> import numpy as np
>>> from dgp.pointcloud import PointCloud
>>> rng = np.random.default_rng(0)
>>> d = rng.normal(size=(2000, 3)); d /= np.linalg.norm(d, axis=1, keepdims=True)
>>> cloud = estimate_normals(PointCloud(d))
>>> bool(np.mean(np.sum(cloud.normals * d, axis=1)) > 0.95)   # outward on a sphere
True
"""

from __future__ import annotations

import numpy as np

from dgp.pointcloud import PointCloud


def _open3d():
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover - depends on the system
        raise ImportError(
            f"open3d could not be imported ({exc}); install it with `pip install open3d` and the system "
            "library with `apt-get install libusb-1.0-0` (or run scripts/setup.sh)"
        ) from exc
    return o3d


def estimate_normals(cloud: PointCloud, k: int = 30, orient_k: int = 15) -> PointCloud:
    """Estimate unit normals by local PCA over ``k`` neighbours and orient them consistently.

    Orientation propagates along a minimum spanning tree of tangent planes (Open3D's
    ``orient_normals_consistent_tangent_plane``), then the whole field is flipped if most
    normals point towards the centroid (so that closed shapes get outward normals).

    Parameters
    ----------
    cloud : PointCloud with points (N, 3); its normals, if any, are replaced.

    Returns
    -------
    PointCloud with normals (N, 3).
    """
    o3d = _open3d()
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.points))
    k = int(max(3, min(k, len(cloud) - 1)))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    if len(cloud) > orient_k + 1:
        pcd.orient_normals_consistent_tangent_plane(int(orient_k))
    normals = np.asarray(pcd.normals).copy()
    outward = np.sum(normals * (cloud.points - cloud.points.mean(axis=0)), axis=1)
    if np.sum(np.sign(outward)) < 0:
        normals = -normals
    return cloud.with_normals(normals)


def ensure_normals(cloud: PointCloud, k: int = 30) -> PointCloud:
    """``cloud`` itself when it has normals, otherwise `estimate_normals` of it."""
    return cloud if cloud.has_normals else estimate_normals(cloud, k=k)
