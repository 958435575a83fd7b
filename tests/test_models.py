"""Shapes, ranges, the DCGAN initialisation, and the errors for input of the wrong shape."""

import pytest
import torch
from torch import nn

from gancourse.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    check_shape,
    dcgan_init,
    eval_mode,
    frozen,
)


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
    expected = r"DCGANDiscriminator expects images of shape \(N, 1, 28, 28\), got \(2, 1, 8, 8\)"
    with pytest.raises(ValueError, match=expected):
        DCGANDiscriminator()(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 64\), got \(2, 10\)"):
        DCGANGenerator()(torch.randn(2, 10))
    with pytest.raises(ValueError, match=r"MLPDiscriminator expects samples of shape \(N, 2\), got \(3,\)"):
        MLPDiscriminator(2)(torch.randn(3))
    with pytest.raises(ValueError, match=r"MLPGenerator expects noise of shape \(N, 2\)"):
        MLPGenerator(2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match="image_size must be 8 or 28"):
        DCGANGenerator(image_size=32)


def test_check_shape_names_each_dimension_and_what_it_got():
    check_shape(torch.zeros(5, 1, 28, 28), ("N", 1, 28, 28), "D")  # str entries match any size
    with pytest.raises(ValueError, match=r"^UNet expects images of shape \(N, 1, 28, 28\), got \(64, 28, 28\)$"):
        check_shape(torch.zeros(64, 28, 28), ("N", 1, 28, 28), "UNet", "images")  # a dimension missing
    with pytest.raises(ValueError, match=r"got \(2, 3, 28, 28\)$"):
        check_shape(torch.zeros(2, 3, 28, 28), ("N", 1, 28, 28), "D")  # a fixed size differs
    with pytest.raises(ValueError, match=r"^f expects outputs of shape \(N,\), got list$"):
        check_shape([1.0, 2.0], ("N",), "f", "outputs")  # not a tensor: its type is named
    with pytest.raises(ValueError, match=r"expects input of shape \(N, C, H, W\)"):
        check_shape(torch.zeros(2, 3), ("N", "C", "H", "W"), "g")  # the default `what`


@pytest.mark.parametrize("start_training", [True, False])
def test_eval_mode_switches_for_the_block_and_restores_the_previous_mode(start_training):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2)).train(start_training)
    with eval_mode(net) as inside:
        assert inside is net and not any(m.training for m in net.modules())
        x = torch.randn(4, 2)
        assert torch.equal(net(x), net(x))  # dropout off, running statistics used
    assert all(m.training == start_training for m in net.modules())
    with pytest.raises(RuntimeError, match="boom"):  # restored even when the block raises
        with eval_mode(net):
            raise RuntimeError("boom")
    assert all(m.training == start_training for m in net.modules())


def test_eval_mode_keeps_gradients():
    net = nn.Linear(2, 1)
    with eval_mode(net):
        net(torch.randn(3, 2)).sum().backward()
    assert net.weight.grad is not None


def test_frozen_stops_gradients_into_its_modules_but_not_through_them():
    g, d = nn.Linear(2, 2), nn.Linear(2, 1)
    d.bias.requires_grad_(False)  # a flag set before the block comes back as it was
    with frozen(d):
        assert not any(p.requires_grad for p in d.parameters())
        d(g(torch.randn(4, 2))).sum().backward()
    assert g.weight.grad is not None and g.weight.grad.abs().sum() > 0  # the gradient flowed through d into g
    assert d.weight.grad is None  # and none was accumulated for d itself
    assert d.weight.requires_grad and not d.bias.requires_grad
    with pytest.raises(RuntimeError):
        with frozen(g, d):
            raise RuntimeError
    assert g.weight.requires_grad and d.weight.requires_grad
