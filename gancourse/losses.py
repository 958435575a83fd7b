"""GAN losses, each a small pure function of the discriminator's outputs.

Conventions:

- Every loss is something to **minimise**, averaged over the batch.
- Inputs are **logits** ``l`` (for the classifier losses, ``D(x) = sigmoid(l)``) or unbounded critic
  **scores** (Wasserstein). The logarithms of sigmoids are written with ``softplus``
  (``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``), so a logit of
  +-1000 gives a finite loss and a finite gradient where ``log(sigmoid(l))`` would give ``-inf``.

:data:`LOSSES` names each pairing of a discriminator loss and a generator loss; the trainer looks
losses up there by name (``"minimax"``, ``"nonsaturating"``, ``"wasserstein"``, ``"least_squares"``,
``"hinge"``).

Explained in the chapter "Loss functions".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "d_minimax_loss",
    "g_minimax_loss",
    "g_nonsaturating_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "clip_weights",
    "d_least_squares_loss",
    "g_least_squares_loss",
    "d_hinge_loss",
    "g_hinge_loss",
    "gradient_penalty",
    "GANLoss",
    "LOSSES",
    "get_loss",
]


def d_minimax_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's minimax loss: binary cross-entropy with real = 1 and fake = 0.

    ``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-l_real)] + E[softplus(l_fake)]``.
    Minimising it maximises the value function of Goodfellow et al. (2014), equation 1.

    Explained in the chapter "Loss functions".
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_minimax_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's original, **saturating** minimax loss: ``L_G = E[log(1 - D(G(z)))]``.

    Written from logits: ``log(1 - sigmoid(l)) = -softplus(l)``. When D confidently rejects the fakes
    (``D(G(z))`` near 0) this loss is flat and the generator's gradient vanishes (Goodfellow et al.,
    2014, section 3).

    Explained in the chapter "Loss functions".
    """
    return -F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The modified (non-saturating) generator loss: ``L_G = -E[log D(G(z))] = E[softplus(-l)]``.

    Same fixed point as the minimax loss but strong gradients early in training, when D rejects the
    fakes easily (Goodfellow et al., 2014, section 3).

    Explained in the chapter "Loss functions".
    """
    return F.softplus(-fake_logits).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The Wasserstein critic's loss: ``L_C = E[C(G(z))] - E[C(x)]`` (Arjovsky et al., 2017).

    The critic maximises ``E[C(x)] - E[C(G(z))]``, an estimate of the earth mover's distance when C
    is 1-Lipschitz (enforced by :func:`clip_weights` or :func:`gradient_penalty`). Scores are
    unbounded numbers, not probabilities.

    Explained in the chapter "Loss functions".
    """
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The Wasserstein generator's loss: ``L_G = -E[C(G(z))]`` (Arjovsky et al., 2017).

    Explained in the chapter "Loss functions".
    """
    return -fake_scores.mean()


@torch.no_grad()
def clip_weights(module: nn.Module, clip_value: float = 0.01) -> None:
    """Clamp every parameter of ``module`` into ``[-clip_value, clip_value]``, in place.

    The original WGAN's crude way of keeping the critic Lipschitz (Arjovsky et al., 2017, Algorithm 1,
    c = 0.01). Call it after each critic step.

    Explained in the chapter "Loss functions".
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for p in module.parameters():
        p.clamp_(-clip_value, clip_value)


def d_least_squares_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN discriminator loss: ``L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]``.

    D's raw output is regressed to 1 for real and 0 for fake (Mao et al., 2017, equation 9 with a=0,
    b=c=1).

    Explained in the chapter "Loss functions".
    """
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def g_least_squares_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN generator loss: ``L_G = 1/2 E[(D(G(z)) - 1)^2]`` (Mao et al., 2017).

    Explained in the chapter "Loss functions".
    """
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def d_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss: ``L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``.

    Used by SAGAN and BigGAN (Lim & Ye, 2017; Miyato et al., 2018).

    Explained in the chapter "Loss functions".
    """
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: ``L_G = -E[D(G(z))]`` (Lim & Ye, 2017).

    Explained in the chapter "Loss functions".
    """
    return -fake_logits.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP's penalty: ``E[(||grad_x C(x_hat)||_2 - 1)^2]`` (Gulrajani et al., 2017, equation 3).

    ``x_hat = eps * x + (1 - eps) * G(z)`` with one ``eps ~ U[0, 1]`` per sample, and the gradient
    norm taken per sample over all of its other dimensions. For a linear critic ``C(x) = w . x`` the
    gradient is ``w`` everywhere, so the penalty is exactly ``(|w| - 1)^2``. Add it, times a weight
    (10 in the paper), to :func:`wasserstein_critic_loss`.

    Explained in the chapter "Loss functions".
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(start_dim=1).norm(2, dim=1)  # (N,)
    return ((norms - 1) ** 2).mean()


@dataclass(frozen=True)
class GANLoss:
    """A named pair of losses: ``d(real_out, fake_out)`` for the discriminator, ``g(fake_out)`` for G.

    ``outputs_probability`` says whether ``sigmoid`` of D's output is a probability (True for the
    classifier losses, False for critics whose scores are just numbers). ``threshold`` is the output
    above which D calls a sample real, used to report D's accuracy (for a Wasserstein critic the sign
    of a score means little, so its "accuracy" is only a rough guide).

    Explained in the chapter "Loss functions".
    """

    name: str
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]
    outputs_probability: bool = True
    threshold: float = 0.0


#: Every loss pairing the trainer knows, by name.
LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss("minimax", d_minimax_loss, g_minimax_loss),
    "nonsaturating": GANLoss("nonsaturating", d_minimax_loss, g_nonsaturating_loss),
    "wasserstein": GANLoss("wasserstein", wasserstein_critic_loss, wasserstein_generator_loss, False),
    "least_squares": GANLoss("least_squares", d_least_squares_loss, g_least_squares_loss, False, 0.5),
    "hinge": GANLoss("hinge", d_hinge_loss, g_hinge_loss, False),
}


def get_loss(name: str) -> GANLoss:
    """Look up a loss pairing by name; an unknown name raises a ``ValueError`` listing the known ones.

    ``"modified_minimax"`` is accepted as another name for ``"nonsaturating"``.

    Explained in the chapter "Loss functions".
    """
    key = {"modified_minimax": "nonsaturating", "non_saturating": "nonsaturating"}.get(name, name)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(sorted(LOSSES))} (or 'modified_minimax')")
    return LOSSES[key]
