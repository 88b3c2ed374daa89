"""The chart fits on a local Ray cluster against one process, on the same scan and seed.

One process (torch on 1 thread), then local Ray instances of 1 and 2 worker processes (one
torch thread per task), each `dgp.reconstruct` with the default settings but the steps given.
Reports the fit time (local + consistency phases, `Reconstruction.stages`), Ray's overhead at
one worker, the speed-up at two, whether the charts are the same bits, the bytes that cross to
and from the workers, and a projection to N workers from the measured task times (each phase's
tasks scheduled greedily in submission order on N workers, plus the driver's own time, plus the
bytes over a 1 Gbit/s link). Writes benchmarks/results/cluster.md.

    python benchmarks/cluster.py --threads 1
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
#: the link the projection assumes between the driver and the workers (bytes per second)
LINK = 125e6
#: patches per task in the projection's model of a smaller batch size
PIECE = 64


def _digest(rec) -> str:
    c = rec.charts
    parts = [t.numpy().tobytes() for t in c.weights + c.biases] + [c.match.tobytes(), rec.fitted.tobytes()]
    return hashlib.sha1(b"".join(parts)).hexdigest()[:12]


def project(tasks: list, driver: float, n: int, link: float = LINK) -> float:
    """Fit seconds on ``n`` workers: per phase, the tasks (``seconds``, in submission order) go
    greedily to the first free worker; plus ``driver`` seconds; plus every task's bytes over one
    ``link`` (bytes/s) from the driver, which serialises them.

    >>> project([{"phase": "local", "seconds": 2.0, "bytes_in": 0, "bytes_out": 0}] * 4, 1.0, 2)
    5.0
    """
    total = driver
    for phase in dict.fromkeys(t["phase"] for t in tasks):
        free = [0.0] * n
        for t in (t for t in tasks if t["phase"] == phase):
            i = free.index(min(free))
            free[i] += t["seconds"]
        total += max(free)
    return total + sum(t["bytes_in"] + t["bytes_out"] for t in tasks) / link


def split(tasks: list, sizes: dict, piece: int) -> list:
    """The tasks cut into pieces of at most ``piece`` patches each, a piece's time (and bytes) the
    task's in proportion to its patches (``sizes[key]``: patches of the task's chunk); a model of
    a smaller ``--batch-size``, not a measurement.

    >>> [t["seconds"] for t in split([{"key": 0, "seconds": 3.0, "bytes_in": 0, "bytes_out": 0}], {0: 3}, 2)]
    [2.0, 1.0]
    """
    out = []
    for t in tasks:
        n = sizes[t["key"]]
        for start in range(0, n, piece):
            share = (min(n, start + piece) - start) / n
            out.append({**t, **{k: t[k] * share for k in ("seconds", "bytes_in", "bytes_out")}})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared_bunny = SHARED / "meshes" / "stanford-bunny.obj"
    default_mesh = shared_bunny if shared_bunny.exists() else ROOT / "data" / "bunny_gt.ply"  # a fresh clone's own
    ap.add_argument("--mesh", default=str(default_mesh), help=f"mesh to sample the scan from ({default_mesh.name})")
    ap.add_argument("--points", type=int, default=50_000)
    ap.add_argument("--noise", type=float, default=0.001, help="Gaussian noise, fraction of the diagonal")
    ap.add_argument("--local-steps", type=int, default=500)
    ap.add_argument("--consistency-steps", type=int, default=200)
    ap.add_argument("--workers", default="1,2", help="local Ray instances to run, by worker count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cluster.md"))
    args = ap.parse_args(argv)
    print(f"seed {args.seed}", flush=True)

    import torch

    import dgp
    from dgp.io import noisy_scan, read_mesh
    from dgp.reconstruction import ReconstructionConfig, plan_chunks
    from dgp.util import write_text

    torch.set_num_threads(1)
    cloud = noisy_scan(read_mesh(args.mesh), args.points, args.noise, seed=args.seed)
    base = dict(local_steps=args.local_steps, consistency_steps=args.consistency_steps, seed=args.seed, progress=False)
    runs = [("one process, 1 thread", ReconstructionConfig(**base, device="cpu"))]
    for w in [int(x) for x in args.workers.split(",") if x]:
        runs.append(
            (f"Ray, {w} worker{'s' if w > 1 else ''}", ReconstructionConfig(**base, cluster="local", workers=w))
        )
    rows = []
    for name, cfg in runs:
        t = time.time()
        rec = dgp.reconstruct(cloud, cfg)
        wall = time.time() - t
        fit = rec.stages["local"] + rec.stages["consistency"]
        rows.append((name, rec, fit, wall))
        print(f"{name}: fit {fit:.1f} s, wall {wall:.1f} s, {len(rec.patches)} patches, {_digest(rec)}", flush=True)

    ref = rows[0]
    tasks = ref[1].tasks
    driver = max(0.0, ref[2] - sum(t["seconds"] for t in tasks))
    bytes_in = sum(t["bytes_in"] for t in tasks)
    bytes_out = sum(t["bytes_out"] for t in tasks)
    P = len(ref[1].patches)
    lines = [
        "# Ray cluster against one process",
        "",
        f"Written by `python benchmarks/cluster.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
        f"on {time.strftime('%Y-%m-%d')}.",
        f"Input: {args.points:,} points of {Path(args.mesh).stem} with {args.noise:g} Gaussian noise; "
        f"{P:,} patches at the data's radius in {len({t['key'] for t in tasks})} chunks "
        "(one Ray task each, per phase); "
        f"{args.local_steps} local and {args.consistency_steps} consistency steps; seed {args.seed}. "
        "Every run fits with one torch thread per process. Fit = local + consistency phases; wall = the whole "
        "`dgp.reconstruct` (with Ray's start and shut-down).",
        "",
        "| run | fit s | fit vs one process | speed-up | wall s | charts |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, rec, fit, wall in rows:
        same = "same bits" if _digest(rec) == _digest(ref[1]) else "DIFFERENT"
        lines.append(f"| {name} | {fit:.1f} | {fit / ref[2]:.3f} | {ref[2] / fit:.2f}x | {wall:.1f} | {same} |")
    lines += [
        "",
        f"What crosses the network: {bytes_in / 1e6:.1f} MB to the workers and {bytes_out / 1e6:.1f} MB back over "
        f"the whole fit ({(bytes_in + bytes_out) / P / 1e3:.0f} kB a patch: its points, uv samples and normals once, "
        "its targets, and its chart's weights each way). The driver's own share of the fit (the consistency "
        f"targets, summed in patch order) took {driver:.1f} s.",
    ]
    sizes = {ci: len(idx) for ci, (idx, _) in enumerate(plan_chunks(ref[1].patches.counts, ref[1].config.batch_size))}
    pieces = split(tasks, sizes, PIECE)
    lines += [
        "",
        f"Projection to N workers from the one-process task times (greedy schedule per phase, the driver's time, "
        f"the bytes over a {LINK * 8 / 1e9:g} Gbit/s link); in the last columns, a model of `--batch-size {PIECE}` "
        f"({len(pieces) // 2} tasks per phase, each chunk's time shared out by its patches):",
        "",
        f"| workers | projected fit s | speed-up | with --batch-size {PIECE} | speed-up |",
        "| --- | --- | --- | --- | --- |",
    ]
    for n in (1, 2, 4, 8, 16, 64):
        s, s2 = project(tasks, driver, n), project(pieces, driver, n)
        lines.append(f"| {n} | {s:.1f} | {ref[2] / s:.2f}x | {s2:.1f} | {ref[2] / s2:.2f}x |")
    longest = max(t["seconds"] for t in tasks)
    lines += [
        "",
        f"At the default batch size the speed-up stops where the longest chunk's task ({longest:.1f} s) is the "
        "phase: the tasks are the chunks of the one-process fit, so that the charts are the same bits. A smaller "
        "`--batch-size` makes more, shorter tasks for a bigger cluster (and other charts than the default's, the "
        "same in one process and on the cluster).",
        "",
    ]
    out = Path(args.out)
    write_text(out, "\n".join(lines))  # atomically, its folder made
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
