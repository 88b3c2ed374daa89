"""Early stopping: PSNR against steps for DIP, the Deep Decoder and the coordinate MLP on a
denoising problem, with the steps that the windowed-variance and discrepancy rules pick.

DIP (over-parameterised) rises, then falls as it fits the noise; the under-parameterised
Deep Decoder levels off instead of falling.
"""

from __future__ import annotations

import numpy as np
import torch


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from dgp.util import save_png
    from image_priors.experiments import figure, test_image, write_csv
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.operators import Identity, add_noise
    from image_priors.priors import CoordinateMLP, DeepDecoder, SkipNet
    from image_priors.stopping import Discrepancy, VarianceWindow

    size, steps = (64, 600) if quick else (256, 3000)
    sigma = 25 / 255
    img = test_image(size)
    y = add_noise(torch.as_tensor(img)[None], 25, seed=seed)
    nets = {
        "DIP": lambda: SkipNet((size, size), preset="small" if quick else "denoise", seed=seed),
        "Deep Decoder": lambda: DeepDecoder((size, size), k=32 if quick else 128, d=4 if quick else 6, seed=seed),
        "coordinate MLP": lambda: CoordinateMLP(
            (size, size), hidden=(128, 128, 128), fourier=64, fourier_scale=6.0, seed=seed
        ),
    }
    summary, curves = {}, {}
    for name, make in nets.items():
        var_rule, disc_rule = VarianceWindow(window=20 if quick else 50, patience=10**9), Discrepancy(sigma)
        disc_step = []

        def watch(step, out_img, loss, vr=var_rule, dr=disc_rule, ds=disc_step):
            vr.update(step, out_img, loss)
            if not ds and dr.update(step, out_img, loss):
                ds.append(step)

        res = fit(
            make(),
            Identity(),
            y,
            ImageFitConfig(steps=steps, lr=0.01, ema=0.0, seed=seed, progress=False),
            truth=img,
            callback=watch,
        )
        p = res.history["psnr"]
        curves[name] = p
        summary[name] = {
            "max_psnr": max(p),
            "argmax": int(np.argmax(p)),
            "final_psnr": p[-1],
            "variance_step": var_rule.chosen,
            "discrepancy_step": disc_step[0] if disc_step else None,
        }
    write_csv(
        out / "early-stopping.csv", ["step"] + list(nets), [[i] + [curves[n][i] for n in nets] for i in range(steps)]
    )
    fig, axes = figure(1, width=7)
    ax = axes[0, 0]
    for i, n in enumerate(nets):
        c = f"C{i}"
        ax.plot(curves[n], color=c, label=n)
        for key, marker in (("variance_step", "v"), ("discrepancy_step", "s")):
            st = summary[n][key]
            if st is not None:
                ax.plot(st, curves[n][st], marker, color=c, ms=8)
    ax.plot([], [], "kv", label="windowed-variance rule")
    ax.plot([], [], "ks", label="discrepancy rule (σ known)")
    ax.axhline(psnr(img, y[0].numpy()), color="gray", ls=":", label="noisy input")
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"denoising σ = 25, {size}×{size}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(out / "early-stopping.png", fig)
    summary["noisy_psnr"] = psnr(img, y[0].numpy())
    return summary
