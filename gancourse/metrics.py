"""Numbers that say how good a generator is, for the 2-D mixtures and for handwritten digits.

**2-D mixtures of Gaussians** (the ring and the grid of :mod:`gancourse.data`), as in the PacGAN
(Lin et al., 2018) and VEEGAN (Srivastava et al., 2017) papers: :func:`mode_metrics` counts the modes
captured, the share of high-quality samples and the reverse KL to the uniform mode histogram.

**Handwritten digits**, the way TF-GAN's MNIST example does it, with the small digit classifier of
:mod:`gancourse.classifier` in place of the Inception network (which cannot be downloaded offline):

- :func:`classifier_score`: the Inception Score computed with the digit classifier (at most 10);
- :func:`frechet_classifier_distance`: the FID computed on the classifier's penultimate features;
- :func:`class_coverage`: how many of the 10 digits appear, and how evenly.

:func:`inception_fid` is the real, Inception-based FID for readers who are online and have
``torch-fidelity``; offline it raises an error that points back to the classifier distance.

**Outputs against their targets**, for the image-to-image variations: :func:`psnr` (closeness in
pixels), :func:`gradient_energy` (sharpness) and :func:`image_scores`, which puts these and the
classifier's verdicts in one table row.

**1-D densities**: :func:`kde_1d`, a Gaussian kernel density estimate from samples.

All functions run without gradients, on the device of their input, in batches. The classifier is read
in eval mode whatever mode it is handed in (and left in that mode, its statistics untouched), and
images of another floating dtype (float64, say) are converted to the classifier's.

Explained in the chapters "Common problems", "GAN training" (the density estimate) and "Variations
II: translation, super-resolution and inpainting" (outputs against targets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gancourse.classifier import DigitClassifier, check_digit_images, load_digit_classifier
from gancourse.models import check_shape, eval_mode

__all__ = ["ModeMetrics", "mode_metrics", "kl_to_uniform", "kde_1d", "classifier_score", "frechet_classifier_distance",
           "ClassCoverage", "class_coverage", "inception_fid", "gradient_energy", "psnr", "image_scores"]

_BATCH = 500  # images per classifier forward pass


# ---------------------------------------------------------------------------------------------
# Samples of a mixture: modes captured, high-quality samples, reverse KL; a 1-D density estimate
# ---------------------------------------------------------------------------------------------


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL divergence of the histogram ``counts`` (shape ``(K,)``) to the uniform distribution over K bins.

    ``KL(q || u) = sum_k q_k log(q_k K)`` with ``q = counts / counts.sum()`` and ``0 log 0 = 0``, in
    nats. It is 0 for equal counts and ``log K`` (its largest value) when one bin holds everything.
    An empty histogram (all counts zero) has no distribution; it is given the worst value, ``log K``.

    Explained in the chapter "Common problems".
    """
    counts = torch.as_tensor(counts).detach().reshape(-1).cpu().to(torch.float64)
    k = counts.numel()
    if k == 0 or (counts < 0).any():
        raise ValueError("counts must be a non-empty histogram of non-negative numbers")
    total = counts.sum()
    if total == 0:
        return math.log(k)
    q = counts / total
    return float(torch.where(q > 0, q * torch.log(q * k), torch.zeros_like(q)).sum().clamp_min(0.0))


@dataclass(frozen=True, eq=False)
class ModeMetrics:
    """The mode-collapse scores of one set of samples from a 2-D generator.

    Attributes:
        modes_captured: number of modes with at least one high-quality sample nearest to them.
        n_modes: number of modes K of the mixture.
        high_quality: fraction (0..1) of samples within 3 standard deviations of their nearest mode.
        reverse_kl: ``KL(q || uniform)`` in nats, q the mode histogram of the high-quality samples;
            ``log K`` when there is no high-quality sample at all.
        counts: ``(K,)`` long tensor, high-quality samples per mode (on the CPU).

    Explained in the chapter "Common problems".
    """

    modes_captured: int
    n_modes: int
    high_quality: float
    reverse_kl: float
    counts: torch.Tensor

    def as_dict(self) -> dict:
        """The three scalar scores, for a table row: modes, high-quality percentage, reverse KL.

        Explained in the chapter "Common problems".
        """
        return {
            "modes": self.modes_captured,
            "high_quality_pct": 100 * self.high_quality,
            "reverse_kl": self.reverse_kl,
        }


@torch.no_grad()
def mode_metrics(samples: torch.Tensor, mixture, *, n_sigmas: float = 3.0, batch_size: int = 65536) -> ModeMetrics:
    """Score generated 2-D (or any-D) samples against a Gaussian mixture, as PacGAN and VEEGAN do.

    For each sample x, its nearest mode is ``k(x) = argmin_k ||x - mu_k||``. Then

    - x is **high quality** when ``||x - mu_k(x)|| <= 3 sigma_k(x)``;
    - a mode k is **captured** when at least one high-quality sample has ``k(x) = k``;
    - the **reverse KL** is ``KL(q || u) = sum_k q_k log(K q_k)``, with q the histogram of k(x) over
      the high-quality samples and u uniform over the K modes (0 when every mode gets the same share,
      ``log K`` when all high-quality samples sit on one mode).

    With no high-quality sample the histogram q is undefined; the reverse KL is then reported as
    ``log K``, the worst value any histogram can reach, so that means over seeds stay finite.
    Non-finite samples (NaN or inf, from a diverged run) count as low quality.

    Args:
        samples: ``(n, D)`` generated points (``(n,)`` is accepted for a 1-D mixture).
        mixture: a :class:`gancourse.data.GaussianMixture` (anything with ``means`` ``(K, D)`` and
            ``stds`` ``(K,)``).
        n_sigmas: the quality radius in standard deviations (3 in both papers).
        batch_size: samples per chunk of the ``(n, K)`` distance matrix.

    References: Lin et al., "PacGAN: The power of two samples in generative adversarial networks",
    NeurIPS 2018 (Table 1 and its reverse KL); Srivastava et al., "VEEGAN: Reducing mode collapse in
    GANs using implicit variational learning", NeurIPS 2017 (Table 1).

    Explained in the chapter "Common problems".
    """
    if not hasattr(mixture, "means") or not hasattr(mixture, "stds"):
        raise TypeError("mixture must have `means` (K, D) and `stds` (K,), e.g. gancourse.data.ring()")
    if not isinstance(samples, torch.Tensor):
        samples = torch.as_tensor(samples)
    means = torch.as_tensor(mixture.means, dtype=torch.float32, device=samples.device)  # (K, D)
    stds = torch.as_tensor(mixture.stds, dtype=torch.float32, device=samples.device).reshape(-1)  # (K,)
    k, dim = means.shape
    if samples.dim() == 1 and dim == 1:
        samples = samples[:, None]
    if samples.dim() != 2 or samples.shape[1] != dim or samples.shape[0] == 0:
        raise ValueError(f"samples must have shape (n, {dim}) with n >= 1 for this mixture, got {tuple(samples.shape)}")
    if not samples.is_floating_point():
        samples = samples.float()
    if n_sigmas <= 0:
        raise ValueError(f"n_sigmas must be positive, got {n_sigmas}")

    counts = torch.zeros(k, dtype=torch.long, device=samples.device)
    for chunk in samples.split(batch_size):
        dist = torch.cdist(chunk.to(means.dtype), means)  # (b, K)
        dist = torch.nan_to_num(dist, nan=math.inf)
        nearest_dist, nearest = dist.min(dim=1)  # (b,), (b,)
        good = nearest_dist <= n_sigmas * stds[nearest]  # (b,) bool; inf distances are never good
        counts += torch.bincount(nearest[good], minlength=k)
    counts = counts.cpu()
    n_good = int(counts.sum())
    return ModeMetrics(
        modes_captured=int((counts > 0).sum()),
        n_modes=k,
        high_quality=n_good / samples.shape[0],
        reverse_kl=kl_to_uniform(counts),
        counts=counts,
    )


def kde_1d(samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """Gaussian kernel density estimate of 1-D ``samples`` (shape ``(n,)`` or ``(n, 1)``) on ``grid``.

    ``p(x) = 1/(n h) sum_i phi((x - x_i) / h)`` with phi the standard normal density. The default
    bandwidth is Silverman's rule of thumb, ``h = 0.9 min(std, IQR / 1.34) n^(-1/5)`` (Silverman,
    "Density estimation for statistics and data analysis", 1986, eq. 3.31). Any bandwidth is floored
    at the grid's spacing (1e-3 for a one-point grid), so that samples piled up in a spike narrower
    than the grid still show on it, and samples that all coincide still give a density; that floor
    is why this is not ``scipy.stats.gaussian_kde``, which gives the same values above it.

    Returns a tensor shaped like ``grid``.

    Explained in the chapter "GAN training".
    """
    x = torch.as_tensor(samples, dtype=torch.float64).detach().cpu()
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 1 or x.numel() < 2:
        raise ValueError(f"samples must have shape (n,) or (n, 1) with n >= 2, got {tuple(x.shape)}")
    x = x[torch.isfinite(x)]
    grid_t = torch.as_tensor(grid, dtype=torch.float64).detach().cpu()
    if x.numel() < 2:
        return torch.zeros_like(grid_t, dtype=torch.float32)
    if bandwidth is None:
        q75, q25 = torch.quantile(x, 0.75), torch.quantile(x, 0.25)
        spread = min(float(x.std()), float(q75 - q25) / 1.34) or float(x.std())
        bandwidth = 0.9 * spread * x.numel() ** (-0.2)
    elif not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    flat = grid_t.reshape(-1)
    spacing = float(flat.max() - flat.min()) / (flat.numel() - 1) if flat.numel() > 1 else 0.0
    h = max(float(bandwidth), spacing, 1e-3)
    u = (grid_t.reshape(-1, 1) - x.reshape(1, -1)) / h  # (m, n)
    density = torch.exp(-0.5 * u**2).sum(1) / (x.numel() * h * math.sqrt(2 * math.pi))
    return density.reshape(grid_t.shape).float()


# ---------------------------------------------------------------------------------------------
# Digits: scores read from the digit classifier
# ---------------------------------------------------------------------------------------------


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
def classifier_score(
    images: torch.Tensor, *, batch_size: int = _BATCH, classifier: DigitClassifier | None = None
) -> float:
    """The Inception Score computed with the digit classifier: ``exp(E_x KL(p(y|x) || p(y)))``.

    ``p(y|x)`` is the classifier's softmax for image x and ``p(y) = E_x p(y|x)`` the average over the
    set. The score is high when each image is confidently one digit (sharp p(y|x)) *and* all digits
    appear equally (flat p(y)); it lies between 1 (every image gives the same prediction, e.g. one
    repeated digit) and 10 (confident, evenly spread over the 10 classes). Computed in float64 over
    the whole set in one split (TF-GAN's ``classifier_score`` with one batch).

    Args:
        images: ``(N, 1, 28, 28)`` digits in [-1, 1].
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    Reference: Salimans et al., "Improved techniques for training GANs", NeurIPS 2016.

    Explained in the chapter "Common problems".
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
    for small sets: compare values computed on the same number of images.

    Args:
        real, fake: ``(N, 1, 28, 28)`` digits in [-1, 1]; at least 2 of each.
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    Reference: Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium", NeurIPS 2017 (the FID, here on digit-classifier features as in TF-GAN's MNIST eval).

    Explained in the chapter "Common problems".
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    if real.device != fake.device:
        raise ValueError(f"real and fake must be on the same device, got {real.device} and {fake.device}")
    real, model = _prepare(real, "real", classifier)
    fake, _ = _prepare(fake, "fake", model)
    if real.shape[0] < 2 or fake.shape[0] < 2:
        raise ValueError(f"need at least 2 real and 2 fake images, got {real.shape[0]} and {fake.shape[0]}")
    # The features are computed here, in batches on the images' device; torchmetrics then does the
    # statistics. Handing it the features through an identity module (rather than the classifier
    # itself) keeps its float64 sums on the CPU, which works for every device (Apple's MPS has no
    # float64), and makes it skip the dummy forward pass it uses to size an unknown extractor.
    # torchmetrics accumulates the sums and covariances in float64 and takes the matrix square root
    # term in float64 as the sum of sqrt(eigenvalues(S_r S_f)), the trace of (S_r S_f)^(1/2).
    metric = FrechetInceptionDistance(feature=_Precomputed(model.num_features), reset_real_features=True)
    for imgs, is_real in ((real, True), (fake, False)):
        metric.update(_classify(model, imgs, batch_size, features=True).cpu().double(), real=is_real)  # (N, 128)
    return float(metric.compute().clamp_min(0.0))


@dataclass(frozen=True, eq=False)
class ClassCoverage:
    """Which of the 10 digits a set of generated images covers, and how evenly.

    Attributes:
        classes_covered: number of classes with at least one confidently classified image (0..10).
        reverse_kl: ``KL(q || uniform)`` in nats of the class histogram q of the confident images;
            ``log 10`` when no image is confidently classified.
        confident: fraction (0..1) of images whose top class probability reaches the threshold.
        counts: ``(10,)`` long tensor, confident images per class (on the CPU).

    Explained in the chapter "Common problems".
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
    :func:`mode_metrics`, with the digit classes as modes (``log 10`` if nothing is confident).

    Args:
        images: ``(N, 1, 28, 28)`` digits in [-1, 1].
        confidence: threshold on the top class probability, in (0, 1].
        batch_size: images per classifier pass.
        classifier: a :class:`~gancourse.classifier.DigitClassifier` (read in eval mode); default the shipped one.

    References: Lin et al. 2018 (PacGAN) and Srivastava et al. 2017 (VEEGAN) count modes this way on
    (stacked) MNIST with a pretrained classifier.

    Explained in the chapter "Common problems".
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

    Explained in the chapter "Common problems".
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


# ---------------------------------------------------------------------------------------------
# Outputs against their targets: pixels, sharpness, and the classifier's verdicts
# ---------------------------------------------------------------------------------------------


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
    outputs, model = _prepare(outputs.clamp(-1, 1), "outputs", classifier)
    targets = targets.to(outputs.dtype)
    real = targets if real is None else real
    predicted = _classify(model, outputs, _BATCH).argmax(dim=1)  # (N,)
    return {
        "L1": (outputs - targets).abs().mean().item(),
        "PSNR": psnr(outputs, targets).mean().item(),
        "accuracy": (predicted == labels.to(predicted.device)).float().mean().item(),
        "sharpness": (gradient_energy(outputs).mean() / gradient_energy(real).mean()).item(),
        "FCD": frechet_classifier_distance(real, outputs, classifier=model),
    }
