"""Surface comparison metrics, in units of the reference's bounding-box diagonal.

Definitions (A = reconstruction samples, B = reference samples, d(a, B) = distance from a to the
nearest point of B, D = the reference's bounding-box diagonal):

- ``chamfer_l1`` = 0.5 (mean_a d(a, B) + mean_b d(b, A)) / D
- ``chamfer_l2`` = 0.5 (mean_a d(a, B)² + mean_b d(b, A)²) / D²
- ``hausdorff`` = max(max_a d(a, B), max_b d(b, A)) / D
- ``normal_consistency`` = 0.5 (mean_a |n_a · n_{B(a)}| + mean_b |n_b · n_{A(b)}|), nearest-neighbour normals
- ``fscore`` = 2 P R / (P + R) with precision P = fraction of a with d(a, B) < t·D and recall
  R = fraction of b with d(b, A) < t·D (``threshold`` t, default 0.005)

Meshes are compared through ``n_samples`` area-uniform samples with face normals.

>>> import numpy as np
>>> a = np.random.default_rng(0).normal(size=(500, 3))
>>> compare_points(a, a)["chamfer_l1"]
0.0
"""

from __future__ import annotations

import numpy as np


def compare_points(a: np.ndarray, b: np.ndarray, normals_a: np.ndarray | None = None,
                   normals_b: np.ndarray | None = None, threshold: float = 0.005,
                   diagonal: float | None = None) -> dict:
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
    dab, dba = dab / diagonal, dba / diagonal
    prec = float(np.mean(dab < threshold))
    rec = float(np.mean(dba < threshold))
    out = {
        "chamfer_l1": float(0.5 * (dab.mean() + dba.mean())),
        "chamfer_l2": float(0.5 * (np.mean(dab ** 2) + np.mean(dba ** 2))),
        "hausdorff": float(max(dab.max(), dba.max())),
        "fscore": 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec),
        "precision": prec,
        "recall": rec,
        "threshold": threshold,
    }
    if normals_a is not None and normals_b is not None:
        out["normal_consistency"] = float(0.5 * (np.abs(np.sum(normals_a * normals_b[iab], 1)).mean()
                                                 + np.abs(np.sum(normals_b * normals_a[iba], 1)).mean()))
    return out


def compare_meshes(recon, reference, n_samples: int = 100_000, threshold: float = 0.005, seed: int = 0) -> dict:
    """Metrics between two `trimesh.Trimesh` (or a mesh and a `PointCloud`) via area samples."""
    a_pts, a_nrm = _samples(recon, n_samples, seed)
    b_pts, b_nrm = _samples(reference, n_samples, seed + 1)
    lo, hi = _bounds(reference)
    return compare_points(a_pts, b_pts, a_nrm, b_nrm, threshold, float(np.linalg.norm(hi - lo)))


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
