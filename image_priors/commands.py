"""The work of the ``image-priors`` sub-commands (their flags are in `image_priors.cli`)."""

from __future__ import annotations

import json

import numpy as np

from dgp.errors import InputError
from dgp.settings import SettingError

# Defaults per task (prior, budget, stopping rule, output averaging), chosen by the image benchmarks
# (benchmarks/images.py, benchmarks/fourier_scale.py; their tables are in docs/results.md): per task,
# the prior with the best PSNR at both measured sizes where they agree, and a stopping rule that
# needs no ground truth. They override the `ImageFitConfig` defaults on the command line.
TASK_DEFAULTS = {
    "denoise": dict(prior="dip", steps=2000, stop="variance", ema=0.99),
    "inpaint": dict(prior="mlp", steps=1500, stop="fixed", ema=0.0),
    "sr": dict(prior="dip", steps=1500, stop="fixed", ema=0.0),
    "cs": dict(prior="dip", steps=1500, stop="fixed", ema=0.0),
    "fit": dict(prior="mlp", steps=1000, stop="fixed", ema=0.0),
}


def _run(args, task: str, op, y, shape, truth=None, sigma01=None):
    """Fit, write the output and optional plot, print a report; return the FitResult."""
    import torch

    from dgp.fit import resolve_device
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr, ssim
    from image_priors.operators import Compose
    from image_priors.priors import prior_for_image

    c, h, w = shape
    prior, crop = prior_for_image(
        args.prior,
        shape,
        op,
        task,
        args.seed,
        small=args.small,
        k=args.k,
        d=args.d,
        fourier=args.fourier,
        fourier_scale=args.fourier_scale,
        tiles=args.tiles,
    )
    full_op = op if crop is None else Compose(op, crop)
    if args.stop == "discrepancy" and sigma01 is None:
        raise SettingError("sigma", "(the noise level) is needed by the discrepancy stopping rule")
    cfg = ImageFitConfig(
        steps=args.steps,
        lr=args.lr,
        stop=args.stop,
        sigma=sigma01,
        device=str(resolve_device(args.device)),
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

    from dgp.util import save_png

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
