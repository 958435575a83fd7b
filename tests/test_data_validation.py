"""Data refused up front or converted, with a message naming the argument; mixtures kept on their device."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

from gancourse import data
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig

# ---------------------------------------------------------------------------------------------
# TensorSampler: float64 converted with a note, other dtypes and non-finite values refused
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_float64_points_train_after_a_note(kind):
    """The most common learner mistake: float64 data (numpy's default) as the data set."""
    points = np.random.default_rng(0).normal(size=(200, 2))  # float64
    points = torch.as_tensor(points) if kind == "tensor" else points
    with pytest.warns(UserWarning, match=r"TensorSampler: data is float64 .*converted to float32"):
        sampler = data.TensorSampler(points)
    assert sampler.data.dtype == torch.float32 and torch.equal(sampler.data, torch.as_tensor(points).float())
    cfg = TrainConfig(latent_dim=2, batch_size=16, log_every=1, seed=0)
    t = GANTrainer(MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,)), sampler, cfg, device="cpu")
    t.train(2, progress=False)
    assert t.step == 2


def test_float64_tensor_data_and_labels_are_converted_with_a_note_each():
    x = torch.randn(10, 3, dtype=torch.float64)
    targets = torch.randn(10, 3, dtype=torch.float64)  # paired targets travel as labels
    with pytest.warns(UserWarning) as notes:
        s = data.TensorSampler(x, targets)
    assert sorted(str(n.message).split(" is ")[0] for n in notes) == ["TensorSampler: data", "TensorSampler: labels"]
    batch, y = s.sample_with_labels(4, torch.Generator().manual_seed(0))
    assert batch.dtype == torch.float32 and y.dtype == torch.float32


def test_float32_data_and_integer_labels_raise_no_note_and_labels_become_long():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = data.TensorSampler(torch.zeros(6, 2), np.arange(6, dtype=np.int32))
    assert s.labels.dtype == torch.long and s.labels.tolist() == list(range(6))
    assert s.data.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_non_float_data_is_refused_naming_the_dtype(dtype):
    with pytest.raises(ValueError, match=rf"TensorSampler: data has dtype {dtype}.*to_unit_range"):
        data.TensorSampler(torch.zeros(4, 1, 8, 8, dtype=dtype))


def test_data_that_is_not_an_array_is_refused():
    with pytest.raises(TypeError, match="TensorSampler: data must be a torch.Tensor or a numpy array, got str"):
        data.TensorSampler("digits.npy")
    with pytest.raises(TypeError, match="TensorSampler: labels must be a torch.Tensor or a numpy array, got list"):
        data.TensorSampler(torch.zeros(4, 2), [0, 1, 2, 3])
    with pytest.raises(TypeError, match="TensorSampler: data is a numpy array of dtype object"):
        data.TensorSampler(np.array([[1.0], "two"], dtype=object))
    with pytest.raises(ValueError, match=r"labels must have one entry per example \(4\), got shape \(2,\)"):
        data.TensorSampler(torch.zeros(4, 2), torch.tensor([0, 1]))
    read_only = np.zeros((4, 2), dtype=np.float32)[::-1]
    read_only.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's note on non-writable arrays would show on a page
        assert data.TensorSampler(read_only).data.shape == (4, 2)


def test_nan_and_inf_in_the_data_are_refused_with_their_count():
    x = torch.randn(50, 2)
    x[3, 0] = x[7, 1] = x[9, 0] = float("nan")
    x[11, 1] = float("inf")
    with pytest.raises(ValueError, match="TensorSampler: data holds 3 NaN and 1 infinite values; clean the data"):
        data.TensorSampler(x)
    # a float64 value too large for float32 becomes inf in the conversion: refused too, not silently kept
    with pytest.raises(ValueError, match="data holds 0 NaN and 1 infinite"):
        data.TensorSampler(np.array([[1e300, 0.0], [0.0, 0.0]]))


def test_nan_in_float_labels_is_refused():
    y = torch.zeros(5, 2)
    y[0, 0] = float("nan")
    with pytest.raises(ValueError, match="TensorSampler: labels hold 1 NaN and 0 infinite values"):
        data.TensorSampler(torch.zeros(5, 2), y)


# ---------------------------------------------------------------------------------------------
# GaussianMixture: non-finite or impossible parameters refused at construction
# ---------------------------------------------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize(
    "means, stds, weights, message",
    [
        ([[0.0, 0.0], [NAN, 1.0]], [0.1, 0.1], [1.0, 1.0], r"means hold 1 NaN or infinite value"),
        ([[0.0, 0.0], [1.0, float("inf")]], [0.1, 0.1], [1.0, 1.0], r"means hold 1 NaN or infinite value"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, NAN], [1.0, 1.0], r"stds must be finite and positive, got \[0.1, nan\]"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, -0.1], [1.0, 1.0], r"stds must be finite and positive"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, 0.1], [1.0, NAN], r"weights must be finite and non-negative"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, 0.1], [1.0, float("inf")], r"weights must be finite and non-negative"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, 0.1], [1.0, -1.0], r"weights must be finite and non-negative"),
        ([[0.0, 0.0], [1.0, 1.0]], [0.1, 0.1], [0.0, 0.0], r"weights must not all be zero"),
    ],
)
def test_mixture_refuses_bad_parameters_by_name(means, stds, weights, message):
    with pytest.raises(ValueError, match="GaussianMixture: " + message):
        data.GaussianMixture(torch.tensor(means), torch.tensor(stds), torch.tensor(weights))


def test_mixture_1d_refuses_a_nan_std():
    with pytest.raises(ValueError, match="stds must be finite and positive"):
        data.gaussian_mixture_1d([0.0, 1.0], [0.5, NAN])


def test_mixture_zero_weight_modes_are_allowed():
    m = data.GaussianMixture(torch.zeros(2, 2), torch.ones(2), torch.tensor([1.0, 0.0]))
    assert m.weights.tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------------------------
# GaussianMixture: its parameters stay on the device it samples on
# ---------------------------------------------------------------------------------------------


def _count_to_calls(monkeypatch):
    calls = []
    original = torch.Tensor.to

    def counting_to(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", counting_to)
    return calls


@pytest.mark.parametrize("name", data.TOY_2D_NAMES)
def test_no_2d_source_makes_a_host_tensor_per_batch(monkeypatch, name):
    source = data.toy_2d(name)
    gen = torch.Generator().manual_seed(0)
    source(8, gen)  # the first batch may copy constants to the device
    made = []
    original = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *a, **k: made.append(1) or original(*a, **k))
    calls = _count_to_calls(monkeypatch)
    for _ in range(3):
        source(8, gen)
    assert made == [] and calls == []  # a host tensor would be copied to the GPU at every batch


def test_mixture_copies_its_parameters_to_a_device_once(monkeypatch):
    mix = data.ring()
    gen = torch.Generator().manual_seed(0)
    mix(8, gen)  # the first batch on a device may copy the parameters there
    calls = _count_to_calls(monkeypatch)
    for _ in range(5):
        mix(8, gen)
        mix.log_prob(torch.zeros(3, 2))
    assert calls == []  # no copy (and no .to call) per batch afterwards


def test_mixture_reuses_the_same_tensors_for_every_batch():
    mix = data.grid()
    gen = torch.Generator().manual_seed(0)
    first = [t.data_ptr() for t in mix._on(gen.device)]
    mix(16, gen)
    mix(16, gen)
    assert [t.data_ptr() for t in mix._on(gen.device)] == first


def test_mixture_copies_and_pickles_without_its_device_copies():
    mix = data.ring()
    mix(4, torch.Generator().manual_seed(0))
    for clone in (copy.deepcopy(mix), pickle.loads(pickle.dumps(mix))):
        assert "_device_copies" not in clone.__dict__
        assert torch.equal(clone(32, torch.Generator().manual_seed(1)), mix(32, torch.Generator().manual_seed(1)))
