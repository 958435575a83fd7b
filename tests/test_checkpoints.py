"""Checkpoints: nothing lost, nothing half-done.

A checkpoint moves between kinds of device; a load checks everything before it changes anything (the
config, the networks, the optimisers, the random-number states, what subclasses add); a file that is
not a checkpoint gives one error type naming the file; checkpoints are as readable as other outputs;
and looking at a run (``sample(n)``, a gradient-norm diagnostic) changes nothing in it.
"""

import os

import pytest
import torch

from gancourse import checkpoint, data
from gancourse.checkpoint import CheckpointError
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig


def mlp_trainer(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = TrainConfig(**{"latent_dim": 2, "batch_size": 32, "log_every": 7, "n_fixed": 16, "seed": seed, **overrides})
    return GANTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg, device="cpu")


def dcgan_trainer(seed=0):
    torch.manual_seed(seed)
    images, _ = data.sklearn_digits()
    cfg = TrainConfig(latent_dim=8, batch_size=16, log_every=4, n_fixed=8, seed=seed)
    return GANTrainer(DCGANGenerator(8, image_size=8, width=8), DCGANDiscriminator(8, width=8),
                      data.TensorSampler(images), cfg, device="cpu")


def everything(trainer):
    """All that a load may change, copied: weights, optimiser states, step, random-number states, history."""
    return {"g": {k: v.clone() for k, v in trainer.generator.state_dict().items()},
            "d": {k: v.clone() for k, v in trainer.discriminator.state_dict().items()},
            "opt_g": repr(trainer.opt_g.state_dict()), "opt_d": repr(trainer.opt_d.state_dict()),
            "step": trainer.step, "rng": trainer.rng.get_state().clone(),
            "sample_rng": trainer.sample_rng.get_state().clone(), "fixed": trainer.fixed_noise.clone(),
            "history": {k: list(v) for k, v in trainer.history.items()}, "snapshots": dict(trainer.snapshots)}


def assert_unchanged(before, trainer):
    after = everything(trainer)
    for key in ("g", "d"):
        assert all(torch.equal(before[key][k], after[key][k]) for k in before[key]), key
    for key in ("rng", "sample_rng", "fixed"):
        assert torch.equal(before[key], after[key]), key
    for key in ("opt_g", "opt_d", "step", "history", "snapshots"):
        assert before[key] == after[key], key


def state_of(trainer, steps=3):
    trainer.train(steps, progress=False)
    return trainer.state_dict()


def save(state, path):
    torch.save(state, path)
    return path


# -- 1. moving between kinds of device ---------------------------------------------------------

def cuda_like(state):
    """A state as a CUDA run would save it: its generators' states are 16 bytes (seed and offset)."""
    state = dict(state)
    state["rng"] = torch.arange(16, dtype=torch.uint8)
    state["sample_rng"] = torch.arange(16, dtype=torch.uint8)
    state["device_type"] = "cuda"
    return state


def test_a_checkpoint_saved_on_a_gpu_resumes_on_the_cpu(tmp_path):
    source = mlp_trainer()
    path = save(cuda_like(state_of(source)), tmp_path / "gpu.pt")
    target = mlp_trainer(seed=5)
    with pytest.warns(RuntimeWarning, match="saved on cuda and this trainer runs on cpu.*restart from the seed"):
        target.load(path)
    assert target.step == 3
    assert all(torch.equal(a, b) for a, b in zip(target.generator.state_dict().values(),
                                                 source.generator.state_dict().values()))
    # the stream is re-derived from the checkpoint's seed (0) and the step (3)
    assert torch.equal(target.rng.get_state(), torch.Generator().manual_seed(0 + 3).get_state())
    target.train(2, progress=False)
    assert target.step == 5 and target.history["step"] == [1, 2, 3, 4, 5]


def test_an_older_gpu_checkpoint_without_its_device_type_resumes_on_the_cpu(tmp_path):
    state = cuda_like(state_of(mlp_trainer()))
    del state["device_type"], state["sample_rng"]  # as written before the device type was saved
    target = mlp_trainer()
    with pytest.warns(RuntimeWarning, match="another kind of device"):
        target.load(save(state, tmp_path / "old_gpu.pt"))
    assert target.step == 3


class FakeCudaGenerator:
    """Stands in for a CUDA generator on a machine without one: its state is 16 bytes."""

    def __init__(self, device=None):
        self.state = torch.zeros(16, dtype=torch.uint8)

    def manual_seed(self, seed):
        self.state = torch.tensor(list(int(seed).to_bytes(8, "little")) + [0] * 8, dtype=torch.uint8)
        return self

    def get_state(self):
        return self.state.clone()

    def set_state(self, state):
        if state.numel() != 16:
            raise RuntimeError(f"Expected a CUDA generator state of size 16 but found {state.numel()}")
        self.state = state.clone()


def test_a_cpu_checkpoint_gives_a_gpu_trainer_streams_derived_from_seed_and_step(monkeypatch):
    state = state_of(mlp_trainer(seed=4), steps=6)  # device_type "cpu", a 5056-byte CPU state
    real_generator = torch.Generator
    monkeypatch.setattr(torch, "Generator", lambda device=None: FakeCudaGenerator() if torch.device(
        device or "cpu").type == "cuda" else real_generator(device=device))
    rng, sample_rng, why = checkpoint.generator_states(state, "cpu.pt", device=torch.device("cuda"), rank=0, world=1,
                                                       seed=0, sampling_offset=7)
    assert "saved on cpu and this trainer runs on cuda" in why
    assert rng.numel() == 16 and int.from_bytes(bytes(rng[:8].tolist()), "little") == 4 + 6
    assert int.from_bytes(bytes(sample_rng[:8].tolist()), "little") == 4 + 6 + 7


def test_a_bf16_gpu_run_continues_in_fp32_on_the_cpu(tmp_path, monkeypatch):
    state = cuda_like(state_of(mlp_trainer()))
    state["config"] = {**state["config"], "precision": "bf16"}
    target = mlp_trainer()
    with pytest.warns(RuntimeWarning) as caught:
        target.load(save(state, tmp_path / "bf16.pt"))
    messages = " ".join(str(w.message) for w in caught)
    assert "bf16" in messages and "continues in fp32" in messages and target.precision == "fp32"


# -- 2. all or nothing ---------------------------------------------------------------------------

def test_an_adam_checkpoint_is_refused_by_an_sgd_trainer_and_changes_nothing(tmp_path):
    adam = mlp_trainer()
    adam.train(3, progress=False)
    path = adam.save(tmp_path / "adam.pt")
    sgd = mlp_trainer(seed=1, optimizer="sgd")
    sgd.train(2, progress=False)
    before = everything(sgd)
    with pytest.raises(CheckpointError, match=r"adam\.pt.*optimizer='adam' in the checkpoint, 'sgd' in this trainer"):
        sgd.load(path)
    assert_unchanged(before, sgd)
    sgd.train(1, progress=False)  # and the trainer still trains


def test_an_optimiser_state_of_another_kind_is_refused_even_without_a_config_entry(tmp_path):
    state = state_of(mlp_trainer())
    state["config"] = {k: v for k, v in state["config"].items() if k != "optimizer"}
    sgd = mlp_trainer(optimizer="sgd")
    before = everything(sgd)
    with pytest.raises(CheckpointError, match="opt_g .*state of an Adam optimiser and this trainer's is SGD"):
        sgd.load(save(state, tmp_path / "adam.pt"))
    assert_unchanged(before, sgd)


def test_a_random_state_that_fails_leaves_weights_optimisers_and_step_alone(tmp_path):
    state = state_of(mlp_trainer())
    state["rng"] = torch.zeros(10, dtype=torch.uint8)  # saved on a CPU (device_type 'cpu'), yet damaged
    target = mlp_trainer(seed=3)
    target.train(1, progress=False)
    before = everything(target)
    with pytest.raises(CheckpointError, match=r"bad\.pt.*rng .* does not fit a cpu random-number generator"):
        target.load(save(state, tmp_path / "bad.pt"))
    assert_unchanged(before, target)


@pytest.mark.parametrize("change, match", [
    (dict(loss="wasserstein"), "loss='wasserstein' in the checkpoint, 'nonsaturating' in this trainer"),
    (dict(batch_size=16), "batch_size=16 in the checkpoint, 32 in this trainer"),
    (dict(noise="uniform"), "noise='uniform' in the checkpoint, 'normal' in this trainer"),
])
def test_a_checkpoint_of_another_config_is_refused(tmp_path, change, match):
    path = mlp_trainer(**change).save(tmp_path / "other.pt")
    target = mlp_trainer()
    before = everything(target)
    with pytest.raises(CheckpointError, match=match):
        target.load(path)
    assert_unchanged(before, target)


def test_another_name_of_the_same_loss_is_the_same_config(tmp_path):
    path = mlp_trainer(loss="modified_minimax").save(tmp_path / "alias.pt")
    mlp_trainer(loss="nonsaturating").load(path)


def test_a_bf16_checkpoint_is_refused_by_an_fp32_trainer_on_a_device_that_has_bf16(tmp_path, monkeypatch):
    state = state_of(mlp_trainer())
    state["config"] = {**state["config"], "precision": "bf16"}
    monkeypatch.setattr(checkpoint, "bf16_supported", lambda device: True)
    with pytest.raises(CheckpointError, match="precision='bf16' in the checkpoint, 'fp32' in this trainer"):
        mlp_trainer().load(save(state, tmp_path / "bf16.pt"))


def test_history_of_another_length_or_missing_columns_is_refused(tmp_path):
    state = state_of(mlp_trainer())
    state["history"] = {**state["history"], "g_loss": state["history"]["g_loss"][:-1]}
    target = mlp_trainer()
    before = everything(target)
    with pytest.raises(CheckpointError, match=r"history\['g_loss'\] holds 2 values for 3 steps"):
        target.load(save(state, tmp_path / "h.pt"))
    del state["history"]["g_loss"]
    with pytest.raises(CheckpointError, match="history lacks the column"):
        target.load(save(state, tmp_path / "h.pt"))
    assert_unchanged(before, target)


def test_a_subclass_state_is_checked_before_the_base_state_changes(tmp_path):
    from gancourse.remedies import AveragedGeneratorTrainer

    def averaged(seed):
        torch.manual_seed(seed)
        cfg = TrainConfig(latent_dim=2, batch_size=32, log_every=7, n_fixed=16, seed=seed)
        return AveragedGeneratorTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg,
                                        device="cpu", ema_decay=0.9)

    state = state_of(averaged(0))
    del state["averaged_generator"]
    target = averaged(1)
    before = everything(target)
    with pytest.raises(CheckpointError, match="averaged_generator"):
        target.load(save(state, tmp_path / "avg.pt"))
    assert_unchanged(before, target)
    # a plain trainer's checkpoint is not an averaged trainer's either
    with pytest.raises(CheckpointError, match="AveragedGeneratorTrainer"):
        target.load(mlp_trainer().save(tmp_path / "plain.pt"))
    assert_unchanged(before, target)


def conditional(fixed=None):
    from gancourse.variations.conditional import ConditionalDiscriminator, ConditionalGANTrainer, ConditionalGenerator

    torch.manual_seed(0)
    cfg = TrainConfig(latent_dim=8, batch_size=8, log_every=3, n_fixed=6)
    images = torch.rand(30, 1, 28, 28) * 2 - 1
    real = data.TensorSampler(images, torch.arange(30) % 3, device="cpu")
    return ConditionalGANTrainer(ConditionalGenerator(3, latent_dim=8, embed_dim=4, width=4),
                                 ConditionalDiscriminator(3, embed_dim=4, width=4), real, cfg,
                                 fixed_conditions=fixed, device="cpu")


def test_a_conditional_checkpoint_keeps_its_fixed_conditions(tmp_path):
    first = conditional(fixed=torch.tensor([2, 2, 2, 1, 1, 0]))
    first.train(1, progress=False)
    resumed = conditional().load(first.save(tmp_path / "c.pt"))
    assert torch.equal(resumed.fixed_conditions, first.fixed_conditions)
    assert torch.equal(resumed.snapshot(), first.snapshot())


# -- 3. files that are not checkpoints -----------------------------------------------------------

def corrupt(kind, path):
    good = mlp_trainer().save(path.with_name("good.pt")).read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "random bytes":
        path.write_bytes(torch.randint(0, 256, (500,), generator=torch.Generator().manual_seed(0),
                                       dtype=torch.uint8).numpy().tobytes())
    elif kind == "text":
        path.write_text("step,d_loss,g_loss\n1,0.69,0.69\n")
    elif kind == "model state_dict":
        torch.save(MLPGenerator(2, 2, (16,)).state_dict(), path)
    elif kind == "whole model":
        torch.save(MLPGenerator(2, 2, (16,)), path)
    elif kind == "a list":
        torch.save([1, 2, 3], path)
    return path


@pytest.mark.parametrize("kind, match", [
    ("empty", "the file is empty"),
    ("truncated", "damaged or cut short"),
    ("random bytes", "not a PyTorch file"),
    ("text", "is a text file"),
    ("model state_dict", "holds one network's weights"),
    ("whole model", "Python objects other than tensors.*MLPGenerator"),
    ("a list", "holds a list, not a training checkpoint"),
])
def test_a_file_that_is_not_a_checkpoint_gives_one_clear_error(tmp_path, kind, match):
    path = corrupt(kind, tmp_path / "broken.pt")
    target = mlp_trainer()
    before = everything(target)
    with pytest.raises(CheckpointError, match=match) as err:
        target.load(path)
    message = str(err.value)
    assert os.fspath(path) in message and "weights_only" not in message
    assert err.value.__context__ is None  # torch's own error (and its advice) is not chained on
    assert_unchanged(before, target)


def test_a_missing_file_is_the_operating_systems_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        mlp_trainer().load(tmp_path / "nowhere.pt")


def test_a_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)  # code that caught ValueError before still does


# -- 4. file modes --------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="Unix permissions")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_checkpoint_gets_the_mode_of_any_new_file(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = mlp_trainer().save(tmp_path / "state.pt")
        other = tmp_path / "run.json"
        other.write_text("{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode == other.stat().st_mode & 0o777


# -- 8. looking changes nothing ------------------------------------------------------------------

def weights(trainer):
    return [v.clone() for m in (trainer.generator, trainer.discriminator) for v in m.state_dict().values()]


def test_sampling_between_train_calls_changes_no_later_step():
    plain, looked = mlp_trainer(), mlp_trainer()
    plain.train(5, progress=False)
    looked.train(2, progress=False)
    a = looked.sample(10)
    b = looked.sample(10)
    looked.train(3, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(weights(plain), weights(looked)))
    assert plain.history == looked.history
    assert not torch.equal(a, b)  # sample(n) still draws fresh noise every call


def test_sampling_resumes_with_the_checkpoint(tmp_path):
    first = mlp_trainer()
    first.train(2, progress=False)
    resumed = mlp_trainer(seed=9).load(first.save(tmp_path / "s.pt"))
    assert torch.equal(first.sample(4), resumed.sample(4))


def test_sampling_an_averaged_or_conditional_trainer_changes_no_later_step():
    from gancourse.remedies import AveragedGeneratorTrainer

    def averaged():
        torch.manual_seed(0)
        cfg = TrainConfig(latent_dim=2, batch_size=32, log_every=7, n_fixed=16)
        return AveragedGeneratorTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg,
                                        device="cpu", ema_decay=0.9)

    plain, looked = averaged(), averaged()
    plain.train(4, progress=False)
    looked.train(2, progress=False)
    looked.sample(7)
    looked.train(2, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(weights(plain), weights(looked)))

    plain, looked = conditional(), conditional()
    plain.train(2, progress=False)
    looked.train(1, progress=False)
    looked.sample(3, conditions=torch.tensor([0, 1, 2]))
    looked.sample()
    looked.train(1, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(weights(plain), weights(looked)))


def test_the_gradient_norm_diagnostic_changes_no_batch_norm_statistics_and_no_later_step():
    from gancourse.remedies import generator_gradient_norm

    plain, looked = dcgan_trainer(), dcgan_trainer()
    plain.train(4, progress=False)
    looked.train(2, progress=False)
    buffers = [b.clone() for b in looked.generator.buffers()] + [b.clone() for b in looked.discriminator.buffers()]
    rng = looked.rng.get_state()
    assert generator_gradient_norm(looked, n=32) > 0
    after = list(looked.generator.buffers()) + list(looked.discriminator.buffers())
    assert all(torch.equal(a, b) for a, b in zip(buffers, after))
    assert torch.equal(rng, looked.rng.get_state())
    looked.train(2, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(weights(plain), weights(looked)))


def test_the_gradient_norm_diagnostic_does_not_draw_from_the_training_stream():
    """Instance noise draws from the trainer's generator inside D: the diagnostic puts its state back."""
    from gancourse.remedies import InstanceNoiseTrainer, generator_gradient_norm

    torch.manual_seed(0)
    cfg = TrainConfig(latent_dim=2, batch_size=32, log_every=7, n_fixed=16)
    t = InstanceNoiseTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(), cfg, device="cpu",
                             sigma_start=0.5, anneal_steps=10)
    rng = t.rng.get_state()
    generator_gradient_norm(t, n=16)
    assert torch.equal(rng, t.rng.get_state())
