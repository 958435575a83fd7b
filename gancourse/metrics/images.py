"""Outputs against their targets, for the image-to-image variations: pixels, sharpness, the classifier's verdicts.

- :func:`psnr`: closeness in pixels, in decibels (through torchmetrics);
- :func:`gradient_energy`: sharpness, the energy of the image gradient;
- :func:`image_scores`: these two, the L1 error, the digit classifier's accuracy and the Fréchet
  classifier distance in one table row.

Explained in the chapter "Variations II: translation, super-resolution and inpainting".
"""

from __future__ import annotations

import math

import torch

from gancourse.classifier import DigitClassifier
from gancourse.metrics.digits import digit_probabilities, frechet_classifier_distance
from gancourse.models import check_shape

__all__ = ["gradient_energy", "psnr", "image_scores"]


@torch.no_grad()
def gradient_energy(images: torch.Tensor) -> torch.Tensor:
    """Sharpness of each image: the mean squared difference between neighbouring pixels.

    ``E(x) = mean over pixels of (x[i+1, j] - x[i, j])^2 + (x[i, j+1] - x[i, j])^2``, shape ``(N,)``.
    A crisp stroke jumps from background to ink within a pixel or two and scores high; the same
    stroke blurred into a grey ramp scores low. It is the "energy of the gradient" that camera
    autofocus maximises, and it rewards noise too: compare it with real images, where a value far
    above theirs means speckle, not sharpness.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    check_shape(images, ("N", "C", "H", "W"), "gradient_energy", "images")
    dy = images[:, :, 1:, :] - images[:, :, :-1, :]  # (N, C, H-1, W)
    dx = images[:, :, :, 1:] - images[:, :, :, :-1]  # (N, C, H, W-1)
    return dy.pow(2).flatten(1).mean(1) + dx.pow(2).flatten(1).mean(1)


@torch.no_grad()
def psnr(images: torch.Tensor, targets: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image against its target, in decibels, shape ``(N,)``.

    ``PSNR = 10 log10(data_range^2 / MSE)``, with the MSE over each image's pixels and ``data_range``
    the span of pixel values (2 for images in [-1, 1]); computed by torchmetrics'
    ``peak_signal_noise_ratio``. An exact copy (MSE 0) gets ``10 log10(data_range^2 / 1e-10)``,
    about 106 dB, rather than infinity, so that means over a set stay finite. Higher means closer in
    pixels. A blurred image can beat a sharp one, which is why the SRGAN paper also asked people
    which looked better.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio

    check_shape(images, ("N", "C", "H", "W"), "psnr", "images")
    if images.shape != targets.shape:
        raise ValueError(f"images and targets must have the same shape, got {tuple(images.shape)} and "
                         f"{tuple(targets.shape)}")
    values = peak_signal_noise_ratio(images, targets, data_range=data_range, reduction="none", dim=(1, 2, 3))  # (N,)
    return values.clamp(max=10 * math.log10(data_range**2 / 1e-10))


@torch.no_grad()
def image_scores(outputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, *,
                 real: torch.Tensor | None = None, classifier: DigitClassifier | None = None) -> dict[str, float]:
    """Score a set of 28x28 digit outputs against their targets, the way the chapter compares models.

    Returns a dict (one table row):

    - ``"L1"``: mean absolute pixel error to the target (lower: closer in pixels);
    - ``"PSNR"``: mean :func:`psnr` to the target, in dB (higher: closer in pixels);
    - ``"accuracy"``: share of outputs the digit classifier reads as their label (the digit survived);
    - ``"sharpness"``: mean :func:`gradient_energy` of the outputs over that of ``real`` (default the
      targets): 1 is as sharp as real digits, below 1 blurred, far above 1 speckled;
    - ``"FCD"``: :func:`frechet_classifier_distance` between ``real`` and the outputs (lower: the
      outputs, as a set, look more like real digits).

    Outputs are clamped to [-1, 1] first. ``classifier`` defaults to the shipped digit classifier.

    Explained in the chapter "Variations II: translation, super-resolution and inpainting".
    """
    if outputs.shape != targets.shape or labels.shape[0] != outputs.shape[0]:
        raise ValueError(f"need one target and one label per output, got outputs {tuple(outputs.shape)}, "
                         f"targets {tuple(targets.shape)}, labels {tuple(labels.shape)}")
    outputs = outputs.clamp(-1, 1)
    predicted = digit_probabilities(outputs, classifier=classifier).argmax(dim=1)  # (N,); checks the outputs
    targets = targets.to(outputs.dtype)
    real = targets if real is None else real
    return {
        "L1": (outputs - targets).abs().mean().item(),
        "PSNR": psnr(outputs, targets).mean().item(),
        "accuracy": (predicted == labels.to(predicted.device)).float().mean().item(),
        "sharpness": (gradient_energy(outputs).mean() / gradient_energy(real).mean()).item(),
        "FCD": frechet_classifier_distance(real, outputs, classifier=classifier),
    }
