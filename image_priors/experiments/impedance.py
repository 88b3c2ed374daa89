"""Impedance: an untrained network fits a natural image fast and noise slowly.

DIP's SkipNet and the Deep Decoder are fit (no jitter, no averaging) to four targets of the
same size: a natural image, the image plus Gaussian noise (sigma 25/255), the image with its
pixels shuffled, and uniform noise. The MSE against steps, on a log axis, shows "high
impedance to noise, low impedance to signal" (Ulyanov et al. 2018, Fig. 2).
"""

from __future__ import annotations

import numpy as np
import torch


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from dgp.util import save_png
    from image_priors.experiments import figure, test_image, write_csv
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.operators import Identity
    from image_priors.priors import DeepDecoder, SkipNet

    size, steps = (64, 200) if quick else (256, 2000)
    rng = np.random.default_rng(seed)
    img = test_image(size)
    targets = {
        "natural image": img,
        "image + noise": np.clip(img + rng.normal(scale=25 / 255, size=img.shape), 0, 1).astype(np.float32),
        "shuffled pixels": img.reshape(3, -1)[:, rng.permutation(size * size)].reshape(img.shape),
        "uniform noise": rng.uniform(size=img.shape).astype(np.float32),
    }
    nets = {
        "DIP SkipNet": lambda: SkipNet((size, size), preset="small" if quick else "denoise", seed=seed),
        "Deep Decoder": lambda: DeepDecoder((size, size), k=64 if quick else 128, d=4 if quick else 6, seed=seed),
    }
    curves = {}
    for net_name, make in nets.items():
        for t_name, t in targets.items():
            res = fit(
                make(),
                Identity(),
                torch.as_tensor(t)[None],
                ImageFitConfig(steps=steps, lr=0.01, jitter=0.0, ema=0.0, seed=seed, progress=False),
            )
            curves[(net_name, t_name)] = res.history["loss"]
    rows = [[net, tgt, i, v] for (net, tgt), c in curves.items() for i, v in enumerate(c)]
    write_csv(out / "impedance.csv", ["network", "target", "step", "mse"], rows)
    fig, axes = figure(len(nets))
    for ax, net_name in zip(axes[0], nets):
        for t_name in targets:
            ax.plot(np.arange(1, steps + 1), curves[(net_name, t_name)], label=t_name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("MSE to the target")
        ax.set_title(f"{net_name}, {size}×{size}")
        ax.legend()
    fig.tight_layout()
    save_png(out / "impedance.png", fig)
    return {f"{n}|{t}": c[-1] for (n, t), c in curves.items()}
