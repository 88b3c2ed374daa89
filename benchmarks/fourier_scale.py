"""The coordinate MLP's Fourier feature scale against how many values the data measure.

    .venv/bin/python benchmarks/fourier_scale.py [--size 128] [--scales 2.5,5,10] [--threads 2] [--quick]

The tasks of benchmarks/images.py on which the coordinate MLP runs, with the same images,
operators, seeds and 1,500 steps: inpainting (50% of the pixels dropped), x4 super-resolution
(Lanczos), and compressed sensing at m/n = 0.25 (dense Gaussian on 64x64 grayscale, structured
at the benchmark size). Each is fit with every scale of ``--scales`` and with the scale
`image_priors.priors.fourier_scale_for` picks from the measurements per channel (the CLI's
default). Reports PSNR of the last iterate (what the CLI returns with the fixed budget), the
best PSNR along the run (needs the truth; to judge the choice) and seconds. Writes
benchmarks/results/fourier_scale.md (``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.images import measurement_tasks  # noqa: E402
from dgp.util import write_text  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--scales", default="2.5,5,10", help="fixed scales to compare with the rule's")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="64x64, 150 steps: a smoke run")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.size, args.steps = 64, 150
    out = (
        Path(args.out)
        if args.out
        else ROOT / "benchmarks" / "results" / ("fourier_scale_quick.md" if args.quick else "fourier_scale.md")
    )

    import torch

    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.operators import measurements_per_channel
    from image_priors.priors import fourier_scale_for, prior_for_image

    torch.set_num_threads(args.threads)
    print(f"seed {args.seed}, size {args.size}, {args.steps} steps, {args.threads} threads")
    fixed = [float(s) for s in args.scales.split(",") if s]
    rows = []
    for _, label, truth, op in measurement_tasks(args.size, args.seed):
        y = op(torch.as_tensor(truth)[None])
        m = measurements_per_channel(op, truth.shape)
        rule = fourier_scale_for(m)
        for scale in sorted(set(fixed) | {rule}):
            net, _ = prior_for_image("mlp", truth.shape, op, seed=args.seed, fourier=128, fourier_scale=scale)
            t = time.time()
            res = fit(
                net,
                op,
                y,
                ImageFitConfig(steps=args.steps, stop="fixed", ema=0.0, device="cpu", seed=args.seed, progress=False),
                truth=truth,
            )
            rows.append(
                (label, m, scale, scale == rule, psnr(truth, res.image), max(res.history["psnr"]), time.time() - t)
            )
            print(
                f"{label}: {m:.0f} measurements per channel, scale {scale:g}{' (rule)' if scale == rule else ''}: "
                f"{rows[-1][4]:.2f} dB (best along the run {rows[-1][5]:.2f}), {rows[-1][6]:.0f} s",
                flush=True,
            )
    lines = [
        "# Coordinate MLP: Fourier scale against measurements",
        "",
        f"Made by `.venv/bin/python benchmarks/fourier_scale.py --size {args.size} --threads {args.threads}"
        + (" --quick" if args.quick else "")
        + (f" --scales {args.scales}" if args.scales != "2.5,5,10" else "")
        + f"` (CPU, seed {args.seed}, {args.steps} steps, Fourier features 128, hidden 256-256-256). "
        "The rule is `fourier_scale_for`: 10 × min(1, √(measurements per channel) / 128), the CLI's default; "
        "**bold**: the best last-iterate PSNR of each task.",
        "",
        "| task | measurements per channel | scale | PSNR | best along run | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == label]
        top = max(r[4] for r in mine)
        for _, m, scale, is_rule, p, best, sec in mine:
            cell = f"**{p:.2f}**" if p == top else f"{p:.2f}"
            lines.append(
                f"| {label} | {m:.0f} | {scale:g}{' (rule)' if is_rule else ''} | {cell} | {best:.2f} | {sec:.0f} |"
            )
    write_text(out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
