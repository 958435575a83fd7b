"""The recipes: the ring builder, the step schedule, the command line's recipes, runs over many seeds
and the seed summaries."""

import math
from dataclasses import replace

import pytest
import torch

from gancourse import data
from gancourse.metrics import ModeMetrics
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.recipes import (
    BEST_MIXTURE_RECIPES,
    MIXTURE_CONFIG,
    RECIPES,
    STEP_DECAY,
    MixtureRecipe,
    StepSchedule,
    make_trainer,
    mean_se,
    mlp_gan,
    seed_summary,
    summary_table,
    train_recipe,
    train_recipes,
    verdict,
)
from gancourse.remedies import PackedDiscriminator, UnrolledGANTrainer
from gancourse.train import GANTrainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# -- the MLP GAN on 2-D points ---------------------------------------------------------------------

def test_mlp_gan_builds_the_course_networks_from_the_config_seed():
    cfg = TrainConfig(latent_dim=3, batch_size=8, seed=5)
    t = mlp_gan("ring", cfg, g_hidden=(16, 8), device="cpu")
    assert isinstance(t, GANTrainer) and isinstance(t.real, data.GaussianMixture) and t.config is cfg
    assert isinstance(t.generator, MLPGenerator) and t.generator.latent_dim == 3
    assert t.sample(4).shape == (4, 2) and t.discriminator(torch.zeros(4, 2)).shape == (4,)
    widths = [m.out_features for m in t.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [16, 8, 1]  # D takes G's widths unless given its own
    torch.manual_seed(5)
    by_hand = MLPGenerator(3, 2, (16, 8))
    assert all(torch.equal(a, b) for a, b in zip(by_hand.parameters(), t.generator.parameters()))
    again = mlp_gan(data.ring(), cfg, g_hidden=(16, 8), device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(again.discriminator.parameters(), t.discriminator.parameters()))


def test_mlp_gan_packs_and_takes_a_remedy_trainer():
    cfg = TrainConfig(latent_dim=2, batch_size=8)
    t = mlp_gan(data.grid(), cfg, g_hidden=(8,), d_hidden=(4,), pack=2, trainer=UnrolledGANTrainer, device="cpu",
                unroll_steps=1)
    assert isinstance(t, UnrolledGANTrainer) and t.unroll_steps == 1
    assert isinstance(t.discriminator, PackedDiscriminator)
    assert isinstance(t.discriminator.inner, MLPDiscriminator) and t.discriminator.inner.in_dim == 4
    t.train(1, progress=False)
    assert t.step == 1


# -- the step schedule -----------------------------------------------------------------------------

def test_step_schedule_factors_and_checks():
    s = StepSchedule(((0.5, 0.1), (0.75, 0.01)))
    assert [s.factor(step, 100) for step in (0, 49, 50, 74, 75, 99)] == [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    assert s.factor(100, 200) == 0.1  # fractions of the run: a longer run stretches the schedule
    assert StepSchedule().factor(10, 20) == 1.0
    assert STEP_DECAY.factor(599, 1000) == 1.0 and STEP_DECAY.factor(600, 1000) == 0.2
    assert STEP_DECAY.factor(900, 1000) == 0.05
    with pytest.raises(ValueError, match="increase strictly within"):
        StepSchedule(((0.5, 0.1), (0.5, 0.01)))
    with pytest.raises(ValueError, match="increase strictly within"):
        StepSchedule(((1.0, 0.1),))
    with pytest.raises(ValueError, match="factors must be positive"):
        StepSchedule(((0.5, 0.0),))


def test_the_schedule_sets_the_rates_with_set_lr_scale_at_the_right_steps(monkeypatch):
    cfg = TrainConfig(latent_dim=2, batch_size=8, lr_g=1e-3, lr_d=2e-3)
    t = mlp_gan("ring", cfg, g_hidden=(8,), device="cpu")
    calls = []
    set_lr_scale = t.set_lr_scale
    monkeypatch.setattr(t, "set_lr_scale", lambda f: (calls.append((t.step, f)), set_lr_scale(f)))
    rates = []
    schedule = StepSchedule(((0.4, 0.5), (0.8, 0.1)))
    schedule.apply(t, 10)
    callback = schedule.callback(10)
    t.train(10, callback=lambda tr: (callback(tr), rates.append(tr.opt_d.param_groups[0]["lr"])), progress=False)
    assert calls == [(0, 1.0), (4, 0.5), (8, 0.1)]  # once at the start, then where a milestone begins
    assert rates == pytest.approx([2e-3] * 3 + [1e-3] * 4 + [2e-4] * 3)  # D's rate for the step after each
    assert t.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4)


# -- the command line's recipes ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_builds_a_trainer_that_takes_a_step(name):
    torch.manual_seed(0)
    trainer = make_trainer(name, device="cpu", batch_size=4, n_fixed=10 if name == "conditional" else 4)
    assert isinstance(trainer, GANTrainer)
    fake = trainer.sample(noise=trainer.fixed_noise)
    expected = {"points": (2,), "images": (1, 8, 8) if name == "digits" else (1, 28, 28)}[RECIPES[name].kind]
    assert tuple(fake.shape[1:]) == expected
    trainer.train(1, progress=False)
    assert trainer.step == 1 and len(trainer.history["d_loss"]) == 1


def test_the_schedule_sets_the_learning_rates():
    ring = RECIPES["ring"]
    trainer = make_trainer("ring", device="cpu", batch_size=4)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(ring.config.lr_g)
    last_fraction, last_factor = ring.schedule.milestones[-1]
    trainer.step = round(last_fraction * ring.steps)
    ring.schedule.apply(trainer, ring.steps)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(ring.config.lr_d * last_factor)
    # the ring recipe's decays fall where they always did: steps 2000 and 3000 of 4000
    assert [round(f * ring.steps) for f, _ in ring.schedule.milestones] == [2000, 3000]
    grid = RECIPES["grid"]
    assert [round(f * grid.steps) for f, _ in grid.schedule.milestones] == [3000, 5000]


def test_make_trainer_refuses_an_unknown_recipe():
    with pytest.raises(ValueError, match="unknown recipe 'cifar'"):
        make_trainer("cifar", device="cpu")


# -- mixture recipes and runs over many seeds -------------------------------------------------------

def test_mixture_recipe_holds_a_train_config():
    base = MixtureRecipe("base", replace(MIXTURE_CONFIG, batch_size=64))
    wgan = base.variant(name="WGAN-GP", loss="wasserstein", gp_weight=0.1, pack=2)
    assert (wgan.name, wgan.config.loss, wgan.config.gp_weight, wgan.pack) == ("WGAN-GP", "wasserstein", 0.1, 2)
    assert wgan.config.batch_size == 64 and base.config.loss == "nonsaturating"
    t = wgan.build(data.ring(), seed=3, device="cpu")
    assert t.config.seed == 3 and isinstance(t.discriminator, PackedDiscriminator)
    best, steps = BEST_MIXTURE_RECIPES["ring"]
    assert best.schedule is STEP_DECAY and best.config.lr_d == 4e-3 and steps == 8000
    with pytest.raises(ValueError, match="pack must be a positive int dividing batch_size"):
        base.variant(pack=3)
    with pytest.raises(ValueError, match="trainer must be GANTrainer"):
        MixtureRecipe("bad", trainer=dict)


def test_train_recipe_follows_the_schedule():
    recipe = MixtureRecipe("decay", MIXTURE_CONFIG, g_hidden=(8,), d_hidden=(8,), schedule=STEP_DECAY)
    result = train_recipe(recipe, data.ring(), 20, 0, n_samples=50, device="cpu")
    assert result.trainer.step == 20 and result.samples.shape == (50, 2)
    assert result.trainer.opt_g.param_groups[0]["lr"] == pytest.approx(MIXTURE_CONFIG.lr_g * 0.05)


def test_train_recipes_in_worker_processes_matches_training_here():
    """Two worker processes (one thread each) give exactly the runs trained one by one in this process."""
    recipe = MixtureRecipe("small", replace(MIXTURE_CONFIG, batch_size=64), g_hidden=(32,), d_hidden=(32,))
    jobs = [(recipe, data.ring(), 300, seed) for seed in (0, 1, 2)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = [train_recipe(*job, n_samples=300) for job in jobs]
    finally:
        torch.set_num_threads(threads)
    there = train_recipes(jobs, workers=2, n_samples=300, progress=False)
    for a, b in zip(there, here):
        assert torch.equal(a.samples, b.samples)
        assert (a.metrics.modes_captured, a.metrics.high_quality) == (b.metrics.modes_captured, b.metrics.high_quality)
        assert a.trainer.step == 300
    assert max(r.metrics.modes_captured for r in there) >= 1  # 300 steps train something real
    assert not torch.equal(there[0].samples, there[1].samples)  # the seeds differ


def test_train_recipes_rejects_bad_jobs():
    with pytest.raises(ValueError, match=r"jobs\[0\] must be a tuple \(recipe, mixture, steps, seed\)"):
        train_recipes([("not a recipe", data.ring(), 10, 0)])
    with pytest.raises(ValueError, match="workers must be a positive int"):
        train_recipes([(MixtureRecipe("r"), data.ring(), 10, 0)], workers=0)


# -- reading several seeds -------------------------------------------------------------------------

def test_mean_se_and_seed_summary():
    assert mean_se([2.0]) == (2.0, 0.0)
    m, se = mean_se([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5 and math.isclose(se, math.sqrt(5 / 3) / 2)  # sample std sqrt(5/3), over sqrt(4)
    with pytest.raises(ValueError, match="at least one"):
        mean_se([])
    runs = [ModeMetrics(8, 8, 0.9, 0.1, torch.ones(8)), ModeMetrics(6, 8, 0.7, 0.3, torch.ones(8))]
    s = seed_summary(runs)
    assert s["modes"] == (7.0, 1.0) and math.isclose(s["hq"][0], 80.0) and math.isclose(s["hq"][1], 10.0)
    assert math.isclose(s["kl"][0], 0.2) and math.isclose(s["kl"][1], 0.1)
    with pytest.raises(ValueError, match="ModeMetrics"):
        seed_summary([])


def test_summary_table_and_verdict():
    row = {"modes": (7.0, 1.0), "hq": (80.0, 10.0), "kl": (0.2, 0.1)}
    table = summary_table({"GAN": row}, n_modes=8)
    lines = table.splitlines()
    assert lines[0] == "| method | modes captured (of 8) | high quality % | reverse KL |"
    assert lines[2] == "| GAN | 7.0 ± 1.0 | 80.0 ± 10.0 | 0.20 ± 0.10 |"
    assert summary_table({"GAN": row}, n_modes=8, label="noise").startswith("| noise | modes captured")
    with pytest.raises(ValueError, match="lacks"):
        summary_table({"GAN": {"modes": (1, 0)}}, n_modes=8)
    # 2 * hypot(0.3, 0.4) = 1.0 is the margin
    assert verdict((5.0, 0.3), (5.9, 0.4), higher_is_better=True) == "no clear change"
    assert verdict((5.0, 0.3), (6.1, 0.4), higher_is_better=True) == "better"
    assert verdict((5.0, 0.3), (6.1, 0.4), higher_is_better=False) == "worse"
    assert verdict((5.0, 0.3), (3.9, 0.4), higher_is_better=False) == "better"
