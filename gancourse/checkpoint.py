"""Checkpoint files: written atomically, read without running code, checked against the model.

- :func:`write_atomic` writes to a temporary file in the same folder, flushes it to disk, then renames
  it over the target: a crash while saving leaves the previous checkpoint untouched, never a
  half-written one.
- :func:`read` loads with ``torch.load(..., weights_only=True)``, which rebuilds tensors, numbers,
  strings, lists and dicts but never runs code stored in the file.
- :func:`check_shapes` compares a saved network with the one it is about to be loaded into and names
  every mismatch, before anything is changed.

:class:`gancourse.train.GANTrainer` saves and loads its whole training state with these.

Explained in the chapter "Scaling up" (checkpoints and resuming a run).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

__all__ = ["write_atomic", "read", "check_shapes"]


def write_atomic(state: dict, path: str | os.PathLike) -> Path:
    """Save ``state`` with ``torch.save`` to ``path`` atomically (temporary file, fsync, rename).

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read(path: str | os.PathLike, device) -> dict:
    """Load a checkpoint onto ``device`` with ``weights_only=True`` (no code in the file is run).

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    return torch.load(path, map_location=device, weights_only=True)


def check_shapes(model: nn.Module, saved: dict, name: str, path) -> None:
    """Raise a ``ValueError`` naming the checkpoint unless ``saved`` fits ``model``'s parameters and buffers.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    own = model.state_dict()
    problems = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                for k, v in saved.items() if k in own and own[k].shape != v.shape]
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if problems or missing or extra:
        details = "; ".join(problems[:3] + [f"missing {m}" for m in missing[:3]] + [f"unexpected {e}" for e in extra[:3]])
        raise ValueError(f"checkpoint {os.fspath(path)!r} holds a {name} of another shape than this trainer's: {details}")
