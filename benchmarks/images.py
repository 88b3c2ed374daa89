"""Image priors on denoising, inpainting, super-resolution and compressed sensing, with baselines.

    .venv/bin/python benchmarks/images.py [--size 128] [--device cpu] [--threads 2] [--quick]
    python benchmarks/images.py --size 256 --device cuda        # the paper-size run, on a GPU

Denoising (sigma = 25) on centre crops of scikit-image's astronaut and coffee: DIP with the
windowed-variance stopping rule (and the best PSNR along its run, which needs the truth and
is reported only to judge the rule), the Deep Decoder (k = 128, no early stopping),
TV (Chambolle) and wavelet denoising with weights tuned once on `camera` then fixed.
Inpainting (50% dropped), x4 super-resolution (against bicubic) and compressed sensing at
m/n = 0.25 (dense Gaussian on 64x64 grayscale, structured at the benchmark size) for DIP,
the Deep Decoder and the coordinate MLP. Seconds per step of each prior. Writes a markdown
table to benchmarks/results/ (``images_<device>_<size>.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import add_image_run_arguments  # noqa: E402


def crop(img: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop resized to ``size``; returns (C, H, W) float32 in [0, 1]."""
    from skimage.transform import resize

    h, w = img.shape[:2]
    s = min(h, w)
    sq = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    out = resize(sq, (size, size), anti_aliasing=True)
    if out.ndim == 2:
        out = out[..., None]
    return np.moveaxis(out, -1, 0).astype(np.float32)


def measurement_tasks(size: int, seed: int):
    """``(task, label, truth (C, H, W), operator)`` of the tasks with an operator, on the astronaut:
    inpainting (50% of the pixels dropped), x4 super-resolution (Lanczos), compressed sensing at
    m/n = 0.25 (dense Gaussian on 64x64 grayscale, structured at ``size``). ``task`` is the
    ``--tasks`` name."""
    from skimage import data

    from image_priors.operators import Downsample, GaussianSensing, Mask, StructuredSensing

    rgb = crop(data.astronaut() / 255.0, size)
    out = [
        ("inpaint", "inpaint 50%", rgb, Mask.random((size, size), 0.5, seed=seed)),
        ("sr", "SR x4", rgb, Downsample(4, "lanczos")),
    ]
    for label, side, cls in (
        ("CS m/n=0.25, dense, 64² gray", 64, GaussianSensing),
        (f"CS m/n=0.25, structured, {size}² gray", size, StructuredSensing),
    ):
        gray = crop(data.astronaut().mean(-1) / 255.0, side)
        out.append(("cs", label, gray, cls(gray.shape, 0.25, seed=seed)))
    return out


class _HeldInput:
    """``net`` called without input, on a fixed ``z`` (as our priors are), for `per_step`."""

    def __init__(self, net, z):
        self.net, self.z = net, z

    def __call__(self):
        return self.net(self.z)

    def parameters(self):
        return self.net.parameters()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_run_arguments(ap)
    ap.add_argument("--steps-dip", type=int, default=1500)
    ap.add_argument("--steps-dd", type=int, default=1500)
    ap.add_argument("--steps-mlp", type=int, default=1500)
    ap.add_argument("--quick", action="store_true", help="64x64 and 150 steps: a smoke run")
    ap.add_argument("--tasks", default="denoise,inpaint,sr,cs,speed", help="comma-separated subset to run")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.size, args.steps_dip, args.steps_dd, args.steps_mlp = 64, 150, 150, 150

    import torch
    from skimage import data
    from skimage.restoration import denoise_tv_chambolle, denoise_wavelet
    from skimage.transform import resize

    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr, ssim
    from image_priors.operators import Identity, add_noise
    from image_priors.priors import prior_for_image

    torch.set_num_threads(args.threads)
    dev = args.device
    S = args.size
    print(f"seed {args.seed}, size {S}, device {dev}, {args.threads} threads")
    rows, speed = [], []

    def prior(name, shape, channels=3, task="denoise"):
        # the CLI's priors (prior_for_image), with two choices of this benchmark: a 4-layer Deep
        # Decoder below 64², and the coordinate MLP at the fixed Fourier scale 10 (the rule that
        # picks the scale from the measurements is compared in fourier_scale.py)
        net, crop = prior_for_image(
            name.lower(),
            (channels, *shape),
            task=task,
            seed=args.seed,
            k=128,
            d=6 if min(shape) >= 64 else 4,
            fourier=128,
            fourier_scale=10.0,
        )
        assert crop is None, "benchmark sizes are multiples of 32"
        return net

    steps = {"DIP": args.steps_dip, "DD": args.steps_dd, "MLP": args.steps_mlp}

    def run(task, image, method, op, y, truth, stop="fixed", ema=0.99):
        shape = truth.shape[1:]
        net = prior(method, shape, truth.shape[0], task)
        t = time.time()
        res = fit(
            net,
            op,
            torch.as_tensor(y),
            ImageFitConfig(steps=steps[method], stop=stop, ema=ema, device=dev, seed=args.seed, progress=False),
            truth=truth,
        )
        best = max(res.history["psnr_avg"] if ema > 0 else res.history["psnr"])
        rows.append(
            (
                task,
                image,
                method + (f" ({stop} stop)" if stop != "fixed" else ""),
                psnr(truth, res.image),
                best,
                ssim(truth, res.image),
                res.chosen_step,
                time.time() - t,
            )
        )
        print(rows[-1], flush=True)

    def baseline(task, image, name, est, truth):
        rows.append((task, image, name, psnr(truth, est), None, ssim(truth, est), None, None))
        print(rows[-1], flush=True)

    tasks = set(args.tasks.split(","))
    # ---------------------------------------------------------------- denoising
    cam = crop(np.stack([data.camera()] * 3, -1) / 255.0, S)
    cam_noisy = add_noise(torch.as_tensor(cam)[None], 25, seed=args.seed + 7)[0].numpy()
    hwc = lambda a: np.moveaxis(a, 0, -1)  # noqa: E731
    chw = lambda a: np.moveaxis(a, -1, 0)  # noqa: E731
    tv_w = max(
        (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2),
        key=lambda w: psnr(cam, chw(denoise_tv_chambolle(hwc(cam_noisy), weight=w, channel_axis=-1))),
    )
    wv_s = max(
        (0.06, 0.08, 0.1, 0.12, 0.15),
        key=lambda s: psnr(cam, chw(denoise_wavelet(hwc(cam_noisy), sigma=s, channel_axis=-1, rescale_sigma=True))),
    )
    print(f"tuned on camera: TV weight {tv_w}, wavelet sigma {wv_s}")
    for name, img in (("astronaut", data.astronaut()), ("coffee", data.coffee())) if "denoise" in tasks else ():
        truth = crop(img / 255.0, S)
        y = add_noise(torch.as_tensor(truth)[None], 25, seed=args.seed)
        yn = np.clip(y[0].numpy(), 0, 1)
        baseline("denoise σ=25", name, "noisy input", yn, truth)
        baseline(
            "denoise σ=25",
            name,
            f"TV Chambolle (w={tv_w})",
            chw(denoise_tv_chambolle(hwc(yn), weight=tv_w, channel_axis=-1)),
            truth,
        )
        baseline(
            "denoise σ=25",
            name,
            f"wavelet (σ={wv_s})",
            chw(denoise_wavelet(hwc(yn), sigma=wv_s, channel_axis=-1, rescale_sigma=True)),
            truth,
        )
        run("denoise σ=25", name, "DIP", Identity(), y, truth, stop="variance")
        run("denoise σ=25", name, "DD", Identity(), y, truth)

    # ---------------------------------------------------------------- inpainting, SR, CS on astronaut
    for task, label, truth, op in measurement_tasks(S, args.seed):
        if task not in tasks:
            continue
        y = op(torch.as_tensor(truth)[None])
        if task == "sr":
            bic = chw(resize(hwc(y[0].numpy()), (S, S), order=3))
            baseline(label, "astronaut", "bicubic", np.clip(bic, 0, 1), truth)
        for m in ("DIP", "DD", "MLP"):
            run(label, "astronaut", m, op, y, truth, ema=0.0)

    # ---------------------------------------------------------------- speed
    def per_step(net, s, n=5):
        """Seconds per Adam step of ``net`` (called without input) fitting a random (1, 3, s, s) target."""
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        target = torch.rand(1, 3, s, s, device=dev)

        def step():
            loss = ((net() - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

        step()
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(n):
            step()
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - t) / n

    seq_rows = []
    for s in (128, 256) if "speed" in tasks else ():
        for name in ("DIP", "DD", "MLP"):
            net = prior(name, (s, s)).to(dev)
            speed.append((name, s, per_step(net, s), sum(p.numel() for p in net.parameters())))
            print(speed[-1], flush=True)
        # our SkipNet against the same layers built as nested nn.Sequential (the reference's way),
        # same weights, measured alternately so that machine load hits both alike
        from image_priors.priors.skip_reference import load_same_weights, sequential_skip

        ours = prior("DIP", (s, s)).to(dev)
        plain = sequential_skip(3, "denoise").to(dev)
        load_same_weights(plain, ours)
        held = _HeldInput(plain, ours.z)
        t_ours, t_plain = [], []
        for _ in range(3):
            t_ours.append(per_step(ours, s, 3))
            t_plain.append(per_step(held, s, 3))
        seq_rows.append((s, float(np.median(t_ours)), float(np.median(t_plain))))
        print(("SkipNet vs nn.Sequential", *seq_rows[-1]), flush=True)

    out = Path(args.out or ROOT / "benchmarks" / "results" / f"images_{dev.split(':')[0]}_{S}.md")
    cmd = " ".join(
        ["python benchmarks/images.py"]
        + (
            ["--quick"]
            if args.quick
            else [
                f"--size {S}",
                f"--steps-dip {args.steps_dip}",
                f"--steps-dd {args.steps_dd}",
                f"--steps-mlp {args.steps_mlp}",
            ]
        )
        + [f"--device {dev}", f"--threads {args.threads}", f"--seed {args.seed}", f"--tasks {args.tasks}"]
    )
    lines = [
        f"# Image priors, {S}x{S}, {dev}",
        "",
        f"Made by `{cmd}`. PSNR in dB of the returned image; "
        "'best along run' is the highest PSNR of any iterate (needs the truth; shown to judge the stopping rule). "
        "MLP: the coordinate MLP at the fixed Fourier scale 10 (the CLI picks the scale from the measurements: "
        "`benchmarks/fourier_scale.py`).",
        "",
        "| task | image | method | PSNR | best along run | SSIM | chosen step | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t, im, m, p, b, s_, st, sec in rows:
        lines.append(
            f"| {t} | {im} | {m} | {p:.2f} | {'' if b is None else f'{b:.2f}'} | {s_:.3f} | "
            f"{'' if st is None else st} | {'' if sec is None else f'{sec:.0f}'} |"
        )
    lines += ["", "| prior | size | seconds per step | parameters |", "| --- | --- | --- | --- |"]
    for name, s, sec, n in speed:
        lines.append(f"| {name} | {s}² | {sec:.3f} | {n} |")
    if seq_rows:
        lines += [
            "",
            "DIP's skip network (denoising preset, same weights) as our `SkipNet` and as the same layers "
            "in nested `nn.Sequential` (median of 3 alternating rounds of 3 steps):",
            "",
            "| size | SkipNet s/step | nn.Sequential s/step | ratio (ours / plain) |",
            "| --- | --- | --- | --- |",
        ]
        for s, a, b in seq_rows:
            lines.append(f"| {s}² | {a:.3f} | {b:.3f} | {a / b:.2f} |")
    from dgp.util import write_text

    write_text(out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
