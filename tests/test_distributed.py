"""Training on two CPU processes (gloo) with DistributedDataParallel, as torchrun would run it.

The two-process test starts both processes with ``torch.multiprocessing.spawn`` and the environment
variables torchrun sets, so that they go through the same :func:`gancourse.distributed.init_distributed`
and the same command-line entry point. It checks that

- the two processes' parameters stay identical (an MLP GAN, and a DCGAN with batch norm);
- two processes with batch B match one process with batch 2B drawing the same examples (SGD, so the
  only difference is rounding);
- the command line trains under the group, writes one checkpoint (from rank 0) holding both
  processes' random-number states, and writes its pictures once.
"""

import json
import os
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp

from gancourse import data
from gancourse import distributed as dist_utils
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig, sample_noise

STEPS = 5


def mlp_config(batch_size):
    return TrainConfig(latent_dim=2, batch_size=batch_size, optimizer="sgd", lr_g=0.05, lr_d=0.05, seed=3,
                       log_every=2, n_fixed=8)


def mlp_networks():
    torch.manual_seed(0)
    return MLPGenerator(2, 2, (16,)), MLPDiscriminator(2, (16,))


def flat_parameters(trainer):
    params = (*trainer.generator.parameters(), *trainer.discriminator.parameters())
    return torch.cat([p.detach().flatten() for p in params])


def _worker(rank, world, port, out):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    info = dist_utils.init_distributed()
    assert (info.rank, info.world_size, info.backend) == (rank, world, "gloo")
    results = {}

    # An MLP GAN with SGD: compared below with one process on the joint batch.
    g, d = mlp_networks()
    t = GANTrainer(g, d, data.ring(), mlp_config(8), device="cpu")
    assert t.distributed and t.d_net is not t.discriminator
    t.train(STEPS, progress=False)
    gathered = dist_utils.gather_objects(flat_parameters(t))
    results["mlp_max_diff"] = (gathered[0] - gathered[1]).abs().max().item()
    results["mlp_history"] = t.history
    if rank == 0:
        torch.save(flat_parameters(t), os.path.join(out, "mlp_rank0.pt"))

    # A DCGAN with batch norm and Adam: the processes start from different weights on purpose.
    torch.manual_seed(100 + rank)
    cfg = TrainConfig(latent_dim=8, batch_size=8, seed=0, log_every=3, n_fixed=4)
    t = GANTrainer(DCGANGenerator(8, image_size=8, width=8), DCGANDiscriminator(8, width=8),
                   data.TensorSampler(data.sklearn_digits()[0]), cfg, device="cpu")
    t.train(3, progress=False)
    gathered = dist_utils.gather_objects(flat_parameters(t))
    results["dcgan_max_diff"] = (gathered[0] - gathered[1]).abs().max().item()
    path = t.save(os.path.join(out, "dcgan.pt"))  # every process calls save; rank 0 writes

    # The command line under the same group (it leaves the group at the end).
    from gancourse import cli

    status = cli.main(["train", "--recipe", "ring", "--steps", "4", "--batch-size", "16", "--checkpoint-every", "2",
                       "--out", os.path.join(out, "cli"), "--no-progress"])
    results["cli_status"] = status
    with open(os.path.join(out, f"results_rank{rank}.json"), "w") as f:
        json.dump(results, f)
    assert str(path).endswith("dcgan.pt")


class TwoProcessesInOne(GANTrainer):
    """One process that draws, for a batch of 2B, exactly the examples that ranks 0 and 1 draw with B each."""

    def __init__(self, *args, **kwargs):
        self.rank1 = None
        super().__init__(*args, **kwargs)
        self.rank1 = torch.Generator().manual_seed(dist_utils.rank_seed(self.config.seed, 1))
        sample_noise(self.config.n_fixed, self.config.latent_dim, generator=self.rank1)  # rank 1's fixed noise
        source = self.real
        self.real = lambda n, rng: torch.cat([source(n // 2, rng), source(n // 2, self.rank1)])

    def noise(self, n):
        if self.rank1 is None:  # the fixed noise, drawn in __init__ by each rank for itself
            return super().noise(n)
        half = n // 2
        return torch.cat([sample_noise(half, self.config.latent_dim, generator=self.rng),
                          sample_noise(half, self.config.latent_dim, generator=self.rank1)])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one_process_on_the_joint_batch(tmp_path):
    torch.set_num_threads(1)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"results_rank{r}.json").read_text()) for r in (0, 1)]
    for r in ranks:
        assert r["mlp_max_diff"] == 0.0 and r["dcgan_max_diff"] == 0.0  # the copies never drift apart
        assert r["cli_status"] == 0
    assert ranks[0]["mlp_history"] == ranks[1]["mlp_history"]  # the history is averaged over processes

    g, d = mlp_networks()
    single = TwoProcessesInOne(g, d, data.ring(), mlp_config(16), device="cpu", distributed=False)
    single.train(STEPS, progress=False)
    two = torch.load(tmp_path / "mlp_rank0.pt", weights_only=True)
    assert torch.allclose(two, flat_parameters(single), atol=1e-5), (two - flat_parameters(single)).abs().max()
    for key in ("d_loss", "g_loss"):
        assert ranks[0]["mlp_history"][key] == pytest.approx(single.history[key], abs=1e-5)

    state = torch.load(tmp_path / "dcgan.pt", weights_only=True)
    assert state["step"] == 3 and len(state["rng_per_rank"]) == 2
    cli_out = tmp_path / "cli"
    assert sorted(p.name for p in cli_out.iterdir()) == ["checkpoint.pt", "history.csv", "run.json",
                                                         "samples_step000002.png", "samples_step000004.png"]
    summary = json.loads((cli_out / "run.json").read_text())
    assert summary["processes"] == 2 and summary["backend"] == "gloo" and summary["steps"] == 4


def test_one_process_helpers():
    assert not dist_utils.is_distributed() and dist_utils.rank() == 0 and dist_utils.world_size() == 1
    info = dist_utils.init_distributed()  # no torchrun: nothing is started
    assert (info.rank, info.world_size, info.backend, info.is_main) == (0, 1, None, True)
    x = torch.arange(3.0)
    assert dist_utils.mean_over_processes(x) is x and dist_utils.gather_objects(7) == [7]
    assert dist_utils.rank_seed(5, 0) == 5 and dist_utils.rank_seed(5, 1) != dist_utils.rank_seed(6, 0)
    with pytest.raises(ValueError, match="rank must be a non-negative int"):
        dist_utils.rank_seed(0, -1)


def test_distributed_true_needs_a_process_group():
    g, d = mlp_networks()
    with pytest.raises(ValueError, match="needs a running torch.distributed process group"):
        GANTrainer(g, d, data.ring(), mlp_config(4), device="cpu", distributed=True)


def test_trainers_with_their_own_updates_are_refused_and_hook_trainers_accepted(monkeypatch):
    """Trainers that only fill in GANTrainer's hooks train under torchrun; those that write whole
    updates of their own (the unrolled GAN) say so instead of letting the processes drift apart."""
    from gancourse.remedies import PenalizedTrainer, UnrolledGANTrainer

    monkeypatch.setattr(dist_utils, "is_distributed", lambda: True)  # pretend torchrun started us
    monkeypatch.setattr(dist_utils, "wrap_ddp", lambda module, device: SimpleNamespace(module=module))
    g, d = mlp_networks()
    with pytest.raises(NotImplementedError, match="UnrolledGANTrainer writes its own updates and does not support "
                                                  "distributed"):
        UnrolledGANTrainer(g, d, data.ring(), mlp_config(4), device="cpu")
    assert PenalizedTrainer(g, d, data.ring(), mlp_config(4), device="cpu", r1_gamma=1.0).distributed


def test_torchrun_on_a_machine_with_too_few_gpus_is_refused(monkeypatch):
    """The GPU branch of init_distributed, exercised on the CPU: it checks LOCAL_RANK before joining."""
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29999")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert dist_utils.launched_by_torchrun()
    with pytest.raises(RuntimeError, match="LOCAL_RANK=3 but this machine has 2 GPUs"):
        dist_utils.init_distributed()
