"""Helpers that several test files share: tiny images, and snapshots of a network's weights.

Import them as ``from helpers import ...``: pytest puts this folder on ``sys.path`` (``tests/`` has no
``__init__.py``). Fixtures shared the same way live in ``conftest.py``.
"""

from __future__ import annotations

import torch
from torch import nn


def strokes(n: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` tiny synthetic 28x28 'digits' in [-1, 1]: one random bright bar each, on a dark background."""
    g = torch.Generator().manual_seed(seed)
    x = -torch.ones(n, 1, 28, 28)
    for i in range(n):
        r, c = torch.randint(4, 20, (2,), generator=g).tolist()
        if i % 2:
            x[i, 0, r:r + 8, c:c + 3] = 1.0  # vertical bar
        else:
            x[i, 0, r:r + 3, c:c + 8] = 1.0  # horizontal bar
    return x


def params(module: nn.Module) -> list[torch.Tensor]:
    """Copies of ``module``'s parameters, to compare with after an update."""
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: nn.Module) -> bool:
    """Whether any parameter of ``module`` differs from the copies ``before`` (see :func:`params`)."""
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))
