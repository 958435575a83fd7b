"""A small digit classifier that stands in for the Inception network when scoring generated digits.

The Inception Score and the FID read an ImageNet network that cannot be downloaded offline. For
handwritten digits the usual substitute (TF-GAN's MNIST example does the same) is a small classifier
trained on real digits: its class probabilities give the *classifier score* and its penultimate layer
gives the features for the *Fréchet classifier distance* (see :mod:`gancourse.metrics`).

- :class:`DigitClassifier` is a four-convolution CNN for ``(N, 1, 28, 28)`` digits in [-1, 1], with
  :meth:`~DigitClassifier.logits` (10 classes) and :meth:`~DigitClassifier.features` (128 numbers).
- :func:`load_digit_classifier` loads the weights shipped with the package, trained by
  ``scripts/train_digit_classifier.py`` on the 5,000 MNIST digits of :func:`gancourse.data.mnist_digits`.
- :func:`digit_split` is the fixed, seeded train / held-out split that the training script and the
  tests share, so the held-out accuracy can be checked by anyone.

Explained in the chapter "Measuring a GAN".
"""

from __future__ import annotations

import functools
from importlib import resources

import torch
from torch import nn

__all__ = [
    "DigitClassifier",
    "load_digit_classifier",
    "digit_split",
    "check_digit_images",
    "WEIGHTS_FILE",
    "SPLIT_SEED",
    "HELD_OUT_PER_CLASS",
]

#: File name of the shipped weights, inside the package folder ``gancourse/weights``.
WEIGHTS_FILE = "digit_classifier.pt"
#: Seed of the train / held-out split used by the training script and the tests.
SPLIT_SEED = 2024
#: Held-out digits per class: 100 of each class's 500, so 4,000 train and 1,000 held out.
HELD_OUT_PER_CLASS = 100

_IMAGE_SHAPE = (1, 28, 28)


def check_digit_images(x, name: str = "images") -> torch.Tensor:
    """Check that ``x`` is a floating tensor of shape ``(N, 1, 28, 28)`` with N >= 1 and return it.

    Raises ``ValueError`` naming the expected shape otherwise (a single image ``(1, 28, 28)`` or a
    batch without its channel axis ``(N, 28, 28)`` are refused rather than guessed at).

    Explained in the chapter "Measuring a GAN".
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, 1, 28, 28), got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != _IMAGE_SHAPE or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) with N >= 1, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a floating-point tensor scaled to [-1, 1], got dtype {x.dtype} "
            "(use gancourse.data.to_unit_range to scale 0..255 pixels)"
        )
    return x


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 convolutions (size kept) with batch norm and ReLU, then a 2x2 max-pool (size halved)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=2),
    )


class DigitClassifier(nn.Module):
    """A small CNN for 28x28 digits in [-1, 1]: 10 class logits and 128 penultimate features.

    ``forward(x)`` returns the logits. ``num_features`` (128) is the size of :meth:`features`; the
    name is the one torchmetrics looks for on a custom feature extractor.

    Explained in the chapter "Measuring a GAN".
    """

    num_features: int = 128
    num_classes: int = 10

    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(
            _conv_block(1, 32),  # state size 32 x 14 x 14
            _conv_block(32, 64),  # state size 64 x 7 x 7
            nn.MaxPool2d(kernel_size=2),  # state size 64 x 3 x 3
            nn.Flatten(),  # state size 576
            nn.Linear(64 * 3 * 3, self.num_features),
            nn.ReLU(inplace=True),  # state size 128: the features
        )
        self.head = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.num_features, self.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, ``(N, 1, 28, 28) -> (N, 128)``; ``x`` must have the weights' dtype."""
        check_digit_images(x)
        dtype = self.body[-2].weight.dtype
        if x.dtype != dtype:
            raise ValueError(f"DigitClassifier expects images of dtype {dtype} (its weights'), got {x.dtype}: "
                             f"convert them with images.to({dtype})")
        return self.body(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, ``(N, 1, 28, 28) -> (N, 10)``."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


def digit_split(labels: torch.Tensor, held_out_per_class: int = HELD_OUT_PER_CLASS, seed: int = SPLIT_SEED):
    """Split example indices into train and held-out sets, stratified by class and seeded.

    For every class, its indices are shuffled with a ``torch.Generator`` seeded with ``seed`` and the
    first ``held_out_per_class`` go to the held-out set. On the 5,000 digits of
    :func:`gancourse.data.mnist_digits` the defaults give 4,000 train and 1,000 held-out digits.

    Returns ``(train_idx, held_out_idx)``, two sorted ``LongTensor`` of indices into ``labels``.

    Explained in the chapter "Measuring a GAN".
    """
    labels = torch.as_tensor(labels).reshape(-1).cpu()
    gen = torch.Generator().manual_seed(seed)
    train, held_out = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).reshape(-1)
        if idx.numel() <= held_out_per_class:
            raise ValueError(
                f"class {c} has {idx.numel()} examples, not more than held_out_per_class={held_out_per_class}"
            )
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        held_out.append(idx[:held_out_per_class])
        train.append(idx[held_out_per_class:])
    return torch.cat(train).sort().values, torch.cat(held_out).sort().values


@functools.lru_cache(maxsize=None)
def _load_cached(device_str: str) -> DigitClassifier:
    model = DigitClassifier()
    weights = resources.files("gancourse").joinpath("weights").joinpath(WEIGHTS_FILE)
    if not weights.is_file():
        raise FileNotFoundError(
            f"the digit classifier's weights ({WEIGHTS_FILE}) are missing from the gancourse package; "
            "run scripts/train_digit_classifier.py to create them"
        )
    with weights.open("rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device_str)


def load_digit_classifier(device=None) -> DigitClassifier:
    """The shipped, trained :class:`DigitClassifier`, in eval mode, on ``device`` (default: CPU).

    The weights are read once per device with ``torch.load(..., weights_only=True)`` and the model is
    cached, so repeated calls are free. Its parameters do not require gradients; treat the returned
    model as read-only (do not train it). The metrics of :mod:`gancourse.metrics` read any classifier
    in eval mode themselves, so one left in train mode still gives the same scores.

    Explained in the chapter "Measuring a GAN".
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return _load_cached(str(dev))
