"""Seeded construction of torch layers without touching the caller's random state."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def seeded(seed: int):
    """Run the block with torch's CPU generator seeded by ``seed``, then restore its previous state:
    layers built inside get the same initial weights for the same seed whatever ran before.

    >>> with seeded(0):
    ...     a = torch.nn.Linear(2, 2).weight
    >>> with seeded(0):
    ...     b = torch.nn.Linear(2, 2).weight
    >>> torch.equal(a, b)
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield
