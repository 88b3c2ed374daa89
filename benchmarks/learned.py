"""Learned against unlearned priors: compressed sensing and x4 super-resolution of held-out images of
the generators' class and of images unlike it.

    .venv/bin/python benchmarks/learned.py                  # about 20 min on 2 cores
    .venv/bin/python benchmarks/learned.py --quick          # a smoke run

The generator (``--generator``, default ``data/generator_faces.pt``) and the latent convolutional model
(``--lcm``, default ``data/lcm_faces.pt``), each made by the command stored in it, were trained on 80
of the 100 faces of scikit-image's ``lfw_subset``. Test images, 32x32 grey: ``--images``
of the 20 held-out faces, and as many 32x32 crops of camera and astronaut (pictures the generator never saw,
of another class; crops flatter than the median face are redrawn). Dense Gaussian sensing
(``image_priors.operators.GaussianSensing``) at each m/n of ``--ratios``, noiseless, and x4
super-resolution (the CLI's Lanczos ``Downsample(4)``: 8x8 measured pixels). Methods:

- the minimum-norm solution A⁺y, the floor any prior should beat;
- the classical priors: Lasso, wavelet-sparse least squares (FISTA, Daubechies-4), and TV least squares;
  each weight the best of ``WEIGHTS`` on each task over all test images (an oracle choice, in their favour);
- CSGM: Adam on the latent, lr 0.1, ``--csgm-steps`` steps, 3 restarts (lowest measurement loss wins);
- IAGAN: then the latent and the generator's weights, 300 steps, lr 1e-3 and 1e-4; without and with
  back-projection onto the measurements (``IAGAN+BP``);
- LCM: a fresh latent network's weights fitted with the LCM's generator fixed, lr 0.01,
  ``--csgm-steps`` steps, 3 restarts;
- the Deep Decoder (k = 64, d = 4) and DIP (the 4-scale CPU preset), ``--steps`` steps, unlearned.

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
    ap.add_argument("--lcm", default=str(ROOT / "data" / "lcm_faces.pt"), help="the latent convolutional model")
    ap.add_argument("--images", type=int, default=None, help="test images per group (4; --quick 2)")
    ap.add_argument("--ratios", default=None, help="the m/n of compressed sensing (0.05,0.1,0.25,0.5; --quick 0.1,0.5)")
    ap.add_argument("--csgm-steps", type=int, default=None, help="steps of CSGM and LCM (500; --quick 60)")
    ap.add_argument("--steps", type=int, default=None, help="steps of the unlearned priors (1500; --quick 60)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 images, 2 ratios, 60 steps, 100 of the classical priors")
    ap.add_argument("--out", default=None, help="the .md to write (the .png goes beside it)")
    args = ap.parse_args(argv)
    given = dict(images=args.images, ratios=args.ratios, csgm_steps=args.csgm_steps, steps=args.steps)
    defaults = (2, "0.1,0.5", 60, 60) if args.quick else (4, "0.05,0.1,0.25,0.5", 500, 1500)
    for (key, value), default in zip(given.items(), defaults):
        setattr(args, key, default if value is None else value)
    classical = (100, 100) if args.quick else (1000, 500)

    import torch

    from dgp.util import write_text
    from image_priors.experiments.learned_vs_unlearned import METHODS, SR, plot, setting_name, sweep, test_images
    from image_priors.learned import load_generator

    torch.set_num_threads(args.threads)
    gen, info = load_generator(args.generator)
    model, minfo = load_generator(args.lcm)
    settings = [float(r) for r in args.ratios.split(",")] + [SR]
    groups = test_images(args.images, args.seed)
    print(f"seed {args.seed}; generator {args.generator} (latent {info.latent}); LCM {args.lcm}", flush=True)
    t_start = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731
    psnr, secs, weights = sweep(
        gen, model, groups, settings, args.csgm_steps, args.steps, args.seed, log=log, classical=classical
    )
    total = time.time() - t_start

    cmd = "python benchmarks/learned.py" + (" --quick" if args.quick else "")
    cmd += f" --images {args.images} --ratios {args.ratios} --csgm-steps {args.csgm_steps} --steps {args.steps}"
    about = info.about.get("command", "?")
    lines = [
        "# Learned against unlearned priors: compressed sensing and x4 super-resolution, 32x32 grey",
        "",
        f"Made by `{cmd}` in {total / 60:.0f} min on the CPU ({args.threads} threads). The generator: "
        f"`{Path(args.generator).name}`, made by `{about}` ({info.about.get('description', '')}). "
        f"The LCM: `{Path(args.lcm).name}`, made by `{minfo.about.get('command', '?')}`. "
        f"Mean PSNR in dB over {args.images} images per group; dense Gaussian sensing and Lanczos x4 "
        "downsampling, noiseless. The best of each row in bold.",
    ]
    for g in groups:
        lines += ["", f"## {g}", "", "| task | " + " | ".join(METHODS) + " |", "| --- " * (len(METHODS) + 1) + "|"]
        for s in settings:
            means = [float(np.mean(psnr[g][m][s])) for m in METHODS]
            best = int(np.argmax(means))
            cells = [f"**{v:.2f}**" if j == best else f"{v:.2f}" for j, v in enumerate(means)]
            lines.append(f"| {setting_name(s)} | " + " | ".join(cells) + " |")
    lines += [""] + [
        f"{m}'s weight, the best on each task over all test images: "
        + ", ".join(f"{setting_name(s)} {w[s]:g}" for s in settings)
        + "."
        for m, w in weights.items()
    ]
    lines += [
        "",
        "Seconds per run: "
        + ", ".join(f"{m} {np.mean(secs[m]):.1f}" for m in METHODS)
        + " (Lasso and TV: one weight; IAGAN+BP includes IAGAN).",
    ]
    out = Path(args.out or ROOT / "benchmarks" / "results" / ("quick" if args.quick else "") / "learned.md")
    write_text(out, "\n".join(lines) + "\n")

    plot(psnr, settings, out.with_suffix(".png"))
    print("\n".join(lines))
    print(f"wrote {out} and {out.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
