"""Generators and discriminators: small MLPs for points, DCGAN-style convolutional nets for digits.

Every discriminator returns **logits**, one per example (shape ``(N,)``): the losses in
:mod:`gancourse.losses` apply the sigmoid themselves, in a numerically safe way. Every generator maps
noise of shape ``(N, latent_dim)`` to data: points ``(N, D)`` or images ``(N, C, H, W)`` in [-1, 1].

A network given input of the wrong shape raises a ``ValueError`` saying what it expects, rather than
failing deep inside a matrix product. :func:`spectral_normalize` puts spectral normalisation on a
discriminator's layers (chapter "GANs in context").

Explained in the chapters "The discriminator" and "The generator".
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from torch import nn

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator", "dcgan_init",
           "check_shape", "eval_mode", "frozen", "spectral_normalize"]


def check_shape(x, expected: Sequence[int | str], who: str, what: str = "input") -> None:
    """Raise a ``ValueError`` unless ``x`` is a tensor of shape ``expected``.

    ``expected`` lists one entry per dimension: an int must match exactly; a string (``"N"``, ``"C"``,
    ...) matches any size and names the dimension in the message. For example
    ``check_shape(x, ("N", 1, 28, 28), "UNet", "images")`` raises
    ``UNet expects images of shape (N, 1, 28, 28), got (64, 28, 28)``.

    Every network and function of the course checks its input with this helper, so that a wrong shape
    is reported where it enters rather than deep inside a matrix product.

    Explained in the chapter "The discriminator" (shapes of images and logits).
    """
    fits = isinstance(x, torch.Tensor) and x.dim() == len(expected) and all(
        isinstance(want, str) or size == want for size, want in zip(x.shape, expected))
    if not fits:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        shape = "(" + ", ".join(str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{who} expects {what} of shape {shape}, got {got}")


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode for the ``with`` block, then back in the mode it was in.

    In eval mode batch norm uses its running statistics and dropout is off, which is how every figure
    and metric of the course reads a network. Gradients are not switched off: combine with
    ``torch.no_grad()`` where none are needed.

    Explained in the chapter "The generator" (samples are drawn in eval mode).
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Switch off ``requires_grad`` of every parameter of ``modules`` for the ``with`` block.

    The generator's update uses it on the discriminator: gradients still flow *through* D into G, but
    none are accumulated for D's own weights (Goodfellow et al., 2014, Algorithm 1: D is held fixed
    while G moves). Afterwards each parameter gets its previous ``requires_grad`` back.

    Explained in the chapter "GAN training".
    """
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


def _check_noise(z: torch.Tensor, latent_dim: int, who: str) -> None:
    check_shape(z, ("N", latent_dim), who, "noise")


def _check_widths(who: str, **sizes) -> None:
    """Refuse a size or width that is not a positive int (0 would build a layer with no units), by name.

    ``hidden`` is a list or tuple of widths; every other argument is one size.
    """
    for name, value in sizes.items():
        many = name == "hidden"
        values = value if many and isinstance(value, (list, tuple)) else [value]
        if (many and not isinstance(value, (list, tuple))) or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            wanted = "a list or tuple of positive ints (layer widths)" if many else "a positive int"
            raise ValueError(f"{who}: {name} must be {wanted}, got {value!r}")


def _mlp(sizes: Sequence[int], activation: nn.Module) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation]
    return layers


class MLPGenerator(nn.Module):
    """A fully connected generator: ``z -> Linear -> ReLU -> ... -> Linear -> x``.

    Args:
        latent_dim: size of the noise vector z.
        out_dim: size of a generated sample (2 for points in the plane).
        hidden: widths of the hidden layers, any number of them.
        out_activation: optional final activation (e.g. ``nn.Tanh()`` for data in [-1, 1]).

    Explained in the chapter "The generator".
    """

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: Sequence[int] = (128, 128),
                 out_activation: nn.Module | None = None):
        super().__init__()
        _check_widths("MLPGenerator", latent_dim=latent_dim, out_dim=out_dim, hidden=hidden)
        self.latent_dim, self.out_dim = latent_dim, out_dim
        layers = _mlp([latent_dim, *hidden], nn.ReLU())
        layers.append(nn.Linear(hidden[-1] if hidden else latent_dim, out_dim))
        if out_activation is not None:
            layers.append(out_activation)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_noise(z, self.latent_dim, "MLPGenerator")
        return self.net(z)  # (N, out_dim)


class MLPDiscriminator(nn.Module):
    """A fully connected discriminator: ``x -> Linear -> LeakyReLU(0.2) -> ... -> Linear -> logit``.

    Returns one logit per example, shape ``(N,)``; ``sigmoid(logit)`` is D's probability that x is real.

    Explained in the chapter "The discriminator".
    """

    def __init__(self, in_dim: int = 2, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        _check_widths("MLPDiscriminator", in_dim=in_dim, hidden=hidden)
        self.in_dim = in_dim
        layers = _mlp([in_dim, *hidden], nn.LeakyReLU(negative_slope=0.2))
        layers.append(nn.Linear(hidden[-1] if hidden else in_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, ("N", self.in_dim), "MLPDiscriminator", "samples")
        return self.net(x).squeeze(1)  # (N,)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation (Radford et al., 2016, section 4).

    Convolution weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02) and shifts = 0. Apply with
    ``model.apply(dcgan_init)``.

    Explained in the chapter "The generator".
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, mean=1.0, std=0.02)
        nn.init.zeros_(module.bias)


_SIZES = (8, 28)


def _check_size(image_size: int) -> None:
    if image_size not in _SIZES:
        raise ValueError(f"image_size must be 8 or 28, got {image_size}")


class DCGANGenerator(nn.Module):
    """A DCGAN-style generator (Radford et al., 2016) for small single-channel images.

    Transposed convolutions upsample the noise; batch norm and ReLU in between; ``tanh`` at the end
    so pixels lie in [-1, 1]. For 28x28 (MNIST) the path is 1x1 -> 7x7 -> 14x14 -> 28x28; for 8x8
    (scikit-learn's digits) it is 1x1 -> 4x4 -> 8x8.

    Args:
        latent_dim: size of the noise vector.
        image_size: 28 or 8.
        channels: image channels (1 for digits).
        width: channels of the last hidden layer; the one before has twice as many.

    Explained in the chapter "The generator".
    """

    def __init__(self, latent_dim: int = 64, image_size: int = 28, channels: int = 1, width: int = 64):
        super().__init__()
        _check_size(image_size)
        _check_widths("DCGANGenerator", latent_dim=latent_dim, channels=channels, width=width)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        w = width
        if image_size == 28:
            self.net = nn.Sequential(
                nn.ConvTranspose2d(latent_dim, 2 * w, kernel_size=7, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(2 * w), nn.ReLU(),  # (2w) x 7 x 7
                nn.ConvTranspose2d(2 * w, w, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(w), nn.ReLU(),  # (w) x 14 x 14
                nn.ConvTranspose2d(w, channels, kernel_size=4, stride=2, padding=1),
                nn.Tanh(),  # (channels) x 28 x 28
            )
        else:
            self.net = nn.Sequential(
                nn.ConvTranspose2d(latent_dim, 2 * w, kernel_size=4, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(2 * w), nn.ReLU(),  # (2w) x 4 x 4
                nn.ConvTranspose2d(2 * w, channels, kernel_size=4, stride=2, padding=1),
                nn.Tanh(),  # (channels) x 8 x 8
            )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_noise(z, self.latent_dim, "DCGANGenerator")
        return self.net(z[:, :, None, None])  # (N, latent) -> (N, latent, 1, 1) -> (N, C, H, W)


class DCGANDiscriminator(nn.Module):
    """A DCGAN-style discriminator (Radford et al., 2016): strided convolutions, LeakyReLU(0.2).

    No pooling: stride-2 convolutions downsample, batch norm after all but the first layer, and a
    last convolution that covers the whole remaining map gives one logit per image, shape ``(N,)``.

    Explained in the chapter "The discriminator".
    """

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 64):
        super().__init__()
        _check_size(image_size)
        _check_widths("DCGANDiscriminator", channels=channels, width=width)
        self.image_size, self.channels = image_size, channels
        w = width
        if image_size == 28:
            self.net = nn.Sequential(
                nn.Conv2d(channels, w, kernel_size=4, stride=2, padding=1),
                nn.LeakyReLU(negative_slope=0.2),  # (w) x 14 x 14
                nn.Conv2d(w, 2 * w, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(2 * w), nn.LeakyReLU(negative_slope=0.2),  # (2w) x 7 x 7
                nn.Conv2d(2 * w, 1, kernel_size=7, stride=1, padding=0),  # 1 x 1 x 1
            )
        else:
            self.net = nn.Sequential(
                nn.Conv2d(channels, 2 * w, kernel_size=4, stride=2, padding=1),
                nn.LeakyReLU(negative_slope=0.2),  # (2w) x 4 x 4
                nn.Conv2d(2 * w, 1, kernel_size=4, stride=1, padding=0),  # 1 x 1 x 1
            )
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, ("N", self.channels, self.image_size, self.image_size), "DCGANDiscriminator", "images")
        return self.net(x).flatten()  # (N, 1, 1, 1) -> (N,)


def spectral_normalize(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Put spectral normalisation on every linear and convolution layer of ``module``, in place; return it.

    Each weight matrix W is used as ``W / sigma(W)``, with ``sigma(W)`` its largest singular value,
    estimated by ``n_power_iterations`` steps of power iteration per forward pass in training mode
    (Miyato et al., "Spectral normalization for generative adversarial networks", ICLR 2018). With
    1-Lipschitz activations (ReLU, LeakyReLU) the whole network is then 1-Lipschitz:
    ``|D(x) - D(x')| <= ||x - x'||``. This is PyTorch's
    ``torch.nn.utils.parametrizations.spectral_norm`` applied layer by layer; layers that already carry
    it are left alone. The parameters stay the same objects (W becomes
    ``layer.parametrizations.weight.original``), so an optimiser built before still updates them.

    Explained in the chapter "GANs in context" (modern practice).
    """
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int) or n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be a positive int, got {n_power_iterations!r}")
    from torch.nn.utils import parametrize
    from torch.nn.utils.parametrizations import spectral_norm

    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d))]
    for layer in layers:
        if not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module
