"""Classical reconstructions behind one signature, for comparison with the DGP.

``reconstruct_baseline(cloud, method, **options) -> trimesh.Trimesh`` with method
``"poisson"`` (Open3D Screened Poisson, low-density vertices trimmed) or ``"bpa"`` (Open3D
Ball Pivoting with radii from the point spacing).

>>> import numpy as np, trimesh
>>> from dgp.pointcloud import PointCloud
>>> s = trimesh.creation.icosphere(subdivisions=4)
>>> mesh = reconstruct_baseline(PointCloud(s.vertices, s.vertex_normals), "poisson", depth=6)
>>> bool(abs(np.linalg.norm(mesh.vertices, axis=1).mean() - 1) < 0.05)
True
"""

from __future__ import annotations

import numpy as np

from dgp.errors import InputError
from dgp.pointcloud import PointCloud

BASELINES = ("poisson", "bpa")


def poisson(cloud: PointCloud, depth: int = 8, trim: float = 0.02):
    """Screened Poisson at octree ``depth``; the ``trim`` fraction of lowest-density vertices removed.

    It runs as Open3D runs it by default, on all threads (the fair time to compare against), so
    its vertices vary by about 1e-6 of the diagonal between runs (`dgp.surface.poisson_mesh`)."""
    import trimesh

    from dgp.normals import ensure_normals
    from dgp.surface import poisson_mesh

    cloud = ensure_normals(cloud)
    v, f = poisson_mesh(cloud.points, cloud.normals, depth=depth, trim=trim, threads=-1)
    return trimesh.Trimesh(v, f, process=False)


def ball_pivoting(cloud: PointCloud, radii_factors=(1.0, 2.0, 4.0)):
    """Ball Pivoting with radii = factors × the mean nearest-neighbour spacing of the points."""
    import open3d as o3d
    import trimesh
    from scipy.spatial import cKDTree

    from dgp.normals import ensure_normals

    cloud = ensure_normals(cloud)
    spacing = float(np.mean(cKDTree(cloud.points).query(cloud.points, k=2)[0][:, 1]))
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.points))
    pcd.normals = o3d.utility.Vector3dVector(cloud.normals)
    radii = o3d.utility.DoubleVector([f * spacing for f in radii_factors])
    mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(pcd, radii)
    return trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.triangles), process=False)


def reconstruct_baseline(cloud: PointCloud, method: str, **options):
    """Run the baseline ``method`` ("poisson" or "bpa") on ``cloud``; returns a `trimesh.Trimesh`."""
    if method == "poisson":
        return poisson(cloud, **options)
    if method == "bpa":
        return ball_pivoting(cloud, **options)
    raise InputError(f"unknown method {method!r}; choose from dgp, {', '.join(BASELINES)}")
