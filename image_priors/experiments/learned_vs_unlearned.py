"""Learned against unlearned priors: when does a generator trained on a class beat an untrained network?

Compressed sensing (dense Gaussian, noiseless) of 32×32 grey images at several m/n, and ×4
super-resolution (the CLI's Lanczos operator, 8×8 → 32×32): held-out faces (the class of the
generators, `image_priors.learned.faces` test split) and crops of camera and astronaut with a face's
contrast (a class they never saw).

Methods: the minimum-norm A⁺y; the classical priors, wavelet Lasso
(`image_priors.classical.wavelet_fista`) and total variation (`tv_least_squares`), each weight the
best of a grid on each setting over all test images (an oracle choice that flatters them); CSGM;
IAGAN without and with back-projection; LCM (a latent convolutional model); the Deep Decoder; DIP
(4-scale preset).

The expected picture (Bora et al. 2017; Abu Hussein et al. 2020; Athar et al. 2019): CSGM wins on
its class at few measurements and saturates at the generator's representation error; IAGAN lifts
that ceiling; LCM's far larger latent sits between the two families; off the class the unlearned
priors win.

The models are ``data/generator_faces.pt`` and ``data/lcm_faces.pt`` where the repository is at
hand, else trained for the run (`image_priors.learned.train_generator`, `train_lcm`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

METHODS = ("A⁺y", "Lasso", "TV", "CSGM", "IAGAN", "IAGAN+BP", "LCM", "Deep Decoder", "DIP")
DATA = Path(__file__).resolve().parents[2] / "data"
SHIPPED = DATA / "generator_faces.pt"
SHIPPED_LCM = DATA / "lcm_faces.pt"
#: the weights of the classical priors tried on every setting; the best mean over all test images is
#: reported (``image_priors.classical``: wavelet Lasso by FISTA, 1,000 steps; TV least squares)
WEIGHTS = {"Lasso": (1e-4, 1e-3, 3e-3, 1e-2, 3e-2), "TV": (1e-3, 1e-2, 3e-2, 1e-1, 3e-1)}
#: the super-resolution setting's key beside the m/n ratios of compressed sensing
SR = "sr4"


def test_images(count: int, seed: int = 0) -> dict:
    """{group: (count, 1, 32, 32)}: held-out faces, and crops of pictures unlike them (as much contrast
    as the median face: flat sky or background would flatter every method)."""
    from image_priors.learned import faces, patches

    held = faces("test")
    idx = np.random.default_rng(seed).choice(len(held), count, replace=False)
    unlike = patches("test", count, seed, min_std=float(np.median(held.std(axis=(1, 2, 3)))))
    return {"held-out faces": held[np.sort(idx)], "unlike: camera, astronaut crops": unlike}


def setting_name(setting) -> str:
    """``0.25`` → ``CS m/n=0.25``; `SR` → ``SR x4``."""
    return "SR x4" if setting == SR else f"CS m/n={setting:g}"


def run_one(
    gen, model, truth: np.ndarray, setting, csgm_steps: int, steps: int, seed: int = 0, classical=(1000, 500)
) -> dict:
    """Every method on ``truth (1, 32, 32)`` for one ``setting`` (an m/n ratio, or `SR`); ``classical``:
    the steps of Lasso's FISTA and of TV's gradient descent. Returns
    ``{column: (PSNR, seconds)}``, the classical priors as ``Lasso@weight`` and ``TV@weight`` per
    weight of `WEIGHTS`."""
    import torch

    from image_priors.classical import tv_least_squares, wavelet_fista
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.learned import CSGM_LR, IAGAN_LR, IAGAN_STEPS, LCM_LR, csgm, iagan, lcm
    from image_priors.metrics import psnr
    from image_priors.operators import Downsample, GaussianSensing, back_project
    from image_priors.priors import prior_for_image

    op = Downsample(4) if setting == SR else GaussianSensing(truth.shape, setting, seed=seed)
    task = "sr" if setting == SR else "cs"
    y = op(torch.as_tensor(truth)[None])
    out = {}

    def timed(column, make):
        t0 = time.perf_counter()
        est = make()
        out[column] = (psnr(truth, np.clip(est, 0, 1)), time.perf_counter() - t0)
        return est

    timed("A⁺y", lambda: op.pinv(y)[0].numpy())
    for lam in WEIGHTS["Lasso"]:
        timed(f"Lasso@{lam:g}", lambda lam=lam: wavelet_fista(op, y, truth.shape, lam, iters=classical[0]))
    for lam in WEIGHTS["TV"]:
        timed(f"TV@{lam:g}", lambda lam=lam: tv_least_squares(op, y, truth.shape, lam, iters=classical[1]))
    first = ImageFitConfig(steps=csgm_steps, lr=CSGM_LR, seed=seed, progress=False)
    timed("CSGM", lambda: csgm(gen, op, y, first).image)
    second = ImageFitConfig(steps=IAGAN_STEPS, lr=IAGAN_LR, seed=seed, progress=False)
    est = timed("IAGAN", lambda: iagan(gen, op, y, second, first).image)
    t0 = time.perf_counter()
    bp = back_project(op, torch.as_tensor(est)[None], y)[0].numpy()
    out["IAGAN+BP"] = (psnr(truth, np.clip(bp, 0, 1)), out["IAGAN"][1] + time.perf_counter() - t0)
    cfg = ImageFitConfig(steps=csgm_steps, lr=LCM_LR, seed=seed, progress=False)
    timed("LCM", lambda: lcm(model, op, y, cfg).image)
    for method, name in (("Deep Decoder", "dd"), ("DIP", "dip")):
        net, _ = prior_for_image(name, truth.shape, op, task, seed, small=True, k=64, d=4)
        cfg = ImageFitConfig(steps=steps, ema=0.0, seed=seed, progress=False)
        timed(method, lambda net=net, cfg=cfg: fit(net, op, y, cfg).image)
    return out


def sweep(
    gen, model, groups: dict, settings, csgm_steps: int, steps: int, seed: int = 0, log=print, classical=(1000, 500)
):
    """Every method on every image of every group at every setting (m/n ratios and `SR`). Returns
    ``(psnr, seconds, weights)``: ``psnr[group][method][setting]`` a list over the images,
    ``seconds[method]`` a list over runs, ``weights[method][setting]`` the weight of `WEIGHTS` whose
    mean PSNR over all images of all groups is the best (the ``Lasso`` and ``TV`` columns report it)."""
    raw = {g: {} for g in groups}
    secs = {}
    for g, imgs in groups.items():
        for s in settings:
            for i, truth in enumerate(imgs):
                for col, (p, t) in run_one(gen, model, truth, s, csgm_steps, steps, seed, classical).items():
                    raw[g].setdefault(col, {}).setdefault(s, []).append(p)
                    secs.setdefault(col.split("@")[0], []).append(t)
                if log:
                    log(
                        f"{g} {setting_name(s)} image {i}: "
                        + ", ".join(f"{m} {raw[g][m][s][-1]:.2f}" for m in METHODS if m in raw[g])
                    )
    best = {m: {} for m in WEIGHTS}
    for m, lams in WEIGHTS.items():
        for s in settings:
            means = {lam: np.mean([v for g in groups for v in raw[g][f"{m}@{lam:g}"][s]]) for lam in lams}
            best[m][s] = max(means, key=means.get)
    psnr = {
        g: {m: {s: raw[g][f"{m}@{best[m][s]:g}" if m in WEIGHTS else m][s] for s in settings} for m in METHODS}
        for g in groups
    }
    return psnr, secs, best


def plot(psnr: dict, settings, path) -> None:
    """PSNR against m/n, one panel per group, and a panel of ×4 super-resolution per group (bars)."""
    from dgp.util import save_png
    from image_priors.experiments import figure

    ratios = [s for s in settings if s != SR]
    groups = list(psnr)
    fig, axes = figure(len(groups) + (SR in settings))
    for ax, g in zip(axes[0], groups):
        for m in METHODS:
            ax.plot(ratios, [np.mean(psnr[g][m][r]) for r in ratios], marker="o", label=m)
        ax.set_xscale("log")
        ax.set_xticks(list(ratios), [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("m / n")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(f"CS: {g}")
        ax.grid(alpha=0.3)
    if SR in settings:
        ax = axes[0, len(groups)]
        width = 0.8 / len(groups)
        for k, g in enumerate(groups):
            ax.bar(np.arange(len(METHODS)) + k * width, [np.mean(psnr[g][m][SR]) for m in METHODS], width, label=g)
        ax.set_xticks(np.arange(len(METHODS)) + width * (len(groups) - 1) / 2, METHODS, rotation=45, ha="right")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title("x4 super-resolution")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    save_png(path, fig)


def generator(seed: int = 0, quick: bool = False):
    """The shipped face generator, or where it is missing one trained now. Returns ``(generator, info)``."""
    from image_priors.learned import GeneratorInfo, faces, load_generator, train_generator

    if SHIPPED.exists():
        return load_generator(SHIPPED)
    gen, losses = train_generator(faces("train"), steps=300 if quick else 3000, seed=seed, progress=not quick)
    return gen, GeneratorInfo(gen.latent, (1, 32, 32), (0.0, 1.0), {"command": "train_generator (this run)"})


def lcm_model(seed: int = 0, quick: bool = False):
    """The shipped face LCM, or where it is missing one trained now."""
    from image_priors.learned import faces, load_generator, train_lcm

    if SHIPPED_LCM.exists():
        return load_generator(SHIPPED_LCM)[0]
    return train_lcm(faces("train"), steps=300 if quick else 3000, seed=seed, progress=not quick)[0]


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from image_priors.experiments import write_csv

    gen, _ = generator(seed, quick)
    model = lcm_model(seed, quick)
    settings = (0.1, 0.5, SR) if quick else (0.05, 0.1, 0.25, 0.5, SR)
    groups = test_images(2 if quick else 4, seed)
    steps = (100, 100, (100, 100)) if quick else (500, 1500, (1000, 500))
    psnr, _, _ = sweep(gen, model, groups, settings, *steps[:2], seed, log=None, classical=steps[2])
    rows = [[g, m, s, i, v] for g in psnr for m in METHODS for s in settings for i, v in enumerate(psnr[g][m][s])]
    write_csv(out / "learned-vs-unlearned.csv", ["group", "method", "setting", "image", "psnr"], rows)
    plot(psnr, settings, out / "learned-vs-unlearned.png")
    return {f"{g}|{m}|{s}": float(np.mean(psnr[g][m][s])) for g in psnr for m in METHODS for s in settings}
