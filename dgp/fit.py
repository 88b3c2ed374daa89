"""Fitting the per-patch charts: the local phase and the consistency phase.

All patches of a chunk (``batch_size`` of them) are fit together by one `BatchedMLP` and one
Adam optimiser; peak memory is bounded by the chunk, whatever the number of patches. On the
CPU the chunk's networks are held as a `BlockedMLP` and each step runs forward and backward
one cache-sized block of patches at a time (``block``), skipping blocks whose patches have all
stopped; the fit is the same.

Local phase, per patch p with uv samples ``uv_p (n_p, 2)`` and local points ``x_p (n_p, 3)``:

    every ``match_every`` steps:  π = OT matching of φ_p(uv_p) to x_p
    loss_p = mean_i ‖φ_p(uv_i) − x_{π(i)}‖²  +  w · mean_i Σ_{t ∈ {u, v}} (∂_t φ_p · n_{π(i)})² / ‖∂_t φ_p‖²

The second term (``normal_weight`` w, on a random ``normal_fraction`` of the uv samples each
step) asks the chart's tangent vectors to lie in the plane normal to the matched point's normal:
a chart can only follow the noise in the positions by tilting against the normals, so the term
holds it to the shape. It needs the chart's exact Jacobian (`BatchedMLP.forward_with_jacobian`).
What it does to the Chamfer distance is measured in docs/results.md (the settings table).

The very first matching is made in the tangent plane (uv spread over the patch's principal-axis
box against the points' first two local coordinates), which gives a fold-free start.

Stopping (``stop="discrepancy"``): the network fits the shape first and the noise later, so a
patch stops (its weights are frozen at that step) once its mean squared matched residual falls
to the level that noise alone explains, ``3 tau² sigma²``, with sigma the noise estimated from
the data (`dgp.pointcloud.estimate_noise`) in the patch's units. A chart lying exactly on the
clean surface leaves a residual between sigma² (the normal part of isotropic noise; the matching
absorbs the tangential part) and 3 sigma² (none absorbed); the default tau = 0.6 stops at
1.08 sigma², near the lower end (the rule looks at the position term only). tau was 0.8 while
the noise estimate read low at high noise (0.65 of the truth at 1%); with the quadric estimate
0.8 stopped every patch of the 1%-noise scans at its first check, and 0.6 brings the Chamfer
distance back (fandisk 1%: 2.04e-3 at 0.8, 1.21e-3 at 0.6; 0.5%: 6.8e-4 as before). ``stop="fixed"`` runs every
step and keeps the last weights.

Consistency phase: every input point's target is the average of the point itself and every
patch prediction matched to it; each patch is refit to its points' targets with its last
matching held fixed (the normal term included), and the weights with the lowest loss along the
way are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from dgp.charts import ChartState
from dgp.coordmlp import DEFAULT_WIDTHS, BatchedMLP, BlockedMLP
from dgp.matching import EXACT_METHODS, MATCHING_METHODS, match
from dgp.settings import SettingError, at_least, in_range, non_negative, positive, setting
from dgp.settings import widths as widths_from_text

#: the ``step`` learning-rate schedule: (fraction of a phase's steps from which, factor on the rate)
STEP_SCHEDULE = ((0.7, 0.1), (0.9, 0.01))
#: `STEP_SCHEDULE` in words, for help texts and tables
STEP_SCHEDULE_TEXT = "the rate " + ", ".join(f"x{f:g} from {100 * at:g}% of the steps" for at, f in STEP_SCHEDULE)


@dataclass
class ChartFitConfig:
    """Settings of the chart fitting; the defaults are the documented ones (`dgp.settings`)."""

    widths: tuple = setting(
        DEFAULT_WIDTHS,
        "MLP layer widths, from the 2 uv inputs to the 3 coordinates",
        (
            lambda w: len(w) >= 2 and w[0] == 2 and w[-1] == 3 and min(w) > 0,
            "must start with 2, end with 3 and be positive",
        ),
        group="fitting",
        parse=widths_from_text,
    )
    local_steps: int = setting(500, "steps of the local phase", non_negative, group="fitting")
    consistency_steps: int = setting(200, "steps of the consistency phase", non_negative, group="fitting")
    lr: float = setting(3e-3, "Adam learning rate", positive, group="fitting")
    lr_schedule: str = setting(
        "constant",
        f"learning rate along each phase's steps: constant, or step ({STEP_SCHEDULE_TEXT})",
        choices=("constant", "step"),
        group="fitting",
    )
    match_every: int = setting(50, "recompute the OT matching every k steps", at_least(1), group="fitting")
    matching: str = setting(
        "lsa",
        "OT solver: lsa (exact, scipy's linear_sum_assignment), emd (the same exact matching by POT's ot.emd, "
        "slower), sinkhorn (entropic, sinkhorn_reg), auction (near-exact, every patch at once on the fit's device: "
        "for GPUs); the default is benchmarks/matching.py's rule",
        choices=MATCHING_METHODS,
        group="fitting",
    )
    sinkhorn_reg: float = setting(1e-2, "Sinkhorn regularisation, relative to the mean cost", positive, group="fitting")
    batch_size: int = setting(512, "patches fit together; bounds the memory", at_least(1), group="fitting")
    stop: str = setting(
        "discrepancy",
        "stopping rule of the local phase: discrepancy (stop a patch at the noise level) or fixed",
        choices=("discrepancy", "fixed"),
        group="fitting",
    )
    tau: float = setting(0.6, "the discrepancy rule's factor on the noise level", positive, group="fitting")
    normal_weight: float = setting(
        0.05,
        "weight of the term that tilts each chart towards its points' normals; 0 = positions only",
        non_negative,
        group="fitting",
    )
    normal_fraction: float = setting(
        0.1,
        "fraction of uv samples the normal term looks at per step",
        in_range(0, 1, closed_low=False),
        group="fitting",
    )
    block: int = setting(
        4096,
        "on the CPU, uv samples (patches x points) per forward/backward block, sized to stay in cache; "
        "0 = the whole chunk at once",
        non_negative,
        group="fitting",
    )
    device: str = setting(
        "cpu",
        "auto, cpu or cuda[:N]",
        (lambda d: d in ("auto", "cpu") or d.startswith("cuda"), "must be auto, cpu or cuda"),
        group="fitting",
    )
    seed: int = setting(0, "random seed", group="fitting")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available else CPU; ``"cuda"`` without CUDA raises `SettingError`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SettingError("device", f"{device} was asked for but CUDA is not available (use auto or cpu)")
    return torch.device(device)


def _tangent_matching(uv: np.ndarray, local: np.ndarray, counts: np.ndarray, method: str = "emd") -> np.ndarray:
    """(P, K) int: OT matching of uv spread over each patch's tangent box to its points' (x, y)."""
    flat = np.zeros(local.shape)
    flat[..., :2] = local[..., :2]
    spread = np.zeros(local.shape)
    for p, n in enumerate(counts):
        if n:
            lo, hi = local[p, :n, :2].min(0), local[p, :n, :2].max(0)
            spread[p, :n, :2] = lo + uv[p, :n] * (hi - lo)
    return match(spread, flat, counts, method).index


def _on_cpu(state: dict) -> dict:
    """A `BatchedMLP.state_for` dict with its tensors on the CPU (kept states live there)."""
    return {k: [t.cpu() for t in v] for k, v in state.items()}


def _copy_rows(dst: dict, src, rows, at=slice(None)) -> None:
    """``dst[k][i][at][rows] = src[k][i][rows]`` for the weights and biases; ``dst`` is a state
    dict and ``src`` a `BatchedMLP`, a `BlockedMLP` (copied block by block) or a state dict, each
    on any device; ``rows`` is a (B,) bool mask."""
    rows = torch.as_tensor(rows)
    if isinstance(src, BlockedMLP):
        rows = rows.cpu()
        for sl, part in src.blocks():
            if rows[sl].any():
                _copy_rows(dst, part, rows[sl], sl)
        return
    if isinstance(src, BatchedMLP):
        src = {"weights": src.weights, "biases": src.biases}
    for key in ("weights", "biases"):
        for d, s in zip(dst[key], src[key]):
            d[at][rows.to(d.device)] = s.detach()[rows.to(s.device)].to(d.device)


def block_patches(block: int, K: int) -> int:
    """Patches per block for blocks of about ``block`` uv samples of patches padded to K
    samples (at least 1; 0 when ``block`` is 0, blocking off)."""
    return max(1, block // max(1, K)) if block > 0 else 0


def _network(B: int, K: int, cfg: ChartFitConfig, dev: torch.device, seed: int | None = None):
    """The chunk's B networks of K uv samples each: a `BlockedMLP` on the CPU (blocks of about
    ``cfg.block`` samples), one `BatchedMLP` elsewhere; both start from
    ``BatchedMLP(B, cfg.widths, seed)``'s weights."""
    per = block_patches(cfg.block, K)
    if dev.type == "cpu" and 0 < per < B:
        return BlockedMLP(B, cfg.widths, block=per, seed=seed, device=dev)
    return BatchedMLP(B, cfg.widths, seed=seed).to(dev)


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """The factor on the learning rate at ``step`` of a phase of ``steps`` steps under ``schedule``
    (``constant`` or ``step``, `STEP_SCHEDULE`).

    >>> [lr_factor("step", s, 100) for s in (0, 69, 70, 90)], lr_factor("constant", 99, 100)
    ([1.0, 1.0, 0.1, 0.01], 1.0)
    """
    factor = 1.0
    if schedule == "step":
        for at, f in STEP_SCHEDULE:
            if step >= at * steps:
                factor = f
    return factor


def _set_lr(opt: torch.optim.Optimizer, cfg, step: int, steps: int) -> None:
    """Set the rate of ``opt`` for ``step`` of ``steps`` under ``cfg.lr_schedule`` (a constant
    schedule leaves it untouched)."""
    if cfg.lr_schedule != "constant":
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_factor(cfg.lr_schedule, step, steps)


def _adam(net, lr: float) -> torch.optim.Optimizer:
    """Adam over all the chunk's weights, the fused kernel where this torch has it (same update,
    one pass over the weights instead of several)."""
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(net.parameters(), lr=lr)


def _blockwise(net, losses: Callable, backward: bool = True, skip: torch.Tensor | None = None):
    """Run ``losses(part, sl) -> (report (b,), loss scalar)`` on each block of ``net`` (the whole
    net when it is not blocked), backpropagating each block's loss before the next block runs
    (so its activations are still in cache); returns the (B,) reports and the summed loss,
    detached. A block whose patches are all marked in ``skip (B,)`` is not run (its reports are
    NaN, its weights get no gradient, so Adam leaves them alone)."""
    parts = net.blocks() if isinstance(net, BlockedMLP) else [(slice(None), net)]
    reports, total = [], 0.0
    for sl, part in parts:
        if skip is not None and bool(skip[sl].all()):
            reports.append(torch.full((part.n_models,), float("nan"), device=skip.device))
            continue
        report, loss = losses(part, sl)
        if backward:
            loss.backward()
        reports.append(report.detach())
        total = total + loss.detach()
    return torch.cat(reports), total


def _gather(arr: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows of ``arr (P, K, 3)`` picked per patch by ``idx (P, K)``."""
    return torch.gather(arr, 1, idx[..., None].expand(-1, -1, arr.shape[2]))


def _tilt(net: BatchedMLP, uv_t: torch.Tensor, nrm: torch.Tensor, m: torch.Tensor, cols=None) -> torch.Tensor:
    """(B,) mean over each patch's real uv samples (or the columns ``cols`` of them) of how far
    the chart's tangent vectors ∂φ/∂u, ∂φ/∂v lean out of the plane normal to ``nrm (B, K, 3)``:
    the sum of their squared sines, 0 when the chart's normal is ±nrm (no orientation needed)."""
    if cols is not None:
        uv_t, nrm, m = uv_t[:, cols], nrm[:, cols], m[:, cols]
    _, jac = net.forward_with_jacobian(uv_t)  # (B, k, 2, 3)
    along = (jac * nrm[:, :, None, :]).sum(-1)
    tilt = (along**2 / (jac**2).sum(-1).clamp(min=1e-12)).sum(-1)
    return (tilt * m).sum(1) / m.sum(1).clamp(min=1)


def _tilt_columns(K: int, fraction: float, gen: torch.Generator, device):
    """A random subset of ``fraction`` of the K uv columns (None = all) for this step's tilt."""
    if fraction >= 1:
        return None
    return torch.randperm(K, generator=gen)[: max(1, int(round(K * fraction)))].to(device)


def _nearest_rows(targets: torch.Tensor, local_t: torch.Tensor, mask_t: torch.Tensor) -> torch.Tensor:
    """(B, K) index of the nearest real point of each patch to each target (Sinkhorn's targets
    are barycentres, not points: their normal is taken from the nearest point)."""
    d = torch.cdist(targets, local_t)
    return d.masked_fill(mask_t[:, None, :] == 0, float("inf")).argmin(-1)


def fit_local(
    uv: np.ndarray,
    local: np.ndarray,
    mask: np.ndarray,
    sigma: np.ndarray,
    cfg: ChartFitConfig,
    seed: int,
    progress: Callable | None = None,
    normals: np.ndarray | None = None,
) -> ChartState:
    """Local phase on one chunk.

    Parameters
    ----------
    uv : (B, K, 2) uv samples; local : (B, K, 3) points in local frames; mask : (B, K) bool
    sigma : (B,) noise level in each patch's local units
    seed : seeds the networks of this chunk
    progress : called as ``progress(steps_done, loss)`` after each step
    normals : (B, K, 3) the points' unit normals in the local frames; with ``cfg.normal_weight > 0``
        the loss adds that weight times the mean tilt of the chart against its matched points'
        normals (see `_tilt`); the stopping rule looks at the position residual only

    Returns
    -------
    ChartState of the B patches; its history holds the per-step ``local_loss`` and
    ``matching_seconds``, the wall time of the chunk's matchings (the network's forward pass that
    feeds them included).
    """
    dev = resolve_device(cfg.device)
    B, K, _ = local.shape
    counts = mask.sum(1)
    net = _network(B, K, cfg, dev, seed)
    opt = _adam(net, cfg.lr)
    uv_t = torch.as_tensor(uv, dtype=torch.float32, device=dev)
    local_t = torch.as_tensor(local, dtype=torch.float32, device=dev)
    m = torch.as_tensor(mask, dtype=torch.float32, device=dev)
    denom = m.sum(1).clamp(min=1)
    use_normals = cfg.normal_weight > 0 and normals is not None
    nrm_t = torch.as_tensor(normals, dtype=torch.float32, device=dev) if use_normals else None
    clock = time.perf_counter()
    idx = _tangent_matching(uv, local, counts, cfg.matching if cfg.matching in EXACT_METHODS else "emd")
    matching_seconds = time.perf_counter() - clock
    targets = _gather(local_t, torch.as_tensor(idx, device=dev))
    tnrm = _gather(nrm_t, torch.as_tensor(idx, device=dev)) if use_normals else None
    gen = torch.Generator().manual_seed(int(seed))
    threshold = torch.as_tensor((cfg.tau * np.sqrt(3.0) * sigma) ** 2, dtype=torch.float32, device=dev)
    stopped = torch.zeros(B, dtype=torch.bool, device=dev)
    stopped_at = np.full(B, cfg.local_steps, dtype=np.int64)
    frozen = _on_cpu(net.state_for(slice(None)))
    frozen_idx = idx.copy()
    history = []
    for step in range(cfg.local_steps):
        if step > 0 and step % cfg.match_every == 0:
            clock = time.perf_counter()
            with torch.no_grad():
                pred = net(uv_t)
            if cfg.matching == "auction":  # matches on the device; the others on the CPU
                found = match(pred, local_t, counts, cfg.matching)
            else:
                found = match(pred.double().cpu().numpy(), local, counts, cfg.matching, cfg.sinkhorn_reg)
            if found.index is not None:
                idx = found.index
                targets = _gather(local_t, torch.as_tensor(idx, device=dev))
            else:
                targets = torch.as_tensor(found.targets, dtype=torch.float32, device=dev)
            if use_normals:
                exact = found.index is not None
                rows = torch.as_tensor(idx, device=dev) if exact else _nearest_rows(targets, local_t, m)
                tnrm = _gather(nrm_t, rows)
            matching_seconds += time.perf_counter() - clock
        cols = _tilt_columns(K, cfg.normal_fraction, gen, dev) if use_normals else None

        def losses(part, sl):
            out = part(uv_t[sl])
            pp = (((out - targets[sl]) ** 2).sum(-1) * m[sl]).sum(1) / denom[sl]  # mean squared residual
            loss = pp.sum()
            if use_normals:
                loss = loss + cfg.normal_weight * _tilt(part, uv_t[sl], tnrm[sl], m[sl], cols).sum()
            return pp, loss

        opt.zero_grad(set_to_none=True)
        # (B,) position residuals; blocks whose patches have all stopped are not run (their kept
        # weights are already frozen, so this changes nothing but the time)
        per_patch, loss = _blockwise(net, losses, skip=stopped)
        if cfg.stop == "discrepancy" and step >= cfg.match_every:
            # Patches whose residual reached the noise level are frozen at the weights that produced it.
            newly = (per_patch <= threshold) & ~stopped
            if newly.any():
                sel = newly.cpu().numpy()
                _copy_rows(frozen, net, newly)
                frozen_idx[sel] = idx[sel]
                stopped_at[sel] = step
                stopped |= newly
            if stopped.all():
                break
        _set_lr(opt, cfg, step, cfg.local_steps)
        opt.step()
        history.append(float(loss) / max(1, int(torch.isfinite(per_patch).sum())))
        if progress:
            progress(1, history[-1])
    if progress and len(history) < cfg.local_steps:
        progress(cfg.local_steps - len(history), history[-1] if history else float("nan"))
    keep = stopped.cpu().numpy()
    final = _on_cpu(net.state_for(slice(None)))
    _copy_rows(frozen, final, ~keep)
    frozen_idx[~keep] = idx[~keep]
    return ChartState.from_params(
        frozen,
        frozen_idx,
        stopped_at,
        {"local_loss": history, "matching_seconds": [matching_seconds]},
    )


def fit_consistency(
    uv: np.ndarray,
    targets_local: np.ndarray,
    mask: np.ndarray,
    state: ChartState,
    cfg: ChartFitConfig,
    progress: Callable | None = None,
    normals: np.ndarray | None = None,
) -> ChartState:
    """Consistency phase on one chunk: refit to fixed targets, keep each patch's best weights.

    Parameters
    ----------
    uv : (B, K, 2); targets_local : (B, K, 3), the target for each uv sample (already permuted
    by the held matching) in local units; mask : (B, K)
    state : the chunk's local-phase ChartState (its weights are the starting point)
    normals : (B, K, 3) the normal for each uv sample (permuted like the targets), used as in
        `fit_local` when ``cfg.normal_weight > 0``
    """
    dev = resolve_device(cfg.device)
    B, K = uv.shape[:2]
    net = _network(B, K, cfg, dev)
    net.load_for(slice(None), state.params())
    opt = _adam(net, cfg.lr)
    uv_t = torch.as_tensor(uv, dtype=torch.float32, device=dev)
    tgt = torch.as_tensor(targets_local, dtype=torch.float32, device=dev)
    m = torch.as_tensor(mask, dtype=torch.float32, device=dev)
    denom = m.sum(1).clamp(min=1)
    best = torch.full((B,), float("inf"), device=dev)
    best_state = net.state_for(slice(None))  # on the fitting device until the end
    use_normals = cfg.normal_weight > 0 and normals is not None
    nrm_t = torch.as_tensor(normals, dtype=torch.float32, device=dev) if use_normals else None
    history = []
    gen = torch.Generator().manual_seed(int(cfg.seed))
    for step in range(cfg.consistency_steps + 1):
        cols = _tilt_columns(K, cfg.normal_fraction, gen, dev) if use_normals else None

        def losses(part, sl):
            out = part(uv_t[sl])
            pp = (((out - tgt[sl]) ** 2).sum(-1) * m[sl]).sum(1) / denom[sl]
            if use_normals:
                pp = pp + cfg.normal_weight * _tilt(part, uv_t[sl], nrm_t[sl], m[sl], cols)
            return pp, pp.sum()

        last = step == cfg.consistency_steps
        opt.zero_grad(set_to_none=True)
        per_patch, loss = _blockwise(net, losses, backward=not last)
        better = per_patch < best
        if better.any():
            _copy_rows(best_state, net, better)
            best = torch.where(better, per_patch, best)
        if last:
            break
        _set_lr(opt, cfg, step, cfg.consistency_steps)
        opt.step()
        history.append(float(loss) / B)
        if progress:
            progress(1, history[-1])
    hist = dict(state.history)
    hist["consistency_loss"] = history
    return ChartState.from_params(best_state, state.match, state.stopped_at, hist)
