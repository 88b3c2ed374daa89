"""The ``dgp`` command line: ``dgp info|reconstruct|export|evaluate|view``.

Bad input prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from dgp.errors import InputError


def _cmd_info(args) -> int:
    from dgp.io import describe, read_points

    summary = describe(read_points(args.file))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        lo, hi = summary["bbox_min"], summary["bbox_max"]
        print(f"file        {summary['file']}")
        print(f"points      {summary['points']}")
        print(f"bbox min    {lo[0]:.6g} {lo[1]:.6g} {lo[2]:.6g}")
        print(f"bbox max    {hi[0]:.6g} {hi[1]:.6g} {hi[2]:.6g}")
        print(f"diagonal    {summary['diagonal']:.6g}")
        print(f"normals     {'yes' if summary['has_normals'] else 'no'}")
        print(
            f"noise (RMS) {summary['noise_rms']:.4g}  ({100 * summary['noise_rms_of_diagonal']:.3f}% of the diagonal)"
        )
    return 0


def _cmd_convert(args) -> int:
    from dgp.io import read_points, write_points
    from dgp.normals import estimate_normals

    cloud = read_points(args.input, sample=args.sample, seed=args.seed)
    if args.estimate_normals or (args.normals_if_missing and not cloud.has_normals):
        cloud = estimate_normals(cloud)
    write_points(args.output, cloud)
    print(f"wrote {args.output}: {len(cloud)} points, normals {'yes' if cloud.has_normals else 'no'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from dgp import __version__

    ap = argparse.ArgumentParser(prog="dgp", description="Deep Geometric Prior surface reconstruction.")
    ap.add_argument("--version", action="version", version=f"dgp {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="summarise a point file: count, bounding box, normals, noise level")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("convert", help="convert a point file to another format (optionally estimating normals)")
    p.add_argument("input")
    p.add_argument("output", help=".ply, .xyz/.xyzn/.pts/.txt or .npz")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="sample N points on a mesh input")
    p.add_argument("--estimate-normals", action="store_true", help="(re)estimate and orient normals")
    p.add_argument("--normals-if-missing", action="store_true", help="estimate normals only when absent")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_convert)

    for register in _REGISTER:
        register(sub)
    return ap


def _register_fit(sub):
    from dgp.commands import register

    register(sub)


def _register_view(sub):
    # The command-line face is the only part of dgp that reaches the viewer package, lazily.
    from viewer.app import register

    register(sub)


# Sub-commands that live in other modules (their imports stay light: heavy ones run inside the commands).
def _register_experiment(sub):
    from dgp.experiments import register

    register(sub)


_REGISTER: list = [_register_fit, _register_view, _register_experiment]


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "func", None):
        ap.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"dgp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dgp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
