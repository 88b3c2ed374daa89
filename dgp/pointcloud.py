"""The `PointCloud` container, its validation, and normalisation to a unit frame.

Examples
--------
>>> import numpy as np
>>> from dgp.pointcloud import PointCloud
>>> cloud = PointCloud(np.random.default_rng(0).normal(size=(100, 3)))
>>> len(cloud), cloud.has_normals
(100, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dgp.errors import InputError

#: The fewest points a cloud may have to be useful for anything in this package.
MIN_POINTS = 4
#: `find_outliers` as `dgp reconstruct --outliers` applies it: points further than ``factor x
#: max(noise, OUTLIER_SPACING x the local point spacing)`` off their neighbours' surface, or more
#: isolated than ``OUTLIER_ISOLATION``; the factor, spacing ratio and isolation are the pick of
#: the rule of benchmarks/outliers.py, and ``OUTLIERS_DEFAULT`` (the factor, or 0: off) the
#: verdict of its fits (benchmarks/results/outliers.md; a test checks both)
OUTLIER_FACTOR = 4.5
OUTLIER_SPACING = 0.3
OUTLIER_ISOLATION = 10.0
OUTLIERS_DEFAULT = OUTLIER_FACTOR


@dataclass(frozen=True)
class Frame:
    """A similarity transform ``x_unit = (x - center) / scale`` to and from a unit frame.

    Attributes
    ----------
    center : (3,) float64
    scale : float, positive
    """

    center: np.ndarray
    scale: float

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map ``x: (..., 3)`` into the unit frame."""
        return (np.asarray(x, dtype=np.float64) - self.center) / self.scale

    def from_unit(self, x: np.ndarray) -> np.ndarray:
        """Map ``x: (..., 3)`` from the unit frame back to the original one."""
        return np.asarray(x, dtype=np.float64) * self.scale + self.center


@dataclass(frozen=True)
class PointCloud:
    """Points with optional per-point unit normals.

    Attributes
    ----------
    points : (N, 3) float64, finite
    normals : (N, 3) float64 of unit length, or None
    source : str or None, the file the cloud came from (used in error messages)

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.eye(3).repeat(2, axis=0)
    >>> PointCloud(pts, normals=pts).normals.shape
    (6, 3)
    """

    points: np.ndarray
    normals: np.ndarray | None = None
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        pts = np.asarray(self.points)
        where = self.source
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise InputError(f"points must have shape (N, 3), got {pts.shape}", where)
        if not np.issubdtype(pts.dtype, np.number):
            raise InputError(f"points must be numeric, got dtype {pts.dtype}", where)
        pts = np.ascontiguousarray(pts, dtype=np.float64)
        if len(pts) == 0:
            raise InputError("the point cloud is empty", where)
        bad = ~np.isfinite(pts).all(axis=1)
        if bad.any():
            raise InputError(
                f"{int(bad.sum())} point(s) have NaN or Inf coordinates (first at index {int(np.argmax(bad))})",
                where,
            )
        object.__setattr__(self, "points", pts)
        if self.normals is not None:
            nrm = np.asarray(self.normals)
            if nrm.shape != pts.shape:
                raise InputError(f"normals must have shape {pts.shape}, got {nrm.shape}", where)
            nrm = np.ascontiguousarray(nrm, dtype=np.float64)
            if not np.isfinite(nrm).all():
                raise InputError("normals contain NaN or Inf", where)
            length = np.linalg.norm(nrm, axis=1)
            zero = length < 1e-12
            if zero.any():
                raise InputError(
                    f"{int(zero.sum())} normal(s) have zero length (first at index {int(np.argmax(zero))})",
                    where,
                )
            object.__setattr__(self, "normals", nrm / length[:, None])

    def __len__(self) -> int:
        return len(self.points)

    @property
    def has_normals(self) -> bool:
        return self.normals is not None

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        """``(min (3,), max (3,))`` corners of the axis-aligned bounding box."""
        return self.points.min(axis=0), self.points.max(axis=0)

    @property
    def diagonal(self) -> float:
        """Length of the bounding-box diagonal."""
        lo, hi = self.bbox
        return float(np.linalg.norm(hi - lo))

    def require(self, min_points: int = MIN_POINTS) -> "PointCloud":
        """Return self, or raise `InputError` when it has fewer than ``min_points`` points."""
        if len(self) < min_points:
            raise InputError(f"the point cloud has {len(self)} point(s); at least {min_points} are needed", self.source)
        return self

    def with_normals(self, normals: np.ndarray | None) -> "PointCloud":
        """A copy with other normals ``(N, 3)`` (or none)."""
        return PointCloud(self.points, normals, source=self.source)

    def subset(self, index: np.ndarray) -> "PointCloud":
        """The points (and normals) at ``index``."""
        return PointCloud(self.points[index], None if self.normals is None else self.normals[index], self.source)


def unit_frame(points: np.ndarray) -> Frame:
    """The frame that centres the bounding box of ``points: (N, 3)`` at 0 and makes its diagonal 1.

    >>> f = unit_frame(np.array([[0., 0, 0], [2, 0, 0]]))
    >>> f.to_unit([[2., 0, 0]]).tolist()
    [[0.5, 0.0, 0.0]]
    """
    pts = np.asarray(points, dtype=np.float64)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    diag = float(np.linalg.norm(hi - lo))
    return Frame(center=(lo + hi) / 2.0, scale=diag if diag > 0 else 1.0)


def check_surface(points: np.ndarray, source: str | None = None) -> str:
    """Refuse point sets that hold no surface; return ``"planar"`` or ``"surface"`` for the rest.

    The principal extents of the points (singular values of the centred coordinates) decide:
    all points at one place, or all on one line, raise `InputError` naming the problem; points
    on one plane (a wall, a floor) are a surface, and ``"planar"`` says so.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> check_surface(np.c_[rng.uniform(size=(50, 2)), np.ones(50)]), check_surface(rng.normal(size=(50, 3)))
    ('planar', 'surface')
    >>> t = np.linspace(0, 1, 50)
    >>> try:
    ...     check_surface(np.c_[t, 2 * t, 3 * t])
    ... except InputError as exc:
    ...     print(exc)
    the 50 points lie on one line: there is no surface to reconstruct
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    # extents below the float64 resolution of the coordinates are rounding, not geometry
    resolution = 64 * np.finfo(np.float64).eps * max(float(np.abs(pts).max()), 1e-300)
    if float(np.linalg.norm(hi - lo)) <= resolution:
        where = " ".join(f"{c:.9g}" for c in pts[0])
        raise InputError(f"all {n} points are at one place ({where}): there is no surface to reconstruct", source)
    sv = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False)
    if sv[1] <= 1e-9 * sv[0] + resolution * np.sqrt(n):
        raise InputError(f"the {n} points lie on one line: there is no surface to reconstruct", source)
    return "planar" if sv[2] <= 1e-9 * sv[0] + resolution * np.sqrt(n) else "surface"


def estimate_noise(
    points: np.ndarray,
    k: int = 32,
    max_points: int = 4000,
    seed: int = 0,
    ratio: float = 4.0,
    max_k: int = 1024,
    budget: int = 400_000,
) -> float:
    """Estimate the noise level of a sampled surface (the standard deviation along the normal).

    Around each of ``max_points`` random points, its ``k`` nearest neighbours are put in their
    PCA frame and a quadric height field ``h = a x² + b xy + c y² + d x + e y + f`` is fit to them
    by least squares; the mean squared residual, corrected for the 6 fitted parameters, estimates
    sigma² there, and the **median** over the points is returned. The quadric absorbs the
    curvature (a plane reads curvature as noise: the former estimator read 1.3e-3 of the
    diagonal on a noise-free 20k-point bunny), and the median ignores creases, rims and
    misregistered sweeps that only a few neighbourhoods see. When the neighbourhoods are
    narrower than ``ratio`` x the estimate (noise comparable to the point spacing: a plane
    through a ball of noise reads too little), ``k`` grows and the estimate is redone, up to
    ``max_k``; the work is held near ``budget`` neighbour rows by using fewer points for large k.
    Measured against known Gaussian noise on the shared meshes (20k and 150k points, 0 to 1% of
    the diagonal) it lands within 15% (tests/dgp/test_noise.py).

    Parameters
    ----------
    points : (N, 3) float
    k : neighbours per local fit at the start

    Returns
    -------
    float, in the units of ``points``.

    >>> rng = np.random.default_rng(0)
    >>> plane = np.c_[rng.uniform(size=(5000, 2)), 0.01 * rng.normal(size=5000)]
    >>> round(estimate_noise(plane), 2)
    0.01
    """
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    if n < 10:
        return 0.0
    rng = np.random.default_rng(seed)
    query = pts if n <= max_points else pts[rng.choice(n, max_points, replace=False)]
    tree = cKDTree(pts)
    while True:
        kk = int(min(k, n))
        dist, idx = tree.query(query[: max(500, budget // kk)], k=kk)
        _, _, _, resid = _local_quadrics(pts[idx])
        sigma = float(np.sqrt(np.median((resid**2).sum(axis=1) / max(kk - 6, 1))))
        reach = float(np.median(dist[:, -1]))
        if reach >= ratio * sigma or kk >= min(max_k, n):
            return sigma
        k = min(max_k, int(k * max(2.0, 1.2 * (ratio * sigma / reach) ** 2)))


def _quadric_design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(..., 6)`` terms of a quadric height field ``h(x, y)``."""
    return np.stack([x * x, x * y, y * y, x, y, np.ones_like(x)], axis=-1)


def _local_quadrics(nb: np.ndarray, refits: int = 0):
    """Fit a quadric height field to each neighbourhood ``nb: (M, k, 3)`` in its PCA frame.

    Returns ``(mean (M, 3), axes (M, 3, 3), coef (M, 6), resid (M, k))``: the frame's origin, its
    axes as columns (the first along the smallest spread: the normal), the quadric's coefficients
    and each neighbour's height off it. Each of ``refits`` fits again without the neighbours
    further off than 3 robust standard deviations (1.4826 x the median absolute height) of their
    neighbourhood, so that one stray neighbour does not bend the quadric.
    """
    mean = nb.mean(axis=1)
    nb = nb - mean[:, None]
    _, axes = np.linalg.eigh(np.einsum("mki,mkj->mij", nb, nb))
    loc = np.einsum("mki,mij->mkj", nb, axes)
    h, design = loc[..., 0], _quadric_design(loc[..., 2], loc[..., 1])  # (M, k), (M, k, 6)
    weight, resid = np.ones(h.shape), h
    for fit in range(refits + 1):
        if fit:
            scale = 1.4826 * np.median(np.abs(resid), axis=1, keepdims=True)
            weight = (np.abs(resid) <= 3.0 * scale).astype(np.float64)
        gram = np.einsum("mk,mki,mkj->mij", weight, design, design) + 1e-12 * np.eye(6)
        coef = np.linalg.solve(gram, np.einsum("mk,mki,mk->mi", weight, design, h)[..., None])[..., 0]
        resid = h - np.einsum("mki,mi->mk", design, coef)
    return mean, axes, coef, resid


def outlier_measures(points: np.ndarray, k: int = 24, chunk: int = 10000, tree=None, workers: int = 1):
    """How far each point lies off the surface its neighbours describe, and how isolated it is.

    ``height``: the point's height above a quadric height field fit (as in `estimate_noise`) to
    its ``k`` nearest neighbours, the point itself left out, and fit again without the
    neighbours far off it (so that one stray neighbour does not bend it). A point on the surface
    reads about its noise; a stray point near the surface reads about its distance to it, since
    its neighbours are surface points. ``isolation``: the distance to the ``k``-th neighbour over
    its median across the points. A stray point far from everything may have only other stray
    points and a far patch of surface as neighbours, which a quadric can pass near; it is still
    tens of times more isolated than any surface point. ``density``: the median of the
    neighbours' distances to their ``k``-th neighbour over its median across the points (how much
    sparser than typical the surface is around the point: 10 where it is 100x sparser).
    ``tree``: a `scipy.spatial.cKDTree` of ``points`` already built by the caller; ``workers``:
    threads that share the chunks of points (the measures are the same for any number).

    Parameters
    ----------
    points : (N, 3) float

    Returns
    -------
    (height (N,) in the units of ``points``, isolation (N,), density (N,))

    >>> rng = np.random.default_rng(0)
    >>> plane = np.c_[rng.uniform(size=(2000, 2)), np.zeros(2000)]
    >>> plane[0, 2] = 0.3
    >>> height, isolation, _ = outlier_measures(plane)
    >>> round(float(height[0]), 2), bool(height[1:].max() < 1e-6), bool(isolation[0] > 2 > isolation[1:].max())
    (0.3, True, True)
    """
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    k = int(min(k, n - 1))
    if k < 6:
        return np.zeros(n), np.ones(n), np.ones(n)
    tree = cKDTree(pts) if tree is None else tree
    height, reach = np.empty(n), np.empty(n)
    starts = range(0, n, chunk)

    def fit(start):
        query = pts[start : start + chunk]
        dist, idx = tree.query(query, k=k + 1)
        # the point itself is its own nearest neighbour (or one of its duplicates: either way a
        # copy of it); the other k describe the surface around it
        mean, axes, coef, _ = _local_quadrics(pts[idx[:, 1:]], refits=1)
        q = np.einsum("mi,mij->mj", query - mean, axes)
        height[start : start + chunk] = np.abs(q[:, 0] - np.einsum("mi,mi->m", _quadric_design(q[:, 2], q[:, 1]), coef))
        reach[start : start + chunk] = dist[:, -1]

    _each(fit, starts, workers)
    typical = float(np.median(reach))
    if typical <= 0:
        return height, np.ones(n), np.ones(n)
    # the neighbours' reach, not the point's own (a stray point's own reach is long); the
    # neighbours are looked up again, chunk by chunk, rather than held for every point
    local = np.empty(n)

    def spread(start):
        idx = tree.query(pts[start : start + chunk], k=k + 1)[1][:, 1:]
        local[start : start + chunk] = np.median(reach[idx], axis=1) / typical

    _each(spread, starts, workers)
    return height, reach / typical, local


def _each(fn, items, workers: int) -> None:
    """``fn(item)`` for every item, on ``workers`` threads (numpy and scipy release the GIL)."""
    if workers <= 1:
        for item in items:
            fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, items))


def find_outliers(
    points: np.ndarray,
    sigma: float,
    spacing: float,
    factor: float,
    spacing_ratio: float,
    isolation: float,
    workers: int = 1,
) -> np.ndarray:
    """Mask ``(N,)`` of the stray points (`outlier_measures`): those further than ``factor x
    max(sigma, spacing_ratio x spacing x density)`` off the surface their neighbours describe, or
    more isolated than ``isolation``; all False when ``factor`` is 0.

    ``sigma`` is the noise level (`estimate_noise`) and ``spacing`` the surface spacing
    (`dgp.patches.surface_spacing`), in the units of ``points``: on noisy scans the threshold is a
    multiple of the noise, on clean ones (where the noise reads near zero and creases read more)
    a multiple of the point spacing there (``density``: sparser parts of a scan bend a quadric
    over wider neighbourhoods). `dgp reconstruct` uses ``factor = --outliers`` and the
    module's ``OUTLIER_SPACING`` and ``OUTLIER_ISOLATION``, from ``benchmarks/outliers.py``.

    >>> rng = np.random.default_rng(0)
    >>> plane = np.c_[rng.uniform(size=(2000, 2)), 0.001 * rng.normal(size=2000)]
    >>> plane[:3, 2] = 0.05
    >>> np.flatnonzero(find_outliers(plane, 0.001, 0.02, 5.0, 0.1, 10.0)).tolist()
    [0, 1, 2]
    """
    pts = np.asarray(points, dtype=np.float64)
    if factor <= 0 or len(pts) == 0:
        return np.zeros(len(pts), dtype=bool)
    return stray_mask(outlier_measures(pts, workers=workers), sigma, spacing, factor, spacing_ratio, isolation)


def stray_mask(measures, sigma: float, spacing: float, factor: float, spacing_ratio: float, isolation: float):
    """`find_outliers`'s test on measures already taken: ``measures`` is `outlier_measures`'s
    ``(height, isolation, density)``; returns the ``(N,)`` mask."""
    height, isolated, density = measures
    floor = spacing_ratio * float(spacing) * density
    return (height > factor * np.maximum(float(sigma), floor)) | (isolated > isolation)


def remove_outliers(
    cloud: PointCloud,
    factor: float = OUTLIER_FACTOR,
    seed: int = 0,
    spacing_ratio: float = OUTLIER_SPACING,
    isolation: float = OUTLIER_ISOLATION,
    workers: int = 1,
) -> tuple[PointCloud, int]:
    """``cloud`` without the points `find_outliers` finds at ``factor``, ``spacing_ratio`` and
    ``isolation`` (the noise and the point spacing measured on the cloud itself, in its unit
    frame), and how many it dropped; ``workers`` threads share the work.

    >>> rng = np.random.default_rng(0)
    >>> plane = np.c_[rng.uniform(size=(3000, 2)), 0.002 * rng.normal(size=3000)]
    >>> stray = np.c_[rng.uniform(size=(30, 2)), rng.choice([-1, 1], 30) * rng.uniform(0.05, 0.2, 30)]
    >>> kept, dropped = remove_outliers(PointCloud(np.vstack([plane, stray])), 4.5)
    >>> dropped, bool(np.abs(kept.points[:, 2]).max() < 0.05)
    (30, True)
    """
    from dgp.patches import surface_spacing

    unit = unit_frame(cloud.points).to_unit(cloud.points)
    sigma, spacing = estimate_noise(unit, seed=seed), surface_spacing(unit, seed=seed)
    stray = find_outliers(unit, sigma, spacing, factor, spacing_ratio, isolation, workers)
    return cloud.subset(np.flatnonzero(~stray)), int(stray.sum())
