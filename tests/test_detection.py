"""The real-versus-generated detector: shapes, a separable toy case, a non-separable one, and the scores."""

import pytest
import torch
from torch import nn

from gancourse.detection import DetectorAccuracy, DigitDetector, detector_accuracy, fake_probability, train_detector

from helpers import strokes


def checkered(images: torch.Tensor, amplitude: float = 0.3) -> torch.Tensor:
    """``images`` with a faint pixel checkerboard added: the kind of fingerprint an upsampling layer leaves."""
    rows, cols = torch.meshgrid(torch.arange(28), torch.arange(28), indexing="ij")
    pattern = ((rows + cols) % 2).float() * 2 - 1  # (28, 28) of -1 and +1
    return (images + amplitude * pattern).clamp(-1, 1)


class MeanBrightness(nn.Module):
    """A 'detector' with a known rule: the logit is 10 x the image's mean pixel (bright = generated)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        return self.scale * x.mean(dim=(1, 2, 3))


def test_detector_gives_one_logit_per_image_and_refuses_other_shapes():
    torch.manual_seed(0)
    det = DigitDetector(width=4)
    assert det(torch.randn(5, 1, 28, 28)).shape == (5,)
    with pytest.raises(ValueError, match=r"DigitDetector expects images of shape \(N, 1, 28, 28\), got \(5, 28, 28\)"):
        det(torch.randn(5, 28, 28))
    with pytest.raises(ValueError, match="width must be a positive int"):
        DigitDetector(width=0)


def test_separable_case_reaches_high_accuracy_on_held_out_images():
    """Real: bars. Generated: the same kind of bars with a faint checkerboard. The detector finds the pattern."""
    real, fake = strokes(200, seed=0), checkered(strokes(200, seed=1))
    det, history = train_detector(real, fake, steps=150, batch_size=32, width=4, seed=0, device="cpu", progress=False)
    score = detector_accuracy(det, strokes(200, seed=2), checkered(strokes(200, seed=3)))
    assert score.accuracy > 0.95, score
    assert score.real_as_real > 0.9 and score.fake_as_fake > 0.9, score
    assert sum(history["loss"][-20:]) / 20 < 0.5 * sum(history["loss"][:20]) / 20, "the loss should fall"
    assert not det.training, "the detector is returned in eval mode"


def test_non_separable_case_stays_near_chance():
    """Real and 'generated' images come from the same distribution: nothing generalises beyond 50%."""
    real, fake = strokes(200, seed=0), strokes(200, seed=1)
    det, _ = train_detector(real, fake, steps=150, batch_size=32, width=4, seed=0, device="cpu", progress=False)
    score = detector_accuracy(det, strokes(300, seed=2), strokes(300, seed=3))
    assert 0.38 < score.accuracy < 0.62, score


def test_history_has_one_row_per_step_and_training_is_seeded():
    real, fake = strokes(32, seed=0), checkered(strokes(48, seed=1))  # sets of different sizes are fine
    runs = [train_detector(real, fake, steps=5, batch_size=8, width=2, seed=3, device="cpu", progress=False)
            for _ in range(2)]
    (a, history), (b, _) = runs
    assert history["step"] == [1, 2, 3, 4, 5]
    assert len(history["loss"]) == len(history["accuracy"]) == 5
    assert all(0 <= acc <= 1 for acc in history["accuracy"])
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters())), "same seed, same detector"
    c, _ = train_detector(real, fake, steps=5, batch_size=8, width=2, seed=4, device="cpu", progress=False)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_detector_accuracy_counts_each_kind_of_mistake():
    det = MeanBrightness()
    real = torch.cat([-torch.ones(3, 1, 28, 28), torch.ones(1, 1, 28, 28)])  # 3 dark (right), 1 bright (false alarm)
    fake = torch.cat([torch.ones(4, 1, 28, 28), -torch.ones(4, 1, 28, 28)])  # 4 bright (caught), 4 dark (missed)
    score = detector_accuracy(det, real, fake)
    assert isinstance(score, DetectorAccuracy)
    assert score.real_as_real == pytest.approx(0.75) and score.fake_as_fake == pytest.approx(0.5)
    assert score.accuracy == pytest.approx((3 + 4) / 12)
    assert score.balanced_accuracy == pytest.approx((0.75 + 0.5) / 2)
    assert (score.n_real, score.n_fake) == (4, 8)
    assert set(score.as_dict()) == {"accuracy", "balanced accuracy", "real judged real", "generated judged generated"}
    probs = fake_probability(det, fake, batch_size=3)  # several batches
    assert probs.shape == (8,) and torch.allclose(probs[:4], torch.sigmoid(torch.tensor(10.0)).expand(4))


def test_bad_arguments_are_refused_with_a_clear_message():
    real, fake = strokes(8), strokes(8, seed=1)
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        train_detector(real, fake, steps=-1, device="cpu")
    with pytest.raises(ValueError, match="batch_size must be an int >= 2"):
        train_detector(real, fake, batch_size=1, device="cpu")
    with pytest.raises(ValueError, match=r"expects generated images of shape \(N, 1, 28, 28\)"):
        train_detector(real, fake[:, 0], device="cpu")
    with pytest.raises(ValueError, match="floating-point"):
        train_detector(real, fake.to(torch.uint8), device="cpu")
    with pytest.raises(ValueError, match="threshold"):
        detector_accuracy(MeanBrightness(), real, fake, threshold=1.0)
