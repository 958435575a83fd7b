"""Each remedy changes the training it should, and nothing else."""

import math

import pytest
import torch
from torch import nn

from gancourse import data
from gancourse.losses import g_minimax_loss, g_nonsaturating_loss, r1_penalty, weight_penalty
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.remedies import (
    AveragedGeneratorTrainer,
    InstanceNoise,
    InstanceNoiseTrainer,
    PackedDiscriminator,
    PenalizedTrainer,
    UnrolledGANTrainer,
    generator_gradient_norm,
    mode_occupancy,
)
from gancourse.train import GANTrainer, TrainConfig

from helpers import params


def config(**overrides):
    base = dict(latent_dim=2, batch_size=32, log_every=5, n_fixed=16, seed=0, lr_g=1e-3, lr_d=1e-3)
    base.update(overrides)
    return TrainConfig(**base)


def nets(seed=0, d_in=2):
    torch.manual_seed(seed)
    return MLPGenerator(2, 2, (16,)), MLPDiscriminator(d_in, (16,))


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def g_grads(trainer):
    return [p.grad.detach().clone() for p in trainer.generator.parameters()]


def make_twins(cls, **kwargs):
    """A plain trainer and a remedy trainer with identical networks, data and seed."""
    g, d = nets()
    plain = GANTrainer(g, d, data.ring(), config(), device="cpu")
    g, d = nets()
    remedy = cls(g, d, data.ring(), config(), device="cpu", **kwargs)
    return plain, remedy


# -- unrolled GAN ---------------------------------------------------------------------------------

@pytest.mark.parametrize("second_order", [True, False])
def test_unrolled_generator_gradient_differs_from_the_plain_one(second_order):
    plain, unrolled = make_twins(UnrolledGANTrainer, unroll_steps=3, second_order=second_order)
    for t in (plain, unrolled):
        t.discriminator_step()  # D has an optimiser state to unroll from
    d_before = params(unrolled.discriminator)
    opt_state = {k: v.clone() for k, v in unrolled.opt_d.state[next(unrolled.discriminator.parameters())].items()}
    plain.generator_step()
    unrolled.generator_step()
    assert not all(torch.allclose(a, b) for a, b in zip(g_grads(plain), g_grads(unrolled)))
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in g_grads(unrolled))
    # The look-ahead works on a copy: D's weights and its optimiser's state are unchanged.
    assert same(params(unrolled.discriminator), d_before)
    after = unrolled.opt_d.state[next(unrolled.discriminator.parameters())]
    assert all(torch.equal(after[k], v) for k, v in opt_state.items())


def test_zero_unroll_steps_is_the_plain_trainer():
    plain, unrolled = make_twins(UnrolledGANTrainer, unroll_steps=0)
    plain.train(3, progress=False)
    unrolled.train(3, progress=False)
    assert same(params(plain.generator), params(unrolled.generator))
    assert plain.history == unrolled.history


def test_lookahead_reproduces_the_real_adam_updates():
    """With detached samples, k look-ahead steps equal k real Adam steps of D on the same batches."""
    g, d = nets()
    t = UnrolledGANTrainer(g, d, data.ring(), config(), device="cpu", unroll_steps=2, second_order=False)
    t.discriminator_step()
    rng_state = t.rng.get_state()
    ahead = t.lookahead_parameters()
    t.rng.set_state(rng_state)  # replay the same batches with the real optimiser
    for _ in range(2):
        real = t.real(t.config.batch_size, t.rng)
        with torch.no_grad():
            fake = t.generator(t.noise(t.config.batch_size))
        loss = t.loss.d(t.discriminator(real), t.discriminator(fake))
        t.opt_d.zero_grad()
        loss.backward()
        t.opt_d.step()
    for name, p in t.discriminator.named_parameters():
        assert torch.allclose(ahead[name], p, atol=1e-6), name


def test_unrolled_trains_and_records_history():
    g, d = nets()
    t = UnrolledGANTrainer(g, d, data.ring(), config(), device="cpu", unroll_steps=2)
    history = t.train(5, progress=False)
    assert history["step"] == [1, 2, 3, 4, 5]
    assert all(math.isfinite(v) for v in history["g_loss"])
    with pytest.raises(ValueError, match="unroll_steps"):
        UnrolledGANTrainer(*nets(), data.ring(), config(), device="cpu", unroll_steps=-1)


# -- instance noise -------------------------------------------------------------------------------

def test_instance_noise_sigma_decays_linearly_to_zero():
    g, d = nets()
    t = InstanceNoiseTrainer(g, d, data.ring(), config(), device="cpu", sigma_start=0.4, anneal_steps=4)
    seen = []
    for _ in range(6):
        t.train_step()
        seen.append(t.sigma)
    assert seen == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0, 0.0])
    assert isinstance(t.discriminator, InstanceNoise) and t.discriminator.inner is d


def test_discriminator_sees_noisy_inputs_only_in_training_mode():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return x.sum(dim=1)

    wrapped = InstanceNoise(Spy(), sigma_start=0.5, anneal_steps=10, generator=torch.Generator().manual_seed(0))
    x = torch.zeros(2000, 2)
    wrapped(x)
    assert seen[-1].std().item() == pytest.approx(0.5, rel=0.05)
    wrapped.set_step(5)
    wrapped(x)
    assert seen[-1].std().item() == pytest.approx(0.25, rel=0.05)
    wrapped.eval()
    wrapped(x)
    assert torch.equal(seen[-1], x)


def test_instance_noise_changes_training_and_optimises_the_same_weights():
    plain, noisy = make_twins(InstanceNoiseTrainer, sigma_start=0.3, anneal_steps=100)
    inner = noisy.discriminator.inner
    before = params(inner)
    plain.train(3, progress=False)
    noisy.train(3, progress=False)
    assert not same(params(inner), before)  # the optimiser still reaches the wrapped weights
    assert not same(params(plain.discriminator), params(inner))


def test_instance_noise_argument_errors():
    with pytest.raises(ValueError, match="anneal_steps"):
        InstanceNoise(nn.Identity(), 0.1, 0)
    with pytest.raises(ValueError, match="sigma_start"):
        InstanceNoise(nn.Identity(), -0.1, 10)


# -- penalties ------------------------------------------------------------------------------------

def test_r1_of_a_linear_discriminator_is_half_gamma_w_squared():
    lin = nn.Linear(3, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 2.0]]))
    x = torch.randn(10, 3).requires_grad_(True)
    assert r1_penalty(lin(x).squeeze(1), x, gamma=0.5).item() == pytest.approx(0.25 * 9.0)
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(lin(x.detach()).squeeze(1), x.detach(), gamma=1.0)


def test_r1_adds_exactly_its_value_to_the_discriminator_loss():
    """Same batches, same linear D: the penalised loss is the plain one plus gamma/2 ||w||^2."""
    gamma = 4.0
    losses = {}
    for name, kwargs in (("plain", {}), ("r1", {"r1_gamma": gamma})):
        torch.manual_seed(0)
        g, lin = MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, hidden=())  # hidden=(): D(x) = w . x + b
        t = PenalizedTrainer(g, lin, data.ring(), config(), device="cpu", **kwargs)
        w = lin.net[0].weight.detach().clone()
        losses[name] = t.discriminator_step()["d_loss"].item()
    assert losses["r1"] - losses["plain"] == pytest.approx(0.5 * gamma * w.pow(2).sum().item(), rel=1e-5)


def test_weight_penalty_counts_weight_matrices_not_biases():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
        lin.bias.fill_(100.0)
    assert weight_penalty(lin, 0.1).item() == pytest.approx(0.05 * 25.0)
    with pytest.raises(ValueError, match="no weight matrix"):
        weight_penalty(nn.BatchNorm1d(3), 0.1)


def test_weight_penalty_shrinks_the_discriminator():
    plain, decayed = make_twins(PenalizedTrainer, weight_decay=1.0)
    plain.train(30, progress=False)
    decayed.train(30, progress=False)
    norm = lambda d: sum(p.pow(2).sum() for p in d.parameters() if p.dim() >= 2).item()  # noqa: E731
    assert norm(decayed.discriminator) < norm(plain.discriminator)


def test_penalized_trainer_keeps_the_statistics_format():
    g, d = nets()
    t = PenalizedTrainer(g, d, data.ring(), config(gp_weight=1.0, loss="wasserstein"), device="cpu", r1_gamma=1.0)
    stats = t.discriminator_step()
    assert sorted(stats) == ["d_acc_fake", "d_acc_real", "d_fake", "d_loss", "d_real"]
    assert all(v.shape == () and torch.isfinite(v) for v in stats.values())
    history = t.train(4, progress=False)
    assert len(history["d_loss"]) == 4 and all(0 <= a <= 1 for a in history["d_acc_real"])
    with pytest.raises(ValueError, match="r1_gamma"):
        PenalizedTrainer(*nets(), data.ring(), config(), device="cpu", r1_gamma=-1.0)


# -- packing --------------------------------------------------------------------------------------

def test_packing_makes_the_discriminator_input_m_times_wider():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.shape)
            return x[:, 0]

    packed = PackedDiscriminator(Spy(), pack=3)
    x = torch.arange(12.0).reshape(6, 2)
    out = packed(x)
    assert seen[-1] == (2, 6) and out.shape == (2,)
    assert torch.equal(out, torch.tensor([0.0, 6.0]))  # pack 0 holds samples 0-2, pack 1 samples 3-5
    packed(torch.zeros(6, 1, 8, 8))
    assert seen[-1] == (2, 3, 8, 8)  # images stack along the channels
    with pytest.raises(ValueError, match="multiple of 3"):
        packed(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="pack"):
        PackedDiscriminator(Spy(), pack=0)


def test_packed_gan_trains():
    torch.manual_seed(0)
    d = PackedDiscriminator(MLPDiscriminator(4, (16,)), pack=2)
    t = GANTrainer(MLPGenerator(2, 2, (16,)), d, data.ring(), config(), device="cpu")
    history = t.train(3, progress=False)
    assert len(history["d_loss"]) == 3 and all(math.isfinite(v) for v in history["d_loss"])


# -- averaged generator ---------------------------------------------------------------------------

def test_averaged_generator_is_a_moving_average_and_sampling_uses_it():
    g, d = nets()
    t = AveragedGeneratorTrainer(g, d, data.ring(), config(), device="cpu", ema_decay=0.5)
    live_before, avg_before = params(t.generator), params(t.averaged_generator)
    assert same(live_before, avg_before)
    t.train_step()
    for a0, live, avg in zip(avg_before, t.generator.parameters(), t.averaged_generator.parameters()):
        assert torch.allclose(avg, 0.5 * a0 + 0.5 * live.detach())
    assert not same(params(t.averaged_generator), params(t.generator))
    z = torch.randn(5, 2)
    assert torch.equal(t.sample(noise=z), t.averaged_generator(z))
    assert not torch.equal(t.sample(noise=z), t.generator(z).detach())
    assert all(not p.requires_grad for p in t.averaged_generator.parameters())


def test_averaged_generator_survives_a_checkpoint(tmp_path):
    g, d = nets()
    t = AveragedGeneratorTrainer(g, d, data.ring(), config(), device="cpu", ema_decay=0.9)
    t.train(4, progress=False)
    path = t.save(tmp_path / "avg.pt")
    g2, d2 = nets(seed=5)
    other = AveragedGeneratorTrainer(g2, d2, data.ring(), config(), device="cpu", ema_decay=0.9).load(path)
    assert same(params(other.averaged_generator), params(t.averaged_generator))
    with pytest.raises(ValueError, match="ema_decay"):
        AveragedGeneratorTrainer(*nets(), data.ring(), config(), device="cpu", ema_decay=1.0)


# -- diagnostics ----------------------------------------------------------------------------------

def test_generator_gradient_norm_saturates_only_for_the_minimax_loss():
    """Against a D that rejects every fake with a huge logit, the saturating loss gives no gradient."""
    torch.manual_seed(0)
    g = MLPGenerator(2, 2, (16,))
    d = MLPDiscriminator(2, hidden=())
    with torch.no_grad():
        d.net[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        d.net[0].bias.fill_(-30.0)  # D(G(z)) = sigmoid(x1 - 30), about 1e-13
    t = GANTrainer(g, d, data.ring(), config(), device="cpu")
    rng_before = t.rng.get_state()
    saturating = generator_gradient_norm(t, loss=g_minimax_loss)
    modified = generator_gradient_norm(t, loss=g_nonsaturating_loss)
    assert saturating < 1e-8 < 0.1 < modified
    assert torch.equal(t.rng.get_state(), rng_before)  # measuring does not change the run
    assert all(p.grad is None for p in g.parameters()) and all(p.requires_grad for p in d.parameters())


def test_mode_occupancy_shows_one_mode_per_snapshot_for_a_collapsed_generator():
    ring = data.ring()
    snaps = {0: ring.means[[2]].repeat(10, 1), 5: torch.cat([ring.means[[4]].repeat(5, 1), torch.full((5, 2), 9.0)])}
    steps, shares = mode_occupancy(snaps, ring)
    assert steps == [0, 5] and shares.shape == (8, 2)
    assert shares[2, 0] == 1 and shares[:, 0].sum() == 1
    assert shares[4, 1] == 0.5 and shares[:, 1].sum() == 0.5  # the 5 far-away samples count nowhere
    with pytest.raises(ValueError, match="snapshots"):
        mode_occupancy({}, ring)


# -- counting covered modes and the Dirac GAN -------------------------------------------------------

def test_modes_per_snapshot_counts_modes_above_the_share():
    from gancourse.remedies import modes_per_snapshot

    shares = torch.tensor([[0.5, 0.01, 0.25], [0.5, 0.99, 0.25], [0.0, 0.0, 0.5]])  # (K = 3, T = 3)
    assert modes_per_snapshot(shares).tolist() == [2, 1, 3]
    assert modes_per_snapshot(shares, share=0.3).tolist() == [2, 1, 1]
    with pytest.raises(ValueError, match=r"\(K, T\)"):
        modes_per_snapshot(torch.zeros(3))
    with pytest.raises(ValueError, match="share"):
        modes_per_snapshot(shares, share=0.0)


def test_dirac_gan_parts_have_the_right_shapes_and_values():
    from gancourse.dirac import LinearDiscriminator, PointGenerator, dirac_data

    g, d = PointGenerator(theta=0.5), LinearDiscriminator(psi=2.0)
    x = g(torch.randn(4, 1))
    assert x.shape == (4, 1) and torch.all(x == 0.5)
    assert torch.equal(d(x), torch.full((4,), 1.0))  # D(x) = psi * x
    assert torch.equal(dirac_data(3), torch.zeros(3, 1))
    assert [p.dim() for p in d.parameters()] == [2]  # psi is a weight matrix, so the weight penalty sees it
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        d(torch.zeros(4))
    with pytest.raises(ValueError, match="positive int"):
        dirac_data(0)


def test_dirac_gan_circles_without_a_remedy_and_r1_equals_the_weight_penalty_there():
    """Mescheder et al. (2018): alternating SGD on the Dirac GAN keeps circling; R1 = weight penalty there."""
    from gancourse.dirac import LinearDiscriminator, PointGenerator, dirac_data

    cfg = TrainConfig(latent_dim=1, batch_size=4, loss="minimax", optimizer="sgd", lr_g=0.1, lr_d=0.1, seed=0,
                      log_every=50)
    plain = GANTrainer(PointGenerator(), LinearDiscriminator(), dirac_data, cfg, device="cpu")
    r1 = PenalizedTrainer(PointGenerator(), LinearDiscriminator(), dirac_data, cfg, device="cpu", r1_gamma=0.3)
    wd = PenalizedTrainer(PointGenerator(), LinearDiscriminator(), dirac_data, cfg, device="cpu", weight_decay=0.3)
    for t in (plain, r1, wd):
        t.train(400, progress=False)
    radius = lambda t: math.hypot(t.generator.theta.item(), t.discriminator.psi.item())  # noqa: E731
    assert radius(plain) > 0.9  # still about sqrt(2) from the equilibrium
    assert radius(r1) < 0.05
    assert math.isclose(radius(r1), radius(wd), rel_tol=1e-4, abs_tol=1e-7)


def test_dirac_path_exact_gradients():
    """Exact-gradient Dirac GAN: simultaneous steps grow the distance by sqrt(1 + h^2 sigma(psi theta)^2),
    alternating steps circle, R1 converges; the gradients match the formulas."""
    from gancourse.dirac import dirac_gradients, dirac_path

    g, d = dirac_gradients(1.0, 1.0)
    s = torch.sigmoid(torch.tensor(1.0, dtype=torch.float64)).item()
    assert abs(g - (-s)) < 1e-12 and abs(d - s) < 1e-12  # dL_G/dtheta = -psi sigma(psi theta), dL_D/dpsi = theta sigma
    sim = dirac_path("simultaneous", steps=50)
    r = sim.norm(dim=1)
    factor = 1 + 0.2**2 * torch.sigmoid(sim[:-1, 0] * sim[:-1, 1]) ** 2
    assert torch.allclose(r[1:] ** 2, r[:-1] ** 2 * factor, rtol=1e-10)
    alt = dirac_path("alternating", steps=300).norm(dim=1)
    assert 0.9 * alt[0] < alt.min() and alt.max() < 1.1 * alt[0]
    assert dirac_path("simultaneous", steps=400, r1_gamma=0.3).norm(dim=1)[-1] < 0.01
    with pytest.raises(ValueError, match="order"):
        dirac_path("random")
    with pytest.raises(ValueError, match="r1_gamma"):
        dirac_gradients(0.0, 0.0, r1_gamma=-1.0)
