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
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.models import check_shape

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
    "r1_penalty",
    "weight_penalty",
    "GANLoss",
    "LOSSES",
    "get_loss",
    "generator_loss_gradients",
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
    # Checked before any weight changes: clamping to NaN would make every weight NaN.
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float)) or not 0 < clip_value < float("inf"):
        raise ValueError(f"clip_value must be a finite number > 0, got {clip_value!r}")
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
    "wasserstein": GANLoss("wasserstein", wasserstein_critic_loss, wasserstein_generator_loss,
                           outputs_probability=False),
    "least_squares": GANLoss("least_squares", d_least_squares_loss, g_least_squares_loss,
                             outputs_probability=False, threshold=0.5),
    "hinge": GANLoss("hinge", d_hinge_loss, g_hinge_loss, outputs_probability=False),
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


def generator_loss_gradients(g_losses: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
                             outputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """The derivative of each generator loss with respect to D's raw output, at every value in ``outputs``.

    For a loss ``L_G = E[l(o)]`` over D's outputs o on the fakes (a logit, or a critic score), this
    returns ``dl/do`` at each ``o`` in ``outputs`` (shape ``(N,)``), computed with autograd. This is the
    number that backpropagation hands from the loss into D's last layer and, through D, on to G. For
    the classifier losses with ``p = D(G(z)) = sigmoid(o)``: ``-p`` for the saturating minimax loss
    ``log(1 - p)`` and ``-(1 - p)`` for the non-saturating loss ``-log p`` (Goodfellow et al., 2014,
    section 3); ``-1`` for the Wasserstein and hinge losses; ``o - 1`` for least squares.
    :func:`gancourse.plot.plot_loss_gradients` draws the result.

    Args:
        g_losses: name -> generator loss, a function of a batch of outputs (e.g. :func:`g_minimax_loss`).
        outputs: ``(N,)`` tensor of D's raw outputs at which to take the derivative.

    Explained in the chapter "Loss functions".
    """
    check_shape(outputs, ("N",), "generator_loss_gradients", "outputs")
    if outputs.numel() == 0:
        raise ValueError("outputs must hold at least one of D's raw outputs, got an empty tensor")
    result = {}
    for name, loss_fn in g_losses.items():
        o = outputs.detach().float().clone().requires_grad_(True)
        # The losses average over the batch; times N, each element's derivative is that of its own term.
        (grad,) = torch.autograd.grad(loss_fn(o) * o.numel(), o)
        result[name] = grad.detach()
    return result


def r1_penalty(real_out: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """The R1 penalty of Mescheder et al. (2018): ``gamma / 2 * E_x~data[ ||grad_x D(x)||^2 ]``.

    ``real_out`` must be D's output on ``real``, computed with ``real.requires_grad_(True)``; the
    gradient is taken with ``create_graph=True`` so that the penalty itself can be minimised. It pushes
    D to be flat on the data, which damps the circling of the two players around their equilibrium.
    For a linear discriminator ``D(x) = w . x + b`` the penalty is exactly ``gamma / 2 * ||w||^2``.

    Reference: Mescheder, Geiger and Nowozin, "Which training methods for GANs do actually converge?",
    ICML 2018, equation 9.

    Explained in the chapter "Common problems".
    """
    if not real.requires_grad:
        raise ValueError("real must have requires_grad=True before D is applied to it (real.requires_grad_(True))")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    (grad,) = torch.autograd.grad(real_out.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.flatten(start_dim=1).pow(2).sum(dim=1).mean()


def weight_penalty(module: nn.Module, weight: float) -> torch.Tensor:
    """An L2 penalty on a network's weight matrices: ``weight / 2 * sum_W ||W||_F^2``.

    Only parameters with at least two dimensions (linear weights, convolution kernels) are penalised,
    not biases or batch-norm scales. Small weights keep the discriminator smooth, so it cannot become
    overconfident and its feedback cannot swing wildly between updates. Added to D's loss and
    minimised by Adam, this is the classical coupled "L2 weight decay" with coefficient ``weight``.

    Explained in the chapter "Common problems".
    """
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    matrices = [p for p in module.parameters() if p.dim() >= 2]
    if not matrices:
        raise ValueError("module has no weight matrix to penalise")
    return 0.5 * weight * sum(p.pow(2).sum() for p in matrices)
