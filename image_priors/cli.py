"""The ``image-priors`` command line: every sub-command's flags, in one place.

Each sub-command's work is a function in `image_priors.commands`, imported when it runs; the
runner (one-line errors, exit status 2, Ctrl-C) is the one ``dgp`` uses (`dgp.cli.run`). The
fitting flags are derived from the fields of `image_priors.fit.ImageFitConfig`, with the
per-task defaults of `image_priors.commands.TASK_DEFAULTS`.
"""

from __future__ import annotations

import argparse
import sys

from dgp.cli import handler, run

#: the fitting settings every task takes as flags (the other `ImageFitConfig` fields keep their defaults)
FIT_FLAGS = ("steps", "lr", "ema", "stop", "tau", "rollback", "device", "seed")


def _task_flags(p, task: str) -> None:
    from dgp.settings import add_arguments
    from image_priors.commands import TASK_DEFAULTS
    from image_priors.fit import ImageFitConfig

    d = TASK_DEFAULTS[task]
    p.add_argument("-o", "--output", required=True, help="output image (.png)")
    p.add_argument(
        "--prior",
        choices=["dip", "dd", "mlp", "csgm", "iagan", "lcm"],
        default=d["prior"],
        help="the untrained network, or a learned prior with --generator (%(default)s)",
    )
    add_arguments(p, ImageFitConfig, names=FIT_FLAGS, values={**d, "device": "auto"})
    if task in ("inpaint", "sr", "cs"):
        p.add_argument(
            "--back-project",
            choices=["on", "off"],
            default="on" if d.get("back_project") else "off",
            help="move the result onto the measurements, x + A⁺(y − A x): known pixels kept, the input "
            "reproduced; for noiseless measurements (%(default)s)",
        )
    if task == "inpaint":
        p.add_argument(
            "--blend",
            default=str(d.get("blend", 0.0)),
            help="weight of biharmonic inpainting (image_priors.classical) in a weighted mean with the prior's "
            "result, 0 = the prior alone; auto = the weight that best predicts 5%% of the known pixels held out "
            "of both (%(default)s)",
        )
    p.add_argument(
        "--tile",
        default="auto",
        help="fit tiles of this many pixels a side, blended at the seams (large photographs); auto = tiles of "
        "256 when the whole image would not fit in memory; 0 = never (%(default)s)",
    )
    p.add_argument("--truth", help="ground-truth image: report PSNR and SSIM")
    p.add_argument("--plot", metavar="curves.png", help="plot loss (and PSNR) against steps")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("prior settings (image_priors.priors.prior_for_image)")
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
    g = p.add_argument_group(
        "learned priors (image_priors.learned): CSGM fits the latent (Adam lr 0.1, --steps), IAGAN then fits the "
        "latent and the generator's weights (lr 1e-4 and 1e-3, 300 steps), LCM fits the weights of a latent "
        "network (lr 0.01, --steps); --lr is for the untrained networks"
    )
    g.add_argument(
        "--generator",
        metavar="FILE",
        help="image-priors train-generator (--model lcm for --prior lcm), a state_dict, or TorchScript",
    )
    g.add_argument("--arch", choices=["dcgan32", "lcm32"], help="the architecture of a bare state_dict")
    g.add_argument("--latent", type=int, help="latent size of a TorchScript generator that does not say it")
    g.add_argument(
        "--range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="the generator's output range (default: the file's, else 0 1)",
    )
    g.add_argument(
        "--restarts",
        type=int,
        default=3,
        help="CSGM's and LCM's random restarts; the lowest measurement loss wins (%(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    from image_priors import __version__
    from image_priors.experiments import EXPERIMENTS

    ap = argparse.ArgumentParser(prog="image-priors", description="Untrained networks as image priors.")
    ap.add_argument("--version", action="version", version=f"image-priors {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    cmd = "image_priors.commands:"

    p = sub.add_parser("denoise", help="denoise an image (F = I)")
    p.add_argument("image", help="the noisy image")
    p.add_argument(
        "--sigma",
        type=float,
        default=None,
        help="noise level on the 0-255 scale, if known (for --stop discrepancy and variance-or-discrepancy, which "
        "otherwise estimate it from "
        "the image)",
    )
    _task_flags(p, "denoise")
    p.set_defaults(func=handler(cmd + "cmd_denoise"))

    p = sub.add_parser("inpaint", help="fill in missing pixels (F = mask)")
    p.add_argument("image")
    p.add_argument("--mask", help="mask image: non-zero = known pixel")
    p.add_argument("--drop", type=float, default=None, help="instead of --mask: drop this fraction of pixels at random")
    _task_flags(p, "inpaint")
    p.set_defaults(func=handler(cmd + "cmd_inpaint"))

    p = sub.add_parser("sr", help="super-resolve a low-resolution image (F = downsampling)")
    p.add_argument("image", help="the low-resolution image")
    p.add_argument("--factor", type=int, default=4, choices=[2, 4, 8])
    p.add_argument("--kernel", choices=["lanczos", "bicubic"], default="lanczos")
    _task_flags(p, "sr")
    p.set_defaults(func=handler(cmd + "cmd_sr"))

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
    _task_flags(p, "cs")
    p.set_defaults(func=handler(cmd + "cmd_cs"))

    p = sub.add_parser("fit", help="represent an image by a network and report PSNR and parameters")
    p.add_argument("image")
    _task_flags(p, "fit")
    p.set_defaults(func=handler(cmd + "cmd_fit"))

    p = sub.add_parser("experiment", help="reproduce a prior-behaviour experiment: figure (PNG) and numbers (CSV)")
    p.add_argument("name", choices=list(EXPERIMENTS) + ["all"])
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="small sizes: under a minute each on a CPU")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=handler(cmd + "cmd_experiment"))

    p = sub.add_parser(
        "train-generator", help="train the generator of the learned priors (csgm, iagan, lcm) on a class of images"
    )
    p.add_argument(
        "--model",
        choices=["vae", "lcm"],
        default="vae",
        help="vae: a latent vector's generator, the decoder of a VAE (csgm, iagan); lcm: a latent convolutional "
        "model, trained GLO-style (%(default)s)",
    )
    p.add_argument("--data", choices=["faces", "patches"], default="faces", help="the class (%(default)s)")
    p.add_argument("-o", "--output", required=True, help="the generator file (.pt)")
    p.add_argument(
        "--steps", type=int, default=3000, help="training steps, of 64 images (vae) or 32 (lcm) (%(default)s)"
    )
    p.add_argument("--latent", type=int, default=64, help="vae: latent size (%(default)s)")
    p.add_argument(
        "--width", type=int, default=None, help="vae: channels of the last hidden layer (32); lcm: the generator's (48)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=handler(cmd + "cmd_train_generator"))

    p = sub.add_parser("degrade", help="make an observation from a clean image: noise, dropped pixels or downsampling")
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--noise", type=float, default=None, help="Gaussian noise sigma on the 0-255 scale")
    p.add_argument("--drop", type=float, default=None, help="fraction of pixels to drop (set to 0)")
    p.add_argument("--mask-out", help="with --drop: also write the mask (white = known)")
    p.add_argument("--factor", type=int, default=None, choices=[2, 4, 8], help="downsampling factor")
    p.add_argument("--kernel", choices=["lanczos", "bicubic"], default="lanczos")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=handler(cmd + "cmd_degrade"))
    return ap


def main(argv=None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
