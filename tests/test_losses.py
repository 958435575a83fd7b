"""Golden values worked out by hand, stability at extreme logits, and where each gradient goes."""

import math

import pytest
import torch

from gancourse import losses
from gancourse.models import MLPDiscriminator, MLPGenerator

LN3 = math.log(3.0)  # sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25


def t(*values):
    return torch.tensor(values, dtype=torch.float32)


def test_d_minimax_golden():
    # D(x) = 0.5 and D(G(z)) = 0.5: -log 0.5 - log 0.5 = 2 log 2
    assert losses.d_minimax_loss(t(0.0), t(0.0)).item() == pytest.approx(2 * math.log(2))
    # D(x) = 0.75, D(G(z)) = 0.25: -log 0.75 - log 0.75
    assert losses.d_minimax_loss(t(LN3), t(-LN3)).item() == pytest.approx(-2 * math.log(0.75), rel=1e-6)
    # batch mean: real logits give D = 0.75 and 0.25
    expected = (-math.log(0.75) - math.log(0.25)) / 2 + (-math.log(0.75))
    assert losses.d_minimax_loss(t(LN3, -LN3), t(-LN3)).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_golden():
    # D(G(z)) = 0.25: saturating loss log(1 - 0.25), non-saturating -log 0.25
    assert losses.g_minimax_loss(t(-LN3)).item() == pytest.approx(math.log(0.75), rel=1e-6)
    assert losses.g_nonsaturating_loss(t(-LN3)).item() == pytest.approx(-math.log(0.25), rel=1e-6)


def test_wasserstein_golden():
    assert losses.wasserstein_critic_loss(t(1.0, 3.0), t(0.5, -0.5)).item() == pytest.approx(-2.0)
    assert losses.wasserstein_generator_loss(t(1.0, 2.0)).item() == pytest.approx(-1.5)


def test_least_squares_and_hinge_golden():
    assert losses.d_least_squares_loss(t(1.0, 0.0), t(0.0, 1.0)).item() == pytest.approx(0.5)
    assert losses.g_least_squares_loss(t(0.0, 1.0)).item() == pytest.approx(0.25)
    assert losses.d_hinge_loss(t(2.0, 0.5), t(-2.0, 0.0)).item() == pytest.approx(0.75)
    assert losses.g_hinge_loss(t(-2.0, 0.0)).item() == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_extreme_logits_give_finite_losses_and_gradients(name):
    pair = losses.get_loss(name)
    real = t(1000.0, -1000.0).requires_grad_(True)
    fake = t(-1000.0, 1000.0).requires_grad_(True)
    d_loss = pair.d(real, fake)
    g_loss = pair.g(fake)
    (d_loss + g_loss).backward()
    for value in (d_loss, g_loss, real.grad, fake.grad):
        assert torch.isfinite(value).all()


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    # When D confidently rejects a fake (logit -10), the saturating loss barely moves G.
    logit = t(-10.0).requires_grad_(True)
    losses.g_minimax_loss(logit).backward()
    saturating = logit.grad.abs().item()
    logit.grad = None
    losses.g_nonsaturating_loss(logit).backward()
    nonsaturating = logit.grad.abs().item()
    assert saturating < 1e-4 < 0.99 < nonsaturating


def test_clip_weights():
    d = MLPDiscriminator(2, (8,))
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(100)
    losses.clip_weights(d, 0.05)
    assert all(p.abs().max() <= 0.05 for p in d.parameters())
    with pytest.raises(ValueError, match="clip_value"):
        losses.clip_weights(d, 0.0)


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.6, 0.0], [1.0, 0.0]])
def test_gradient_penalty_of_linear_critic_is_exact(w):
    w = torch.tensor(w)

    def critic(x):
        return x @ w

    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    penalty = losses.gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx((w.norm().item() - 1) ** 2, abs=1e-6)


def test_gradient_penalty_is_per_sample_on_images():
    # C(x) = sum of pixels * 0.5 -> gradient norm per sample = 0.5 * sqrt(#pixels)
    real, fake = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    penalty = losses.gradient_penalty(lambda x: 0.5 * x.flatten(1).sum(1), real, fake)
    assert penalty.item() == pytest.approx((0.5 * 3 - 1) ** 2, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(lambda x: x.sum(1), torch.randn(4, 2), torch.randn(3, 2))


def test_gradient_penalty_reaches_critic_parameters():
    critic = MLPDiscriminator(2, (8,))
    penalty = losses.gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2))
    penalty.backward()
    grads = [p.grad for p in critic.parameters() if p.dim() == 2]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_generator_loss_reaches_generator_only_through_discriminator(name):
    torch.manual_seed(0)
    g, d = MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,))
    d.requires_grad_(False)
    losses.get_loss(name).g(d(g(torch.randn(16, 2)))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert all(p.grad is None for p in d.parameters())


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_discriminator_loss_reaches_discriminator_and_not_generator(name):
    torch.manual_seed(0)
    g, d = MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,))
    fake = g(torch.randn(16, 2)).detach()
    losses.get_loss(name).d(d(torch.randn(16, 2)), d(fake)).backward()
    assert all(p.grad is not None for p in d.parameters())
    # weight matrices (a bias gradient can cancel exactly, e.g. the hinge's last bias)
    assert all(p.grad.abs().sum() > 0 for p in d.parameters() if p.dim() == 2)
    assert all(p.grad is None for p in g.parameters())


# -- the derivative each generator loss hands back to D's output ------------------------------------

G_LOSSES = {name: pair.g for name, pair in losses.LOSSES.items()}  # the five generator losses, by name


def test_generator_loss_gradients_match_the_formulas():
    outputs = torch.tensor([-6.0, -1.0, 0.0, 2.0])
    p = torch.sigmoid(outputs)
    grads = losses.generator_loss_gradients(G_LOSSES, outputs)
    assert set(grads) == set(G_LOSSES)
    # d/do log(1 - sigmoid(o)) = -p ; d/do -log sigmoid(o) = -(1 - p)
    assert torch.allclose(grads["minimax"], -p, atol=1e-6)
    assert torch.allclose(grads["nonsaturating"], -(1 - p), atol=1e-6)
    assert torch.allclose(grads["wasserstein"], -torch.ones(4))
    assert torch.allclose(grads["hinge"], -torch.ones(4))
    assert torch.allclose(grads["least_squares"], outputs - 1)
    # per element, not divided by the batch size, and the input is left untouched
    assert not outputs.requires_grad


def test_saturating_gradient_is_small_where_d_rejects_the_fakes():
    grads = losses.generator_loss_gradients(G_LOSSES, torch.logit(torch.tensor([1e-3])))
    assert grads["minimax"].abs().item() < 2e-3 < 0.99 < grads["nonsaturating"].abs().item()


def test_generator_loss_gradients_refuses_bad_outputs():
    with pytest.raises(ValueError, match="outputs"):
        losses.generator_loss_gradients(G_LOSSES, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="outputs"):
        losses.generator_loss_gradients(G_LOSSES, torch.zeros(0))


def test_loss_table_says_which_outputs_are_probabilities_and_where_d_calls_real():
    assert {name for name, pair in losses.LOSSES.items() if pair.outputs_probability} == {"minimax", "nonsaturating"}
    # least squares regresses D's output to 1 (real) and 0 (fake): it calls a sample real above 0.5
    assert {name: pair.threshold for name, pair in losses.LOSSES.items()} == {
        "minimax": 0.0, "nonsaturating": 0.0, "wasserstein": 0.0, "least_squares": 0.5, "hinge": 0.0}
    assert all(pair.name == name for name, pair in losses.LOSSES.items())


def test_get_loss_names():
    assert losses.get_loss("modified_minimax") is losses.LOSSES["nonsaturating"]
    with pytest.raises(ValueError, match="unknown loss 'wgan'.*minimax"):
        losses.get_loss("wgan")
