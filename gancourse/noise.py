"""The generator's input: batches of noise z, and spherical paths between noise vectors.

Explained in the chapter "The generator" (why the generator takes random input, and latent walks).
"""

from __future__ import annotations

import torch

__all__ = ["sample_noise", "slerp"]


def slerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """Spherical interpolation between noise vectors (White, 2016, "Sampling generative networks").

    ``slerp(z0, z1, t) = (sin((1 - t) w) z0 + sin(t w) z1) / sin(w)``, with ``w`` the angle between
    ``z0`` and ``z1`` (last dimension). Unlike the straight line ``(1 - t) z0 + t z1``, whose midpoint
    between two Gaussian vectors is only about ``1/sqrt(2)`` as long as a typical one, it keeps the
    length of typical noise vectors along the way. ``t`` broadcasts against ``z0`` and ``z1``.

    Explained in the chapter "The generator" (latent walks).
    """
    omega = torch.arccos(torch.nn.functional.cosine_similarity(z0, z1, dim=-1).clamp(-1, 1))[..., None]
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def sample_noise(n: int, latent_dim: int, kind: str = "normal", generator: torch.Generator | None = None,
                 device=None) -> torch.Tensor:
    """Draw a noise batch z of shape ``(n, latent_dim)``: N(0, 1) for ``"normal"``, U[-1, 1] for ``"uniform"``.

    Explained in the chapter "The generator" (why the generator takes random input).
    """
    dev = generator.device if generator is not None else device
    if kind == "normal":
        return torch.randn(n, latent_dim, generator=generator, device=dev)
    if kind == "uniform":
        return torch.rand(n, latent_dim, generator=generator, device=dev) * 2 - 1
    raise ValueError(f"noise kind must be 'normal' or 'uniform', got {kind!r}")
