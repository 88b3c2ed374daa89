"""From fitted charts to surfaces: dense samples with analytic normals, chart meshes, a watertight mesh.

Each chart φ_p is evaluated on a regular grid over the box of its uv samples. Normals are the
cross product of the chart's partial derivatives ∂φ/∂u × ∂φ/∂v (by autograd), oriented to agree
with the nearest input normal. Samples further than ``core * r`` from their patch's centre are
dropped: there the chart extrapolates beyond its points, and a neighbouring chart covers the
surface anyway (every point lies within r of a centre).
"""

from __future__ import annotations

import numpy as np
import torch

from dgp.coordmlp import BatchedMLP


def uv_grid(lo: np.ndarray, hi: np.ndarray, density: int) -> np.ndarray:
    """Regular ``density x density`` grids over uv boxes: ``lo, hi (P, 2) -> (P, density², 2)``."""
    t = np.linspace(0.0, 1.0, density)
    g = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)
    return lo[:, None, :] + g[None] * (hi - lo)[:, None, :]


def grid_faces(density: int) -> np.ndarray:
    """Triangles ``(2 (density-1)², 3)`` of a ``density x density`` grid in `uv_grid`'s order."""
    i, j = np.meshgrid(np.arange(density - 1), np.arange(density - 1), indexing="ij")
    a = (i * density + j).ravel()
    b, c, d = a + 1, a + density, a + density + 1
    return np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])


def chart_points_and_normals(net: BatchedMLP, uv: np.ndarray, device="cpu"):
    """Evaluate charts and their analytic normals.

    Parameters
    ----------
    net : BatchedMLP with P models mapping uv to local 3D coordinates
    uv : (P, M, 2)

    Returns
    -------
    points (P, M, 3) and unit normals (P, M, 3) in the local frames, as float64 numpy arrays
    (a degenerate Jacobian gives a zero normal).
    """
    x = torch.as_tensor(uv, dtype=torch.float32, device=device).requires_grad_(True)
    net.requires_grad_(False)
    out = net(x)
    jac = []
    for k in range(3):  # each output row depends only on its own uv, so summing is exact
        (g,) = torch.autograd.grad(out[..., k].sum(), x, retain_graph=k < 2)
        jac.append(g)
    du = torch.stack([j[..., 0] for j in jac], -1)
    dv = torch.stack([j[..., 1] for j in jac], -1)
    n = torch.linalg.cross(du, dv, dim=-1)
    n = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return out.detach().double().cpu().numpy(), n.detach().double().cpu().numpy()


def poisson_mesh(
    points: np.ndarray,
    normals: np.ndarray,
    depth: int = 9,
    trim: float = 0.02,
    scale: float = 1.1,
    threads: int = 1,
):
    """Screened Poisson surface (Open3D) of oriented samples, low-density vertices trimmed.

    Parameters
    ----------
    points, normals : (N, 3)
    depth : octree depth
    trim : fraction of vertices with the lowest density removed (0 keeps the watertight surface)
    threads : Open3D's threads; the default 1 gives the same mesh every run. With several threads
        its sums run in a varying order: the vertices move by about 1e-6 of the diagonal and come
        in another order from run to run (-1 = all threads, about 1.3x faster on 2 cores at depth 9)

    Returns
    -------
    vertices (V, 3) float64, faces (F, 3) int64
    """
    import open3d as o3d

    if len(points) == 0:  # nothing to mesh (Open3D would raise "no normals")
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    pcd.normals = o3d.utility.Vector3dVector(np.asarray(normals, np.float64))
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        mesh, dens = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
            pcd, depth=int(depth), scale=scale, linear_fit=False, n_threads=int(threads)
        )
    dens = np.asarray(dens)
    if trim > 0 and len(dens):
        mesh.remove_vertices_by_mask(dens < np.quantile(dens, trim))
    mesh.remove_unreferenced_vertices()
    return np.asarray(mesh.vertices).copy(), np.asarray(mesh.triangles).astype(np.int64).copy()


def trim_unsupported(
    vertices: np.ndarray, faces: np.ndarray, samples: np.ndarray, max_distance: float, keep_pockets: float = 0.0
):
    """Remove mesh vertices (and their faces) further than ``max_distance`` from every sample.

    Screened Poisson closes every hole of the input (the open bottom of a scan, say); the
    surface it invents there lies far from all samples. Trimming by distance to the samples
    removes exactly that, whereas a density quantile also punches holes wherever the samples
    happen to be sparse. A tight distance also catches small gaps between the samples inside
    the surface: connected pieces of the faces to remove whose area is under ``keep_pockets``
    are kept (0 = remove every piece), so only large unsupported regions such as the caps over
    real holes go.

    Parameters
    ----------
    vertices : (V, 3); faces : (F, 3) int; samples : (M, 3); keep_pockets : an area

    Returns
    -------
    vertices (V', 3), faces (F', 3) with unreferenced vertices dropped.
    """
    from scipy.spatial import cKDTree

    far = cKDTree(samples).query(vertices)[0] > max_distance
    drop = far[faces].any(axis=1)
    if keep_pockets > 0 and drop.any():
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        gone = np.flatnonzero(drop)
        # dropped faces sharing a vertex belong to the same piece: link each to its vertices
        rows = np.repeat(np.arange(len(gone)), 3)
        graph = coo_matrix(
            (np.ones(len(rows)), (rows, len(gone) + faces[gone].ravel())), shape=(len(gone) + len(vertices),) * 2
        )
        _, label = connected_components(graph, directed=False)
        tri = vertices[faces[gone]]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        piece_area = np.bincount(label[: len(gone)], weights=area)
        drop[gone[piece_area[label[: len(gone)]] < keep_pockets]] = False
    keep_faces = faces[~drop]
    used = np.zeros(len(vertices), dtype=bool)
    used[keep_faces.ravel()] = True
    remap = np.cumsum(used) - 1
    return vertices[used], remap[keep_faces]
