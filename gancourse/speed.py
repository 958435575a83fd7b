"""Speed paths that depend on the hardware: does this processor compute in bf16, and which optimiser
kernel to use.

:func:`bf16_supported` decides whether ``precision="bf16"`` pays off on a device (the trainer falls
back to fp32 where it does not); :func:`make_optimizer` builds the optimiser a
:class:`gancourse.train_config.TrainConfig` names, with the fused kernel when asked.

Explained in the chapter "Scaling up".
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

__all__ = ["bf16_supported", "make_optimizer"]


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset[str]:
    """The processor's feature flags as Linux lists them (empty where /proc/cpuinfo is missing)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 and ARM spell it differently
            flags.update(value.split())
    return frozenset(flags)


def bf16_supported(device) -> bool:
    """Whether ``device`` has bfloat16 matrix hardware, so that ``precision="bf16"`` pays off.

    - CUDA: GPUs from the Ampere generation on (``torch.cuda.is_bf16_supported`` without emulation).
    - x86 CPUs: only those that expose Intel's AMX tile units (``amx_bf16``: Sapphire Rapids and
      later). AVX512-BF16 alone is not enough: on such a processor the course measured bf16 matrix
      products and DCGAN steps *slower* than fp32 (PyTorch's CPU kernels convert to and from bf16
      around instructions that are no faster than fp32 FMA), so the trainer stays in fp32 there.
      Virtual machines often hide AMX from the guest, even on processors that have it.
    - ARM CPUs: cores with the BF16 extension (``bf16`` in ``/proc/cpuinfo``, e.g. Graviton 3).
    - The flags are read from ``/proc/cpuinfo``, so only on Linux; elsewhere the answer is False.
    - Anything else (Apple MPS, ...): False.

    Explained in the chapter "Scaling up".
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # torch < 2.3 has no including_emulation
            return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(_cpu_flags() & {"amx_bf16", "bf16"})
    return False


def make_optimizer(params: Iterable[nn.Parameter], name: str, lr: float, *, betas: tuple[float, float] = (0.5, 0.999),
                   fused: bool = False) -> torch.optim.Optimizer:
    """The optimiser ``name`` (``"adam"``, ``"rmsprop"`` or ``"sgd"``) over ``params``.

    ``fused=True`` asks for the fused kernel (Adam, SGD: one kernel updates every parameter) or, for
    RMSprop, which has none, the multi-tensor ("foreach") version; where neither exists (an old
    torch, a device without the kernel) it warns and builds the plain optimiser.

    Explained in the chapter "Scaling up".
    """
    params = list(params)
    if name not in ("adam", "rmsprop", "sgd"):
        raise ValueError(f"optimizer must be 'adam', 'rmsprop' or 'sgd', got {name!r}")

    def build(**fast) -> torch.optim.Optimizer:
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, betas=betas, **fast)
        if name == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, **fast)
        return torch.optim.SGD(params, lr=lr, **fast)

    if not fused:
        return build()
    try:  # RMSprop has no fused kernel; its multi-tensor ("foreach") version is the next best thing
        return build(foreach=True) if name == "rmsprop" else build(fused=True)
    except (RuntimeError, ValueError) as err:  # an old torch, or a device without the fused kernel
        warnings.warn(f"fused_optimizer=True is not available here ({err}); using the plain optimizer", RuntimeWarning,
                      stacklevel=3)
        return build()
