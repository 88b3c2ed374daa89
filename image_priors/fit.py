"""Fitting an untrained prior to one observation: minimise ‖F(f_θ(z + jitter)) − y‖² with Adam.

>>> import torch
>>> from image_priors.operators import Identity
>>> from image_priors.priors import DeepDecoder
>>> y = torch.rand(1, 3, 32, 32)
>>> res = fit(DeepDecoder((32, 32), k=8, d=3), Identity(), y, ImageFitConfig(steps=5, progress=False))
>>> res.image.shape, res.stopped_at
((3, 32, 32), 4)
"""

from __future__ import annotations

import copy
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from dgp.settings import at_least, in_range, non_negative, positive, setting
from image_priors.operators import Operator, back_project
from image_priors.stopping import RULES, Rule, make_rule

#: steps between the weights `fit` keeps for rolling back a loss spike
KEEP_EVERY = 10


@dataclass
class ImageFitConfig:
    """Settings of `fit`; the defaults are the documented ones. Each field carries its help text and
    check (`dgp.settings`); the ``image-priors`` flags are derived from them, with per-task defaults
    (`image_priors.commands.TASK_DEFAULTS`)."""

    steps: int = setting(2000, "Adam steps", non_negative)
    lr: float = setting(0.01, "learning rate", positive)
    jitter: float = setting(1 / 30, "std of the noise added to the input z at each step", non_negative, cli=False)
    ema: float = setting(0.99, "exponential averaging of the outputs, 0 = off", in_range(0, 1, closed_high=False))
    stop: str = setting("fixed", "stopping rule", choices=RULES)
    sigma: float | None = setting(None, "noise level on the [0, 1] scale, for the discrepancy rule", cli=False)
    tau: float = setting(
        1.0, "the discrepancy rule stops once the mean squared residual is at most tau * sigma^2", positive
    )
    holdout: float = setting(
        0.05, "fraction of measurements the holdout rule holds out", in_range(0, 1, False, False), cli=False
    )
    window: int = setting(50, "window of the variance rule, in steps", at_least(1), cli=False)
    patience: int = setting(300, "steps the variance and holdout rules wait past their minimum", at_least(1), cli=False)
    device: str = setting(
        "cpu",
        "auto, cpu or cuda[:N]",
        (lambda d: d in ("auto", "cpu") or d.startswith("cuda"), "must be auto, cpu or cuda"),
    )
    rollback: float = setting(
        3.16,
        "a step whose loss jumps past this factor times the loss at the last kept weights rolls the prior and "
        "Adam's state back to them and halves the learning rate (the reference DIP's 5 dB); 0 = off",
        non_negative,
    )
    back_project: bool = setting(
        False,
        "return x + A⁺(y − A x) instead of x: the output then reproduces the measurements exactly (known pixels "
        "kept, the low-resolution input reproduced); for noiseless measurements. On the command line "
        "`--back-project on|off` (inpaint, sr, cs)",
        cli=False,
    )
    seed: int = setting(0, "random seed")
    progress: bool = setting(True, "show a progress bar", cli=False)


@dataclass
class FitResult:
    """image: (C, H, W) chosen output; last: (C, H, W) final output; stopped_at: last step run;
    chosen_step: the step the stopping rule chose; history: lists per step (loss, heldout, psnr, psnr_avg) and
    ``rollbacks``, the steps whose loss spike rolled the weights back."""

    image: np.ndarray
    last: np.ndarray
    stopped_at: int
    chosen_step: int
    history: dict = field(default_factory=dict)


def fit(
    prior: torch.nn.Module,
    op: Operator,
    y: torch.Tensor,
    cfg: ImageFitConfig | None = None,
    truth: np.ndarray | None = None,
    rule: Rule | None = None,
    callback: Callable[[int, np.ndarray, float], None] | None = None,
) -> FitResult:
    """Fit ``prior`` so that ``op(prior())`` matches ``y``.

    Parameters
    ----------
    prior : module with a buffer ``z``; ``prior(z)`` returns ``(1, C, H, W)``; optionally
        ``param_groups(lr)`` (Adam's parameter groups) and ``penalty()`` (a scalar added to the loss
        the step minimises; the history records the measurement loss alone)
    op : the forward operator; y : the observation, shape of ``op(prior())``
    truth : optional (C, H, W) ground truth in [0, 1]: PSNR curves go into the history
    rule : a stopping rule (default: ``make_rule(cfg.stop, cfg.sigma)``)
    callback : called as ``callback(step, output (C, H, W), loss)``

    The output returned is the exponential average (``cfg.ema``) of the outputs when ``ema > 0``,
    taken at the step the rule chose; with ``cfg.back_project`` it is then moved onto the measurements
    (`image_priors.operators.back_project`), as are the outputs whose PSNR the history records.

    Loss spikes: every `KEEP_EVERY` steps the weights are kept (with their loss) while the loss
    is not spiking; a step whose loss exceeds ``cfg.rollback`` times the kept loss puts the kept
    weights and Adam's kept state back and halves the learning rate, and its output does not enter
    the average. (The reference DIP code leaves Adam's moments and step size as they are; then the
    same stale moments throw the weights off again a step later, and a fit can end on a spike.)
    """
    from image_priors.metrics import psnr

    cfg = cfg or ImageFitConfig()
    torch.manual_seed(cfg.seed)
    dev = torch.device(cfg.device)
    prior = prior.to(dev)
    op = op.to(dev)
    y = y.to(dev)
    # the settings each rule takes
    takes = {
        "variance": ("window", "patience"),
        "holdout": ("patience",),
        "discrepancy": ("tau",),
        "variance-or-discrepancy": ("tau", "window", "patience"),
    }
    rule = rule or make_rule(cfg.stop, cfg.sigma, **{k: getattr(cfg, k) for k in takes.get(cfg.stop, ())})
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    train = torch.ones_like(y)
    held = None
    if cfg.stop == "holdout":
        held = (torch.rand(y.shape, generator=gen) < cfg.holdout).float().to(dev)
        train = 1 - held
    # a prior may give its parameters their own steps (`image_priors.learned.LatentPrior`)
    groups = prior.param_groups(cfg.lr) if hasattr(prior, "param_groups") else prior.parameters()
    opt = torch.optim.Adam(groups, lr=cfg.lr)
    penalty = getattr(prior, "penalty", None)  # a regulariser added to the measurement loss, if any
    z0 = prior.z.detach().clone()

    def finish(x: torch.Tensor) -> np.ndarray:
        """(1, C, H, W) output -> (C, H, W) array, back-projected onto the measurements if asked."""
        with torch.no_grad():
            if cfg.back_project:
                x = back_project(op, x, y)
        return x[0].cpu().numpy()

    avg = None
    hist = {"loss": [], "heldout": [], "psnr": [], "psnr_avg": [], "rollbacks": []}
    kept = None  # (loss, weights, Adam's state) last kept for the rollback
    saved = {}
    recent = deque(maxlen=max(cfg.window, 1) + 1)  # (step, output) of the last steps
    bar = None
    if cfg.progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=cfg.steps,
            unit="step",
            file=sys.stderr,
            mininterval=0.5 if sys.stderr.isatty() else 15,
            dynamic_ncols=True,
            desc=f"fitting ({rule.name})",
        )
    step = -1
    try:
        for step in range(cfg.steps):
            z = z0 + cfg.jitter * torch.randn(z0.shape, generator=gen).to(dev) if cfg.jitter > 0 else z0
            out = prior(z)
            res = op(out) - y
            loss = (res**2 * train).sum() / train.sum()
            lv = float(loss.detach())
            spike = cfg.rollback > 0 and kept is not None and not lv <= cfg.rollback * kept[0]
            if spike:
                # the weights that made this output diverged: put the kept ones back, skip the step
                prior.load_state_dict(kept[1])
                opt.load_state_dict(kept[2])
                for group in opt.param_groups:
                    group["lr"] *= 0.5
                kept = (kept[0], kept[1], copy.deepcopy(opt.state_dict()))
                hist["rollbacks"].append(step)
            else:
                if cfg.rollback > 0 and step % KEEP_EVERY == 0:
                    weights = {k: v.detach().clone() for k, v in prior.state_dict().items()}
                    kept = (lv, weights, copy.deepcopy(opt.state_dict()))
                opt.zero_grad(set_to_none=True)
                (loss + penalty() if penalty is not None else loss).backward()
                opt.step()
            with torch.no_grad():
                cur = out.detach()
                if spike and avg is not None:
                    cur = avg
                avg = cur if avg is None or cfg.ema <= 0 else cfg.ema * avg + (1 - cfg.ema) * cur
                img = avg[0].cpu().numpy()
                ho = None
                if held is not None:
                    ho = float((res**2 * held).sum() / held.sum().clamp(min=1))
            hist["loss"].append(lv)
            hist["heldout"].append(ho)
            if truth is not None:
                hist["psnr"].append(psnr(truth, finish(cur)))
                hist["psnr_avg"].append(psnr(truth, finish(avg) if cfg.back_project else img))
            stop = rule.update(step, img, lv, ho)
            recent.append((step, img))
            if rule.chosen is not None and rule.chosen != saved.get("step"):
                # rules that look back (the windowed variance) choose a recent step: keep that output
                match = next((im for st, im in recent if st == rule.chosen), None)
                if match is not None:
                    saved = {"step": rule.chosen, "image": match.copy()}
            if callback:
                callback(step, img, lv)
            if bar is not None:
                bar.update(1)
                post = {"loss": f"{lv:.3g}"}
                if hist["psnr_avg"]:
                    post["psnr"] = f"{hist['psnr_avg'][-1]:.2f}"
                bar.set_postfix(post, refresh=False)
            if stop:
                break
    except KeyboardInterrupt:
        print("interrupted: returning the result so far", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    last = avg[0].cpu().numpy() if avg is not None else prior()[0].detach().cpu().numpy()
    if not saved:
        saved = {"step": step, "image": last}
    chosen = saved["image"]
    if cfg.back_project:
        chosen, last = (finish(torch.as_tensor(a, device=dev)[None]) for a in (chosen, last))
    return FitResult(np.clip(chosen, 0, 1), np.clip(last, 0, 1), step, saved["step"], hist)


def step_memory(prior: torch.nn.Module, pixels: int) -> float:
    """Bytes a fitting step of ``prior`` holds for an output of ``pixels`` pixels, measured on
    ``prior`` (built at any size: a small one is enough) and scaled by pixels: the activations
    autograd keeps for the backward pass (which grow with the pixels) plus the weights, their
    gradients and Adam's two moments.

    >>> from image_priors.priors import DeepDecoder
    >>> small = step_memory(DeepDecoder((64, 64), k=8, d=3), 64 * 64)
    >>> 3.5 < step_memory(DeepDecoder((64, 64), k=8, d=3), 128 * 128) / small < 4.0
    True
    """
    kept = {}

    def pack(t):
        kept[(t.data_ptr(), tuple(t.shape), t.dtype)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = prior()
    probe_pixels = out.shape[-1] * out.shape[-2]
    activations = (sum(kept.values()) + 2 * out.numel() * out.element_size()) * pixels / probe_pixels
    weights = sum(p.numel() * p.element_size() for p in prior.parameters())
    return float(activations + 4 * weights)
