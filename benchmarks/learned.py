"""Learned against unlearned priors: compressed sensing of held-out images of the generator's class
and of images unlike it.

    .venv/bin/python benchmarks/learned.py                  # about 20 min on 2 cores
    .venv/bin/python benchmarks/learned.py --quick          # a smoke run

The generator (``--generator``, default ``data/generator_faces.pt``, made by the command stored in it)
was trained on 160 of scikit-image's ``lfw_subset`` faces. Test images, 32x32 grey: ``--images`` of the
40 held-out faces, and as many 32x32 crops of camera and astronaut (pictures the generator never saw,
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

METHODS = ("A⁺y", "CSGM", "IAGAN", "Deep Decoder", "DIP")


def test_images(count: int, seed: int = 0) -> dict:
    """{group: (count, 1, 32, 32)}: held-out faces, and crops of pictures unlike them."""
    from image_priors.learned import faces, patches

    held = faces("test")
    idx = np.random.default_rng(seed).choice(len(held), count, replace=False)
    # crops with as much contrast as a face has (flat sky or background would flatter every method)
    unlike = patches("test", count, seed, min_std=float(np.median(held.std(axis=(1, 2, 3)))))
    return {"held-out faces": held[np.sort(idx)], "unlike: camera, astronaut crops": unlike}


def run_one(method: str, gen, truth: np.ndarray, ratio: float, args) -> tuple[float, float]:
    """(PSNR, seconds) of ``method`` on ``truth (1, 32, 32)`` at m/n = ``ratio``."""
    import torch

    from image_priors.fit import ImageFitConfig, fit
    from image_priors.learned import CSGM_LR, IAGAN_LR, IAGAN_STEPS, csgm, iagan
    from image_priors.metrics import psnr
    from image_priors.operators import GaussianSensing
    from image_priors.priors import prior_for_image

    op = GaussianSensing(truth.shape, ratio, seed=args.seed)
    y = op(torch.as_tensor(truth)[None])
    t0 = time.perf_counter()
    first = ImageFitConfig(steps=args.csgm_steps, lr=CSGM_LR, seed=args.seed, progress=False)
    if method == "A⁺y":
        est = op.pinv(y)[0].numpy()
    elif method == "CSGM":
        est = csgm(gen, op, y, first).image
    elif method == "IAGAN":
        second = ImageFitConfig(steps=IAGAN_STEPS, lr=IAGAN_LR, seed=args.seed, back_project=True, progress=False)
        est = iagan(gen, op, y, second, first).image
    else:
        name = "dd" if method == "Deep Decoder" else "dip"
        net, _ = prior_for_image(name, truth.shape, op, "cs", args.seed, small=True, k=64, d=4)
        est = fit(net, op, y, ImageFitConfig(steps=args.steps, ema=0.0, seed=args.seed, progress=False)).image
    return psnr(truth, np.clip(est, 0, 1)), time.perf_counter() - t0


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

    from dgp.util import save_png, write_text
    from image_priors.learned import load_generator

    torch.set_num_threads(args.threads)
    gen, info = load_generator(args.generator)
    ratios = [float(r) for r in args.ratios.split(",")]
    groups = test_images(args.images, args.seed)
    print(f"seed {args.seed}; generator {args.generator} (latent {info.latent}); ratios {ratios}", flush=True)
    t_start = time.time()
    # psnr[group][method][ratio] = list over images; secs[method] = list
    psnr: dict = {g: {m: {r: [] for r in ratios} for m in METHODS} for g in groups}
    secs: dict = {m: [] for m in METHODS}
    for g, imgs in groups.items():
        for r in ratios:
            for i, truth in enumerate(imgs):
                for m in METHODS:
                    p, s = run_one(m, gen, truth, r, args)
                    psnr[g][m][r].append(p)
                    secs[m].append(s)
                    print(f"{g} m/n={r} image {i} {m}: {p:.2f} dB, {s:.1f} s", flush=True)
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

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False)
    for ax, g in zip(axes[0], groups):
        for m in METHODS:
            ax.plot(ratios, [np.mean(psnr[g][m][r]) for r in ratios], marker="o", label=m)
        ax.set_xscale("log")
        ax.set_xlabel("m / n")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(g)
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.tight_layout()
    save_png(out.with_suffix(".png"), fig)
    print("\n".join(lines))
    print(f"wrote {out} and {out.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
