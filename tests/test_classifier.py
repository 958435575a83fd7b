"""Tests of the digit classifier: shapes, input checks, the shared split and the shipped weights."""

import pytest
import torch

from gancourse.classifier import (
    HELD_OUT_PER_CLASS,
    DigitClassifier,
    check_digit_images,
    digit_split,
    load_digit_classifier,
)
from gancourse.data import mnist_digits


@pytest.fixture(scope="module")
def digits():
    return mnist_digits()


def test_shapes_of_logits_and_features():
    model = DigitClassifier().eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert model.logits(x).shape == (3, 10)
    assert model(x).shape == (3, 10)
    assert model.features(x).shape == (3, model.num_features) == (3, 128)


@pytest.mark.parametrize("shape", [(1, 28, 28), (4, 28, 28), (4, 3, 28, 28), (4, 1, 32, 32), (0, 1, 28, 28)])
def test_wrong_shape_names_the_expected_one(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        DigitClassifier().features(torch.zeros(shape))


def test_non_float_and_non_tensor_inputs_are_refused():
    with pytest.raises(ValueError, match="floating-point"):
        check_digit_images(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="torch.Tensor"):
        check_digit_images([[0.0]])


def test_split_is_stratified_disjoint_and_seeded(digits):
    _, labels = digits
    train, held = digit_split(labels)
    assert len(train) == 4000 and len(held) == 1000
    assert len(set(train.tolist()) & set(held.tolist())) == 0
    assert torch.equal(torch.bincount(labels[held], minlength=10), torch.full((10,), HELD_OUT_PER_CLASS))
    again_train, again_held = digit_split(labels)
    assert torch.equal(held, again_held) and torch.equal(train, again_train)
    _, other_held = digit_split(labels, seed=1)
    assert not torch.equal(held, other_held)


def test_split_refuses_too_small_classes():
    with pytest.raises(ValueError, match="class 1"):
        digit_split(torch.tensor([0] * 10 + [1] * 3), held_out_per_class=5)


def test_shipped_weights_load_in_eval_mode_and_are_cached():
    model = load_digit_classifier()
    assert isinstance(model, DigitClassifier)
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert load_digit_classifier() is model
    assert load_digit_classifier("cpu") is model


def test_held_out_accuracy_is_at_least_97_percent(digits):
    images, labels = digits
    _, held = digit_split(labels)
    model = load_digit_classifier()
    with torch.no_grad():
        pred = model.logits(images[held]).argmax(dim=1)
    accuracy = (pred == labels[held]).float().mean().item()
    assert accuracy >= 0.97, accuracy


def test_float64_images_are_refused_by_name_not_deep_in_a_convolution():
    with pytest.raises(ValueError, match=r"DigitClassifier expects images of dtype torch.float32.*got torch.float64"):
        DigitClassifier().features(torch.zeros(2, 1, 28, 28, dtype=torch.float64))
