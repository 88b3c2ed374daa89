"""Patches of a point cloud: centres, neighbourhoods, local frames and uv samples.

A patch is the set of points within ``padding * r`` of a centre whose normals lie within
``angle`` degrees of the centre's normal. Centres are a Poisson-disk subsample of the points at
radius r (every point lies within r of some centre), and a coverage pass adds centres until
every point belongs to a patch. Patches are held padded: ``index (P, K)`` into the cloud with a
``mask (P, K)`` of real entries, real entries first.

>>> import numpy as np
>>> from dgp.pointcloud import PointCloud
>>> rng = np.random.default_rng(0)
>>> pts = np.c_[rng.uniform(size=(2000, 2)), np.zeros(2000)]
>>> nrm = np.tile([0.0, 0, 1], (2000, 1))
>>> p = make_patches(pts, nrm, radius=0.2, padding=1.5, min_points=10, seed=0)
>>> bool(p.covered(len(pts)).all())
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass
class Patches:
    """Padded patches of one cloud (all arrays numpy).

    Attributes
    ----------
    centers : (P,) int, index of each patch's centre point
    index : (P, K) int, points of each patch (padded with 0)
    mask : (P, K) bool, real entries (the first ``counts[p]`` of each row)
    origin : (P, 3) float, local frame origin (the patch centroid)
    rotation : (P, 3, 3) float, rows are the frame's axes (principal axes; the last is the normal side)
    scale : (P,) float, the local frame's scale: ``local = (x - origin) @ rotation.T / scale``
    uv : (P, K, 2) float, one blue-noise sample in [0, 1]^2 per real entry
    radius : float, r, the Poisson-disk radius in the cloud's units
    """

    centers: np.ndarray
    index: np.ndarray
    mask: np.ndarray
    origin: np.ndarray
    rotation: np.ndarray
    scale: np.ndarray
    uv: np.ndarray
    radius: float

    def __len__(self) -> int:
        return len(self.centers)

    @property
    def counts(self) -> np.ndarray:
        """(P,) int, real points per patch."""
        return self.mask.sum(axis=1)

    def covered(self, n_points: int) -> np.ndarray:
        """(n_points,) bool: which points at least one patch fits (see ``max_points``)."""
        cov = np.zeros(n_points, dtype=bool)
        cov[self.index[self.mask]] = True
        return cov

    def to_local(self, points: np.ndarray) -> np.ndarray:
        """Patch points in their local frames: ``(P, K, 3)`` (padding rows are 0)."""
        loc = np.einsum("pkj,pij->pki", points[self.index] - self.origin[:, None], self.rotation)
        return np.where(self.mask[..., None], loc / self.scale[:, None, None], 0.0)

    def directions_to_local(self, directions: np.ndarray) -> np.ndarray:
        """Per-point directions (normals, say) ``(N, 3)`` turned into each patch's frame: ``(P, K, 3)``
        (rotation only: a frame's scale does not change a direction; padding rows are 0)."""
        loc = np.einsum("pkj,pij->pki", directions[self.index], self.rotation)
        return np.where(self.mask[..., None], loc, 0.0)

    def to_world(self, local: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Map local coordinates ``(P', M, 3)`` of the patches ``which`` (default all) back to the cloud's frame."""
        sel = slice(None) if which is None else which
        return (
            np.einsum("pki,pij->pkj", local * self.scale[sel, None, None], self.rotation[sel]) + self.origin[sel, None]
        )


#: `auto_radius`: r is at least SPACINGS_PER_RADIUS surface spacings (detail: the radius at which a
#: chart still follows the relief of a clean dense scan) and NOISES_PER_RADIUS noise levels
#: (averaging: a patch must be wide against the noise it smooths), within [MIN_RADIUS, MAX_RADIUS]
#: of the diagonal. Chosen in benchmarks/results/radius.md.
SPACINGS_PER_RADIUS = 4.0
NOISES_PER_RADIUS = 8.0
MIN_RADIUS = 0.01
MAX_RADIUS = 0.04


def surface_spacing(points: np.ndarray, k: int = 16, max_points: int = 20000, seed: int = 0, tree=None) -> float:
    """The typical distance between neighbouring samples of the surface: the side of the area
    each point covers, ``rho_k sqrt(pi / k)`` with ``rho_k`` the median distance to the k-th
    neighbour (less sensitive to noise and duplicates than the nearest neighbour's distance).
    ``tree``: a `scipy.spatial.cKDTree` of ``points`` already built by the caller.

    >>> rng = np.random.default_rng(0)
    >>> grid = np.c_[np.stack(np.meshgrid(np.arange(100.0), np.arange(100.0)), -1).reshape(-1, 2), np.zeros(10000)]
    >>> round(surface_spacing(grid), 1)
    1.0
    """
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    k = int(min(k, len(pts) - 1))
    if k < 1:
        return 0.0
    rng = np.random.default_rng(seed)
    query = pts if len(pts) <= max_points else pts[rng.choice(len(pts), max_points, replace=False)]
    tree = cKDTree(pts) if tree is None else tree
    rho = float(np.median(tree.query(query, k=k + 1)[0][:, -1]))
    return rho * float(np.sqrt(np.pi / k))


def auto_radius(spacing: float, sigma: float) -> float:
    """The patch radius (fraction of the diagonal) a cloud of this surface ``spacing`` and noise
    ``sigma`` (both in units of the diagonal) calls for:
    ``clip(max(SPACINGS_PER_RADIUS spacing, NOISES_PER_RADIUS sigma), MIN_RADIUS, MAX_RADIUS)``.

    >>> auto_radius(0.003, 0.0005), auto_radius(0.006, 0.005), auto_radius(0.0005, 0.0)
    (0.012, 0.04, 0.01)
    """
    return float(np.clip(max(SPACINGS_PER_RADIUS * spacing, NOISES_PER_RADIUS * sigma), MIN_RADIUS, MAX_RADIUS))


#: the normal term's weight where `normal_weight_for` turns it on
NORMAL_WEIGHT = 0.05
#: noise over surface spacing from which the normal term is on: the rule and its runs are in
#: benchmarks/normal_weight.py and benchmarks/results/normal_weight.md
NORMAL_RHO = 0.29


def normal_weight_for(sigma: float, spacing: float) -> float:
    """The normal term's weight a cloud of noise ``sigma`` and surface ``spacing`` (same units)
    calls for: `NORMAL_WEIGHT` where the noise is at least `NORMAL_RHO` spacings, else 0. With
    normals derived from the positions (a scanner's, or PCA estimates), as real scans have them,
    the term held the charts off the relief where the noise is small beside the spacing (the SRB
    scan, clean and 0.1% synthetic scans), and helped where it is larger; the threshold is the
    rule of benchmarks/normal_weight.py over such scans. Exact normals (a mesh's, in a synthetic
    scan) help at every noise level: pass the weight explicitly there.

    >>> normal_weight_for(0.05, 0.35), normal_weight_for(0.0012, 0.0018)
    (0.0, 0.05)
    """
    return NORMAL_WEIGHT if spacing > 0 and sigma >= NORMAL_RHO * spacing else 0.0


#: the local fit's (steps, Adam learning rate) where the noise is at least `BUDGET_RHO` spacings,
#: and below it: the rule and its runs are in benchmarks/fit_budget.py and
#: benchmarks/results/fit_budget.md
NOISY_BUDGET = (500, 3e-3)
LOW_NOISE_BUDGET = (1000, 1e-2)
BUDGET_RHO = 0.17


def fit_budget_for(sigma: float, spacing: float) -> tuple[int, float]:
    """The local fit's ``(steps, learning rate)`` for a cloud of noise ``sigma`` and surface
    ``spacing`` (same units): `LOW_NOISE_BUDGET` where the noise is below `BUDGET_RHO` spacings,
    else `NOISY_BUDGET`. Where the noise is that small (the real SRB scan, clean scans) 500 steps at
    3e-3 left 99% of the SRB scan's patches short of the noise level, so the discrepancy rule never
    stopped them: the charts were under-fit. Where it is larger the longer fit follows the noise
    (a 0.1% scan of the bunny: Chamfer-L1 up by 14%).

    >>> fit_budget_for(0.05, 0.35), fit_budget_for(0.0012, 0.0018)
    ((1000, 0.01), (500, 0.003))
    """
    return NOISY_BUDGET if spacing > 0 and sigma >= BUDGET_RHO * spacing else LOW_NOISE_BUDGET


#: the learning-rate schedule (`dgp.fit.lr_factor`) of the local and consistency phases where the
#: noise is below `BUDGET_RHO` spacings; above it the rate is constant: the rule and its runs are in
#: benchmarks/lr_schedule.py and benchmarks/results/lr_schedule.md
LOW_NOISE_SCHEDULE = "step"


def lr_schedule_for(sigma: float, spacing: float) -> str:
    """The learning-rate schedule a cloud of noise ``sigma`` and surface ``spacing`` calls for:
    `LOW_NOISE_SCHEDULE` where `fit_budget_for` gives the low-noise budget, else ``constant``. On
    clean scans the charts stop short of their points at a constant rate (Adam's steps jitter
    them); lowering the rate for the last steps settles them closer.

    >>> lr_schedule_for(0.05, 0.35), lr_schedule_for(0.0012, 0.0018)
    ('step', 'constant')
    """
    return LOW_NOISE_SCHEDULE if fit_budget_for(sigma, spacing) == LOW_NOISE_BUDGET else "constant"


#: what the Poisson mesh is fit to (`Reconstruction.mesh`) where the noise is below `BUDGET_RHO`
#: spacings; above it the charts' samples: the rule and its runs are in benchmarks/mesh_from.py
#: and benchmarks/results/mesh_from.md
LOW_NOISE_MESH_FROM = "union"
#: the choices of ``mesh_from``
MESH_FROM = ("charts", "union", "input")


def mesh_from_for(sigma: float, spacing: float) -> str:
    """What the mesh of a cloud of noise ``sigma`` and surface ``spacing`` is fit to:
    `LOW_NOISE_MESH_FROM` where `fit_budget_for` gives the low-noise budget, else ``charts``. On a
    clean scan the points are exact and the charts, piecewise-linear maps of a few hundred ReLUs,
    lie a fraction of a spacing off them; fit to both, the mesh takes its normals and its extent
    from the charts (no surface where they have none) and its position from both. Above the
    threshold the points carry noise the charts have averaged away.

    >>> mesh_from_for(0.05, 0.35), mesh_from_for(0.0012, 0.0018)
    ('union', 'charts')
    """
    return LOW_NOISE_MESH_FROM if fit_budget_for(sigma, spacing) == LOW_NOISE_BUDGET else "charts"


def poisson_disk(points: np.ndarray, radius: float, seed: int = 0) -> np.ndarray:
    """Greedy Poisson-disk subsample: indices of points no two within ``radius``, covering all points.

    Parameters
    ----------
    points : (N, 3)
    radius : the disk radius

    Returns
    -------
    (M,) int indices; every point is within ``radius`` of one of them.
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    order = np.random.default_rng(seed).permutation(len(points))
    taken = np.zeros(len(points), dtype=bool)
    chosen = []
    for i in order:
        if taken[i]:
            continue
        chosen.append(i)
        taken[tree.query_ball_point(points[i], radius)] = True
    return np.asarray(chosen, dtype=np.int64)


def blue_noise_uv(n: int, rng: np.random.Generator, iterations: int = 4, oversample: int = 16) -> np.ndarray:
    """``n`` blue-noise samples in [0,1]^2: uniform samples relaxed by a few Lloyd iterations.

    Lloyd's step moves each sample to the centroid of its Voronoi cell, estimated with
    ``oversample * n`` uniform probe points.

    Returns
    -------
    (n, 2) float

    >>> uv = blue_noise_uv(100, np.random.default_rng(0))
    >>> uv.shape, bool(((uv >= 0) & (uv <= 1)).all())
    ((100, 2), True)
    """
    return _lloyd(*_blue_noise_draws(n, rng, iterations, oversample))


def _blue_noise_draws(n: int, rng: np.random.Generator, iterations: int = 4, oversample: int = 16):
    """The random numbers `blue_noise_uv` uses, drawn in its order: start ``(n, 2)`` and
    ``iterations`` probe sets ``(oversample * n, 2)`` (the probes do not depend on the samples,
    so drawing them first and relaxing later gives the same result)."""
    start = rng.uniform(size=(n, 2))
    return start, [rng.uniform(size=(oversample * n, 2)) for _ in range(iterations)]


def _lloyd(uv: np.ndarray, probe_sets: list) -> np.ndarray:
    """Lloyd iterations of the samples ``uv (n, 2)``, one per probe set ``(m, 2)``."""
    from scipy.spatial import cKDTree

    n = len(uv)
    for probes in probe_sets:
        owner = cKDTree(uv).query(probes)[1]
        sums = np.stack([np.bincount(owner, weights=probes[:, j], minlength=n) for j in range(2)], axis=1)
        cnt = np.bincount(owner, minlength=n)[:, None]
        uv = np.where(cnt > 0, sums / np.maximum(cnt, 1), uv)
    return uv


def _blue_noise_many(sizes, rng: np.random.Generator, workers: int, group: int = 64) -> list:
    """``[blue_noise_uv(n, rng) for n in sizes]``, the same arrays, with the relaxations spread
    over ``workers`` threads (the k-d tree queries run without the GIL); the draws stay in
    order, ``group`` patches' worth at a time to bound the memory."""
    sizes = list(sizes)
    if workers <= 1 or len(sizes) < 2:
        return [blue_noise_uv(n, rng) for n in sizes]
    from concurrent.futures import ThreadPoolExecutor

    out = []
    with ThreadPoolExecutor(workers) as pool:
        for g in range(0, len(sizes), group):
            draws = [_blue_noise_draws(n, rng) for n in sizes[g : g + group]]
            out += pool.map(lambda d: _lloyd(*d), draws)
    return out


def _frame(pts: np.ndarray, normal: np.ndarray):
    """Centroid, rotation (rows: principal axes, the last along the normal side) and scale of ``pts (n, 3)``."""
    origin = pts.mean(axis=0)
    centred = pts - origin
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rot = vt.copy()
    if rot[2] @ normal < 0:
        rot[2] = -rot[2]
    if np.linalg.det(rot) < 0:
        rot[1] = -rot[1]
    scale = float(np.linalg.norm(centred, axis=1).max())
    return origin, rot, scale if scale > 0 else 1.0


#: where a chart's uv samples come from (`make_patches`' ``uv_from``)
UV_FROM = ("blue", "points")


def tangent_uv(local: np.ndarray) -> np.ndarray:
    """``(n, 2)`` the first two of the local coordinates ``local (n, 3)``, scaled to the unit square.

    >>> tangent_uv(np.array([[0.0, 2, 5], [1, 0, 5], [2, 1, 5]]))
    array([[0. , 1. ],
           [0.5, 0. ],
           [1. , 0.5]])
    """
    lo, hi = local[:, :2].min(axis=0), local[:, :2].max(axis=0)
    return (local[:, :2] - lo) / np.where(hi > lo, hi - lo, 1.0)


def make_patches(
    points: np.ndarray,
    normals: np.ndarray,
    radius: float,
    padding: float = 2.0,
    angle: float = 95.0,
    min_points: int = 20,
    max_points: int | None = None,
    seed: int = 0,
    cover: float | None = None,
    workers: int | None = None,
    uv_from: str = "blue",
) -> Patches:
    """Split a cloud into overlapping patches.

    Parameters
    ----------
    points : (N, 3) float
    normals : (N, 3) unit, oriented
    radius : r, in the units of ``points`` (the CLI's ``--radius`` is a fraction of the diagonal)
    padding : a patch gathers points within ``padding * r`` of its centre
    angle : degrees; points whose normal is further than this from the centre's are dropped
    min_points : patches with fewer points are rejected (the coverage pass may then re-add a centre)
    max_points : if given, a larger patch fits a random subset of this many of its points (it still
        counts as covering all of them), so dense scans cost no more per patch than sparse ones
    seed : seeds the Poisson-disk order and the uv samples
    cover : a point counts as covered by a patch it belongs to only within ``cover * r`` of the
        patch's centre (default: ``padding``, anywhere in the patch); the reconstruction keeps
        chart samples within ``core * r`` of the centre and passes ``cover = core``, so that every
        point lies in the kept part of some chart (thin parts such as ear tips otherwise fall
        into the padding of the patches on their other side only and come out with holes)
    workers : threads for the uv samples' relaxation (default: the CPU count, at most 8); the
        result does not depend on it
    uv_from : ``blue``: each patch's uv samples are a blue-noise set of the unit square, as many as
        its points, which the fit matches to them by optimal transport; ``points``: the points' own
        coordinates in the patch's tangent plane, scaled to the unit square (`tangent_uv`), so that
        the first matching is the identity and a chart can pass through its points

    Returns
    -------
    Patches
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    n = len(points)
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    tree = cKDTree(points)
    cos_max = np.cos(np.deg2rad(angle))

    sub_rng = np.random.default_rng(seed + 2)
    cover_r = None if cover is None or cover >= padding else cover * radius

    def gather(c: int):
        """(points the patch fits, all points it covers)."""
        idx = np.asarray(tree.query_ball_point(points[c], padding * radius), dtype=np.int64)
        idx = np.sort(idx[normals[idx] @ normals[c] >= cos_max])
        near = idx
        if cover_r is not None:
            near = idx[np.linalg.norm(points[idx] - points[c], axis=1) <= cover_r]
        if max_points and len(idx) > max_points:
            return np.sort(sub_rng.choice(idx, max_points, replace=False)), near
        return idx, near

    centres, members = [], []
    covered = np.zeros(n, dtype=bool)
    for c in poisson_disk(points, radius, seed):
        idx, near = gather(c)
        if len(idx) >= min_points:
            centres.append(c)
            members.append(idx)
            covered[near] = True
    # Coverage pass: centre new patches on uncovered points until all are covered (or cannot be).
    rng = np.random.default_rng(seed + 1)
    hopeless = np.zeros(n, dtype=bool)
    while True:
        todo = np.flatnonzero(~covered & ~hopeless)
        if len(todo) == 0:
            break
        c = int(rng.choice(todo))
        idx, near = gather(c)
        if len(idx) >= min_points:
            centres.append(c)
            members.append(idx)
            covered[near] = True
        else:
            hopeless[c] = True
    if not centres:
        raise ValueError(
            f"no patch has {min_points} points at radius {radius:g} x padding {padding:g}; "
            "increase the patch radius or lower min_points"
        )
    P, K = len(centres), max(len(m) for m in members)
    index = np.zeros((P, K), dtype=np.int64)
    mask = np.zeros((P, K), dtype=bool)
    origin = np.zeros((P, 3))
    rotation = np.zeros((P, 3, 3))
    scale = np.zeros(P)
    uv = np.zeros((P, K, 2))
    if uv_from not in UV_FROM:
        raise ValueError(f"uv_from must be one of {UV_FROM}, got {uv_from!r}")
    if workers is None:
        workers = min(8, os.cpu_count() or 1)
    uvs = _blue_noise_many([len(idx) for idx in members], rng, workers) if uv_from == "blue" else None
    for p, (c, idx) in enumerate(zip(centres, members)):
        index[p, : len(idx)] = idx
        mask[p, : len(idx)] = True
        origin[p], rotation[p], scale[p] = _frame(points[idx], normals[c])
        if uvs is not None:
            uv[p, : len(idx)] = uvs[p]
        else:
            uv[p, : len(idx)] = tangent_uv((points[idx] - origin[p]) @ rotation[p].T)
    return Patches(np.asarray(centres), index, mask, origin, rotation, scale, uv, float(radius))
