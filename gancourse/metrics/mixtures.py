"""Scores for samples of the course's small mixtures: modes captured, high-quality share, reverse KL; a density.

**2-D mixtures of Gaussians** (the ring and the grid of :mod:`gancourse.data`), as in the PacGAN
(Lin et al., 2018) and VEEGAN (Srivastava et al., 2017) papers: :func:`mode_metrics` counts the modes
captured, the share of high-quality samples and the reverse KL (:func:`kl_to_uniform`) to the uniform
mode histogram.

**1-D densities**: :func:`kde_1d`, a Gaussian kernel density estimate from samples.

Explained in the chapters "Measuring a GAN", "Common problems" and "GAN training" (the density estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["kl_to_uniform", "ModeMetrics", "mode_metrics", "kde_1d"]


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL divergence of the histogram ``counts`` (shape ``(K,)``) to the uniform distribution over K bins.

    ``KL(q || u) = sum_k q_k log(q_k K)`` with ``q = counts / counts.sum()`` and ``0 log 0 = 0``, in
    nats. It is 0 for equal counts and ``log K`` (its largest value) when one bin holds everything.
    An empty histogram (all counts zero) has no distribution; it is given the worst value, ``log K``.

    Explained in the chapters "Measuring a GAN" and "Common problems".
    """
    counts = torch.as_tensor(counts).detach().reshape(-1).cpu().to(torch.float64)
    k = counts.numel()
    if k == 0 or (counts < 0).any():
        raise ValueError("counts must be a non-empty histogram of non-negative numbers")
    total = counts.sum()
    if total == 0:
        return math.log(k)
    q = counts / total
    return float(torch.where(q > 0, q * torch.log(q * k), torch.zeros_like(q)).sum().clamp_min(0.0))


@dataclass(frozen=True, eq=False)
class ModeMetrics:
    """The mode-collapse scores of one set of samples from a 2-D generator.

    Attributes:
        modes_captured: number of modes with at least one high-quality sample nearest to them.
        n_modes: number of modes K of the mixture.
        high_quality: fraction (0..1) of samples within 3 standard deviations of their nearest mode.
        reverse_kl: ``KL(q || uniform)`` in nats, q the mode histogram of the high-quality samples;
            ``log K`` when there is no high-quality sample at all.
        counts: ``(K,)`` long tensor, high-quality samples per mode (on the CPU).

    Explained in the chapters "Measuring a GAN" and "Common problems".
    """

    modes_captured: int
    n_modes: int
    high_quality: float
    reverse_kl: float
    counts: torch.Tensor

    def as_dict(self) -> dict:
        """The three scalar scores, for a table row: modes, high-quality percentage, reverse KL.

        Explained in the chapters "Measuring a GAN" and "Common problems".
        """
        return {
            "modes": self.modes_captured,
            "high_quality_pct": 100 * self.high_quality,
            "reverse_kl": self.reverse_kl,
        }


@torch.no_grad()
def mode_metrics(samples: torch.Tensor, mixture, *, n_sigmas: float = 3.0, batch_size: int = 65536) -> ModeMetrics:
    """Score generated 2-D (or any-D) samples against a Gaussian mixture, as PacGAN and VEEGAN do.

    For each sample x, its nearest mode is ``k(x) = argmin_k ||x - mu_k||``. Then

    - x is **high quality** when ``||x - mu_k(x)|| <= 3 sigma_k(x)``;
    - a mode k is **captured** when at least one high-quality sample has ``k(x) = k``;
    - the **reverse KL** is ``KL(q || u) = sum_k q_k log(K q_k)``, with q the histogram of k(x) over
      the high-quality samples and u uniform over the K modes (0 when every mode gets the same share,
      ``log K`` when all high-quality samples sit on one mode).

    With no high-quality sample the histogram q is undefined; the reverse KL is then reported as
    ``log K``, the worst value any histogram can reach, so that means over seeds stay finite.
    Non-finite samples (NaN or inf, from a diverged run) count as low quality.

    Args:
        samples: ``(n, D)`` generated points (``(n,)`` is accepted for a 1-D mixture).
        mixture: a :class:`gancourse.data.GaussianMixture` (anything with ``means`` ``(K, D)`` and
            ``stds`` ``(K,)``).
        n_sigmas: the quality radius in standard deviations (3 in both papers).
        batch_size: samples per chunk of the ``(n, K)`` distance matrix.

    References: Lin et al., "PacGAN: The power of two samples in generative adversarial networks",
    NeurIPS 2018 (Table 1 and its reverse KL); Srivastava et al., "VEEGAN: Reducing mode collapse in
    GANs using implicit variational learning", NeurIPS 2017 (Table 1).

    Explained in the chapters "Measuring a GAN" and "Common problems".
    """
    if not hasattr(mixture, "means") or not hasattr(mixture, "stds"):
        raise TypeError("mixture must have `means` (K, D) and `stds` (K,), e.g. gancourse.data.ring()")
    if not isinstance(samples, torch.Tensor):
        samples = torch.as_tensor(samples)
    means = torch.as_tensor(mixture.means, dtype=torch.float32, device=samples.device)  # (K, D)
    stds = torch.as_tensor(mixture.stds, dtype=torch.float32, device=samples.device).reshape(-1)  # (K,)
    k, dim = means.shape
    if samples.dim() == 1 and dim == 1:
        samples = samples[:, None]
    if samples.dim() != 2 or samples.shape[1] != dim or samples.shape[0] == 0:
        raise ValueError(f"samples must have shape (n, {dim}) with n >= 1 for this mixture, got {tuple(samples.shape)}")
    if not samples.is_floating_point():
        samples = samples.float()
    if n_sigmas <= 0:
        raise ValueError(f"n_sigmas must be positive, got {n_sigmas}")

    counts = torch.zeros(k, dtype=torch.long, device=samples.device)
    for chunk in samples.split(batch_size):
        dist = torch.cdist(chunk.to(means.dtype), means)  # (b, K)
        dist = torch.nan_to_num(dist, nan=math.inf)
        nearest_dist, nearest = dist.min(dim=1)  # (b,), (b,)
        good = nearest_dist <= n_sigmas * stds[nearest]  # (b,) bool; inf distances are never good
        counts += torch.bincount(nearest[good], minlength=k)
    counts = counts.cpu()
    n_good = int(counts.sum())
    return ModeMetrics(
        modes_captured=int((counts > 0).sum()),
        n_modes=k,
        high_quality=n_good / samples.shape[0],
        reverse_kl=kl_to_uniform(counts),
        counts=counts,
    )


def kde_1d(samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """Gaussian kernel density estimate of 1-D ``samples`` (shape ``(n,)`` or ``(n, 1)``) on ``grid``.

    ``p(x) = 1/(n h) sum_i phi((x - x_i) / h)`` with phi the standard normal density. The default
    bandwidth is Silverman's rule of thumb, ``h = 0.9 min(std, IQR / 1.34) n^(-1/5)`` (Silverman,
    "Density estimation for statistics and data analysis", 1986, eq. 3.31). Any bandwidth is floored
    at the grid's spacing (1e-3 for a one-point grid), so that samples piled up in a spike narrower
    than the grid still show on it, and samples that all coincide still give a density; that floor
    is why this is not ``scipy.stats.gaussian_kde``, which gives the same values above it.

    Returns a tensor shaped like ``grid``.

    Explained in the chapter "GAN training".
    """
    x = torch.as_tensor(samples, dtype=torch.float64).detach().cpu()
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 1 or x.numel() < 2:
        raise ValueError(f"samples must have shape (n,) or (n, 1) with n >= 2, got {tuple(x.shape)}")
    x = x[torch.isfinite(x)]
    grid_t = torch.as_tensor(grid, dtype=torch.float64).detach().cpu()
    if x.numel() < 2:
        return torch.zeros_like(grid_t, dtype=torch.float32)
    if bandwidth is None:
        q75, q25 = torch.quantile(x, 0.75), torch.quantile(x, 0.25)
        spread = min(float(x.std()), float(q75 - q25) / 1.34) or float(x.std())
        bandwidth = 0.9 * spread * x.numel() ** (-0.2)
    elif not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    flat = grid_t.reshape(-1)
    spacing = float(flat.max() - flat.min()) / (flat.numel() - 1) if flat.numel() > 1 else 0.0
    h = max(float(bandwidth), spacing, 1e-3)
    u = (grid_t.reshape(-1, 1) - x.reshape(1, -1)) / h  # (m, n)
    density = torch.exp(-0.5 * u**2).sum(1) / (x.numel() * h * math.sqrt(2 * math.pi))
    return density.reshape(grid_t.shape).float()
