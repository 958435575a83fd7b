"""Configuration refused up front: a bad setting is a clear error that names it, before any training.

Each case was accepted before (or failed later, after an update was applied).
"""

import math

import numpy as np
import pytest
import torch

from gancourse import data, losses
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig


@pytest.mark.parametrize("field, value, match", [
    ("gp_weight", -1.0, "gp_weight must be a finite number >= 0"),
    ("gp_weight", math.nan, "gp_weight must be a finite number >= 0"),
    ("gp_weight", "10", r"gp_weight .* got '10' \(a str\)"),
    ("clip_value", 0.0, "clip_value must be a finite number > 0"),
    ("clip_value", -0.01, "clip_value must be a finite number > 0"),
    ("clip_value", math.nan, "clip_value must be a finite number > 0"),
    ("clip_value", math.inf, "clip_value must be a finite number > 0"),
    ("latent_dim", True, r"latent_dim must be a positive int, got True \(a bool\)"),
    ("batch_size", True, "batch_size must be a positive int"),
    ("d_steps", 2.0, "d_steps must be a positive int, got 2.0"),
    ("n_fixed", "16", "n_fixed must be a positive int"),
    ("log_every", False, "log_every must be a positive int"),
    ("lr_g", math.inf, "lr_g must be a finite number > 0"),
    ("lr_d", math.nan, "lr_d must be a finite number > 0"),
    ("lr_g", "2e-4", r"lr_g must be a finite number > 0 .* got '2e-4' \(a str\)"),
    ("lr_d", True, "lr_d must be a finite number > 0"),
    ("betas", (0.5,), "betas must be two numbers in"),
    ("betas", (0.5, 0.9, 0.99), "betas must be two numbers in"),
    ("betas", "ab", "betas must be two numbers in"),
    ("betas", (1.0, 0.999), r"betas\[0\] must be a finite number in \[0, 1\)"),
    ("betas", (0.5, math.nan), r"betas\[1\] must be a finite number in \[0, 1\)"),
    ("betas", (0.5, "0.9"), r"betas\[1\]"),
    ("seed", 1.5, "seed must be a non-negative int, got 1.5"),
    ("seed", "3", "seed must be a non-negative int"),
    ("seed", True, "seed must be a non-negative int"),
    ("seed", -1, "seed must be a non-negative int"),
    ("loss", 3, "loss must be a str"),
    ("noise", None, "noise must be a str"),
    ("optimizer", ["adam"], "optimizer must be a str"),
])
def test_a_bad_setting_is_refused_with_its_name(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_numbers_of_other_types_become_plain_ints_and_floats(tmp_path):
    """numpy numbers (e.g. from a sweep) are accepted, and stored as Python numbers, so that a checkpoint
    of the config can be read back with ``weights_only=True``."""
    cfg = TrainConfig(latent_dim=np.int64(2), batch_size=np.int32(16), lr_g=np.float32(1e-3), lr_d=1, seed=np.int64(3),
                      betas=[np.float64(0.5), 0.9], gp_weight=np.float64(1.0), n_fixed=4)
    assert type(cfg.latent_dim) is int and type(cfg.lr_g) is float and type(cfg.lr_d) is float
    assert cfg.betas == (0.5, 0.9) and all(type(b) is float for b in cfg.betas)
    torch.manual_seed(0)
    t = GANTrainer(MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,)), data.ring(), cfg, device="cpu")
    state = torch.load(t.save(tmp_path / "np.pt"), weights_only=True)
    assert state["config"]["batch_size"] == 16


def test_clip_weights_refuses_nan_before_touching_a_weight():
    d = MLPDiscriminator(2, (8,))
    before = [p.detach().clone() for p in d.parameters()]
    for bad in (math.nan, math.inf, -1.0, 0.0, True, "0.01"):
        with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
            losses.clip_weights(d, bad)
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters()))


@pytest.mark.parametrize("build, match", [
    (lambda: MLPGenerator(2, 2, (0,)), r"MLPGenerator: hidden must be a list or tuple of positive ints"),
    (lambda: MLPGenerator(2, 2, (16, -3)), r"MLPGenerator: hidden must be"),
    (lambda: MLPGenerator(2, 2, 16), r"MLPGenerator: hidden must be a list or tuple"),
    (lambda: MLPGenerator(0, 2, (16,)), r"MLPGenerator: latent_dim must be a positive int, got 0"),
    (lambda: MLPGenerator(2, 0, (16,)), r"MLPGenerator: out_dim must be a positive int"),
    (lambda: MLPDiscriminator(2, (16, 0)), r"MLPDiscriminator: hidden must be"),
    (lambda: MLPDiscriminator(2, (True,)), r"MLPDiscriminator: hidden must be"),
    (lambda: MLPDiscriminator(0, (16,)), r"MLPDiscriminator: in_dim must be a positive int"),
    (lambda: DCGANGenerator(8, width=0), r"DCGANGenerator: width must be a positive int, got 0"),
    (lambda: DCGANGenerator(0), r"DCGANGenerator: latent_dim must be a positive int"),
    (lambda: DCGANDiscriminator(width=0), r"DCGANDiscriminator: width must be a positive int"),
    (lambda: DCGANDiscriminator(channels=0), r"DCGANDiscriminator: channels must be a positive int"),
])
def test_zero_width_layers_are_refused(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_clipping_is_refused_before_the_first_update():
    """A bad clip_value used to be noticed by clip_weights only after D's first update was applied."""
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="clip_value"):
        TrainConfig(loss="wasserstein", clip_value=0.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=True), "steps must be a non-negative int, got True"),
    (dict(steps=3, callback=lambda t: None, callback_every=0), "callback_every must be a positive int"),
    (dict(steps=3, snapshot_every=0), "snapshot_every must be a positive int"),
    (dict(steps=3, snapshot_every=1.5), "snapshot_every must be a positive int"),
])
def test_train_refuses_bad_arguments_before_the_first_step(kwargs, match):
    """callback_every=0 used to fail with ZeroDivisionError after the first step had been applied."""
    torch.manual_seed(0)
    t = GANTrainer(MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,)), data.ring(),
                   TrainConfig(latent_dim=2, batch_size=8), device="cpu")
    with pytest.raises(ValueError, match=match):
        t.train(progress=False, **kwargs)
    assert t.step == 0 and t.snapshots == {}


def test_an_infinite_learning_rate_scale_is_refused():
    torch.manual_seed(0)
    t = GANTrainer(MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,)), data.ring(), TrainConfig(latent_dim=2),
                   device="cpu")
    for bad in (math.inf, math.nan, 0.0, True):
        with pytest.raises(ValueError, match="factor must be a positive number"):
            t.set_lr_scale(bad)
    assert t.opt_g.param_groups[0]["lr"] == t.config.lr_g
