"""Learned against unlearned priors: when does a generator trained on a class beat an untrained network?

Compressed sensing (dense Gaussian, noiseless) of 32×32 grey images at several m/n: held-out faces
(the class of the generator, `image_priors.learned.faces` test split) and crops of camera and
astronaut with a face's contrast (a class the generator never saw). CSGM, IAGAN (back-projected),
the Deep Decoder, DIP (4-scale preset) and the minimum-norm A⁺y. The expected picture (Bora et al.
2017; Abu Hussein et al. 2020): CSGM wins on its class at few measurements and saturates at the
generator's representation error; IAGAN lifts that ceiling; off the class the unlearned priors win.

The generator is ``data/generator_faces.pt`` where the repository is at hand, else one trained for
the run (`image_priors.learned.train_generator`, a few hundred steps).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

METHODS = ("A⁺y", "CSGM", "IAGAN", "Deep Decoder", "DIP")
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "generator_faces.pt"


def test_images(count: int, seed: int = 0) -> dict:
    """{group: (count, 1, 32, 32)}: held-out faces, and crops of pictures unlike them (as much contrast
    as the median face: flat sky or background would flatter every method)."""
    from image_priors.learned import faces, patches

    held = faces("test")
    idx = np.random.default_rng(seed).choice(len(held), count, replace=False)
    unlike = patches("test", count, seed, min_std=float(np.median(held.std(axis=(1, 2, 3)))))
    return {"held-out faces": held[np.sort(idx)], "unlike: camera, astronaut crops": unlike}


def run_one(method: str, gen, truth: np.ndarray, ratio: float, csgm_steps: int, steps: int, seed: int = 0):
    """(PSNR, seconds) of ``method`` on ``truth (1, 32, 32)`` at m/n = ``ratio``."""
    import torch

    from image_priors.fit import ImageFitConfig, fit
    from image_priors.learned import CSGM_LR, IAGAN_LR, IAGAN_STEPS, csgm, iagan
    from image_priors.metrics import psnr
    from image_priors.operators import GaussianSensing
    from image_priors.priors import prior_for_image

    op = GaussianSensing(truth.shape, ratio, seed=seed)
    y = op(torch.as_tensor(truth)[None])
    t0 = time.perf_counter()
    first = ImageFitConfig(steps=csgm_steps, lr=CSGM_LR, seed=seed, progress=False)
    if method == "A⁺y":
        est = op.pinv(y)[0].numpy()
    elif method == "CSGM":
        est = csgm(gen, op, y, first).image
    elif method == "IAGAN":
        second = ImageFitConfig(steps=IAGAN_STEPS, lr=IAGAN_LR, seed=seed, back_project=True, progress=False)
        est = iagan(gen, op, y, second, first).image
    elif method in ("Deep Decoder", "DIP"):
        name = "dd" if method == "Deep Decoder" else "dip"
        net, _ = prior_for_image(name, truth.shape, op, "cs", seed, small=True, k=64, d=4)
        est = fit(net, op, y, ImageFitConfig(steps=steps, ema=0.0, seed=seed, progress=False)).image
    else:
        raise ValueError(f"unknown method {method!r}")
    return psnr(truth, np.clip(est, 0, 1)), time.perf_counter() - t0


def sweep(gen, groups: dict, ratios, csgm_steps: int, steps: int, seed: int = 0, log=print):
    """Every method on every image of every group at every ratio. Returns ``(psnr, seconds)``:
    ``psnr[group][method][ratio]`` a list over the images, ``seconds[method]`` a list over runs."""
    psnr = {g: {m: {r: [] for r in ratios} for m in METHODS} for g in groups}
    secs = {m: [] for m in METHODS}
    for g, imgs in groups.items():
        for r in ratios:
            for i, truth in enumerate(imgs):
                for m in METHODS:
                    p, s = run_one(m, gen, truth, r, csgm_steps, steps, seed)
                    psnr[g][m][r].append(p)
                    secs[m].append(s)
                    if log:
                        log(f"{g} m/n={r} image {i} {m}: {p:.2f} dB, {s:.1f} s")
    return psnr, secs


def plot(psnr: dict, ratios, path) -> None:
    """PSNR against m/n, one panel per group."""
    from dgp.util import save_png
    from image_priors.experiments import figure

    fig, axes = figure(len(psnr))
    for ax, g in zip(axes[0], psnr):
        for m in METHODS:
            ax.plot(ratios, [np.mean(psnr[g][m][r]) for r in ratios], marker="o", label=m)
        ax.set_xscale("log")
        ax.set_xticks(list(ratios), [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("m / n")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(g)
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.tight_layout()
    save_png(path, fig)


def generator(seed: int = 0, quick: bool = False):
    """The shipped face generator, or where it is missing one trained now. Returns ``(generator, info)``."""
    from image_priors.learned import GeneratorInfo, faces, load_generator, train_generator

    if SHIPPED.exists():
        return load_generator(SHIPPED)
    gen, losses = train_generator(faces("train"), steps=300 if quick else 3000, seed=seed, progress=not quick)
    return gen, GeneratorInfo(gen.latent, (1, 32, 32), (0.0, 1.0), {"command": "train_generator (this run)"})


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from image_priors.experiments import write_csv

    gen, _ = generator(seed, quick)
    ratios = (0.1, 0.5) if quick else (0.05, 0.1, 0.25, 0.5)
    groups = test_images(2 if quick else 4, seed)
    psnr, _ = sweep(gen, groups, ratios, 100 if quick else 500, 100 if quick else 1500, seed, log=None)
    rows = [[g, m, r, i, v] for g in psnr for m in METHODS for r in ratios for i, v in enumerate(psnr[g][m][r])]
    write_csv(out / "learned-vs-unlearned.csv", ["group", "method", "ratio", "image", "psnr"], rows)
    plot(psnr, ratios, out / "learned-vs-unlearned.png")
    return {f"{g}|{m}|{r}": float(np.mean(psnr[g][m][r])) for g in psnr for m in METHODS for r in ratios}
