"""The training loop: alternating updates, history, snapshots, the NaN stop, and exact resume."""

import math
import os
import re

import pytest
import torch

from gancourse import data
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.train import HISTORY_KEYS, GANTrainer, TrainConfig, sample_noise


def mlp_trainer(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = TrainConfig(latent_dim=2, batch_size=32, log_every=7, n_fixed=16, seed=seed, **overrides)
    return GANTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg, device="cpu")


def dcgan_trainer(seed=0):
    torch.manual_seed(seed)
    images, _ = data.sklearn_digits()
    cfg = TrainConfig(latent_dim=8, batch_size=16, log_every=4, n_fixed=8, seed=seed, d_steps=2)
    return GANTrainer(DCGANGenerator(8, image_size=8, width=8), DCGANDiscriminator(8, width=8),
                      data.TensorSampler(images), cfg, device="cpu")


def params(module):
    return [p.detach().clone() for p in module.state_dict().values()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_history_has_one_row_per_step():
    t = mlp_trainer()
    history = t.train(20, progress=False)
    assert history["step"] == list(range(1, 21))
    for key in HISTORY_KEYS:
        assert len(history[key]) == 20
    assert all(0 <= a <= 1 for a in history["d_acc_real"] + history["d_acc_fake"])
    assert all(0 < p < 1 for p in history["d_real"] + history["d_fake"])  # probabilities


def test_discriminator_step_leaves_generator_alone_and_vice_versa():
    t = mlp_trainer()
    g_before, d_before = params(t.generator), params(t.discriminator)
    t.discriminator_step()
    assert same(params(t.generator), g_before)
    assert not same(params(t.discriminator), d_before)
    d_after = params(t.discriminator)
    t.generator_step()
    assert same(params(t.discriminator), d_after)
    assert not same(params(t.generator), g_before)
    assert all(p.requires_grad for p in t.discriminator.parameters())  # unfrozen again


def test_k_discriminator_steps_per_generator_step():
    t = mlp_trainer(d_steps=3)
    calls = {"real": 0}
    real = t.real

    def counting(n, gen):
        calls["real"] += 1
        return real(n, gen)

    t.real = counting
    t.train(4, progress=False)
    assert calls["real"] == 12


def test_snapshots_use_fixed_noise_in_eval_mode():
    t = dcgan_trainer()
    t.train(6, snapshot_every=3, progress=False)
    assert sorted(t.snapshots) == [0, 3, 6]
    assert t.snapshots[6].shape == (8, 1, 8, 8)
    assert torch.equal(t.snapshots[6], t.sample(noise=t.fixed_noise).cpu())
    assert t.generator.training  # restored after sampling


def test_clipping_and_gradient_penalty_options():
    t = mlp_trainer(loss="wasserstein", clip_value=0.02, optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5)
    t.train(5, progress=False)
    assert all(p.abs().max() <= 0.02 for p in t.discriminator.parameters())
    t = mlp_trainer(loss="wasserstein", gp_weight=10.0)
    history = t.train(5, progress=False)
    assert all(torch.isfinite(torch.tensor(history["d_loss"])))


def test_uniform_noise_range():
    z = sample_noise(1000, 3, "uniform", torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.95
    with pytest.raises(ValueError, match="noise kind"):
        sample_noise(2, 2, "cauchy")


def test_config_errors():
    with pytest.raises(ValueError, match="unknown loss 'wgan'"):
        TrainConfig(loss="wgan")
    with pytest.raises(ValueError, match="d_steps"):
        TrainConfig(d_steps=0)
    with pytest.raises(ValueError, match="noise"):
        TrainConfig(noise="gaussian")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="learning rates"):
        TrainConfig(lr_g=0)
    with pytest.raises(ValueError, match="steps"):
        mlp_trainer().train(-1)


def test_nan_loss_stops_with_the_step_named():
    t = mlp_trainer()
    ring = t.real

    def poisoned(n, gen):
        x = ring(n, gen)
        return x * float("nan") if t.step >= 9 else x  # step 10 is the first to see NaN

    t.real = poisoned
    with pytest.raises(FloatingPointError, match="diverged at step 10") as err:
        t.train(20, progress=False)
    assert t.history["step"] == list(range(1, 10))  # every finite step is kept, also those of the bad chunk
    message = str(err.value)
    assert "real data hold NaN" in message and "weights, optimisers and step are those after step 14" in message


def test_a_too_large_learning_rate_is_named_and_the_finite_steps_are_kept():
    torch.manual_seed(0)
    cfg = TrainConfig(latent_dim=2, batch_size=32, loss="least_squares", optimizer="sgd", lr_g=10.0, lr_d=10.0,
                      log_every=7)
    t = GANTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg, device="cpu")
    with pytest.raises(FloatingPointError, match="diverged at step") as err:
        t.train(20, progress=False)
    message = str(err.value)
    bad = int(re.search(r"diverged at step (\d+)", message).group(1))
    assert "learning rate too large" in message and "lr_g=10, lr_d=10" in message and "real data" not in message
    assert f"those after step {t.step}" in message and "not usable" in message  # the weights are said to be bad
    assert t.history["step"] == list(range(1, bad)) and len(t.history["d_loss"]) == bad - 1
    assert bad % 7 != 1  # the bad chunk had finite steps before the bad one, and they were kept


class Points:
    """A data source of its own (a TensorSampler refuses NaN up front): a tensor, sampled with replacement."""

    def __init__(self, data):
        self.data = data

    def __call__(self, n, generator):
        return self.data[torch.randint(len(self.data), (n,), generator=generator)]


def test_nan_in_the_data_set_is_named_as_the_cause():
    torch.manual_seed(0)
    points = data.ring().sample(200, torch.Generator().manual_seed(0))
    points[137] = float("nan")  # one bad example among many
    cfg = TrainConfig(latent_dim=2, batch_size=32, log_every=5)
    t = GANTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), Points(points), cfg, device="cpu")
    with pytest.raises(FloatingPointError, match="the real data hold NaN or infinite values"):
        t.train(50, progress=False)
    assert t.history["step"] == list(range(1, len(t.history["step"]) + 1))
    assert all(math.isfinite(v) for v in t.history["d_loss"] + t.history["g_loss"])


def test_a_gan_learns_the_ring():
    torch.manual_seed(1)
    cfg = TrainConfig(latent_dim=2, batch_size=64, lr_g=1e-3, lr_d=1e-3, seed=1)
    t = GANTrainer(MLPGenerator(2, 2, (32, 32)), MLPDiscriminator(2, (32, 32)), data.ring(), cfg, device="cpu")

    def distance_to_circle():
        return (t.sample(1000).norm(dim=1) - 1).abs().median().item()

    before = distance_to_circle()  # the untrained generator's samples sit near the origin
    t.train(400, progress=False)
    after = distance_to_circle()
    assert before > 0.6 and after < 0.35 and after < before / 2


@pytest.mark.parametrize("make", [mlp_trainer, dcgan_trainer])
def test_resume_gives_exactly_the_uninterrupted_parameters(make, tmp_path):
    straight = make()
    straight.train(10, snapshot_every=5, progress=False)

    first = make()
    first.train(6, snapshot_every=5, progress=False)
    path = first.save(tmp_path / "ckpt" / "state.pt")
    resumed = make(seed=123)  # different initial weights and seed: everything must come from the file
    resumed.load(path)
    resumed.train(4, snapshot_every=5, progress=False)

    assert resumed.step == 10
    assert same(params(resumed.generator), params(straight.generator))
    assert same(params(resumed.discriminator), params(straight.discriminator))
    assert resumed.history == straight.history
    assert sorted(resumed.snapshots) == sorted(straight.snapshots)
    assert torch.equal(resumed.snapshots[10], straight.snapshots[10])


def test_checkpoint_loads_with_weights_only(tmp_path):
    t = mlp_trainer()
    t.train(3, progress=False)
    state = torch.load(t.save(tmp_path / "a.pt"), weights_only=True)
    assert state["step"] == 3 and state["config"]["loss"] == "nonsaturating"


def test_checkpoint_of_another_shape_is_refused(tmp_path):
    t = mlp_trainer()
    path = t.save(tmp_path / "small.pt")
    torch.manual_seed(0)
    other = GANTrainer(MLPGenerator(2, 2, (32,)), MLPDiscriminator(2, (16,)), data.ring(),
                       TrainConfig(latent_dim=2), device="cpu")
    with pytest.raises(ValueError, match=r"holds a generator of another shape.*\(16, 2\) vs model \(32, 2\)"):
        other.load(path)


def test_failed_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    t = mlp_trainer()
    path = t.save(tmp_path / "state.pt")
    before = path.read_bytes()
    t.train(3, progress=False)

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        t.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.pt"]  # no temporary file left behind


def test_slerp_keeps_length_where_the_straight_line_shrinks():
    from gancourse.train import slerp

    rng = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 4000, 32, generator=rng)
    assert torch.allclose(slerp(z0, z1, 0.0), z0, atol=1e-5) and torch.allclose(slerp(z0, z1, 1.0), z1, atol=1e-5)
    typical = z0.norm(dim=1).mean()
    assert abs(slerp(z0, z1, 0.5).norm(dim=1).mean() / typical - 1) < 0.02
    assert abs(((z0 + z1) / 2).norm(dim=1).mean() / typical - 2**-0.5) < 0.02
    t = torch.linspace(0, 1, 5)[None, :, None]
    assert slerp(z0[:, None], z1[:, None], t).shape == (4000, 5, 32)
