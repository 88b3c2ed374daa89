"""Real and dense scans: DGP at its defaults against Screened Poisson, in the same run.

Inputs:

- the real SRB scan ``srb_dc_scan.ply`` (Surface Reconstruction Benchmark, 71k points with
  scanner normals; ``--scans`` adds others), which has no ground truth: each mesh is judged
  against the scan (``dgp.metrics.scan_distances``: scan->mesh mean and max, mesh->scan mean
  and 99th percentile, in the scan's units) with its boundary edges;
- dense scans made from the shared meshes (``--points``, default 100,000 area samples with
  their normals) at low noise levels (``--noises``, fractions of the diagonal), judged against
  the mesh they came from (Chamfer-L1 and Hausdorff, fractions of the diagonal).

Methods: ``dgp reconstruct`` at its defaults, and Open3D Screened Poisson at depths 8 and 9,
trimmed (2% lowest-density vertices) and untrimmed. Writes ``real.md``, ``real.csv`` and
``real_dc.png`` to ``--out`` (default benchmarks/results/). About 80 minutes on 2 cores.

Targets (the real-scans issue): on the SRB scan, DGP's scan->mesh mean and mesh->scan p99 at
most Poisson d8's (ratios <= 1); on the noise-free and 0.1% dense scans, DGP's Chamfer-L1 at
most the better of trimmed and untrimmed Poisson d8.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._util import reconstruct_measured, scratch  # noqa: E402
from dgp.util import write_text  # noqa: E402

METHODS = {
    "DGP": [],
    "Poisson d8": ["--method", "poisson", "--poisson-depth", "8"],
    "Poisson d8 untrimmed": ["--method", "poisson", "--poisson-depth", "8", "--poisson-trim", "0"],
    "Poisson d9": ["--method", "poisson", "--poisson-depth", "9"],
    "Poisson d9 untrimmed": ["--method", "poisson", "--poisson-depth", "9", "--poisson-trim", "0"],
}
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_SCANS = str(SHARED / "scans" / "srb_dc_scan.ply")
DEFAULT_MESHES = str(SHARED / "meshes")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scans", default=DEFAULT_SCANS, help="comma-separated real scans")
    ap.add_argument("--meshes", default=DEFAULT_MESHES, help="folder of meshes to make dense scans from")
    ap.add_argument("--shapes", default="stanford-bunny,fandisk", help="comma-separated mesh stems; '' for none")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--noises", default="0,0.001,0.0025")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--keep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the rows of an earlier real.csv in --out for inputs this run does not measure",
    )
    args = ap.parse_args(argv)
    print(f"seed {args.seed}, {args.threads} threads", flush=True)

    from dgp.io import noisy_scan, read_mesh, read_points, write_points
    from dgp.metrics import compare_meshes, scan_distances

    out = Path(args.out or ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    tmp = scratch("dgp-real-")
    kept = _previous(out) if args.keep else ([], [])
    t_start = time.time()
    real_rows, dense_rows = [], []

    def run_all(inp, tag):
        for name, flags in METHODS.items():
            outp = tmp / f"{tag}_{name.replace(' ', '_')}.ply"
            r = reconstruct_measured(inp, outp, args.seed, args.threads, flags)
            yield name, outp, r

    for scan_path in [Path(s) for s in args.scans.split(",") if s]:
        if not scan_path.exists():
            print(f"skipping {scan_path}: not found", flush=True)
            continue
        scan = read_points(scan_path).points
        for name, outp, r in run_all(scan_path, scan_path.stem):
            s = scan_distances(read_mesh(outp), scan) if r["rc"] == 0 else {}
            real_rows.append(
                [scan_path.stem, len(scan), name]
                + [s.get(k, float("nan")) for k in ("scan_to_mesh_mean", "scan_to_mesh_max")]
                + [s.get(k, float("nan")) for k in ("mesh_to_scan_mean", "mesh_to_scan_p99", "boundary_edges")]
                + [r["seconds"], r["peak_mb"]]
            )
            print(real_rows[-1], flush=True)
        _picture(scan_path, tmp, out)
        _write(out, real_rows, dense_rows, args, t_start, kept)

    shapes = [s for s in args.shapes.split(",") if s]
    for stem in shapes:
        found = sorted(Path(args.meshes).glob(f"{stem}.*"))
        if not found:
            print(f"skipping {stem}: no mesh in {args.meshes}", flush=True)
            continue
        gt = read_mesh(found[0])
        for noise in [float(x) for x in args.noises.split(",")]:
            inp = tmp / f"{stem}_{noise}.ply"
            write_points(inp, noisy_scan(gt, args.points, noise, seed=args.seed))
            for name, outp, r in run_all(inp, f"{stem}_{noise}"):
                m = compare_meshes(read_mesh(outp), gt) if r["rc"] == 0 else {}
                dense_rows.append(
                    [stem, args.points, noise, name]
                    + [m.get(k, float("nan")) for k in ("chamfer_l1", "hausdorff", "boundary_edges")]
                    + [r["seconds"], r["peak_mb"]]
                )
                print(dense_rows[-1], flush=True)
            _write(out, real_rows, dense_rows, args, t_start, kept)

    _write(out, real_rows, dense_rows, args, t_start, kept)
    print(f"wrote {out / 'real.md'}")


CSV_HEADER = (
    "kind input points noise method scan_to_mesh_mean scan_to_mesh_max mesh_to_scan_mean mesh_to_scan_p99 "
    "chamfer_l1 hausdorff boundary_edges seconds peak_mb command"
).split()


def _previous(out: Path) -> tuple[list, list]:
    """The rows of an earlier ``real.csv`` in ``out`` (real, dense), each ending with the command that
    measured it (a record without that column takes the command its real.md names first)."""
    path = out / "real.csv"
    if not path.exists():
        return [], []
    md = (out / "real.md").read_text() if (out / "real.md").exists() else ""
    named = md.split("`")[1] if md.count("`") >= 2 else ""
    real, dense = [], []
    for row in csv.DictReader(io.StringIO(path.read_text())):
        num = [float(row[k]) if row[k] else float("nan") for k in CSV_HEADER[5:14]]
        cmd = row.get("command") or named
        if row["kind"] == "real":
            real.append([row["input"], int(row["points"]), row["method"], *num[:4], *num[6:], cmd])
        else:
            dense.append([row["input"], int(row["points"]), float(row["noise"]), row["method"], *num[4:], cmd])
    return real, dense


def _merged(kept: list, new: list, key_len: int) -> list:
    """``new`` rows with the ``kept`` ones of every input it did not measure (the key: the first
    ``key_len`` fields less the method), inputs in order, methods in `METHODS` order."""
    measured = {tuple(r[:key_len]) for r in new}
    rows = [r for r in kept if tuple(r[:key_len]) not in measured] + new
    order = {name: i for i, name in enumerate(METHODS)}
    return sorted(rows, key=lambda r: (tuple(r[:key_len]), order.get(r[key_len], len(order))))


def _write(out, real_rows, dense_rows, args, t_start, kept=([], [])) -> None:
    """real.csv and real.md from the rows so far (rewritten after each input: a long run that is
    stopped keeps what it measured), with the ``kept`` rows (`_previous`) of inputs this run did not
    measure."""
    cmd = _command(args)
    real_rows = _merged(kept[0], [[*r, cmd] for r in real_rows], 1)
    dense_rows = _merged(kept[1], [[*r, cmd] for r in dense_rows], 3)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for r in real_rows:
        w.writerow(["real", r[0], r[1], "", r[2], *r[3:7], "", "", *r[7:]])
    for r in dense_rows:
        w.writerow(["dense", r[0], r[1], r[2], r[3], "", "", "", "", *r[4:]])
    write_text(out / "real.csv", buf.getvalue())
    write_text(out / "real.md", _report(real_rows, dense_rows, cmd, (time.time() - t_start) / 60))


def _command(args) -> str:
    """The command line of this run (the inputs named where they are not the defaults)."""
    shapes_flag = args.shapes or "''"
    cmd = (
        f".venv/bin/python benchmarks/real.py --threads {args.threads} --seed {args.seed} "
        f"--shapes {shapes_flag} --points {args.points} --noises {args.noises}"
    )
    # the inputs, where they are not the defaults (a run from a copy of the tree names the shared data)
    for flag, value, default in (("scans", args.scans, DEFAULT_SCANS), ("meshes", args.meshes, DEFAULT_MESHES)):
        if value != default:
            cmd += f" --{flag} {value or chr(39) * 2}"
    return cmd


def _ratio(a, b):
    return a / b if b and np.isfinite(a) and np.isfinite(b) else float("nan")


def _report(real_rows, dense_rows, cmd, minutes) -> str:
    lines = [
        "# Real and dense scans",
        "",
        f"Made by `{cmd}` in {minutes:.0f} minutes on this machine. DGP at its defaults (patch radius and",
        "noise from the data); Screened Poisson trimmed (2% lowest-density vertices) and untrimmed.",
        "",
    ]
    earlier = list(dict.fromkeys(r[-1] for r in real_rows + dense_rows if r[-1] != cmd))
    if earlier:
        lines += [
            "Rows of inputs that run did not measure are kept from an earlier one (the `command` column of",
            "real.csv names each row's): " + "; ".join(f"`{c}`" for c in earlier) + ".",
            "",
        ]
    if real_rows:
        lines += [
            "## Real scans (no ground truth: distances to the scan, in its units)",
            "",
            "| scan | points | method | scan->mesh mean | scan->mesh max | mesh->scan mean | mesh->scan p99 "
            "| boundary edges | s | peak MB | mean / P8 | p99 / P8 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        ref = {r[0]: r for r in real_rows if r[2] == "Poisson d8"}
        for r in real_rows:
            p8 = ref.get(r[0])
            rm, rp = (_ratio(r[3], p8[3]), _ratio(r[6], p8[6])) if p8 else (float("nan"),) * 2
            lines.append(
                f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.4f} | {r[4]:.3f} | {r[5]:.4f} | {r[6]:.4f} | {r[7]:.0f} "
                f"| {r[8]:.0f} | {r[9]:.0f} | {rm:.3f} | {rp:.3f} |"
            )
        lines += [
            "",
            "Target: DGP's scan->mesh mean and mesh->scan p99 at most Poisson d8's (both ratios <= 1).",
            "Pictures of the first scan: `real_dc.png` (input, Poisson d8, DGP).",
            "",
        ]
    if dense_rows:
        lines += [
            "## Dense scans of the shared meshes (against the mesh; fractions of its diagonal)",
            "",
            "| shape | points | noise | method | Chamfer-L1 | Hausdorff | boundary edges | s | peak MB "
            "| CL1 / best P8 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        best = {}
        for r in dense_rows:
            if r[3] in ("Poisson d8", "Poisson d8 untrimmed"):
                key = (r[0], r[2])
                best[key] = min(best.get(key, np.inf), r[4])
        for r in dense_rows:
            lines.append(
                f"| {r[0]} | {r[1]} | {100 * r[2]:.2f}% | {r[3]} | {r[4]:.3e} | {r[5]:.3e} | {r[6]:.0f} | {r[7]:.0f} "
                f"| {r[8]:.0f} | {_ratio(r[4], best.get((r[0], r[2]), np.nan)):.3f} |"
            )
        lines += [
            "",
            "Target: DGP's Chamfer-L1 at most the better of trimmed and untrimmed Poisson d8 at 0% and 0.1%",
            "(ratio <= 1).",
            "",
        ]
    return "\n".join(lines)


def _picture(scan_path, tmp, out):
    """Input, Poisson d8 and DGP of one real scan, side by side."""
    from dgp.io import read_mesh, read_points
    from dgp.util import save_png
    from viewer.rendering import compose, render

    tag = scan_path.stem
    objs = [read_points(scan_path)] + [read_mesh(tmp / f"{tag}_{n}.ply") for n in ("Poisson_d8", "DGP")]
    panels = [render([o], size=(560, 560)) for o in objs]
    save_png(
        out / f"real_{tag.replace('srb_', '').replace('_scan', '')}.png",
        compose(panels, ["input", "Poisson d8", "DGP"]),
    )


if __name__ == "__main__":
    main()
