"""Stray points in a scan: the rule behind ``dgp reconstruct --outliers`` (`dgp.pointcloud.find_outliers`).

Scanners leave stray points off the surface (multipath, edges, dust). Earth Mover matching
serves every point, so a chart may bend towards a stray one, and a few strays far outside the
scan stretch the bounding box that every fraction of the diagonal refers to. `find_outliers`
drops the points further than ``factor x max(noise, spacing_ratio x the local point spacing)``
off a quadric fit to their 24 nearest neighbours, or whose 24th neighbour is more than
``isolation`` times further than the median point's.

**Filter part** (seconds): the outlier distance of every point of synthetic scans of the three
shared meshes, without outliers (0% to 1% noise, 20k and 100k points, and 20k points whose
density falls 100x along the mesh: a scanner's near and far field) and with outliers (20k
points, 0% to 0.5% noise) of three kinds: 1% *uniform* in the bounding box, 1% *near* the surface
(a random direction, 1-5% of the diagonal from a surface point), and 0.1% *far* (uniform in a box
three times the bounding box: stray returns that stretch it). Each (factor, spacing_ratio,
isolation) of a grid is scored by the points it drops.

**Rule:** among the triples that drop at most ``MAX_FALSE`` of the points of every outlier-free
scan, the one that drops the most outliers over the contaminated scans (ties: the larger
thresholds). Open3D's statistical outlier removal (20 neighbours, 2 standard deviations) is
scored beside it on the same scans, and the real SRB scan's drop is reported (not in the rule:
its outliers are not known).

**Fit part** (``--fit``, about 40 minutes on 2 cores): ``dgp reconstruct`` at its defaults with
the filter off (``--outliers 0``) and at the pick, on contaminated scans and on a real slab of
the SRB scan, beside Screened Poisson depth 8 of the raw and of the filtered points. Errors
against the mesh (Chamfer-L1, Hausdorff; fractions of the diagonal) or, for the slab, against
the scan (scan->mesh mean, mesh->scan p99). **Rule:** the default ``--outliers`` is the pick's
factor when, with it, DGP's error is at most ``MAX_WORSE`` times the unfiltered one on every fit
input and the mean ratio of the second measure is below 1; otherwise 0 (off).

Writes ``outliers.md`` and ``outliers.json`` to ``--out`` (default benchmarks/results/); a
``--fit`` run keeps the record's filter part and adds its own.

    .venv/bin/python benchmarks/outliers.py && .venv/bin/python benchmarks/outliers.py --fit
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._util import add_render_argument, reconstruct_measured, rerender, scratch  # noqa: E402
from benchmarks.mesh_from import errors_of  # noqa: E402
from benchmarks.normal_weight import add_run_arguments  # noqa: E402
from dgp.util import write_text  # noqa: E402

MESHES = ("stanford-bunny", "fandisk", "pcu_bunny_lowres")
#: outlier-free scans: (points, noise as a fraction of the diagonal, density ratio from end to end
#: of the mesh's longest axis: 1 uniform, 100 as a scanner's near and far field)
CLEAN = [(20_000, x, 1) for x in (0.0, 0.001, 0.0025, 0.005, 0.01)]
CLEAN += [(100_000, 0.0, 1), (100_000, 0.001, 1), (20_000, 0.0, 100), (20_000, 0.0025, 100)]
#: the fraction of a scan's points added as outliers, per kind (`add_outliers`)
FRACTION = {"uniform": 0.01, "near": 0.01, "far": 0.001}
#: contaminated scans: (points, noise, kind)
DIRTY = [(20_000, noise, kind) for noise in (0.0, 0.0025, 0.005) for kind in FRACTION]
FACTORS = (3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 8.0)
SPACING_RATIOS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
ISOLATIONS = (3.0, 5.0, 10.0, 20.0, 50.0)
#: a triple may drop at most this fraction of an outlier-free scan's points
MAX_FALSE = 0.001
#: (name, mesh stem or "srb_dc", points, noise, outlier kind) fit by --fit
FIT_INPUTS = [
    ("bunny 20k 0.5% +1% near", "stanford-bunny", 20_000, 0.005, "near"),
    ("fandisk 20k 0.25% +1% near", "fandisk", 20_000, 0.0025, "near"),
    ("pcu bunny 20k 0.5% +1% uniform", "pcu_bunny_lowres", 20_000, 0.005, "uniform"),
    ("bunny 20k 0.25% +0.1% far", "stanford-bunny", 20_000, 0.0025, "far"),
    ("srb_dc slab (real)", "srb_dc", 0, 0.0, ""),
]
#: with the filter, DGP's error may be at most this factor of the unfiltered one on any fit input
MAX_WORSE = 1.02


def add_outliers(points: np.ndarray, kind: str, fraction: float, seed: int):
    """``points`` with ``fraction x N`` stray points appended; returns ``(points (M, 3), is_outlier (M,))``.

    ``uniform``: uniform in the bounding box; ``near``: 1-5% of the diagonal from a random point of
    the scan, in a random direction; ``far``: uniform in the box three times the bounding box's
    size around it (stray returns that stretch the bounding box)."""
    rng = np.random.default_rng(seed + 7)
    n = int(round(fraction * len(points)))
    lo, hi = points.min(axis=0), points.max(axis=0)
    if kind == "uniform":
        extra = rng.uniform(lo, hi, size=(n, 3))
    elif kind == "far":
        extra = rng.uniform(2 * lo - hi, 2 * hi - lo, size=(n, 3))
    else:
        d = rng.normal(size=(n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        off = rng.uniform(0.01, 0.05, size=(n, 1)) * float(np.linalg.norm(hi - lo))
        extra = points[rng.choice(len(points), n, replace=False)] + d * off
    return np.vstack([points, extra]), np.r_[np.zeros(len(points), bool), np.ones(n, bool)]


def scan_of(stem: str, n: int, noise: float, seed: int, shared: Path, uneven: float = 1.0):
    """A synthetic scan ``(n, 3)`` of a shared mesh and the mesh; with ``uneven`` > 1 the density
    falls exponentially along the mesh's longest axis, ``uneven`` times from end to end."""
    from dgp.io import noisy_scan, read_mesh

    gt = read_mesh(next(iter(sorted((shared / "meshes").glob(f"{stem}.*")))))
    if uneven <= 1:
        return noisy_scan(gt, n, noise, seed=seed).points, gt
    pts = noisy_scan(gt, 8 * n, noise, seed=seed).points
    axis = int(np.argmax(gt.bounds[1] - gt.bounds[0]))
    t = (pts[:, axis] - gt.bounds[0][axis]) / (gt.bounds[1][axis] - gt.bounds[0][axis])
    rng = np.random.default_rng(seed + 3)
    kept = np.flatnonzero(rng.uniform(size=len(pts)) < uneven ** -np.clip(t, 0, 1))
    return pts[rng.choice(kept, n, replace=False)], gt


def distances(points: np.ndarray, seed: int) -> dict:
    """What the filter sees of a scan (`outlier_measures`, noise and spacing), in its unit frame."""
    from dgp.patches import surface_spacing
    from dgp.pointcloud import estimate_noise, outlier_measures, unit_frame

    unit = unit_frame(points).to_unit(points)
    t = time.time()
    measures = outlier_measures(unit)
    return {
        "seconds": time.time() - t,
        "measures": measures,
        "sigma": estimate_noise(unit, seed=seed),
        "spacing": surface_spacing(unit, seed=seed),
    }


def dropped(d: dict, factor: float, ratio: float, isolation: float) -> np.ndarray:
    """`dgp.pointcloud.find_outliers` from the measures `distances` took."""
    from dgp.pointcloud import stray_mask

    return stray_mask(d["measures"], d["sigma"], d["spacing"], factor, ratio, isolation)


def open3d_statistical(points: np.ndarray) -> np.ndarray:
    """Mask of the points Open3D's statistical outlier removal (20 neighbours, 2 std) drops."""
    import open3d as o3d

    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    _, keep = pc.remove_statistical_outlier(nb_neighbors=20, std_ratio=2.0)
    mask = np.ones(len(points), dtype=bool)
    mask[np.asarray(keep, dtype=np.int64)] = False
    return mask


def grid_counts(d: dict, is_out: np.ndarray) -> dict:
    """``{"factor,ratio,isolation": [inliers dropped, outliers dropped]}`` over the grid."""
    return {
        f"{f:g},{r:g},{i:g}": [int((m := dropped(d, f, r, i))[~is_out].sum()), int(m[is_out].sum())]
        for f in FACTORS
        for r in SPACING_RATIOS
        for i in ISOLATIONS
    }


def filter_part(seed: int, shared: Path) -> dict:
    rows = []
    for stem in MESHES:
        for n, noise, uneven in CLEAN:
            pts, _ = scan_of(stem, n, noise, seed, shared, uneven)
            is_out = np.zeros(len(pts), bool)
            d = distances(pts, seed)
            name = f"{stem} {n // 1000}k {100 * noise:g}%" + (f" uneven x{uneven:g}" if uneven > 1 else "")
            rows.append(row_of(name, "none", pts, is_out, d))
        for n, noise, kind in DIRTY:
            pts, _ = scan_of(stem, n, noise, seed, shared)
            pts, is_out = add_outliers(pts, kind, FRACTION[kind], seed)
            d = distances(pts, seed)
            rows.append(row_of(f"{stem} {n // 1000}k {100 * noise:g}%", kind, pts, is_out, d))
        print(f"{stem}: {len(rows)} scans so far", flush=True)
    from dgp.io import read_points

    srb = read_points(shared / "scans" / "srb_dc_scan.ply").points
    real = row_of("srb_dc scan (real)", "unknown", srb, np.zeros(len(srb), bool), distances(srb, seed))
    return {"rows": rows, "real": real, "rule": choose(rows)}


def row_of(name, kind, pts, is_out, d) -> dict:
    o3 = open3d_statistical(pts)
    return {
        "seconds": d["seconds"],
        "input": name,
        "kind": kind,
        "points": int((~is_out).sum()),
        "outliers": int(is_out.sum()),
        "noise_to_spacing": d["sigma"] / d["spacing"],
        "grid": grid_counts(d, is_out),
        "open3d": [int(o3[~is_out].sum()), int(o3[is_out].sum())],
    }


def choose(rows) -> dict:
    """The rule in the module docstring: ``{"factor", "spacing_ratio", "isolation", "allowed", "caught"}``."""
    clean = [r for r in rows if r["kind"] == "none"]
    dirty = [r for r in rows if r["kind"] != "none"]
    keys = list(rows[0]["grid"])
    allowed = [k for k in keys if all(r["grid"][k][0] <= MAX_FALSE * r["points"] for r in clean)]
    if not allowed:
        raise ValueError(f"no triple drops at most {MAX_FALSE:g} of every outlier-free scan")
    caught = {k: sum(r["grid"][k][1] for r in dirty) for k in allowed}
    best = max(allowed, key=lambda k: (caught[k], *map(float, k.split(","))))
    factor, ratio, isolation = map(float, best.split(","))
    return {
        "factor": factor,
        "spacing_ratio": ratio,
        "isolation": isolation,
        "allowed": len(allowed),
        "caught": caught[best],
    }


def fit_part(pick: dict, seed: int, threads: int, shared: Path) -> list:
    from benchmarks.normal_weight import make_input
    from dgp.io import read_points, write_points
    from dgp.pointcloud import PointCloud, remove_outliers

    tmp = scratch("dgp-outliers-")
    rows = []
    for name, stem, n, noise, kind in FIT_INPUTS:
        if stem == "srb_dc":
            scan, gt = make_input((name, stem, n, noise, "scanner"), tmp, seed, shared)
        else:
            pts, gt = scan_of(stem, n, noise, seed, shared)
            pts, _ = add_outliers(pts, kind, FRACTION[kind], seed)
            scan = tmp / "scan.ply"
            write_points(scan, PointCloud(pts))  # a raw scan: no normals
        clean, n_dropped = remove_outliers(
            read_points(scan), pick["factor"], seed, pick["spacing_ratio"], pick["isolation"]
        )
        clean_path = tmp / "filtered.ply"
        write_points(clean_path, clean)
        row = {"input": name, "dropped": n_dropped, "dgp": {}, "poisson": {}, "seconds": {}}
        for label, flags in (("off", ["--outliers", "0"]), ("on", ["--outliers", f"{pick['factor']:g}"])):
            mesh = tmp / f"dgp_{label}.ply"
            r = reconstruct_measured(scan, mesh, seed, threads, flags)
            row["seconds"][label] = r["seconds"]
            row["dgp"][label] = errors_of(mesh, gt, scan) if r["rc"] == 0 else None
        for label, path in (("raw", scan), ("filtered", clean_path)):
            mesh = tmp / f"poisson_{label}.ply"
            reconstruct_measured(path, mesh, seed, threads, ["--method", "poisson", "--poisson-depth", "8"])
            row["poisson"][label] = errors_of(mesh, gt, scan)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def fit_rule(rows, factor: float) -> dict:
    """The ``--fit`` rule in the module docstring: ``{"default", "worst_error_ratio", "mean_second_ratio"}``."""
    err = [r["dgp"]["on"]["error"] / r["dgp"]["off"]["error"] for r in rows]
    second = [r["dgp"]["on"]["spurious"] / r["dgp"]["off"]["spurious"] for r in rows]
    mean_second = float(np.mean(second))
    ok = max(err) <= MAX_WORSE and mean_second < 1.0
    return {"default": factor if ok else 0.0, "worst_error_ratio": max(err), "mean_second_ratio": mean_second}


def pack(rec: dict) -> str:
    """The record as JSON, each scan's grid a list in the order of one ``grid_keys`` list (the
    keys are not repeated per scan)."""
    f = rec["filter"]
    keys = list(f["rows"][0]["grid"])
    slim = [{**r, "grid": [r["grid"][k] for k in keys]} for r in f["rows"] + [f["real"]]]
    out = {**rec, "filter": {**f, "grid_keys": keys, "rows": slim[:-1], "real": slim[-1]}}
    return json.dumps(out, separators=(",", ":"))


def unpack(rec: dict) -> dict:
    """The record `pack` wrote (parsed), its grids as ``{key: [inliers, outliers]}`` again."""
    f = rec["filter"]
    keys = f.pop("grid_keys")
    for r in f["rows"] + [f["real"]]:
        r["grid"] = dict(zip(keys, r["grid"]))
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="the fit part (about 40 minutes), at the record's pick")
    add_run_arguments(ap)
    add_render_argument(ap)
    args = ap.parse_args(argv)
    if args.render:
        return rerender(args.render, lambda packed: render(unpack(packed)))
    print(f"seed {args.seed}, {args.threads} threads", flush=True)
    out = Path(args.out or ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    record = out / "outliers.json"
    t0 = time.time()
    if args.fit:
        if not record.exists():
            raise SystemExit(f"{record} has no filter part: run without --fit first")
        rec = unpack(json.loads(record.read_text()))
        rows = fit_part(rec["filter"]["rule"], args.seed, args.threads, Path(args.shared))
        rec["fit"] = {
            "command": f".venv/bin/python benchmarks/outliers.py --fit --threads {args.threads} --seed {args.seed}",
            "minutes": (time.time() - t0) / 60,
            "rows": rows,
            "rule": fit_rule(rows, rec["filter"]["rule"]["factor"]),
        }
    else:
        found = filter_part(args.seed, Path(args.shared))
        found["command"] = f".venv/bin/python benchmarks/outliers.py --seed {args.seed}"
        found["minutes"] = (time.time() - t0) / 60
        rec = {"filter": found}
    write_text(record, pack(rec))
    write_text(out / "outliers.md", render(rec))
    print(f"wrote {out / 'outliers.md'}")


def _pct(a: int, n: int) -> str:
    return f"{a} ({100 * a / max(n, 1):.2g}%)"


def render(rec: dict) -> str:
    """outliers.md from a record."""
    f = rec["filter"]
    rule = f["rule"]
    key = f"{rule['factor']:g},{rule['spacing_ratio']:g},{rule['isolation']:g}"
    lines = [
        "# Stray points: the outlier filter's rule",
        "",
        f"Made by `{f['command']}` ({f['minutes']:.1f} min). Dropped by the pick (factor {rule['factor']:g}, "
        f"spacing ratio {rule['spacing_ratio']:g}, isolation {rule['isolation']:g}: points further than "
        f"{rule['factor']:g} x max(noise, {rule['spacing_ratio']:g} local point spacings) off their neighbours' "
        "surface, "
        f"or {rule['isolation']:g}x more isolated than the median point) and by Open3D's statistical outlier "
        "removal (20 neighbours, 2 std) on the same scans; inliers dropped (fraction of the scan's points), "
        "outliers dropped (of those added); the seconds `outlier_measures` took on the scan.",
        "",
        "| scan | outliers | noise / spacing | pick: inliers dropped | pick: outliers dropped | Open3D: inliers | "
        "Open3D: outliers | measures s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in f["rows"] + [f["real"]]:
        mine, o3 = r["grid"][key], r["open3d"]
        kind = {"none": "none", "unknown": "unknown (real)"}.get(r["kind"], f"{r['outliers']} {r['kind']}")
        lines.append(
            f"| {r['input']} | {kind} | {r['noise_to_spacing']:.3f} | {_pct(mine[0], r['points'])} | "
            f"{_pct(mine[1], r['outliers']) if r['outliers'] else '-'} | {_pct(o3[0], r['points'])} | "
            f"{_pct(o3[1], r['outliers']) if r['outliers'] else '-'} | {r['seconds']:.1f} |"
        )
    dirty = [r for r in f["rows"] if r["kind"] != "none"]
    total = sum(r["outliers"] for r in dirty)
    o3_in = sum(r["open3d"][0] for r in dirty + [x for x in f["rows"] if x["kind"] == "none"])
    lines += [
        "",
        f"Rule: among the {len(f['rows'][0]['grid'])} triples of the grid, {rule['allowed']} drop at most "
        f"{100 * MAX_FALSE:g}% of every outlier-free scan; of those, the pick drops the most outliers: "
        f"{rule['caught']} of the {total} added ({100 * rule['caught'] / max(total, 1):.0f}%). Open3D's removal "
        f"drops {sum(r['open3d'][1] for r in dirty)} of them and {o3_in} good points over the synthetic scans. "
        "Stray points the pick keeps lie within its threshold of the surface: about as far as the noise reaches.",
        "",
    ]
    if "fit" in rec:
        fit = rec["fit"]
        lines += [
            "## Fits",
            "",
            f"Made by `{fit['command']}` ({fit['minutes']:.0f} min). `dgp reconstruct` at its defaults with the "
            f"filter off and at the pick (`--outliers {rule['factor']:g}`), and Screened Poisson depth 8 of the raw "
            "and the filtered points. Error: Chamfer-L1 against the mesh (fraction of the diagonal) or, for the real "
            "slab, scan->mesh mean (its units); second: Hausdorff or mesh->scan p99.",
            "",
            "| input | dropped | measure | DGP off | DGP on | Poisson d8 raw | Poisson d8 filtered |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in fit["rows"]:
            for m, label in (("error", "error"), ("spurious", "second")):
                cells = [r["dgp"]["off"][m], r["dgp"]["on"][m], r["poisson"]["raw"][m], r["poisson"]["filtered"][m]]
                head = [r["input"], str(r["dropped"])] if m == "error" else ["", ""]
                lines.append("| " + " | ".join(head + [label] + [f"{c:.4g}" for c in cells]) + " |")
        fr = fit["rule"]
        lines += [
            "",
            f"Rule: the filter is on by default when, with it, DGP's error is at most {MAX_WORSE:g}x the unfiltered "
            f"one on every input (worst here {fr['worst_error_ratio']:.3f}) and the second measure falls on average "
            f"(mean ratio {fr['mean_second_ratio']:.3f}). Default `--outliers`: **{fr['default']:g}**.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
