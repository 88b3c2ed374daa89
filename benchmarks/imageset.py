"""Every image task on a set of 8 images of different character, beside each task's classical baseline.

    .venv/bin/python benchmarks/imageset.py --quick           # 64x64, 150 steps: a smoke run, minutes
    .venv/bin/python benchmarks/imageset.py                   # 128x128 at the CLI's budgets (hours on 2 cores)
    .venv/bin/python benchmarks/imageset.py --tasks inpaint --priors mlp,dip
    # the peer, deepinv's DIP, from its own environment (deepinv pulls torchvision and a CUDA torch):
    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install deepinv scikit-image PyWavelets tqdm matplotlib
    PYTHONPATH=. /tmp/peer/bin/python benchmarks/imageset.py --tasks inpaint --priors deepinv

The set (scikit-image's `data`, centre square crops resized to ``--size``): astronaut and coffee
(colour, smooth regions and edges), chelsea (colour, fur), camera (grey, edges), brick (grey,
regular texture), grass and gravel (grey, stochastic texture), text (grey, characters). Grey
images are fit as one channel.

Tasks and their classical baselines:

- denoising, Gaussian sigma = 25 (of 255), the noisy image clipped to [0, 1] as a file holds it:
  TV (Chambolle, one weight for the whole set, the best on it) and BM3D (told the true sigma);
- inpainting, 50% of the pixels dropped: biharmonic inpainting (`skimage.restoration`);
- x4 super-resolution (the CLI's Lanczos kernel): bicubic interpolation;
- compressed sensing at m/n = 0.25 (structured sensing, grey): wavelet-sparse least squares
  (FISTA on orthonormal Daubechies-4 coefficients, one weight for the whole set, the best on it).

Each prior runs with the CLI's settings for the task (`image_priors.commands.TASK_DEFAULTS`:
steps, stopping rule, output averaging; the network as `prior_for_image` builds it; the discrepancy
rule's noise level estimated from the noisy image, as `image-priors denoise` does). A record measured
at other settings keeps only the peer's runs when rerun. Beside the
PSNR of the image each run returns, the **oracle**, the best PSNR of any iterate (needs the truth;
it judges the stopping rule apart from the prior). For the tasks with an operator, each run also
gives a column ``+BP``: the same output back-projected onto the measurements, x + A⁺(y − A x)
(`image_priors.operators.back_project`: known pixels kept, the low-resolution input reproduced),
as ``--back-project on`` returns it. For inpainting, ``+BH``: the mean of that image and the
biharmonic fill (both keep the known pixels), as ``--blend 0.5``; ``+auto``: the weighted mean whose
weight best predicts 5% of the known pixels held out of the fit and of a second biharmonic fill, as
``--blend auto``. Every inpainting fit here holds those pixels out (the back-projected columns put
them back), so the plain column is fit on 5% fewer pixels than ``--blend 0`` would use.

The rule that picks a task's default prior (`choose`): the candidate with the best mean PSNR
among those never more than ``TOLERANCE`` dB below the task's baseline on any image; where none
qualifies, the one whose worst margin is largest, flagged in the table. Writes
``benchmarks/results/imageset_<device>_<size>.md`` (``quick/`` for ``--quick``). The prior runs
made so far are kept in ``imageset_<device>_<size>.partial.json`` after every image: the same
command, rerun after a kill, resumes from them (and deletes the file when the record is written).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import add_image_run_arguments, add_render_argument, rerender  # noqa: E402

# name -> character, in table order
IMAGE_SET = {
    "astronaut": "colour; smooth, edges",
    "coffee": "colour; smooth",
    "chelsea": "colour; fur",
    "camera": "grey; edges",
    "brick": "grey; regular texture",
    "grass": "grey; stochastic texture",
    "gravel": "grey; stochastic texture",
    "text": "grey; characters",
}
TASKS = ("denoise", "inpaint", "sr", "cs")
NOISE = 25  # the denoising task's Gaussian sigma, on the 0-255 scale
# the baseline each task's rule and targets measure against
REFERENCE = {"denoise": "BM3D", "inpaint": "biharmonic", "sr": "bicubic", "cs": "wavelet FISTA"}
TOLERANCE = 0.5  # dB a default may fall below the reference baseline on one image
# the targets: (baseline, margin in dB, "mean" or "every")
TARGETS = {
    "denoise": (("TV", 2.0, "mean"), ("BM3D", -0.5, "mean")),
    "inpaint": (("biharmonic", 1.0, "every"),),
    "sr": (("bicubic", 1.0, "every"),),
    "cs": (("wavelet FISTA", 2.0, "mean"),),
}


def load(name: str, size: int) -> np.ndarray:
    """Image ``name`` of scikit-image's data as ``(C, size, size)`` float32 in [0, 1] (C = 1 for grey):
    its centre square, resized with anti-aliasing."""
    from skimage import data
    from skimage.transform import resize

    img = np.asarray(getattr(data, name)(), dtype=np.float64) / 255.0
    if img.ndim == 3:
        img = img[..., :3]
    h, w = img.shape[:2]
    s = min(h, w)
    sq = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    out = np.clip(resize(sq, (size, size), anti_aliasing=True), 0, 1)
    if out.ndim == 2:
        out = out[..., None]
    return np.moveaxis(out, -1, 0).astype(np.float32)


def gray(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (1, H, W) luminance (ITU-R 601, as skimage's rgb2gray)."""
    if x.shape[0] == 1:
        return x
    return (0.2125 * x[0] + 0.7154 * x[1] + 0.0721 * x[2])[None].astype(np.float32)


def problem(task: str, truth: np.ndarray, seed: int):
    """``(truth, operator, y)`` of ``task`` on ``truth (C, H, W)``; y is ``(1, ...)`` as the CLI feeds it."""
    import torch

    from image_priors.operators import Downsample, Identity, Mask, StructuredSensing, add_noise

    x = torch.as_tensor(truth)[None]
    if task == "denoise":
        return truth, Identity(), add_noise(x, NOISE, seed=seed).clamp(0, 1)
    if task == "inpaint":
        op = Mask.random(truth.shape[1:], 0.5, seed=seed)
        return truth, op, op(x)
    if task == "sr":
        op = Downsample(4, "lanczos")
        return truth, op, op(x)
    if task == "cs":
        g = gray(truth)
        op = StructuredSensing(g.shape, 0.25, seed=seed)
        return g, op, op(torch.as_tensor(g)[None])
    raise ValueError(task)


def bm3d_denoise(y: np.ndarray) -> np.ndarray:
    """BM3D (told the task's true sigma) of the noisy ``y (C, H, W)``: colour or grey, clipped to [0, 1]."""
    try:
        import bm3d
    except ImportError:
        sys.exit("the denoising baseline needs BM3D: pip install -e '.[bench]' (or bm3d)")
    yn = hwc(y).astype(np.float64)
    est = bm3d.bm3d_rgb(yn, NOISE / 255) if yn.shape[-1] == 3 else bm3d.bm3d(yn[..., 0], NOISE / 255)
    return chw(np.clip(est, 0, 1))


def hwc(a):
    return np.moveaxis(a, 0, -1)


def chw(a):
    return np.moveaxis(a if a.ndim == 3 else a[..., None], -1, 0)


#: the maintained library whose DIP runs beside ours (`--priors ...,deepinv`; pip install deepinv)
PEER = "deepinv"


def deepinv_dip(op, y, shape, steps: int, seed: int, device: str = "cpu") -> np.ndarray:
    """deepinv's Deep Image Prior (its ConvDecoder generator, Adam at lr 0.01, ``steps`` steps, the last
    iterate, as its documentation's example sets it up) on our operator ``op`` wrapped as a deepinv
    `LinearPhysics`. ``y``: (1, ...) measurements; returns ``shape (C, H, W)`` clipped to [0, 1]."""
    import torch

    try:
        import deepinv as dinv
    except ImportError:
        sys.exit("imageset.py: the deepinv peer needs deepinv: pip install -e '.[bench]' (or deepinv)")
    torch.manual_seed(seed)
    op = op.to(device)
    physics = dinv.physics.LinearPhysics(A=lambda x: op(x), A_adjoint=lambda r: op.adjoint(r), device=device)
    channels, size = 64, (4, 4)
    net = dinv.models.ConvDecoder(img_size=tuple(shape), in_size=size, channels=channels).to(device)
    model = dinv.models.DeepImagePrior(net, img_size=[channels, *size], iterations=steps, learning_rate=0.01)
    x = model(y.to(device), physics)
    return np.clip(x[0].detach().cpu().numpy(), 0, 1)


def choose(psnrs: dict, baseline: dict, tolerance: float = TOLERANCE):
    """The default rule. ``psnrs``: {candidate: [PSNR per image]}; ``baseline``: [PSNR per image].
    Returns ``(candidate, qualified)``: the best mean among candidates never more than ``tolerance`` dB
    below the baseline on any image, or (qualified False) the one with the largest worst margin.

    >>> choose({"a": [30, 20], "b": [28, 25]}, [25, 24])
    ('b', True)
    >>> choose({"a": [30, 20], "b": [28, 22]}, [25, 24])
    ('b', False)
    """
    base = np.asarray(baseline, float)
    worst = {k: float(np.min(np.asarray(v, float) - base)) for k, v in psnrs.items()}
    ok = [k for k in psnrs if worst[k] >= -tolerance]
    if ok:
        return max(ok, key=lambda k: float(np.mean(psnrs[k]))), True
    return max(psnrs, key=lambda k: worst[k]), False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_run_arguments(ap)
    ap.add_argument("--steps", type=int, default=None, help="override every task's step budget")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--priors", default="dip,dd,mlp", help="candidates run on every task")
    ap.add_argument("--images", default=",".join(IMAGE_SET))
    ap.add_argument("--quick", action="store_true", help="64x64 and 150 steps: a smoke run")
    ap.add_argument("--out", default=None)
    add_render_argument(ap)
    args = ap.parse_args(argv)
    if args.render:
        rerender(args.render, render)
        return
    if args.quick:
        args.size, args.steps = 64, args.steps or 150

    import torch
    from skimage.restoration import denoise_tv_chambolle, inpaint_biharmonic
    from skimage.transform import resize

    from dgp.util import write_text
    from image_priors.classical import biharmonic_fill, blend_weight, split_known, wavelet_fista
    from image_priors.commands import TASK_DEFAULTS
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.operators import Compose, Mask, back_project
    from image_priors.priors import prior_for_image
    from image_priors.stopping import SIGMA_RULES, estimate_sigma

    torch.set_num_threads(args.threads)
    S, dev = args.size, args.device
    tasks = [t for t in args.tasks.split(",") if t]
    priors = [p for p in args.priors.split(",") if p]
    names = [n for n in args.images.split(",") if n]
    print(f"seed {args.seed}, size {S}, device {dev}, {args.threads} threads, images {names}", flush=True)
    cmd = "python benchmarks/imageset.py" + (
        " --quick" if args.quick else f" --size {S}" + (f" --steps {args.steps}" if args.steps else "")
    )
    cmd += f" --device {dev} --threads {args.threads} --seed {args.seed}"
    if args.tasks != ",".join(TASKS):
        cmd += f" --tasks {args.tasks}"
    if args.priors != "dip,dd,mlp":
        cmd += f" --priors {args.priors}"
    if args.images != ",".join(IMAGE_SET):
        cmd += f" --images {args.images}"
    out = Path(
        args.out
        or ROOT / "benchmarks" / "results" / ("quick" if args.quick else "") / f"imageset_{dev.split(':')[0]}_{S}.md"
    )
    truths = {n: load(n, S) for n in names}
    t_start = time.time()
    # results[task][method] = list of (psnr, oracle or None, seconds or None) in image order
    results: dict = {t: {} for t in tasks}

    def record(task, method, value):
        results[task].setdefault(method, []).append(value)
        print(task, method, len(results[task][method]), value, flush=True)

    problems = {t: {n: problem(t, truths[n], args.seed) for n in names} for t in tasks}
    fills = {}  # name -> biharmonic inpainting (C, H, W)
    weights: dict = {}  # prior -> the weight --blend auto chose per image

    # ---- classical baselines; TV and the wavelet weight are set once for the whole set (best mean)
    for task in tasks:
        probs = problems[task]
        if task == "denoise":

            def tv(w, truth, y):
                return chw(denoise_tv_chambolle(hwc(y[0].numpy()), weight=w, channel_axis=-1))

            w = max(
                (0.04, 0.06, 0.08, 0.1, 0.12, 0.15),
                key=lambda w: np.mean([psnr(t, tv(w, t, y)) for t, _, y in probs.values()]),
            )
            for n, (t, _, y) in probs.items():
                record(task, "noisy", (psnr(t, y[0].numpy()), None, None))
                record(task, f"TV (w={w})", (psnr(t, tv(w, t, y)), None, None))
                t0 = time.time()
                est = bm3d_denoise(y[0].numpy())
                record(task, "BM3D", (psnr(t, est), None, time.time() - t0))
        elif task == "inpaint":
            for n, (t, op, y) in probs.items():
                missing = ~op.mask[0, 0].numpy().astype(bool)
                t0 = time.time()
                est = inpaint_biharmonic(hwc(y[0].numpy()), missing, channel_axis=-1)
                fills[n] = chw(np.clip(est, 0, 1))
                record(task, "biharmonic", (psnr(t, fills[n]), None, time.time() - t0))
        elif task == "sr":
            for n, (t, op, y) in probs.items():
                est = resize(hwc(y[0].numpy()), (S, S), order=3)
                record(task, "bicubic", (psnr(t, chw(np.clip(est, 0, 1))), None, None))
        elif task == "cs":
            lams = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
            ests = {lam: {n: wavelet_fista(op, y, t.shape, lam) for n, (t, op, y) in probs.items()} for lam in lams}
            lam = max(lams, key=lambda lam: np.mean([psnr(t, ests[lam][n]) for n, (t, _, _) in probs.items()]))
            for n, (t, _, _) in probs.items():
                record(task, "wavelet FISTA", (psnr(t, ests[lam][n]), None, None))
            results[task]["wavelet FISTA"].append(f"λ={lam}")

    # ---- the priors, at the CLI's settings for each task; after each image, the runs so far go to a
    # partial file that a rerun of the same command resumes from (a killed run of hours keeps them)
    partial = out.with_suffix(".partial.json")
    # the command and the settings it ran at: a partial file of other code's defaults is not resumed
    key = json.loads(
        json.dumps([cmd, {t: [args.steps or TASK_DEFAULTS[t]["steps"], _settings(TASK_DEFAULTS[t])] for t in tasks}])
    )
    earlier = _resume(partial, key, tasks, priors, results, weights)
    before = earlier["seconds"] if earlier else 0.0  # the time the resumed run had taken
    if earlier:
        print(f"resuming from {partial}: {earlier['fits']} fits done", flush=True)

    def save_partial():
        ours = {t: {m: v for m, v in r.items() if m.split("+")[0] in priors} for t, r in results.items()}
        elapsed = time.time() - t_start + before
        write_text(partial, json.dumps({"key": key, "seconds": elapsed, "results": ours, "weights": weights}))

    for task in tasks:
        d = TASK_DEFAULTS[task]
        for prior in priors:
            for i, (n, (t, op, y)) in enumerate(problems[task].items()):
                if i < len(results[task].get(prior, [])):
                    continue  # done by the run this one resumes
                if prior == PEER:
                    t0 = time.time()
                    est = deepinv_dip(op, y, t.shape, args.steps or d["steps"], args.seed, dev)
                    sec = time.time() - t0
                    record(task, PEER, (psnr(t, est), None, sec))
                    if task != "denoise":
                        with torch.no_grad():
                            bp = back_project(op, torch.as_tensor(est)[None], y)[0].numpy()
                        record(task, PEER + "+BP", (psnr(t, np.clip(bp, 0, 1)), None, sec))
                    save_partial()
                    continue
                fit_op, fit_y = op, y
                if task == "inpaint":
                    # as `--blend auto` does: 5% of the known pixels held out of the fit (and of a second
                    # biharmonic fill), to choose the weight of the fill on
                    known = op.mask[0, 0].numpy() > 0
                    fit_known, held = split_known(known, seed=args.seed)
                    fit_op = Mask(torch.as_tensor(fit_known)[None, None])
                    fit_y = fit_op(torch.as_tensor(t)[None])
                net, crop = prior_for_image(prior, t.shape, fit_op, task, args.seed)
                full = op if crop is None else Compose(op, crop)
                fit_full = fit_op if crop is None else Compose(fit_op, crop)
                sigma = None
                if d["stop"] in SIGMA_RULES:
                    # as `image-priors denoise` does when not told the noise level
                    sigma = estimate_sigma(y[0].numpy())
                cfg = ImageFitConfig(
                    steps=args.steps or d["steps"],
                    stop=d["stop"],
                    sigma=sigma,
                    tau=d.get("tau", 1.0),
                    ema=d["ema"],
                    device=dev,
                    seed=args.seed,
                    progress=False,
                )
                bp_hist = []

                def follow(step, img, loss, full=full, y=y, t=t, bp_hist=bp_hist):
                    # the PSNR each iterate would have back-projected (the oracle of the +BP column)
                    if task != "denoise":
                        x = torch.as_tensor(img)[None]
                        bp_hist.append(psnr(t, np.clip(back_project(full, x, y)[0].numpy(), 0, 1)))

                t0 = time.time()
                res = fit(net, fit_full, fit_y, cfg, truth=t, callback=follow)
                sec = time.time() - t0
                hist = res.history["psnr_avg"] if d["ema"] > 0 else res.history["psnr"]
                record(task, prior, (psnr(t, res.image), max(hist), sec))
                if task != "denoise":
                    with torch.no_grad():
                        bp = back_project(full, torch.as_tensor(res.image)[None], y)[0].numpy()
                    record(task, prior + "+BP", (psnr(t, np.clip(bp, 0, 1)), max(bp_hist), sec))
                if task == "inpaint":
                    # the mean of the back-projected output and the biharmonic fill (both keep the known pixels)
                    mean = 0.5 * (np.clip(bp, 0, 1) + fills[n])
                    record(task, prior + "+BH", (psnr(t, mean), None, sec))
                    w = blend_weight(res.image, biharmonic_fill(fit_y[0].numpy(), fit_known), y[0].numpy(), held)
                    auto = (1 - w) * np.clip(bp, 0, 1) + w * fills[n]
                    record(task, prior + "+auto", (psnr(t, auto), None, sec))
                    weights.setdefault(prior, []).append(w)
                save_partial()
    total = time.time() - t_start + before

    # ---- the record: raw figures per task, merged into the file of the same size, device and images
    data = {"size": S, "device": dev, "images": names, "tasks": {}}
    raw = out.with_suffix(".json")
    if raw.exists():
        old = json.loads(raw.read_text())
        if (old.get("size"), old.get("device"), old.get("images")) == (S, dev, names):
            data = old
    for task in tasks:
        rec = {
            "cmd": [cmd],
            "minutes": round(total / 60, 1),
            "steps": args.steps or TASK_DEFAULTS[task]["steps"],
            "settings": _settings(TASK_DEFAULTS[task]),
            "priors": priors,
            "results": results[task],
            "weights": weights if task == "inpaint" else {},
        }
        old = data["tasks"].get(task)
        if old and (old["steps"], _settings_of(old, task)) != (rec["steps"], rec["settings"]):
            # measured at other settings: only the peer's runs (which use none of ours but the budget) stay
            peer = {m: v for m, v in old["results"].items() if m.split("+")[0] == PEER and PEER not in priors}
            if peer and old["steps"] == rec["steps"]:
                old = {
                    "cmd": [c for c in _listed(old["cmd"]) if f"--priors {PEER}" in c],
                    # its own time: the peer's runs (the baselines take seconds)
                    "minutes": round(sum(v[2] for v in peer[PEER] if not isinstance(v, str)) / 60, 1),
                    "steps": rec["steps"],
                    "settings": rec["settings"],
                    "priors": [PEER],
                    "results": {m: v for m, v in old["results"].items() if m not in old["priors"] or m in peer},
                    "weights": {},
                }
            else:
                old = None
        if old:
            # the priors of this run replace theirs and join the others; the baselines measured first stay
            rec = {
                "cmd": [c for c in _listed(old["cmd"]) if c != cmd] + [cmd],
                "minutes": round(old["minutes"] + rec["minutes"], 1),
                "steps": rec["steps"],
                "settings": rec["settings"],
                "priors": list(dict.fromkeys(old["priors"] + priors)),
                "results": {
                    **old["results"],
                    **{m: v for m, v in rec["results"].items() if m.split("+")[0] in priors or m not in old["results"]},
                },
                "weights": {**old["weights"], **rec["weights"]},
            }
        data["tasks"][task] = rec
    write_text(raw, json.dumps(data, indent=1) + "\n")
    text = render(data)
    write_text(out, text)
    partial.unlink(missing_ok=True)
    print(text)
    print(f"wrote {out} and {raw.name}")


def _resume(partial: Path, key: list, tasks: list, priors: list, results: dict, weights: dict) -> dict | None:
    """Fill ``results`` (task -> method -> per-image values) and ``weights`` with the prior runs that
    a killed run of the same command at the same settings (``key``) saved in ``partial``; returns
    what it read (``fits``: how many prior runs, ``seconds``: how long that run had taken), or None
    where there is nothing to resume (no file, another command or settings, unreadable)."""
    try:
        saved = json.loads(partial.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("key") != key:
        return None
    fits = 0
    for task in tasks:
        for method, values in saved["results"].get(task, {}).items():
            if method.split("+")[0] in priors:
                results[task][method] = [v if isinstance(v, str) else tuple(v) for v in values]
        fits += sum(len(results[task].get(p, [])) for p in priors)
    weights.update(saved.get("weights", {}))
    return {"fits": fits, "seconds": float(saved.get("seconds", 0.0))}


def default_method(task: str) -> str:
    """The column of a task's table that the CLI's defaults return (prior, and ``+BP``, ``+BH`` or ``+auto``)."""
    from image_priors.commands import TASK_DEFAULTS

    d = TASK_DEFAULTS[task]
    blend = d.get("blend")
    return d["prior"] + ("+auto" if blend == "auto" else "+BH" if blend else "+BP" if d.get("back_project") else "")


def _settings(d: dict) -> dict:
    """The settings of a task's fits that a record is measured at (beside its step budget)."""
    from image_priors.stopping import SIGMA_RULES

    return {k: d[k] for k in ("stop", "tau", "ema") if k in d and (k != "tau" or d["stop"] in SIGMA_RULES)}


def _settings_of(rec: dict, task: str) -> dict:
    # records before the settings were stored were measured at the variance rule with ema 0.99 (denoise)
    # or the fixed budget without averaging (the others)
    old = {"stop": "variance", "ema": 0.99} if task == "denoise" else {"stop": "fixed", "ema": 0.0}
    return rec.get("settings", old)


def _listed(cmd) -> list:
    """A record's commands as a list (records of one run hold a string)."""
    return cmd if isinstance(cmd, list) else [cmd]


def render(data: dict) -> str:
    """The Markdown tables of a record (`main` writes it as JSON beside them): per task, every method's
    PSNR per image with the oracle in brackets, the mean, the seconds, the rule's pick and the targets.
    The CLI's current default (`image_priors.commands.TASK_DEFAULTS`) is marked."""

    names, S, dev = data["images"], data["size"], data["device"]
    lines = [
        f"# Image priors on a set of {len(names)} images, {S}x{S}, {dev}",
        "",
        "PSNR in dB of the image each run returns, and in brackets the oracle (the best PSNR of any iterate, "
        "which needs the truth). Priors at the CLI's settings for the task; the CLI's default is marked "
        "*default*. Seconds: the mean time of one run. Raw figures: the .json file of the same name; "
        "`python benchmarks/imageset.py --render FILE.json` rewrites the tables from them.",
        "",
        "| image | character |",
        "| --- | --- |",
    ] + [f"| {n} | {IMAGE_SET.get(n, '')} |" for n in names]
    for task in [t for t in TASKS if t in data["tasks"]]:
        rec = data["tasks"][task]
        results, weights, priors = rec["results"], rec["weights"], rec["priors"]
        st = _settings_of(rec, task)
        methods = list(results)
        stop = st["stop"] + (f" (τ = {st['tau']}, σ estimated)" if "tau" in st else "")
        budget = f"{rec['steps']} steps, stop {stop}" + (f", ema {st['ema']}" if st["ema"] else "")
        extra = [str(v) for m in methods for v in results[m] if isinstance(v, str)]
        lines += ["", f"## {task} ({budget})" + (f"; {', '.join(extra)}" if extra else ""), ""]
        made = " and ".join(f"`{c}`" for c in _listed(rec["cmd"]))
        lines += [f"Made by {made} ({rec['minutes']:.0f} min in all).", ""]
        default = default_method(task)
        head = [m + (" *default*" if m == default else "") for m in methods]
        lines += ["| image | " + " | ".join(head) + " |", "| --- " * (len(head) + 1) + "|"]
        vals = {m: [v for v in results[m] if not isinstance(v, str)] for m in methods}

        def cell(v):
            p, o, _ = v
            return f"{p:.2f}" + ("" if o is None else f" ({o:.2f})")

        for i, n in enumerate(names):
            lines.append(f"| {n} | " + " | ".join(cell(vals[m][i]) for m in methods) + " |")
        means = {m: float(np.mean([v[0] for v in vals[m]])) for m in methods}
        lines.append("| **mean** | " + " | ".join(f"**{means[m]:.2f}**" for m in methods) + " |")
        secs = [np.mean([v[2] for v in vals[m]]) if vals[m][0][2] is not None else None for m in methods]
        lines.append("| seconds | " + " | ".join("" if s is None else f"{s:.0f}" for s in secs) + " |")
        if weights:
            lines += [
                "",
                "Weight of the biharmonic fill that +auto chose per image: "
                + "; ".join(f"{p}: " + ", ".join(f"{x:.2f}" for x in ws) for p, ws in weights.items())
                + ".",
            ]
        ran = [p for p in vals if p.split("+")[0] in priors and p.split("+")[0] != PEER]
        ref = next((m for m in methods if m.startswith(REFERENCE[task])), None)
        if ran and ref:
            base = [v[0] for v in vals[ref]]
            pick, ok = choose({p: [v[0] for v in vals[p]] for p in ran}, base)
            lines += [
                "",
                f"Rule (best mean, never more than {TOLERANCE} dB below {ref} on an image): **{pick}**"
                + ("" if ok else f" — no candidate qualifies; {pick} has the smallest worst loss")
                + f"; the CLI default is {default}.",
            ]
            peer = [(PEER, 0.0, "mean")] if PEER in vals else []  # the issue: as good as deepinv's DIP
            # against the peer: its better column on the mean (with back-projection, as the default has it)
            best_peer = max((m for m in vals if m.split("+")[0] == PEER), key=means.get, default=None)
            for bname, margin, how in TARGETS[task] + tuple(peer):
                b = best_peer if bname == PEER else next((m for m in methods if m.startswith(bname)), None)
                if b is None or default not in vals:
                    continue
                diff = np.array([v[0] for v in vals[default]]) - np.array([v[0] for v in vals[b]])
                got = float(diff.mean()) if how == "mean" else float(diff.min())
                word = "mean" if how == "mean" else "worst image"
                lines.append(
                    f"Target: default ≥ {b} {margin:+.1f} dB ({word}): "
                    f"{got:+.2f} dB, {'met' if got >= margin else 'not met'}."
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
