"""The trainer's speed paths (bf16 autocast, channels-last, fused optimiser) give the plain path's results.

Each path is checked twice: a short run's parameters, losses and samples match the plain fp32 run
within the path's rounding (exactly the same computation for channels-last and the fused optimiser,
bf16's 8-bit mantissa for autocast), and a longer run reaches the same quality. The bf16 path is
forced on wherever the tests run, so machines without bf16 hardware test it too (slowly, emulated).
"""

import io
import math
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gancourse import data, speed
from gancourse import train as train_module
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.speed import bf16_supported
from gancourse.train import GANTrainer, TrainConfig

DIGITS, _ = data.sklearn_digits()


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture
def bf16_everywhere(monkeypatch):
    """Run the bf16 path even on a processor without bf16 instructions (PyTorch emulates them)."""
    monkeypatch.setattr(train_module, "bf16_supported", lambda device: True)


def mlp_trainer(seed=0, hidden=(32, 32), batch_size=64, lr=1e-3, log_every=10, **options):
    torch.manual_seed(seed)
    cfg = TrainConfig(latent_dim=2, batch_size=batch_size, lr_g=lr, lr_d=lr, seed=seed, log_every=log_every, **options)
    return GANTrainer(MLPGenerator(2, 2, hidden), MLPDiscriminator(2, hidden), data.ring(), cfg, device="cpu")


def dcgan_trainer(seed=0, **options):
    torch.manual_seed(seed)
    cfg = TrainConfig(latent_dim=16, batch_size=32, seed=seed, log_every=5, n_fixed=16, **options)
    return GANTrainer(DCGANGenerator(16, image_size=8, width=16), DCGANDiscriminator(8, width=16),
                      data.TensorSampler(DIGITS), cfg, device="cpu")


def max_param_diff(a, b):
    pairs = list(zip(a.generator.state_dict().values(), b.generator.state_dict().values()))
    pairs += list(zip(a.discriminator.state_dict().values(), b.discriminator.state_dict().values()))
    return max((x.float() - y.float()).abs().max().item() for x, y in pairs)


def test_new_options_are_validated():
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16', got 'fp16'"):
        TrainConfig(precision="fp16")
    with pytest.raises(ValueError, match="channels_last must be True or False"):
        TrainConfig(channels_last="yes")
    with pytest.raises(ValueError, match="fused_optimizer must be True or False"):
        TrainConfig(fused_optimizer=1)
    defaults = TrainConfig()
    assert (defaults.precision, defaults.channels_last, defaults.fused_optimizer) == ("fp32", False, False)


def test_fused_optimizer_matches_the_plain_optimizer():
    plain, fused = mlp_trainer(), mlp_trainer(fused_optimizer=True)
    assert fused.opt_d.param_groups[0].get("fused") is True
    plain.train(30, progress=False)
    fused.train(30, progress=False)
    assert max_param_diff(plain, fused) < 1e-4
    for key in ("d_loss", "g_loss"):
        assert torch.allclose(torch.tensor(plain.history[key]), torch.tensor(fused.history[key]), atol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_fused_optimizer_for_sgd_and_rmsprop(optimizer):
    plain = mlp_trainer(optimizer=optimizer, lr=1e-3)
    fast = mlp_trainer(optimizer=optimizer, lr=1e-3, fused_optimizer=True)
    plain.train(10, progress=False)
    fast.train(10, progress=False)
    assert max_param_diff(plain, fast) < 1e-4


def test_channels_last_matches_the_plain_layout():
    plain, fast = dcgan_trainer(), dcgan_trainer(channels_last=True)
    conv = fast.discriminator.net[2].weight  # (1, 32, 4, 4): the two layouts differ
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    plain.train(8, progress=False)
    fast.train(8, progress=False)
    assert max_param_diff(plain, fast) < 1e-4
    assert torch.allclose(plain.sample(noise=plain.fixed_noise), fast.sample(noise=fast.fixed_noise), atol=1e-4)


def test_bf16_stays_close_to_fp32(bf16_everywhere):
    plain, fast = dcgan_trainer(), dcgan_trainer(precision="bf16", channels_last=True, fused_optimizer=True)
    assert fast.precision == "bf16"
    plain.train(5, progress=False)
    fast.train(5, progress=False)
    # The weights are kept in fp32; only the forward passes round to bf16 (about 3 significant digits).
    assert all(p.dtype == torch.float32 for p in fast.generator.parameters())
    assert max_param_diff(plain, fast) < 5e-3
    for key in ("d_loss", "g_loss"):
        assert torch.allclose(torch.tensor(plain.history[key]), torch.tensor(fast.history[key]), rtol=0.05, atol=0.02)
    with fast.autocast():
        fakes = fast.generator(fast.fixed_noise)
    assert fakes.dtype == torch.bfloat16  # the forward pass really ran in bf16
    assert torch.allclose(plain.sample(noise=plain.fixed_noise), fast.sample(noise=fast.fixed_noise).float(), atol=0.05)


def test_bf16_falls_back_to_fp32_with_a_warning(monkeypatch):
    monkeypatch.setattr(train_module, "bf16_supported", lambda device: False)
    with pytest.warns(RuntimeWarning, match="no bfloat16 matrix hardware .*: training in fp32"):
        fallback = mlp_trainer(precision="bf16")
    assert fallback.precision == "fp32"
    plain = mlp_trainer()
    fallback.train(10, progress=False)
    plain.train(10, progress=False)
    assert max_param_diff(plain, fallback) == 0  # exactly the plain path
    assert fallback.history == plain.history


def test_bf16_detection_reads_the_processor_flags(monkeypatch):
    monkeypatch.setattr(speed, "_cpu_flags", lambda: frozenset({"sse2", "avx2"}))
    assert not bf16_supported("cpu")
    # AVX512-BF16 without AMX: measured slower than fp32, so the trainer keeps fp32.
    monkeypatch.setattr(speed, "_cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert not bf16_supported("cpu")
    monkeypatch.setattr(speed, "_cpu_flags", lambda: frozenset({"avx2", "avx512_bf16", "amx_bf16", "amx_tile"}))
    assert bf16_supported("cpu")
    monkeypatch.setattr(speed, "_cpu_flags", lambda: frozenset({"fp", "asimd", "bf16"}))  # ARM
    assert bf16_supported(torch.device("cpu"))
    assert not bf16_supported("meta")


def test_every_speed_path_learns_the_ring_as_well(bf16_everywhere):
    """Quality: the plain run and the run with every speed path put the samples on the circle alike."""

    def distance_to_circle(t):
        return (t.sample(1000).float().norm(dim=1) - 1).abs().median().item()

    results = {}
    for name, options in (("plain", {}), ("fast", dict(precision="bf16", fused_optimizer=True))):
        t = mlp_trainer(seed=1, batch_size=64, **options)
        before = distance_to_circle(t)
        t.train(400, progress=False)
        results[name] = (before, distance_to_circle(t))
    for before, after in results.values():
        assert before > 0.6 and after < 0.35
    assert abs(results["plain"][1] - results["fast"][1]) < 0.15, results


def test_no_host_synchronisation_inside_a_step():
    """With the fused optimiser a step never reads a number back to the host (statistics wait for flush)."""

    class CountReads(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls[func.__name__.split(".")[0]] += 1
            return func(*args, **(kwargs or {}))

    t = mlp_trainer(fused_optimizer=True, log_every=1000)
    t.train(2, progress=False)
    with CountReads() as reads:
        for _ in range(5):
            t.train_step()
    assert reads.calls["_local_scalar_dense"] == 0, reads.calls
    assert sum(reads.calls.values()) > 50  # the mode did see the step's operations


def test_resume_is_exact_with_the_speed_paths(tmp_path, bf16_everywhere):
    options = dict(precision="bf16", channels_last=True, fused_optimizer=True)
    straight = dcgan_trainer(**options)
    straight.train(6, progress=False)
    first = dcgan_trainer(**options)
    first.train(4, progress=False)
    resumed = dcgan_trainer(seed=5, **options).load(first.save(tmp_path / "state.pt"))
    resumed.train(2, progress=False)
    assert max_param_diff(straight, resumed) == 0
    assert resumed.history == straight.history


def test_d_net_and_g_net_are_the_networks_in_one_process():
    t = mlp_trainer()
    assert not t.distributed and t.rank == 0
    assert t.d_net is t.discriminator and t.g_net is t.generator


def test_the_benchmark_baseline_loop_trains():
    """``make bench`` compares against benchmarks/baseline.py: keep it working."""
    import importlib.util
    import io
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "baseline.py"
    spec = importlib.util.spec_from_file_location("gancourse_bench_baseline", path)
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    torch.manual_seed(0)
    g, d = MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,))
    before = [p.detach().clone() for p in g.parameters()]
    log = io.StringIO()
    loop = baseline.BaselineLoop(g, d, data.ring().sample(100, torch.Generator().manual_seed(0)), latent_dim=2,
                                 batch_size=32, log=log)
    loop.train(5)  # crosses an epoch boundary: 100 examples make 3 batches of 32
    assert loop.step == 5 and len(log.getvalue().splitlines()) == 5 and "Loss_D" in log.getvalue()
    assert not all(torch.equal(a, b) for a, b in zip(before, g.parameters()))
    assert loop.sample(7).shape == (7, 2)


def test_a_checkpoint_does_not_switch_the_optimizer_implementation(tmp_path):
    fused = mlp_trainer(fused_optimizer=True)
    fused.train(3, progress=False)
    plain = mlp_trainer().load(fused.save(tmp_path / "fused.pt"))
    assert not plain.opt_d.param_groups[0].get("fused")
    again = mlp_trainer(fused_optimizer=True).load(plain.save(tmp_path / "plain.pt"))
    assert again.opt_g.param_groups[0]["fused"] is True


def test_bf16_detection_on_gpus(monkeypatch):
    """The CUDA branch, exercised on the CPU: Ampere and newer say yes, older GPUs (emulation only) no."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert not bf16_supported("cuda")  # only emulated: a T4, say
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert bf16_supported("cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not bf16_supported("cuda")


def test_the_benchmark_counts_the_arithmetic_of_each_loop(monkeypatch):
    """The FLOPs per step of ``benchmarks/throughput.py``, against a count by hand.

    G is 2 -> 16 -> 2 and D is 2 -> 16 -> 1, batch B = 32; a linear layer costs 2*B*in*out forward,
    as much again for its weight gradient and again for its input gradient. Per batch:
    G forward f_G = 4096, D forward f_D = 3072, first layers 2048 each (no input gradient there).
    The trainer: D step f_G + 2 f_D + 2 (2 f_D - 2048); G step f_G + f_D + f_D (D frozen: input
    gradients only) + (2 f_G - 2048): 34,816 in all. The baseline generates once, updates D on the
    real and on the detached fake half, then backpropagates through D unfrozen: 33,792.
    """
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import baseline
    import throughput

    torch.manual_seed(0)
    trainer = GANTrainer(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)), data.ring(),
                         TrainConfig(latent_dim=2, batch_size=32), device="cpu", distributed=False)
    loop = baseline.BaselineLoop(MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,)),
                                 data.ring().sample(100, torch.Generator().manual_seed(0)), latent_dim=2,
                                 batch_size=32, log=io.StringIO())
    assert throughput.step_flops(lambda s: trainer.train(s, progress=False)) == 34_816
    assert throughput.step_flops(loop.train) == 33_792
    assert trainer.step == 1 and loop.step == 1  # the count ran a real step
    assert throughput.matmul_rate(n=128, reps=2) > 0


# -- every trainer built on the hooks gets the speed paths ----------------------------------------

def _record_d_inputs(trainer):
    """For every discriminator forward pass: was autocast on, and did its first convolution compute
    channels-last (its output's layout; a 1-channel input reads the same in both layouts)?"""
    seen = []
    conv = next(m for m in trainer.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda module, args, out: seen.append(
        (torch.is_autocast_enabled("cpu"), out.is_contiguous(memory_format=torch.channels_last))))
    return seen


def _conditional_trainer(**options):
    from gancourse.variations.conditional import ConditionalDiscriminator, ConditionalGANTrainer, ConditionalGenerator
    torch.manual_seed(0)
    images = torch.rand(40, 1, 28, 28) * 2 - 1
    real = data.TensorSampler(images, torch.arange(40) % 3, device="cpu")
    cfg = TrainConfig(latent_dim=8, batch_size=8, n_fixed=6, log_every=2, **options)
    return ConditionalGANTrainer(ConditionalGenerator(3, latent_dim=8, embed_dim=4, width=4),
                                 ConditionalDiscriminator(3, embed_dim=4, width=4), real, cfg, device="cpu")


def _paired_trainer(**options):
    from gancourse.variations.blocks import PatchDiscriminator, UNet
    from gancourse.variations.pix2pix import PairedGANTrainer
    torch.manual_seed(0)
    x = torch.rand(40, 1, 28, 28) * 2 - 1
    cfg = TrainConfig(batch_size=8, n_fixed=4, log_every=2, **options)
    return PairedGANTrainer(UNet(1, 1, width=4), PatchDiscriminator(2, width=4), x, x.flip(-1), cfg, device="cpu")


@pytest.mark.parametrize("make", [_conditional_trainer, _paired_trainer], ids=["conditional", "paired"])
def test_hook_trainers_run_their_steps_in_the_precision_and_layout_they_record(make, bf16_everywhere):
    """A conditional or paired run asked for bf16 and channels-last computes D (both updates) under
    autocast on channels-last input, and records "bf16": the precision its steps really ran in."""
    fast = make(precision="bf16", channels_last=True)
    seen = _record_d_inputs(fast)
    fast.train(2, progress=False)
    assert fast.precision == fast.config.precision == "bf16"
    assert seen and all(autocast for autocast, _ in seen)
    assert all(channels_last for _, channels_last in seen)
    assert all(math.isfinite(v) for v in fast.history["d_loss"] + fast.history["g_loss"])
    plain = make()
    seen = _record_d_inputs(plain)
    plain.train(2, progress=False)
    assert plain.precision == "fp32" and not any(autocast for autocast, _ in seen)


def test_trainers_with_their_own_updates_refuse_speed_paths_they_do_not_run():
    from gancourse.remedies import UnrolledGANTrainer
    torch.manual_seed(0)
    cfg = TrainConfig(latent_dim=2, batch_size=16, precision="bf16")
    message = "UnrolledGANTrainer writes its own updates and does not support bf16"
    with pytest.raises(NotImplementedError, match=message):
        UnrolledGANTrainer(MLPGenerator(2, 2, (8,)), MLPDiscriminator(2, (8,)), data.ring(), cfg, device="cpu")
