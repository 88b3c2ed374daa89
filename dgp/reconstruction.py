"""`reconstruct`: a noisy point cloud in, fitted charts out, as a `Reconstruction`.

>>> import numpy as np, dgp
>>> rng = np.random.default_rng(0)
>>> d = rng.normal(size=(1500, 3)); d /= np.linalg.norm(d, axis=1, keepdims=True)
>>> cfg = dgp.ReconstructionConfig(radius=0.2, local_steps=30, consistency_steps=5, progress=False)
>>> rec = dgp.reconstruct(dgp.PointCloud(d, d), cfg)
>>> dense = rec.sample(8)
>>> bool(np.abs(np.linalg.norm(dense.points, axis=1) - 1).mean() < 0.1)
True
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dgp.charts import ChartState
from dgp.cluster import Job, make_runner
from dgp.errors import InputError
from dgp.fit import STEP_SCHEDULE_TEXT, ChartFitConfig, resolve_device
from dgp.patches import (
    BUDGET_RHO,
    LOW_NOISE_BUDGET,
    LOW_NOISE_MESH_FROM,
    MESH_FROM,
    NOISY_BUDGET,
    NORMAL_RHO,
    NORMAL_WEIGHT,
    UV_FROM,
    Patches,
    auto_radius,
    fit_budget_for,
    lr_schedule_for,
    make_patches,
    mesh_from_for,
    normal_weight_for,
    surface_spacing,
)
from dgp.pointcloud import (
    OUTLIER_FACTOR,
    OUTLIER_ISOLATION,
    OUTLIER_SPACING,
    OUTLIERS_DEFAULT,
    Frame,
    PointCloud,
    check_surface,
    estimate_noise,
    remove_outliers,
    unit_frame,
)
from dgp.settings import (
    SettingError,
    at_least,
    auto_or,
    check_settings,
    in_range,
    non_negative,
    positive,
    redefault,
    setting,
)
from dgp.util import peak_memory_mb

STATE_VERSION = 1
#: `dgp reconstruct` warns when a smaller fraction of the input lies near its mesh (`Reconstruction.coverage`)
COVERAGE_WARNING = 0.99
#: `ReconstructionConfig.support` counts in units of max(noise + nearest-neighbour spacing,
#: GAP_SPACINGS surface spacings) (`dgp.patches.surface_spacing`): the nearest-neighbour spacing
#: alone cut half the samples of a clean, randomly sampled surface (a point is further than the
#: median spacing from its nearest neighbour half the time)
GAP_SPACINGS = 2.0
#: radius, in median point spacings, of the ball in which `ReconstructionConfig.min_density` counts points
DENSITY_RADIUS = 3.0


@dataclass
class ReconstructionConfig(ChartFitConfig):
    """Every setting of `reconstruct`: the chart fitting's (`ChartFitConfig`) and the patches' and
    outputs' below. Each field carries its help text and check (`dgp.settings`); the command-line
    flags and docs/settings.md are derived from them."""

    radius: float = setting(
        0.0,
        "patch radius r, fraction of the bounding-box diagonal; 0 or auto = from the cloud's point spacing and noise "
        "(dgp.patches.auto_radius)",
        non_negative,
        group="patches",
        parse=auto_or(float, 0.0),
    )
    outliers: float = setting(
        OUTLIERS_DEFAULT,
        f"drop input points further than outliers x max(noise, {OUTLIER_SPACING:g} local point spacings) off the "
        f"surface their nearest neighbours describe, or {OUTLIER_ISOLATION:g}x more isolated than the typical point, "
        f"before the fit (dgp.pointcloud.find_outliers; {OUTLIER_FACTOR:g} is benchmarks/outliers.py's pick, the "
        "default its verdict); 0 = off",
        non_negative,
        group="patches",
    )
    padding: float = setting(
        1.5, "a patch takes the points within padding x r of its centre", at_least(1), group="patches"
    )
    angle: float = setting(
        95.0, "most angle between a point's normal and the centre's, degrees", in_range(0, 180, False), group="patches"
    )
    min_points: int = setting(20, "patches with fewer points are dropped", at_least(3), group="patches")
    max_points: int = setting(400, "most points per patch", group="patches")
    uv: str = setting(
        "blue",
        "each chart's uv samples: blue (a blue-noise set of the unit square, matched to the patch's points by "
        "optimal transport) or points (the points' own tangent-plane coordinates, so that a chart can pass "
        "through its points; benchmarks/clean_charts.py)",
        choices=UV_FROM,
        group="patches",
    )
    consistency_rounds: int = setting(
        1, "times the consistency targets are recomputed from the refit charts", at_least(1), group="fitting"
    )
    device: str = redefault(ChartFitConfig, "device", "auto")
    local_steps: int | str = setting(
        "auto",
        "steps of the local phase; auto = from the noise beside the point spacing (dgp.patches.fit_budget_for: "
        f"{NOISY_BUDGET[0]} where the noise is at least {BUDGET_RHO:g} spacings, else {LOW_NOISE_BUDGET[0]})",
        (lambda v: v == "auto" or v >= 0, "must be non-negative or auto"),
        group="fitting",
        parse=auto_or(int),
    )
    lr: float | str = setting(
        "auto",
        f"Adam learning rate; auto = {NOISY_BUDGET[1]:g} where the noise is at least {BUDGET_RHO:g} spacings, else "
        f"{LOW_NOISE_BUDGET[1]:g} (dgp.patches.fit_budget_for)",
        (lambda v: v == "auto" or v > 0, "must be positive or auto"),
        group="fitting",
        parse=auto_or(float),
    )
    lr_schedule: str = setting(
        "auto",
        f"learning rate along each phase's steps: constant, step ({STEP_SCHEDULE_TEXT}), or "
        f"auto = step where the noise is below {BUDGET_RHO:g} spacings, else constant (dgp.patches.lr_schedule_for)",
        choices=("auto", "constant", "step"),
        group="fitting",
    )
    normal_weight: float | str = setting(
        "auto",
        "weight of the term that tilts each chart towards its points' normals; 0 = positions only; auto = "
        f"{NORMAL_WEIGHT:g} where the noise is at least {NORMAL_RHO:g} point spacings, else 0 "
        "(dgp.patches.normal_weight_for)",
        (lambda v: v == "auto" or v >= 0, "must be non-negative or auto"),
        group="fitting",
        parse=auto_or(float),
    )
    density: int = setting(16, "grid side per chart for the dense samples", at_least(2), group="output")
    core: float = setting(1.0, "keep chart samples within core x r of the patch centre", positive, group="output")
    support: float = setting(
        1.0,
        f"keep chart samples within support x max(noise + point spacing, {GAP_SPACINGS:g} surface spacings) of an "
        "input point; 0 = off",
        non_negative,
        group="output",
    )
    min_density: float = setting(
        0.5,
        f"keep chart samples where the input points within {DENSITY_RADIUS:g} spacings number at least this fraction "
        "(times noise / spacing, at most 1) of the median such count (trims the fringe noise spreads past the rim of "
        "an open scan); 0 = off",
        in_range(0, 1, closed_high=False),
        group="output",
    )
    mesh_from: str = setting(
        "auto",
        "what the Screened Poisson mesh is fit to: charts (the charts' dense samples), input (the input points with "
        "the nearest chart sample's normal, where a chart sample is near), or union (both); the mesh is trimmed to "
        f"the charts' samples either way; auto = {LOW_NOISE_MESH_FROM} where the noise is below {BUDGET_RHO:g} "
        "spacings, else charts (dgp.patches.mesh_from_for)",
        choices=("auto", *MESH_FROM),
        group="output",
    )
    poisson_depth: int = setting(9, "Screened Poisson octree depth", in_range(1, 12), group="output")
    trim: float = setting(
        2.0,
        "drop mesh parts further from the dense samples than this many steps of a chart's sample grid; "
        "0 keeps the closed surface",
        non_negative,
        group="output",
    )
    watertight: bool = setting(
        False,
        "a closed surface for printing or simulation: no trim, and the scan's holes filled by Screened Poisson",
        group="output",
    )
    pockets: float = setting(
        0.5,
        "but keep such parts smaller than a disc of radius pockets x r (gaps between samples, not holes of the scan); "
        "0 = drop them too",
        non_negative,
        group="output",
    )
    cluster: str = setting(
        "",
        "fit on a Ray cluster: local (start one here), auto (the running cluster) or a Ray address; empty = in this "
        "process (docs/cluster.md)",
        group="scale",
    )
    workers: int = setting(
        0, "with --cluster local: CPUs the local Ray instance offers; 0 = all", non_negative, group="scale"
    )
    task_threads: int = setting(1, "torch threads of each cluster task", at_least(1), group="scale")
    progress: bool = setting(True, "show a progress bar", cli=False)

    def validate(self) -> "ReconstructionConfig":
        """Raise `SettingError` naming the first bad setting; return self."""
        check_settings(self)
        if self.max_points < self.min_points:
            raise SettingError("max_points", f"must be at least min_points ({self.min_points}), got {self.max_points}")
        if self.cluster:
            import importlib.util

            from dgp.cluster import INSTALL_HINT

            if importlib.util.find_spec("ray") is None:
                raise SettingError("cluster", INSTALL_HINT)
        return self

    def fit_config(self) -> ChartFitConfig:
        """The chart-fitting part of these settings (``normal_weight``, ``local_steps``, ``lr`` and
        ``lr_schedule`` resolved: `reconstruct` does it from the cloud)."""
        for name in ("normal_weight", "local_steps", "lr", "lr_schedule"):
            if getattr(self, name) == "auto":
                raise ValueError(f"{name} 'auto' is resolved from the cloud by reconstruct(); set a number")
        return ChartFitConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(ChartFitConfig)})


@dataclass
class Reconstruction:
    """Fitted charts of a cloud, enough to re-export samples and meshes.

    Attributes
    ----------
    config : ReconstructionConfig
    frame : Frame, the unit frame the fit ran in (bounding-box diagonal 1)
    points, normals : (N, 3) input points and normals in the unit frame
    patches : Patches (in the unit frame)
    charts : ChartState, stacked weights of all P charts
    fitted : (P,) bool, charts whose fit completed (False after an interruption)
    sigma : float, the estimated noise level (unit frame)
    (the patch radius used, chosen by `dgp.patches.auto_radius` when ``config.radius`` is 0, is
    ``patches.radius``)
    seconds : float, fitting time
    stages : seconds per stage of the fit (outliers when removed, normals when estimated, noise, radius, patches, local,
        consistency; not saved)
    peaks : the process's peak memory in MB at the end of each stage (`dgp.util.peak_memory_mb`)
    tasks : one row per chunk fit: phase, chunk, seconds, bytes of its arrays in and out (`dgp.cluster`; not saved)
    matching_seconds : the local phase's seconds in the OT matching, summed over its chunks (not saved)
    outliers_removed : input points dropped as outliers before the fit (``config.outliers``; not saved:
        ``points`` holds the rest)
    """

    config: ReconstructionConfig
    frame: Frame
    points: np.ndarray
    normals: np.ndarray
    patches: Patches
    charts: ChartState
    fitted: np.ndarray
    sigma: float
    seconds: float = 0.0
    interrupted: bool = False
    stages: dict = field(default_factory=dict, compare=False)
    peaks: dict = field(default_factory=dict, compare=False)
    tasks: list = field(default_factory=list, compare=False)
    matching_seconds: float = field(default=0.0, compare=False)
    outliers_removed: int = field(default=0, compare=False)
    _dense_cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ outputs

    def _dense(self, density: int, chunk: int = 256):
        """Per-chart grids: points, normals (world, unit frame), kept mask, for fitted charts.

        Cached per (density, core, support, min_density): `sample`, `mesh` and `chart_mesh` share one evaluation.
        """
        key = (int(density), self.config.core, self.config.support, self.config.min_density)
        if key not in self._dense_cache:
            self._dense_cache[key] = self._evaluate_dense(int(density), chunk)
        return self._dense_cache[key]

    def _evaluate_dense(self, density: int, chunk: int):
        from scipy.spatial import cKDTree

        from dgp.surface import chart_points_and_normals, uv_grid

        p = self.patches
        which = np.flatnonzero(self.fitted)
        tree = cKDTree(self.points)
        some = self.points[:: max(1, len(self.points) // 20000)]
        spacing = float(np.median(tree.query(some, k=2)[0][:, 1]))
        # a surface location lies further than t from every sample of a surface sampled at spacing h
        # with probability about exp(-pi t² / h²): GAP_SPACINGS h leaves no holes where there is data
        h = surface_spacing(self.points, tree=tree)
        reach = self.config.support * max(self.sigma + spacing, GAP_SPACINGS * h)
        reach = reach if self.config.support > 0 else np.inf
        # the fringe that noise spreads past the rim of an open scan is as wide as the noise: the
        # density rule matters as far as the noise is comparable to the spacing (a clean real scan's
        # density varies with the scanner's distance, and a fixed rule cut holes into it)
        min_density = self.config.min_density * min(1.0, self.sigma / h) if h > 0 else 0.0
        if min_density > 0:
            # the input's typical density: points within DENSITY_RADIUS spacings of an input point
            typical = float(np.median(tree.query_ball_point(some, DENSITY_RADIUS * spacing, return_length=True)))
        pts_all, nrm_all, keep_all = [], [], []
        for start in range(0, len(which), chunk):
            sel = which[start : start + chunk]
            mask = np.zeros(len(p), dtype=bool)
            mask[sel] = True
            uv = np.where(p.mask[sel][..., None], p.uv[sel], np.nan)
            grid = uv_grid(np.nanmin(uv, axis=1), np.nanmax(uv, axis=1), density)
            loc, nloc = chart_points_and_normals(self.charts.network(mask), grid)
            world = p.to_world(loc, sel)
            nworld = np.einsum("pki,pij->pkj", nloc, p.rotation[sel])
            centre = self.points[p.centers[sel]]
            keep = np.linalg.norm(world - centre[:, None], axis=-1) <= self.config.core * p.radius
            dist, near = tree.query(world.reshape(-1, 3))
            keep &= dist.reshape(keep.shape) <= reach  # no input point near: the chart extrapolates
            if min_density > 0:
                # past the rim of an open scan the points thin out (noise spreads them beyond it):
                # keep samples where the density is at least min_density x the typical one
                count = tree.query_ball_point(world.reshape(-1, 3), DENSITY_RADIUS * spacing, return_length=True)
                keep &= count.reshape(keep.shape) >= min_density * typical
            flip = np.sum(nworld.reshape(-1, 3) * self.normals[near], axis=1) < 0
            nworld = np.where(flip[:, None], -nworld.reshape(-1, 3), nworld.reshape(-1, 3)).reshape(nworld.shape)
            keep &= np.linalg.norm(nworld, axis=-1) > 0.5
            pts_all.append(world)
            nrm_all.append(nworld)
            keep_all.append(keep)
        return which, np.concatenate(pts_all), np.concatenate(nrm_all), np.concatenate(keep_all)

    def sample(self, density: int | None = None) -> PointCloud:
        """Dense samples of the surface with analytic normals, in the input's frame.

        ``density`` is the grid side per chart (default ``config.density``); samples where a
        chart extrapolates beyond its core are dropped. Returns a PointCloud (M, 3) with normals.
        """
        density = int(density or self.config.density)
        _, pts, nrm, keep = self._dense(density)
        return PointCloud(self.frame.from_unit(pts[keep]), nrm[keep])

    def mesh(self, density: int | None = None, depth: int | None = None, trim: float | None = None):
        """A Screened Poisson mesh (`trimesh.Trimesh`, in the input's frame) of the dense samples, the
        input points or both (``config.mesh_from``), trimmed to the samples' support."""
        import trimesh

        from dgp.surface import poisson_mesh, trim_unsupported

        density = int(density or self.config.density)
        _, pts, nrm, keep = self._dense(density)
        if not keep.any():  # no chart sample survived: an empty mesh, which callers refuse to write
            return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), process=False)
        depth = depth or self.config.poisson_depth
        samples = pts[keep]
        # the samples' surface spacing (the side of the area per sample, from the 16th neighbour):
        # the nearest-neighbour spacing is often a twin sample of an overlapping chart, and
        # trimmed holes into clean scans
        spacing = surface_spacing(samples)
        given = self._poisson_input(samples, nrm[keep], spacing, self.resolved_mesh_from())
        if self.config.watertight:
            # the surface that closes an open scan bulges past the samples' bounding box, and Open3D
            # clips it at its box (1.1 x the samples'): a box twice as wide, one level deeper, keeps it
            v, f = poisson_mesh(*given, depth=depth + 1, trim=0.0, scale=2.2)
            return trimesh.Trimesh(self.frame.from_unit(v), f, process=False)
        v, f = poisson_mesh(*given, depth=depth, trim=0.0)
        trim = self.config.trim if trim is None else trim
        if trim > 0:
            pocket = np.pi * (self.config.pockets * self.patches.radius) ** 2
            v, f = trim_unsupported(v, f, samples, trim * spacing, keep_pockets=pocket)
        return trimesh.Trimesh(self.frame.from_unit(v), f, process=False)

    def resolved_mesh_from(self) -> str:
        """``config.mesh_from``, with ``auto`` resolved from the cloud (`dgp.patches.mesh_from_for`;
        `reconstruct` stores it resolved, a state written before the setting existed does not)."""
        if self.config.mesh_from != "auto":
            return self.config.mesh_from
        return mesh_from_for(self.sigma, surface_spacing(self.points))

    def _poisson_input(self, samples: np.ndarray, normals: np.ndarray, spacing: float, mesh_from: str):
        """The oriented points ``(M, 3), (M, 3)`` Screened Poisson is fit to (unit frame): the kept chart
        ``samples`` and their ``normals``, the input points within ``GAP_SPACINGS`` sample ``spacing``s
        of a sample with that sample's normal, or both."""
        if mesh_from == "charts":
            return samples, normals
        from scipy.spatial import cKDTree

        dist, near = cKDTree(samples).query(self.points)
        ok = dist <= GAP_SPACINGS * spacing  # where the charts were dropped the mesh is trimmed anyway
        x, n = self.points[ok], normals[near[ok]]
        return (x, n) if mesh_from == "input" else (np.r_[samples, x], np.r_[normals, n])

    def chart_mesh(self, density: int | None = None):
        """Every chart as a grid triangulation, coloured by patch (`trimesh.Trimesh`); only kept cells."""
        import trimesh

        from dgp.surface import grid_faces

        density = int(density or self.config.density)
        which, pts, _, keep = self._dense(density)
        faces = grid_faces(density)
        m = density * density
        rng = np.random.default_rng(0)
        colours = (rng.uniform(0.2, 1.0, size=(len(self.patches), 3)) * 255).astype(np.uint8)
        all_faces, all_cols = [], []
        for row, p in enumerate(which):
            ok = keep[row][faces].all(axis=1)
            all_faces.append(faces[ok] + row * m)
            all_cols.append(np.repeat(colours[p][None], ok.sum(), axis=0))
        mesh = trimesh.Trimesh(self.frame.from_unit(pts.reshape(-1, 3)), np.concatenate(all_faces), process=False)
        mesh.visual.face_colors = np.c_[np.concatenate(all_cols), np.full(sum(len(c) for c in all_cols), 255)]
        mesh.remove_unreferenced_vertices()
        return mesh

    def coverage(self, mesh, within: float = 0.5) -> float:
        """The fraction of input points within ``within`` x the patch radius of ``mesh``'s surface.

        A mesh that misses part of the scan (objects smaller than a patch, say) shows here
        rather than silently: `dgp reconstruct` warns when this is below `COVERAGE_WARNING`.
        """
        from dgp.metrics import surface_distances

        if len(mesh.faces) == 0:
            return 0.0
        pts = self.frame.from_unit(self.points[:: max(1, len(self.points) // 20000)])
        reach = within * self.patches.radius * self.frame.scale
        return float(np.mean(surface_distances(mesh, pts)[0] <= reach))

    # ------------------------------------------------------------------ state files

    def state_dict(self) -> dict:
        """Everything needed to re-export, as tensors and plain Python values."""
        p, c = self.patches, self.charts
        cfg = dataclasses.asdict(self.config)
        cfg["widths"] = list(cfg["widths"])
        t = torch.as_tensor
        return {
            "version": STATE_VERSION,
            "config": cfg,
            "frame_center": t(self.frame.center),
            "frame_scale": float(self.frame.scale),
            "points": t(self.points),
            "normals": t(self.normals),
            "centers": t(p.centers),
            "index": t(p.index),
            "mask": t(p.mask),
            "origin": t(p.origin),
            "rotation": t(p.rotation),
            "scale": t(p.scale),
            "uv": t(p.uv),
            "radius": float(p.radius),
            "weights": [w.clone() for w in c.weights],
            "biases": [b.clone() for b in c.biases],
            "match": t(c.match),
            "stopped_at": t(c.stopped_at),
            "fitted": t(self.fitted),
            "sigma": float(self.sigma),
            "seconds": float(self.seconds),
            "interrupted": bool(self.interrupted),
        }

    def save(self, path) -> None:
        """Write the state to ``path`` (a ``.pt`` file) atomically."""
        from dgp.util import atomic_path

        with atomic_path(path) as tmp:
            torch.save(self.state_dict(), tmp)

    @classmethod
    def load(cls, path) -> "Reconstruction":
        """Read a state written by `save` (with ``torch.load(weights_only=True)``)."""
        path = Path(path)
        if not path.exists():
            raise InputError("no such file", path)
        try:
            s = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(s, dict) or s.get("version") != STATE_VERSION:
                raise ValueError("not a dgp reconstruction state")
            cfg = dict(s["config"])
            cfg["widths"] = tuple(cfg["widths"])
            n = lambda k: s[k].numpy()  # noqa: E731
            patches = Patches(
                n("centers"), n("index"), n("mask"), n("origin"), n("rotation"), n("scale"), n("uv"), float(s["radius"])
            )
            charts = ChartState(list(s["weights"]), list(s["biases"]), n("match"), n("stopped_at"))
            return cls(
                ReconstructionConfig(**cfg),
                Frame(n("frame_center"), float(s["frame_scale"])),
                n("points"),
                n("normals"),
                patches,
                charts,
                n("fitted"),
                float(s["sigma"]),
                float(s["seconds"]),
                bool(s["interrupted"]),
            )
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"cannot be read as a dgp state ({type(exc).__name__}: {str(exc)[:80]})", path) from None


def plan_chunks(counts: np.ndarray, batch_size: int, slack: float = 0.8, min_chunk: int = 32) -> list:
    """Group patches into chunks fit together, each padded only to its own largest patch.

    Patches are taken by decreasing point count (stable); a chunk closes when it holds
    ``batch_size`` patches, or when the next patch has fewer than ``slack`` × the chunk's
    largest count and the chunk already holds ``min_chunk``. Padding is work the networks do
    for nothing, and patch sizes vary a lot (20 to ``max_points``).

    Parameters
    ----------
    counts : (P,) int, points per patch; batch_size : most patches per chunk

    Returns
    -------
    list of ``(idx, k)``: ``idx (B,)`` patch indices, ``k`` the chunk's largest count.
    """
    order = np.argsort(-np.asarray(counts), kind="stable")
    chunks, cur = [], []
    for p in order:
        if cur and (len(cur) >= batch_size or (counts[p] < slack * counts[cur[0]] and len(cur) >= min_chunk)):
            chunks.append(cur)
            cur = []
        cur.append(int(p))
    if cur:
        chunks.append(cur)
    return [(np.asarray(c), int(counts[c[0]])) for c in chunks]


def _consistency_targets(
    rec_points: np.ndarray, patches: Patches, charts: ChartState, fitted: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """(N, 3): each point averaged with every fitted chart's prediction matched to it (unit frame)."""
    total = rec_points.copy()
    count = np.ones(len(rec_points))
    for start in range(0, len(patches), chunk):
        sel = np.arange(start, min(start + chunk, len(patches)))
        sel = sel[fitted[sel]]
        if len(sel) == 0:
            continue
        loc = charts.evaluate(torch.as_tensor(patches.uv[sel], dtype=torch.float32), sel).double().numpy()
        world = patches.to_world(loc, sel)
        rows = np.take_along_axis(patches.index[sel], charts.match[sel], axis=1)  # point index per uv sample
        ok = patches.mask[sel]
        np.add.at(total, rows[ok], world[ok])
        count += np.bincount(rows[ok], minlength=len(rec_points))
    return total / count[:, None]


def resolve_auto(cfg: ReconstructionConfig, sigma: float, spacing: float) -> ReconstructionConfig:
    """``cfg`` with its ``auto`` fitting settings set for a cloud of noise ``sigma`` and surface
    ``spacing`` (same units): ``normal_weight`` (`normal_weight_for`), ``local_steps`` and ``lr``
    (`fit_budget_for`), ``lr_schedule`` (`lr_schedule_for`), ``mesh_from`` (`mesh_from_for`); settings given a
    value are kept.

    >>> c = resolve_auto(ReconstructionConfig(lr=0.02), sigma=0.0, spacing=0.01)
    >>> c.normal_weight, c.local_steps, c.lr
    (0.0, 1000, 0.02)
    """
    steps, lr = fit_budget_for(sigma, spacing)
    found = {
        "normal_weight": normal_weight_for(sigma, spacing),
        "local_steps": steps,
        "lr": lr,
        "lr_schedule": lr_schedule_for(sigma, spacing),
        "mesh_from": mesh_from_for(sigma, spacing),
    }
    return dataclasses.replace(cfg, **{k: v for k, v in found.items() if getattr(cfg, k) == "auto"})


def reconstruct(cloud: PointCloud, config: ReconstructionConfig | None = None) -> Reconstruction:
    """Fit a Deep Geometric Prior to ``cloud`` (normals are estimated first when missing).

    Ctrl-C during the fit stops it: the charts fitted so far are kept (``fitted`` marks them)
    and ``interrupted`` is set, so the caller can still write what there is.
    """
    from dgp.normals import ensure_normals

    cfg = (config or ReconstructionConfig()).validate()
    if not cfg.cluster:  # on a cluster the workers have the devices, not necessarily this machine
        resolve_device(cfg.device)
    check_surface(cloud.require(max(cfg.min_points, 4)).points, cloud.source)
    t0 = mark = time.time()
    stages, peaks = {}, {}

    def done(stage):
        nonlocal mark
        stages[stage], peaks[stage] = time.time() - mark, peak_memory_mb()
        mark = time.time()

    removed = 0
    if cfg.outliers > 0:
        # before the normals (a stray point tilts its neighbours' estimated normals) and the unit
        # frame (a far one stretches the bounding box every fraction of the diagonal refers to)
        kept, removed = remove_outliers(cloud, cfg.outliers, seed=cfg.seed, workers=torch.get_num_threads())
        if len(kept) >= max(cfg.min_points, 4):
            cloud = kept
        else:
            removed = 0
        done("outliers")
    if not cloud.has_normals:
        cloud = ensure_normals(cloud)
        done("normals")

    torch.manual_seed(cfg.seed)
    frame = unit_frame(cloud.points)
    pts = frame.to_unit(cloud.points)
    sigma = estimate_noise(pts, seed=cfg.seed)
    done("noise")
    spacing = surface_spacing(pts, seed=cfg.seed)
    radius = cfg.radius or auto_radius(spacing, sigma)
    cfg = resolve_auto(cfg, sigma, spacing)  # the state keeps the values the charts were fit with
    done("radius")
    try:
        patches = make_patches(
            pts,
            cloud.normals,
            radius,
            cfg.padding,
            cfg.angle,
            cfg.min_points,
            cfg.max_points,
            seed=cfg.seed,
            cover=cfg.core,
            workers=torch.get_num_threads(),
            uv_from=cfg.uv,
        )
    except ValueError as exc:
        raise InputError(str(exc), cloud.source) from None
    local = patches.to_local(pts)
    nlocal = patches.directions_to_local(cloud.normals)
    sigma_local = sigma / patches.scale
    done("patches")
    fcfg = cfg.fit_config()
    # in one process the device is resolved here; on a cluster each worker resolves it
    fcfg.device = cfg.device if cfg.cluster else str(resolve_device(cfg.device))
    P, K = patches.index.shape
    chunks = plan_chunks(patches.counts, cfg.batch_size)
    runner = make_runner(cfg.cluster, cfg.workers, cfg.task_threads, cfg.device)
    bar = None
    if cfg.progress:
        from tqdm.auto import tqdm

        where = f" on {runner.workers} Ray workers" if cfg.cluster else ""
        bar = tqdm(
            total=len(chunks) * (cfg.local_steps + cfg.consistency_rounds * cfg.consistency_steps),
            unit="step",
            file=sys.stderr,
            mininterval=0.5 if sys.stderr.isatty() else 15,
            desc=f"fitting {P} patches{where}",
            dynamic_ncols=True,
        )

    def progress(n, loss):
        if bar is not None:
            bar.update(n)
            bar.set_postfix(loss=f"{loss:.3g}", refresh=False)

    # every chart starts untrained; chunks overwrite their rows as they finish (an interruption
    # leaves the rest marked unfitted)
    charts = ChartState.blank(P, K, cfg.widths, cfg.seed)
    fitted, interrupted = np.zeros(P, dtype=bool), False
    matching_seconds = 0.0  # of the local phase, summed over its chunks (over workers on a cluster)

    def inputs(ci):
        # a chunk's arrays: made when its job is, so that one process holds one chunk's copy at a
        # time; a cluster stores them once (runner.put caches by key) for both phases
        idx, k = chunks[ci]
        arrays = (patches.uv[idx, :k], local[idx, :k], patches.mask[idx, :k], sigma_local[idx], nlocal[idx, :k])
        return runner.put(("inputs", ci), arrays) if cfg.cluster else arrays

    def consistency_jobs(tloc):
        for ci, (idx, k) in enumerate(chunks):
            sub = charts.rows(idx, k)
            order = sub.match[..., None]
            targets = np.take_along_axis(tloc[idx, :k], order, axis=1)
            normals = np.take_along_axis(nlocal[idx, :k], order, axis=1)
            yield Job(ci, "consistency", (inputs(ci), targets, normals, sub, fcfg))

    try:
        mark = time.time()  # the runner's start (Ray's) is in no stage
        # jobs are generators: one process makes each when it runs it, a cluster submits them all
        jobs = (Job(ci, "local", (inputs(ci), fcfg, cfg.seed * 1000 + ci)) for ci in range(len(chunks)))
        for ci, st in runner.run(jobs, progress):
            idx = chunks[ci][0]
            charts.assign(idx, st)
            fitted[idx] = True
            matching_seconds += sum(st.history.get("matching_seconds", []))
        done("local")
        for _ in range(cfg.consistency_rounds if cfg.consistency_steps > 0 else 0):
            # targets from all charts as they stand (summed here, in patch order, whoever fitted
            # them); each round refits every chunk to them (chunks' rows are disjoint, so a refit
            # assigned before a later chunk's job is made does not change that job)
            tloc = patches.to_local(_consistency_targets(pts, patches, charts, fitted))  # (P, K, 3)
            for ci, refit in runner.run(consistency_jobs(tloc), progress):
                charts.assign(chunks[ci][0], refit)
        done("consistency")
    except KeyboardInterrupt:
        interrupted = True
        if not fitted.any():
            raise
    finally:
        if bar is not None:
            bar.close()
        runner.close()
    rec = Reconstruction(cfg, frame, pts, cloud.normals, patches, charts, fitted, sigma, time.time() - t0, interrupted)
    rec.stages, rec.peaks, rec.tasks = stages, peaks, runner.tasks
    rec.matching_seconds = matching_seconds
    rec.outliers_removed = removed
    return rec
