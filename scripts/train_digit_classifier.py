"""Train the digit classifier that scores generated digits, and write its weights into the package.

Usage::

    python scripts/train_digit_classifier.py [--epochs 12] [--seed 0] [--threads 1] [--out PATH]

It trains :class:`gancourse.classifier.DigitClassifier` on the 4,000 training digits of the fixed
split :func:`gancourse.classifier.digit_split` of the 5,000 MNIST digits from
:func:`gancourse.data.mnist_digits`, with light augmentation (small random rotations, scalings and
shifts done with ``affine_grid`` / ``grid_sample``), then prints the accuracy on the 1,000 held-out
digits and writes the ``state_dict`` (float32) to ``gancourse/weights/digit_classifier.pt``, through
a temporary file and an atomic rename so a crash never leaves half a file behind.

The run is seeded and, on the CPU, uses one thread by default: the same seed then gives the same
weights whatever the number of cores (a different thread count may change the last bits of a
convolution's sums), and a busy shared machine does not slow it down by oversubscription. It takes
a minute or two on a laptop CPU and uses a GPU when there is one.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gancourse.classifier import WEIGHTS_FILE, DigitClassifier, digit_split
from gancourse.config import device as best_device
from gancourse.config import seed_everything
from gancourse.data import mnist_digits

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "gancourse" / "weights" / WEIGHTS_FILE


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Randomly rotate (±12°), scale (0.9-1.1) and shift (±2 pixels) a batch ``(N, 1, 28, 28)`` in [-1, 1]."""
    n, dev = x.shape[0], x.device
    angle = (torch.rand(n, generator=generator, device=dev) * 2 - 1) * math.radians(12)
    scale = 0.9 + 0.2 * torch.rand(n, generator=generator, device=dev)
    shift = (torch.rand(n, 2, generator=generator, device=dev) * 2 - 1) * (2 / 14)  # 2 pixels, in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    rows = [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)]  # 2 x (N, 3)
    theta = torch.stack(rows, 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample fills the outside with 0, so sample x + 1 (background 0) and shift back.
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1


@torch.no_grad()
def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of ``x`` that ``model`` (in eval mode) classifies as ``y``."""
    model.eval()
    pred = torch.cat([model(chunk).argmax(dim=1) for chunk in x.split(batch_size)])
    return (pred == y).float().mean().item()


def save_atomically(state: dict, path: Path) -> None:
    """Write ``state`` with ``torch.save`` to a temporary file next to ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.chmod(tmp, 0o644)  # mkstemp creates the file readable by its owner only
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    start = time.perf_counter()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    dev = best_device()
    images, labels = mnist_digits()  # (5000, 1, 28, 28) in [-1, 1], (5000,)
    train_idx, held_idx = digit_split(labels)
    x_train, y_train = images[train_idx].to(dev), labels[train_idx].to(dev)
    x_held, y_held = images[held_idx].to(dev), labels[held_idx].to(dev)
    print(f"train {len(x_train)} digits, held out {len(x_held)}, device {dev}")

    model = DigitClassifier().to(dev)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    gen = torch.Generator(device=dev).manual_seed(args.seed)

    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=gen, device=dev)
        total = torch.zeros((), device=dev)  # summed on the device: no host sync per step
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            # No label smoothing: it would keep p(y|x) from being sharp and cap the classifier score.
            loss = F.cross_entropy(model(augment(x_train[idx], gen)), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach() * len(idx)
        if epoch % 5 == 0 or epoch == args.epochs:
            acc = accuracy(model, x_held, y_held)
            print(f"epoch {epoch:3d}  train loss {total.item() / len(x_train):.4f}  held-out accuracy {acc:.4f}")

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # float32 parameters and buffers
    save_atomically(state, args.out)
    acc = accuracy(model, x_held, y_held)
    print(f"held-out accuracy {acc:.4f} ({round(acc * len(x_held))}/{len(x_held)})")
    print(f"wrote {args.out.name} ({args.out.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
