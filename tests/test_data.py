"""The distributions and digit sets, and the on-device batch sampler."""

import math
import sys
import types

import pytest
import torch

from gancourse import data


def test_ring_matches_the_benchmark_definition():
    r = data.ring()
    assert r.n_modes == 8 and r.dim == 2
    assert torch.allclose(r.means.norm(dim=1), torch.ones(8))
    angles = torch.atan2(r.means[:, 1], r.means[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8) * 2 * math.pi / 8, atol=1e-6)
    assert torch.all(r.stds == 0.01)


def test_grid_matches_the_benchmark_definition():
    g = data.grid()
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(m.tolist()) for m in g.means} == expected
    assert torch.all(g.stds == 0.05)


def test_mixture_samples_sit_near_their_modes():
    gen = torch.Generator().manual_seed(0)
    x, modes = data.grid().sample(5000, gen, return_modes=True)
    assert x.shape == (5000, 2)
    dist = (x - data.grid().means[modes]).norm(dim=1)
    assert dist.max() < 0.05 * 6
    counts = torch.bincount(modes, minlength=25).float()
    assert counts.min() > 120  # about 200 each
    again = data.grid().sample(5000, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


def test_mixture_density_1d_matches_formula():
    m = data.gaussian_mixture_1d([-2.0, 2.0], [0.5, 1.0], [1.0, 3.0])
    x = torch.tensor([0.3])

    def normal(x, mu, s):
        return math.exp(-((x - mu) ** 2) / (2 * s * s)) / math.sqrt(2 * math.pi * s * s)

    expected = 0.25 * normal(0.3, -2, 0.5) + 0.75 * normal(0.3, 2, 1.0)
    assert m.pdf(x).item() == pytest.approx(expected, rel=1e-5)
    # the density integrates to one
    grid = torch.linspace(-8, 8, 4001)
    assert torch.trapezoid(m.pdf(grid), grid).item() == pytest.approx(1.0, abs=1e-4)


def test_mixture_validation():
    with pytest.raises(ValueError, match="one entry per mode"):
        data.GaussianMixture(torch.zeros(3, 2), torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError, match="positive"):
        data.gaussian_mixture_1d([0.0], [0.0])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        data.ring().log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="positive int"):
        data.ring().sample(0)


@pytest.mark.parametrize("name", data.TOY_2D_NAMES)
def test_toy_2d_sources(name):
    source = data.toy_2d(name)
    x = source(300, torch.Generator().manual_seed(1))
    assert x.shape == (300, 2) and torch.isfinite(x).all()
    assert x.abs().max() < 6


def test_toy_2d_unknown_name():
    with pytest.raises(ValueError, match="unknown 2-D distribution 'donut'.*ring"):
        data.toy_2d("donut")


def test_sklearn_digits():
    images, labels = data.sklearn_digits()
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    assert images.min() == -1 and images.max() == 1
    assert set(labels.tolist()) == set(range(10))


def test_mnist_digits():
    images, labels = data.mnist_digits()
    assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() == -1 and images.max() == 1
    assert torch.equal(torch.bincount(labels), torch.full((10,), 500))
    # a real digit: background (-1) dominates, with some ink
    ink = (images > 0).float().mean()
    assert 0.05 < ink < 0.3


def test_unit_range_round_trip():
    x = torch.tensor([0.0, 127.5, 255.0])
    assert torch.allclose(data.to_unit_range(x, 255), torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.allclose(data.from_unit_range(torch.tensor([-3.0, 0.0, 1.0])), torch.tensor([0.0, 0.5, 1.0]))


def test_torchvision_dataset_without_torchvision(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ImportError, match="pip install torchvision.*mnist_digits"):
        data.torchvision_dataset("mnist")


def test_torchvision_dataset_offline(monkeypatch, tmp_path):
    class Refuses:
        def __init__(self, *args, **kwargs):
            raise OSError("network is unreachable")

    fake = types.SimpleNamespace(datasets=types.SimpleNamespace(MNIST=Refuses, FashionMNIST=Refuses))
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(RuntimeError, match="could not download FashionMNIST.*mnist_digits"):
        data.torchvision_dataset("fashion-mnist", root=str(tmp_path))
    with pytest.raises(ValueError, match="unknown dataset name 'cifar'"):
        data.torchvision_dataset("cifar")


def test_torchvision_dataset_scales_images(monkeypatch, tmp_path):
    class Tiny:
        def __init__(self, root, train, download):
            self.data = torch.tensor([[[0, 255], [255, 0]]], dtype=torch.uint8)
            self.targets = torch.tensor([3])

    monkeypatch.setitem(sys.modules, "torchvision", types.SimpleNamespace(datasets=types.SimpleNamespace(MNIST=Tiny)))
    images, labels = data.torchvision_dataset("mnist", root=str(tmp_path))
    assert images.shape == (1, 1, 2, 2) and images.tolist() == [[[[-1.0, 1.0], [1.0, -1.0]]]]
    assert labels.tolist() == [3]


def test_tensor_sampler_draws_rows_of_the_data():
    x = torch.arange(10.0)[:, None] * torch.ones(1, 3)
    labels = torch.arange(10)
    s = data.TensorSampler(x, labels)
    gen = torch.Generator().manual_seed(0)
    batch, y = s.sample_with_labels(64, gen)
    assert batch.shape == (64, 3)
    assert torch.equal(batch[:, 0].long(), y)  # rows and labels stay paired
    assert len(set(y.tolist())) > 5
    assert len(s) == 10 and s.device == torch.device("cpu")
    assert torch.equal(s(5, torch.Generator().manual_seed(3)), s(5, torch.Generator().manual_seed(3)))


def test_tensor_sampler_errors():
    with pytest.raises(ValueError, match="non-empty tensor"):
        data.TensorSampler(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="one entry per example"):
        data.TensorSampler(torch.zeros(4, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="without labels"):
        data.TensorSampler(torch.zeros(4, 2)).sample_with_labels(2)
    with pytest.raises(ValueError, match="batch_size"):
        data.TensorSampler(torch.zeros(4, 2))(0)
