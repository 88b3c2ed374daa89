"""Stopping rules for denoising, judged across the image set: when does a fit stop fitting the image
and start fitting the noise?

    .venv/bin/python benchmarks/denoise_stop.py                    # 128x128, dd and dip (about 1 h on 2 cores)
    .venv/bin/python benchmarks/denoise_stop.py --priors dd --images brick,astronaut
    .venv/bin/python benchmarks/denoise_stop.py --render benchmarks/results/denoise_stop_cpu_128.json

The windowed-variance rule (the denoising default until this benchmark) never stops on the textured
images of `benchmarks/imageset.py` (their iterate variance keeps falling), and the last iterate has
fitted the noise. Its alternative here is Morozov's discrepancy principle with the noise level
estimated from the noisy image (`image_priors.stopping.estimate_sigma`, the wavelet estimate; the fit
is told nothing): stop at the first step whose residual ‖x − y‖²/n is at most τ·σ̂². Each prior runs
once per image with every rule watching the same fit (`Watch`): the variance rule and the
discrepancy rule for each τ of ``--taus`` (default ``TAUS``), alone and as "whichever stops first"
(``var/disc τ``); the fit runs until every discrepancy rule has stopped (or the budget ends), so
each rule's pick is read off the same trace: the PSNR of the averaged output at the step it chose.
BM3D (told the true sigma) is the reference, as in imageset.py; the oracle is the best averaged iterate within the run.

The rule that picks the stopping rule (and τ): imageset.py's `choose` over every (prior, rule):
the best mean PSNR among those never more than its tolerance below BM3D on any image, else the
largest worst margin. Writes ``benchmarks/results/denoise_stop_<device>_<size>.md`` and the raw traces
beside it (``.json``).
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
from benchmarks.imageset import IMAGE_SET, TOLERANCE, bm3d_denoise, choose, load, problem  # noqa: E402

TAUS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5)


class Watch:
    """A stopping rule made of several that watch the same fit: every rule sees every step; the fit stops
    once each rule in ``until`` has stopped. ``stops[name]`` and ``chosen[name]``: the step each rule
    stopped at and chose (None while it has not stopped)."""

    name = "watch"

    def __init__(self, rules: dict, until: list):
        self.rules, self.until = rules, until
        self.stops = {k: None for k in rules}
        self.chosen = None

    def update(self, step, output, loss, heldout=None):
        for k, r in self.rules.items():
            if self.stops[k] is None and r.update(step, output, loss, heldout):
                self.stops[k] = step
        return all(self.stops[k] is not None for k in self.until)


def disc_stop(run: dict, tau: float, sigma: float, budget: int):
    """The step at which the discrepancy rule at ``tau`` stopped in ``run``: as the rule watched it
    live where it did, else read off the run's loss trace (the first step whose loss is at most
    ``tau * sigma**2``, the rule's test). None: it never stopped within the budget; ``...``: the run
    ended (its other rules had all stopped) before this one could."""
    key = f"disc {tau}"
    if key in run["stops"]:
        return run["stops"][key]
    limit = tau * sigma**2
    at = next((i for i, v in enumerate(run["loss"]) if v <= limit), None)
    if at is None and len(run["loss"]) < budget:
        return ...
    return at


def picks(run: dict, budget: int, taus=TAUS, sigma: float | None = None) -> dict:
    """{rule: PSNR of the averaged output at the step it chose} from one run's record (None where the
    run cannot tell); ``budget``: the steps the fit was allowed (a rule that never stops returns its
    choice at the end of the budget); ``sigma``: the noise level the run's discrepancy rules used,
    needed for a ``tau`` the run did not watch (`disc_stop`)."""
    trace = run["psnr_avg"]
    last = len(trace) - 1
    out = {}
    var_stop, var_pick = run["stops"]["variance"], run["chosen"]["variance"]
    # None: the run ended (every discrepancy rule had stopped) before the variance rule decided
    done = var_stop is not None or len(trace) == budget
    out["variance"] = trace[var_pick] if done and var_pick is not None else None
    out["fixed"] = trace[-1] if len(trace) == budget else None
    for tau in taus:
        d = disc_stop(run, tau, sigma, budget) if sigma is not None else run["stops"][f"disc {tau}"]
        if d is ...:
            out[f"disc {tau}"] = out[f"disc {tau} raw"] = out[f"var/disc {tau}"] = None
            continue
        at = last if d is None else d  # a rule that never stopped chose the last step run
        out[f"disc {tau}"] = trace[at]
        # the output of that step itself, not the running average (which lags early stops)
        out[f"disc {tau} raw"] = run["psnr"][at]
        first_var = var_stop is not None and (d is None or var_stop < d)
        out[f"var/disc {tau}"] = trace[var_pick] if first_var else trace[at]
    return out


def made_by(data: dict) -> dict:
    """{command: [priors whose runs in the record it made]}: each prior's runs come from the last of the
    record's commands that ran it (its ``--priors``)."""
    import re

    cmds = data.get("cmds", [data["cmd"]])
    out: dict = {}
    for prior, runs in data["runs"].items():
        if runs:
            ran = [c for c in cmds if prior in re.search(r"--priors (\S+)", c).group(1).split(",")]
            out.setdefault(ran[-1] if ran else cmds[-1], []).append(prior)
    return out


def merge(data: dict, old: dict) -> dict:
    """``data`` with the runs of ``old`` (an earlier record) for the priors ``data`` does not rerun, kept
    where both measured the same inputs the same way (size, device, budget, averaging, images and the
    BM3D figures, which pin the noise realisation); the commands and minutes add up."""
    same = all(old.get(k) == data[k] for k in ("size", "device", "steps", "ema", "images"))
    same = same and np.allclose(old.get("bm3d", []), data["bm3d"], atol=1e-6)
    if not same:
        return data
    kept = {p: runs for p, runs in old["runs"].items() if runs and not data["runs"].get(p)}
    if not kept:
        return data
    old_cmds = [c for c, ps in made_by(old).items() if any(p in kept for p in ps)]
    data = dict(data, runs={**kept, **data["runs"]}, cmds=[c for c in old_cmds if c != data["cmd"]] + [data["cmd"]])
    data["minutes_before"] = old.get("minutes_before", 0) + old.get("minutes", 0)
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_image_run_arguments(ap)
    ap.add_argument("--steps", type=int, default=None, help="the budget (default: the CLI's for denoising)")
    ap.add_argument("--priors", default="dd,dip")
    ap.add_argument("--taus", default=",".join(map(str, TAUS)), help="the discrepancy rule's factors to watch")
    ap.add_argument("--images", default=",".join(IMAGE_SET))
    ap.add_argument("--out", default=None)
    add_render_argument(ap)
    args = ap.parse_args(argv)
    if args.render:
        rerender(args.render, render)
        return

    import torch

    from dgp.util import write_text
    from image_priors.commands import TASK_DEFAULTS
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.priors import prior_for_image
    from image_priors.stopping import Discrepancy, VarianceWindow, estimate_sigma

    torch.set_num_threads(args.threads)
    d = TASK_DEFAULTS["denoise"]
    steps = args.steps or d["steps"]
    names = [n for n in args.images.split(",") if n]
    taus = [float(t) for t in args.taus.split(",") if t]
    priors = [p for p in args.priors.split(",") if p]
    print(f"seed {args.seed}, size {args.size}, device {args.device}, {args.threads} threads", flush=True)
    t_start = time.time()
    data = {"size": args.size, "device": args.device, "steps": steps, "ema": d["ema"], "images": names, "taus": taus}
    data["bm3d"], data["sigma_est"], data["runs"] = [], [], {p: [] for p in priors}
    probs = {}
    for n in names:
        t, op, y = problem("denoise", load(n, args.size), args.seed)
        probs[n] = (t, op, y)
        data["bm3d"].append(psnr(t, bm3d_denoise(y[0].numpy())))
        data["sigma_est"].append(estimate_sigma(y[0].numpy()))
    cfg0 = ImageFitConfig()
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"denoise_stop_{args.device.split(':')[0]}_{args.size}.md")
    data["cmd"] = (
        f"python benchmarks/denoise_stop.py --size {args.size} --device {args.device} --threads {args.threads}"
        f" --seed {args.seed} --priors {args.priors}"
        + (f" --steps {args.steps}" if args.steps else "")
        + (f" --taus {args.taus}" if taus != list(TAUS) else "")
        + (f" --images {args.images}" if names != list(IMAGE_SET) else "")
    )

    raw = out.with_suffix(".json")
    old = json.loads(raw.read_text()) if raw.exists() else None

    def save():
        data["minutes"] = round((time.time() - t_start) / 60, 1)
        full = merge(data, old) if old else data
        write_text(raw, json.dumps(full) + "\n")
        write_text(out, render(full))

    for prior in priors:
        for n, (t, op, y) in probs.items():
            sig = data["sigma_est"][names.index(n)]
            rules = {"variance": VarianceWindow(cfg0.window, cfg0.patience)}
            rules.update({f"disc {tau}": Discrepancy(sig, tau) for tau in taus})
            watch = Watch(rules, [k for k in rules if k != "variance"])
            net, _ = prior_for_image(prior, t.shape, op, "denoise", args.seed)
            cfg = ImageFitConfig(
                steps=steps, stop="fixed", ema=d["ema"], device=args.device, seed=args.seed, progress=False
            )
            t0 = time.time()
            res = fit(net, op, y, cfg, truth=t, rule=watch)
            run = {
                "image": n,
                "seconds": time.time() - t0,
                "steps_run": res.stopped_at + 1,
                "stops": watch.stops,
                "chosen": {k: r.chosen for k, r in rules.items()},
                "loss": [round(v, 7) for v in res.history["loss"]],
                "psnr_avg": [round(v, 3) for v in res.history["psnr_avg"]],
                "psnr": [round(v, 3) for v in res.history["psnr"]],
            }
            data["runs"][prior].append(run)
            print(prior, n, f"{run['seconds']:.0f} s", run["steps_run"], "steps", picks(run, steps, taus), flush=True)
            save()  # after every run, so a stopped benchmark keeps what it measured
    print(render(merge(data, old) if old else data))


def render(data: dict) -> str:
    names, bm = data["images"], data["bm3d"]
    sources = made_by(data)
    made = " and ".join(f"`{c}`" + (f" ({', '.join(ps)})" if len(sources) > 1 else "") for c, ps in sources.items())
    minutes = round(data.get("minutes_before", 0) + data["minutes"], 1)
    lines = [
        f"# Stopping rules for denoising, {len(names)} images, {data['size']}x{data['size']}, {data['device']}",
        "",
        f"Made by {made} ({minutes} min{' in all' if 'cmds' in data else ''}). "
        f"Gaussian noise sigma = 25, budget {data['steps']} steps, "
        f"ema {data['ema']}. PSNR (dB) of the averaged output at the step each rule chose; `disc τ`: the "
        "discrepancy principle at τ·σ̂² with σ̂ estimated from the noisy image; `disc τ raw`: the output of "
        "that step, not the average; "
        "`fixed`: the last step of the budget (blank where the run ended sooner); `var/disc τ`: whichever of "
        "the variance rule and `disc τ` stops first; `variance`: blank where the run ended before it decided. "
        "Oracle: the best averaged iterate of the run. Raw traces: the .json file of the same name.",
        "",
        "| | " + " | ".join(names) + " | mean |",
        "| --- " * (len(names) + 2) + "|",
        "| σ̂ (true 0.098) | " + " | ".join(f"{v:.4f}" for v in data["sigma_est"]) + " | |",
        "| BM3D | " + " | ".join(f"{v:.2f}" for v in bm) + f" | **{np.mean(bm):.2f}** |",
    ]
    cands = {}
    for prior, runs in data["runs"].items():
        if not runs:
            continue
        sig = dict(zip(names, data["sigma_est"]))
        per = [picks(r, data["steps"], data.get("taus", TAUS), sig[r["image"]]) for r in runs]
        head = [r["image"] for r in runs]
        lines += ["", f"## {prior}", "", "| rule | " + " | ".join(head) + " | mean | worst − BM3D |"]
        lines += ["| --- " * (len(head) + 3) + "|"]
        for k in per[0]:
            vals = [p[k] for p in per]
            ok = all(v is not None for v in vals) and len(vals) == len(bm)
            tail = f" **{np.mean(vals):.2f}** | {min(np.subtract(vals, bm)):+.2f} |" if ok else " | |"
            lines += [f"| {k} | " + " | ".join("" if v is None else f"{v:.2f}" for v in vals) + " |" + tail]
            if ok:
                cands[f"{prior} {k}"] = vals
        oracle = [max(r["psnr_avg"]) for r in runs]
        lines += ["| oracle | " + " | ".join(f"{v:.2f}" for v in oracle) + f" | **{np.mean(oracle):.2f}** | |"]
        lines += ["| steps run | " + " | ".join(str(r["steps_run"]) for r in runs) + " | | |"]
        lines += ["| seconds | " + " | ".join(f"{r['seconds']:.0f}" for r in runs) + " | | |"]
    if cands:
        best, ok = choose(cands, bm)
        worst = min(np.asarray(cands[best]) - np.asarray(bm))
        lines += [
            "",
            f"Rule (imageset.py's: best mean, never more than {TOLERANCE} dB below BM3D on an image): **{best}**"
            + ("" if ok else " — no candidate qualifies; it has the smallest worst loss")
            + f" (mean {np.mean(cands[best]):.2f} dB, worst margin {worst:+.2f} dB).",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
