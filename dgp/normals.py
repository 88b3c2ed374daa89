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
    ``orient_normals_consistent_tangent_plane``; where its Delaunay graph cannot be built, as on
    a plane, along the spanning tree of the k-nearest-neighbour graph instead, `orient_along_tree`),
    then the whole field is flipped if most normals point towards the centroid (so that closed
    shapes get outward normals). Points that hold no surface (all at one place, or on one line)
    raise `InputError` (`dgp.pointcloud.check_surface`).

    Parameters
    ----------
    cloud : PointCloud with points (N, 3); its normals, if any, are replaced.

    Returns
    -------
    PointCloud with normals (N, 3).
    """
    from dgp.pointcloud import check_surface

    check_surface(cloud.points, cloud.source)
    o3d = _open3d()
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.points))
    k = int(max(3, min(k, len(cloud) - 1)))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    oriented = False
    if len(cloud) > orient_k + 1:
        try:
            pcd.orient_normals_consistent_tangent_plane(int(orient_k))
            oriented = True
        except RuntimeError:  # Qhull cannot triangulate flat or cospherical input
            pass
    normals = np.asarray(pcd.normals).copy()
    if not oriented:
        normals = orient_along_tree(cloud.points, normals, k=min(orient_k, len(cloud) - 1))
    outward = np.sum(normals * (cloud.points - cloud.points.mean(axis=0)), axis=1)
    if np.sum(np.sign(outward)) < 0:
        normals = -normals
    return cloud.with_normals(normals)


def orient_along_tree(points: np.ndarray, normals: np.ndarray, k: int = 15) -> np.ndarray:
    """Flip ``normals (N, 3)`` so that neighbours agree: along a minimum spanning tree of the
    k-nearest-neighbour graph of ``points (N, 3)`` weighted by 1 − |n_i · n_j| (most parallel
    first), each component from its first point. Needs no triangulation, so flat and
    co-spherical inputs orient too.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = np.c_[rng.uniform(size=(200, 2)), np.zeros(200)]
    >>> n = np.tile([0.0, 0, 1], (200, 1)) * rng.choice([-1, 1], size=(200, 1))
    >>> out = orient_along_tree(pts, n)
    >>> bool(np.all(out[:, 2] == out[0, 2]))
    True
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree
    from scipy.spatial import cKDTree

    n = len(points)
    k = int(max(1, min(k, n - 1)))
    _, idx = cKDTree(points).query(points, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    cols = idx[:, 1:].ravel()
    weight = 1.0 - np.abs(np.sum(normals[rows] * normals[cols], axis=1)) + 1e-9  # > 0: an edge
    tree = minimum_spanning_tree(coo_matrix((weight, (rows, cols)), shape=(n, n)))
    tree = tree + tree.T
    out = normals.copy()
    seen = np.zeros(n, dtype=bool)
    for start in range(n):
        if seen[start]:
            continue
        order, parent = breadth_first_order(tree, start, directed=False, return_predecessors=True)
        seen[order] = True
        for node in order[1:]:  # parents come before their children
            if np.dot(out[node], out[parent[node]]) < 0:
                out[node] = -out[node]
    return out


def ensure_normals(cloud: PointCloud, k: int = 30) -> PointCloud:
    """``cloud`` itself when it has normals, otherwise `estimate_normals` of it."""
    return cloud if cloud.has_normals else estimate_normals(cloud, k=k)
