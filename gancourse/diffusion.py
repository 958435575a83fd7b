"""A small denoising diffusion model (DDPM), the family of generative models that overtook GANs on images.

A denoising diffusion probabilistic model (Ho, Jain and Abbeel, "Denoising diffusion probabilistic
models", NeurIPS 2020; after Sohl-Dickstein et al., ICML 2015) has no generator and no discriminator.

- The **forward process** adds Gaussian noise to a data point x_0 in T small steps,
  ``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)``, with a fixed schedule
  ``beta_1 < ... < beta_T`` (:func:`linear_betas`). It has a closed form at every step: with
  ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = alpha_1 ... alpha_t``,

      ``q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)``   (Ho et al., eq. 4),

  so ``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`` with ``eps ~ N(0, I)``
  (:meth:`DDPM.q_sample`). At ``t = T`` almost nothing of x_0 is left: x_T is nearly ``N(0, I)``.
- A network ``eps_theta(x_t, t)`` (:class:`NoisePredictor`) learns to tell which noise was added, with
  the **simple loss** ``E_{t, x_0, eps} ||eps - eps_theta(x_t, t)||^2`` (Ho et al., eq. 14;
  :meth:`DDPM.loss`), t drawn uniformly from 1..T.
- **Ancestral sampling** (:meth:`DDPM.sample`, Ho et al., Algorithm 2) runs the process backwards:
  start from ``x_T ~ N(0, I)`` and for ``t = T, ..., 1`` draw

      ``x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta(x_t, t)) + sigma_t z``,

  with ``z ~ N(0, I)`` (none at the last step). That is T passes of the network per sample, against a
  GAN generator's one: the price of diffusion's stable training and full coverage of the data.

:func:`gancourse.vae.fit` trains a :class:`DDPM` like any model with a ``loss`` method.

Explained in the chapter "GANs in context".
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from gancourse.models import check_shape, eval_mode

__all__ = ["linear_betas", "timestep_embedding", "NoisePredictor", "DDPM", "VARIANCES"]

#: The two choices of the reverse variance sigma_t^2 of :meth:`DDPM.sample` (Ho et al., section 3.2):
#: ``"beta"`` (``beta_t``) and ``"posterior"`` (``beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)``).
VARIANCES = ("beta", "posterior")


def linear_betas(steps: int = 1000, beta_start: float | None = None, beta_end: float | None = None) -> torch.Tensor:
    """The linear noise schedule ``beta_1, ..., beta_T``: ``steps`` values evenly spaced from start to end.

    Ho et al. (2020) use ``T = 1000`` steps from ``1e-4`` to ``0.02``. For other T the defaults scale both
    ends by ``1000 / T``, as the code of Nichol and Dhariwal ("Improved denoising diffusion
    probabilistic models", ICML 2021) does, so that a shorter chain still ends near pure noise
    (``alpha_bar_T`` close to 0); the default end is capped at 0.5, so that very short chains (fewer than
    40 steps, as in quick tests) keep valid variances. Returns a float64 tensor of shape ``(steps,)``.

    Explained in the chapter "GANs in context".
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    scale = 1000 / steps
    start = 1e-4 * scale if beta_start is None else float(beta_start)
    end = min(0.02 * scale, 0.5) if beta_end is None else float(beta_end)
    if not 0 < start <= end < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {start} and {end}")
    return torch.linspace(start, end, steps, dtype=torch.float64)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of the step numbers ``t`` (shape ``(N,)``): ``(N, dim)``, as in the Transformer.

    ``[cos(t w_0), ..., cos(t w_{h-1}), sin(t w_0), ..., sin(t w_{h-1})]`` with ``h = dim / 2`` and
    ``w_i = max_period^(-i / h)`` (Vaswani et al., 2017; used for the diffusion step by Ho et al.). Nearby
    steps get similar features, so the network can share what it learns between them.

    Explained in the chapter "GANs in context".
    """
    check_shape(t, ("N",), "timestep_embedding", "steps")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(f"dim must be a positive even int, got {dim!r}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]  # (N, half)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)  # (N, dim)


class NoisePredictor(nn.Module):
    """The network ``eps_theta(x_t, t)``: an MLP that reads a noisy example and its step, and returns noise.

    The step t enters through :func:`timestep_embedding`, passed through a small MLP and *added* to every
    hidden layer, so each layer knows how noisy its input is. Images are flattened and reshaped back.

    Args:
        data_shape: the shape of one example: ``(2,)`` for points, ``(1, 28, 28)`` for digits.
        hidden: widths of the hidden layers (SiLU activations).
        time_dim: size of the sinusoidal step features.

    Explained in the chapter "GANs in context".
    """

    def __init__(self, data_shape: Sequence[int] = (2,), hidden: Sequence[int] = (128, 128, 128), time_dim: int = 32):
        super().__init__()
        data_shape = tuple(data_shape)
        sizes = (*data_shape, *hidden, time_dim)
        if not data_shape or not hidden or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
            raise ValueError(f"NoisePredictor: data_shape, hidden and time_dim must be positive ints (data_shape and "
                             f"hidden non-empty), got {data_shape}, {tuple(hidden)}, {time_dim!r}")
        self.data_shape, self.time_dim = data_shape, time_dim
        flat = math.prod(data_shape)
        widths = [flat, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.time = nn.ModuleList(nn.Linear(time_dim, b) for b in hidden)  # one projection of t per hidden layer
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU())
        self.out = nn.Linear(hidden[-1], flat)
        self.skip = nn.Linear(time_dim, 1)  # a step-dependent multiple of the input, added to the output
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_shape(x, ("N", *self.data_shape), "NoisePredictor", "noisy data")
        check_shape(t, (x.shape[0],), "NoisePredictor", "steps")
        emb = self.time_mlp(timestep_embedding(t, self.time_dim))  # (N, time_dim)
        h = x.flatten(1)  # (N, flat)
        for layer, time in zip(self.layers, self.time):
            h = self.act(layer(h) + time(emb))  # (N, width)
        skip = self.skip(emb).reshape(-1, *([1] * (x.dim() - 1)))  # (N, 1, ...)
        return self.out(h).reshape(x.shape) + skip * x  # (N, *data_shape)


class DDPM(nn.Module):
    """A DDPM: a noise-prediction network and the noise schedule it was trained with (Ho et al., 2020).

    Args:
        net: ``eps_theta(x_t, t)``, e.g. a :class:`NoisePredictor`; it receives the step index ``i = t - 1``
            in ``0 .. T-1`` as a long tensor ``(N,)``.
        steps: T, the number of noising steps (and of network passes per sample).
        betas: the schedule ``beta_1..beta_T``; default :func:`linear_betas` for ``steps``.

    The schedule is kept as buffers, so ``ddpm.to(device)`` moves it with the network. In code the step
    t = 1..T of the paper is the index ``i = t - 1``, and ``alpha_bar[i]`` is ``alpha_bar_t``.

    Explained in the chapter "GANs in context".
    """

    def __init__(self, net: nn.Module, steps: int = 100, betas: torch.Tensor | None = None):
        super().__init__()
        betas = linear_betas(steps) if betas is None else torch.as_tensor(betas, dtype=torch.float64)
        if betas.dim() != 1 or betas.numel() != steps or not ((betas > 0) & (betas < 1)).all():
            raise ValueError(f"betas must hold {steps} values in (0, 1), got shape {tuple(betas.shape)}")
        self.net, self.steps = net, steps
        alpha_bars = torch.cumprod(1 - betas, dim=0)
        previous = torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])  # alpha_bar_{t-1}, with alpha_bar_0 = 1
        for name, value in (("betas", betas), ("alphas", 1 - betas), ("alpha_bars", alpha_bars),
                            ("alpha_bars_prev", previous)):
            self.register_buffer(name, value.float())

    def _at(self, values: torch.Tensor, i: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``values[i]`` shaped ``(N, 1, ...)`` to broadcast against ``x``."""
        return values[i].reshape(-1, *([1] * (x.dim() - 1)))

    def _check_steps(self, i: torch.Tensor, x: torch.Tensor) -> None:
        check_shape(i, (x.shape[0],), "DDPM", "step indices")
        if i.is_floating_point() or i.is_complex():
            raise ValueError(f"step indices must be integers in 0..{self.steps - 1}, got dtype {i.dtype}")

    def q_mean_std(self, x0: torch.Tensor, i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of ``q(x_t | x_0)``: ``sqrt(alpha_bar_t) x_0`` and ``sqrt(1 - alpha_bar_t)``."""
        self._check_steps(i, x0)
        alpha_bar = self._at(self.alpha_bars, i, x0)
        return alpha_bar.sqrt() * x0, (1 - alpha_bar).sqrt().expand_as(x0)

    def q_sample(self, x0: torch.Tensor, i: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``: x_0 noised to step ``t = i + 1`` in one go."""
        mean, std = self.q_mean_std(x0, i)
        return mean + std * noise

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The simple loss ``||eps - eps_theta(x_t, t)||^2`` (mean over values and batch): ``{"loss": ...}``.

        Each example gets its own step t, uniform in 1..T, and its own noise, both from ``generator``.
        """
        i = torch.randint(self.steps, (x0.shape[0],), generator=generator, device=x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        return {"loss": (noise - self.net(self.q_sample(x0, i, noise), i)).pow(2).mean()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, *, data_shape: Sequence[int] | None = None,
               variance: str = "posterior", clip: tuple[float, float] | None = None) -> torch.Tensor:
        """``n`` samples by ancestral sampling: T passes of the network, from ``x_T ~ N(0, I)`` down to x_0.

        Each step computes the network's estimate of the clean example,
        ``x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t)``, optionally clamped to
        ``clip`` (e.g. ``(-1, 1)`` for images, as in Ho et al.'s code), and draws x_{t-1} from the
        Gaussian posterior ``q(x_{t-1} | x_t, x0_hat)``; without clipping its mean is exactly the
        formula of Algorithm 2 in the module docstring. Its variance is ``sigma_t^2``: ``"posterior"``
        (``beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)``, the default, the better choice when the
        data are concentrated near a few points) or ``"beta"`` (``beta_t``); Ho et al. report similar
        results for both. No noise is added at the last step. The network runs in eval mode; the
        samples ``(n, *data_shape)`` are on the generator's device (else the model's). ``data_shape``
        defaults to the network's ``data_shape``.

        Explained in the chapter "GANs in context".
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if variance not in VARIANCES:
            raise ValueError(f"variance must be 'beta' or 'posterior', got {variance!r}")
        shape = tuple(data_shape) if data_shape is not None else tuple(getattr(self.net, "data_shape", ()))
        if not shape:
            raise ValueError("give data_shape: the network has no data_shape attribute")
        dev = generator.device if generator is not None else self.betas.device
        x = torch.randn((n, *shape), generator=generator, device=dev)
        with eval_mode(self.net):
            for step in reversed(range(self.steps)):
                i = torch.full((n,), step, device=dev, dtype=torch.long)
                alpha_bar, prev = self.alpha_bars[step], self.alpha_bars_prev[step]
                beta, alpha = self.betas[step], self.alphas[step]
                x0_hat = (x - (1 - alpha_bar).sqrt() * self.net(x, i)) / alpha_bar.sqrt()
                if clip is not None:
                    x0_hat = x0_hat.clamp(*clip)
                if step == 0:  # at t = 1 the posterior mean below is x0_hat itself, and no noise is added
                    x = x0_hat
                    break
                # the posterior q(x_{t-1} | x_t, x_0) of Ho et al., eq. 7, at x_0 = x0_hat
                mean = (prev.sqrt() * beta * x0_hat + alpha.sqrt() * (1 - prev) * x) / (1 - alpha_bar)
                var = beta * (1 - prev) / (1 - alpha_bar) if variance == "posterior" else beta
                x = mean + var.sqrt() * torch.randn(x.shape, generator=generator, device=dev)
        return x
