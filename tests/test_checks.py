"""Tests for gancourse.checks: right solutions pass, and each typical mistake is caught by name.

Everything runs on tiny shapes (4x4 "images", 3 noise dimensions) so the whole file takes seconds.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from gancourse.checks import CheckFailed, CheckReport

SHAPE = (1, 4, 4)  # one tiny grey image
PIXELS = 16
LATENT = 3


# ---------------------------------------------------------------------------------------------
# a right solution, written the way the exercise asks


class Discriminator(nn.Module):
    def __init__(self, out_activation: nn.Module | None = None, squeeze: bool = True):
        super().__init__()
        layers = [nn.Flatten(), nn.Linear(PIXELS, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)]
        if out_activation is not None:
            layers.append(out_activation)
        self.net = nn.Sequential(*layers)
        self.squeeze = squeeze

    def forward(self, x):
        out = self.net(x)  # (N, 1)
        return out.squeeze(1) if self.squeeze else out


TANH = nn.Tanh()  # the right generator's last layer (stateless, so one instance serves every test)


class Generator(nn.Module):
    def __init__(self, out_activation: nn.Module | None = TANH, reshape: bool = True):
        super().__init__()
        layers = [nn.Linear(LATENT, 8), nn.ReLU(), nn.Linear(8, PIXELS)]
        if out_activation is not None:
            layers.append(out_activation)
        self.net = nn.Sequential(*layers)
        self.reshape = reshape

    def forward(self, z):
        out = self.net(z)  # (N, 16)
        return out.view(-1, *SHAPE) if self.reshape else out


def d_loss(real_logits, fake_logits):
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_step(G, D, opt_d, real, z):
    fake = G(z).detach()
    loss = d_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.item()


def generator_step(G, D, opt_g, z):
    loss = g_loss(D(G(z)))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    return loss.item()


def d_step_with(loss_of):
    """A discriminator step written like the right one, but with D's loss ``loss_of(G, D, real, z)``."""
    def step(G, D, opt_d, real, z):
        loss = loss_of(G, D, real, z)
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss.item()

    return step


def g_step_with(loss_of):
    """A generator step written like the right one, but with G's loss ``loss_of(G, D, z)``."""
    def step(G, D, opt_g, z):
        loss = loss_of(G, D, z)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        return loss.item()

    return step


def train_gan(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim, d_step=None, g_step=None):
    d_step, g_step = d_step or discriminator_step, g_step or generator_step
    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        real = real_images[torch.randint(0, len(real_images), (batch_size,))]
        history["d_loss"].append(d_step(G, D, opt_d, real, torch.randn(batch_size, latent_dim)))
        history["g_loss"].append(g_step(G, D, opt_g, torch.randn(batch_size, latent_dim)))
    return history


@pytest.fixture(autouse=True)
def seeded():
    """Every test builds its networks from the same random numbers."""
    torch.manual_seed(0)


@pytest.fixture
def nets():
    torch.manual_seed(0)
    G, D = Generator(), Discriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    real = torch.rand(8, *SHAPE) * 2 - 1
    return G, D, opt_g, opt_d, real


def fails(check, *args, match: str, **kwargs) -> CheckFailed:
    """Run a check that must fail; return its exception after matching its message."""
    with pytest.raises(CheckFailed, match=match) as info:
        check(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------------
# the result objects


def test_check_failed_is_an_assertion_error_carrying_the_hint():
    err = CheckFailed("check_x", "it is wrong", "do this")
    assert isinstance(err, AssertionError)
    assert (err.check, err.problem, err.hint) == ("check_x", "it is wrong", "do this")
    assert "Hint: do this" in str(err)


def test_a_passed_check_returns_a_report_and_prints_each_test(capsys):
    report = checks.check_discriminator(Discriminator(), image_shape=SHAPE)
    assert isinstance(report, CheckReport) and report and report.check == "check_discriminator"
    out = capsys.readouterr().out
    assert out.count("\u2713") == len(report.passed) >= 5
    assert f"all {len(report.passed)} tests passed" in repr(report)


def test_a_failed_check_prints_the_problem_and_the_hint(capsys):
    fails(checks.check_discriminator, Discriminator(out_activation=nn.Sigmoid()), image_shape=SHAPE, match="sigmoid")
    out = capsys.readouterr().out
    assert "\u2717" in out and "Hint:" in out


# ---------------------------------------------------------------------------------------------
# the discriminator


def test_right_discriminator_passes():
    checks.check_discriminator(Discriminator(), image_shape=SHAPE)


def test_discriminator_with_batch_norm_and_dropout_passes():
    D = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                      nn.Linear(8, 1), nn.Flatten(0))
    checks.check_discriminator(D, image_shape=SHAPE)


def test_discriminator_returning_n_by_1_is_rejected():
    err = fails(checks.check_discriminator, Discriminator(squeeze=False), image_shape=SHAPE, match=r"shape \(6, 1\)")
    assert "squeeze" in err.hint


def test_discriminator_returning_probabilities_is_rejected():
    err = fails(checks.check_discriminator, Discriminator(out_activation=nn.Sigmoid()), image_shape=SHAPE,
                match="sigmoid")
    assert "logits" in err.hint


@pytest.mark.parametrize("seed", range(5))
def test_discriminator_ending_in_relu_is_rejected(seed):
    torch.manual_seed(seed)  # some seeds leave every output at 0 (a dead ReLU): also rejected as a ReLU
    fails(checks.check_discriminator, Discriminator(out_activation=nn.ReLU()), image_shape=SHAPE, match="ReLU")


@pytest.mark.parametrize("seed", range(3))
def test_discriminator_ending_in_tanh_is_diagnosed_as_bounded_not_as_never_negative(seed):
    torch.manual_seed(seed)
    err = fails(checks.check_discriminator, Discriminator(out_activation=nn.Tanh()), image_shape=SHAPE,
                match=r"tanh .*squashes the logit into \[-1, 1\]")
    assert "never negative" not in err.problem and "ReLU" not in err.problem
    assert "logits" in err.hint


def test_discriminator_that_is_not_a_module_is_rejected():
    fails(checks.check_discriminator, lambda x: x.flatten(1).sum(1), image_shape=SHAPE, match="not a torch.nn.Module")


def test_discriminator_ignoring_its_input_is_rejected():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.bias.expand(x.shape[0])

    fails(checks.check_discriminator, Constant(), image_shape=SHAPE, match="ignores its input")


def test_discriminator_with_an_unused_layer_is_rejected():
    D = Discriminator()
    D.unused = nn.Linear(3, 3)
    fails(checks.check_discriminator, D, image_shape=SHAPE, match="no gradient.*unused")


def test_unwritten_discriminator_says_so():
    class Todo(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(PIXELS, 1)

        def forward(self, x):
            raise NotImplementedError("your code here")

    err = fails(checks.check_discriminator, Todo(), image_shape=SHAPE, match="not written yet")
    assert "NotImplementedError" in err.hint


def test_discriminator_check_leaves_the_discriminator_unchanged():
    D = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 1),
                      nn.Flatten(0))
    before = {k: v.clone() for k, v in D.state_dict().items()}
    checks.check_discriminator(D, image_shape=SHAPE)
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())
    assert all(p.grad is None for p in D.parameters())


# ---------------------------------------------------------------------------------------------
# the generator


def test_right_generator_passes():
    checks.check_generator(Generator(), LATENT, image_shape=SHAPE)


def test_generator_without_tanh_is_rejected():
    err = fails(checks.check_generator, Generator(out_activation=None), LATENT, image_shape=SHAPE, match=r"\[-1, 1\]")
    assert "Tanh" in err.hint


def test_generator_ending_in_sigmoid_is_rejected():
    err = fails(checks.check_generator, Generator(out_activation=nn.Sigmoid()), LATENT, image_shape=SHAPE,
                match="never go below")
    assert "Tanh" in err.hint


def test_generator_returning_flat_vectors_is_rejected():
    err = fails(checks.check_generator, Generator(reshape=False), LATENT, image_shape=SHAPE, match=r"shape \(6, 16\)")
    assert "view" in err.hint


def test_generator_ignoring_the_noise_is_rejected():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.image = nn.Parameter(torch.zeros(*SHAPE))

        def forward(self, z):
            return torch.tanh(self.image).expand(z.shape[0], *SHAPE)

    fails(checks.check_generator, Constant(), LATENT, image_shape=SHAPE, match="ignores z")


class Clamp(nn.Module):
    def forward(self, x):
        return torch.clamp(x, -1, 1)


@pytest.mark.parametrize("last", [Clamp(), nn.Hardtanh()], ids=["clamp", "hardtanh"])
@pytest.mark.parametrize("seed", range(3))
def test_generator_clipping_its_output_instead_of_tanh_is_rejected(last, seed):
    torch.manual_seed(seed)
    err = fails(checks.check_generator, Generator(out_activation=last), LATENT, image_shape=SHAPE,
                match=r"clipped, not squashed.*no gradient.*clamp\(x, -1, 1\) or nn.Hardtanh")
    assert "nn.Tanh()" in err.hint


@pytest.mark.parametrize("seed", range(3))
def test_generators_ending_in_a_smooth_squash_pass(seed):
    class ScaledSigmoid(nn.Module):  # 2 sigmoid(x) - 1 = tanh(x / 2): a tanh in disguise
        def forward(self, x):
            return 2 * torch.sigmoid(x) - 1

    torch.manual_seed(seed)
    checks.check_generator(Generator(), LATENT, image_shape=SHAPE)
    checks.check_generator(Generator(out_activation=ScaledSigmoid()), LATENT, image_shape=SHAPE)


@pytest.mark.parametrize("extra", [False, True], ids=["replaces-z", "adds-to-z"])
def test_generator_drawing_its_own_noise_is_rejected(extra):
    class OwnNoise(Generator):
        def forward(self, z):
            own = torch.randn_like(z)  # the bug: fresh noise drawn inside G
            return super().forward(z + own if extra else own)

    err = fails(checks.check_generator, OwnNoise(), LATENT, image_shape=SHAPE,
                match="different images for the same noise z.*draws random numbers of its own")
    assert "torch.randn" in err.hint


def test_generator_with_dropout_passes():
    G = nn.Sequential(nn.Linear(LATENT, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, PIXELS), nn.Tanh(),
                      nn.Unflatten(1, SHAPE))
    checks.check_generator(G, LATENT, image_shape=SHAPE)


def test_generator_with_the_wrong_noise_size_is_explained():
    fails(checks.check_generator, Generator(), LATENT + 2, image_shape=SHAPE, match="raised RuntimeError")


def test_generator_check_rejects_a_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim must be a positive int"):
        checks.check_generator(Generator(), 0, image_shape=SHAPE)


# ---------------------------------------------------------------------------------------------
# the losses


def test_right_losses_pass():
    checks.check_losses(d_loss, g_loss)


def test_the_library_losses_the_check_grades_against_pass():
    from gancourse import losses

    checks.check_losses(losses.d_minimax_loss, losses.g_nonsaturating_loss)
    fails(checks.check_losses, losses.d_minimax_loss, losses.g_minimax_loss, match="saturating")


def test_losses_written_with_softplus_or_as_one_joined_batch_pass():
    def d_softplus(r, f):
        return F.softplus(-r).mean() + F.softplus(f).mean()

    def d_joined(r, f):  # the mean over the real and fake batch together: half the sum of two means
        logits = torch.cat([r, f])
        labels = torch.cat([torch.ones_like(r), torch.zeros_like(f)])
        return F.binary_cross_entropy_with_logits(logits, labels)

    checks.check_losses(d_softplus, lambda f: F.softplus(-f).mean())
    checks.check_losses(d_joined, g_loss)


def test_saturating_generator_loss_is_rejected():
    def g_saturating(f):  # E[log(1 - D(G(z)))], minimised by G
        return -F.softplus(f).mean()

    err = fails(checks.check_losses, d_loss, g_saturating, match="saturating")
    assert "non-saturating" in err.hint


def test_generator_loss_with_label_zero_is_rejected():
    fails(checks.check_losses, d_loss, lambda f: F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)),
          match="label 0")


def test_swapped_discriminator_labels_are_rejected():
    err = fails(checks.check_losses, lambda r, f: d_loss(f, r), g_loss, match="labels are swapped")
    assert "label 1" in err.hint


def test_summed_discriminator_loss_is_rejected():
    def d_sum(r, f):
        return F.softplus(-r).sum() + F.softplus(f).sum()

    fails(checks.check_losses, d_sum, g_loss, match="sums over the batch")


def test_double_sigmoid_is_rejected():
    fails(checks.check_losses, lambda r, f: d_loss(torch.sigmoid(r), torch.sigmoid(f)), g_loss, match="sigmoid")


def test_bce_on_logits_is_explained():
    err = fails(checks.check_losses, lambda r, f: F.binary_cross_entropy(r, torch.ones_like(r)), g_loss,
                match="raised")
    assert "binary_cross_entropy_with_logits" in err.hint


def test_losses_through_probabilities_are_rejected_at_extreme_logits():
    def d_probs(r, f):
        return F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r)) + F.binary_cross_entropy(
            torch.sigmoid(f), torch.zeros_like(f))

    def g_probs(f):
        return -torch.log(torch.sigmoid(f)).mean()

    err = fails(checks.check_losses, d_probs, g_probs, match="150")
    assert "from logits" in err.hint


def _detached_leaf(loss):
    """The loss's value in a brand-new tensor that requires a gradient but has no history."""
    return torch.tensor(loss.item(), requires_grad=True)


def test_discriminator_loss_rebuilt_as_a_fresh_leaf_is_rejected():
    err = fails(checks.check_losses, lambda r, f: _detached_leaf(d_loss(r, f)), g_loss,
                match="d_loss is not connected to the logits.*grad_fn is None")
    assert "torch.tensor(value, requires_grad=True)" in err.hint


def test_generator_loss_rebuilt_as_a_fresh_leaf_is_rejected_with_a_message():
    err = fails(checks.check_losses, d_loss, lambda f: _detached_leaf(g_loss(f)),
                match="g_loss is not connected to the logits.*grad_fn is None")
    assert "torch.tensor(value, requires_grad=True)" in err.hint


def test_loss_returned_as_a_float_or_per_example_is_rejected():
    fails(checks.check_losses, lambda r, f: d_loss(r, f).item(), g_loss, match="not a tensor")
    fails(checks.check_losses, lambda r, f: F.softplus(-r) + F.softplus(f), g_loss, match="one loss per example")


# ---------------------------------------------------------------------------------------------
# the discriminator step


def check_d_step(step, nets=None):
    if nets is None:
        return checks.check_discriminator_step(step, latent_dim=LATENT, image_shape=SHAPE)
    G, D, _, opt_d, real = nets
    return checks.check_discriminator_step(step, G, D, opt_d, real, latent_dim=LATENT, image_shape=SHAPE)


def test_right_discriminator_step_passes(nets):
    report = check_d_step(discriminator_step, nets)
    assert any("dry run" in line for line in report.passed)


def test_discriminator_step_with_no_grad_and_a_tensor_result_passes():
    def step(G, D, opt_d, real, z):
        with torch.no_grad():
            fake = G(z)
        loss = d_loss(D(real), D(fake))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss.detach()

    check_d_step(step)


def test_missing_detach_is_caught():
    step = d_step_with(lambda G, D, real, z: d_loss(D(real), D(G(z))))  # no detach: the gradient reaches G
    err = fails(check_d_step, step, match="G's parameters hold gradients")
    assert "detach()" in err.hint


def test_missing_zero_grad_in_discriminator_step_is_caught():
    def step(G, D, opt_d, real, z):
        loss = d_loss(D(real), D(G(z).detach()))
        loss.backward()
        opt_d.step()
        return loss.item()

    err = fails(check_d_step, step, match="left over")
    assert "zero_grad" in err.hint


def test_swapped_labels_in_discriminator_step_are_caught():
    step = d_step_with(lambda G, D, real, z: d_loss(D(G(z).detach()), D(real)))  # real called fake, fake real
    fails(check_d_step, step, match="labels swapped")


def test_discriminator_step_without_optimizer_step_is_caught():
    def step(G, D, opt_d, real, z):
        loss = d_loss(D(real), D(G(z).detach()))
        opt_d.zero_grad()
        loss.backward()
        return loss.item()

    fails(check_d_step, step, match="did not change")


def test_discriminator_step_returning_nothing_is_caught():
    def step(G, D, opt_d, real, z):
        discriminator_step(G, D, opt_d, real, z)

    fails(check_d_step, step, match="not the loss")


def test_discriminator_optimizer_over_both_networks_is_caught(nets):
    G, D, opt_g, _, real = nets
    opt_both = torch.optim.Adam([*G.parameters(), *D.parameters()], lr=1e-3)

    def step(G_, D_, opt_d, real_, z):  # right on the probes; on the learner's networks G gets a gradient
        fake = G_(z) if G_ is G else G_(z).detach()
        loss = d_loss(D_(real_), D_(fake))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss.item()

    with pytest.raises(CheckFailed, match="G's weights changed"):
        checks.check_discriminator_step(step, G, D, opt_both, real, latent_dim=LATENT, image_shape=SHAPE)


def test_unwritten_discriminator_step_says_so():
    def step(G, D, opt_d, real, z):
        raise NotImplementedError

    fails(check_d_step, step, match="not written yet")


# ---------------------------------------------------------------------------------------------
# the generator step


def check_g_step(step, nets=None):
    if nets is None:
        return checks.check_generator_step(step, latent_dim=LATENT, image_shape=SHAPE)
    G, D, opt_g, _, _ = nets
    return checks.check_generator_step(step, G, D, opt_g, latent_dim=LATENT, image_shape=SHAPE)


def test_right_generator_step_passes(nets):
    report = check_g_step(generator_step, nets)
    assert any("dry run" in line for line in report.passed)


def test_generator_step_that_freezes_and_unfreezes_d_passes(nets):
    def step(G, D, opt_g, z):
        D.requires_grad_(False)
        try:
            return generator_step(G, D, opt_g, z)
        finally:
            D.requires_grad_(True)

    check_g_step(step, nets)


def test_saturating_loss_in_generator_step_is_caught():
    step = g_step_with(lambda G, D, z: -F.softplus(D(G(z))).mean())  # E[log(1 - D(G(z)))]
    fails(check_g_step, step, match="saturating")


def test_generator_trained_towards_label_zero_is_caught():
    def towards_zero(G, D, z):
        logits = D(G(z))
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))

    fails(check_g_step, g_step_with(towards_zero), match="label 0")


def test_detach_in_generator_step_is_caught():
    step = g_step_with(lambda G, D, z: g_loss(D(G(z).detach())))  # cuts the path from D back into G
    err = fails(check_g_step, step, match="G's weights did not change")
    assert "detach" in err.hint


def test_missing_zero_grad_in_generator_step_is_caught():
    def step(G, D, opt_g, z):
        loss = g_loss(D(G(z)))
        loss.backward()
        opt_g.step()
        return loss.item()

    fails(check_g_step, step, match="left over")


def test_discriminator_changed_in_generator_step_is_caught(nets):
    G, D, opt_g, opt_d, _ = nets

    def step(G_, D_, opt_g_, z):  # also steps the learner's D optimiser, a copy-paste slip
        loss = g_loss(D_(G_(z)))
        opt_g_.zero_grad()
        opt_d.zero_grad()
        loss.backward()
        opt_g_.step()
        opt_d.step()
        return loss.item()

    fails(check_g_step, step, nets, match="D's weights changed")


def test_generator_optimizer_over_both_networks_is_caught(nets):
    G, D, _, _, _ = nets
    opt_both = torch.optim.SGD([*G.parameters(), *D.parameters()], lr=0.1)
    with pytest.raises(CheckFailed, match="D's weights changed"):
        checks.check_generator_step(generator_step, G, D, opt_both, latent_dim=LATENT, image_shape=SHAPE)


def test_discriminator_left_frozen_is_caught():
    def step(G, D, opt_g, z):
        D.requires_grad_(False)
        return generator_step(G, D, opt_g, z)

    err = fails(check_g_step, step, match="still frozen")
    assert "requires_grad_(True)" in err.hint


# ---------------------------------------------------------------------------------------------
# the training loop


def check_loop(loop):
    return checks.check_training_loop(loop, latent_dim=LATENT, image_shape=SHAPE)


def test_right_training_loop_passes():
    report = check_loop(train_gan)
    assert any("G learned" in line for line in report.passed)


def test_loop_that_returns_nothing_is_caught():
    fails(check_loop, lambda *args: None, match="not a dict")


def test_loop_that_never_trains_d_is_caught():
    def loop(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim):
        return train_gan(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim,
                         d_step=lambda *args: 0.0)

    fails(check_loop, loop, match="D never changed")


def test_loop_with_one_entry_too_few_is_caught():
    def loop(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim):
        return train_gan(G, D, opt_g, opt_d, real_images, steps - 1, batch_size, latent_dim)

    fails(check_loop, loop, match="entries for")


def loop_with(real_batch, d_noise, g_noise, n_steps=None):
    """A training loop whose real batch and two noise batches come from the functions given."""

    def loop(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim):
        history = {"d_loss": [], "g_loss": []}
        fixed = torch.randn(batch_size, latent_dim)
        for _ in range(steps if n_steps is None else n_steps):
            real = real_batch(real_images, batch_size)
            z = d_noise(fixed, batch_size, latent_dim)
            history["d_loss"].append(discriminator_step(G, D, opt_d, real, z))
            history["g_loss"].append(generator_step(G, D, opt_g, g_noise(z, fixed, batch_size, latent_dim)))
        return history

    return loop


def random_batch(real_images, batch_size):
    return real_images[torch.randint(0, len(real_images), (batch_size,))]


def fresh(fixed, batch_size, latent_dim):
    return torch.randn(batch_size, latent_dim)


def fresh_for_g(z, fixed, batch_size, latent_dim):
    return torch.randn(batch_size, latent_dim)


def test_loop_built_from_the_parts_passes():
    report = checks.check_training_loop(loop_with(random_batch, fresh, fresh_for_g), latent_dim=LATENT,
                                        image_shape=SHAPE, steps=237)
    assert any("fresh real batch" in line for line in report.passed)
    assert any("fresh noise" in line for line in report.passed)


def test_loop_that_never_draws_a_fresh_real_batch_is_caught():
    loop = loop_with(lambda real_images, batch_size: real_images[:batch_size], fresh, fresh_for_g)
    err = fails(check_loop, loop, match="same 32 real images at every step.*never draws a fresh real batch")
    assert "torch.randint" in err.hint


def test_loop_with_a_fixed_batch_size_is_caught():
    loop = loop_with(lambda real_images, batch_size: random_batch(real_images, 64), fresh, fresh_for_g)
    fails(check_loop, loop, match="hold 64 images, but .* batch_size = 32")


def test_loop_that_reuses_one_noise_batch_for_every_step_is_caught():
    loop = loop_with(random_batch, lambda fixed, b, d: fixed, lambda z, fixed, b, d: fixed)
    err = fails(check_loop, loop, match="same noise z at every call.*reuses one noise batch")
    assert "torch.randn" in err.hint


def test_loop_that_reuses_one_noise_batch_for_the_g_steps_only_is_caught():
    fails(check_loop, loop_with(random_batch, fresh, lambda z, fixed, b, d: fixed),
          match="every G step gets the same noise z")


def test_loop_that_gives_the_d_step_and_the_g_step_the_same_z_is_caught():
    loop = loop_with(random_batch, fresh, lambda z, fixed, b, d: z)
    err = fails(check_loop, loop, match="the D step and the G step get the same noise z")
    assert "again after the D step" in err.hint


def test_loop_with_a_hard_coded_step_count_is_caught():
    loop = loop_with(random_batch, fresh, fresh_for_g, n_steps=300)  # for step in range(300)
    err = fails(checks.check_training_loop, loop, latent_dim=LATENT, image_shape=SHAPE, steps=237,
                match="has 300 entries for 237 steps")
    assert "range(300)" in err.hint


def test_loop_check_default_step_count_is_unusual():
    import inspect

    assert inspect.signature(checks.check_training_loop).parameters["steps"].default not in (100, 200, 300, 500, 1000)


# ---------------------------------------------------------------------------------------------
# what a check prints fits a notebook's width


def test_printed_lines_fit_in_80_characters(capsys):
    check_d_step(discriminator_step)
    fails(checks.check_losses, d_loss, lambda f: _detached_leaf(g_loss(f)), match="not connected")
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80


# ---------------------------------------------------------------------------------------------
# checks never train the learner's networks, nor move their random numbers


def test_checks_leave_weights_optimisers_and_random_state_as_they_were(nets):
    G, D, opt_g, opt_d, real = nets
    # Give both optimisers some state first, as after a few steps of training.
    discriminator_step(G, D, opt_d, real, torch.randn(8, LATENT))
    generator_step(G, D, opt_g, torch.randn(8, LATENT))
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (G, D)]
    opt_states = [repr(o.state_dict()) for o in (opt_g, opt_d)]
    rng = torch.get_rng_state()
    checks.check_discriminator(D, image_shape=SHAPE)
    checks.check_generator(G, LATENT, image_shape=SHAPE)
    check_d_step(discriminator_step, nets)
    check_g_step(generator_step, nets)
    assert torch.equal(rng, torch.get_rng_state())
    for model, state in zip((G, D), states):
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert [repr(o.state_dict()) for o in (opt_g, opt_d)] == opt_states
