"""Learned generative priors beside the unlearned ones: a generator G(w) trained on a class of images,
used by CSGM (fit the latent w; Bora et al. 2017) and IAGAN (then fit w and G's weights together,
then back-project onto the measurements; Abu Hussein, Tirer & Giryes 2020); and a latent
convolutional model (LCM; Athar, Burnaev & Lempitsky 2019), whose latent is the weights of a small
per-image ConvNet (`image_priors.priors.latent_conv`), trained GLO-style (`train_lcm`) and fitted to
an observation with its generator fixed (`lcm`).

All three run through `image_priors.fit.fit` like DIP and the Deep Decoder: a `LatentPrior` is a prior
whose parameters are the latent (and, for IAGAN, the generator's weights), so the operators,
stopping rules, loss-spike rollback, back-projection and history are the same.

>>> import torch
>>> from image_priors.fit import ImageFitConfig
>>> from image_priors.operators import Mask
>>> g = Generator(latent=8, channels=1, width=4)
>>> x = g(torch.zeros(1, 8)).detach()
>>> op = Mask.random((32, 32), 0.5, seed=0)
>>> res = csgm(g, op, op(x), ImageFitConfig(steps=5, progress=False), restarts=2)
>>> res.image.shape, len(res.history["restart_loss"])
((1, 32, 32), 2)
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from dgp.errors import InputError
from image_priors.priors._seed import seeded
from image_priors.priors.latent_conv import LatentConvModel

#: the architectures a ``state_dict`` file may name (``--generator`` files made elsewhere say ``arch``):
#: ``dcgan32`` a latent vector's generator (CSGM, IAGAN), ``lcm32`` a latent convolutional model (LCM)
ARCHITECTURES = ("dcgan32", "lcm32")


class Generator(nn.Module):
    """The ``dcgan32`` generator: w (N, latent) → (N, channels, 32, 32) in [0, 1].

    A linear layer to 4×4 maps of 4·width channels, three ×2 transposed convolutions (4·width →
    2·width → width → channels; kernel 4, stride 2) with batch norm and ReLU between them, and a
    sigmoid. About 0.3 M parameters at width 32, latent 64.
    """

    arch = "dcgan32"
    size = 32

    def __init__(self, latent: int = 64, channels: int = 1, width: int = 32, seed: int = 0):
        super().__init__()
        self.latent, self.channels, self.width = latent, channels, width
        with seeded(seed):
            self.fc = nn.Linear(latent, 4 * width * 16)
            self.net = nn.Sequential(
                nn.BatchNorm2d(4 * width),
                nn.ReLU(),
                nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1),
                nn.BatchNorm2d(2 * width),
                nn.ReLU(),
                nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.ConvTranspose2d(width, channels, 4, 2, 1),
                nn.Sigmoid(),
            )

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(w).view(len(w), 4 * self.width, 4, 4))

    def kwargs(self) -> dict:
        return {"latent": self.latent, "channels": self.channels, "width": self.width}


class _Encoder(nn.Module):
    """(N, C, 32, 32) → (mean, log variance), each (N, latent): the VAE's encoder, used in training only."""

    def __init__(self, latent: int, channels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
            nn.BatchNorm2d(4 * width),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(4 * width * 16, 2 * latent),
        )

    def forward(self, x):
        return self.net(x).chunk(2, dim=1)


def train_generator(
    images: np.ndarray,
    latent: int = 64,
    width: int = 32,
    steps: int = 3000,
    batch: int = 64,
    lr: float = 2e-3,
    beta: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Generator, list]:
    """Train a `Generator` as the decoder of a variational auto-encoder on ``images (N, C, 32, 32)`` in
    [0, 1] (random horizontal flips): loss = mean squared reconstruction error · (pixels) + beta · KL.
    A VAE trains stably in minutes on a CPU, where a GAN of this size needs care; CSGM only needs a
    decoder whose range holds the class. Returns ``(generator in eval mode, loss per step)``."""
    imgs = torch.as_tensor(np.asarray(images, np.float32))
    if imgs.ndim != 4 or imgs.shape[-2:] != (32, 32):
        raise ValueError(f"train_generator needs (N, C, 32, 32) images, got {tuple(imgs.shape)}")
    torch.manual_seed(seed)
    gen = Generator(latent, imgs.shape[1], width, seed=seed)
    enc = _Encoder(latent, imgs.shape[1], width)
    opt = torch.optim.Adam([*gen.parameters(), *enc.parameters()], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = torch.Generator().manual_seed(seed)
    bar = _TrainingBar(steps, "training the generator", progress)
    losses = []
    pixels = imgs[0].numel()
    gen.train()
    enc.train()
    for _ in range(steps):
        idx = torch.randint(len(imgs), (batch,), generator=rng)
        x = imgs[idx]
        flip = torch.rand(batch, generator=rng) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        mu, logvar = enc(x)
        w = mu + torch.randn(mu.shape, generator=rng) * (0.5 * logvar).exp()
        rec = ((gen(w) - x) ** 2).mean() * pixels
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
        loss = rec + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(rec.detach()) / pixels)
        bar.tick(losses[-1])
    bar.close()
    return gen.eval(), losses


class _TrainingBar:
    """A progress bar on stderr with the training MSE (``on``), or nothing."""

    def __init__(self, steps: int, desc: str, on: bool):
        self.bar = None
        if on:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, unit="step", file=sys.stderr, desc=desc, mininterval=1)

    def tick(self, mse: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({"mse": f"{mse:.4f}"}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def save_generator(path, gen: Generator, about: dict | None = None) -> None:
    """Write ``gen`` as a ``state_dict`` file `load_generator` reads (with its architecture, latent size,
    output range and ``about``: the data and the command that made it). Atomic."""
    from dgp.util import atomic_path

    blob = {
        "arch": gen.arch,
        "kwargs": gen.kwargs(),
        "latent": gen.latent,
        "range": [0.0, 1.0],
        "about": dict(about or {}),
        "state_dict": gen.state_dict(),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


@dataclass
class GeneratorInfo:
    """What a generator file says of itself: ``latent`` size, output ``shape (C, H, W)``, ``range``,
    ``about`` (the data and command that made it) and ``arch`` (one of `ARCHITECTURES`, or
    ``torchscript``)."""

    latent: int
    shape: tuple
    range: tuple
    about: dict
    arch: str = "dcgan32"


def load_generator(path, arch: str | None = None, latent: int | None = None, value_range=None):
    """Load a generator for CSGM, IAGAN (``dcgan32``, TorchScript) or LCM (``lcm32``): a file of
    `save_generator` (also for a `train_lcm` model), a bare ``state_dict`` of a named architecture
    (``arch``, with ``latent``), or a TorchScript module (``latent`` given, or an attribute ``latent``
    of the module). Nothing in the file is executed as Python: ``torch.load`` runs with
    ``weights_only=True``, and TorchScript holds no Python code.

    The generator is run once on a zero latent: its output must be (1, C, H, W), and within
    ``value_range`` (default: the file's, else [0, 1]); an output in [-1, 1] (a tanh generator) is
    said so. Returns ``(generator in eval mode, GeneratorInfo)``; every problem raises `InputError`."""
    import zipfile
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise InputError("no such generator file", path)
    about, rng_ = {}, value_range
    if zipfile.is_zipfile(path) and _is_torchscript(path):
        import warnings

        try:
            with warnings.catch_warnings():  # torch 2.13 marks TorchScript deprecated; users still ship it
                warnings.simplefilter("ignore", DeprecationWarning)
                gen = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - any failure is the file's
            raise InputError(f"not a loadable TorchScript generator ({exc.__class__.__name__})", path) from None
        latent, arch = latent or getattr(gen, "latent", None), "torchscript"
        if not latent:
            raise InputError("a TorchScript generator needs its latent size: --latent N", path)
    else:
        try:
            blob = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"not a generator file ({exc.__class__.__name__})", path) from None
        if isinstance(blob, dict) and "state_dict" in blob:
            arch = arch or blob.get("arch")
            kwargs = dict(blob.get("kwargs", {}))
            latent = latent or blob.get("latent") or kwargs.get("latent")
            rng_ = rng_ or blob.get("range")
            about = dict(blob.get("about", {}))
            state = blob["state_dict"]
        elif isinstance(blob, dict) and all(isinstance(v, torch.Tensor) for v in blob.values()):
            state, kwargs = blob, {}
        else:
            raise InputError("not a generator file: expected a state_dict or a TorchScript module", path)
        if arch not in ARCHITECTURES:
            raise InputError(f"name the generator's architecture: --arch {' | '.join(ARCHITECTURES)}", path)
        if arch == "lcm32":
            kwargs.pop("latent", None)  # an LCM's latent size follows from its latent network
            cls = LatentConvModel
        else:
            cls = Generator
            if latent:
                kwargs["latent"] = int(latent)
            if "channels" not in kwargs and "net.8.weight" in state:
                kwargs["channels"] = int(state["net.8.weight"].shape[1])
            if "width" not in kwargs and "net.8.weight" in state:
                kwargs["width"] = int(state["net.8.weight"].shape[0])
            if "latent" not in kwargs and "fc.weight" in state:
                kwargs["latent"] = int(state["fc.weight"].shape[1])
        try:
            gen = cls(**kwargs)
            gen.load_state_dict(state)
        except (RuntimeError, TypeError, ValueError) as exc:
            first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise InputError(f"the weights do not fit a {arch} generator: {first}", path) from None
        latent = gen.latent
    return _checked(gen, latent, rng_, about, path, arch)


def _checked(gen, latent, rng_, about, path, arch):
    """Run ``gen`` once on a zero latent; check its output's shape and range; freeze it.
    Returns ``(gen in eval mode, GeneratorInfo)``; problems raise `InputError`."""
    gen.eval()
    lo, hi = (float(v) for v in (rng_ or (0.0, 1.0)))
    try:
        with torch.no_grad():
            out = gen(torch.zeros(1, int(latent)))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"the generator fails on a latent of size {latent} ({exc.__class__.__name__})", path) from None
    if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != 1:
        raise InputError(f"the generator must return (1, C, H, W) images, got {getattr(out, 'shape', type(out))}", path)
    if float(out.min()) < lo - 1e-4 or float(out.max()) > hi + 1e-4:
        raise InputError(
            f"the generator's output spans [{float(out.min()):.2f}, {float(out.max()):.2f}], outside its stated "
            f"range [{lo:g}, {hi:g}] (a tanh generator: --range -1 1)",
            path,
        )
    for p in gen.parameters():
        p.requires_grad_(False)
    return gen, GeneratorInfo(int(latent), tuple(out.shape[1:]), (lo, hi), about, arch)


def _is_torchscript(path) -> bool:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())


#: scikit-image pictures the ``patches`` class is cut from (grey, resized to 128 on their short side);
#: camera and astronaut are held out of training, to test on
PATCH_TRAIN = ("brick", "coffee", "chelsea", "coins", "grass", "gravel", "horse", "page", "rocket", "text", "moon")
PATCH_TEST = ("camera", "astronaut")


def faces(split: str = "train") -> np.ndarray:
    """The 100 faces of scikit-image's ``lfw_subset`` (grey, 25×25; its other 100 images are background
    crops, not faces) resized to 32×32: ``(N, 1, 32, 32)`` float32. ``train`` is the first 80 faces,
    ``test`` the last 20 (held out of training)."""
    from skimage import data
    from skimage.transform import resize

    imgs = np.asarray(data.lfw_subset(), np.float64)[:100]
    imgs = imgs[:80] if split == "train" else imgs[80:] if split == "test" else None
    if imgs is None:
        raise ValueError(f"split must be train or test, got {split!r}")
    return np.stack([resize(im, (32, 32), anti_aliasing=True) for im in imgs])[:, None].astype(np.float32)


def patches(split: str = "train", count: int = 4096, seed: int = 0, min_std: float = 0.0) -> np.ndarray:
    """``count`` random 32×32 crops of grey scikit-image pictures (`PATCH_TRAIN` or `PATCH_TEST`,
    each resized to 128 pixels on its short side), crops flatter than ``min_std`` redrawn:
    ``(count, 1, 32, 32)`` float32 in [0, 1]."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    names = PATCH_TRAIN if split == "train" else PATCH_TEST if split == "test" else None
    if names is None:
        raise ValueError(f"split must be train or test, got {split!r}")
    pics = []
    for n in names:
        im = np.asarray(getattr(data, n)(), np.float64)
        im = rgb2gray(im[..., :3]) if im.ndim == 3 else im / (255.0 if im.max() > 1 else 1.0)
        h, w = im.shape
        k = 128 / min(h, w)
        pics.append(np.clip(resize(im, (round(h * k), round(w * k)), anti_aliasing=True), 0, 1))
    rng = np.random.default_rng(seed)
    out = np.empty((count, 1, 32, 32), np.float32)
    i = 0
    while i < count:
        im = pics[rng.integers(len(pics))]
        y, x = rng.integers(im.shape[0] - 31), rng.integers(im.shape[1] - 31)
        out[i, 0] = im[y : y + 32, x : x + 32]
        i += bool(out[i, 0].std() >= min_std)
    return out


#: the classes `train_generator` is offered on the command line: name -> (loader, what it is)
DATASETS = {
    "faces": (faces, "the 100 faces of scikit-image's lfw_subset, 80 for training, 20 held out, 32x32 grey"),
    "patches": (patches, "32x32 grey crops of 11 scikit-image pictures; camera and astronaut held out"),
}


class LatentPrior(nn.Module):
    """A prior ``G(w)`` for `image_priors.fit.fit`: the latent ``w (1, latent)`` is a parameter; the
    generator's weights are fixed (CSGM) or fitted too (IAGAN, ``fit_generator``). Outputs in the
    generator's ``value_range`` are mapped to [0, 1]. ``penalty()`` is ``lam · mean(w²)``, added to the
    measurement loss (CSGM's λ‖z‖², per latent entry); ``param_groups(lr)`` gives the latent the step
    ``lr · latent_lr`` (IAGAN: 1e-4 on z against 1e-3 on θ)."""

    def __init__(
        self,
        generator: nn.Module,
        w: torch.Tensor,
        lam: float = 0.0,
        fit_generator: bool = False,
        latent_lr: float = 1.0,
        value_range=(0.0, 1.0),
    ):
        super().__init__()
        self.generator = generator
        self.w = nn.Parameter(w.detach().clone().reshape(1, -1))
        self.register_buffer("z", torch.zeros(1))  # the fit loop's input, unused: the latent is w
        self.lam, self.latent_lr, self.fit_generator = lam, latent_lr, fit_generator
        self.lo, self.hi = (float(v) for v in value_range)
        for p in generator.parameters():
            p.requires_grad_(fit_generator)
        generator.eval()  # batch norm in its trained state, also while its weights are fitted

    def forward(self, z=None) -> torch.Tensor:
        return (self.generator(self.w) - self.lo) / (self.hi - self.lo)

    def penalty(self) -> torch.Tensor:
        return self.lam * (self.w**2).mean()

    def param_groups(self, lr: float) -> list:
        groups = [{"params": [self.w], "lr": lr * self.latent_lr}]
        if self.fit_generator:
            groups.append({"params": [p for p in self.generator.parameters()], "lr": lr})
        return groups


#: CSGM's reference settings (Bora et al. 2017: Adam lr 0.1, 500-1,800 steps, 2-5 restarts)
CSGM_LR, CSGM_RESTARTS, CSGM_LAM = 0.1, 3, 1e-3
#: IAGAN's (Abu Hussein et al. 2020: Adam, lr 1e-3 on θ and 1e-4 on z, ~300 steps)
IAGAN_LR, IAGAN_LATENT_LR, IAGAN_STEPS = 1e-3, 0.1, 300


def csgm(gen, op, y, cfg=None, restarts: int = CSGM_RESTARTS, lam: float = CSGM_LAM, truth=None, value_range=(0, 1)):
    """CSGM: ŵ = argmin_w ‖A G(w) − y‖² + λ‖w‖² by Adam on w from ``restarts`` random starts
    (seeds ``cfg.seed`` + r); the restart with the lowest final measurement loss is returned, a
    `FitResult` whose ``latent`` is its ŵ (1, latent) and whose history has ``restart_loss``.
    ``cfg`` (`ImageFitConfig`) holds steps, lr (reference 0.1), stop, device; its ``ema`` and
    ``jitter`` are ignored (the latent is the output's only input)."""
    from image_priors.fit import ImageFitConfig

    cfg = cfg or ImageFitConfig(lr=CSGM_LR, steps=1000)
    latent = _latent_size(gen)

    def start(r):
        w0 = torch.randn(1, latent, generator=torch.Generator().manual_seed(cfg.seed + r))
        return LatentPrior(gen, w0, lam=lam, value_range=value_range)

    return _best_restart(start, op, y, cfg, restarts, truth)


def _best_restart(start, op, y, cfg, restarts: int, truth=None):
    """Fit ``start(r)`` (a `LatentPrior`) for r < ``restarts`` (seeds ``cfg.seed`` + r) and return the
    `FitResult` of the lowest final measurement loss, with ``latent`` (its fitted w) and
    ``history["restart_loss"]`` (the final loss of each restart)."""
    from image_priors.fit import fit

    best, finals = None, []
    for r in range(max(1, restarts)):
        prior = start(r)
        res = fit(prior, op, y, replace(cfg, seed=cfg.seed + r, ema=0.0, jitter=0.0), truth=truth)
        final = res.history["loss"][-1]
        finals.append(final)
        if best is None or final < best[0]:
            best = (final, res, prior.w.detach().cpu().clone())
    _, res, w = best
    res.history["restart_loss"] = finals
    res.latent = w
    return res


def iagan(
    gen,
    op,
    y,
    cfg=None,
    csgm_cfg=None,
    restarts: int = CSGM_RESTARTS,
    lam: float = CSGM_LAM,
    truth=None,
    value_range=(0, 1),
):
    """IAGAN: CSGM (``csgm_cfg``), then w and a copy of G's weights fitted together to the one
    observation (``cfg``: reference Adam lr 1e-3 on θ, `IAGAN_LATENT_LR` × that on w, 300 steps),
    then, with ``cfg.back_project``, x + A⁺(y − A x). ``gen`` itself is left as it was. Returns the
    `FitResult` of the joint fit, with ``csgm`` (the first stage's result) attached."""
    from image_priors.fit import ImageFitConfig, fit

    first = csgm(gen, op, y, csgm_cfg, restarts=restarts, lam=lam, truth=truth, value_range=value_range)
    cfg = cfg or ImageFitConfig(lr=IAGAN_LR, steps=IAGAN_STEPS, back_project=True)
    own = copy.deepcopy(gen)
    prior = LatentPrior(
        own, first.latent, lam=lam, fit_generator=True, latent_lr=IAGAN_LATENT_LR, value_range=value_range
    )
    res = fit(prior, op, y, replace(cfg, ema=0.0, jitter=0.0), truth=truth)
    res.csgm = first
    res.latent = prior.w.detach().cpu().clone()
    return res


def _latent_size(gen) -> int:
    latent = getattr(gen, "latent", None)
    if not latent:
        raise ValueError("the generator does not say its latent size (an attribute `latent`)")
    return int(latent)


#: LCM's restoration (the latent network's weights, the generator fixed): Adam lr, restarts
LCM_LR, LCM_RESTARTS = 0.01, 3


def lcm(model: LatentConvModel, op, y, cfg=None, restarts: int = LCM_RESTARTS, truth=None, value_range=(0, 1)):
    """Restoration with a latent convolutional model: the weights φ of a fresh latent network are
    fitted to the observation, x = g_θ(f_φ(s)) with g_θ and s fixed, from ``restarts`` initialisations
    (`LatentConvModel.init_latent`, seeds ``cfg.seed`` + r); the lowest final measurement loss wins.
    ``cfg`` holds steps, lr (default `LCM_LR`), stop, device, back_project. Returns a `FitResult` whose
    ``latent`` is the fitted φ ``(1, model.latent)``."""
    from image_priors.fit import ImageFitConfig

    cfg = cfg or ImageFitConfig(lr=LCM_LR, steps=500)

    def start(r):
        return LatentPrior(model, model.init_latent(1, seed=cfg.seed + r), value_range=value_range)

    return _best_restart(start, op, y, cfg, restarts, truth)


def train_lcm(
    images: np.ndarray,
    steps: int = 3000,
    batch: int = 32,
    lr: float = 1e-3,
    latent_lr: float = 1e-2,
    seed: int = 0,
    progress: bool = True,
    **model_kw,
) -> tuple[LatentConvModel, list]:
    """Train a `LatentConvModel` GLO-style on ``images (N, C, 32, 32)`` in [0, 1]: every image and its
    mirror image has its own latent network φ_i (rows of a sparse embedding, `torch.optim.SparseAdam`
    at ``latent_lr``, so only the images of a batch move), learnt jointly with the generator θ (Adam at
    ``lr``) to minimise the mean squared error of g_θ(f_φ_i(s)) against image i; cosine learning-rate
    decay. No encoder, no adversary: the latents are free parameters, as in Bojanowski et al.'s GLO.
    Returns ``(model in eval mode, mean squared error per step)``; the training latents are dropped
    (restoration starts a fresh latent network)."""
    imgs = torch.as_tensor(np.asarray(images, np.float32))
    if imgs.ndim != 4 or imgs.shape[-2:] != (32, 32):
        raise ValueError(f"train_lcm needs (N, C, 32, 32) images, got {tuple(imgs.shape)}")
    imgs = torch.cat([imgs, imgs.flip(-1)])
    model = LatentConvModel(out_channels=imgs.shape[1], seed=seed, **model_kw)
    codes = nn.Embedding(len(imgs), model.latent, sparse=True)
    with torch.no_grad():
        codes.weight.copy_(model.init_latent(len(imgs), seed=seed + 1))
    opts = [
        torch.optim.Adam(model.generator.parameters(), lr=lr),
        torch.optim.SparseAdam(codes.parameters(), lr=latent_lr),
    ]
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, steps) for o in opts]
    rng = torch.Generator().manual_seed(seed)
    bar = _TrainingBar(steps, "training the LCM", progress)
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(imgs), (min(batch, len(imgs)),), generator=rng)
        loss = ((model(codes(idx)) - imgs[idx]) ** 2).mean()
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o, sch in zip(opts, scheds):
            o.step()
            sch.step()
        losses.append(float(loss.detach()))
        bar.tick(losses[-1])
    bar.close()
    return model.eval(), losses
