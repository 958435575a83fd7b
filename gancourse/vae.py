"""A small variational autoencoder (VAE), the first family of generative models a GAN is compared with.

A VAE (Kingma and Welling, "Auto-encoding variational Bayes", ICLR 2014; Rezende et al., ICML 2014)
has two networks:

- an **encoder** ``q(z | x) = N(mu(x), diag(sigma^2(x)))`` that maps a data point to a Gaussian over
  latent codes;
- a **decoder** ``p(x | z) = N(f(z), s^2 I)`` that maps a code back to a Gaussian over data points,
  here with a fixed standard deviation ``s`` (:attr:`VAE.recon_std`).

Both are trained together by maximising the **evidence lower bound** of each training point,

    ``ELBO(x) = E_{z ~ q(z|x)}[log p(x | z)] - KL(q(z | x) || N(0, I)) <= log p(x)``,

that is by minimising ``-ELBO = reconstruction + KL`` (:meth:`VAE.loss`): the reconstruction term
(:func:`gaussian_nll`) asks the decoder to give back x from its code; the KL term (:func:`gaussian_kl`)
keeps the codes close to the prior ``N(0, I)``, so that codes drawn from the prior decode to data.
The expectation is estimated with one code per point, drawn with the **reparameterisation**
``z = mu + sigma * eps``, ``eps ~ N(0, I)`` (:func:`reparameterize`), so that gradients flow into the
encoder. Sampling (:meth:`VAE.sample`) decodes codes drawn from the prior: one decoder pass per sample,
as fast as a GAN's generator.

Unlike a GAN, a VAE has a likelihood: it is trained to put probability on *every* training point,
which makes it cover all the modes, and it pays for it with blur, because one Gaussian decoder with a
fixed ``s`` spreads each sample's probability around the decoder's mean.

:func:`fit` is the training loop, for the VAE here and for any model with the same ``loss`` method
(the DDPM of :mod:`gancourse.diffusion` among them).

Explained in the chapter "GANs in context".
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse.config import device as default_device
from gancourse.data import TensorSampler
from gancourse.models import check_shape, eval_mode
from gancourse.recipes import StepSchedule

__all__ = ["gaussian_kl", "gaussian_nll", "reparameterize", "VAE", "fit"]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence from ``N(mu, diag(exp(logvar)))`` to ``N(0, I)``, one value per row, in nats.

    ``KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)`` (Kingma and Welling, 2014, Appendix B).
    It is 0 exactly when ``mu = 0`` and ``sigma = 1``. ``mu`` and ``logvar`` have shape ``(N, latent_dim)``;
    the result has shape ``(N,)``.

    Explained in the chapter "GANs in context".
    """
    check_shape(mu, ("N", "latent_dim"), "gaussian_kl", "mu")
    if logvar.shape != mu.shape:
        raise ValueError(f"gaussian_kl expects logvar of the shape of mu {tuple(mu.shape)}, got {tuple(logvar.shape)}")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """Negative log-density of each example of ``x`` under ``N(mean, std^2 I)``, summed over its values.

    ``-log N(x; m, s^2 I) = 1/2 sum_d ((x_d - m_d)^2 / s^2 + log(2 pi s^2))``. ``x`` and ``mean`` have
    the same shape ``(N, ...)``; the result has shape ``(N,)``. This is the VAE's reconstruction term.

    Explained in the chapter "GANs in context".
    """
    if x.shape != mean.shape or x.dim() < 1:
        raise ValueError(f"gaussian_nll expects x and mean of the same shape (N, ...), got {tuple(x.shape)} and "
                         f"{tuple(mean.shape)}")
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    squared = (x - mean).pow(2).flatten(1).sum(dim=1) / std**2  # (N,)
    return 0.5 * (squared + x[0].numel() * math.log(2 * math.pi * std**2))


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A code ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` drawn from ``generator``.

    The reparameterisation trick (Kingma and Welling, 2014, section 2.4): the randomness sits in eps,
    outside the network, so ``z`` is a differentiable function of ``mu`` and ``logvar`` and the
    encoder learns from the gradient of the reconstruction.

    Explained in the chapter "GANs in context".
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """A variational autoencoder with MLP encoder and decoder, for 2-D points or small images.

    Args:
        data_shape: the shape of one example: ``(2,)`` for points, ``(1, 28, 28)`` for digits (images are
            flattened for the MLPs and reshaped at the end).
        latent_dim: size of the code z.
        hidden: widths of the encoder's hidden layers; the decoder uses them in reverse order.
        recon_std: the decoder's fixed standard deviation s in ``p(x | z) = N(f(z), s^2 I)``. A smaller s
            weighs the reconstruction more against the KL term: sharper reconstructions, codes that
            stray further from the prior.
        out_activation: a final activation of the decoder, e.g. ``nn.Tanh()`` for images in [-1, 1].

    :meth:`loss` gives ``-ELBO`` and its two terms; :meth:`sample` decodes codes drawn from the prior.

    Explained in the chapter "GANs in context".
    """

    def __init__(self, data_shape: Sequence[int] = (2,), latent_dim: int = 2, hidden: Sequence[int] = (128, 128), *,
                 recon_std: float = 0.1, out_activation: nn.Module | None = None):
        super().__init__()
        data_shape = tuple(data_shape)
        sizes = (latent_dim, *data_shape, *hidden)
        if not data_shape or not hidden or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
            raise ValueError(f"VAE: data_shape, latent_dim and hidden must be positive ints (hidden and data_shape "
                             f"non-empty), got {data_shape}, {latent_dim!r}, {tuple(hidden)}")
        if not recon_std > 0:
            raise ValueError(f"VAE: recon_std must be positive, got {recon_std!r}")
        self.data_shape, self.latent_dim, self.recon_std = data_shape, latent_dim, float(recon_std)
        flat = math.prod(data_shape)
        self.encoder = _mlp([flat, *hidden, 2 * latent_dim])  # (N, flat) -> (N, 2 latent): mu and log sigma^2
        decoder = _mlp([latent_dim, *reversed(tuple(hidden)), flat])  # (N, latent) -> (N, flat)
        self.decoder = nn.Sequential(*decoder, out_activation) if out_activation is not None else decoder

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's Gaussian ``q(z | x)``: ``(mu, logvar)``, each ``(N, latent_dim)``."""
        check_shape(x, ("N", *self.data_shape), "VAE", "data")
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean ``f(z)``, shape ``(N, *data_shape)``."""
        check_shape(z, ("N", self.latent_dim), "VAE", "codes")
        return self.decoder(z).reshape(-1, *self.data_shape)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reconstruct ``x``: encode, draw one code with :func:`reparameterize`, decode (the mean)."""
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar, generator))

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``-ELBO`` averaged over the batch, and its two terms: ``{"loss", "recon", "kl"}`` (0-dim tensors).

        ``-ELBO(x) = gaussian_nll(x, f(z), s) + gaussian_kl(mu(x), logvar(x))`` with one code
        ``z ~ q(z | x)`` per example, drawn from ``generator``.
        """
        mu, logvar = self.encode(x)
        recon = gaussian_nll(x, self.decode(reparameterize(mu, logvar, generator)), self.recon_std).mean()
        kl = gaussian_kl(mu, logvar).mean()
        return {"loss": recon + kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, *, mean: bool = True) -> torch.Tensor:
        """``n`` samples ``(n, *data_shape)``: codes ``z ~ N(0, I)`` from ``generator``, decoded in eval mode.

        With ``mean=True`` (the default, and what VAE papers show) each sample is the decoder's mean
        ``f(z)``; with ``mean=False`` the decoder's noise ``s * eps`` is added, which is the model's full
        generative process. The samples are on the generator's device (else the model's).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        dev = generator.device if generator is not None else next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev)
        with eval_mode(self):
            x = self.decode(z)
        if not mean:
            x = x + self.recon_std * torch.randn(x.shape, generator=generator, device=dev)
        return x


def fit(model: nn.Module, data: Callable | torch.Tensor, steps: int, *, batch_size: int = 256, lr: float = 1e-3,
        schedule: StepSchedule | None = None, seed: int = 0, device=None, progress: bool = True,
        desc: str = "training") -> dict[str, list[float]]:
    """Train ``model`` by Adam on its own loss for ``steps`` steps; return the history of every loss term.

    ``model`` is any module with a method ``loss(x, generator) -> {"loss": ..., other terms}`` (a
    :class:`VAE`, or a :class:`gancourse.diffusion.DDPM`). Each step draws a batch ``data(batch_size,
    generator)`` from a source of the course (a :class:`gancourse.data.GaussianMixture`, a
    :class:`gancourse.data.TensorSampler`; a tensor is wrapped in a sampler), then takes one Adam step on
    ``loss["loss"]``, at the rate ``lr`` times the factor of ``schedule`` (a
    :class:`gancourse.recipes.StepSchedule`, in fractions of the run; None keeps ``lr``), the schedule the
    course's GANs use. Every random draw (batches, codes, noise, diffusion times) comes from one
    ``torch.Generator`` seeded with ``seed`` on the training device, so a run is repeatable.

    The losses stay on the device during training and are copied to the host once, at the end (no
    synchronisation per step, which would slow a GPU down). A NaN or infinite loss raises
    ``FloatingPointError`` after the run. Returns ``{term: [value per step]}``.

    Explained in the chapter "GANs in context".
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"model must have a method loss(x, generator), got {type(model).__name__}")
    dev = torch.device(device) if device is not None else default_device()
    if isinstance(data, torch.Tensor):
        data = TensorSampler(data, device=dev)
    model.to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator(device=dev).manual_seed(seed)
    records: list[torch.Tensor] = []
    keys: tuple[str, ...] = ()
    changes = {round(f * steps) for f, _ in schedule.milestones} if schedule is not None else set()
    for step in tqdm(range(steps), disable=not progress, desc=desc, leave=False):
        if step in changes:
            for group in optimizer.param_groups:
                group["lr"] = lr * schedule.factor(step, steps)
        terms = model.loss(data(batch_size, rng), rng)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        keys = tuple(terms)
        records.append(torch.stack([terms[k].detach().float() for k in keys]))
    if not records:
        return {}
    values = torch.stack(records).cpu()  # (steps, terms): the one copy to the host
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values).all(dim=1)).nonzero()[0, 0])
        raise FloatingPointError(f"the loss became NaN or infinite at step {bad + 1} (try a smaller learning rate)")
    return {k: values[:, i].tolist() for i, k in enumerate(keys)}
