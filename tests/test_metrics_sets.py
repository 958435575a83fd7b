"""Tests of the scores that compare two sets: kernel distance, precision and recall, the memorisation check.

Known cases: identical sets (precision = recall = 1, KID and FD about 0), disjoint sets (precision =
recall = 0), a copied set (the memorisation check flags it), plus values worked out by hand.
"""

import math

import pytest
import torch

from gancourse.classifier import digit_split, load_digit_classifier
from gancourse.data import mnist_digits
from gancourse.metrics import (
    digit_features,
    digit_probabilities,
    frechet_classifier_distance,
    kernel_distance,
    knn_radii,
    memorisation,
    precision_recall,
)


def _unbiased_poly_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """The KID estimate written out term by term: cubic kernel (x.y / d + 1)^3, unbiased MMD^2."""
    m, d = x.shape
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    within = (kxx.sum() - kxx.diag().sum() + kyy.sum() - kyy.diag().sum()) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / m**2)


@pytest.fixture(scope="module")
def features():
    """Two draws of 60 points in 5-D from the same Gaussian, and one from a shifted Gaussian."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(60, 5, generator=g, dtype=torch.float64), torch.randn(60, 5, generator=g, dtype=torch.float64)
    return a, b, b + 3.0


# ---------------------------------------------------------------------------------------------
# Kernel distance (KID)
# ---------------------------------------------------------------------------------------------


def test_kernel_distance_is_the_unbiased_polynomial_mmd(features):
    a, _, far = features
    mean, std = kernel_distance(a, far)  # 60 of each: one estimate on every point
    assert mean == pytest.approx(_unbiased_poly_mmd2(a, far), rel=1e-10)
    assert std == 0.0


def test_kernel_distance_of_identical_and_of_same_distribution_sets_is_about_zero(features):
    a, b, far = features
    separated = kernel_distance(a, far)[0]
    assert separated > 1.0
    # Identical sets: the estimate leaves out k(x, x) within a set but not across, so it is a hair below 0.
    assert -1e-2 * separated < kernel_distance(a, a)[0] <= 0
    assert abs(kernel_distance(a, b)[0]) < 0.05 * separated


def test_kernel_distance_subsets_are_seeded_and_leave_the_random_stream_alone(features):
    a, _, far = features
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = kernel_distance(a, far, subsets=5, subset_size=20, seed=7)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's stream did not move
    assert kernel_distance(a, far, subsets=5, subset_size=20, seed=7) == first
    assert kernel_distance(a, far, subsets=5, subset_size=20, seed=8) != first
    assert first[1] > 0  # different subsets, different estimates


def test_kernel_distance_rejects_bad_arguments(features):
    a, b, _ = features
    with pytest.raises(ValueError, match="subset_size"):
        kernel_distance(a, b, subset_size=1)
    with pytest.raises(ValueError, match="width"):
        kernel_distance(a, b[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        kernel_distance(a[:1], b)


# ---------------------------------------------------------------------------------------------
# Precision and recall
# ---------------------------------------------------------------------------------------------


def test_knn_radii_by_hand():
    points = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(points, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radii(points, k=2).tolist() == [3.0, 2.0, 3.0, 5.0]
    assert knn_radii(torch.tensor([[0.0], [0.0], [5.0]]), k=1).tolist() == [0.0, 0.0, 5.0]  # a duplicate counts


def test_identical_sets_have_precision_and_recall_one(features):
    a, _, _ = features
    pr = precision_recall(a, a.clone())
    assert pr.precision == 1.0 and pr.recall == 1.0 and pr.k == 3
    assert torch.equal(pr.real_radii, pr.fake_radii)


def test_disjoint_sets_have_precision_and_recall_zero(features):
    a, b, _ = features
    pr = precision_recall(a, b + 100.0)
    assert pr.precision == 0.0 and pr.recall == 0.0


def test_precision_and_recall_by_hand():
    real = torch.arange(10.0)[:, None]  # 0, 1, ..., 9: with k = 1 every ball has radius 1
    spread = torch.tensor([[0.5], [20.0]])  # one sample on the data, one far off; their balls are 19.5 wide
    pr = precision_recall(real, spread, k=1)
    assert pr.precision == 0.5  # 0.5 lies in the ball of 0; 20 lies in no ball
    assert pr.recall == 1.0  # the ball around 0.5 reaches every real point
    collapsed = torch.tensor([[4.0], [4.0], [4.1]])  # all on one real point
    pr = precision_recall(real, collapsed, k=1)
    assert pr.precision == 1.0 and pr.recall == pytest.approx(0.1)  # only 4 lies in their tiny balls


def test_precision_recall_tell_collapse_from_spread(features):
    a, b, _ = features
    collapsed = b[:5].repeat(12, 1)  # 60 samples, 5 distinct points of the data
    spread = 3.0 * b  # the data's region and far beyond it
    pr_collapsed, pr_spread = precision_recall(a, collapsed), precision_recall(a, spread)
    assert pr_collapsed.precision > 0.8 and pr_collapsed.recall < 0.2
    assert pr_spread.precision < 0.5 and pr_spread.recall > 0.8


def test_precision_recall_rejects_bad_input(features):
    a, b, _ = features
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(a, b, k=0)
    with pytest.raises(ValueError, match="at least 4"):
        precision_recall(a[:3], b)
    with pytest.raises(ValueError, match="width"):
        precision_recall(a, b[:, :2])
    bad = b.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        precision_recall(a, bad)


# ---------------------------------------------------------------------------------------------
# Memorisation
# ---------------------------------------------------------------------------------------------


def test_a_copied_set_is_flagged(features):
    a, b, _ = features
    train, held_out = a, b
    copies = train[torch.tensor([5, 0, 7, 7])]
    m = memorisation(copies, train, held_out)
    assert m.copied == 1.0 and m.ratio == 0.0
    assert m.distances.tolist() == [0.0] * 4 and m.nearest.tolist() == [5, 0, 7, 7]
    assert m.threshold > 0 and m.reference.shape == (len(held_out),)


def test_new_data_is_not_flagged_beyond_the_quantile(features):
    a, b, far = features
    fresh = torch.randn(200, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    m = memorisation(fresh, a, b, quantile=0.1)
    assert m.copied < 0.3 and 0.5 < m.ratio < 2.0  # like held-out data: about a tenth below the 10% quantile
    assert memorisation(far, a, b).copied == 0.0  # far from everything


def test_memorisation_reads_images_pixel_by_pixel():
    train = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1
    held_out = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    m = memorisation(train[:4], train, held_out)
    assert m.copied == 1.0 and m.nearest.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="same size per example"):
        memorisation(train[:4, :, :14], train, held_out)
    with pytest.raises(ValueError, match="quantile"):
        memorisation(train[:4], train, held_out, quantile=1.0)


# ---------------------------------------------------------------------------------------------
# On real digits, through the shipped classifier
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def held_out():
    images, labels = mnist_digits()
    _, idx = digit_split(labels)
    return images[idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(0))]]


def test_digit_features_and_probabilities(held_out):
    images = held_out[:50]
    feats = digit_features(images)
    with torch.no_grad():
        expected = load_digit_classifier().features(images)
    assert feats.shape == (50, 128) and torch.allclose(feats, expected)
    assert digit_features(feats) is feats  # features pass through
    probs = digit_probabilities(images)
    assert probs.shape == (50, 10) and torch.allclose(probs.sum(1), torch.ones(50))
    with pytest.raises(ValueError, match="features"):
        digit_features(torch.zeros(4, 3, dtype=torch.long))


def test_set_metrics_on_identical_and_on_copied_digits(held_out):
    a, b = held_out[:300], held_out[300:600]
    fa, fb = digit_features(a), digit_features(b)
    assert frechet_classifier_distance(fa, fb) == pytest.approx(frechet_classifier_distance(a, b), rel=1e-9)
    assert frechet_classifier_distance(fa, fa) == pytest.approx(0.0, abs=1e-6)
    kid_same, kid_other = kernel_distance(fa, fa)[0], kernel_distance(fa, fb)[0]
    noise = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(4)) * 2 - 1
    kid_noise = kernel_distance(fa, noise)[0]
    assert abs(kid_same) < 0.01 * kid_noise and abs(kid_other) < 0.01 * kid_noise
    pr = precision_recall(a, a)
    assert pr.precision == 1.0 and pr.recall == 1.0
    assert math.isclose(precision_recall(fa, fb).precision, precision_recall(a, b).precision)
    m = memorisation(a[:50], a, b)
    assert m.copied == 1.0 and float(m.distances.max()) == 0.0
