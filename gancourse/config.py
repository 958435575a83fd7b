"""Where to run, how to seed, and how big to train.

Three small things every chapter needs before it trains anything:

- :func:`device` picks the fastest device that is present (CUDA, then Apple's MPS, then the CPU);
- :func:`seed_everything` makes a run repeatable;
- :data:`QUICK` and :func:`scaled` shrink training when ``GANCOURSE_QUICK=1`` is set, which the
  test suite does so that every notebook still trains, only for fewer steps.

The quick switch is read from ``GANCOURSE_QUICK`` alone, never guessed from variables such as ``CI``:
a book published from a CI job must show full-size results.

Explained in the chapter "Welcome" (how to run the book).
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

#: True when the environment variable ``GANCOURSE_QUICK`` is ``"1"``: notebooks train less.
QUICK: bool = os.environ.get("GANCOURSE_QUICK", "") == "1"


def device() -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then the CPU.

    Nothing in gancourse assumes a GPU and nothing refuses one: models and tensors are moved with
    ``.to(device())``.

    Explained in the chapter "Welcome".
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) with ``seed``.

    Explained in the chapter "Welcome".
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def scaled(full: int, quick: int | None = None, *, fraction: float = 0.1, minimum: int = 1) -> int:
    """Return ``full`` normally and a smaller count in quick mode.

    In quick mode the result is ``quick`` when given, otherwise ``max(minimum, round(full * fraction))``.
    Use it for step counts, sample counts and seed counts::

        steps = scaled(3000, quick=300)

    Explained in the chapter "Welcome" (quick mode).
    """
    if full < 0:
        raise ValueError(f"full must be >= 0, got {full}")
    if not QUICK:
        return full
    if quick is not None:
        return quick
    return max(minimum, round(full * fraction))


def gpu_hint() -> str | None:
    """In Google Colab without a GPU, print (and return) a hint to switch the runtime to a GPU.

    Chapters that train for long call it once after choosing the device; anywhere else, or when a
    GPU is present, it prints nothing and returns None.

    Explained in the chapter "Welcome" (running the book in Colab).
    """
    if "google.colab" not in sys.modules or device().type != "cpu":
        return None
    hint = "Tip: this chapter trains for a while; in Colab, Runtime > Change runtime type > GPU makes it much faster."
    print(hint)
    return hint
