"""Spectral bias: a coordinate ReLU MLP on plain coordinates fits low frequencies first and
struggles with detail; random Fourier features remove the bias (Tancik et al. 2020).

The same image is fit by `CoordinateMLP` with plain coordinates and with Fourier features;
PSNR against steps and the two fitted images beside the target.
"""

from __future__ import annotations

import numpy as np
import torch


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from dgp.util import save_png
    from image_priors.experiments import figure, test_image, write_csv
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.operators import Identity
    from image_priors.priors import CoordinateMLP

    size, steps, hidden = (64, 300, (128, 128, 128)) if quick else (256, 2000, (256, 256, 256))
    img = test_image(size)
    y = torch.as_tensor(img)[None]
    runs = {"plain coordinates": dict(fourier=0), "Fourier features": dict(fourier=128, fourier_scale=10.0)}
    results = {}
    for name, kw in runs.items():
        res = fit(
            CoordinateMLP((size, size), hidden=hidden, seed=seed, **kw),
            Identity(),
            y,
            ImageFitConfig(steps=steps, lr=1e-3, jitter=0.0, ema=0.0, seed=seed, progress=False),
            truth=img,
        )
        results[name] = res
    write_csv(
        out / "spectral-bias.csv",
        ["step"] + [f"psnr {n}" for n in runs],
        [[i] + [results[n].history["psnr"][i] for n in runs] for i in range(steps)],
    )
    fig, axes = figure(4, width=3.6, height=3.6)
    for n in runs:
        axes[0, 0].plot(results[n].history["psnr"], label=n)
    axes[0, 0].set_xlabel("step")
    axes[0, 0].set_ylabel("PSNR (dB)")
    axes[0, 0].legend()
    for ax, (title, im) in zip(axes[0, 1:], [("target", img)] + [(n, results[n].last) for n in runs]):
        ax.imshow(np.moveaxis(np.clip(im, 0, 1), 0, -1))
        ax.set_title(title)
        ax.set_axis_off()
    fig.tight_layout()
    save_png(out / "spectral-bias.png", fig)
    return {n: results[n].history["psnr"][-1] for n in runs}
