"""The work of the `dgp` sub-commands (their flags are in `dgp.cli`): info, convert, reconstruct, export, evaluate."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from dgp.errors import InputError
from dgp.io import MESH_EXTS, WRITE_POINT_EXTS
from dgp.pointcloud import OUTLIER_FACTOR


def _check_out(path, exts, flag):
    if path is not None and Path(path).suffix.lower() not in exts:
        raise InputError(f"{flag} {path}: extension must be one of {' '.join(exts)}")


def _output_settings() -> list:
    """The settings `dgp export` may change on a saved fit: those of the output group."""
    from dgp.reconstruction import ReconstructionConfig

    return [f.name for f in dataclasses.fields(ReconstructionConfig) if f.metadata.get("group") == "output"]


def add_reconstruct_flags(p) -> None:
    """Every setting of `ReconstructionConfig` as a flag (derived from its fields), plus ``--threads``
    and the extra outputs."""
    from dgp.reconstruction import ReconstructionConfig
    from dgp.settings import add_arguments

    add_arguments(p, ReconstructionConfig)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    _add_extra_outputs(p)


def add_export_flags(p) -> None:
    """The output settings, each defaulting to the value saved with the fit."""
    from dgp.reconstruction import ReconstructionConfig
    from dgp.settings import add_arguments

    add_arguments(p, ReconstructionConfig, names=_output_settings(), defaults=False)
    _add_extra_outputs(p)


def _add_extra_outputs(p) -> None:
    p.add_argument("--dense", metavar="OUT_dense.ply", help="also write the dense samples with normals")
    p.add_argument(
        "--charts", metavar="OUT_charts.ply", help="also write the per-patch chart meshes, coloured by patch"
    )


def _config_from(args):
    from dgp.reconstruction import ReconstructionConfig

    names = {f.name for f in dataclasses.fields(ReconstructionConfig)}
    kw = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return ReconstructionConfig(**kw, progress=not args.quiet).validate()


def _stage(rec, name, t0) -> float:
    """Record the stage ``name`` that began at ``t0`` in ``rec.stages``/``rec.peaks``; return now."""
    import time

    from dgp.util import peak_memory_mb

    now = time.time()
    rec.stages[name], rec.peaks[name] = now - t0, peak_memory_mb()
    return now


def _print_profile(rec) -> None:
    print("stage          seconds   peak memory (MB, this process)")
    for name, seconds in rec.stages.items():
        print(f"  {name:<12}{seconds:>9.2f}   {rec.peaks.get(name, float('nan')):>8.0f}")
        if name == "local" and rec.matching_seconds > 0:
            # summed over chunks: on a cluster, over workers that ran side by side
            print(f"    matching{rec.matching_seconds:>11.2f}   (of local; --matching {rec.config.matching})")


def _write_outputs(rec, args, out) -> None:
    import time

    from dgp.io import write_mesh, write_points

    t = time.time()
    if out is not None:
        from dgp.reconstruction import COVERAGE_WARNING

        rec.sample()  # the dense samples (cached for the mesh): their own stage in the profile
        t = _stage(rec, "dense", t)
        mesh = rec.mesh()
        t = _stage(rec, "mesh", t)
        if len(mesh.faces) == 0:
            raise InputError(
                "the mesh came out empty (parts smaller than the Poisson grid or than a patch): "
                "try a smaller --radius or a larger --poisson-depth",
                out,
            )
        write_mesh(out, mesh)
        t = _stage(rec, "write", t)
        print(f"wrote {out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces")
        covered = rec.coverage(mesh)
        if covered < COVERAGE_WARNING:
            print(
                f"warning: only {100 * covered:.1f}% of the input points lie within half a patch radius of the mesh; "
                f"parts of the scan may be smaller than a patch (radius {rec.patches.radius:.3g} of the diagonal): "
                "try a smaller --radius",
                file=sys.stderr,
            )
    if args.dense:
        dense = rec.sample()
        write_points(args.dense, dense)
        print(f"wrote {args.dense}: {len(dense)} points with normals")
    if args.charts:
        charts = rec.chart_mesh()
        write_mesh(args.charts, charts)
        print(f"wrote {args.charts}: {len(rec.patches)} charts, {len(charts.faces)} faces")


def cmd_reconstruct(args) -> int:
    import torch

    from dgp.io import read_points
    from dgp.reconstruction import reconstruct

    _check_out(args.output, MESH_EXTS, "-o")
    _check_out(args.dense, WRITE_POINT_EXTS, "--dense")
    _check_out(args.charts, MESH_EXTS, "--charts")
    _check_out(args.state, (".pt",), "--state")
    cfg = _config_from(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"seed {cfg.seed}")
    cloud = read_points(args.input)
    if args.method != "dgp":
        return _baseline(args, cloud)
    if not cloud.has_normals:
        print("the input has no normals: estimating and orienting them")
    rec = reconstruct(cloud, cfg)
    print(
        f"fitted {int(rec.fitted.sum())}/{len(rec.patches)} patches in {rec.seconds:.1f} s "
        f"(noise estimate {rec.sigma:.4g}, patch radius {rec.patches.radius:.4g}"
        f"{' from the data' if not rec.config.radius else ''}, of the diagonal; "
        f"normal weight {rec.config.normal_weight:g}; {rec.config.local_steps} local steps at lr {rec.config.lr:g}, "
        f"{rec.config.lr_schedule} schedule; mesh from {rec.resolved_mesh_from()})"
    )
    if rec.outliers_removed:
        print(
            f"dropped {rec.outliers_removed} of {len(cloud)} input points as outliers "
            f"({100 * rec.outliers_removed / len(cloud):.2g}%; --outliers {rec.config.outliers:g}, 0 keeps them)"
        )
    if rec.interrupted:
        print("interrupted: writing the result so far", file=sys.stderr)
    if args.state:
        rec.save(args.state)
        print(f"wrote {args.state}")
    _write_outputs(rec, args, args.output)
    if args.profile:
        _print_profile(rec)
    return 130 if rec.interrupted else 0


def _baseline(args, cloud) -> int:
    from dgp.baselines import reconstruct_baseline
    from dgp.io import write_mesh

    if args.state or args.dense or args.charts:
        raise InputError(f"--state, --dense and --charts need --method dgp, not {args.method}")
    if not 0 <= args.poisson_trim < 1:
        raise InputError(f"--poisson-trim must be in [0, 1), got {args.poisson_trim}")
    opts = {"depth": args.poisson_depth, "trim": args.poisson_trim} if args.method == "poisson" else {}
    mesh = reconstruct_baseline(cloud, args.method, **opts)
    write_mesh(args.output, mesh)
    print(f"wrote {args.output}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces ({args.method})")
    return 0


def cmd_export(args) -> int:
    from dgp.reconstruction import Reconstruction

    _check_out(args.output, MESH_EXTS, "-o")
    _check_out(args.dense, WRITE_POINT_EXTS, "--dense")
    _check_out(args.charts, MESH_EXTS, "--charts")
    rec = Reconstruction.load(args.state)
    for k in _output_settings():
        if getattr(args, k) is not None:
            setattr(rec.config, k, getattr(args, k))
    rec.config.validate()
    _write_outputs(rec, args, args.output)
    return 0


def cmd_evaluate(args) -> int:
    from dgp.io import read_any
    from dgp.metrics import SCAN_KEYS, compare_meshes, scan_distances

    recon, ref = read_any(args.recon), read_any(args.reference)
    res = compare_meshes(
        recon, ref, n_samples=args.samples, threshold=args.threshold, seed=args.seed, exact=not args.point_to_point
    )
    res.update(
        recon=str(args.recon),
        reference=str(args.reference),
        distances="point to point" if args.point_to_point else "point to surface",
    )
    scan_mode = hasattr(recon, "faces") and not hasattr(ref, "faces")
    if scan_mode:  # no ground truth: how the mesh sits on its own scan (SRB-style)
        res["scan"] = scan_distances(recon, ref.points, n_samples=args.samples, seed=args.seed)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    if scan_mode:
        s = res["scan"]
        print(
            f"{args.recon} against the scan {args.reference} "
            f"(no ground truth; in the scan's units, diagonal {s['diagonal']:.6g})"
        )
        for k in SCAN_KEYS:
            print(f"  {k:<19}{s[k]:<12.6g}({s[k + '_diag']:.3e} of the diagonal)")
        print(f"  {'boundary_edges':<19}{s['boundary_edges']}")
        print("and as against a reference:")
    else:
        print(
            f"{args.recon} against {args.reference} ({res['distances']} distances, in units of the "
            "reference's diagonal)"
        )
    for k in ("chamfer_l1", "chamfer_l2", "hausdorff", "normal_consistency", "fscore", "precision", "recall"):
        if k in res:
            print(f"  {k:<19}{res[k]:.6g}")
    print(f"  {'chamfer_l1_units':<19}{res['chamfer_l1_units']:.6g}  (in the reference's units)")
    print(f"  {'hausdorff_units':<19}{res['hausdorff_units']:.6g}")
    if "boundary_edges" in res and not scan_mode:
        print(f"  {'boundary_edges':<19}{res['boundary_edges']}")
    print(f"  (F-score threshold {args.threshold})")
    return 0


def cmd_info(args) -> int:
    from dgp.io import describe, read_points

    summary = describe(read_points(args.file), outliers=args.outliers, seed=args.seed)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        lo, hi = summary["bbox_min"], summary["bbox_max"]
        print(f"file        {summary['file']}")
        print(f"points      {summary['points']}")
        print(f"bbox min    {lo[0]:.6g} {lo[1]:.6g} {lo[2]:.6g}")
        print(f"bbox max    {hi[0]:.6g} {hi[1]:.6g} {hi[2]:.6g}")
        print(f"diagonal    {summary['diagonal']:.6g}")
        if summary["stray_points"]:
            print(
                f"  kept      {summary['kept_diagonal']:.6g} (without the stray points; the fractions below are of it)"
            )
        print(f"normals     {'yes' if summary['has_normals'] else 'no'}")
        print(
            f"noise (RMS) {summary['noise_rms']:.4g}  ({100 * summary['noise_rms_of_diagonal']:.3f}% of the diagonal)"
        )
        print(f"spacing     {summary['spacing']:.4g}  (the side of the area per point)")
        print(f"radius      {summary['auto_radius_of_diagonal']:.4g} of the diagonal (the patch radius it calls for)")
        print(f"normal wt   {summary['auto_normal_weight']:g} (the weight of the normal term it calls for)")
        print(
            f"local fit   {summary['auto_local_steps']} steps at lr {summary['auto_lr']:g}, "
            f"{summary['auto_lr_schedule']} schedule (the budget it calls for)"
        )
        print(f"mesh from   {summary['auto_mesh_from']} (what the mesh is fit to: --mesh-from)")
        stray = summary["stray_points"]
        print(
            f"stray pts   {stray} ({100 * stray / summary['points']:.2g}%) off the surface "
            f"(--outliers {OUTLIER_FACTOR if args.outliers is None else args.outliers:g} drops them)"
        )
    return 0


def cmd_convert(args) -> int:
    from dgp.io import read_points, write_points
    from dgp.normals import estimate_normals

    cloud = read_points(args.input, sample=args.sample, seed=args.seed)
    if args.estimate_normals or (args.normals_if_missing and not cloud.has_normals):
        cloud = estimate_normals(cloud)
    write_points(args.output, cloud)
    print(f"wrote {args.output}: {len(cloud)} points, normals {'yes' if cloud.has_normals else 'no'}")
    return 0
