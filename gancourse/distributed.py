"""Training on several processes, GPUs or machines with ``torch.distributed`` and ``torchrun``.

gancourse does not ship its own distributed engine: it uses PyTorch's. ``torchrun`` starts one process
per GPU (or per CPU slot) and tells each one its *rank* through environment variables;
:func:`init_distributed` joins the process group from them, choosing the NCCL backend on GPUs and
gloo on CPUs. :class:`gancourse.train.GANTrainer` then notices the group and trains the way
data-parallel training always works:

- every process holds a full copy of G and D and draws **its own batches** (its random-number
  generator is seeded with ``rank_seed(seed, rank)``), so N processes see N times as many examples
  per step as one;
- each update's gradients are **averaged over the processes** by ``DistributedDataParallel`` before
  the optimiser steps, so the copies stay identical (DDP also copies rank 0's weights to everyone at
  the start);
- checkpoints and pictures are written by rank 0 only.

Launch (the course's command-line entry point, :mod:`gancourse.cli`)::

    # one machine, 4 GPUs (or 4 CPU processes when there is no GPU)
    torchrun --nproc_per_node=4 -m gancourse train --recipe mnist-dcgan --out runs/dcgan
    # two machines with 8 GPUs each; run this on both, with the address of the first one
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 \\
        -m gancourse train --recipe mnist-dcgan --out runs/dcgan

Explained in the chapter "Scaling up".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from gancourse.config import device as default_device

__all__ = [
    "DistInfo",
    "init_distributed",
    "cleanup",
    "is_distributed",
    "rank",
    "world_size",
    "rank_seed",
    "launched_by_torchrun",
    "wrap_ddp",
    "mean_over_processes",
    "gather_objects",
]

#: How far apart the seeds of two processes are (a large prime, so that rank streams do not overlap
#: with the seeds of other runs in the usual small range).
_RANK_SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: its rank among ``world_size`` processes, its GPU slot, its device.

    ``backend`` is ``"nccl"``, ``"gloo"``, or None for a plain single process.

    Explained in the chapter "Scaling up".
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """True for rank 0, the process that writes checkpoints, pictures and logs."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when this process was started by ``torchrun`` (it sets RANK, WORLD_SIZE and MASTER_ADDR).

    Explained in the chapter "Scaling up".
    """
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def is_distributed() -> bool:
    """True when a ``torch.distributed`` process group with more than one process is running.

    Explained in the chapter "Scaling up".
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank in the running process group (0 when there is none).

    Explained in the chapter "Scaling up".
    """
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes in the running process group (1 when there is none).

    Explained in the chapter "Scaling up".
    """
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank_seed(seed: int, rank: int) -> int:
    """The seed of process ``rank``'s random-number generator: ``seed + 1000003 * rank``.

    Rank 0 keeps ``seed`` itself, so a single process draws exactly the batches it always did.

    Explained in the chapter "Scaling up".
    """
    if not isinstance(rank, int) or rank < 0:
        raise ValueError(f"rank must be a non-negative int, got {rank!r}")
    return seed + _RANK_SEED_STRIDE * rank


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, and pick the device.

    Under ``torchrun``: process ``LOCAL_RANK`` of each machine takes GPU ``cuda:LOCAL_RANK`` when
    there are GPUs (backend ``"nccl"``), otherwise the CPU (backend ``"gloo"``). Calling it again
    returns the same answer. Without ``torchrun`` it starts nothing and describes a single process on
    :func:`gancourse.config.device`.

    Args:
        backend: override the backend (``"gloo"`` also works on GPUs, more slowly).

    Explained in the chapter "Scaling up".
    """
    if not launched_by_torchrun() and not (dist.is_available() and dist.is_initialized()):
        return DistInfo(rank=0, local_rank=0, world_size=1, device=default_device(), backend=None)
    if not dist.is_available():
        raise RuntimeError("this PyTorch build has no torch.distributed support")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} GPUs: "
                               "pass torchrun a --nproc_per_node no larger than the number of GPUs")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        default_backend = "nccl"
    else:
        device = torch.device("cpu")
        default_backend = "gloo"
    if backend is not None and backend not in ("nccl", "gloo", "mpi"):
        raise ValueError(f"backend must be 'nccl', 'gloo' or 'mpi', got {backend!r}")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend or default_backend, init_method="env://")
    return DistInfo(rank=dist.get_rank(), local_rank=local_rank, world_size=dist.get_world_size(), device=device,
                    backend=dist.get_backend())


def cleanup() -> None:
    """Leave the process group (at the end of a run); does nothing when there is none.

    Explained in the chapter "Scaling up".
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """Wrap ``module`` in ``DistributedDataParallel`` for ``device`` (its GPU, or the CPU).

    DDP copies rank 0's weights and buffers to every process now, and then averages the gradients of
    each backward pass over the processes (in buckets, overlapping with the backward pass).

    Explained in the chapter "Scaling up".
    """
    from torch.nn.parallel import DistributedDataParallel

    device = torch.device(device)
    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def mean_over_processes(x: torch.Tensor) -> torch.Tensor:
    """The average of ``x`` over all processes (an all-reduce); ``x`` itself with a single process.

    Explained in the chapter "Scaling up".
    """
    if not is_distributed():
        return x
    total = x.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / dist.get_world_size()


def gather_objects(obj) -> list:
    """Every process's ``obj``, in rank order (a collective call: every process must make it).

    Explained in the chapter "Scaling up".
    """
    if not is_distributed():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out
