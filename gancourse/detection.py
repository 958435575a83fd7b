"""Telling generated digits from real ones: a small detector, how it is trained, and how it is scored.

A **detector** is a binary classifier that reads an image and says whether a generative model made
it. The ones used on real media are large networks trained on millions of images from many
generators; this module keeps the same idea at the course's scale, so that its strengths and its
main weakness can be measured on a CPU in seconds:

- :class:`DigitDetector` is a small CNN for ``(N, 1, 28, 28)`` digits in [-1, 1] that returns one
  logit per image, the log-odds that the image is **generated** (the opposite convention to a GAN's
  discriminator, whose logit says *real*: a detector raises a flag).
- :func:`train_detector` trains one on a set of real images and a set of generated ones, with the
  binary cross-entropy and Adam, on balanced batches; it returns the model and its history.
- :func:`fake_probability` reads a trained detector in eval mode, in batches;
  :func:`detector_accuracy` scores it on held-out real and generated images (overall accuracy and
  the rate of each kind of mistake), as a :class:`DetectorAccuracy`.

Such a detector learns whatever separates its two training sets, which includes the fingerprints of
the one generator it was shown. On images from a generator it never saw its accuracy can fall a long
way (Wang et al., 2020, "CNN-generated images are surprisingly easy to spot... for now", CVPR, study
how far a detector trained on one generator carries to others).

Explained in the chapter "Using GANs responsibly".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gancourse.config import device as default_device
from gancourse.models import check_shape, eval_mode

__all__ = ["DigitDetector", "train_detector", "fake_probability", "detector_accuracy", "DetectorAccuracy"]

_IMAGES = ("N", 1, 28, 28)


class DigitDetector(nn.Module):
    """A small CNN that gives one logit per 28x28 digit: the log-odds that the image is generated.

    Two 3x3 convolutions with LeakyReLU(0.2), each followed by a 2x2 max-pool, then a hidden layer
    and one output: ``(N, 1, 28, 28) -> (N,)``. ``sigmoid(logit)`` is the detector's probability that
    the image came from a generator. There is no batch norm, so the detector reads an image the same
    way in training and in eval mode, whatever else is in the batch.

    Args:
        width: channels of the first convolution; the second has twice as many.
        hidden: units of the hidden layer.

    Explained in the chapter "Using GANs responsibly".
    """

    def __init__(self, width: int = 16, hidden: int = 64):
        super().__init__()
        for name, value in (("width", width), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DigitDetector: {name} must be a positive int, got {value!r}")
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(1, w, kernel_size=3, padding=1), nn.LeakyReLU(negative_slope=0.2),
            nn.MaxPool2d(kernel_size=2),  # (w) x 14 x 14
            nn.Conv2d(w, 2 * w, kernel_size=3, padding=1), nn.LeakyReLU(negative_slope=0.2),
            nn.MaxPool2d(kernel_size=2),  # (2w) x 7 x 7
            nn.Flatten(),  # 2w * 49
            nn.Linear(2 * w * 7 * 7, hidden), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(hidden, 1),  # 1 logit
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, _IMAGES, "DigitDetector", "images")
        return self.net(x).squeeze(1)  # (N, 1) -> (N,)


def _images(x, name: str) -> torch.Tensor:
    check_shape(x, _IMAGES, "train_detector", name)
    if not x.is_floating_point():
        raise ValueError(f"{name} must be floating-point images in [-1, 1], got dtype {x.dtype}")
    if x.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one image")
    return x.detach()


def train_detector(real: torch.Tensor, fake: torch.Tensor, *, steps: int = 400, batch_size: int = 64,
                   lr: float = 1e-3, width: int = 16, seed: int = 0, device=None,
                   progress: bool = True) -> tuple[DigitDetector, dict[str, list[float]]]:
    """Train a fresh :class:`DigitDetector` to tell ``fake`` (label 1) from ``real`` (label 0).

    Each step draws ``batch_size // 2`` real and ``batch_size // 2`` generated images at random (with
    a ``torch.Generator`` seeded with ``seed``, as are the initial weights), so every batch is
    balanced whatever the sizes of the two sets, and takes one Adam step on the binary cross-entropy
    of the logits ``l``, ``L = -mean[y log sigmoid(l) + (1 - y) log(1 - sigmoid(l))]``, with ``y = 1``
    for a generated image: the discriminator's loss of the original GAN (Goodfellow et al., 2014),
    labels swapped, against a generator that no longer changes.

    Args:
        real, fake: ``(N, 1, 28, 28)`` floating-point images in [-1, 1] (the two sets may differ in size).
        steps: number of updates.
        batch_size: images per update, half of each kind (at least 2).
        lr: Adam's learning rate.
        width: the detector's width (see :class:`DigitDetector`).
        seed: seeds the initial weights and the batches.
        device: where to train; default :func:`gancourse.config.device`.
        progress: show a tqdm progress bar.

    Returns:
        ``(detector, history)``: the trained detector, in eval mode, on ``device``; and a dict of lists
        ``{"step", "loss", "accuracy"}``, the loss and the accuracy on each step's batch (copied to the
        host once, at the end).

    Explained in the chapter "Using GANs responsibly".
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (half real, half generated), got {batch_size!r}")
    real, fake = _images(real, "real images"), _images(fake, "generated images")
    dev = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)  # the initial weights
    detector = DigitDetector(width=width).to(dev).train()
    real, fake = real.to(dev, torch.float32), fake.to(dev, torch.float32)
    half = batch_size // 2
    labels = torch.cat([torch.zeros(half, device=dev), torch.ones(half, device=dev)])  # 0 real, 1 generated
    opt = torch.optim.Adam(detector.parameters(), lr=lr)
    rng = torch.Generator(device=dev).manual_seed(seed)
    rows = []
    for _ in tqdm(range(steps), disable=not progress, desc="training the detector", leave=False):
        batch = torch.cat([real[torch.randint(real.shape[0], (half,), generator=rng, device=dev)],
                           fake[torch.randint(fake.shape[0], (half,), generator=rng, device=dev)]])  # (2h, 1, 28, 28)
        logits = detector(batch)  # (2h,)
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        rows.append(torch.stack([loss.detach(), ((logits.detach() > 0).float() == labels).float().mean()]))
    values = torch.stack(rows).cpu() if rows else torch.zeros(0, 2)
    if not torch.isfinite(values).all():
        raise FloatingPointError("the detector's loss became NaN or infinite (try a smaller learning rate)")
    detector.eval()
    history = {"step": list(range(1, steps + 1)), "loss": values[:, 0].tolist(), "accuracy": values[:, 1].tolist()}
    return detector, history


@torch.no_grad()
def fake_probability(detector: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The detector's probability that each image is generated, ``(N, 1, 28, 28) -> (N,)``, on the CPU.

    Read in eval mode, without gradients, ``batch_size`` images at a time on the detector's device.

    Explained in the chapter "Using GANs responsibly".
    """
    check_shape(images, _IMAGES, "fake_probability", "images")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = next(detector.parameters()).device
    with eval_mode(detector):
        return torch.cat([torch.sigmoid(detector(chunk.to(dev, torch.float32))).cpu()
                          for chunk in images.split(batch_size)])


@dataclass(frozen=True)
class DetectorAccuracy:
    """How well a detector tells held-out real images from generated ones.

    Attributes:
        accuracy: share of all images judged correctly,
            ``(real_as_real * n_real + fake_as_fake * n_fake) / (n_real + n_fake)``.
        balanced_accuracy: the mean of the two rates below (equal to ``accuracy`` when the sets have the same size).
        real_as_real: share of the real images judged real (1 minus the false-alarm rate).
        fake_as_fake: share of the generated images judged generated (the detection rate; 1 minus the miss rate).
        n_real, n_fake: the sizes of the two sets.

    Explained in the chapter "Using GANs responsibly".
    """

    accuracy: float
    balanced_accuracy: float
    real_as_real: float
    fake_as_fake: float
    n_real: int
    n_fake: int

    def as_dict(self) -> dict[str, float]:
        """The four rates, by name (for a table)."""
        return {"accuracy": self.accuracy, "balanced accuracy": self.balanced_accuracy,
                "real judged real": self.real_as_real, "generated judged generated": self.fake_as_fake}


def detector_accuracy(detector: nn.Module, real: torch.Tensor, fake: torch.Tensor, *,
                      threshold: float = 0.5, batch_size: int = 500) -> DetectorAccuracy:
    """Score ``detector`` on held-out ``real`` and ``fake`` images: an image is called generated when
    its :func:`fake_probability` exceeds ``threshold``.

    Both sets should be images the detector was not trained on; otherwise the score measures memory,
    not detection.

    Explained in the chapter "Using GANs responsibly".
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    real_called_real = (fake_probability(detector, real, batch_size) <= threshold).float()
    fake_called_fake = (fake_probability(detector, fake, batch_size) > threshold).float()
    n_real, n_fake = real_called_real.numel(), fake_called_fake.numel()
    rr, ff = real_called_real.mean().item(), fake_called_fake.mean().item()
    return DetectorAccuracy(
        accuracy=(real_called_real.sum().item() + fake_called_fake.sum().item()) / (n_real + n_fake),
        balanced_accuracy=(rr + ff) / 2,
        real_as_real=rr,
        fake_as_fake=ff,
        n_real=n_real,
        n_fake=n_fake,
    )
