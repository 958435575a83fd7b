"""The Dirac GAN (Mescheder, Geiger and Nowozin, 2018): the smallest game that fails to converge.

The real data is one point, ``x = 0``; the generator has one parameter and outputs ``G(z) = theta``;
the discriminator has one parameter and returns the logit ``D(x) = psi * x``. The equilibrium is
``theta = psi = 0``. With the minimax losses the two players circle around it: simultaneous gradient
steps spiral out, alternating steps circle, and a penalty on D's gradient (R1) makes them converge.

- :class:`PointGenerator`, :class:`LinearDiscriminator` and :func:`dirac_data` make the game out of
  the course's own parts, so that :class:`gancourse.train.GANTrainer` (and any remedy) can train it;
- :func:`dirac_gradients` gives its exact gradients with autograd, and :func:`dirac_path` the path of
  plain gradient steps, simultaneous or alternating.

Reference: Mescheder, Geiger and Nowozin, "Which training methods for GANs do actually converge?",
ICML 2018, section 2.

Explained in the chapters "GAN training" (taking turns) and "Common problems" (failure to converge).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from gancourse.losses import d_minimax_loss, g_minimax_loss

__all__ = ["PointGenerator", "LinearDiscriminator", "dirac_data", "dirac_gradients", "dirac_path"]


class PointGenerator(nn.Module):
    """The Dirac GAN's generator: ``G(z) = theta`` for every z, a generator that can place one point.

    Its single parameter ``theta`` (a tensor of shape ``(1,)``) starts at ``theta``. The noise only
    sets the batch size: ``(N, latent) -> (N, 1)``.

    Reference: Mescheder, Geiger and Nowozin, "Which training methods for GANs do actually converge?",
    ICML 2018, section 2.2.

    Explained in the chapter "Common problems" (failure to converge).
    """

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([float(theta)]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(z.shape[0], 1)  # (N, latent) -> (N, 1)


class LinearDiscriminator(nn.Module):
    """The Dirac GAN's discriminator: the logit ``D(x) = psi * x``, one number per sample.

    ``psi`` is stored as a ``(1, 1)`` weight matrix, as in a linear layer without bias, so that
    :func:`weight_penalty` sees it as a weight. ``(N, 1) -> (N,)``. For this discriminator
    ``grad_x D = psi``, so the R1 penalty ``gamma / 2 * ||grad_x D||^2`` equals the weight penalty
    ``gamma / 2 * psi^2``.

    Reference: Mescheder et al., ICML 2018, section 2.2.

    Explained in the chapter "Common problems" (failure to converge).
    """

    def __init__(self, psi: float = 1.0):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([[float(psi)]]))  # a 1x1 weight matrix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 1:
            raise ValueError(f"x must have shape (N, 1), got {tuple(x.shape)}")
        return (x @ self.psi)[:, 0]  # (N, 1) -> (N,)


def dirac_data(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The Dirac GAN's real data: ``n`` copies of the point 0, shape ``(n, 1)``.

    Called like every data source of :class:`~gancourse.train.GANTrainer`, ``real(n, generator)``;
    the generator only tells the device (there is nothing random to draw).

    Explained in the chapter "Common problems" (failure to converge).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return torch.zeros(n, 1, device=generator.device if generator is not None else None)


def dirac_gradients(theta: float, psi: float, g_loss: Callable[[torch.Tensor], torch.Tensor] = g_minimax_loss,
                    r1_gamma: float = 0.0) -> tuple[float, float]:
    """Exact gradients ``(dL_G/dtheta, dL_D/dpsi)`` of the Dirac GAN at the point ``(theta, psi)``.

    Real data 0, ``G(z) = theta``, D's logit ``psi * x``; D's loss is the cross-entropy
    :func:`~gancourse.losses.d_minimax_loss` plus the R1 penalty ``r1_gamma / 2 * psi**2`` (on the
    real point ``grad_x D = psi``; Mescheder et al., 2018), G's loss is ``g_loss`` of the fake logit.
    Computed by autograd in float64; no sampling is involved, so the gradients are exact.

    Explained in the chapters "GAN training" and "Common problems" (failure to converge).
    """
    if not math.isfinite(r1_gamma) or r1_gamma < 0:
        raise ValueError(f"r1_gamma must be a finite number >= 0, got {r1_gamma!r}")
    theta_t = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
    psi_t = torch.tensor(float(psi), dtype=torch.float64, requires_grad=True)
    real_logit, fake_logit = (psi_t * 0.0).reshape(1), (psi_t * theta_t).reshape(1)
    d_loss = d_minimax_loss(real_logit, fake_logit) + r1_gamma / 2 * psi_t**2
    (d_grad,) = torch.autograd.grad(d_loss, psi_t, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss(fake_logit), theta_t)
    return g_grad.item(), d_grad.item()


def dirac_path(order: str = "alternating", steps: int = 300, lr: float = 0.2, start: tuple[float, float] = (1.0, 1.0),
               g_loss: Callable[[torch.Tensor], torch.Tensor] = g_minimax_loss, r1_gamma: float = 0.0) -> torch.Tensor:
    """Plain gradient steps of size ``lr`` on the Dirac GAN; the path of ``(theta, psi)``, shape ``(steps + 1, 2)``.

    ``order="simultaneous"``: both players step from the gradients at the current point.
    ``order="alternating"``: D steps first, then G steps against the D that has just moved (the
    order of :meth:`~gancourse.train.GANTrainer.train_step` with ``k = 1``). Gradients from
    :func:`dirac_gradients`.

    Explained in the chapters "GAN training" and "Common problems" (failure to converge).
    """
    if order not in ("simultaneous", "alternating"):
        raise ValueError(f"order must be 'simultaneous' or 'alternating', got {order!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    theta, psi = map(float, start)
    path = [(theta, psi)]
    for _ in range(steps):
        g_grad, d_grad = dirac_gradients(theta, psi, g_loss, r1_gamma)
        psi = psi - lr * d_grad
        if order == "alternating":
            g_grad = dirac_gradients(theta, psi, g_loss, r1_gamma)[0]
        theta = theta - lr * g_grad
        path.append((theta, psi))
    return torch.tensor(path, dtype=torch.float64)
