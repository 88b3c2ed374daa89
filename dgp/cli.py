"""The ``dgp`` command line: every sub-command's flags, in one place, and the runner both CLIs share.

The work of each sub-command is a function ``cmd_*(args) -> exit status`` in a library-side
module (`dgp.commands`, `dgp.experiments`, `viewer.app`), named here by ``"module:function"``
and imported only when that sub-command runs, so ``dgp --help`` stays fast and the viewer is
reached only by ``dgp view``. Settings of the reconstruction come from the fields of
`dgp.ReconstructionConfig` (`dgp.settings.add_arguments`), not from flags written here.

Bad input prints one line to stderr and exits with status 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dgp.errors import InputError


def handler(target: str):
    """A sub-command function named ``"module:function"``, imported when it is first called."""

    def call(args):
        module, name = target.split(":")
        return getattr(importlib.import_module(module), name)(args)

    return call


def run(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse ``argv`` and run the chosen sub-command's ``func``; the runner of both console scripts.

    An `InputError` (or a `ValueError` from a library check) becomes one line on stderr and exit
    status 2; a bad setting is named by its flag (`dgp.settings.SettingError`).
    """
    from dgp.settings import SettingError

    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    prog = f"{parser.prog} {args.command}"
    try:
        return int(args.func(args) or 0)
    except SettingError as exc:
        print(f"{prog}: error: {exc.as_flag()}", file=sys.stderr)
        return 2
    except (InputError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    from dgp import __version__
    from dgp.commands import add_export_flags, add_reconstruct_flags
    from dgp.experiments import EXPERIMENTS

    ap = argparse.ArgumentParser(prog="dgp", description="Deep Geometric Prior surface reconstruction.")
    ap.add_argument("--version", action="version", version=f"dgp {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="summarise a point file: count, bounding box, normals, noise level")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--outliers",
        type=float,
        default=None,
        help="the factor of reconstruct's --outliers to measure with (its default when left out, 0: none)",
    )
    p.add_argument("--seed", type=int, default=0, help="of the estimators' subsamples, as reconstruct's --seed")
    p.set_defaults(func=handler("dgp.commands:cmd_info"))

    p = sub.add_parser("convert", help="convert a point file to another format (optionally estimating normals)")
    p.add_argument("input")
    p.add_argument("output", help=".ply, .xyz/.xyzn/.pts/.txt or .npz")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="sample N points on a mesh input")
    p.add_argument("--estimate-normals", action="store_true", help="(re)estimate and orient normals")
    p.add_argument("--normals-if-missing", action="store_true", help="estimate normals only when absent")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=handler("dgp.commands:cmd_convert"))

    p = sub.add_parser("reconstruct", help="fit a Deep Geometric Prior to a point file and write a mesh")
    p.add_argument("input", help="point file (.ply .xyz .pcd .npz ...); normals are estimated when missing")
    p.add_argument("-o", "--output", required=True, help="output mesh (.ply .obj .off .stl .glb)")
    p.add_argument("--state", metavar="OUT.pt", help="also save the fitted state (re-export with `dgp export`)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--profile", action="store_true", help="print each stage's time and the peak memory after it")
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
    add_reconstruct_flags(p)
    p.set_defaults(func=handler("dgp.commands:cmd_reconstruct"))

    p = sub.add_parser("export", help="re-export a saved state as a mesh, dense samples or charts")
    p.add_argument("state", help="a .pt state written by `dgp reconstruct --state`")
    p.add_argument("-o", "--output", help="output mesh")
    add_export_flags(p)
    p.set_defaults(func=handler("dgp.commands:cmd_export"))

    p = sub.add_parser(
        "evaluate",
        help="Chamfer, Hausdorff, normal consistency and F-score against a ground truth; "
        "against the input scan when there is none (scan->mesh mean and max, mesh->scan mean and 99th percentile)",
    )
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
    p.set_defaults(func=handler("dgp.commands:cmd_evaluate"))

    p = sub.add_parser("view", help="show files in an Open3D window, or write a picture with --screenshot")
    p.add_argument(
        "files", nargs="+", help="points (.ply .xyz .pcd .npz ...), meshes (.ply .obj .off .stl .glb) or a state (.pt)"
    )
    p.add_argument("--compare", metavar="GT_MESH", help="colour meshes by their distance to this reference")
    p.add_argument(
        "--compare-max",
        type=float,
        default=None,
        help="top of the colour scale, fraction of the diagonal (default: 99th percentile)",
    )
    p.add_argument("--normals", action="store_true", help="draw point normals as short lines")
    p.add_argument("--screenshot", metavar="OUT.png", help="render headless to a PNG instead of opening a window")
    p.add_argument("--size", default="1024x768", help="picture size WxH (%(default)s)")
    p.add_argument("--views", type=int, default=1, help="number of views around the object (%(default)s)")
    p.add_argument("--elevation", type=float, default=15.0, help="camera degrees above the horizon (%(default)s)")
    p.add_argument("--point-size", type=float, default=None, help="point diameter in pixels (default: from the size)")
    p.add_argument(
        "--backend",
        choices=["auto", "vulkan", "opengl"],
        default="auto",
        help="window: Vulkan (Open3D's visualizer, a panel to toggle each file) or OpenGL (keys: "
        "1-9 toggle the n-th file, N normals, +/- point size, R reset, Q close); auto: Vulkan where it "
        "can start (%(default)s)",
    )
    p.add_argument("--grab", metavar="OUT.png", help="OpenGL window: save what it shows once drawn, then close")
    # the command-line face is the only part of dgp that reaches the viewer package, lazily
    p.set_defaults(func=handler("viewer.app:cmd_view"))

    p = sub.add_parser("experiment", help="reproduce the surface early-stopping experiment (PNG and CSV)")
    p.add_argument("name", choices=EXPERIMENTS)
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smaller run (under a minute on a CPU)")
    p.set_defaults(func=handler("dgp.experiments:cmd_experiment"))
    return ap


def main(argv=None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
