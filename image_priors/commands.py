"""The work of the ``image-priors`` sub-commands (their flags are in `image_priors.cli`)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np

from dgp.errors import InputError
from dgp.settings import SettingError
from image_priors.stopping import SIGMA_RULES

# Defaults per task (prior, budget, stopping rule, output averaging). Denoising, inpainting, SR and CS:
# the pick of the rule written in benchmarks/imageset.py over eight images of different character
# (benchmarks/results/imageset_cpu_128.md, where its figures are; a test ties these to that record).
# Denoising's stopping rule and its tau: the same rule over the stopping rules that watch the same fits
# (benchmarks/denoise_stop.py, results/denoise_stop_cpu_128.md): the windowed-variance rule or the
# discrepancy principle on the noise level estimated from the image (`cmd_denoise`), whichever stops
# first. `fit`: benchmarks/images.py and fourier_scale.py.
# They override the `ImageFitConfig` defaults on the command line.
TASK_DEFAULTS = {
    "denoise": dict(prior="dip", steps=2000, stop="variance-or-discrepancy", tau=0.8, ema=0.99),
    "inpaint": dict(prior="mlp", steps=1500, stop="fixed", ema=0.0, back_project=True, blend="auto"),
    "sr": dict(prior="dd", steps=1500, stop="fixed", ema=0.0, back_project=True),
    "cs": dict(prior="dip", steps=1500, stop="fixed", ema=0.0, back_project=True),
    "fit": dict(prior="mlp", steps=1000, stop="fixed", ema=0.0),
}


def _tile_side(args, op, shape, need_mb: float, avail_mb: float) -> int:
    """The tile side the fit uses, 0 for the whole image: ``--tile`` N, or with ``--tile auto`` the
    default tile when the whole image needs more than 70% of the available memory."""
    from image_priors.tiles import DEFAULT_TILE

    text = str(args.tile).strip().lower()
    if text == "auto":
        side = DEFAULT_TILE if need_mb > 0.7 * avail_mb else 0
    else:
        try:
            side = int(text)
        except ValueError:
            raise SettingError("tile", f"must be auto or a number of pixels, got {args.tile!r}") from None
        if side < 0 or 0 < side < 64:
            # DIP halves a tile five times, and its batch norm needs more than one value per channel
            raise SettingError("tile", f"must be 0 (never) or at least 64 pixels, got {side}")
    if side and max(shape[1:]) <= side:
        return 0
    step = op.tile_step
    return side - side % step if side else 0


def _run(args, task: str, op, y, shape, truth=None, sigma01=None, finish=None):
    """Fit (whole, or in tiles), pass the output through ``finish`` when given, write it and the optional
    plot, print a report; return the output (C, H, W)."""
    import time

    import torch

    from dgp.fit import resolve_device
    from dgp.util import available_memory_mb
    from image_priors.fit import ImageFitConfig, fit, step_memory
    from image_priors.operators import Compose
    from image_priors.priors import prior_for_image

    c, h, w = shape
    if args.stop in SIGMA_RULES and sigma01 is None:
        raise SettingError("sigma", f"(the noise level) is needed by the {args.stop} stopping rule")
    device = str(resolve_device(args.device))
    if args.prior in LEARNED:
        image, res, report = _fit_learned(args, op, y, shape, truth, sigma01, device)
        return _write_report(args, image, None, res, report, truth, finish)
    cfg = ImageFitConfig(
        steps=args.steps,
        lr=args.lr,
        stop=args.stop,
        sigma=sigma01,
        tau=args.tau,
        rollback=args.rollback,
        device=device,
        seed=args.seed,
        progress=not args.quiet,
        ema=args.ema,
        back_project=getattr(args, "back_project", "off") == "on",
    )

    def build(region_shape, region_op):
        return prior_for_image(
            args.prior,
            region_shape,
            region_op,
            task,
            args.seed,
            small=args.small,
            k=args.k,
            d=args.d,
            fourier=args.fourier,
            fourier_scale=args.fourier_scale,
            tiles=args.tiles,
        )

    # memory of one step, measured on a 64x64 copy of the prior and scaled to the image
    need_mb = step_memory(build((c, 64, 64), None)[0], h * w) / 2**20
    if device.startswith("cuda"):
        avail_mb = torch.cuda.mem_get_info(torch.device(device))[0] / 2**20
    else:
        avail_mb = available_memory_mb()
    side = _tile_side(args, op, shape, need_mb, avail_mb)
    whole = None if side else build(shape, op)  # (prior, crop) of the whole image
    about = ""
    if whole is not None:
        scale = getattr(whole[0], "fourier_scale", None)
        about = f" ({sum(p.numel() for p in whole[0].parameters())} parameters" + (
            f", Fourier scale {scale:.3g})" if scale else ")"
        )
    print(
        f"seed {args.seed}; prior {args.prior}{about}; {args.steps} steps; stop {args.stop}; the whole {w}x{h} "
        f"image needs about {need_mb / 1024:.2f} GB ({avail_mb / 1024:.1f} GB available)"
        + (f": fitting {side}x{side} tiles" if side else "")
    )
    y_t = torch.as_tensor(y, dtype=torch.float32)
    t0 = {}

    def announce(step, img, loss):
        # the time per step, once the first steps have warmed up
        if step == 1:
            t0["start"] = time.perf_counter()
        elif step == 3:
            per = (time.perf_counter() - t0["start"]) / 2
            left = per * max(args.steps - 4, 0) * t0.get("tiles", 1)
            print(f"about {per:.3g} s a step: {args.steps} steps take up to {_duration(left)} more", flush=True)

    def fit_one(region_shape, region_op, region_y, cb=None, built=None):
        prior, crop = built or build(region_shape, region_op)
        full_op = region_op if crop is None else Compose(region_op, crop)
        res = fit(prior, full_op, region_y, cfg, truth=None if side else truth, callback=cb)
        return prior, res

    if side:
        from image_priors.tiles import DEFAULT_OVERLAP, fit_tiles, tiles

        t0["tiles"] = len(tiles(shape, side, DEFAULT_OVERLAP, op.tile_step))
        steps_run = []

        def fit_region(y0, y1, x0, x1):
            region_op, region_y = op.tile(y_t, y0, y1, x0, x1)
            _, res = fit_one((c, y1 - y0, x1 - x0), region_op, region_y, announce if not steps_run else None)
            steps_run.append(res.stopped_at + 1)
            return res.image[:, : y1 - y0, : x1 - x0]

        image = fit_tiles(fit_region, shape, side, DEFAULT_OVERLAP, op.tile_step)
        prior, res = None, None
        report = {"tiles": len(steps_run), "steps_run": sum(steps_run)}
    else:
        prior, res = fit_one(shape, op, y_t, announce, whole)
        image = res.image[:, :h, :w]
        report = {"steps_run": res.stopped_at + 1, "chosen_step": res.chosen_step}
        if res.history.get("rollbacks"):
            report["rollbacks"] = len(res.history["rollbacks"])
    return _write_report(args, image, prior, res, report, truth, finish)


def _write_report(args, image, prior, res, report: dict, truth, finish):
    """Pass ``image (C, H, W)`` through ``finish``, write it, print the report (and the plot); return it."""
    from image_priors.imageio import write_image
    from image_priors.metrics import psnr, ssim

    if finish is not None:
        image = finish(image)
    write_image(args.output, image)
    n_params = sum(p.numel() for p in prior.parameters()) if prior is not None else None
    report = {"output": str(args.output), "prior": args.prior, "parameters": n_params, **report, "seed": args.seed}
    scale = getattr(prior, "fourier_scale", None)
    if scale:
        report["fourier_scale"] = float(scale)
    if report["parameters"] is None:
        del report["parameters"]
    if truth is not None:
        report.update(psnr=psnr(truth, image), ssim=ssim(truth, image))
    print(
        json.dumps(report)
        if args.json
        else " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in report.items())
    )
    if args.plot:
        if res is None:
            print("--plot: a tiled fit has no single curve to plot", file=sys.stderr)
        else:
            _plot(args.plot, res)
    return image


#: the learned priors (`image_priors.learned`): a trained generator, ``--generator FILE``
LEARNED = ("csgm", "iagan", "lcm")


def _generator(args):
    """``(generator, GeneratorInfo)`` of ``--generator``, loaded (and checked) once per command."""
    if "_loaded_generator" not in vars(args):
        from image_priors.learned import load_generator

        args._loaded_generator = load_generator(
            args.generator, arch=args.arch, latent=args.latent, value_range=args.range
        )
    return args._loaded_generator


def _gray(args) -> bool:
    """Read the input grey: with ``--gray``, or for a learned prior whose generator makes grey images."""
    if getattr(args, "gray", False):
        return True
    if getattr(args, "prior", None) in LEARNED and args.generator:
        return _generator(args)[1].shape[0] == 1
    return False


def _fit_learned(args, op, y, shape, truth, sigma01, device):
    """CSGM, IAGAN or LCM with the model of ``--generator``; returns ``(image, FitResult, report)``."""
    import time

    import torch

    from image_priors.fit import ImageFitConfig
    from image_priors.learned import CSGM_LR, IAGAN_LR, IAGAN_STEPS, LCM_LR, csgm, iagan, lcm

    if not args.generator:
        raise SettingError("generator", "is needed by --prior csgm|iagan|lcm (make one: image-priors train-generator)")
    gen, info = _generator(args)
    if (args.prior == "lcm") != (info.arch == "lcm32"):
        raise InputError(
            "not a latent convolutional model, which --prior lcm needs (image-priors train-generator --model lcm)"
            if args.prior == "lcm"
            else "a latent convolutional model: use it with --prior lcm",
            args.generator,
        )
    if tuple(shape) != tuple(info.shape):
        raise InputError(
            f"the generator makes {info.shape[0]}-channel {info.shape[2]}x{info.shape[1]} images; this image is "
            f"{shape[0]}-channel {shape[2]}x{shape[1]}",
            args.generator,
        )
    gen = gen.to(device)
    common = dict(
        stop=args.stop, sigma=sigma01, tau=args.tau, device=device, progress=not args.quiet, rollback=args.rollback
    )
    lr = LCM_LR if args.prior == "lcm" else CSGM_LR
    first = ImageFitConfig(steps=args.steps, lr=lr, seed=args.seed, **common)
    bp = getattr(args, "back_project", "off") == "on"
    y_t = torch.as_tensor(y, dtype=torch.float32)
    print(
        f"seed {args.seed}; prior {args.prior} ({args.generator}: latent {info.latent}); "
        + ("LCM" if args.prior == "lcm" else "CSGM")
        + f": {args.steps} steps at lr {lr}, {args.restarts} restarts"
        + (f"; then IAGAN: {IAGAN_STEPS} steps at lr {IAGAN_LR}" if args.prior == "iagan" else "")
    )
    t0 = time.perf_counter()
    if args.prior == "lcm":
        res = lcm(gen, op, y_t, replace(first, back_project=bp), restarts=args.restarts, truth=truth)
    elif args.prior == "csgm":
        res = csgm(
            gen, op, y_t, replace(first, back_project=bp), restarts=args.restarts, truth=truth, value_range=info.range
        )
    else:
        second = ImageFitConfig(steps=IAGAN_STEPS, lr=IAGAN_LR, seed=args.seed, back_project=bp, **common)
        res = iagan(gen, op, y_t, second, first, restarts=args.restarts, truth=truth, value_range=info.range)
    report = {
        "steps_run": res.stopped_at + 1,
        "measurement_loss": float(res.history["loss"][-1]),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return res.image, res, report


def _duration(seconds: float) -> str:
    """``seconds`` as a short text: 40 s, 12 min, 3.5 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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

    y = read_image(args.image, gray=_gray(args))
    sigma01 = None if args.sigma is None else args.sigma / 255.0
    if sigma01 is None and args.stop in SIGMA_RULES:
        from image_priors.stopping import estimate_sigma

        sigma01 = estimate_sigma(y)
        if not args.quiet:
            print(
                f"noise level estimated from the image: sigma {255 * sigma01:.1f} (0-255 scale); "
                "give --sigma if you know it",
                file=sys.stderr,
            )
        if sigma01 <= 0:
            raise InputError("the image reads as noise-free; give --sigma, or choose another --stop", args.image)
    _run(args, "denoise", Identity(), y[None], y.shape, _truth(args, y.shape), sigma01)
    return 0


def cmd_inpaint(args):
    import torch

    from image_priors.imageio import read_image
    from image_priors.operators import Mask

    img = read_image(args.image, gray=_gray(args))
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
    text = str(args.blend).strip().lower()
    try:
        blend = "auto" if text == "auto" else float(text)
    except ValueError:
        raise SettingError("blend", f"must be auto or a number in [0, 1], got {args.blend!r}") from None
    if blend != "auto" and not 0 <= blend <= 1:
        raise SettingError("blend", f"must be in [0, 1], got {args.blend}")
    finish, fit_op, fit_y = None, op, y
    if blend != 0:
        from image_priors.classical import biharmonic_fill, blend_weight, split_known

        known = op.mask[0, 0].numpy() > 0
        fill = biharmonic_fill(y[0], known)
        if blend == "auto":
            # the prior and a biharmonic fill both made without some known pixels: the weight that
            # best predicts those pixels says how far to trust each on this image
            fit_known, held = split_known(known, seed=args.seed)
            fit_op = Mask(torch.as_tensor(fit_known)[None, None])
            fit_y = fit_op(torch.as_tensor(img)[None]).numpy()
            held_fill = biharmonic_fill(fit_y[0], fit_known)

        def finish(image):
            w = blend
            if blend == "auto":
                w = blend_weight(image, held_fill, y[0], held)
                print(f"blend auto: biharmonic weight {w:.2f} (from {int(held.sum())} held-out pixels)")
            out = (1 - w) * image + w * fill
            if args.back_project == "on":
                out[:, known] = y[0][:, known]
            return out

    _run(args, "inpaint", fit_op, fit_y, img.shape, _truth(args, img.shape), finish=finish)
    return 0


def cmd_sr(args):
    from image_priors.imageio import read_image
    from image_priors.operators import Downsample

    lo = read_image(args.image, gray=_gray(args))
    op = Downsample(args.factor, args.kernel)
    shape = (lo.shape[0], lo.shape[1] * args.factor, lo.shape[2] * args.factor)
    _run(args, "sr", op, lo[None], shape, _truth(args, shape))
    return 0


def cmd_cs(args):
    import torch

    from image_priors.imageio import read_image
    from image_priors.operators import GaussianSensing, StructuredSensing, add_noise

    clean = read_image(args.image, gray=_gray(args))
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


def cmd_train_generator(args):
    """Train a `image_priors.learned.Generator` (``--model vae``) or a latent convolutional model
    (``--model lcm``) on a class of images an installed package ships, and write it."""
    import shlex
    import time

    from image_priors.learned import DATASETS, save_generator, train_generator, train_lcm

    torch_threads(args)
    load, about = DATASETS[args.data]
    images = load("train", seed=args.seed) if args.data == "patches" else load("train")
    print(f"seed {args.seed}; {len(images)} training images: {about}; {args.model}, {args.steps} steps")
    t0 = time.perf_counter()
    if args.model == "lcm":
        kw = {} if args.width is None else {"width": args.width}
        gen, losses = train_lcm(images, steps=args.steps, seed=args.seed, progress=not args.quiet, **kw)
    else:
        gen, losses = train_generator(
            images,
            latent=args.latent,
            width=32 if args.width is None else args.width,
            steps=args.steps,
            seed=args.seed,
            progress=not args.quiet,
        )
    command = "image-priors train-generator " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    save_generator(
        args.output,
        gen,
        {"data": args.data, "description": about, "command": command, "seed": args.seed, "final_mse": losses[-1]},
    )
    print(
        f"wrote {args.output}: {gen.arch}, latent {gen.latent}, final reconstruction MSE {losses[-1]:.4f}, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return 0


def torch_threads(args):
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
