"""Per-step cost of fitting P patch networks: one network at a time (the reference DGP's structure)
against `BatchedMLP` (all at once, one batched matrix product per layer) and `BlockedMLP` (the
same, run in cache-sized blocks of patches: what `dgp reconstruct` uses on the CPU), plus the
cost of the OT matching.

    .venv/bin/python benchmarks/speed.py [--threads 2] [--patches 64,256,1024,4096] [--points 256]

All fit the same patches with the same widths and the same Adam; each timing is the median of
``--repeat`` steps after a warm-up step, under the same fixed thread count. The table also
gives the arithmetic rate of each (a step is 3 matrix products per layer: forward, and the
backward's two) against this machine's matrix-product peak (one 2048 x 2048 product): the
peak over the loop's rate bounds what any batching of the same arithmetic can gain. The reference DGP
also re-matches every patch at every step; the "reference schedule" column adds one EMD
matching per patch per step to the loop, the "ours" column adds ours (every ``match_every``
steps) to the batched step.

Matching schedule (``--schedule 1,10,25,50,100``): the local and consistency phases of the
default reconstruction on a ball-shaped piece (about a fifth) of the sample bunny, re-matching
every k steps, reporting fit seconds and the mean distance of the dense chart samples to the
ground-truth mesh. Writes benchmarks/results/speed.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dgp.util import write_text  # noqa: E402

SCHEDULE = "1,10,25,50,100"


def _peak_gflops(torch, device, repeat=5):
    """This machine's float32 matrix-product rate (GFLOP/s) at the set thread count."""
    n = 2048 if device.type == "cpu" else 8192
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    return 2 * n**3 / _median_step(lambda: a @ b, repeat, device) / 1e9


def _matching_seconds(assign, a, b, method: str, repeat: int = 20) -> float:
    """Seconds of one ``assign(a, b, method)`` (after a warm-up call, which imports the solver)."""
    assign(a, b, method)
    t = time.perf_counter()
    for _ in range(repeat):
        assign(a, b, method)
    return (time.perf_counter() - t) / repeat


def _median_step(step, repeat, device=None):
    import torch

    def sync():
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    step()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _schedule(ks, seed):
    """Fit a piece of the sample bunny with each match-every value; (k, seconds, error, -, n, P) rows."""
    from dgp.io import read_mesh, read_points
    from dgp.metrics import surface_distances
    from dgp.pointcloud import PointCloud
    from dgp.reconstruction import ReconstructionConfig, reconstruct

    cloud = read_points(ROOT / "data" / "bunny_noisy.ply")
    gt = read_mesh(ROOT / "data" / "bunny_gt.ply")
    diag = float(np.linalg.norm(np.ptp(gt.vertices, axis=0)))
    centre = cloud.points[np.argmax(cloud.points[:, 1])]  # the top of the bunny (ears)
    dist = np.linalg.norm(cloud.points - centre, axis=1)
    keep = dist <= np.quantile(dist, 0.2)
    piece = PointCloud(cloud.points[keep], cloud.normals[keep])
    # the piece's own unit frame is smaller than the bunny's: keep the bunny's patch radius
    scale = np.linalg.norm(np.ptp(cloud.points, 0)) / np.linalg.norm(np.ptp(piece.points, 0))
    rows = []
    for k in ks:
        cfg = ReconstructionConfig(
            radius=ReconstructionConfig.radius * scale, match_every=k, seed=seed, progress=False, device="cpu"
        )
        t = time.perf_counter()
        rec = reconstruct(piece, cfg)
        sec = time.perf_counter() - t
        err = float(surface_distances(gt, rec.sample().points)[0].mean()) / diag
        rows.append((k, sec, err, None, int(keep.sum()), len(rec.patches)))
        print(f"match every {k}: {sec:.1f} s, chart error {err:.3e}", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patches", default="64,256,1024,4096")
    ap.add_argument("--points", default="256", help="points (uv samples) per patch; a comma list adds rows")
    ap.add_argument("--widths", default="2,128,128,3")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where the networks run (the matching is on the CPU)")
    ap.add_argument("--schedule", default=SCHEDULE, help="match-every values to compare ('' = skip)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "speed.md"))
    args = ap.parse_args(argv)

    import torch

    from dgp.coordmlp import BatchedMLP, BlockedMLP
    from dgp.fit import ChartFitConfig, _adam, block_patches
    from dgp.matching import assignment

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    widths = tuple(int(w) for w in args.widths.split(","))
    sizes = [
        (P, K) for K in (int(k) for k in args.points.split(",")) for P in (int(p) for p in args.patches.split(","))
    ]
    print(f"seed {args.seed}, {args.threads} thread(s), widths {widths}, {args.points} points per patch")
    peak = _peak_gflops(torch, dev)
    macs = sum(a * b for a, b in zip(widths[:-1], widths[1:]))  # multiply-adds per sample, forward
    block = ChartFitConfig.block
    print(f"matrix-product peak {peak:.0f} GFLOP/s; blocks of about {block} uv samples")
    rows = []

    def ours(tb, tk):  # what dgp reconstruct runs: blocks on the CPU, the whole batch on CUDA
        return tk if dev.type == "cpu" else tb

    for P, K in sizes:
        uv = torch.rand(P, K, 2, device=dev)
        target = torch.rand(P, K, 3, device=dev)
        batched = BatchedMLP(P, widths, seed=args.seed).to(dev)
        opt = _adam(batched, 1e-3)

        def batched_step():
            loss = ((batched(uv) - target) ** 2).sum(-1).mean(1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()

        blocked = BlockedMLP(P, widths, block=block_patches(block, K), seed=args.seed, device=dev)
        bopt = _adam(blocked, 1e-3)

        def blocked_step():  # as dgp.fit does it: forward and backward one block at a time
            bopt.zero_grad()
            for sl, part in blocked.blocks():
                ((part(uv[sl]) - target[sl]) ** 2).sum(-1).mean(1).sum().backward()
            bopt.step()

        nets = [batched.to_sequential(p).to(dev) for p in range(P)]
        opts = [_adam(n, 1e-3) for n in nets]

        def loop_step():
            for p, (net, o) in enumerate(zip(nets, opts)):
                loss = ((net(uv[p]) - target[p]) ** 2).sum(-1).mean()
                o.zero_grad()
                loss.backward()
                o.step()

        tb = _median_step(batched_step, args.repeat, dev)
        tk = _median_step(blocked_step, args.repeat, dev)
        tl = _median_step(loop_step, max(1, args.repeat // 2) if P <= 1024 else 1, dev)
        rng = np.random.default_rng(args.seed)
        # a patch-like pair: flat points against a shuffled noisy copy (a running fit's predictions
        # lie near their points; random clouds would make the simplex work much harder)
        a = rng.uniform(-1, 1, size=(K, 3)) * [1.0, 1.0, 0.05]
        b = rng.permutation(a) + 0.05 * rng.normal(size=(K, 3))
        tm, ta = (_matching_seconds(assignment, a, b, method) * P for method in ("emd", "lsa"))
        nets.clear()
        opts.clear()
        gflop = 6 * P * K * macs / 1e9  # per step
        rows.append((P, K, tl, tb, tk, tm, ta, gflop))
        print(
            f"P={P}, K={K}: loop {tl:.3f} s/step ({gflop / tl:.0f} GFLOP/s), batched {tb:.3f}, blocked {tk:.3f} "
            f"({gflop / tk:.0f} GFLOP/s), loop / blocked {tl / tk:.1f}x, one matching of all patches {tm:.2f} s",
            flush=True,
        )
    lines = [
        "# Batched per-patch networks against one network at a time",
        "",
        f"Made by `.venv/bin/python benchmarks/speed.py --threads {args.threads} --patches {args.patches} "
        f"--points {args.points}"
        + (f" --device {args.device}" if dev.type != "cpu" else "")
        + (f" --schedule '{args.schedule}'" if args.schedule != SCHEDULE else "")
        + "` ("
        + (torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU")
        + f", {args.threads} CPU thread(s); widths {'-'.join(map(str, widths))}; "
        f"median of {args.repeat} steps; the same fused Adam for all). Blocked: `BlockedMLP`, blocks of "
        f"{block} // points patches ({block} uv samples), forward and backward block by block, as `dgp reconstruct` "
        "runs on the CPU.",
        "",
        f"This machine's matrix-product peak: {peak:.0f} GFLOP/s (one square float32 product, side "
        f"{2048 if dev.type == 'cpu' else 8192}). A step is "
        f"{6 * macs:,} FLOP per sample ({macs:,} multiply-adds forward, twice that backward), the same for all three.",
        "",
        "| patches | points | loop s/step | batched s/step | blocked s/step | loop / batched | loop / blocked "
        "| loop GFLOP/s "
        "| best GFLOP/s | peak / loop rate (most any batching could gain) | one EMD matching of all patches (s) "
        "| matching every 50 steps, share of time | the same matching by `--matching lsa` (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for P, K, tl, tb, tk, tm, ta, gflop in rows:
        share = (tm / 50) / (tm / 50 + ours(tb, tk))
        lines.append(
            f"| {P} | {K} | {tl:.4f} | {tb:.4f} | {tk:.4f} | {tl / tb:.1f}× | {tl / tk:.1f}× | {gflop / tl:.0f} | "
            f"{gflop / min(tb, tk):.0f} | {peak * tl / gflop:.1f}× | {tm:.3g} | {100 * share:.0f}% | {ta:.3g} |"
        )
    lines += [
        "",
        "Per step with the matching included: the reference schedule (one network at a time, every patch "
        f"re-matched every step) against ours ({'blocked' if dev.type == 'cpu' else 'batched'}, re-matched every "
        "50 steps). The matching is timed "
        "on a flat patch against a shuffled noisy copy of itself.",
        "",
        "| patches | points | reference schedule s/step | ours s/step | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for P, K, tl, tb, tk, tm, ta, gflop in rows:
        lines.append(
            f"| {P} | {K} | {tl + tm:.3f} | {ours(tb, tk) + tm / 50:.3f} "
            f"| {(tl + tm) / (ours(tb, tk) + tm / 50):.1f}× |"
        )
    if args.schedule:
        sched = _schedule([int(k) for k in args.schedule.split(",")], args.seed)
        lines += [
            "",
            "Matching schedule: default reconstruction of a piece of `data/bunny_noisy.ply` "
            f"({sched[0][4]} points, {sched[0][5]} patches), re-matching every k local steps; mean distance "
            "of the dense chart samples to `data/bunny_gt.ply` in units of its diagonal.",
            "",
            "| match every k steps | fit seconds | chart error |",
            "| --- | --- | --- |",
        ]
        for k, sec, err, _, _, _ in sched:
            lines.append(f"| {k} | {sec:.1f} | {err:.3e} |")
    text = "\n".join(lines) + "\n"
    write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
