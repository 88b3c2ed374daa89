"""Tests of `dgp.coordmlp`."""

import torch
from torch import nn

from dgp.coordmlp import BatchedMLP, BlockedMLP


def test_batched_mlp_equals_loop_of_sequentials():
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)) for _ in range(5)]
    batched = BatchedMLP.from_sequentials(nets)
    x = torch.rand(5, 40, 2)
    expected = torch.stack([net(x[p]) for p, net in enumerate(nets)])
    torch.testing.assert_close(batched(x), expected)
    torch.testing.assert_close(batched.to_sequential(3)(x[3]), expected[3])


def test_batched_mlp_models_are_independent():
    net = BatchedMLP(3, (2, 8, 3), seed=0)
    x = torch.rand(3, 10, 2, requires_grad=True)
    net(x)[1].sum().backward()
    assert net.weights[0].grad[0].abs().sum() == 0 and net.weights[0].grad[2].abs().sum() == 0
    assert net.weights[0].grad[1].abs().sum() > 0


def test_batched_mlp_gradcheck_float64():
    net = BatchedMLP(2, (2, 5, 3), seed=1, dtype=torch.float64)
    x = torch.rand(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(net, (x,))


def test_batched_mlp_seed_reproducible():
    a, b = BatchedMLP(2, seed=7), BatchedMLP(2, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_forward_with_jacobian_is_the_autograd_jacobian():
    torch.manual_seed(0)
    net = BatchedMLP(3, (2, 16, 16, 3), seed=0).double()
    x = torch.rand(3, 5, 2, dtype=torch.float64)
    out, jac = net.forward_with_jacobian(x)
    assert torch.equal(out, net(x)) and jac.shape == (3, 5, 2, 3)
    full = torch.autograd.functional.jacobian(net, x)  # (3, 5, 3, 3, 5, 2)
    ref = torch.stack([torch.stack([full[p, k, :, p, k, :].T for k in range(5)]) for p in range(3)])
    torch.testing.assert_close(jac, ref)


def test_blocked_mlp_is_the_batched_mlp_in_blocks():
    whole, blocked = BatchedMLP(7, (2, 16, 16, 3), seed=3), BlockedMLP(7, (2, 16, 16, 3), block=3, seed=3)
    assert [len(part.weights[0]) for _, part in blocked.blocks()] == [3, 3, 1]
    x = torch.rand(7, 9, 2)
    torch.testing.assert_close(blocked(x), whole(x))
    for a, b in zip(blocked.forward_with_jacobian(x), whole.forward_with_jacobian(x)):
        torch.testing.assert_close(a, b)
    # load_for / state_for with a mask that crosses the blocks
    rows = torch.tensor([True, False, True, True, False, False, True])
    other = BatchedMLP(7, (2, 16, 16, 3), seed=9)
    blocked.load_for(rows, other.state_for(rows))
    expected = torch.where(rows[:, None, None], other(x), whole(x))
    torch.testing.assert_close(blocked(x), expected)
    torch.testing.assert_close(blocked.state_for(rows)["weights"][1], other.weights[1][rows].detach())
