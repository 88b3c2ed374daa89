"""Large photographs in tiles: the tiled fit (`image_priors.tiles`) against the whole-image fit
at a size where both run, through the command line (`image-priors ... --tile`).

For each image (a centre crop of a scikit-image picture at ``--size``) and task (denoising at
sigma = 25 with the task's default prior; inpainting with 50% of the pixels dropped, likewise),
the same observation is fit whole and in tiles of ``--tile`` pixels (the default overlap),
with the same fixed number of steps. Reports PSNR over the image and over the seam bands (the
pixels within 4 of a tile boundary, where blending happens), and the wall time. Writes benchmarks/results/tiles.md.

    python benchmarks/tiles.py --size 128 --tile 64 --steps 400
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import die_with_parent  # noqa: E402

IMAGES = ("astronaut", "coffee", "chelsea")


def seam_mask(shape, tile: int, overlap: int, step: int = 1, width: int = 4) -> np.ndarray:
    """(H, W) bool: pixels within ``width`` of an inner tile boundary of the tiling of ``shape``."""
    from image_priors.tiles import tiles

    _, h, w = shape

    m = np.zeros((h, w), dtype=bool)
    for y0, y1, x0, x1 in tiles(shape, tile, overlap, step):
        for edge in (y0, y1):
            if 0 < edge < h:
                m[max(0, edge - width) : edge + width, x0:x1] = True
        for edge in (x0, x1):
            if 0 < edge < w:
                m[y0:y1, max(0, edge - width) : edge + width] = True
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--tile", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--images", default=",".join(IMAGES))
    ap.add_argument("--tasks", default="denoise,inpaint")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tiles.md"))
    args = ap.parse_args(argv)
    print(f"seed {args.seed}", flush=True)

    import os

    import torch
    from skimage import data

    from benchmarks.images import crop
    from image_priors.imageio import read_image, write_image
    from image_priors.metrics import psnr
    from image_priors.operators import Mask, add_noise
    from image_priors.tiles import DEFAULT_OVERLAP

    tmp = Path(tempfile.mkdtemp(prefix="tiles-"))
    exe = str(Path(sys.executable).parent / "image-priors")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    rows = []
    for name in [s for s in args.images.split(",") if s]:
        truth = crop(getattr(data, name)() / 255.0, args.size)
        write_image(tmp / f"{name}.png", truth)
        seams = seam_mask(truth.shape, args.tile, DEFAULT_OVERLAP)
        for task in [t for t in args.tasks.split(",") if t]:
            if task == "denoise":
                y = add_noise(torch.as_tensor(truth)[None], 25, seed=args.seed)[0].clamp(0, 1).numpy()
                write_image(tmp / "y.png", y)
                cmd = [exe, "denoise", str(tmp / "y.png")]
            else:
                op = Mask.random(truth.shape[1:], 0.5, seed=args.seed)
                write_image(tmp / "mask.png", op.mask[0, 0].numpy())
                write_image(tmp / "y.png", op(torch.as_tensor(truth)[None])[0].numpy())
                cmd = [exe, "inpaint", str(tmp / "y.png"), "--mask", str(tmp / "mask.png")]
            result = {}
            for how, tile in (("whole", 0), ("tiles", args.tile)):
                out = tmp / f"{name}_{task}_{how}.png"
                full = cmd + ["-o", str(out), "--truth", str(tmp / f"{name}.png"), "--steps", str(args.steps)]
                full += ["--stop", "fixed", "--tile", str(tile), "--seed", str(args.seed), "-q", "--device", "cpu"]
                t = time.time()
                proc = subprocess.run(full, capture_output=True, text=True, env=env, preexec_fn=die_with_parent)
                seconds = time.time() - t
                if proc.returncode:
                    raise SystemExit(f"{' '.join(full)} failed:\n{proc.stderr}")
                img = read_image(out)
                result[how] = (psnr(truth, img), psnr(truth[:, seams], img[:, seams]), seconds)
                print(name, task, how, result[how], flush=True)
            w, t = result["whole"], result["tiles"]
            rows.append([name, task, w[0], t[0], t[0] - w[0], w[1], t[1], w[2], t[2]])
            _write(Path(args.out), rows, args)
    print(f"wrote {args.out}")


def _write(out: Path, rows, args) -> None:
    from dgp.util import write_text
    from image_priors.commands import TASK_DEFAULTS
    from image_priors.tiles import DEFAULT_OVERLAP, shared

    lines = [
        "# Tiled fits against the whole-image fit",
        "",
        f"Written by `python benchmarks/tiles.py --size {args.size} --tile {args.tile} --steps {args.steps}` "
        f"on {time.strftime('%Y-%m-%d')}, {args.threads} threads. Each {args.size}x{args.size} crop is fit whole and "
        f"in {args.tile}-pixel tiles ({shared(args.tile, DEFAULT_OVERLAP)} shared), {args.steps} steps each "
        "(fixed), the task's default prior on that date ("
        + ", ".join(f"{t}: {TASK_DEFAULTS[t]['prior']}" for t in args.tasks.split(",") if t)
        + "; `image-priors denoise|inpaint --tile`). PSNR in dB over the image, "
        "and over the seam bands (within 4 pixels of a tile boundary); wall seconds of the command.",
        "",
        "| image | task | whole | tiles | tiles - whole | seams: whole | seams: tiles | s whole | s tiles |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:+.2f} | {r[5]:.2f} | {r[6]:.2f} | "
            f"{r[7]:.0f} | {r[8]:.0f} |"
        )
    mean = np.mean([r[4] for r in rows])
    lines += ["", f"Mean difference, tiles - whole: {mean:+.2f} dB.", ""]
    write_text(out, "\n".join(lines))  # atomically, its folder made


if __name__ == "__main__":
    main()
