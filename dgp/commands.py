"""Sub-commands of ``dgp`` that fit and export: ``reconstruct``, ``export``, ``evaluate``."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from dgp.errors import InputError
from dgp.io import MESH_EXTS, WRITE_POINT_EXTS
from dgp.matching import MATCHING_METHODS


def _widths(text: str) -> tuple:
    try:
        w = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise InputError(f"--widths must be comma-separated integers like 2,128,128,3, got {text!r}") from None
    return w


def _check_out(path, exts, flag):
    if path is not None and Path(path).suffix.lower() not in exts:
        raise InputError(f"{flag} {path}: extension must be one of {' '.join(exts)}")


def _add_fit_flags(p):
    from dgp.reconstruction import ReconstructionConfig as C

    d = C()
    g = p.add_argument_group("patches")
    g.add_argument(
        "--radius",
        type=float,
        default=d.radius,
        help="patch radius r, fraction of the bounding-box diagonal (%(default)s)",
    )
    g.add_argument(
        "--padding", type=float, default=d.padding, help="a patch takes points within padding x r (%(default)s)"
    )
    g.add_argument("--angle", type=float, default=d.angle, help="max normal angle to the centre, degrees (%(default)s)")
    g.add_argument("--min-points", type=int, default=d.min_points, help="drop smaller patches (%(default)s)")
    g.add_argument("--max-points", type=int, default=d.max_points, help="cap on points per patch (%(default)s)")
    g = p.add_argument_group("fitting")
    g.add_argument(
        "--widths", type=_widths, default=d.widths, help="MLP widths (default %s)" % ",".join(map(str, d.widths))
    )
    g.add_argument("--local-steps", type=int, default=d.local_steps, help="steps of the local phase (%(default)s)")
    g.add_argument(
        "--consistency-steps",
        type=int,
        default=d.consistency_steps,
        help="steps of the consistency phase (%(default)s)",
    )
    g.add_argument(
        "--consistency-rounds",
        type=int,
        default=d.consistency_rounds,
        help="times the consistency targets are recomputed (%(default)s)",
    )
    g.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (%(default)s)")
    g.add_argument(
        "--match-every", type=int, default=d.match_every, help="recompute the OT matching every k steps (%(default)s)"
    )
    g.add_argument(
        "--matching",
        choices=MATCHING_METHODS,
        default=d.matching,
        help="OT solver: emd (exact, POT's ot.emd), lsa (the same exact matching by scipy's "
        "linear_sum_assignment, 2-4x faster), sinkhorn (entropic) (%(default)s)",
    )
    g.add_argument(
        "--sinkhorn-reg", type=float, default=d.sinkhorn_reg, help="Sinkhorn regularisation, relative (%(default)s)"
    )
    g.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="patches fit together; bounds memory (%(default)s)"
    )
    g.add_argument(
        "--block",
        type=int,
        default=d.block,
        help="on the CPU, uv samples (patches x points) per forward/backward block, cache-sized; "
        "0 = the whole batch (%(default)s)",
    )
    g.add_argument(
        "--stop",
        choices=["fixed", "discrepancy"],
        default=d.stop,
        help="stopping rule of the local phase (%(default)s)",
    )
    g.add_argument("--tau", type=float, default=d.tau, help="discrepancy rule's factor (%(default)s)")
    g.add_argument(
        "--normal-weight",
        type=float,
        default=d.normal_weight,
        help="weight of the term that tilts each chart towards its points' normals; 0 = positions only (%(default)s)",
    )
    g.add_argument(
        "--normal-fraction",
        type=float,
        default=d.normal_fraction,
        help="fraction of uv samples the normal term looks at per step (%(default)s)",
    )
    g.add_argument("--device", default=d.device, help="auto, cpu or cuda (%(default)s)")
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (%(default)s)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    _add_output_flags(p, d)


def _add_output_flags(p, d):
    g = p.add_argument_group("output")
    g.add_argument("--density", type=int, default=d.density, help="grid side per chart for dense samples (%(default)s)")
    g.add_argument(
        "--core", type=float, default=d.core, help="keep chart samples within core x r of the centre (%(default)s)"
    )
    g.add_argument(
        "--support",
        type=float,
        default=d.support,
        help="keep chart samples within support x (noise + spacing) of an input point; 0 = off (%(default)s)",
    )
    g.add_argument(
        "--min-density",
        type=float,
        default=d.min_density,
        help="keep chart samples where the input's density is at least this fraction of its median; "
        "0 = off (%(default)s)",
    )
    g.add_argument(
        "--poisson-depth", type=int, default=d.poisson_depth, help="Screened Poisson octree depth (%(default)s)"
    )
    g.add_argument(
        "--trim",
        type=float,
        default=d.trim,
        help="drop mesh parts further from the samples than this many sample spacings; "
        "0 keeps the closed surface (%(default)s)",
    )
    g.add_argument(
        "--pockets",
        type=float,
        default=d.pockets,
        help="but keep such parts smaller than a disc of radius pockets x r (gaps between samples, "
        "not holes of the scan); 0 = drop them too (%(default)s)",
    )
    g.add_argument("--dense", metavar="OUT_dense.ply", help="also write the dense samples with normals")
    g.add_argument(
        "--charts", metavar="OUT_charts.ply", help="also write the per-patch chart meshes, coloured by patch"
    )


def _config_from(args):
    from dgp.reconstruction import ReconstructionConfig

    names = {f.name for f in dataclasses.fields(ReconstructionConfig)}
    kw = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return ReconstructionConfig(**kw, progress=not args.quiet).validate()


def _write_outputs(rec, args, out) -> None:
    from dgp.io import write_mesh, write_points

    if out is not None:
        mesh = rec.mesh()
        write_mesh(out, mesh)
        print(f"wrote {out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces")
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
        f"(noise estimate {rec.sigma:.4g} of the diagonal)"
    )
    if rec.interrupted:
        print("interrupted: writing the result so far", file=sys.stderr)
    if args.state:
        rec.save(args.state)
        print(f"wrote {args.state}")
    _write_outputs(rec, args, args.output)
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
    for k in ("density", "core", "support", "min_density", "poisson_depth", "trim", "pockets"):
        if getattr(args, k) is not None:
            setattr(rec.config, k, getattr(args, k))
    rec.config.validate()
    _write_outputs(rec, args, args.output)
    return 0


def _load_any(path):
    from dgp.io import MESH_EXTS, read_mesh, read_points

    if Path(path).suffix.lower() in MESH_EXTS:
        try:
            return read_mesh(path)
        except InputError as exc:
            if "no faces" not in str(exc) and "empty" not in str(exc):
                raise
    return read_points(path)


def cmd_evaluate(args) -> int:
    from dgp.metrics import compare_meshes

    recon, ref = _load_any(args.recon), _load_any(args.reference)
    res = compare_meshes(
        recon, ref, n_samples=args.samples, threshold=args.threshold, seed=args.seed, exact=not args.point_to_point
    )
    res.update(
        recon=str(args.recon),
        reference=str(args.reference),
        distances="point to point" if args.point_to_point else "point to surface",
    )
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(
            f"{args.recon} against {args.reference} ({res['distances']} distances, in units of the "
            "reference's diagonal)"
        )
        for k in ("chamfer_l1", "chamfer_l2", "hausdorff", "normal_consistency", "fscore", "precision", "recall"):
            if k in res:
                print(f"  {k:<19}{res[k]:.6g}")
        print(f"  (F-score threshold {args.threshold})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("reconstruct", help="fit a Deep Geometric Prior to a point file and write a mesh")
    p.add_argument("input", help="point file (.ply .xyz .pcd .npz ...); normals are estimated when missing")
    p.add_argument("-o", "--output", required=True, help="output mesh (.ply .obj .off .stl .glb)")
    p.add_argument("--state", metavar="OUT.pt", help="also save the fitted state (re-export with `dgp export`)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--method",
        choices=["dgp", "poisson", "bpa"],
        default="dgp",
        help="dgp, or a baseline: Screened Poisson (--poisson-depth) or Ball Pivoting (%(default)s)",
    )
    p.add_argument(
        "--poisson-trim",
        type=float,
        default=0.02,
        help="with --method poisson: the fraction of lowest-density vertices removed, which opens the "
        "surface where the scan has no points; 0 keeps it watertight (%(default)s)",
    )
    _add_fit_flags(p)
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("export", help="re-export a saved state as a mesh, dense samples or charts")
    p.add_argument("state", help="a .pt state written by `dgp reconstruct --state`")
    p.add_argument("-o", "--output", help="output mesh")
    g = p.add_argument_group("output")
    g.add_argument("--density", type=int, default=None, help="grid side per chart")
    g.add_argument("--core", type=float, default=None)
    g.add_argument("--support", type=float, default=None)
    g.add_argument("--min-density", type=float, default=None)
    g.add_argument("--poisson-depth", type=int, default=None)
    g.add_argument("--trim", type=float, default=None)
    g.add_argument("--pockets", type=float, default=None)
    g.add_argument("--dense", metavar="OUT_dense.ply")
    g.add_argument("--charts", metavar="OUT_charts.ply")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("evaluate", help="Chamfer, Hausdorff, normal consistency and F-score against a reference")
    p.add_argument("recon", help="reconstructed mesh or points")
    p.add_argument("reference", help="ground-truth mesh or points")
    p.add_argument(
        "--threshold", type=float, default=0.005, help="F-score threshold, fraction of the diagonal (%(default)s)"
    )
    p.add_argument("--samples", type=int, default=100_000, help="area samples per mesh (%(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--point-to-point",
        action="store_true",
        help="measure mesh samples against the other mesh's samples instead of its surface "
        "(adds a floor set by the sample spacing; for comparison with such figures)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
