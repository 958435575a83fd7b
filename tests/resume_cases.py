"""Small training runs, one per kind of trainer, used by the bit-exact resume test.

``tests/data/resume/`` holds, for each case, a checkpoint written after ``SAVE_AT`` steps and the
networks' parameters after ``SAVE_AT + MORE`` steps of the same uninterrupted run, both written by the
library as it was before its trainers were rebuilt around one extension seam (``GANTrainer``'s
hooks). :func:`tests.test_resume_fixtures` resumes each checkpoint with today's library and asks for
exactly those parameters: the refactor changed no arithmetic and no random-number draw.

To write the files again (only ever with a library whose behaviour is the reference):
``python tests/resume_cases.py tests/data/resume``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from gancourse.data import TensorSampler, ring
from gancourse.models import MLPDiscriminator, MLPGenerator
from gancourse.train import GANTrainer, TrainConfig

SAVE_AT, MORE = 4, 4


def _images(n: int, seed: int, channels: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, 28, 28, generator=g) * 2 - 1


def _mlp(config: TrainConfig, trainer=GANTrainer, **kwargs) -> GANTrainer:
    torch.manual_seed(config.seed)
    return trainer(MLPGenerator(config.latent_dim, 2, (16, 16)), MLPDiscriminator(2, (16, 16)), ring(), config,
                   device="cpu", **kwargs)


def plain() -> GANTrainer:
    return _mlp(TrainConfig(latent_dim=4, batch_size=16, seed=1, log_every=3, n_fixed=8))


def wgan_gp() -> GANTrainer:
    return _mlp(TrainConfig(latent_dim=4, batch_size=16, seed=2, loss="wasserstein", gp_weight=10.0, d_steps=3,
                            betas=(0.0, 0.9), log_every=3, n_fixed=8))


def wgan_clip() -> GANTrainer:
    return _mlp(TrainConfig(latent_dim=4, batch_size=16, seed=3, loss="wasserstein", clip_value=0.01,
                            optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, d_steps=2, log_every=3, n_fixed=8))


def penalized() -> GANTrainer:
    from gancourse.remedies import PenalizedTrainer
    return _mlp(TrainConfig(latent_dim=4, batch_size=16, seed=4, gp_weight=1.0, log_every=3, n_fixed=8),
                PenalizedTrainer, r1_gamma=1.0, weight_decay=1e-3)


def unrolled() -> GANTrainer:
    from gancourse.remedies import UnrolledGANTrainer
    return _mlp(TrainConfig(latent_dim=4, batch_size=16, seed=5, log_every=3, n_fixed=8), UnrolledGANTrainer,
                unroll_steps=2)


def conditional() -> GANTrainer:
    from gancourse.variations.conditional import ConditionalDiscriminator, ConditionalGANTrainer, ConditionalGenerator
    cfg = TrainConfig(latent_dim=8, batch_size=8, seed=6, gp_weight=1.0, loss="wasserstein", log_every=3, n_fixed=6)
    torch.manual_seed(cfg.seed)
    labels = torch.arange(40) % 3
    real = TensorSampler(_images(40, 60), labels, device="cpu")
    return ConditionalGANTrainer(ConditionalGenerator(3, latent_dim=8, embed_dim=4, width=4),
                                 ConditionalDiscriminator(3, embed_dim=4, width=4), real, cfg, device="cpu")


def paired() -> GANTrainer:
    from gancourse.variations.blocks import PatchDiscriminator, UNet
    from gancourse.variations.pix2pix import PairedGANTrainer
    cfg = TrainConfig(batch_size=8, seed=7, log_every=3, n_fixed=4)
    torch.manual_seed(cfg.seed)
    inputs, targets = _images(40, 70), _images(40, 71)
    return PairedGANTrainer(UNet(1, 1, width=4), PatchDiscriminator(2, width=4), inputs, targets, cfg,
                            recon_weight=10.0, device="cpu")


def cyclegan() -> GANTrainer:
    from gancourse.variations.blocks import PatchDiscriminator, UNet
    from gancourse.variations.cyclegan import CycleGANTrainer
    cfg = TrainConfig(batch_size=8, seed=8, log_every=3, n_fixed=4)
    torch.manual_seed(cfg.seed)
    return CycleGANTrainer(UNet(1, 1, width=4), UNet(1, 1, width=4), PatchDiscriminator(1, width=4),
                           PatchDiscriminator(1, width=4), _images(40, 80), _images(40, 81), cfg,
                           identity_weight=1.0, device="cpu")


CASES = {f.__name__: f for f in (plain, wgan_gp, wgan_clip, penalized, unrolled, conditional, paired, cyclegan)}


def parameters(trainer: GANTrainer) -> dict[str, torch.Tensor]:
    """Every network's parameters and buffers, by name (the whole model state a run produces)."""
    out = {}
    for attr, value in vars(trainer).items():
        if isinstance(value, torch.nn.Module) and not attr.startswith("_"):
            out.update({f"{attr}.{k}": v.detach().clone() for k, v in value.state_dict().items()})
    return out


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in CASES.items():
        trainer = build()
        trainer.train(SAVE_AT, progress=False)
        trainer.save(folder / f"{name}.pt")
        trainer.train(MORE, progress=False)
        torch.save(parameters(trainer), folder / f"{name}_final.pt")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
