"""The ``image-priors`` sub-commands: denoise, inpaint, sr, cs, fit, degrade."""

from __future__ import annotations

import json

import numpy as np

from dgp.errors import InputError

# Defaults per task, chosen by benchmarks/images.py (results in benchmarks/results/images_cpu_128.md
# and images_cuda_256.md): the prior with the best PSNR on the task at both sizes where they agree,
# and a stopping rule that needs no ground truth. Denoising: DIP with the windowed-variance rule
# beat the Deep Decoder, TV and wavelets on both test images at 128² and 256² and landed within
# 0.04 dB of its best iterate. Inpainting: the Fourier-feature coordinate MLP led at 128² (28.3 dB
# against DIP's 27.1). Super-resolution and compressed sensing: DIP. The coordinate MLP led x4 SR
# at 256² and collapsed at 128² (input 32²) with the fixed Fourier scale 10; with the scale
# following the measurements (`fourier_scale_for`) it leads x4 SR at 128² too (22.75 dB against
# DIP's 22.12, benchmarks/results/fourier_scale.md), but that rule is not measured at 256² yet.
TASK_DEFAULTS = {
    "denoise": dict(prior="dip", steps=2000, stop="variance", ema=0.99),
    "inpaint": dict(prior="mlp", steps=1500, stop="fixed", ema=0.0),
    "sr": dict(prior="dip", steps=1500, stop="fixed", ema=0.0),
    "cs": dict(prior="dip", steps=1500, stop="fixed", ema=0.0),
    "fit": dict(prior="mlp", steps=1000, stop="fixed", ema=0.0),
}


def _multiple(n: int, m: int) -> int:
    return -(-n // m) * m


def _prior_for(name: str, h: int, w: int, channels: int, seed: int, task: str, args, op):
    """Build the prior at a size its architecture accepts (a multiple of 32), with a crop back to (h, w).

    The coordinate MLP's Fourier scale is ``--fourier-scale``, or else follows how many values
    per channel ``op`` measures of an (h, w) image (`fourier_scale_for`)."""
    from image_priors.operators import Crop, measurements_per_channel
    from image_priors.priors import fourier_scale_for, make_prior

    kw = {}
    if name == "dip":
        kw["preset"] = {"denoise": "denoise", "inpaint": "inpaint", "sr": "sr"}.get(task, "denoise")
        if getattr(args, "small", False):
            kw["preset"] = "small"
    elif name == "dd":
        kw.update(k=args.k, d=args.d)
    elif name == "mlp":
        scale = args.fourier_scale
        if scale is None:
            scale = fourier_scale_for(measurements_per_channel(op, (channels, h, w)))
        elif scale <= 0:
            raise InputError(f"--fourier-scale must be positive, got {scale}")
        kw.update(fourier=args.fourier, fourier_scale=scale, tiles=(args.tiles, args.tiles))
    m = 32 if name in ("dip", "dd") else args.tiles
    H, W = _multiple(h, m), _multiple(w, m)
    prior = make_prior(name, (H, W), channels=channels, seed=seed, **kw)
    crop = None if (H, W) == (h, w) else Crop(h, w, H, W)
    return prior, crop


def _run(args, task: str, op, y, shape, truth=None, sigma01=None):
    """Fit, write the output and optional plot, print a report; return the FitResult."""
    import torch

    from image_priors.fit import FitConfig, fit
    from image_priors.metrics import psnr, ssim
    from image_priors.operators import Compose

    c, h, w = shape
    prior, crop = _prior_for(args.prior, h, w, c, args.seed, task, args, op)
    full_op = op if crop is None else Compose(op, crop)
    if args.stop == "discrepancy" and sigma01 is None:
        raise InputError("--stop discrepancy needs the noise level: give --sigma")
    cfg = FitConfig(
        steps=args.steps,
        lr=args.lr,
        stop=args.stop,
        sigma=sigma01,
        device=_device(args.device),
        seed=args.seed,
        progress=not args.quiet,
        ema=args.ema,
    )
    n_params = sum(p.numel() for p in prior.parameters())
    scale = getattr(prior, "fourier_scale", None)
    print(
        f"seed {args.seed}; prior {args.prior} ({n_params} parameters"
        + (f", Fourier scale {scale:.3g}" if scale else "")
        + f"); {args.steps} steps; stop {args.stop}"
    )
    res = fit(prior, full_op, torch.as_tensor(y, dtype=torch.float32), cfg, truth=truth)
    image = res.image[:, :h, :w]
    from image_priors.imageio import write_image

    write_image(args.output, image)
    report = {
        "output": str(args.output),
        "prior": args.prior,
        "parameters": n_params,
        "steps_run": res.stopped_at + 1,
        "chosen_step": res.chosen_step,
        "seed": args.seed,
    }
    if truth is not None:
        report.update(psnr=psnr(truth, image), ssim=ssim(truth, image))
    print(
        json.dumps(report)
        if args.json
        else " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in report.items())
    )
    if args.plot:
        _plot(args.plot, res)
    return res


def _plot(path, res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from viewer.rendering import save_png

    fig, ax = plt.subplots(
        1, 2 if res.history["psnr"] else 1, figsize=(10 if res.history["psnr"] else 5, 3.5), squeeze=False
    )
    ax[0, 0].semilogy(res.history["loss"])
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("loss ‖F(x) − y‖² / m")
    ax[0, 0].axvline(res.chosen_step, color="k", ls="--", lw=1, label=f"chosen step {res.chosen_step}")
    ax[0, 0].legend()
    if res.history["psnr"]:
        ax[0, 1].plot(res.history["psnr"], label="output")
        ax[0, 1].plot(res.history["psnr_avg"], label="averaged output")
        ax[0, 1].axvline(res.chosen_step, color="k", ls="--", lw=1)
        ax[0, 1].set_xlabel("step")
        ax[0, 1].set_ylabel("PSNR (dB)")
        ax[0, 1].legend()
    fig.tight_layout()
    save_png(path, fig)


def _device(name):
    from dgp.fit import resolve_device

    try:
        return str(resolve_device(name))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _truth(args, shape):
    if not args.truth:
        return None
    from image_priors.imageio import read_image

    t = read_image(args.truth, gray=shape[0] == 1)
    if t.shape != tuple(shape):
        raise InputError(
            f"the ground truth is {t.shape[2]}x{t.shape[1]}, the result will be {shape[2]}x{shape[1]}", args.truth
        )
    return t


def cmd_denoise(args):
    from image_priors.imageio import read_image
    from image_priors.operators import Identity

    y = read_image(args.image)
    _run(
        args,
        "denoise",
        Identity(),
        y[None],
        y.shape,
        _truth(args, y.shape),
        None if args.sigma is None else args.sigma / 255.0,
    )
    return 0


def cmd_inpaint(args):
    import torch

    from image_priors.imageio import read_image
    from image_priors.operators import Mask

    img = read_image(args.image)
    if args.mask:
        m = read_image(args.mask, gray=True)
        if m.shape[1:] != img.shape[1:]:
            raise InputError(
                f"the mask is {m.shape[2]}x{m.shape[1]} but the image is {img.shape[2]}x{img.shape[1]}", args.mask
            )
        op = Mask(torch.as_tensor(m > 0.5)[None])
    elif args.drop is not None:
        op = Mask.random(img.shape[1:], args.drop, seed=args.seed)
    else:
        raise InputError("inpaint needs --mask MASK.png or --drop FRACTION")
    y = op(torch.as_tensor(img)[None]).numpy()
    _run(args, "inpaint", op, y, img.shape, _truth(args, img.shape))
    return 0


def cmd_sr(args):
    from image_priors.imageio import read_image
    from image_priors.operators import Downsample

    lo = read_image(args.image)
    op = Downsample(args.factor, args.kernel)
    shape = (lo.shape[0], lo.shape[1] * args.factor, lo.shape[2] * args.factor)
    _run(args, "sr", op, lo[None], shape, _truth(args, shape))
    return 0


def cmd_cs(args):
    import torch

    from image_priors.imageio import read_image
    from image_priors.operators import GaussianSensing, StructuredSensing, add_noise

    clean = read_image(args.image, gray=args.gray)
    shape = clean.shape
    n = int(np.prod(shape))
    dense = args.operator == "dense" or (args.operator == "auto" and n <= 64 * 64)
    op = (GaussianSensing if dense else StructuredSensing)(shape, args.ratio, seed=args.seed)
    y = op(torch.as_tensor(clean)[None])
    if args.noise:
        y = add_noise(y, args.noise, seed=args.seed + 1)
    print(f"{'dense Gaussian' if dense else 'structured (signs + DCT)'} sensing: m = {op.m} of n = {n}")
    _run(args, "cs", op, y.numpy(), shape, clean)
    return 0


def cmd_fit(args):
    from image_priors.imageio import read_image
    from image_priors.operators import Identity

    img = read_image(args.image)
    _run(args, "fit", Identity(), img[None], img.shape, img)
    return 0


def cmd_degrade(args):
    import torch

    from image_priors.imageio import read_image, write_image
    from image_priors.operators import Downsample, Mask, add_noise

    chosen = [a is not None for a in (args.noise, args.drop, args.factor)]
    if sum(chosen) != 1:
        raise InputError("degrade needs exactly one of --noise SIGMA, --drop FRACTION, --factor N")
    x = torch.as_tensor(read_image(args.image))[None]
    print(f"seed {args.seed}")
    if args.noise is not None:
        y = add_noise(x, args.noise, seed=args.seed).clamp(0, 1)
    elif args.drop is not None:
        op = Mask.random(x.shape[-2:], args.drop, seed=args.seed)
        y = op(x)
        if args.mask_out:
            write_image(args.mask_out, op.mask[0, 0].numpy())
    else:
        y = Downsample(args.factor, args.kernel)(x).clamp(0, 1)
    write_image(args.output, y[0].numpy())
    print(f"wrote {args.output}")
    return 0


def cmd_experiment(args):
    import json as _json

    from image_priors.experiments import EXPERIMENTS, run

    torch_threads(args)
    print(f"seed {args.seed}")
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        summary = run(name, args.output, seed=args.seed, quick=args.quick)
        print(f"{name}: wrote {args.output}/{name}.png and {name}.csv")
        print(_json.dumps(summary, default=float))
    return 0


def torch_threads(args):
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def _common(p, task):
    d = TASK_DEFAULTS[task]
    p.add_argument("-o", "--output", required=True, help="output image (.png)")
    p.add_argument(
        "--prior", choices=["dip", "dd", "mlp"], default=d["prior"], help="the untrained network (%(default)s)"
    )
    p.add_argument("--steps", type=int, default=d["steps"], help="Adam steps (%(default)s)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (%(default)s)")
    p.add_argument(
        "--ema", type=float, default=d["ema"], help="exponential averaging of outputs, 0 = off (%(default)s)"
    )
    p.add_argument(
        "--stop",
        choices=["fixed", "variance", "holdout", "discrepancy"],
        default=d["stop"],
        help="stopping rule (%(default)s)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    p.add_argument("--truth", help="ground-truth image: report PSNR and SSIM")
    p.add_argument("--plot", metavar="curves.png", help="plot loss (and PSNR) against steps")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("prior settings")
    g.add_argument("--small", action="store_true", help="DIP: a 4-scale, 32-channel net (fast on a CPU)")
    g.add_argument("--k", type=int, default=128, help="Deep Decoder channels (%(default)s)")
    g.add_argument("--d", type=int, default=6, help="Deep Decoder layers (%(default)s)")
    g.add_argument(
        "--fourier",
        type=int,
        default=128,
        help="coordinate MLP: Fourier features, 0 = plain coordinates, the DGP net (%(default)s)",
    )
    g.add_argument(
        "--fourier-scale",
        type=float,
        default=None,
        help="coordinate MLP: scale of the Fourier frequencies (default: 10 when the data measure "
        "128x128 values per channel or more, proportionally less for fewer: 2.5 for x4 SR of 32x32)",
    )
    g.add_argument("--tiles", type=int, default=1, help="coordinate MLP: tiles per side, one MLP each (%(default)s)")


def register(sub):
    p = sub.add_parser("denoise", help="denoise an image (F = I)")
    p.add_argument("image", help="the noisy image")
    p.add_argument(
        "--sigma", type=float, default=None, help="noise level on the 0-255 scale, if known (feeds --stop discrepancy)"
    )
    _common(p, "denoise")
    p.set_defaults(func=cmd_denoise)

    p = sub.add_parser("inpaint", help="fill in missing pixels (F = mask)")
    p.add_argument("image")
    p.add_argument("--mask", help="mask image: non-zero = known pixel")
    p.add_argument("--drop", type=float, default=None, help="instead of --mask: drop this fraction of pixels at random")
    _common(p, "inpaint")
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("sr", help="super-resolve a low-resolution image (F = downsampling)")
    p.add_argument("image", help="the low-resolution image")
    p.add_argument("--factor", type=int, default=4, choices=[2, 4, 8])
    p.add_argument("--kernel", choices=["lanczos", "bicubic"], default="lanczos")
    _common(p, "sr")
    p.set_defaults(func=cmd_sr)

    p = sub.add_parser("cs", help="compressed sensing: simulate y = A x from a clean image, reconstruct, report")
    p.add_argument("image", help="the clean image")
    p.add_argument("--ratio", type=float, default=0.25, help="m / n (%(default)s)")
    p.add_argument(
        "--operator",
        choices=["auto", "dense", "structured"],
        default="auto",
        help="dense Gaussian (small images) or signs + subsampled DCT (auto: dense up to 64x64)",
    )
    p.add_argument("--gray", action="store_true", help="work on the grayscale image")
    p.add_argument("--noise", type=float, default=0.0, help="measurement noise sigma, 0-255 scale")
    _common(p, "cs")
    p.set_defaults(func=cmd_cs)

    p = sub.add_parser("fit", help="represent an image by a network and report PSNR and parameters")
    p.add_argument("image")
    _common(p, "fit")
    p.set_defaults(func=cmd_fit)

    from image_priors.experiments import EXPERIMENTS

    p = sub.add_parser("experiment", help="reproduce a prior-behaviour experiment: figure (PNG) and numbers (CSV)")
    p.add_argument("name", choices=list(EXPERIMENTS) + ["all"])
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="small sizes: under a minute each on a CPU")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_experiment)

    p = sub.add_parser("degrade", help="make an observation from a clean image: noise, dropped pixels or downsampling")
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--noise", type=float, default=None, help="Gaussian noise sigma on the 0-255 scale")
    p.add_argument("--drop", type=float, default=None, help="fraction of pixels to drop (set to 0)")
    p.add_argument("--mask-out", help="with --drop: also write the mask (white = known)")
    p.add_argument("--factor", type=int, default=None, choices=[2, 4, 8], help="downsampling factor")
    p.add_argument("--kernel", choices=["lanczos", "bicubic"], default="lanczos")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_degrade)
