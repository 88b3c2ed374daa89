"""Learned against unlearned priors: compressed sensing of held-out images of the generator's class
and of images unlike it.

    .venv/bin/python benchmarks/learned.py                  # about 20 min on 2 cores
    .venv/bin/python benchmarks/learned.py --quick          # a smoke run

The generator (``--generator``, default ``data/generator_faces.pt``, made by the command stored in it)
was trained on 80 of the 100 faces of scikit-image's ``lfw_subset``. Test images, 32x32 grey: ``--images``
of the 20 held-out faces, and as many 32x32 crops of camera and astronaut (pictures the generator never saw,
of another class; crops flatter than the median face are redrawn). Dense Gaussian sensing
(``image_priors.operators.GaussianSensing``) at each m/n of ``--ratios``, noiseless. Methods:

- CSGM: Adam on the latent, lr 0.1, ``--csgm-steps`` steps, 3 restarts (lowest measurement loss wins);
- IAGAN: then the latent and the generator's weights, 300 steps, lr 1e-3 and 1e-4, back-projected;
- the Deep Decoder (k = 64, d = 4) and DIP (the 4-scale CPU preset), ``--steps`` steps, unlearned;
- the minimum-norm solution A⁺y, the floor any prior should beat.

PSNR per method and m/n, the mean over the images of each group; writes
``benchmarks/results/learned.md`` and ``learned.png`` (PSNR against m/n, one panel per group).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default=str(ROOT / "data" / "generator_faces.pt"))
    ap.add_argument("--images", type=int, default=6, help="test images per group")
    ap.add_argument("--ratios", default="0.05,0.1,0.25,0.5")
    ap.add_argument("--csgm-steps", type=int, default=500)
    ap.add_argument("--steps", type=int, default=1500, help="steps of the unlearned priors")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 images, 2 ratios, 60 steps")
    ap.add_argument("--out", default=None, help="the .md to write (the .png goes beside it)")
    args = ap.parse_args(argv)
    if args.quick:
        args.images, args.ratios, args.csgm_steps, args.steps = 2, "0.1,0.5", 60, 60

    import torch

    from dgp.util import write_text
    from image_priors.experiments.learned_vs_unlearned import METHODS, plot, sweep, test_images
    from image_priors.learned import load_generator

    torch.set_num_threads(args.threads)
    gen, info = load_generator(args.generator)
    ratios = [float(r) for r in args.ratios.split(",")]
    groups = test_images(args.images, args.seed)
    print(f"seed {args.seed}; generator {args.generator} (latent {info.latent}); ratios {ratios}", flush=True)
    t_start = time.time()
    psnr, secs = sweep(gen, groups, ratios, args.csgm_steps, args.steps, args.seed, log=lambda s: print(s, flush=True))
    total = time.time() - t_start

    cmd = "python benchmarks/learned.py" + (" --quick" if args.quick else "")
    cmd += f" --images {args.images} --ratios {args.ratios} --csgm-steps {args.csgm_steps} --steps {args.steps}"
    about = info.about.get("command", "?")
    lines = [
        "# Learned against unlearned priors: compressed sensing, 32x32 grey",
        "",
        f"Made by `{cmd}` in {total / 60:.0f} min on the CPU ({args.threads} threads). The generator: "
        f"`{Path(args.generator).name}`, made by `{about}` ({info.about.get('description', '')}). "
        f"Mean PSNR in dB over {args.images} images per group; dense Gaussian sensing, noiseless.",
    ]
    for g in groups:
        lines += ["", f"## {g}", "", "| m/n | " + " | ".join(METHODS) + " |", "| --- " * (len(METHODS) + 1) + "|"]
        for r in ratios:
            means = [float(np.mean(psnr[g][m][r])) for m in METHODS]
            best = int(np.argmax(means))
            cells = [f"**{v:.2f}**" if j == best else f"{v:.2f}" for j, v in enumerate(means)]
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
    lines += ["", "Seconds per run: " + ", ".join(f"{m} {np.mean(secs[m]):.1f}" for m in METHODS) + "."]
    out = Path(args.out or ROOT / "benchmarks" / "results" / ("quick" if args.quick else "") / "learned.md")
    write_text(out, "\n".join(lines) + "\n")

    plot(psnr, ratios, out.with_suffix(".png"))
    print("\n".join(lines))
    print(f"wrote {out} and {out.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
