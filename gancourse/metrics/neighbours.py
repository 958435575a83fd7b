"""Scores from nearest neighbours: precision and recall of a generator, and a check for copied training data.

- :func:`precision_recall` (Kynkäänniemi et al., 2019) separates the two ways a generator can fail:
  *precision* is the share of generated samples that fall on the real data's manifold (quality),
  *recall* the share of real examples that fall on the generated samples' manifold (coverage). Each
  manifold is estimated as a union of balls around its points, reaching to the k-th nearest neighbour.
- :func:`memorisation` compares how close each generated sample comes to its nearest training example
  with how close real examples that were held out of training come; a generator that returns its
  training data sits at distance 0, closer than any held-out digit.

Both read feature vectors ``(N, D)`` or digits ``(N, 1, 28, 28)``: :func:`precision_recall` reads
digits through the digit classifier's features (:func:`~gancourse.metrics.digits.digit_features`);
:func:`memorisation` measures the distance between the tensors as given, so digits are compared pixel
by pixel. Distances are Euclidean, computed in float64 on the CPU, in chunks.

Explained in the chapter "Measuring a GAN".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gancourse.classifier import DigitClassifier
from gancourse.metrics.digits import digit_features

__all__ = ["PrecisionRecall", "precision_recall", "knn_radii", "Memorisation", "memorisation"]

_CHUNK = 1024  # rows of a distance matrix computed at once


def _rows(x: torch.Tensor, name: str, least: int) -> torch.Tensor:
    """``x`` as float64 rows ``(N, D)`` on the CPU (images flattened), refused unless finite with N >= least."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
        got = f"dtype {x.dtype}, shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a floating-point tensor (N, D) or (N, C, H, W), got {got}")
    rows = x.detach().reshape(x.shape[0], -1).cpu().double()
    if rows.shape[0] < least:
        raise ValueError(f"{name} must hold at least {least} examples, got {rows.shape[0]}")
    if not torch.isfinite(rows).all():
        raise ValueError(f"{name} hold {int(rows.isnan().sum())} NaN and {int(rows.isinf().sum())} infinite values")
    return rows


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``(len(a), len(b))``, with a copy at distance 0 rather than at a rounding error."""
    d = torch.cdist(a, b)  # through |a|^2 + |b|^2 - 2 a.b, a matrix product: fast, but not exact
    # That formula loses about 1e-8 of the norms to rounding, so an exact copy would come out a hair
    # above 0. Distances below a millionth of the two norms are such rounding errors: set them to 0.
    tiny = 1e-6 * (a.norm(dim=1)[:, None] + b.norm(dim=1)[None, :])
    return torch.where(d <= tiny, torch.zeros_like(d), d)


def knn_radii(points: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set, shape ``(N,)``.

    ``points`` are ``(N, D)`` (any shape ``(N, ...)`` is flattened); the point itself does not count
    as a neighbour, but an exact duplicate does (its radius can then be 0). The ball of this radius
    around each point is its share of the set's estimated manifold in :func:`precision_recall`.

    Explained in the chapter "Measuring a GAN".
    """
    rows = _rows(points, "points", least=k + 1)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    # The smallest distance in each row is the point to itself (0); the (k+1)-th is its k-th neighbour.
    return torch.cat([_distances(chunk, rows).kthvalue(k + 1, dim=1).values for chunk in rows.split(_CHUNK)])


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each point, whether it lies in at least one ball ``||point - centre|| <= radius``: ``(N,)`` bool."""
    return torch.cat([(_distances(chunk, centres) <= radii[None, :]).any(dim=1) for chunk in points.split(_CHUNK)])


@dataclass(frozen=True, eq=False)
class PrecisionRecall:
    """Precision and recall of a generated set against a real one, with the k-NN radii behind them.

    Attributes:
        precision: share (0..1) of generated samples inside the real manifold: quality.
        recall: share (0..1) of real examples inside the generated manifold: coverage.
        k: the neighbour that sets each ball's radius.
        real_radii, fake_radii: ``(N_real,)`` and ``(N_fake,)`` radii of the balls (float64, CPU).

    Explained in the chapter "Measuring a GAN".
    """

    precision: float
    recall: float
    k: int
    real_radii: torch.Tensor
    fake_radii: torch.Tensor


@torch.no_grad()
def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = 3, batch_size: int = 500,
                     classifier: DigitClassifier | None = None) -> PrecisionRecall:
    """Improved precision and recall for generative models, from k-nearest-neighbour manifolds.

    Each set's manifold is the union of balls ``B(x, NND_k(x))`` around its points, ``NND_k(x)`` the
    distance from x to its k-th nearest neighbour in its own set. With ``f(y, X) = 1`` when y lies in
    at least one ball of X (else 0),

        ``precision = mean over fakes y of f(y, real)`` and ``recall = mean over reals x of f(x, fake)``.

    A generator that draws only a few kinds of sample keeps a high precision and loses recall; one
    that draws everything, but poorly, keeps recall and loses precision: one number cannot tell the two
    apart, these two can. Two identical sets score 1 and 1 (every point lies in its own ball); two sets
    further apart than any ball reaches score 0 and 0. The balls grow with k, and the estimate depends
    on the set sizes: compare values computed with the same k and the same numbers of points (the
    paper uses k = 3 and equal sizes).

    Args:
        real, fake: ``(N, 1, 28, 28)`` digits in [-1, 1], read through the digit classifier's 128
            features (:func:`~gancourse.metrics.digits.digit_features`, as the paper reads VGG-16
            features), or ``(N, D)`` vectors used as they are, e.g. 2-D points. More than k of each.
        k: the neighbour that sets each ball's radius (3 in the paper).
        batch_size, classifier: for reading digits, as in :func:`~gancourse.metrics.digits.digit_features`.

    Reference: Kynkäänniemi et al., "Improved precision and recall metric for assessing generative
    models", NeurIPS 2019 (equations 1-3), after Sajjadi et al., "Assessing generative models via
    precision and recall", NeurIPS 2018.

    Explained in the chapter "Measuring a GAN".
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    sets = []
    for name, x in (("real", real), ("fake", fake)):
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            x = digit_features(x, batch_size=batch_size, classifier=classifier, name=name)
        sets.append(_rows(x, name, least=k + 1))
    f_real, f_fake = sets
    if f_real.shape[1] != f_fake.shape[1]:
        raise ValueError(f"real and fake differ in width: {f_real.shape[1]} and {f_fake.shape[1]}")
    real_radii, fake_radii = knn_radii(f_real, k), knn_radii(f_fake, k)
    return PrecisionRecall(
        precision=_inside(f_fake, f_real, real_radii).double().mean().item(),
        recall=_inside(f_real, f_fake, fake_radii).double().mean().item(),
        k=k,
        real_radii=real_radii,
        fake_radii=fake_radii,
    )


@dataclass(frozen=True, eq=False)
class Memorisation:
    """How close generated samples come to the training data, beside held-out real examples.

    Attributes:
        distances: ``(N,)`` each sample's distance to its nearest training example.
        nearest: ``(N,)`` index into the training set of that nearest example.
        reference: ``(M,)`` each held-out example's distance to its nearest training example.
        threshold: the ``quantile`` of ``reference``: closer than this is closer than nearly every
            held-out example comes.
        copied: share (0..1) of samples at or below ``threshold``; about ``quantile`` for a generator
            as novel as held-out data, 1 for one that returns training examples.
        ratio: median of ``distances`` over median of ``reference`` (below 1: closer to the training
            data than new real data is).

    Explained in the chapter "Measuring a GAN".
    """

    distances: torch.Tensor
    nearest: torch.Tensor
    reference: torch.Tensor
    threshold: float
    copied: float
    ratio: float


def _nearest(points: torch.Tensor, train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance from each point to its nearest training row, and that row's index."""
    found = [_distances(chunk, train).min(dim=1) for chunk in points.split(_CHUNK)]
    return torch.cat([f.values for f in found]), torch.cat([f.indices for f in found])


@torch.no_grad()
def memorisation(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, *,
                 quantile: float = 0.01) -> Memorisation:
    """Nearest-neighbour check for copied training data: generated samples against held-out real data.

    For each generated sample, ``d(x) = min over training examples t of ||x - t||``; the same distance
    for real examples that were *not* trained on gives the reference: how close new data from the same
    distribution comes to the training set by chance. A generator that copies its training data has
    ``d = 0``, below every held-out distance; one that makes new examples sits with the held-out data
    (or further out, while its samples are still poor). ``copied`` is the share of samples closer than
    the ``quantile`` of the held-out distances, so about ``quantile`` for a novel generator and 1 for
    a copying one. Summary scores such as the Fréchet distance cannot tell a copy from a new example:
    a set of training images scores as well as real data, because it is real data.

    Distances are measured between the tensors as given, flattened: pass digits to compare them pixel
    by pixel (an exact copy is at distance 0), or :func:`~gancourse.metrics.digits.digit_features`
    of each set to compare them in the classifier's feature space. A copy shifted by a pixel or two is
    no longer at distance 0 in pixels: the check finds exact and near-exact copies.

    Args:
        samples: ``(N, ...)`` generated examples.
        train: ``(T, ...)`` the examples the generator was trained on.
        held_out: ``(M, ...)`` real examples from the same distribution, not trained on.
        quantile: the share of held-out examples that sets the threshold, in (0, 1).

    References: Meehan, Chaudhuri and Dasgupta, "A non-parametric test to detect data-copying in
    generative models", AISTATS 2020 (generated-to-training against held-out-to-training distances);
    Goodfellow et al., "Generative adversarial nets", NeurIPS 2014 (Figure 2 shows each sample's
    nearest training example).

    Explained in the chapter "Measuring a GAN".
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    rows = {name: _rows(x, name, least=1) for name, x in (("samples", samples), ("train", train),
                                                           ("held_out", held_out))}
    widths = {name: r.shape[1] for name, r in rows.items()}
    if len(set(widths.values())) != 1:
        raise ValueError(f"samples, train and held_out must have the same size per example, got {widths}")
    distances, nearest = _nearest(rows["samples"], rows["train"])
    reference, _ = _nearest(rows["held_out"], rows["train"])
    threshold = torch.quantile(reference, quantile).item()
    return Memorisation(
        distances=distances,
        nearest=nearest,
        reference=reference,
        threshold=threshold,
        copied=(distances <= threshold).double().mean().item(),
        ratio=(distances.median() / reference.median().clamp_min(1e-12)).item(),
    )
