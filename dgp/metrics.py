"""Surface comparison metrics, in units of the reference's bounding-box diagonal.

Definitions (A = reconstruction samples, B = reference samples, d(a, B) = distance from a to the
reference, D = the reference's bounding-box diagonal):

- ``chamfer_l1`` = 0.5 (mean_a d(a, B) + mean_b d(b, A)) / D
- ``chamfer_l2`` = 0.5 (mean_a d(a, B)² + mean_b d(b, A)²) / D²
- ``hausdorff`` = max(max_a d(a, B), max_b d(b, A)) / D
- ``normal_consistency`` = 0.5 (mean_a |n_a · n_B(a)| + mean_b |n_b · n_A(b)|), with n_B(a) the
  normal where a's distance is attained
- ``fscore`` = 2 P R / (P + R) with precision P = fraction of a with d(a, B) < t·D and recall
  R = fraction of b with d(b, A) < t·D (``threshold`` t, default 0.005)

Meshes are compared through ``n_samples`` area-uniform samples with face normals, each side's
samples measured against the *other side's surface* (exact point-to-triangle distance, Open3D's
``RaycastingScene``), so that identical meshes score 0. Measuring samples against the other
side's samples instead (``exact=False``, point to point) adds a floor set by the sample spacing:
100,000 samples of the sample bunny against 100,000 others give Chamfer-L1 1.5e-3 of the
diagonal for the mesh against itself, which swamps the differences between methods. Point
clouds (no faces) are always measured by nearest points.

>>> import numpy as np
>>> a = np.random.default_rng(0).normal(size=(500, 3))
>>> compare_points(a, a)["chamfer_l1"]
0.0
"""

from __future__ import annotations

import numpy as np


def compare_points(
    a: np.ndarray,
    b: np.ndarray,
    normals_a: np.ndarray | None = None,
    normals_b: np.ndarray | None = None,
    threshold: float = 0.005,
    diagonal: float | None = None,
) -> dict:
    """Metrics between point sets ``a (N, 3)`` and reference ``b (M, 3)`` (see the module docstring).

    ``diagonal`` defaults to the bounding-box diagonal of ``b``.
    """
    from scipy.spatial import cKDTree

    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if diagonal is None:
        diagonal = float(np.linalg.norm(b.max(0) - b.min(0))) or 1.0
    dab, iab = cKDTree(b).query(a)
    dba, iba = cKDTree(a).query(b)
    nab = None if normals_b is None else normals_b[iab]
    nba = None if normals_a is None else normals_a[iba]
    return _summary(dab / diagonal, dba / diagonal, normals_a, nab, normals_b, nba, threshold)


def _summary(dab, dba, na, nab, nb, nba, threshold) -> dict:
    """The metrics from the two directed distance arrays (already divided by the diagonal) and,
    when given, each side's normals with the normals where its distances are attained."""
    prec = float(np.mean(dab < threshold))
    rec = float(np.mean(dba < threshold))
    out = {
        "chamfer_l1": float(0.5 * (dab.mean() + dba.mean())),
        "chamfer_l2": float(0.5 * (np.mean(dab**2) + np.mean(dba**2))),
        "hausdorff": float(max(dab.max(), dba.max())),
        "fscore": 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec),
        "precision": prec,
        "recall": rec,
        "threshold": threshold,
    }
    if na is not None and nab is not None and nb is not None and nba is not None:
        out["normal_consistency"] = float(
            0.5 * (np.abs(np.sum(na * nab, 1)).mean() + np.abs(np.sum(nb * nba, 1)).mean())
        )
    return out


def compare_meshes(
    recon, reference, n_samples: int = 100_000, threshold: float = 0.005, seed: int = 0, exact: bool = True
) -> dict:
    """Metrics between two `trimesh.Trimesh` (or a mesh and a `PointCloud`) via area samples.

    ``exact``: samples against the other side's surface (default); False: against its samples.
    """
    a_pts, a_nrm = _samples(recon, n_samples, seed)
    b_pts, b_nrm = _samples(reference, n_samples, seed + 1)
    lo, hi = _bounds(reference)
    diagonal = float(np.linalg.norm(hi - lo)) or 1.0
    if not exact:
        return compare_points(a_pts, b_pts, a_nrm, b_nrm, threshold, diagonal)
    dab, nab = _distance_to(reference, a_pts, b_pts, b_nrm)
    dba, nba = _distance_to(recon, b_pts, a_pts, a_nrm)
    out = _summary(dab / diagonal, dba / diagonal, a_nrm, nab, b_nrm, nba, threshold)
    out.update(
        diagonal=diagonal,
        chamfer_l1_units=out["chamfer_l1"] * diagonal,
        hausdorff_units=out["hausdorff"] * diagonal,
    )
    if hasattr(recon, "faces"):
        out["boundary_edges"] = boundary_edges(recon)
    return out


def surface_distances(mesh, points: np.ndarray):
    """Exact distances ``(M,)`` from ``points (M, 3)`` to the surface of a `trimesh.Trimesh`, and the
    index ``(M,)`` of the face where each is attained (Open3D's ``RaycastingScene``)."""
    import open3d as o3d

    # Open3D works in float32: move everything to the mesh's centre first, and take the
    # distances in float64 from the closest points it returns
    centre = np.asarray(mesh.vertices, np.float64).mean(0)
    q = np.asarray(points, np.float64) - centre
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor((np.asarray(mesh.vertices, np.float64) - centre).astype(np.float32)),
        o3d.core.Tensor(np.asarray(mesh.faces, np.uint32)),
    )
    res = scene.compute_closest_points(o3d.core.Tensor(q.astype(np.float32)))
    closest = res["points"].numpy().astype(np.float64)
    return np.linalg.norm(q - closest, axis=1), res["primitive_ids"].numpy().astype(np.int64)


def _distance_to(obj, query: np.ndarray, obj_pts: np.ndarray, obj_nrm):
    """Distances ``(M,)`` from ``query (M, 3)`` to ``obj`` (its surface for a mesh, else its points
    ``obj_pts``) and the normals where they are attained (None when ``obj`` has none)."""
    if hasattr(obj, "faces") and len(obj.faces):
        d, face = surface_distances(obj, query)
        return d, np.asarray(obj.face_normals)[face]
    from scipy.spatial import cKDTree

    d, i = cKDTree(obj_pts).query(query)
    return d, (None if obj_nrm is None else np.asarray(obj_nrm)[i])


def _bounds(obj):
    if hasattr(obj, "faces"):
        return obj.bounds[0], obj.bounds[1]
    return obj.points.min(0), obj.points.max(0)


def _samples(obj, n: int, seed: int):
    if hasattr(obj, "faces") and len(obj.faces):
        import trimesh

        pts, face = trimesh.sample.sample_surface(obj, n, seed=seed)
        return np.asarray(pts), np.asarray(obj.face_normals[face])
    return obj.points, obj.normals


def boundary_edges(mesh) -> int:
    """Edges of ``mesh`` (a `trimesh.Trimesh`) used by one face only: 0 for a closed surface; a scan's
    holes and open rims show here."""
    import trimesh

    if len(mesh.faces) == 0:
        return 0
    return int(len(trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)))


def scan_distances(mesh, scan: np.ndarray, n_samples: int = 100_000, seed: int = 0) -> dict:
    """How a reconstruction ``mesh`` sits on the scan it came from, when there is no ground truth,
    as the Surface Reconstruction Benchmark papers report it: the distance from every scan point
    to the mesh's surface (mean and max: missed parts of the scan and holes) and from
    ``n_samples`` area samples of the mesh to the nearest scan point (mean and 99th percentile:
    surface where the scan has none), in the scan's units and as fractions of its diagonal.

    Parameters
    ----------
    mesh : `trimesh.Trimesh`; scan : (N, 3) points

    >>> import trimesh
    >>> s = trimesh.creation.icosphere(subdivisions=4)
    >>> r = scan_distances(s, s.vertices * 1.01, n_samples=2000)
    >>> round(r["scan_to_mesh_mean"], 3), r["boundary_edges"]
    (0.01, 0)
    """
    from scipy.spatial import cKDTree

    scan = np.asarray(scan, np.float64)
    diagonal = float(np.linalg.norm(scan.max(0) - scan.min(0))) or 1.0
    out = {"diagonal": diagonal, "boundary_edges": boundary_edges(mesh)}
    if len(mesh.faces) == 0:
        return {**out, **{k + tail: float("inf") for k in SCAN_KEYS for tail in ("", "_diag")}}
    to_mesh = surface_distances(mesh, scan)[0]
    samples, _ = _samples(mesh, n_samples, seed)
    to_scan = cKDTree(scan).query(samples)[0]
    values = {
        "scan_to_mesh_mean": float(to_mesh.mean()),
        "scan_to_mesh_max": float(to_mesh.max()),
        "mesh_to_scan_mean": float(to_scan.mean()),
        "mesh_to_scan_p99": float(np.percentile(to_scan, 99)),
    }
    out.update(values)
    out.update({k + "_diag": v / diagonal for k, v in values.items()})
    return out


#: the keys of `scan_distances` that are distances (each also given over the diagonal, ``_diag``)
SCAN_KEYS = ("scan_to_mesh_mean", "scan_to_mesh_max", "mesh_to_scan_mean", "mesh_to_scan_p99")
