"""The baseline: a GAN loop written the way the well-known PyTorch DCGAN example writes it.

The example (``pytorch/examples``, ``dcgan/main.py``) is the loop most people start from. What matters
for speed is how it is written, so this loop keeps its habits:

- batches come from a ``torch.utils.data.DataLoader`` (shuffled, one epoch after another) over the
  data tensor, one Python ``__getitem__`` per example and a collate per batch;
- the discriminator ends in a sigmoid and the losses are ``nn.BCELoss`` on probabilities, with a
  label tensor filled for each half of the batch;
- D is updated on the real half and on the fake half with two backward passes; the generator's
  update reuses that fake batch and backpropagates through D without freezing it;
- every step reads ``D(x)``, ``D(G(z))`` and both losses back to the host with ``.item()`` and prints a
  log line.

The models, the data tensor, the batch size, the optimiser (Adam, the same learning rates and betas)
and the seed are the caller's, the same as the gancourse trainer gets, so that only the loop differs.
The example's two data-loading worker processes are left out (``num_workers=0``): on a small machine
they would compete with the training process for the same cores and make the comparison noisy.
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class BaselineLoop:
    """The DCGAN example's training loop around a generator, a discriminator (logits) and a data tensor."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data: torch.Tensor, *, latent_dim: int,
                 batch_size: int, lr_g: float = 2e-4, lr_d: float = 2e-4, betas=(0.5, 0.999), seed: int = 0,
                 log=None):
        torch.manual_seed(seed)  # shuffling and noise come from the global generator, as in the example
        self.netG, self.netD = generator, nn.Sequential(discriminator, nn.Sigmoid())  # D outputs probabilities
        self.latent_dim, self.batch_size = latent_dim, batch_size
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas)
        self.optimizerG = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas)
        self.dataloader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True, drop_last=True,
                                     num_workers=0)
        # The example prints to a terminal, which flushes every line; /dev/null with line buffering
        # keeps that cost (one write per step) without flooding the benchmark's own output.
        self.log = log if log is not None else open(os.devnull, "w", buffering=1)
        self._eval_noise = torch.Generator().manual_seed(seed + 1)  # sampling leaves the training stream alone
        self.step = 0
        self._batches = iter(())

    def _next_batch(self) -> torch.Tensor:
        try:
            return next(self._batches)[0]
        except StopIteration:  # a new epoch
            self._batches = iter(self.dataloader)
            return next(self._batches)[0]

    def set_lr(self, lr_g: float, lr_d: float) -> None:
        for group in self.optimizerG.param_groups:
            group["lr"] = lr_g
        for group in self.optimizerD.param_groups:
            group["lr"] = lr_d

    def train(self, steps: int) -> None:
        real_label, fake_label = 1.0, 0.0
        for _ in range(steps):
            real = self._next_batch()
            b_size = real.size(0)
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            self.netD.zero_grad()
            label = torch.full((b_size,), real_label, dtype=torch.float)
            output = self.netD(real)
            errD_real = self.criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            noise = torch.randn(b_size, self.latent_dim)
            fake = self.netG(noise)
            label.fill_(fake_label)
            output = self.netD(fake.detach())
            errD_fake = self.criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            self.optimizerD.step()

            # (2) Update G: maximize log(D(G(z)))
            self.netG.zero_grad()
            label.fill_(real_label)
            output = self.netD(fake)
            errG = self.criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            self.optimizerG.step()

            self.step += 1
            print(f"[{self.step}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} "
                  f"D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}", file=self.log)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """Samples in eval mode (as the trainer's ``sample``), for the quality measurements."""
        self.netG.eval()
        try:
            return self.netG(torch.randn(n, self.latent_dim, generator=self._eval_noise))
        finally:
            self.netG.train()
