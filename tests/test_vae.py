"""The variational autoencoder: its two ELBO terms on known cases, shapes, training and sampling (tiny, CPU)."""

import math

import pytest
import torch
from torch import nn

from gancourse import data
from gancourse.recipes import StepSchedule
from gancourse.vae import VAE, fit, gaussian_kl, gaussian_nll, reparameterize

# -- the two terms of the ELBO ----------------------------------------------------------------

def test_kl_is_zero_for_the_prior_and_matches_the_formula():
    assert torch.allclose(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
    # one dimension, mu = 1, sigma^2 = e: 1/2 (1 + e - 1 - 1) = (e - 1) / 2
    kl = gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert kl.item() == pytest.approx((math.e - 1) / 2)
    # it adds over dimensions, and agrees with torch.distributions
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    assert torch.allclose(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_gaussian_nll_matches_the_formula_and_torch_distributions():
    x = torch.tensor([[1.0, 2.0]])
    # at the mean: 1/2 * 2 * log(2 pi s^2); one unit away in each value adds 1/2 * 2 / s^2
    assert gaussian_nll(x, x, 0.5).item() == pytest.approx(math.log(2 * math.pi * 0.25))
    assert gaussian_nll(x, x + 1, 0.5).item() == pytest.approx(math.log(2 * math.pi * 0.25) + 4.0)
    x, mean = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    expected = -torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(x, mean, 0.3), expected, atol=1e-4)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_nll(x, mean[:2], 0.3)
    with pytest.raises(ValueError, match="positive"):
        gaussian_nll(x, mean, 0.0)


def test_reparameterize_has_the_right_moments_and_passes_gradients():
    mu = torch.full((20000, 2), 3.0, requires_grad=True)
    logvar = torch.full((20000, 2), math.log(4.0), requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(3.0, abs=0.05) and z.std().item() == pytest.approx(2.0, abs=0.05)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None and logvar.grad.abs().sum() > 0


# -- the model --------------------------------------------------------------------------------

def test_shapes_for_points_and_images():
    torch.manual_seed(0)
    points = VAE((2,), latent_dim=3, hidden=(8,))
    mu, logvar = points.encode(torch.randn(5, 2))
    assert mu.shape == logvar.shape == (5, 3) and points(torch.randn(5, 2)).shape == (5, 2)
    images = VAE((1, 28, 28), latent_dim=4, hidden=(16, 8), out_activation=nn.Tanh())
    out = images.sample(6)
    assert out.shape == (6, 1, 28, 28) and out.abs().max() <= 1
    terms = images.loss(torch.rand(3, 1, 28, 28) * 2 - 1)
    assert set(terms) == {"loss", "recon", "kl"} and all(v.dim() == 0 for v in terms.values())
    assert torch.allclose(terms["loss"], terms["recon"] + terms["kl"])


def test_wrong_shapes_and_settings_are_refused():
    with pytest.raises(ValueError, match=r"VAE expects data of shape \(N, 1, 28, 28\)"):
        VAE((1, 28, 28), 4, (8,)).loss(torch.randn(3, 784))
    with pytest.raises(ValueError, match="recon_std"):
        VAE((2,), 2, (8,), recon_std=0)
    with pytest.raises(ValueError, match="positive ints"):
        VAE((2,), 0, (8,))
    with pytest.raises(ValueError, match="positive int"):
        VAE((2,), 2, (8,)).sample(0)


def test_loss_is_minus_the_elbo_with_the_same_code():
    torch.manual_seed(0)
    model = VAE((2,), latent_dim=2, hidden=(8,), recon_std=0.2)
    x = torch.randn(4, 2)
    terms = model.loss(x, torch.Generator().manual_seed(3))
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    by_hand = (gaussian_nll(x, model.decode(z), 0.2) + gaussian_kl(mu, logvar)).mean()
    assert torch.allclose(terms["loss"], by_hand)


def test_sampling_is_repeatable_with_a_seed_and_mean_false_adds_the_decoder_noise():
    torch.manual_seed(0)
    model = VAE((2,), latent_dim=2, hidden=(8,), recon_std=0.5)
    a = model.sample(50, torch.Generator().manual_seed(1))
    assert torch.equal(a, model.sample(50, torch.Generator().manual_seed(1)))
    b = model.sample(50, torch.Generator().manual_seed(1), mean=False)
    assert not torch.equal(a, b) and (b - a).std().item() == pytest.approx(0.5, rel=0.3)
    assert model.training  # sampling left the mode alone


# -- training ---------------------------------------------------------------------------------

def test_fit_lowers_the_loss_on_a_tiny_problem_and_is_repeatable():
    ring = data.ring(n_modes=4, std=0.05)

    def run():
        torch.manual_seed(0)
        model = VAE((2,), latent_dim=2, hidden=(16, 16), recon_std=0.1)
        return model, fit(model, ring, 150, batch_size=64, lr=3e-3, seed=0, device="cpu", progress=False)

    model, history = run()
    assert set(history) == {"loss", "recon", "kl"} and len(history["loss"]) == 150
    assert sum(history["loss"][-20:]) / 20 < 0.5 * sum(history["loss"][:20]) / 20
    _, again = run()
    assert again == history


def test_fit_takes_a_tensor_and_a_schedule_and_checks_its_arguments():
    torch.manual_seed(0)
    model = VAE((2,), latent_dim=2, hidden=(8,))
    history = fit(model, torch.randn(100, 2), 10, batch_size=8, schedule=StepSchedule(((0.5, 0.1),)),
                  device="cpu", progress=False)
    assert len(history["kl"]) == 10
    assert fit(model, torch.randn(10, 2), 0, device="cpu", progress=False) == {}
    with pytest.raises(ValueError, match="steps"):
        fit(model, torch.randn(10, 2), -1, device="cpu")
    with pytest.raises(TypeError, match="loss"):
        fit(nn.Linear(2, 2), torch.randn(10, 2), 1, device="cpu")


def test_fit_reports_a_diverged_loss():
    torch.manual_seed(0)
    model = VAE((2,), latent_dim=2, hidden=(8,))
    with pytest.raises(FloatingPointError, match="step 1"):
        fit(model, lambda n, g: torch.full((n, 2), float("nan")), 3, device="cpu", progress=False)
