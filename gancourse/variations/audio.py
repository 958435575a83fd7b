"""Beyond images: a GAN for short sounds, one-dimensional signals (after WaveGAN, Donahue et al., 2019).

Nothing in a GAN is specific to images. A sound clip is a sequence of air-pressure samples, a 1-D
signal, and the generator/discriminator game works on it unchanged once the networks use 1-D
convolutions. WaveGAN (Donahue et al., 2019) did this for one-second clips of speech and drums by
flattening DCGAN's 5x5 convolutions into long 1-D ones; this module does the same in miniature.

- **Data** (:func:`make_notes`): short synthetic *notes* made offline, 1,024 samples at 8 kHz
  (0.128 s). Each has a random pitch between C4 and C5 (one octave), two overtones of random
  strength, random phases, and an envelope with a quick attack and an exponential decay, like a
  plucked string.
- **Networks** (:class:`WaveGenerator`, :class:`WaveDiscriminator`): 1-D convolutions. G stretches
  16 -> 64 -> 256 -> 1024 samples (nearest-neighbour upsampling, then a convolution, which avoids
  the periodic artefacts that strided transposed convolutions leave in audio); D mirrors it with
  stride-4 convolutions.
- **Metric**: each clip's pitch, read from its spectrum (:func:`dominant_frequency`,
  :func:`semitones`), and the distance between the pitch distributions of real and generated clips
  (:func:`pitch_distance`).

Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gancourse.models import check_shape

__all__ = ["SAMPLE_RATE", "CLIP_LENGTH", "LOWEST", "HIGHEST", "make_notes", "WaveGenerator", "WaveDiscriminator",
           "dominant_frequency", "semitones", "pitch_distance", "magnitude_spectrum", "concatenate_clips"]

#: Samples per second of every clip.
SAMPLE_RATE = 8000
#: Samples per clip (0.128 s at 8 kHz).
CLIP_LENGTH = 1024
#: The pitch range of the notes in Hz: middle C (C4) and the C an octave above (C5), with A4 = 440 Hz.
LOWEST, HIGHEST = 261.63, 523.25


def make_notes(n: int, generator: torch.Generator | None = None, *, low: float = LOWEST, high: float = HIGHEST,
               length: int = CLIP_LENGTH, rate: int = SAMPLE_RATE) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthesise ``n`` short notes: waves ``(n, 1, length)`` in [-1, 1] and their pitches ``(n,)`` in Hz.

    One clip is ``s(t) = env(t) * sum_k a_k sin(2 pi k f t + phi_k)`` for k = 1, 2, 3, with

    - ``f`` log-uniform between ``low`` and ``high`` (every semitone of the range equally likely);
    - ``a_1 = 1``, ``a_2 ~ U(0.2, 0.6)``, ``a_3 ~ U(0, 0.3)``, phases ``phi_k ~ U(0, 2 pi)``;
    - ``env(t) = min(1, t / 5 ms) * exp(-t / tau)`` with ``tau ~ U(30, 120) ms``;

    then scaled so that its peak is 0.9.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not 0 < low < high < rate / 6:
        raise ValueError(f"need 0 < low < high < rate / 6 (so the third harmonic stays below rate / 2), "
                         f"got low={low}, high={high}, rate={rate}")
    dev = generator.device if generator is not None else torch.device("cpu")

    def uniform(a: float, b: float, *shape: int) -> torch.Tensor:
        return a + (b - a) * torch.rand(*shape, generator=generator, device=dev)

    f = torch.exp(uniform(math.log(low), math.log(high), n))  # (n,) Hz
    t = torch.arange(length, device=dev, dtype=torch.float32) / rate  # (length,) seconds
    amps = torch.stack([torch.ones(n, device=dev), uniform(0.2, 0.6, n), uniform(0.0, 0.3, n)], dim=1)  # (n, 3)
    phases = uniform(0, 2 * math.pi, n, 3)
    k = torch.arange(1, 4, device=dev, dtype=torch.float32)
    angle = 2 * math.pi * f[:, None, None] * k[None, :, None] * t + phases[:, :, None]  # (n, 3, length)
    tone = (amps[:, :, None] * torch.sin(angle)).sum(dim=1)  # (n, length)
    tau = uniform(0.030, 0.120, n)
    envelope = (t / 0.005).clamp(max=1.0) * torch.exp(-t / tau[:, None])  # (n, length)
    wave = envelope * tone
    wave = 0.9 * wave / wave.abs().amax(dim=1, keepdim=True)
    return wave[:, None, :], f  # (n, 1, length), (n,)


def _check_kernel(kernel_size: int) -> None:
    if not isinstance(kernel_size, int) or kernel_size < 5 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd int >= 5, got {kernel_size!r}")


def _check_waves(waves: torch.Tensor, who: str, length: int | None = None) -> None:
    check_shape(waves, ("N", 1, length or "L"), who, "waves")


class WaveGenerator(nn.Module):
    """Noise ``(N, latent_dim)`` to waves ``(N, 1, 1024)`` in [-1, 1], with 1-D convolutions.

    ``z -> Linear -> (4w, 16) -> [upsample x4, conv 25] x3 -> (1, 1024) -> tanh``, with batch norm and
    ReLU between the layers, as in DCGAN.

    Args:
        latent_dim: size of the noise z.
        width: channels of the last hidden layer (the ones before have 2x and 4x as many).
        kernel_size: length of the convolution kernels (odd; 25 in WaveGAN).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, latent_dim: int = 64, width: int = 16, kernel_size: int = 25):
        super().__init__()
        _check_kernel(kernel_size)
        self.latent_dim, w, k = latent_dim, width, kernel_size

        def up(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Upsample(scale_factor=4, mode="nearest"), nn.Conv1d(c_in, c_out, kernel_size=k, padding=k // 2)]

        self.project = nn.Linear(latent_dim, 4 * w * 16)
        self.net = nn.Sequential(
            nn.BatchNorm1d(4 * w), nn.ReLU(),  # (4w) x 16
            *up(4 * w, 2 * w), nn.BatchNorm1d(2 * w), nn.ReLU(),  # (2w) x 64
            *up(2 * w, w), nn.BatchNorm1d(w), nn.ReLU(),  # (w) x 256
            *up(w, 1), nn.Tanh(),  # 1 x 1024
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_shape(z, ("N", self.latent_dim), "WaveGenerator", "noise")
        return self.net(self.project(z).view(z.shape[0], -1, 16))  # (N, latent) -> (N, 4w, 16) -> (N, 1, 1024)


class WaveDiscriminator(nn.Module):
    """Waves ``(N, 1, 1024)`` to logits ``(N,)``: stride-4 1-D convolutions of length 25, LeakyReLU(0.2).

    ``(1, 1024) -> (w, 256) -> (2w, 64) -> (4w, 16) -> Linear -> logit``. With ``minibatch_std``
    (Karras et al., 2018, section 3) one more channel holds the batch's average standard deviation
    of those features, so D can notice a batch of fakes that are all alike, a sign of mode collapse.
    ``width`` and ``kernel_size`` are as for :class:`WaveGenerator`.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, width: int = 16, kernel_size: int = 25, minibatch_std: bool = True):
        super().__init__()
        _check_kernel(kernel_size)
        w, k = width, kernel_size

        def down(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv1d(c_in, c_out, kernel_size=k, stride=4, padding=k // 2 - 1),
                    nn.LeakyReLU(negative_slope=0.2)]

        self.minibatch_std = minibatch_std
        self.net = nn.Sequential(
            *down(1, w),  # (w) x 256
            *down(w, 2 * w),  # (2w) x 64
            *down(2 * w, 4 * w),  # (4w) x 16
        )
        self.head = nn.Linear((4 * w + int(minibatch_std)) * 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_waves(x, "WaveDiscriminator", CLIP_LENGTH)
        h = self.net(x)  # (N, 4w, 16)
        if self.minibatch_std:
            spread = h.std(dim=0, unbiased=False).mean() if len(h) > 1 else h.new_zeros(())
            h = torch.cat([h, spread.expand(h.shape[0], 1, h.shape[2])], dim=1)  # (N, 4w + 1, 16)
        return self.head(h.flatten(start_dim=1)).squeeze(1)  # (N,)


@torch.no_grad()
def dominant_frequency(waves: torch.Tensor, rate: int = SAMPLE_RATE, n_fft: int = 16384) -> torch.Tensor:
    """The frequency in Hz of each clip's strongest spectral peak, shape ``(N,)``.

    The clip is multiplied by a Hann window and zero-padded to ``n_fft`` samples before the FFT, so the
    peak is located to within ``rate / n_fft`` Hz (about 0.5 Hz by default).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    _check_waves(waves, "dominant_frequency")
    x = waves[:, 0].float()
    x = x * torch.hann_window(x.shape[1], periodic=False, device=x.device)
    spectrum = torch.fft.rfft(x, n=max(n_fft, x.shape[1])).abs()  # (N, n_fft // 2 + 1)
    spectrum[:, 0] = 0  # ignore a constant offset
    return spectrum.argmax(dim=1).float() * rate / max(n_fft, x.shape[1])


def semitones(frequency: torch.Tensor, reference: float = LOWEST) -> torch.Tensor:
    """Pitch on the musical scale: ``12 log2(f / reference)``, semitones above ``reference`` (C4 by default).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    return 12 * torch.log2(torch.as_tensor(frequency, dtype=torch.float32).clamp_min(1e-3) / reference)


def pitch_distance(waves_a: torch.Tensor, waves_b: torch.Tensor, rate: int = SAMPLE_RATE) -> float:
    """Earth mover's distance between the pitch distributions of two sets of clips, in semitones.

    Each clip's pitch is ``semitones(dominant_frequency(clip))``. In one dimension the earth mover's
    (Wasserstein-1) distance is the mean gap between matching quantiles,
    ``W1 = integral_0^1 |F_a^-1(q) - F_b^-1(q)| dq``, computed exactly for the two sets of pitches by
    ``scipy.stats.wasserstein_distance``. It says by how many semitones, on average, the pitches of
    one set must move to match the other: 0 for identical distributions, 3 between a uniform octave
    (12 semitones) and a single pitch in its middle.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    from scipy.stats import wasserstein_distance

    pitch_a = semitones(dominant_frequency(waves_a, rate).cpu())
    pitch_b = semitones(dominant_frequency(waves_b, rate).cpu())
    return float(wasserstein_distance(pitch_a.double().numpy(), pitch_b.double().numpy()))


@torch.no_grad()
def magnitude_spectrum(waves: torch.Tensor, rate: int = SAMPLE_RATE) -> tuple[torch.Tensor, torch.Tensor]:
    """The average magnitude spectrum of a batch of clips, in decibels: ``(frequencies, dB)``, each ``(L // 2 + 1,)``.

    ``dB = 20 log10(mean_n |rfft(hann * x_n)|)``, with a Hann window on each clip.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    _check_waves(waves, "magnitude_spectrum")
    x = waves[:, 0].float()
    x = x * torch.hann_window(x.shape[1], periodic=False, device=x.device)
    magnitude = torch.fft.rfft(x).abs().mean(dim=0).cpu()
    freqs = torch.fft.rfftfreq(x.shape[1], d=1.0 / rate)
    return freqs, 20 * torch.log10(magnitude.clamp_min(1e-8))


def concatenate_clips(waves: torch.Tensor, rate: int = SAMPLE_RATE, gap: float = 0.08) -> torch.Tensor:
    """Join clips ``(N, 1, L)`` into one 1-D signal with ``gap`` seconds of silence after each, for listening.

    Pass the result to ``IPython.display.Audio(signal.numpy(), rate=rate)``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    _check_waves(waves, "concatenate_clips")
    silence = torch.zeros(waves.shape[0], round(gap * rate))
    return torch.cat([waves[:, 0].detach().float().cpu(), silence], dim=1).reshape(-1)
