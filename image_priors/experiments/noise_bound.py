"""The Deep Decoder cannot fit noise: measured against the bound of Heckel & Hand (2019).

One-layer decoder with a fixed linear upsampling U₀ (n₀ → n samples) and a fixed random input
B₀ ∈ R^{n₀×k}: G(C₀, C₁) = relu(U₀ B₀ C₀) C₁, C₀ ∈ R^{k×k}, C₁ ∈ R^{k}. Fit to pure Gaussian
noise η ∈ R^n with Adam; the fraction of the noise energy it removes, 1 − min ‖G − η‖² / ‖η‖²,
is at most 20 k² log(n₀) / n whenever k² log(n₀)/n ≤ 1/32. Also: the multi-layer
`DeepDecoder` fit to a noise image, fraction removed against parameters / n.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def one_layer_fraction(n: int, n0: int, k: int, steps: int, seed: int) -> float:
    """Fraction of the noise energy a one-layer decoder removes (best over the run)."""
    gen = torch.Generator().manual_seed(seed)
    eta = torch.randn(n, generator=gen, dtype=torch.float64)
    B0 = torch.randn(1, k, n0, generator=gen, dtype=torch.float64)
    UB = F.interpolate(B0, size=n, mode="linear", align_corners=False)[0].T  # (n, k) = U0 B0
    C0 = (torch.randn(k, k, generator=gen, dtype=torch.float64) / math.sqrt(k)).requires_grad_(True)
    C1 = (torch.randn(k, generator=gen, dtype=torch.float64) / math.sqrt(k)).requires_grad_(True)
    opt = torch.optim.Adam([C0, C1], lr=0.02)
    best = 1.0
    energy = float(eta.pow(2).sum())
    for _ in range(steps):
        res = torch.relu(UB @ C0) @ C1 - eta
        loss = res.pow(2).sum()
        best = min(best, float(loss.detach()) / energy)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return 1.0 - best


def run(out, seed: int = 0, quick: bool = False) -> dict:
    from dgp.util import save_png
    from image_priors.experiments import figure, write_csv
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.operators import Identity
    from image_priors.priors import DeepDecoder

    ns = (1024, 4096) if quick else (1024, 4096, 16384)
    ks = (1, 2, 4) if quick else (1, 2, 3, 4, 6, 8)
    steps = 600 if quick else 4000
    rows = []
    for n in ns:
        n0 = n // 4
        for k in ks:
            ratio = k * k * math.log(n0) / n
            bound = 20 * ratio if ratio <= 1 / 32 else float("nan")
            rows.append(["one-layer", n, n0, k, k * k + k, one_layer_fraction(n, n0, k, steps, seed), bound, ratio])
    size = 64
    dd_ks = (4, 8, 16) if quick else (4, 8, 16, 32, 64)
    rng = np.random.default_rng(seed)
    noise = torch.as_tensor(rng.normal(0.5, 0.1, size=(1, 1, size, size)).astype(np.float32))
    for k in dd_ks:
        net = DeepDecoder((size, size), k=k, d=4, out_channels=1, seed=seed)
        res = fit(
            net, Identity(), noise, ImageFitConfig(steps=steps, lr=0.01, jitter=0.0, ema=0.0, seed=seed, progress=False)
        )
        var = float(noise.var() * noise.numel() / (noise.numel() - 1))
        frac = 1.0 - min(res.history["loss"]) / var  # loss is the MSE; noise energy per pixel is its variance
        rows.append(
            [
                "deep decoder d=4",
                size * size,
                8 * 8,
                k,
                net.n_parameters(),
                frac,
                float("nan"),
                net.n_parameters() / (size * size),
            ]
        )
    write_csv(
        out / "dd-noise-bound.csv",
        ["model", "n", "n0", "k", "parameters", "fraction_removed", "bound", "k2_log_n0_over_n_or_params_over_n"],
        rows,
    )
    fig, axes = figure(2)
    ax = axes[0, 0]
    for n in ns:
        sel = [r for r in rows if r[0] == "one-layer" and r[1] == n]
        ax.plot([r[3] for r in sel], [r[5] for r in sel], "o-", label=f"measured, n={n}")
        ax.plot([r[3] for r in sel], [r[6] for r in sel], "k--", alpha=0.4)
    ax.plot([], [], "k--", alpha=0.4, label="bound 20 k² log(n₀)/n (where valid)")
    ax.set_xlabel("channels k")
    ax.set_ylabel("fraction of noise energy removed")
    ax.set_title("one-layer decoder fit to Gaussian noise")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    sel = [r for r in rows if r[0] != "one-layer"]
    ax.plot([r[7] for r in sel], [r[5] for r in sel], "o-")
    for r in sel:
        ax.annotate(f"k={r[3]}", (r[7], r[5]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("parameters / n")
    ax.set_ylabel("fraction of noise energy removed")
    ax.set_title(f"Deep Decoder (d=4) fit to {size}×{size} noise")
    fig.tight_layout()
    save_png(out / "dd-noise-bound.png", fig)
    return {
        "one_layer": [(r[1], r[3], r[5], r[6]) for r in rows if r[0] == "one-layer"],
        "deep_decoder": [(r[3], r[4], r[5]) for r in sel],
    }
