"""Tests of the metrics: hand-made mixtures with known answers, and the digit scores on real digits."""

import math

import pytest
import torch

from gancourse.classifier import digit_split
from gancourse.data import grid, mnist_digits, ring
from gancourse.metrics import (
    class_coverage,
    classifier_score,
    frechet_classifier_distance,
    gradient_energy,
    image_scores,
    inception_fid,
    kde_1d,
    kl_to_uniform,
    mode_metrics,
    psnr,
)

from helpers import strokes

# ---------------------------------------------------------------------------------------------
# 2-D mixtures
# ---------------------------------------------------------------------------------------------


def test_all_samples_on_one_mode():
    mix = ring()
    samples = mix.means[3].repeat(100, 1)  # (100, 2), all exactly on mode 3
    m = mode_metrics(samples, mix)
    assert m.modes_captured == 1 and m.n_modes == 8
    assert m.high_quality == 1.0
    assert m.reverse_kl == pytest.approx(math.log(8))
    assert m.counts.tolist() == [0, 0, 0, 100, 0, 0, 0, 0]


def test_equal_counts_on_every_mode():
    mix = ring()
    samples = mix.means.repeat(25, 1)  # (200, 2): 25 on each of the 8 modes
    m = mode_metrics(samples, mix)
    assert (m.modes_captured, m.high_quality) == (8, 1.0)
    assert m.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_far_away_points_are_not_high_quality():
    mix = ring()
    m = mode_metrics(torch.full((50, 2), 10.0), mix)
    assert (m.modes_captured, m.high_quality) == (0, 0.0)
    assert m.reverse_kl == pytest.approx(math.log(8))  # the documented value with no HQ sample
    assert m.counts.sum() == 0


def test_three_sigma_boundary_and_a_mixed_set():
    mix = grid()  # 25 modes, std 0.05
    center = mix.means[12]  # (0, 0)
    inside = center + torch.tensor([0.0, 0.149])  # 2.98 sigma away
    outside = center + torch.tensor([0.151, 0.0])  # 3.02 sigma away
    half_way = torch.tensor([1.0, 0.0])  # between two modes, far from both
    m = mode_metrics(torch.stack([inside, outside, half_way, mix.means[0]]), mix)
    assert m.high_quality == pytest.approx(0.5)
    assert m.modes_captured == 2
    assert m.reverse_kl == pytest.approx(math.log(25 / 2))  # q = (1/2, 1/2) on 2 of 25 modes


def test_samples_from_the_mixture_itself_score_well():
    mix = ring()
    samples = mix.sample(2500, torch.Generator().manual_seed(0))
    m = mode_metrics(samples, mix)
    assert m.modes_captured == 8
    assert m.high_quality > 0.98  # a 2-D Gaussian puts 98.9% of its mass within 3 sigma
    assert m.reverse_kl < 0.01


def test_nan_samples_count_as_low_quality_and_batching_does_not_matter():
    mix = ring()
    samples = torch.cat([mix.means, torch.full((2, 2), float("nan"))])  # (10, 2)
    m = mode_metrics(samples, mix, batch_size=3)
    assert (m.modes_captured, m.high_quality) == (8, 0.8)
    assert m.as_dict() == {"modes": 8, "high_quality_pct": 80.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_mode_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mode_metrics(torch.zeros(5, 3), ring())
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mode_metrics(torch.zeros(0, 2), ring())
    with pytest.raises(TypeError, match="means"):
        mode_metrics(torch.zeros(5, 2), object())


def test_kl_to_uniform_values():
    assert kl_to_uniform(torch.tensor([1, 1, 1, 1])) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(torch.tensor([3, 1])) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert kl_to_uniform(torch.zeros(5)) == pytest.approx(math.log(5))
    with pytest.raises(ValueError):
        kl_to_uniform(torch.tensor([-1, 2]))


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------


class _Stub(torch.nn.Module):
    """A stand-in classifier whose features and logits are read off the first pixels, for golden values."""

    num_features = 2
    num_classes = 10

    def features(self, x):
        return 8 * x[:, 0, 0, :2]  # (N, 2): pixel values in [-1, 1] scaled up by 8

    def logits(self, x):
        return 100 * torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()  # class = first pixel


def _images_from(rows):
    """Digits ``(N, 1, 28, 28)`` of zeros whose first pixels hold ``rows`` ``(N, k)``."""
    rows = torch.as_tensor(rows, dtype=torch.float32)
    x = torch.zeros(rows.shape[0], 1, 28, 28)
    x[:, 0, 0, : rows.shape[1]] = rows
    return x


def test_frechet_distance_matches_the_formula_for_diagonal_gaussians():
    signs = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])  # mean 0, variances 4/3, no covariance
    real = signs * torch.tensor([1.0, 2.0])  # std (1, 2) * sqrt(4/3)
    fake = signs * torch.tensor([2.0, 2.0]) + torch.tensor([3.0, 0.0])  # std (2, 2) * sqrt(4/3), mean (3, 0)
    # For diagonal covariances, FD = |mu_r - mu_f|^2 + sum_d (sigma_r,d - sigma_f,d)^2 = 9 + (4/3) (1 - 2)^2.
    got = frechet_classifier_distance(_images_from(real / 8), _images_from(fake / 8), classifier=_Stub())
    assert got == pytest.approx(9 + 4 / 3, rel=1e-9)


def test_classifier_score_matches_hand_values():
    stub = _Stub()
    two_classes = _images_from([[0.0], [1.0]])  # two images, confidently class 0 and class 1
    assert classifier_score(two_classes, classifier=stub) == pytest.approx(2.0, rel=1e-9)
    one_class = _images_from([[1.0]] * 5)
    assert classifier_score(one_class, classifier=stub) == pytest.approx(1.0, rel=1e-9)
    cov = class_coverage(two_classes, classifier=stub)
    assert cov.classes_covered == 2 and cov.reverse_kl == pytest.approx(math.log(5))


@pytest.fixture(scope="module")
def held_out():
    """The 1,000 held-out real digits (100 per class), in a fixed shuffled order, and their labels."""
    images, labels = mnist_digits()
    _, idx = digit_split(labels)
    idx = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(0))]
    return images[idx], labels[idx]


@pytest.fixture(scope="module")
def noise():
    return torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_classifier_score_real_vs_repeated_digit(held_out):
    images, _ = held_out
    real = classifier_score(images)
    assert 9.0 < real <= 10.0
    assert classifier_score(images[:1].repeat(200, 1, 1, 1)) == pytest.approx(1.0, abs=1e-6)


def test_classifier_score_of_noise_is_far_below_real(held_out, noise):
    assert classifier_score(noise) < 0.5 * classifier_score(held_out[0])


def test_frechet_classifier_distance_orders_real_noise_and_collapse(held_out, noise):
    images, _ = held_out
    real_a, real_b = images[:500], images[500:]
    repeated = images[:1].repeat(500, 1, 1, 1)
    base = frechet_classifier_distance(real_a, real_b)
    assert base >= 0
    assert frechet_classifier_distance(real_a, real_a) == pytest.approx(0.0, abs=1e-3 * max(base, 1.0))
    assert frechet_classifier_distance(real_a, noise) > 10 * base
    assert frechet_classifier_distance(real_a, repeated) > 10 * base


def test_class_coverage_real_vs_repeated_digit(held_out):
    images, _ = held_out
    real = class_coverage(images)
    assert real.classes_covered == 10
    assert real.reverse_kl < 0.02
    assert real.confident > 0.9
    one = class_coverage(images[:1].repeat(100, 1, 1, 1), confidence=0.5)
    assert one.classes_covered == 1
    assert one.reverse_kl == pytest.approx(math.log(10))


def test_digit_metrics_batching_does_not_change_results(held_out):
    images = held_out[0][:64]
    assert classifier_score(images, batch_size=24) == pytest.approx(classifier_score(images), rel=1e-5)
    cov = class_coverage(images, batch_size=24)
    assert torch.equal(cov.counts, class_coverage(images).counts)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(4, 28, 28), r"\(N, 1, 28, 28\)"),
        (torch.zeros(4, 3, 28, 28), r"\(N, 1, 28, 28\)"),
        (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), "floating-point"),
        (torch.full((4, 1, 28, 28), 255.0), r"\[-1, 1\]"),
        (torch.full((4, 1, 28, 28), float("nan")), "NaN"),
    ],
)
def test_digit_metrics_reject_bad_images(bad, message):
    with pytest.raises(ValueError, match=message):
        classifier_score(bad)
    with pytest.raises(ValueError, match=message):
        class_coverage(bad)
    with pytest.raises(ValueError, match=message):
        frechet_classifier_distance(torch.zeros(4, 1, 28, 28), bad)


def test_other_bad_arguments():
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_classifier_distance(x[:1], x)
    with pytest.raises(ValueError, match="confidence"):
        class_coverage(x, confidence=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        classifier_score(x, batch_size=0)


def test_inception_fid_says_what_is_missing_when_offline(monkeypatch):
    import torchmetrics.image.fid as tm_fid

    monkeypatch.setattr(tm_fid, "_TORCH_FIDELITY_AVAILABLE", False)  # as if torch-fidelity were not installed
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(RuntimeError, match="torch-fidelity") as info:
        inception_fid(x, x)
    assert "frechet_classifier_distance" in str(info.value)


def test_inception_fid_reports_a_failed_download(monkeypatch):
    import torchmetrics.image.fid as tm_fid

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tm_fid, "FrechetInceptionDistance", offline)
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(RuntimeError, match="network") as info:
        inception_fid(x, x)
    assert "frechet_classifier_distance" in str(info.value)


def test_inception_fid_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 1 or 3, H, W\)"):
        inception_fid(torch.zeros(4, 2, 28, 28), torch.zeros(4, 1, 28, 28))
    with pytest.raises(ValueError, match=r"inception_fid expects fake of shape \(N, C, H, W\), got \(4, 28, 28\)"):
        inception_fid(torch.zeros(4, 1, 28, 28), torch.zeros(4, 28, 28))


# ---------------------------------------------------------------------------------------------
# A 1-D density estimate
# ---------------------------------------------------------------------------------------------


def test_kde_golden_value_and_shape():
    # two samples at 0 and 2, bandwidth 1: at x = 1 both kernels give phi(1)
    phi1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    value = kde_1d(torch.tensor([0.0, 2.0]), torch.tensor([1.0]), bandwidth=1.0)
    assert value.shape == (1,) and value.item() == pytest.approx(phi1, rel=1e-6)
    grid = torch.linspace(-1, 3, 7).reshape(7, 1)
    assert kde_1d(torch.tensor([[0.0], [2.0]]), grid, bandwidth=0.5).shape == (7, 1)


def test_kde_with_silverman_bandwidth_is_a_density():
    x = torch.randn(4000, generator=torch.Generator().manual_seed(0))
    grid = torch.linspace(-6, 6, 1201)
    p = kde_1d(x, grid)
    assert torch.trapezoid(p, grid).item() == pytest.approx(1.0, abs=1e-3)
    assert p.max().item() == pytest.approx(1 / math.sqrt(2 * math.pi), rel=0.05)  # N(0, 1) peak
    # identical samples still give a (narrow) density, not a division by zero
    spike = kde_1d(torch.zeros(10), grid)
    assert torch.isfinite(spike).all() and torch.trapezoid(spike, grid).item() == pytest.approx(1.0, abs=1e-2)


def test_kde_matches_scipy_at_the_same_bandwidth():
    from scipy.stats import gaussian_kde

    x = torch.randn(300, generator=torch.Generator().manual_seed(2)) * 1.5 + 0.5
    grid = torch.linspace(-5, 6, 111)  # spacing 0.1, below the bandwidth: the floor does not bite
    h = 0.4
    # scipy scales its kernel by the samples' standard deviation (ddof=1): a factor h / std gives bandwidth h
    reference = gaussian_kde(x.double().numpy(), bw_method=h / float(x.double().std()))(grid.double().numpy())
    assert torch.allclose(kde_1d(x, grid, bandwidth=h).double(), torch.from_numpy(reference), rtol=1e-5, atol=1e-7)


def test_kde_refuses_bad_input():
    with pytest.raises(ValueError, match="samples must have shape"):
        kde_1d(torch.zeros(5, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        kde_1d(torch.zeros(5), torch.zeros(3), bandwidth=-1.0)


# ---------------------------------------------------------------------------------------------
# Outputs against their targets
# ---------------------------------------------------------------------------------------------


def test_gradient_energy_by_hand_and_blur_lowers_it():
    x = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # vertical edge: dx = 1 on both rows, dy = 0
    assert torch.allclose(gradient_energy(x), torch.tensor([1.0]))
    sharp = strokes(4)
    blurred = torch.nn.functional.avg_pool2d(sharp, 3, stride=1, padding=1, count_include_pad=False)
    assert (gradient_energy(blurred) < gradient_energy(sharp)).all()
    with pytest.raises(ValueError, match=r"gradient_energy expects images of shape \(N, C, H, W\)"):
        gradient_energy(torch.zeros(28, 28))


def test_psnr_by_hand():
    target = torch.zeros(2, 1, 4, 4)
    images = target.clone()
    images[0] += 0.2  # MSE 0.04 -> 10 log10(4 / 0.04) = 20 dB
    images[1] += 2.0  # MSE 4 -> 0 dB
    assert torch.allclose(psnr(images, target), torch.tensor([20.0, 0.0]), atol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        psnr(images, target[:1])
    with pytest.raises(ValueError, match=r"psnr expects images of shape \(N, C, H, W\)"):
        psnr(images[0], target[0])


def test_psnr_matches_the_formula_written_out():
    gen = torch.Generator().manual_seed(0)
    targets = torch.rand(6, 1, 8, 8, generator=gen) * 2 - 1
    images = (targets + 0.3 * torch.randn(6, 1, 8, 8, generator=gen)).clamp(-1, 1)
    images[0] = targets[0]  # an exact copy: the MSE floor of 1e-10 keeps it finite
    for data_range in (2.0, 1.0):
        mse = (images - targets).pow(2).flatten(1).mean(1).clamp_min(1e-10)  # (N,)
        expected = 10 * torch.log10(data_range**2 / mse)
        assert torch.allclose(psnr(images, targets, data_range=data_range), expected, rtol=1e-5, atol=1e-4)
    assert psnr(images, targets)[0].item() == pytest.approx(10 * math.log10(4 / 1e-10), rel=1e-6)


def test_image_scores_of_perfect_and_blurred_outputs():
    from gancourse.classifier import load_digit_classifier

    x = strokes(24)
    labels = load_digit_classifier()(x).argmax(dim=1)  # whatever the classifier reads: accuracy 1
    perfect = image_scores(x, x, labels)
    assert set(perfect) == {"L1", "PSNR", "accuracy", "sharpness", "FCD"}
    assert perfect["L1"] == 0 and perfect["PSNR"] > 90 and perfect["accuracy"] == 1
    assert perfect["sharpness"] == pytest.approx(1.0) and perfect["FCD"] == pytest.approx(0.0, abs=1e-3)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    scores = image_scores(blurred, x, labels)
    assert scores["sharpness"] < 0.8 and scores["L1"] > 0 and scores["PSNR"] < perfect["PSNR"]
    with pytest.raises(ValueError, match="one target and one label per output"):
        image_scores(x, x[:3], labels)


# ---------------------------------------------------------------------------------------------
# The classifier is read in eval mode, whatever mode it was handed in; float64 images are accepted
# ---------------------------------------------------------------------------------------------


def _batch_norm_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


def test_digit_metrics_read_a_classifier_in_train_mode_as_in_eval_mode(held_out):
    import copy

    from gancourse.classifier import load_digit_classifier

    images, labels = held_out
    real, fake = images[:120], images[120:240]
    shipped = load_digit_classifier()
    training = copy.deepcopy(shipped).train()  # batch norm would use batch statistics, dropout would be on
    before = _batch_norm_state(training)
    torch.manual_seed(0)
    assert frechet_classifier_distance(real, fake, batch_size=50, classifier=training) == pytest.approx(
        frechet_classifier_distance(real, fake, batch_size=50, classifier=shipped), rel=1e-6)
    assert classifier_score(fake, classifier=training) == pytest.approx(classifier_score(fake), rel=1e-6)
    assert torch.equal(class_coverage(fake, classifier=training).counts, class_coverage(fake).counts)
    assert image_scores(fake, fake, labels[120:240], classifier=training) == pytest.approx(
        image_scores(fake, fake, labels[120:240]), rel=1e-6)
    after = _batch_norm_state(training)
    assert all(torch.equal(before[k], after[k]) for k in before)  # its statistics were not overwritten
    assert training.training  # and it is handed back in the mode it came in


def test_digit_metrics_accept_float64_images(held_out):
    images = held_out[0][:60]
    assert classifier_score(images.double()) == pytest.approx(classifier_score(images), rel=1e-6)
    assert frechet_classifier_distance(images[:30].double(), images[30:]) == pytest.approx(
        frechet_classifier_distance(images[:30], images[30:]), rel=1e-6)
    assert torch.equal(class_coverage(images.double()).counts, class_coverage(images).counts)
    labels = held_out[1][:60]
    assert image_scores(images.double(), images.double(), labels)["accuracy"] == pytest.approx(
        image_scores(images, images, labels)["accuracy"])


def test_non_finite_images_are_refused_with_their_count():
    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 0, :2] = float("nan")
    x[2, 0, 5, 5] = float("-inf")
    with pytest.raises(ValueError, match="fake hold 2 NaN and 1 infinite values"):
        frechet_classifier_distance(torch.zeros(3, 1, 28, 28), x)
