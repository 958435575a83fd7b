"""Remedies for the common problems of GAN training, as trainers and discriminator wrappers.

The chapter "Common problems" produces three failures on purpose and treats each one:

========================  ===============================================================
problem                   remedies
========================  ===============================================================
vanishing gradients       modified minimax (``TrainConfig(loss="nonsaturating")``) and the
                          Wasserstein loss (``loss="wasserstein"`` with ``clip_value=`` or
                          ``gp_weight=``), both already in :mod:`gancourse.losses`
mode collapse             the Wasserstein loss, and :class:`UnrolledGANTrainer` (here)
failure to converge       noise on D's inputs (:class:`InstanceNoiseTrainer`) and penalties on
                          D's weights or gradients (:class:`PenalizedTrainer`)
========================  ===============================================================

Each remedy is a subclass of :class:`gancourse.train.GANTrainer` that fills in one of its hooks
(:class:`PenalizedTrainer`: ``d_penalty``), adds to a step (:class:`InstanceNoiseTrainer`,
:class:`AveragedGeneratorTrainer`) or, where the update really differs, replaces it
(:class:`UnrolledGANTrainer`'s generator update), or a module that wraps the discriminator, so that
the training loop itself stays the one the course teaches.

Beyond the course (marked as extensions): :class:`PackedDiscriminator`, the packing of PacGAN, where
D judges several samples at once, and :class:`AveragedGeneratorTrainer`, which samples from a running
average of the generator's weights.

:func:`generator_gradient_norm` measures the symptom of vanishing gradients, and
:func:`mode_occupancy` turns snapshots into a mode-by-step histogram that shows a collapsed generator
hopping from mode to mode (:func:`modes_per_snapshot` counts the modes each snapshot covers).
The Dirac GAN, the smallest game that fails to converge, is :mod:`gancourse.dirac`. Training and
scoring a remedy over many seeds on the ring or the grid is the job of :mod:`gancourse.recipes`.

Explained in the chapter "Common problems".
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gancourse import checkpoint
from gancourse.losses import r1_penalty, weight_penalty
from gancourse.models import eval_mode, frozen
from gancourse.noise import sample_noise
from gancourse.train import GANTrainer
from gancourse.train_config import TrainConfig

__all__ = [
    "UnrolledGANTrainer",
    "InstanceNoise",
    "InstanceNoiseTrainer",
    "PenalizedTrainer",
    "PackedDiscriminator",
    "AveragedGeneratorTrainer",
    "generator_gradient_norm",
    "mode_occupancy",
    "modes_per_snapshot",
]


# ---------------------------------------------------------------------------------------------
# Unrolled GAN: the generator looks k discriminator steps ahead
# ---------------------------------------------------------------------------------------------


def _lookahead_update(optimizer: torch.optim.Optimizer, param: nn.Parameter, state: dict,
                      grad: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """One step of ``optimizer``'s rule applied to ``value`` (a tensor standing for ``param``), written
    with ordinary tensor operations so that autograd can differentiate through it.

    ``state`` starts as a copy of the optimizer's own state for ``param`` and is updated in place.
    Adam and RMSprop are reproduced (without weight decay, AMSGrad or momentum for RMSprop), any other
    optimizer is treated as plain SGD with its learning rate.
    """
    group = next(g for g in optimizer.param_groups if any(p is param for p in g["params"]))
    lr = group["lr"]
    if isinstance(optimizer, torch.optim.Adam):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
        m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
        v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
        # sqrt(v + eps^2) rather than sqrt(v) + eps: the same step to within eps, and a finite
        # derivative where a gradient entry is exactly 0 (dead ReLU units).
        return value - lr * m_hat / (v_hat + group["eps"] ** 2).sqrt()
    if isinstance(optimizer, torch.optim.RMSprop):
        alpha = group["alpha"]
        state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
        return value - lr * grad / (state["square_avg"] + group["eps"] ** 2).sqrt()
    return value - lr * grad


def _copy_state(optimizer: torch.optim.Optimizer, param: nn.Parameter) -> dict:
    """Detached copies of the optimizer's running averages for ``param`` (zeros before its first step)."""
    own = optimizer.state.get(param, {})
    state = {"step": float(own["step"]) if "step" in own else 0.0}
    for key in ("exp_avg", "exp_avg_sq", "square_avg"):
        state[key] = own[key].detach().clone() if key in own else torch.zeros_like(param)
    return state


class UnrolledGANTrainer(GANTrainer):
    """Unrolled GAN (Metz et al., 2017): the generator's loss is measured against the discriminator
    as it will be ``unroll_steps`` updates from now.

    Write ``theta_D^0`` for D's current weights and ``theta_D^(j+1) = theta_D^j - eta * grad L_D``
    for the weights after one more update. That plain gradient step is a sketch: each look-ahead
    update here applies D's own optimizer rule (Adam or RMSprop, with its learning rate and betas,
    started from copies of its current running averages; see ``_lookahead_update``) to a fresh real
    batch and a fresh noise batch. Each generator update minimises

        ``L_G(theta_G, theta_D^k(theta_G))``

    where ``theta_D^k`` is computed on a *copy* of D's weights with :func:`torch.func.functional_call`;
    D itself is only updated by the ordinary discriminator steps (Metz et al., section 2.2). A generator
    that piles its samples on one mode is penalised, because it "sees" D learning to reject that mode.

    Two ways to differentiate (Metz et al., section 2.3):

    - ``second_order=True`` (the paper's method): gradients flow through the k updates themselves,
      i.e. through how D's future weights depend on G's samples. Costs about ``2k`` extra backward
      passes per generator step.
    - ``second_order=False`` (the cheap variant): the k updates are taken on detached samples and
      G's gradient is that of ``L_G`` at the look-ahead weights ``theta_D^k``, with those weights held
      fixed. Cheaper, but a weaker remedy.

    The look-ahead updates use the discriminator loss of the chosen ``TrainConfig.loss`` and respect
    ``clip_value``; a gradient penalty (``gp_weight``) is left out of the look-ahead.

    Args:
        generator, discriminator, real, config, device: as for :class:`~gancourse.train.GANTrainer`.
        unroll_steps: k, the number of look-ahead discriminator updates (0 gives the ordinary trainer;
            the paper uses 5 to 10 on the ring).
        second_order: differentiate through the look-ahead updates.

    Reference: Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled generative adversarial networks",
    ICLR 2017.

    Explained in the chapter "Common problems".
    """

    #: Its G update is its own (see :meth:`generator_step`): fp32, contiguous, one process.
    supports = frozenset()

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable,
                 config: TrainConfig | None = None, device=None, *, unroll_steps: int = 5,
                 second_order: bool = True):
        if not isinstance(unroll_steps, int) or isinstance(unroll_steps, bool) or unroll_steps < 0:
            raise ValueError(f"unroll_steps must be a non-negative int, got {unroll_steps!r}")
        super().__init__(generator, discriminator, real, config, device)
        self.unroll_steps = unroll_steps
        self.second_order = bool(second_order)

    def lookahead_parameters(self) -> dict[str, torch.Tensor]:
        """D's weights after ``unroll_steps`` look-ahead updates, as a name -> tensor dict.

        With ``second_order`` the result is a differentiable function of G's weights (through the fake
        samples of each look-ahead update); otherwise the tensors are detached. D's own weights and
        its optimizer's state are left untouched.
        """
        cfg, d = self.config, self.discriminator
        named = dict(d.named_parameters())
        params = {name: p.detach().clone().requires_grad_(True) for name, p in named.items()}
        buffers = dict(d.named_buffers())
        states = {name: _copy_state(self.opt_d, p) for name, p in named.items()}
        for _ in range(self.unroll_steps):
            real = self.real(cfg.batch_size, self.rng)
            z = self.noise(cfg.batch_size)
            if self.second_order:
                fake = self.generator(z)
            else:
                with torch.no_grad():
                    fake = self.generator(z)
            real_out = functional_call(d, {**params, **buffers}, (real,))
            fake_out = functional_call(d, {**params, **buffers}, (fake,))
            d_loss = self.loss.d(real_out, fake_out)
            grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=self.second_order)
            new = {}
            for (name, value), grad in zip(params.items(), grads):
                updated = _lookahead_update(self.opt_d, named[name], states[name], grad, value)
                if cfg.clip_value is not None:
                    updated = updated.clamp(-cfg.clip_value, cfg.clip_value)
                new[name] = updated if self.second_order else updated.detach().requires_grad_(True)
            params = new
        return params

    def generator_step(self) -> dict[str, torch.Tensor]:
        """One G update against the look-ahead discriminator; D's own weights do not change.

        This replaces the base trainer's whole G update, not one of its hooks: the loss is taken through
        D's *look-ahead* weights (a functional call), and the gradient reaches G only, which no hook of
        the base update expresses. It runs in fp32, contiguous, in one process (see :attr:`supports`).
        """
        if self.unroll_steps == 0:
            return super().generator_step()
        d = self.discriminator
        params = self.lookahead_parameters()
        if not self.second_order:
            params = {name: p.detach() for name, p in params.items()}
        fake = self.generator(self.noise(self.config.batch_size))
        fake_out = functional_call(d, {**params, **dict(d.named_buffers())}, (fake,))
        loss = self.loss.g(fake_out)
        self.opt_g.zero_grad(set_to_none=True)
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, g_params, allow_unused=True)
        for p, grad in zip(g_params, grads):
            p.grad = grad
        self.opt_g.step()
        return {"g_loss": loss.detach()}


# ---------------------------------------------------------------------------------------------
# Instance noise: blur both distributions, less and less
# ---------------------------------------------------------------------------------------------


class InstanceNoise(nn.Module):
    """Wrap a discriminator so that, in training mode, it sees its input plus Gaussian noise.

    ``D_sigma(x) = D(x + sigma * eps)`` with ``eps ~ N(0, I)`` drawn afresh for every sample, real and
    generated alike. Adding the same noise to both sets blurs the two distributions until they overlap,
    so the optimal discriminator is no longer a step function and its gradient carries information
    everywhere (Arjovsky & Bottou, 2017, section 3; Sønderby et al., 2017, section 3.1). ``sigma`` is
    annealed linearly from ``sigma_start`` to 0 over ``anneal_steps`` training steps
    (:meth:`set_step`), so the noise helps early and is gone at the end.

    In eval mode (heatmaps, figures) D sees its input as it is.

    Args:
        discriminator: the wrapped network, ``(N, ...) -> (N,)``.
        sigma_start: the noise standard deviation at step 0 (in data units).
        anneal_steps: the step at which sigma reaches 0.
        generator: a ``torch.Generator`` for the noise (the trainer passes its own, for repeatable runs).

    References: Sønderby, Caballero, Theis, Shi and Huszár, "Amortised MAP inference for image
    super-resolution", ICLR 2017 (instance noise); Arjovsky and Bottou, "Towards principled methods for
    training generative adversarial networks", ICLR 2017.

    Explained in the chapter "Common problems".
    """

    def __init__(self, discriminator: nn.Module, sigma_start: float, anneal_steps: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        if not sigma_start >= 0:
            raise ValueError(f"sigma_start must be >= 0, got {sigma_start!r}")
        if not isinstance(anneal_steps, int) or anneal_steps < 1:
            raise ValueError(f"anneal_steps must be a positive int, got {anneal_steps!r}")
        self.inner = discriminator
        self.sigma_start = float(sigma_start)
        self.anneal_steps = anneal_steps
        self.generator = generator
        self.sigma = self.sigma_start

    def sigma_at(self, step: int) -> float:
        """``sigma_start * max(0, 1 - step / anneal_steps)``: linear decay to 0."""
        return self.sigma_start * max(0.0, 1.0 - step / self.anneal_steps)

    def set_step(self, step: int) -> None:
        """Set the current noise level for training step ``step``."""
        self.sigma = self.sigma_at(step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.sigma > 0:
            noise = torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
            x = x + self.sigma * noise
        return self.inner(x)


class InstanceNoiseTrainer(GANTrainer):
    """A trainer whose discriminator sees annealed instance noise (see :class:`InstanceNoise`).

    The discriminator passed in is wrapped, so ``trainer.discriminator`` is an :class:`InstanceNoise`
    and ``trainer.discriminator.inner`` the original network. Before each training step the noise level
    is set from the step counter: ``sigma = sigma_start * max(0, 1 - step / anneal_steps)``; both D's
    updates and G's updates go through the noisy D. The noise is drawn from the trainer's own
    random-number generator, so runs stay repeatable.

    Args:
        generator, discriminator, real, config, device: as for :class:`~gancourse.train.GANTrainer`.
        sigma_start: noise standard deviation at step 0.
        anneal_steps: steps over which the noise decays to 0.

    Explained in the chapter "Common problems".
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable,
                 config: TrainConfig | None = None, device=None, *, sigma_start: float = 0.5,
                 anneal_steps: int = 1000):
        super().__init__(generator, discriminator, real, config, device)
        # The wrapper holds no parameters of its own: the optimiser built by GANTrainer still updates
        # the very same tensors.
        self.discriminator = InstanceNoise(self.discriminator, sigma_start, anneal_steps, generator=self.rng)

    @property
    def sigma(self) -> float:
        """The noise level used by the most recent (or next) step."""
        return self.discriminator.sigma

    def train_step(self) -> None:
        """Set the noise level for this step, then the usual k D updates and one G update."""
        self.discriminator.set_step(self.step)
        super().train_step()


# ---------------------------------------------------------------------------------------------
# Penalties on the discriminator: its gradients (R1) or its weights (L2)
# ---------------------------------------------------------------------------------------------


class PenalizedTrainer(GANTrainer):
    """A trainer whose discriminator loss carries a penalty on D's gradients (R1), its weights (L2),
    or both:

        ``L_D' = L_D + r1_gamma / 2 * E_x[||grad_x D(x)||^2] + weight_decay / 2 * sum_W ||W||^2``.

    Everything else is the ordinary discriminator step (the same batches, the same optional gradient
    penalty and clipping, the same statistics, with the penalty included in the loss reported): the
    trainer only fills in the base trainer's ``d_penalty`` hook (and marks the real batch for R1).

    Args:
        generator, discriminator, real, config, device: as for :class:`~gancourse.train.GANTrainer`.
        r1_gamma: weight gamma of :func:`r1_penalty` (Mescheder et al. use 0.1 to 10).
        weight_decay: weight of :func:`weight_penalty`.

    Explained in the chapter "Common problems".
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable,
                 config: TrainConfig | None = None, device=None, *, r1_gamma: float = 0.0,
                 weight_decay: float = 0.0):
        if r1_gamma < 0 or weight_decay < 0:
            raise ValueError(f"r1_gamma and weight_decay must be >= 0, got {r1_gamma} and {weight_decay}")
        super().__init__(generator, discriminator, real, config, device)
        self.r1_gamma = float(r1_gamma)
        self.weight_decay = float(weight_decay)

    def real_batch(self, n: int) -> tuple[torch.Tensor, None]:
        """A real batch that records D's gradient with respect to it when R1 is on."""
        real, context = super().real_batch(n)
        return (real.detach().requires_grad_(True) if self.r1_gamma > 0 else real), context

    def d_penalty(self, real: torch.Tensor, fake: torch.Tensor, real_out: torch.Tensor, context) -> torch.Tensor:
        """The R1 and L2 penalties, then the base trainer's (the gradient penalty when ``gp_weight > 0``)."""
        total = real_out.new_zeros(())
        if self.r1_gamma > 0:
            total = total + r1_penalty(real_out, real, self.r1_gamma)
        if self.weight_decay > 0:
            total = total + weight_penalty(self.discriminator, self.weight_decay)
        return total + super().d_penalty(real, fake, real_out, context)


# ---------------------------------------------------------------------------------------------
# Extension beyond the course: packing (PacGAN)
# ---------------------------------------------------------------------------------------------


class PackedDiscriminator(nn.Module):
    """PacGAN's packing (Lin et al., 2018): D judges ``pack`` samples at once, concatenated.

    A batch of ``N`` samples ``(N, d)`` becomes ``N / pack`` packed samples ``(N / pack, pack * d)``
    (images ``(N, C, H, W)`` become ``(N / pack, pack * C, H, W)``: the samples are stacked along the
    channels), and the wrapped network gives one logit per pack. All samples in a pack come from the
    same source, real or generated, and are independent. A generator that repeats itself is easy to
    catch when D sees several of its samples side by side, so packing penalises mode collapse.

    The wrapped network must accept the packed width (for an MLP: ``in_dim = pack * d``) and every
    batch size must be a multiple of ``pack``. With a gradient penalty, the norm is taken per sample
    rather than per pack.

    Reference: Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in generative adversarial
    networks", NeurIPS 2018.

    Explained in the chapter "Common problems" (as an extension beyond the course).
    """

    def __init__(self, discriminator: nn.Module, pack: int):
        super().__init__()
        if not isinstance(pack, int) or isinstance(pack, bool) or pack < 1:
            raise ValueError(f"pack must be a positive int, got {pack!r}")
        self.inner = discriminator
        self.pack = pack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"PackedDiscriminator(pack={self.pack}) needs a batch size that is a multiple of "
                             f"{self.pack}, got {n} samples")
        packed = x.reshape(n // self.pack, self.pack * x.shape[1], *x.shape[2:])  # (N/pack, pack*d, ...)
        return self.inner(packed)  # (N/pack,)


class AveragedGeneratorTrainer(GANTrainer):
    """Sample from a running average of the generator's weights (an extension beyond the course).

    After every training step the trainer updates an exponential moving average (EMA) of G's weights,

        ``theta_avg <- beta * theta_avg + (1 - beta) * theta_G``,

    and :meth:`sample` (hence snapshots and figures) uses a copy of G that carries ``theta_avg``.
    Training itself is unchanged: D still plays against the live generator. When the two players
    circle around an equilibrium instead of settling, the average of their positions lies much closer
    to it than any single iterate; for a GAN this removes the jitter that a constant learning rate
    leaves in the samples.

    Args:
        generator, discriminator, real, config, device: as for :class:`~gancourse.train.GANTrainer`.
        ema_decay: beta, between 0 and 1; the average spans about ``1 / (1 - beta)`` steps.

    Reference: Yazıcı, Foo, Winkler, Yap, Piliouras and Chandrasekhar, "The unusual effectiveness of
    averaging in GAN training", ICLR 2019.

    Explained in the chapter "Common problems" (as an extension beyond the course).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, real: Callable,
                 config: TrainConfig | None = None, device=None, *, ema_decay: float = 0.999):
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        super().__init__(generator, discriminator, real, config, device)
        self.ema_decay = float(ema_decay)
        # torch's own EMA: theta_avg <- decay * theta_avg + (1 - decay) * theta_G, on every parameter at once.
        self.averaged_generator = AveragedModel(self.generator, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay),
                                                use_buffers=False).requires_grad_(False)
        self.averaged_generator.update_parameters(self.generator)  # the first update copies: the average starts at G

    @torch.no_grad()
    def update_average(self) -> None:
        """Move the averaged weights towards the live ones; copy the buffers (batch-norm statistics).

        The buffers are copied rather than averaged: the running statistics then describe the live
        generator's activations, as in the implementations of Karras et al. (Progressive GAN, StyleGAN).
        """
        self.averaged_generator.update_parameters(self.generator)
        for b_avg, b_live in zip(self.averaged_generator.module.buffers(), self.generator.buffers()):
            b_avg.copy_(b_live)

    def train_step(self) -> None:
        """The usual k D updates and one G update, then one update of the average."""
        super().train_step()
        self.update_average()

    @torch.no_grad()
    def sample(self, n: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Generate samples from the averaged generator, in eval mode, without gradients.

        Without ``noise`` the noise comes from :meth:`~gancourse.train.GANTrainer.sampling_noise`, never from
        the training stream, so sampling changes nothing in the run."""
        z = noise if noise is not None else self.sampling_noise(n if n is not None else self.config.n_fixed)
        with eval_mode(self.averaged_generator):
            return self.averaged_generator(z.to(self.device))

    def state_dict(self) -> dict:
        """The training state of :class:`~gancourse.train.GANTrainer` plus the averaged generator."""
        state = super().state_dict()
        state["averaged_generator"] = self.averaged_generator.state_dict()
        return state

    def validate_state(self, state, path="<state>") -> None:
        """Check the base trainer's state and the averaged generator's, changing nothing."""
        super().validate_state(state, path)
        checkpoint.check_keys(state, ("averaged_generator",), path, "a checkpoint of an AveragedGeneratorTrainer")
        checkpoint.check_shapes(self.averaged_generator, state["averaged_generator"], "averaged generator", path)

    def load_state(self, state: dict, path="<state>") -> None:
        """Restore the base trainer's state and the averaged generator (all checked before either changes)."""
        super().load_state(state, path)
        self.averaged_generator.load_state_dict(state["averaged_generator"])


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------


def generator_gradient_norm(trainer: GANTrainer, n: int = 512, seed: int = 0,
                            loss: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    """The size of the generator's gradient, ``||grad_theta_G L_G||_2``, on a fresh noise batch.

    Measuring does not change the run: nothing is updated, the noise comes from ``seed`` and not from the
    trainer's random-number generator (whose state is put back, should D draw from it, as instance noise
    does), and the networks' buffers (batch norm's running statistics) are put back as they were. The
    networks run in training mode, as in G's update. ``loss`` is a generator loss of the fake logits
    (default: the trainer's own, ``trainer.loss.g``); pass e.g.
    :func:`gancourse.losses.g_minimax_loss` to see what another loss would give against the same D.
    A norm that falls towards 0 while the samples are still poor is the symptom of vanishing gradients.

    Explained in the chapter "Common problems".
    """
    g, d = trainer.generator, trainer.discriminator
    rng = torch.Generator(device=trainer.device).manual_seed(seed)
    z = sample_noise(n, trainer.config.latent_dim, trainer.config.noise, rng)
    params = [p for p in g.parameters() if p.requires_grad]
    buffers = [(b, b.clone()) for b in (*g.buffers(), *d.buffers())]
    training_rng = trainer.rng.get_state()
    try:
        with frozen(d):
            value = (loss or trainer.loss.g)(d(g(z)))
        grads = torch.autograd.grad(value, params, allow_unused=True)
    finally:
        with torch.no_grad():
            for live, saved in buffers:
                live.copy_(saved)
        trainer.rng.set_state(training_rng)
    return math.sqrt(sum(float(gr.pow(2).sum()) for gr in grads if gr is not None))


@torch.no_grad()
def mode_occupancy(snapshots: Mapping[int, torch.Tensor], mixture,
                   n_sigmas: float = 3.0) -> tuple[list[int], torch.Tensor]:
    """For each snapshot, the share of its samples that land on each mode.

    A sample lands on mode k when k is its nearest mode and it lies within ``n_sigmas`` standard
    deviations of it (with the default 3, these are the high-quality samples of
    :func:`gancourse.metrics.mode_metrics`; a wider radius also counts rough samples near a mode).
    Returns ``(steps, shares)`` where ``shares`` has shape ``(K, len(steps))``. Drawn as an image (modes
    down, steps across), a healthy generator gives an even band, and a collapsed one a few bright cells
    per column, which wander from mode to mode over training.

    Explained in the chapter "Common problems".
    """
    from gancourse.metrics import mode_metrics

    steps = sorted(snapshots)
    if not steps:
        raise ValueError("snapshots is empty: train with snapshot_every set")
    columns = []
    for step in steps:
        samples = snapshots[step]
        m = mode_metrics(samples, mixture, n_sigmas=n_sigmas)
        columns.append(m.counts.double() / samples.shape[0])
    return steps, torch.stack(columns, dim=1)  # (K, T)


def modes_per_snapshot(shares: torch.Tensor, share: float = 0.02) -> torch.Tensor:
    """How many modes hold at least ``share`` of each snapshot's samples.

    ``shares`` is the ``(K, T)`` histogram of :func:`mode_occupancy`; the result is a ``(T,)`` long
    tensor with values in 0..K. A generator that covers the data holds all K modes in every column;
    a collapsed one holds a few, and ``shares >= share`` shows which ones (a set that changes from
    column to column is a generator hopping between modes).

    Explained in the chapter "Common problems".
    """
    shares = torch.as_tensor(shares)
    if shares.dim() != 2:
        raise ValueError(f"shares must be the (K, T) histogram of mode_occupancy, got shape {tuple(shares.shape)}")
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return (shares >= share).sum(dim=0)
