"""Shapes, ranges, the DCGAN initialisation, and the errors for input of the wrong shape."""

import pytest
import torch
from torch import nn

from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, dcgan_init


def test_mlp_shapes_any_depth():
    for hidden in [(), (16,), (16, 32, 8)]:
        g, d = MLPGenerator(3, 2, hidden), MLPDiscriminator(2, hidden)
        x = g(torch.randn(5, 3))
        assert x.shape == (5, 2)
        assert d(x).shape == (5,)


def test_mlp_out_activation():
    g = MLPGenerator(2, 4, (8,), out_activation=nn.Tanh())
    assert g(torch.randn(64, 2) * 100).abs().max() <= 1


@pytest.mark.parametrize("size", [8, 28])
def test_dcgan_shapes_and_range(size):
    g, d = DCGANGenerator(latent_dim=16, image_size=size, width=8), DCGANDiscriminator(image_size=size, width=8)
    images = g(torch.randn(4, 16))
    assert images.shape == (4, 1, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (4,)


def test_dcgan_initialisation():
    torch.manual_seed(0)
    g = DCGANGenerator(width=64)
    conv = [m.weight for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert abs(torch.cat([w.flatten() for w in conv]).std().item() - 0.02) < 0.002
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight for m in bn])
    assert abs(scales.mean().item() - 1) < 0.01 and torch.all(torch.cat([m.bias for m in bn]) == 0)
    lin = nn.Linear(100, 100)
    dcgan_init(lin)
    assert abs(lin.weight.std().item() - 0.02) < 0.002 and torch.all(lin.bias == 0)


def test_wrong_shapes_say_what_is_expected():
    with pytest.raises(ValueError, match=r"DCGANDiscriminator expects images of shape \(N, 1, 28, 28\), got \(2, 1, 8, 8\)"):
        DCGANDiscriminator()(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 64\), got \(2, 10\)"):
        DCGANGenerator()(torch.randn(2, 10))
    with pytest.raises(ValueError, match=r"MLPDiscriminator expects samples of shape \(N, 2\), got \(3,\)"):
        MLPDiscriminator(2)(torch.randn(3))
    with pytest.raises(ValueError, match=r"MLPGenerator expects noise of shape \(N, 2\)"):
        MLPGenerator(2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match="image_size must be 8 or 28"):
        DCGANGenerator(image_size=32)
