"""Scores for generated digits read from the digit classifier, in place of the Inception network.

The published image scores read the Inception network, which cannot be downloaded offline and was
trained on colour photographs; for handwritten digits the small classifier of
:mod:`gancourse.classifier` is the closer judge (TF-GAN's MNIST example does the same):

- :func:`digit_features` and :func:`digit_probabilities`: what the classifier sees in each image;
- :func:`classifier_score`: the Inception Score computed with the digit classifier (at most 10);
- :func:`frechet_classifier_distance`: the FID computed on the classifier's penultimate features;
- :func:`kernel_distance`: the KID on the same features, an unbiased estimate (through torchmetrics);
- :func:`class_coverage`: how many of the 10 digits appear, and how evenly.

:func:`inception_fid` is the real, Inception-based FID for readers who are online and have
``torch-fidelity``; offline it raises an error that points back to the classifier distance.

All functions run without gradients, on the device of their input, in batches. The classifier is read
in eval mode whatever mode it is handed in (and left in that mode, its statistics untouched), and
images of another floating dtype (float64, say) are converted to the classifier's. The two set
distances also take feature vectors ``(N, D)`` computed once with :func:`digit_features`.

Explained in the chapter "Measuring a GAN".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from gancourse.classifier import DigitClassifier, check_digit_images, load_digit_classifier
from gancourse.metrics.mixtures import kl_to_uniform
from gancourse.models import check_shape, eval_mode

__all__ = ["digit_features", "digit_probabilities", "classifier_score", "frechet_classifier_distance",
           "kernel_distance", "ClassCoverage", "class_coverage", "inception_fid"]

_BATCH = 500  # images per classifier forward pass


def _check_unit_range(x: torch.Tensor, name: str) -> None:
    """Refuse images that are not finite values in [-1, 1] (up to a small rounding tolerance)."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} hold {int(x.isnan().sum())} NaN and {int(x.isinf().sum())} infinite values")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1.01 or hi > 1.01:
        raise ValueError(
            f"{name} must be scaled to [-1, 1] like gancourse.data.mnist_digits(), got values in "
            f"[{lo:.3g}, {hi:.3g}] (use gancourse.data.to_unit_range for 0..255 or 0..1 pixels)"
        )


def _prepare(images: torch.Tensor, name: str,
             classifier: DigitClassifier | None) -> tuple[torch.Tensor, DigitClassifier]:
    """Check a batch of digits; return it in the classifier's dtype, and the classifier (the shipped one by default)."""
    check_digit_images(images, name)
    _check_unit_range(images, name)
    model = classifier if classifier is not None else load_digit_classifier(images.device)
    return images.to(next((p.dtype for p in model.parameters()), torch.float32)), model


def _classify(model: DigitClassifier, images: torch.Tensor, batch_size: int, *, features: bool = False) -> torch.Tensor:
    """The classifier's logits (or features) for ``images``, in batches, in eval mode, without gradients."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    run = model.features if features else model.logits
    with torch.no_grad(), eval_mode(model):
        return torch.cat([run(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def digit_features(x: torch.Tensor, *, batch_size: int = _BATCH, classifier: DigitClassifier | None = None,
                   name: str = "images") -> torch.Tensor:
    """The digit classifier's penultimate features of each image: ``(N, 1, 28, 28) -> (N, 128)``.

    These are the numbers that the set metrics compare (:func:`frechet_classifier_distance`,
    :func:`kernel_distance`, :func:`gancourse.metrics.neighbours.precision_recall`): the last hidden
    layer of :class:`~gancourse.classifier.DigitClassifier`, read in eval mode, in batches, on the
    images' device. A 2-D tensor ``(N, D)`` is taken to be feature vectors already and returned as it
    is (after a check that it is finite), so that features computed once can be scored many times.

    Args:
        x: ``(N, 1, 28, 28)`` digits in [-1, 1], or ``(N, D)`` feature vectors.
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier`; default the shipped one.
        name: what to call ``x`` in error messages.

    Explained in the chapter "Measuring a GAN".
    """
    if isinstance(x, torch.Tensor) and x.dim() == 2:
        if not x.is_floating_point() or x.shape[0] < 1 or not torch.isfinite(x).all():
            raise ValueError(f"{name} given as features must be finite floating-point vectors (N, D) with N >= 1, "
                             f"got dtype {x.dtype}, shape {tuple(x.shape)}")
        return x
    images, model = _prepare(x, name, classifier)
    return _classify(model, images, batch_size, features=True)


@torch.no_grad()
def digit_probabilities(images: torch.Tensor, *, batch_size: int = _BATCH,
                        classifier: DigitClassifier | None = None) -> torch.Tensor:
    """The digit classifier's class probabilities ``p(y|x)`` for each image: ``(N, 1, 28, 28) -> (N, 10)``.

    The softmax of the classifier's logits, read in eval mode, in batches, on the images' device.

    Explained in the chapter "Measuring a GAN".
    """
    images, model = _prepare(images, "images", classifier)
    return _classify(model, images, batch_size).softmax(dim=1)


@torch.no_grad()
def classifier_score(
    images: torch.Tensor, *, batch_size: int = _BATCH, classifier: DigitClassifier | None = None
) -> float:
    """The Inception Score computed with the digit classifier: ``exp(E_x KL(p(y|x) || p(y)))``.

    ``p(y|x)`` is the classifier's softmax for image x and ``p(y) = E_x p(y|x)`` the average over the
    set. The score is high when each image is confidently one digit (sharp p(y|x)) *and* all digits
    appear equally (flat p(y)); it lies between 1 (every image gives the same prediction, e.g. one
    repeated digit) and 10 (confident, evenly spread over the 10 classes). Computed in float64 over
    the whole set in one split (TF-GAN's ``classifier_score`` with one batch). It reads the generated
    images alone: it cannot see the variety inside a class, nor a generator that copies its data.

    Args:
        images: ``(N, 1, 28, 28)`` digits in [-1, 1].
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    Reference: Salimans et al., "Improved techniques for training GANs", NeurIPS 2016.

    Explained in the chapter "Measuring a GAN".
    """
    images, model = _prepare(images, "images", classifier)
    # float64 on the CPU (Apple's MPS has no float64); the logits are only (N, 10).
    log_p = _classify(model, images, batch_size).cpu().double().log_softmax(dim=1)  # (N, 10) log p(y|x)
    log_marginal = torch.logsumexp(log_p, dim=0) - math.log(log_p.shape[0])  # (10,) log p(y)
    kl = (log_p.exp() * (log_p - log_marginal)).sum(dim=1)  # (N,) KL(p(y|x) || p(y))
    return float(kl.mean().clamp_min(0.0).exp())


class _Precomputed(nn.Module):
    """Identity 'feature extractor' that tells torchmetrics how many features each row holds."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def _two_feature_sets(real, fake, batch_size: int, classifier: DigitClassifier | None,
                      least: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets as float64 features on the CPU, of the same width, with at least ``least`` rows each."""
    if real.device != fake.device:
        raise ValueError(f"real and fake must be on the same device, got {real.device} and {fake.device}")
    f_real = digit_features(real, batch_size=batch_size, classifier=classifier, name="real")
    f_fake = digit_features(fake, batch_size=batch_size, classifier=classifier, name="fake")
    if f_real.shape[1] != f_fake.shape[1]:
        raise ValueError(f"real and fake features differ in width: {f_real.shape[1]} and {f_fake.shape[1]}")
    if f_real.shape[0] < least or f_fake.shape[0] < least:
        raise ValueError(f"need at least {least} real and {least} fake images, got {f_real.shape[0]} and "
                         f"{f_fake.shape[0]}")
    # float64 on the CPU for the statistics: it works for every device (Apple's MPS has no float64).
    return f_real.cpu().double(), f_fake.cpu().double()


@torch.no_grad()
def frechet_classifier_distance(
    real: torch.Tensor, fake: torch.Tensor, *, batch_size: int = _BATCH, classifier: DigitClassifier | None = None
) -> float:
    """Fréchet distance between Gaussians fitted to the classifier features of real and fake digits.

    With ``(mu_r, S_r)`` and ``(mu_f, S_f)`` the mean and covariance of the 128 penultimate features
    of :class:`~gancourse.classifier.DigitClassifier` on each set,

        ``FCD = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))``.

    It is 0 for two sets with the same feature statistics and grows both when fakes look wrong
    (means move) and when they lack variety (covariances shrink). Like the FID it is biased upward
    for small sets: two sets of real digits are further apart the fewer they hold, so compare values
    computed on the same number of images (or use :func:`kernel_distance`, which is unbiased).

    Args:
        real, fake: ``(N, 1, 28, 28)`` digits in [-1, 1], or ``(N, D)`` features from
            :func:`digit_features`; at least 2 of each.
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    Reference: Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium", NeurIPS 2017 (the FID, here on digit-classifier features as in TF-GAN's MNIST eval).

    Explained in the chapter "Measuring a GAN".
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    f_real, f_fake = _two_feature_sets(real, fake, batch_size, classifier, least=2)
    # torchmetrics does the statistics on the features handed to it through an identity module
    # (rather than the classifier itself), which also makes it skip the dummy forward pass it uses to
    # size an unknown extractor. It accumulates the sums and covariances in float64 and takes the
    # matrix square root term as the sum of sqrt(eigenvalues(S_r S_f)), the trace of (S_r S_f)^(1/2).
    metric = FrechetInceptionDistance(feature=_Precomputed(f_real.shape[1]), reset_real_features=True)
    metric.update(f_real, real=True)
    metric.update(f_fake, real=False)
    return float(metric.compute().clamp_min(0.0))


@torch.no_grad()
def kernel_distance(
    real: torch.Tensor, fake: torch.Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
    batch_size: int = _BATCH, classifier: DigitClassifier | None = None,
) -> tuple[float, float]:
    """Kernel distance (the KID on digit-classifier features): unbiased squared MMD, mean and std over subsets.

    With the cubic polynomial kernel ``k(x, y) = (x . y / d + 1)^3`` on d-dimensional features, and
    subsets ``x_1..x_m`` (real) and ``y_1..y_m`` (fake) of ``m`` feature vectors each,

        ``MMD^2 = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] - 2/m^2 sum_{i, j} k(x_i, y_j)``,

    an unbiased estimate of the squared maximum mean discrepancy: its average over random draws is
    the true value, so for two sets from the same distribution it scatters around 0 (and can be
    slightly negative) whatever their size, where the Fréchet distance is biased upward. It is computed
    by torchmetrics' ``KernelInceptionDistance`` with the classifier's features in place of Inception's
    (nothing is downloaded), on ``subsets`` random subsets of ``subset_size`` from each set; the
    subsets are drawn from a generator seeded with ``seed``, so the result is reproducible and the
    caller's random stream is left alone. When ``subset_size`` is not smaller than either set, one
    subset of ``min(n_real, n_fake)`` is used, and when that takes every example of both sets the
    estimate is computed once (every draw would give the same value).

    Args:
        real, fake: ``(N, 1, 28, 28)`` digits in [-1, 1], or ``(N, D)`` features from :func:`digit_features`.
        subsets, subset_size: how many subsets, and their size (torchmetrics' defaults, 100 and 1000).
        seed: seed of the subset draws.
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    Returns ``(mean, std)`` of the estimate over the subsets, as floats.

    Reference: Bińkowski et al., "Demystifying MMD GANs", ICLR 2018 (the KID, section 4).

    Explained in the chapter "Measuring a GAN".
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    if subsets < 1 or subset_size < 2:
        raise ValueError(f"need subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
    f_real, f_fake = _two_feature_sets(real, fake, batch_size, classifier, least=2)
    size = min(subset_size, f_real.shape[0], f_fake.shape[0])
    if size == f_real.shape[0] == f_fake.shape[0]:
        subsets = 1
    with warnings.catch_warnings():  # its note that it keeps every feature in memory: ours are already in memory
        warnings.filterwarnings("ignore", message=".*will save all extracted features", category=UserWarning)
        metric = KernelInceptionDistance(feature=_Precomputed(f_real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(f_real, real=True)
    metric.update(f_fake, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the subsets are drawn with torch.randperm
        mean, std = metric.compute()
    return float(mean), float(std)


@dataclass(frozen=True, eq=False)
class ClassCoverage:
    """Which of the 10 digits a set of generated images covers, and how evenly.

    Attributes:
        classes_covered: number of classes with at least one confidently classified image (0..10).
        reverse_kl: ``KL(q || uniform)`` in nats of the class histogram q of the confident images;
            ``log 10`` when no image is confidently classified.
        confident: fraction (0..1) of images whose top class probability reaches the threshold.
        counts: ``(10,)`` long tensor, confident images per class (on the CPU).

    Explained in the chapter "Measuring a GAN".
    """

    classes_covered: int
    reverse_kl: float
    confident: float
    counts: torch.Tensor


@torch.no_grad()
def class_coverage(
    images: torch.Tensor,
    confidence: float = 0.9,
    *,
    batch_size: int = _BATCH,
    classifier: DigitClassifier | None = None,
) -> ClassCoverage:
    """Count the digit classes among confidently classified images and measure the spread over them.

    An image is *confident* when ``max_y p(y|x) >= confidence``; its class is ``argmax_y p(y|x)``. The
    result gives the number of classes with at least one confident image and the reverse KL of their
    histogram q to uniform, ``KL(q || u) = sum_y q_y log(10 q_y)``: the mode-collapse scores of
    :func:`~gancourse.metrics.mixtures.mode_metrics`, with the digit classes as modes (``log 10`` if
    nothing is confident).

    Args:
        images: ``(N, 1, 28, 28)`` digits in [-1, 1].
        confidence: threshold on the top class probability, in (0, 1].
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    References: Lin et al. 2018 (PacGAN) and Srivastava et al. 2017 (VEEGAN) count modes this way on
    (stacked) MNIST with a pretrained classifier.

    Explained in the chapter "Measuring a GAN".
    """
    if not 0 < confidence <= 1:
        raise ValueError(f"confidence must be in (0, 1], got {confidence}")
    images, model = _prepare(images, "images", classifier)
    probs = _classify(model, images, batch_size).softmax(dim=1)  # (N, 10)
    top_p, top_class = probs.max(dim=1)  # (N,), (N,)
    sure = top_p >= confidence
    counts = torch.bincount(top_class[sure], minlength=model.num_classes).cpu()
    return ClassCoverage(
        classes_covered=int((counts > 0).sum()),
        reverse_kl=kl_to_uniform(counts),
        confident=int(sure.sum()) / images.shape[0],
        counts=counts,
    )


_OFFLINE_HINT = (
    "Offline, use gancourse.metrics.frechet_classifier_distance(real, fake), the same distance on the "
    "features of the digit classifier shipped with gancourse."
)


@torch.no_grad()
def inception_fid(real: torch.Tensor, fake: torch.Tensor, *, batch_size: int = 100) -> float:
    """The standard FID on Inception-v3 pool features (torchmetrics), for readers who are online.

    ``FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))`` on the 2048 Inception pool
    features; grey digits are repeated to 3 channels and resized to 299x299 by torchmetrics. Needs the
    ``torch-fidelity`` package and, the first time, a download of the Inception weights: when either is
    missing this raises ``RuntimeError`` saying so; :func:`frechet_classifier_distance` is the offline
    alternative. Inception FIDs on MNIST are not comparable with FIDs on ImageNet-like images.

    Args:
        real, fake: ``(N, C, H, W)`` images in [-1, 1] with C = 1 or 3; at least 2 of each.
        batch_size: images per Inception pass.

    Reference: Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium", NeurIPS 2017.

    Explained in the chapter "Measuring a GAN".
    """
    for name, x in (("real", real), ("fake", fake)):
        check_shape(x, ("N", "C", "H", "W"), "inception_fid", name)
        if x.shape[1] not in (1, 3) or x.shape[0] < 2:
            raise ValueError(f"{name} must have shape (N, 1 or 3, H, W) with N >= 2, got {tuple(x.shape)}")
        _check_unit_range(x, name)
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance

        metric = FrechetInceptionDistance(feature=2048, normalize=True)
    except (ImportError, ModuleNotFoundError) as err:
        raise RuntimeError(
            f"inception_fid needs the torch-fidelity package (pip install torch-fidelity), which is "
            f"missing: {err}. {_OFFLINE_HINT}"
        ) from err
    except Exception as err:  # the weights download fails with errors that vary by version
        raise RuntimeError(
            f"inception_fid could not load the Inception-v3 weights ({err.__class__.__name__}: {err}); "
            f"they are downloaded the first time and need the network. {_OFFLINE_HINT}"
        ) from err
    metric = metric.to(real.device)
    for imgs, is_real in ((real, True), (fake, False)):
        for chunk in imgs.split(batch_size):
            rgb = ((chunk.float() + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)  # (b, 3, H, W) in [0, 1]
            metric.update(rgb, real=is_real)
    return float(metric.compute())
