"""Tests of `image_priors.priors`."""

import pytest
import torch

from image_priors.priors import CoordinateMLP, DeepDecoder, SkipNet, deep_decoder_parameters, fourier_scale_for


def test_fourier_scale_follows_the_measured_resolution():
    assert fourier_scale_for(32 * 32) == 2.5 and fourier_scale_for(64 * 64) == 5.0
    assert fourier_scale_for(128 * 128) == fourier_scale_for(1024 * 1024) == 10.0
    grid = [fourier_scale_for(m) for m in (1, 100, 1000, 5000, 16384, 10**6)]
    assert grid == sorted(grid) and grid[0] > 0
    with pytest.raises(ValueError):
        fourier_scale_for(0)
    assert CoordinateMLP((8, 8), fourier=4, fourier_scale=fourier_scale_for(256)).fourier_scale == 1.25
    assert CoordinateMLP((8, 8), fourier=0).fourier_scale is None


@pytest.mark.parametrize(
    "build",
    [lambda s: SkipNet((32, 32), preset="small", seed=s), lambda s: DeepDecoder((32, 32), k=8, d=3, seed=s)],
    ids=["skip", "decoder"],
)
def test_priors_seed_their_weights(build):
    def weights(net):
        return [t.clone() for t in net.state_dict().values()]

    a = weights(build(5))
    torch.rand(7)  # the caller's random state must not matter
    state = torch.get_rng_state()
    b = weights(build(5))
    assert torch.equal(torch.get_rng_state(), state)  # nor be changed
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, weights(build(6))))


def test_skipnet_shapes_and_size():
    net = SkipNet((64, 64), preset="denoise")
    assert net().shape == (1, 3, 64, 64)
    assert 2.1e6 < sum(p.numel() for p in net.parameters()) < 2.3e6  # the reference skip net: 2.2 M
    assert SkipNet((32, 32), out_channels=1, preset="small")().shape == (1, 1, 32, 32)
    with pytest.raises(ValueError):
        SkipNet((40, 40))


@pytest.mark.parametrize("preset", ["denoise", "inpaint"])
def test_skipnet_equals_plain_sequential_build(preset):
    # the benchmark times SkipNet against this nn.Sequential build; it must be the same network
    from image_priors.priors.skip_reference import load_same_weights, sequential_skip

    ours = SkipNet((64, 64), preset=preset, seed=3)
    plain = sequential_skip(3, preset)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in plain.parameters())
    load_same_weights(plain, ours)
    assert torch.allclose(ours(), plain(ours.z), atol=1e-6)
    with pytest.raises(ValueError):
        load_same_weights(sequential_skip(3, "small"), ours)


@pytest.mark.parametrize("k, d", [(16, 3), (64, 4), (128, 6)])
def test_deep_decoder_parameter_formula(k, d):
    dd = DeepDecoder((2 ** (d - 1) * 2, 2 ** (d - 1) * 2), k=k, d=d)
    assert dd.n_parameters() == deep_decoder_parameters(k, d, 3)
    assert dd().shape == (1, 3, 2**d, 2**d)
    assert dd.z.shape == (1, k, 2, 2)


def test_deep_decoder_reference_size():
    assert deep_decoder_parameters(128, 6) == 100_224  # ~1/8 of a 512x512 RGB image


def test_coordinate_mlp_tiles_and_fourier():
    m = CoordinateMLP((32, 48), tiles=(2, 3), fourier=16, hidden=(32, 32))
    assert m().shape == (1, 3, 32, 48)
    assert m.net.n_models == 6 and m.z.shape == (6, 16 * 16, 32)
    plain = CoordinateMLP((16, 16), hidden=(8,))
    assert plain.z.shape == (1, 256, 2)
