"""`BatchedMLP`: P independent ReLU MLPs evaluated together with ``torch.baddbmm``.

The Deep Geometric Prior holds one small network per patch; the reference keeps thousands of
separate modules and runs them one at a time. Stacking their weights into ``(P, d_in, d_out)``
tensors evaluates all of them in one batched matrix product per layer and lets one Adam
optimiser update all of them (Adam is element-wise, so this is exactly P independent Adams).

>>> import torch
>>> net = BatchedMLP(n_models=4, widths=(2, 16, 16, 3), seed=0)
>>> net(torch.rand(4, 10, 2)).shape
torch.Size([4, 10, 3])
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

#: The reference DGP's network, 2-128-256-512-512-3.
REFERENCE_WIDTHS = (2, 128, 256, 512, 512, 3)
#: The default: the best quality per second on a CPU (docs/results.md).
DEFAULT_WIDTHS = (2, 128, 128, 3)


class BatchedMLP(nn.Module):
    """P independent MLPs ``R^d_in -> R^d_out`` with ReLU between linear layers.

    Parameters
    ----------
    n_models : P, the number of independent networks.
    widths : layer widths ``(d_in, h_1, ..., d_out)``.
    seed : optional seed for the initialisation (else the global torch generator is used).

    Attributes
    ----------
    weights : list of ``(P, w_l, w_{l+1})`` parameters.
    biases : list of ``(P, 1, w_{l+1})`` parameters.

    Initialisation matches ``nn.Linear`` (uniform in ±1/sqrt(fan_in)), independently per model.
    """

    def __init__(
        self,
        n_models: int,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        seed: int | None = None,
        dtype: torch.dtype = torch.float32,
        device=None,
    ):
        super().__init__()
        if n_models < 1:
            raise ValueError(f"n_models must be positive, got {n_models}")
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must be at least (d_in, d_out) and positive, got {widths}")
        self.n_models, self.widths = int(n_models), widths
        gen = None
        if seed is not None:
            gen = torch.Generator().manual_seed(int(seed))
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            w = (torch.rand(n_models, fan_in, fan_out, generator=gen, dtype=dtype) * 2 - 1) * bound
            b = (torch.rand(n_models, 1, fan_out, generator=gen, dtype=dtype) * 2 - 1) * bound
            self.weights.append(nn.Parameter(w.to(device)))
            self.biases.append(nn.Parameter(b.to(device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (P, K, d_in) -> (P, K, d_out)``; model p sees only ``x[p]``."""
        if x.dim() != 3 or x.shape[0] != self.n_models or x.shape[2] != self.widths[0]:
            raise ValueError(f"expected input of shape ({self.n_models}, K, {self.widths[0]}), got {tuple(x.shape)}")
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x

    def forward_with_jacobian(self, x: torch.Tensor):
        """Outputs and their exact Jacobian by forward-mode propagation (differentiable).

        ``x: (P, K, d_in) -> (out (P, K, d_out), jac (P, K, d_in, d_out))`` with
        ``jac[p, k, i, j] = ∂out_j / ∂x_i`` at ``x[p, k]``. A ReLU network is piecewise linear, so
        the Jacobian is the product of the weights with the active units masked; it costs about
        ``d_in`` extra forward passes and no double backward.
        """
        if x.dim() != 3 or x.shape[0] != self.n_models or x.shape[2] != self.widths[0]:
            raise ValueError(f"expected input of shape ({self.n_models}, K, {self.widths[0]}), got {tuple(x.shape)}")
        P, K, d = x.shape
        last = len(self.weights) - 1
        tan = None  # (P, K, d, width) tangents of the current layer's input
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b, x, w)
            if tan is None:
                tz = w[:, None].expand(P, K, d, w.shape[2])
            else:
                tz = torch.bmm(tan.reshape(P, K * d, -1), w).reshape(P, K, d, w.shape[2])
            if i < last:
                active = (z > 0).to(z.dtype)
                x = z * active
                tan = tz * active[:, :, None, :]
            else:
                x, tan = z, tz
        return x, tan

    def n_parameters_per_model(self) -> int:
        """Parameters of one of the P networks."""
        return sum(a * b + b for a, b in zip(self.widths[:-1], self.widths[1:]))

    @classmethod
    def from_params(cls, params: dict, device="cpu") -> "BatchedMLP":
        """A `BatchedMLP` holding copies of the weights of a `state_for` dict (the global torch
        generator is not drawn from).

        >>> a = BatchedMLP(3, (2, 8, 3), seed=0)
        >>> b = BatchedMLP.from_params(a.state_for(slice(None)))
        >>> x = torch.rand(3, 5, 2)
        >>> bool(torch.equal(a(x), b(x)))
        True
        """
        weights = params["weights"]
        widths = (int(weights[0].shape[1]),) + tuple(int(w.shape[2]) for w in weights)
        net = cls(int(weights[0].shape[0]), widths, seed=0, dtype=weights[0].dtype).to(device)
        net.load_for(slice(None), params)
        return net

    def state_for(self, index) -> dict:
        """Weights of the models at ``index`` (an index or boolean mask over P), detached copies."""
        return {
            "weights": [w.detach()[index].clone() for w in self.weights],
            "biases": [b.detach()[index].clone() for b in self.biases],
        }

    @torch.no_grad()
    def load_for(self, index, state: dict) -> None:
        """Overwrite the models at ``index`` with a `state_for` dict."""
        for w, s in zip(self.weights, state["weights"]):
            w[index] = s.to(w)
        for b, s in zip(self.biases, state["biases"]):
            b[index] = s.to(b)

    def to_sequential(self, p: int) -> nn.Sequential:
        """Model ``p`` as a plain ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU`` (same outputs)."""
        layers = []
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            lin = nn.Linear(w.shape[1], w.shape[2], dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(w[p].T)
                lin.bias.copy_(b[p, 0])
            layers.append(lin)
            if i < last:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    @classmethod
    def from_sequentials(cls, nets: Sequence[nn.Sequential]) -> "BatchedMLP":
        """Stack P identical-shape ``nn.Sequential`` MLPs (Linear/ReLU) into one `BatchedMLP`."""
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        widths = [linears[0][0].in_features] + [lin.out_features for lin in linears[0]]
        out = cls(len(nets), widths, dtype=linears[0][0].weight.dtype)
        with torch.no_grad():
            for li in range(len(widths) - 1):
                out.weights[li].copy_(torch.stack([lins[li].weight.T for lins in linears]))
                out.biases[li].copy_(torch.stack([lins[li].bias[None] for lins in linears]))
        return out


class BlockedMLP(nn.Module):
    """The P networks of a `BatchedMLP` held as consecutive blocks of ``block`` networks, each
    block its own `BatchedMLP` (its own leaf parameters).

    A training step can then run forward and backward one block at a time (`blocks`): on a CPU
    the activations of a whole chunk (P × K × width floats, tens of MB) do not fit in cache and
    the element-wise steps (ReLU and its backward) run at memory speed; a block of 16 patches of
    256 points does fit, so the element-wise steps run from cache (`dgp.fit` sizes blocks to
    about 4,096 samples whatever the patch size; the gain is measured in docs/results.md). The
    initial weights are those of ``BatchedMLP(n_models, widths, seed)``, so the blocking does
    not change what is fitted (Adam is element-wise, so one optimiser over all blocks is still
    P independent Adams).

    >>> net = BlockedMLP(5, (2, 8, 3), block=2, seed=0)
    >>> [(s.start, s.stop) for s, _ in net.blocks()]
    [(0, 2), (2, 4), (4, 5)]
    >>> x = torch.rand(5, 7, 2)
    >>> torch.allclose(net(x), BatchedMLP(5, (2, 8, 3), seed=0)(x))
    True
    """

    def __init__(
        self,
        n_models: int,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        block: int = 16,
        seed: int | None = None,
        device=None,
    ):
        super().__init__()
        if block < 1:
            raise ValueError(f"block must be positive, got {block}")
        whole = BatchedMLP(n_models, widths, seed=seed)
        self.n_models, self.widths = whole.n_models, whole.widths
        self.bounds = [slice(s, min(s + block, n_models)) for s in range(0, n_models, block)]
        self.parts = nn.ModuleList()
        for sl in self.bounds:
            part = BatchedMLP(sl.stop - sl.start, widths)
            part.load_for(slice(None), whole.state_for(sl))
            self.parts.append(part.to(device))

    def blocks(self):
        """``(slice over P, BatchedMLP of that block)`` pairs, in order."""
        return zip(self.bounds, self.parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (P, K, d_in) -> (P, K, d_out)``, block by block."""
        return torch.cat([part(x[sl]) for sl, part in self.blocks()])

    def forward_with_jacobian(self, x: torch.Tensor):
        """As `BatchedMLP.forward_with_jacobian`, block by block."""
        outs = [part.forward_with_jacobian(x[sl]) for sl, part in self.blocks()]
        return torch.cat([o for o, _ in outs]), torch.cat([j for _, j in outs])

    @property
    def weights(self) -> list:
        """``(P, w_l, w_{l+1})`` per layer: detached copies joined over the blocks."""
        return [torch.cat([p.weights[i].detach() for p in self.parts]) for i in range(len(self.widths) - 1)]

    @property
    def biases(self) -> list:
        """``(P, 1, w_{l+1})`` per layer: detached copies joined over the blocks."""
        return [torch.cat([p.biases[i].detach() for p in self.parts]) for i in range(len(self.widths) - 1)]

    def state_for(self, index) -> dict:
        """As `BatchedMLP.state_for`."""
        return {"weights": [w[index].clone() for w in self.weights], "biases": [b[index].clone() for b in self.biases]}

    @torch.no_grad()
    def load_for(self, index, state: dict) -> None:
        """As `BatchedMLP.load_for`; ``index`` is a slice, an index array or a bool mask over P."""
        rows = torch.arange(self.n_models)[index]
        where = torch.full((self.n_models,), -1, dtype=torch.long)
        where[rows] = torch.arange(len(rows))
        for sl, part in self.blocks():
            here = where[sl]
            sel = here >= 0
            if sel.any():
                part.load_for(sel, {k: [t[here[sel]] for t in v] for k, v in state.items()})
