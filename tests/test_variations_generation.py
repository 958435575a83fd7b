"""Tests for the generation variations: conditional, progressive, text-to-image and audio GANs.

Tiny networks and a handful of steps: shapes, the conditioning being respected, the right losses
falling and the right weights moving.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gancourse.data import TensorSampler
from gancourse.train import GANTrainer, TrainConfig
from gancourse.variations import audio, progressive
from gancourse.variations.audio import WaveDiscriminator, WaveGenerator, make_notes, pitch_distance
from gancourse.variations.conditional import (
    ConditionalDiscriminator,
    ConditionalGANTrainer,
    ConditionalGenerator,
    label_grid,
)
from gancourse.variations.progressive import (
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    ProgressiveSource,
    real_at,
    set_stage,
    train_progressive,
)
from gancourse.variations.text_to_image import VOCAB, BagOfWordsEncoder, digit_attributes, encode, make_captions

from helpers import changed, params

CPU = torch.device("cpu")


def _digits(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 'digits' in [-1, 1] with labels 0..9, enough for shape and loss tests."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1, torch.arange(n) % 10


def _tiny_cgan(seed: int = 0, **cfg) -> ConditionalGANTrainer:
    torch.manual_seed(seed)
    images, labels = _digits()
    g = ConditionalGenerator(10, latent_dim=8, embed_dim=4, width=8)
    d = ConditionalDiscriminator(10, embed_dim=4, width=8)
    config = TrainConfig(latent_dim=8, batch_size=16, seed=seed, n_fixed=20, log_every=5, **cfg)
    return ConditionalGANTrainer(g, d, TensorSampler(images, labels), config, device=CPU)


def test_package_lists_all_variations_and_imports_none():
    import gancourse.variations as package

    tree = ast.parse(Path(package.__file__).read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    for name in ("conditional", "progressive", "text_to_image", "audio", "pix2pix", "cyclegan",
                 "super_resolution", "inpainting"):
        assert f"gancourse.variations.{name}" in package.__doc__


# ---------------------------------------------------------------------------------------------
# Conditional GAN


def test_conditional_shapes():
    g = ConditionalGenerator(10, latent_dim=8, embed_dim=4, width=8)
    d = ConditionalDiscriminator(10, embed_dim=4, width=8)
    z, y = torch.randn(5, 8), torch.arange(5)
    x = g(z, y)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert d(x, y).shape == (5,)


def test_conditional_label_changes_the_output():
    torch.manual_seed(0)
    g = ConditionalGenerator(10, latent_dim=8, embed_dim=4, width=8).eval()
    d = ConditionalDiscriminator(10, embed_dim=4, width=8).eval()
    z = torch.randn(4, 8)
    x3, x7 = g(z, torch.full((4,), 3)), g(z, torch.full((4,), 7))
    # every image changes with its label (relative to its size: DCGAN's initial outputs are tiny)
    assert ((x3 - x7).abs().amax(dim=(1, 2, 3)) > 1e-2 * x3.abs().amax(dim=(1, 2, 3))).all()
    assert torch.equal(g(z, torch.full((4,), 3)), x3)  # and the same label gives the same image
    out3, out7 = d(x3, torch.full((4,), 3)), d(x3, torch.full((4,), 7))
    assert (out3 - out7).abs().min() > 1e-6  # D's verdict depends on the label it is shown


def test_conditional_errors_name_the_problem():
    g = ConditionalGenerator(10, latent_dim=8, embed_dim=4, width=8)
    d = ConditionalDiscriminator(10, embed_dim=4, width=8)
    with pytest.raises(ValueError, match="one condition per example"):
        g(torch.randn(3, 8), torch.arange(2))
    with pytest.raises(ValueError, match=r"noise of shape \(N, 8\)"):
        g(torch.randn(3, 5), torch.arange(3))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        d(torch.randn(3, 1, 8, 8), torch.arange(3))
    with pytest.raises(ValueError, match="condition must be"):
        ConditionalGenerator(1)
    with pytest.raises(ValueError, match="TensorSampler built with labels"):
        ConditionalGANTrainer(g, d, TensorSampler(torch.randn(4, 1, 28, 28)))


def test_conditional_d_steps_lower_d_loss_and_leave_g_alone():
    tr = _tiny_cgan(lr_d=1e-3)
    g_before = params(tr.generator)
    losses = [float(tr.discriminator_step()["d_loss"]) for _ in range(15)]
    assert sum(losses[-3:]) < sum(losses[:3])
    assert not changed(g_before, tr.generator)


def test_conditional_g_steps_lower_g_loss_and_leave_d_alone():
    tr = _tiny_cgan(lr_g=1e-3)
    d_before = params(tr.discriminator)
    losses = [float(tr.generator_step()["g_loss"]) for _ in range(15)]
    assert sum(losses[-3:]) < sum(losses[:3])
    assert not changed(d_before, tr.discriminator)
    # The gradient reached G's label embedding: the label is part of what G learns.
    tr.opt_g.zero_grad()
    tr.generator_step()
    assert tr.generator.embed.weight.grad is not None and tr.generator.embed.weight.grad.abs().sum() > 0


def test_conditional_trainer_runs_with_history_snapshots_and_penalty():
    tr = _tiny_cgan(loss="wasserstein", gp_weight=10.0)
    history = tr.train(10, snapshot_every=5, progress=False)
    assert len(history["d_loss"]) == 10 and all(math.isfinite(v) for v in history["d_loss"])
    assert set(tr.snapshots) == {0, 5, 10} and tr.snapshots[10].shape == (20, 1, 28, 28)
    assert tr.fixed_conditions.tolist() == [i % 10 for i in range(20)]
    out = tr.sample(conditions=torch.tensor([1, 2, 3]))
    assert out.shape == (3, 1, 28, 28) and tr.generator.training  # eval mode only while sampling
    with pytest.raises(ValueError, match="one condition per noise vector"):
        tr.sample(noise=torch.randn(2, 8), conditions=torch.tensor([1, 2, 3]))


def test_label_grid():
    assert label_grid(3, 2).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError):
        label_grid(0, 2)


# ---------------------------------------------------------------------------------------------
# Progressive GAN


def test_progressive_shapes_at_each_stage():
    g, d = ProgressiveGenerator(latent_dim=8, width=8), ProgressiveDiscriminator(width=8)
    z = torch.randn(3, 8)
    for stage, r in enumerate(progressive.RESOLUTIONS):
        for alpha in (0.0, 0.5, 1.0):
            set_stage(g, d, stage, alpha)
            x = g(z)
            assert x.shape == (3, 1, r, r) and x.abs().max() <= 1
            assert d(x).shape == (3,)
    with pytest.raises(ValueError, match=r"stage 2 expects images of shape \(N, 1, 28, 28\)"):
        d(torch.randn(3, 1, 14, 14))
    with pytest.raises(ValueError, match="alpha"):
        g.set_stage(1, 1.5)
    with pytest.raises(ValueError, match="stage"):
        g.set_stage(3)


def test_progressive_fade_in_starts_from_the_smaller_network():
    """At alpha = 0 a grown network computes exactly what it computed before growing."""
    torch.manual_seed(0)
    g, d = ProgressiveGenerator(latent_dim=8, width=8), ProgressiveDiscriminator(width=8)
    z = torch.randn(4, 8)
    for stage in (1, 2):
        set_stage(g, d, stage - 1, 1.0)
        small = g(z)
        set_stage(g, d, stage, 0.0)
        assert torch.allclose(g(z), F.interpolate(small, scale_factor=2, mode="nearest"), atol=1e-6)
        x = torch.rand(4, 1, progressive.RESOLUTIONS[stage], progressive.RESOLUTIONS[stage])
        grown = d(x)
        set_stage(g, d, stage - 1, 1.0)
        assert torch.allclose(grown, d(F.avg_pool2d(x, 2)), atol=1e-6)
        # and at alpha = 1 the new block has taken over: the output differs from the upsampled one
        set_stage(g, d, stage, 1.0)
        assert not torch.allclose(g(z), F.interpolate(small, scale_factor=2, mode="nearest"), atol=1e-3)


def test_real_at():
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert torch.equal(real_at(x, 28), x)
    assert real_at(x, 7).shape == (2, 1, 7, 7)
    assert torch.allclose(real_at(x, 14).mean(), x.mean(), atol=1e-6)
    blended = real_at(x, 14, alpha=0.0)  # the 7x7 picture, shown at 14x14
    assert torch.allclose(blended, F.interpolate(real_at(x, 7), scale_factor=2, mode="nearest"), atol=1e-6)
    with pytest.raises(ValueError, match="resolution"):
        real_at(x, 8)


def test_progressive_training_lowers_d_loss_and_returns_each_resolution():
    torch.manual_seed(0)
    images, _ = _digits(32)
    g, d = ProgressiveGenerator(latent_dim=8, width=8), ProgressiveDiscriminator(width=8)
    cfg = TrainConfig(latent_dim=8, batch_size=16, seed=0, n_fixed=6, log_every=4, lr_d=1e-3)
    tr = GANTrainer(g, d, ProgressiveSource(TensorSampler(images), g), cfg, device=CPU)
    losses = [float(tr.discriminator_step()["d_loss"]) for _ in range(12)]
    assert sum(losses[-3:]) < sum(losses[:3])
    seen = []
    samples = train_progressive(tr, steps=[3, 4, 4], fade_fraction=0.5, callback=lambda t, s: seen.append(s))
    assert seen == [0, 1, 2]
    assert {r: tuple(s.shape) for r, s in samples.items()} == {7: (6, 1, 7, 7), 14: (6, 1, 14, 14), 28: (6, 1, 28, 28)}
    assert tr.step == 11 and g.alpha == 1.0 and g.stage == 2
    assert progressive.fade_schedule(0, 4) == 0.25 and progressive.fade_schedule(9, 4) == 1.0
    with pytest.raises(ValueError, match="one step count per stage"):
        train_progressive(tr, steps=[1, 1])


# ---------------------------------------------------------------------------------------------
# Text-to-image


def _stroke(angle: float, width: int) -> torch.Tensor:
    """A straight stroke through the centre of a 28x28 image, leaning right by `angle` (radians)."""
    img = -torch.ones(1, 1, 28, 28)
    for r in range(4, 24):
        c = round(14 + (14 - r) * math.tan(angle))
        img[0, 0, r, c - width // 2:c - width // 2 + width] = 1.0
    return img


def test_digit_attributes_ink_and_slant():
    thin, thick = _stroke(0.0, 1), _stroke(0.0, 3)
    right, left = _stroke(0.4, 2), _stroke(-0.4, 2)
    ink, slant = (t.tolist() for t in digit_attributes(torch.cat([thin, thick, right, left])))
    assert ink[1] == pytest.approx(3 * ink[0])
    assert abs(slant[0]) < 0.05 and slant[2] > 0.3 and slant[3] < -0.3
    assert slant[2] == pytest.approx(-slant[3], abs=0.05)


def test_make_captions_and_encode():
    images = torch.cat([_stroke(a, w) for a in (-0.3, 0.0, 0.5) for w in (1, 2, 4)])  # 9 strokes
    labels = torch.full((9,), 7)
    captions = make_captions(images, labels)
    assert len(captions) == 9 and all(c.split()[0] in ("a", "an") and c.endswith(" seven") for c in captions)
    assert all(set(c.split()) <= set(VOCAB) for c in captions)
    assert captions[0] == "a thin seven"  # left-leaning: not slanted to the right, not the most upright
    assert captions[5] == "a thick upright seven" and captions[6] == "a thin slanted seven"
    assert captions[4] == "an upright seven"
    bags = encode(["a thick three", "A  thin   thin one"])
    assert bags.shape == (2, len(VOCAB))
    assert bags[1, VOCAB.index("thin")] == 2 and bags[0, VOCAB.index("three")] == 1 and bags.sum() == 7
    with pytest.raises(ValueError, match="'cat'"):
        encode(["a thick cat"])
    assert torch.equal(encode(["a thick cat"], unknown="ignore"), encode(["a thick"]))
    with pytest.raises(ValueError, match="list of sentences"):
        encode("a three")


def test_text_conditioned_networks_respect_the_caption():
    torch.manual_seed(0)
    g = ConditionalGenerator(BagOfWordsEncoder(len(VOCAB), 4), latent_dim=8, embed_dim=4, width=8).eval()
    d = ConditionalDiscriminator(BagOfWordsEncoder(len(VOCAB), 4), embed_dim=4, width=8).eval()
    z = torch.randn(2, 8)
    thick, thin = encode(["a thick three"] * 2), encode(["a thin three"] * 2)
    x = g(z, thick)
    assert x.shape == (2, 1, 28, 28)
    assert ((x - g(z, thin)).abs().amax(dim=(1, 2, 3)) > 1e-2 * x.abs().amax(dim=(1, 2, 3))).all()
    assert (d(x, thick) - d(x, thin)).abs().min() > 1e-6
    with pytest.raises(ValueError, match=rf"bags of words of shape \(N, {len(VOCAB)}\)"):
        g(z, torch.zeros(2, 3))


def test_bag_of_words_encoder_is_a_sum_embedding_bag_with_its_initialisation():
    """Word vectors start as N(0, 1), as in nn.EmbeddingBag and nn.Embedding, so that a caption's vector
    is as large as a label's vector in the conditional GAN (nn.Linear's default would make it ~4x smaller)."""
    torch.manual_seed(0)
    enc = BagOfWordsEncoder(len(VOCAB), 64)
    vectors = enc.words.weight.detach().T  # (vocab, 64): one row per word
    assert abs(vectors.std().item() - 1) < 0.1 and abs(vectors.mean().item()) < 0.1
    label_vectors = torch.nn.Embedding(10, 64).weight.detach()
    assert vectors.norm(dim=1).mean() == pytest.approx(label_vectors.norm(dim=1).mean().item(), rel=0.15)
    # the same computation as a sum-mode EmbeddingBag holding the same vectors
    bag = torch.nn.EmbeddingBag(len(VOCAB), 64, mode="sum")
    with torch.no_grad():
        bag.weight.copy_(vectors)
    captions = ["a thick three", "an upright seven", "thin thin one"]
    words = torch.tensor([[VOCAB.index(w) for w in c.split()] for c in captions])  # (3, 3)
    assert torch.allclose(enc(encode(captions)), bag(words), atol=1e-5)


def test_text_to_image_trainer_needs_prompts_and_lowers_d_loss():
    images, labels = _digits()
    bags = encode(make_captions(images, labels))
    g = ConditionalGenerator(BagOfWordsEncoder(len(VOCAB), 4), latent_dim=8, embed_dim=4, width=8)
    d = ConditionalDiscriminator(BagOfWordsEncoder(len(VOCAB), 4), embed_dim=4, width=8)
    cfg = TrainConfig(latent_dim=8, batch_size=16, seed=0, n_fixed=2, lr_d=1e-3)
    with pytest.raises(ValueError, match="fixed_conditions must be given"):
        ConditionalGANTrainer(g, d, TensorSampler(images, bags), cfg, device=CPU)
    tr = ConditionalGANTrainer(g, d, TensorSampler(images, bags), cfg, device=CPU,
                               fixed_conditions=encode(["a thick one", "a thin seven"]))
    losses = [float(tr.discriminator_step()["d_loss"]) for _ in range(15)]
    assert sum(losses[-3:]) < sum(losses[:3])
    assert tr.sample().shape == (2, 1, 28, 28)


# ---------------------------------------------------------------------------------------------
# Audio


def test_make_notes_have_the_pitch_they_were_given():
    waves, freqs = make_notes(200, torch.Generator().manual_seed(0))
    assert waves.shape == (200, 1, audio.CLIP_LENGTH) and freqs.shape == (200,)
    assert waves.abs().amax(dim=(1, 2)).allclose(torch.full((200,), 0.9))
    assert ((freqs >= audio.LOWEST) & (freqs <= audio.HIGHEST)).all()
    found = audio.semitones(audio.dominant_frequency(waves))
    assert (found - audio.semitones(freqs)).abs().max() < 0.1  # the spectrum's peak is the pitch drawn
    marks = torch.tensor([audio.LOWEST, 440.0, audio.HIGHEST])
    assert audio.semitones(marks).tolist() == pytest.approx([0, 9, 12], abs=1e-3)
    with pytest.raises(ValueError, match="low < high"):
        make_notes(2, low=500.0, high=300.0)


def test_pitch_distance_golden_values():
    waves, _ = make_notes(600, torch.Generator().manual_seed(1))
    other, _ = make_notes(600, torch.Generator().manual_seed(2))
    assert pitch_distance(waves, waves) == pytest.approx(0.0, abs=1e-6)
    assert pitch_distance(waves, other) < 0.4  # two samples of the same distribution
    middle = 2 ** (6 / 12) * audio.LOWEST  # 6 semitones above C4, the middle of the octave
    one_pitch, _ = make_notes(600, torch.Generator().manual_seed(3), low=middle * 0.9999, high=middle * 1.0001)
    assert pitch_distance(waves, one_pitch) == pytest.approx(3.0, abs=0.3)  # uniform octave vs its centre


def test_pitch_distance_is_the_mean_gap_between_matching_quantiles():
    # W1 in 1-D = integral over q of |F_a^-1(q) - F_b^-1(q)|: scipy's exact value against a fine quantile sum
    waves, _ = make_notes(500, torch.Generator().manual_seed(4))
    other, _ = make_notes(300, torch.Generator().manual_seed(5), high=audio.LOWEST * 2 ** (7 / 12))
    pitch_a, pitch_b = (audio.semitones(audio.dominant_frequency(w)).double() for w in (waves, other))
    q = (torch.arange(4000, dtype=torch.float64) + 0.5) / 4000
    by_quantiles = float((torch.quantile(pitch_a, q) - torch.quantile(pitch_b, q)).abs().mean())
    assert pitch_distance(waves, other) == pytest.approx(by_quantiles, rel=2e-3)


def test_wave_networks_shapes_spectrum_and_playback():
    g, d = WaveGenerator(latent_dim=8, width=4), WaveDiscriminator(width=4)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 1, 1024) and x.abs().max() <= 1
    assert d(x).shape == (3,)
    freqs, db = audio.magnitude_spectrum(x)
    assert freqs.shape == db.shape == (513,) and freqs[-1] == audio.SAMPLE_RATE / 2
    signal = audio.concatenate_clips(x, gap=0.01)
    assert signal.shape == (3 * (1024 + 80),)
    with pytest.raises(ValueError, match=r"waves of shape \(N, 1, 1024\)"):
        d(torch.randn(3, 1024))
    # With the minibatch standard deviation, D's verdict on a clip depends on the rest of its batch.
    quiet = torch.cat([x[:1], 0.01 * x[1:]])
    assert not torch.allclose(d(x)[0], d(quiet)[0])
    plain = WaveDiscriminator(width=4, minibatch_std=False)
    assert torch.allclose(plain(x)[0], plain(quiet)[0])
    with pytest.raises(ValueError, match=r"noise of shape \(N, 8\)"):
        g(torch.randn(3, 4))


def test_wave_gan_steps_lower_the_right_losses():
    torch.manual_seed(0)
    waves, _ = make_notes(64, torch.Generator().manual_seed(0))
    g, d = WaveGenerator(latent_dim=8, width=4), WaveDiscriminator(width=4)
    tr = GANTrainer(g, d, TensorSampler(waves), TrainConfig(latent_dim=8, batch_size=16, seed=0, lr_d=1e-3,
                                                            lr_g=1e-3), device=CPU)
    g_before = params(g)
    d_losses = [float(tr.discriminator_step()["d_loss"]) for _ in range(12)]
    assert sum(d_losses[-3:]) < sum(d_losses[:3]) and not changed(g_before, g)
    d_before = params(d)
    g_losses = [float(tr.generator_step()["g_loss"]) for _ in range(12)]
    assert sum(g_losses[-3:]) < sum(g_losses[:3]) and not changed(d_before, d)
