"""`ChartState`: the one owner of the fitted chart weights of P patches.

The weights of every chart travel from the fit to the written mesh as one object: a chunk's
fit returns a `ChartState` of its B charts (`ChartState.from_params`), the reconstruction's
store takes it row-wise (`assign`), consistency refits take slices of it (`rows`), and outputs
turn any subset back into networks (`network`, `evaluate`).

>>> import numpy as np, torch
>>> charts = ChartState.blank(4, K=5, widths=(2, 8, 3), seed=0)
>>> charts.widths, len(charts)
((2, 8, 3), 4)
>>> part = ChartState.blank(2, K=5, widths=(2, 8, 3), seed=1)
>>> charts.assign(np.array([1, 3]), part)
>>> bool(torch.equal(charts.rows(np.array([3])).weights[0][0], part.weights[0][1]))
True
>>> tuple(charts.evaluate(torch.rand(4, 7, 2)).shape)
(4, 7, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from dgp.coordmlp import BatchedMLP


@dataclass
class ChartState:
    """Fitted charts of P patches: stacked weights (CPU tensors) plus the last matching.

    weights : list of (P, w_l, w_{l+1}) float32
    biases : list of (P, 1, w_{l+1}) float32
    match : (P, K) int, for every uv sample the patch-row of the point it is matched to
    stopped_at : (P,) int, the local step whose weights were kept
    history : per-step losses of the fit that made it (lists by name)
    """

    weights: list
    biases: list
    match: np.ndarray
    stopped_at: np.ndarray
    history: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def widths(self) -> tuple:
        """Layer widths of every chart's network, from the 2 uv inputs to the 3 coordinates."""
        return (int(self.weights[0].shape[1]),) + tuple(int(w.shape[2]) for w in self.weights)

    @classmethod
    def blank(cls, n: int, K: int, widths, seed: int) -> "ChartState":
        """``n`` untrained charts (``BatchedMLP(n, widths, seed)``'s weights) with the identity matching."""
        net = BatchedMLP(max(n, 1), widths, seed=seed)
        return cls.from_params(net.state_for(slice(0, n)), np.tile(np.arange(K), (n, 1)), np.zeros(n, dtype=np.int64))

    @classmethod
    def from_params(cls, params: dict, match: np.ndarray, stopped_at: np.ndarray, history=None) -> "ChartState":
        """From a `BatchedMLP.state_for` dict (on any device: copied to the CPU)."""
        return cls(
            [w.detach().cpu() for w in params["weights"]],
            [b.detach().cpu() for b in params["biases"]],
            match,
            stopped_at,
            dict(history or {}),
        )

    def params(self) -> dict:
        """The weights as a `BatchedMLP.load_for` dict (the tensors themselves, not copies)."""
        return {"weights": self.weights, "biases": self.biases}

    def rows(self, idx, k: int | None = None) -> "ChartState":
        """The charts ``idx`` (an index array or bool mask over P), their matching cut to ``k`` columns."""
        t = torch.as_tensor(idx)
        return ChartState(
            [w[t] for w in self.weights],
            [b[t] for b in self.biases],
            self.match[idx, :k],
            self.stopped_at[idx],
            dict(self.history),
        )

    def assign(self, idx: np.ndarray, part: "ChartState") -> None:
        """Write ``part``'s charts into rows ``idx (B,)``: weights, matching (its first K' columns)
        and stopping steps."""
        t = torch.as_tensor(idx)
        for store, fresh in ((self.weights, part.weights), (self.biases, part.biases)):
            for dst, src in zip(store, fresh):
                dst[t] = src
        self.match[idx, : part.match.shape[1]] = part.match
        self.stopped_at[idx] = part.stopped_at

    def network(self, rows=None, device="cpu") -> BatchedMLP:
        """The charts ``rows`` (default: all) as one `BatchedMLP` on ``device``, without gradients."""
        part = self if rows is None else self.rows(rows)
        net = BatchedMLP.from_params(part.params(), device=device)
        net.requires_grad_(False)
        return net

    @torch.no_grad()
    def evaluate(self, uv: torch.Tensor, rows=None, device="cpu") -> torch.Tensor:
        """φ_p(uv_p) for the charts ``rows`` (default: all): ``uv (B, M, 2) -> (B, M, 3)`` on ``device``."""
        return self.network(rows, device)(torch.as_tensor(uv).to(device))
