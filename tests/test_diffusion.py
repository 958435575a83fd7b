"""The DDPM: schedule, the closed form of the forward process, the loss, and ancestral sampling (tiny, CPU)."""

import math

import pytest
import torch
from torch import nn

from gancourse import data
from gancourse.diffusion import DDPM, NoisePredictor, linear_betas, timestep_embedding
from gancourse.metrics import mode_metrics
from gancourse.vae import fit

# -- the schedule and the forward process -------------------------------------------------------

def test_linear_betas_follow_ho_et_al_and_scale_with_the_number_of_steps():
    betas = linear_betas(1000)
    assert betas.shape == (1000,) and betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    short = linear_betas(100)
    assert short[0].item() == pytest.approx(1e-3) and short[-1].item() == pytest.approx(0.2)
    for b in (betas, short):  # both chains end close to pure noise
        assert torch.cumprod(1 - b, 0)[-1] < 1e-3
    assert linear_betas(10, beta_start=0.1, beta_end=0.2)[5].item() == pytest.approx(0.1 + 5 * 0.1 / 9)
    assert linear_betas(10)[-1].item() == 0.5  # 0.02 * 100 = 2 would not be a variance: capped
    with pytest.raises(ValueError, match="beta_start"):
        linear_betas(10, beta_start=0.3, beta_end=0.2)


def test_the_schedule_buffers_hold_the_cumulative_products():
    ddpm = DDPM(NoisePredictor((2,), (8,)), steps=5, betas=torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]))
    expected = torch.tensor([0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7, 0.9 * 0.8 * 0.7 * 0.6, 0.9 * 0.8 * 0.7 * 0.6 * 0.5])
    assert torch.allclose(ddpm.alpha_bars, expected)
    assert torch.allclose(ddpm.alpha_bars_prev, torch.cat([torch.ones(1), expected[:-1]]))
    with pytest.raises(ValueError, match="betas"):
        DDPM(NoisePredictor((2,), (8,)), steps=3, betas=torch.tensor([0.1, 1.5, 0.2]))


def test_q_sample_has_the_closed_form_mean_and_variance():
    ddpm = DDPM(NoisePredictor((2,), (8,)), steps=50)
    x0 = torch.tensor([[2.0, -1.0]]).expand(40000, 2)
    for step in (0, 20, 49):
        i = torch.full((40000,), step)
        mean, std = ddpm.q_mean_std(x0, i)
        ab = ddpm.alpha_bars[step].item()
        assert torch.allclose(mean[0], math.sqrt(ab) * x0[0]) and std[0, 0].item() == pytest.approx(math.sqrt(1 - ab))
        xt = ddpm.q_sample(x0, i, torch.randn(40000, 2, generator=torch.Generator().manual_seed(step)))
        assert torch.allclose(xt.mean(0), math.sqrt(ab) * x0[0], atol=0.02)
        assert torch.allclose(xt.var(0), torch.full((2,), 1 - ab), rtol=0.05, atol=1e-3)


def test_q_sample_in_one_go_equals_noising_step_by_step_in_distribution():
    ddpm = DDPM(NoisePredictor((1,), (8,)), steps=10)
    g = torch.Generator().manual_seed(0)
    x = torch.full((40000, 1), 1.5)
    for step in range(4):  # q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t)
        x = (1 - ddpm.betas[step]).sqrt() * x + ddpm.betas[step].sqrt() * torch.randn(x.shape, generator=g)
    ab = ddpm.alpha_bars[3].item()
    assert x.mean().item() == pytest.approx(math.sqrt(ab) * 1.5, abs=0.01)
    assert x.var().item() == pytest.approx(1 - ab, rel=0.05)


# -- the network and the loss ---------------------------------------------------------------------

def test_timestep_embedding_shapes_and_values():
    emb = timestep_embedding(torch.tensor([0, 1, 5]), 8)
    assert emb.shape == (3, 8)
    assert torch.allclose(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))  # cos 0 = 1, sin 0 = 0
    assert emb[1, 0].item() == pytest.approx(math.cos(1.0)) and emb[1, 4].item() == pytest.approx(math.sin(1.0))
    with pytest.raises(ValueError, match="even"):
        timestep_embedding(torch.tensor([0]), 5)


def test_noise_predictor_shapes_and_clear_errors():
    torch.manual_seed(0)
    assert NoisePredictor((2,), (16, 16))(torch.randn(5, 2), torch.arange(5)).shape == (5, 2)
    net = NoisePredictor((1, 28, 28), (16,), time_dim=8)
    assert net(torch.randn(3, 1, 28, 28), torch.tensor([0, 4, 9])).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match=r"NoisePredictor expects noisy data of shape \(N, 1, 28, 28\)"):
        net(torch.randn(3, 784), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="steps of shape"):
        net(torch.randn(3, 1, 28, 28), torch.tensor([0, 1]))


def test_loss_is_the_mean_squared_error_of_the_noise():
    class Zero(nn.Module):  # predicts no noise at all: the loss is E[eps^2] = 1
        data_shape = (3,)

        def forward(self, x, t):
            return torch.zeros_like(x)

    ddpm = DDPM(Zero(), steps=20)
    loss = ddpm.loss(torch.randn(20000, 3), torch.Generator().manual_seed(0))["loss"]
    assert loss.item() == pytest.approx(1, abs=0.02)


# -- sampling ----------------------------------------------------------------------------------------

class ExactNoise(nn.Module):
    """The exact noise predictor of a Gaussian mixture: eps* = (x_t - sqrt(ab) E[x_0 | x_t]) / sqrt(1 - ab)."""

    def __init__(self, mixture, alpha_bars):
        super().__init__()
        self.data_shape = (mixture.dim,)
        self.means, self.var, self.alpha_bars = mixture.means, float(mixture.stds[0]) ** 2, alpha_bars

    def forward(self, x, i):
        ab = self.alpha_bars[i][:, None]  # (N, 1)
        var = ab * self.var + 1 - ab  # variance of x_t given the mode
        offset = x[:, None, :] - ab.sqrt()[:, None] * self.means[None]  # (N, K, D)
        weights = torch.softmax(-offset.pow(2).sum(-1) / (2 * var), dim=1)  # p(mode | x_t)
        x0 = (weights[..., None] * (self.means[None] + (ab.sqrt() * self.var / var)[:, None] * offset)).sum(1)
        return (x - ab.sqrt() * x0) / (1 - ab).sqrt()


@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_ancestral_sampling_with_the_exact_noise_recovers_the_ring(variance):
    ring = data.ring()
    ddpm = DDPM(nn.Identity(), steps=50)
    ddpm.net = ExactNoise(ring, ddpm.alpha_bars)
    samples = ddpm.sample(2000, torch.Generator().manual_seed(0), variance=variance)
    scores = mode_metrics(samples, ring)
    assert scores.modes_captured == 8 and scores.high_quality > 0.97 and scores.reverse_kl < 0.02


def test_the_x0_form_of_a_step_equals_algorithm_2_of_ho_et_al():
    torch.manual_seed(0)
    ddpm = DDPM(NoisePredictor((2,), (8,)), steps=10)
    x, step = torch.randn(6, 2), 6
    i = torch.full((6,), step)
    eps = ddpm.net(x, i)
    ab, prev, beta, alpha = (ddpm.alpha_bars[step], ddpm.alpha_bars_prev[step], ddpm.betas[step], ddpm.alphas[step])
    algorithm_2 = (x - beta / (1 - ab).sqrt() * eps) / alpha.sqrt()
    x0_hat = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
    posterior = (prev.sqrt() * beta * x0_hat + alpha.sqrt() * (1 - prev) * x) / (1 - ab)
    assert torch.allclose(algorithm_2, posterior, atol=1e-5)


def test_sampling_shapes_determinism_clipping_and_errors():
    torch.manual_seed(0)
    ddpm = DDPM(NoisePredictor((1, 4, 4), (8,)), steps=5)
    a = ddpm.sample(3, torch.Generator().manual_seed(1))
    assert a.shape == (3, 1, 4, 4) and torch.equal(a, ddpm.sample(3, torch.Generator().manual_seed(1)))
    assert ddpm.sample(3, torch.Generator().manual_seed(1), clip=(-1, 1)).abs().max() <= 1
    assert ddpm.net.training  # sampling ran in eval mode and left the mode alone
    with pytest.raises(ValueError, match="variance"):
        ddpm.sample(2, variance="fixed")
    with pytest.raises(ValueError, match="positive int"):
        ddpm.sample(0)


def test_training_lowers_the_loss_and_improves_the_samples():
    ring = data.ring(n_modes=4, std=0.05)
    torch.manual_seed(0)
    ddpm = DDPM(NoisePredictor((2,), (32, 32)), steps=20)

    def distance_to_the_modes():  # mean distance of 500 samples to their nearest mode
        samples = ddpm.sample(500, torch.Generator().manual_seed(2))
        return torch.cdist(samples, ring.means).min(dim=1).values.mean().item()

    before = distance_to_the_modes()
    history = fit(ddpm, ring, 300, batch_size=128, lr=3e-3, device="cpu", progress=False)
    assert list(history) == ["loss"] and len(history["loss"]) == 300
    assert sum(history["loss"][-30:]) / 30 < 0.7 * sum(history["loss"][:30]) / 30
    assert distance_to_the_modes() < 0.5 * before
