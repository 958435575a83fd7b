"""Image-to-image variations: pix2pix, CycleGAN, super-resolution and inpainting (tiny shapes, CPU)."""

import pytest
import torch

from gancourse.data import TensorSampler
from gancourse.train import TrainConfig
from gancourse.variations.blocks import (
    PatchDiscriminator,
    TranslationTrainer,
    UNet,
    fit_supervised,
    reconstruction_loss,
    translate,
)
from gancourse.variations.cyclegan import CycleGANTrainer, ink_fraction, thick_strokes, thin_strokes, unpaired_domains
from gancourse.variations.inpainting import InpaintingGenerator, center_mask, mask_images
from gancourse.variations.pix2pix import PairedGANTrainer, silhouettes
from gancourse.variations.super_resolution import SRGenerator, bicubic, downsample

from helpers import changed, params, strokes


def config(**overrides):
    return TrainConfig(**{"batch_size": 8, "n_fixed": 4, "log_every": 3, "seed": 0, **overrides})


# -- shared blocks -----------------------------------------------------------------------------

def test_unet_and_patch_discriminator_shapes():
    torch.manual_seed(0)
    assert UNet(2, 1, width=4)(torch.randn(3, 2, 28, 28)).shape == (3, 1, 28, 28)
    out = UNet(1, 3, width=4)(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 3, 28, 28) and out.abs().max() <= 1
    assert PatchDiscriminator(2, width=4)(torch.randn(3, 2, 28, 28)).shape == (3, 7, 7)


def test_blocks_refuse_wrong_shapes_with_a_clear_message():
    with pytest.raises(ValueError, match=r"UNet expects images of shape \(N, 2, 28, 28\)"):
        UNet(2, 1, width=4)(torch.randn(3, 1, 28, 28))
    with pytest.raises(ValueError, match="PatchDiscriminator expects"):
        PatchDiscriminator(1, width=4)(torch.randn(3, 1, 14, 14))
    with pytest.raises(ValueError, match="reconstruction loss must be"):
        reconstruction_loss("l3")


def test_unet_skip_connections_carry_fine_detail():
    """A one-pixel change in the input changes the output near that pixel (through the 28x28 skip)."""
    torch.manual_seed(0)
    net = UNet(1, 1, width=4).eval()
    x = -torch.ones(1, 1, 28, 28)
    y = x.clone()
    y[0, 0, 3, 3] = 1.0
    diff = (net(x) - net(y)).abs()[0, 0]
    assert diff[2:5, 2:5].max() > 0
    assert diff[20:, 20:].max() == 0  # far away: outside the receptive field of that change


def test_fit_supervised_lowers_the_reconstruction_loss_and_translate_is_eval_mode():
    torch.manual_seed(0)
    x = strokes(32)
    net = UNet(1, 1, width=4)
    losses = fit_supervised(net, silhouettes(x), x, 40, batch_size=8, lr=2e-3, device="cpu")
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    net.train()
    out = translate(net, silhouettes(x[:3]))
    assert out.shape == (3, 1, 28, 28) and net.training  # mode restored
    with pytest.raises(ValueError, match="same number of examples"):
        fit_supervised(net, x[:3], x[:4], 1, device="cpu")


def test_fit_supervised_shows_a_progress_bar_only_when_asked(capsys):
    """Like GANTrainer.train, the baseline's loop shows a tqdm bar by default and none with progress=False."""
    x = strokes(8)
    fit_supervised(UNet(1, 1, width=4), silhouettes(x), x, 3, batch_size=4, device="cpu", progress=False)
    assert "reconstruction loss only" not in capsys.readouterr().err
    fit_supervised(UNet(1, 1, width=4), silhouettes(x), x, 3, batch_size=4, device="cpu")
    assert "reconstruction loss only" in capsys.readouterr().err


# -- pix2pix -------------------------------------------------------------------------------------

def test_silhouettes_cover_the_ink_in_blocks():
    x = strokes(4)
    mask = silhouettes(x, block=4)
    assert mask.shape == x.shape and set(mask.unique().tolist()) <= {-1.0, 1.0}
    assert ((x > 0) <= (mask > 0)).all()  # every stroke pixel lies inside the mask
    blocks = (mask[:, :, ::4, ::4] > 0).float()  # one value per 4x4 square ...
    assert torch.equal(torch.nn.functional.interpolate(blocks, scale_factor=4) * 2 - 1, mask)  # ... constant on it
    assert (mask > 0).sum() < 4 * (x > 0).sum()  # a rough mask, not the whole image
    by_hand = -torch.ones(1, 1, 28, 28)
    by_hand[0, 0, 5, 9] = 1.0
    expected = -torch.ones(1, 1, 28, 28)
    expected[0, 0, 4:8, 8:12] = 1.0
    assert torch.equal(silhouettes(by_hand), expected)
    with pytest.raises(ValueError, match="block must be a positive int dividing"):
        silhouettes(x, block=5)


def pix2pix_trainer(**kw):
    torch.manual_seed(0)
    x = strokes(32)
    return PairedGANTrainer(UNet(1, 1, width=4), PatchDiscriminator(2, width=4), silhouettes(x), x, config(**kw),
                            recon_weight=100.0, device="cpu")


def test_pix2pix_steps_update_only_their_own_network():
    t = pix2pix_trainer()
    g0, d0 = params(t.generator), params(t.discriminator)
    t.discriminator_step()
    assert not changed(g0, t.generator) and changed(d0, t.discriminator)
    d1 = params(t.discriminator)
    stats = t.generator_step()
    assert sorted(stats) == ["g_loss", "recon"]  # adversarial, reconstruction
    assert changed(g0, t.generator) and not changed(d1, t.discriminator)
    assert all(p.requires_grad for p in t.discriminator.parameters())


def test_pix2pix_generator_gets_gradient_from_the_discriminator():
    """With the reconstruction weight at 0, G still learns: its gradient comes through D."""
    t = pix2pix_trainer()
    t.recon_weight = 0.0
    x, _ = t.pairs.sample_with_labels(8, t.rng)
    t.loss.g(t.judge(t.discriminator, t.generator(x), x)).backward()
    grads = [p.grad for p in t.generator.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_pix2pix_training_lowers_the_right_losses():
    t = pix2pix_trainer()
    x, y = t.pairs.sample_with_labels(8, torch.Generator().manual_seed(1))
    t.pairs = TensorSampler(x, y)  # every step now sees (a resampling of) this one batch

    def d_loss():
        with torch.no_grad():
            return t.loss.d(t.judge(t.discriminator, y, x), t.judge(t.discriminator, t.generator(x), x)).item()

    def g_loss():
        with torch.no_grad():
            fake = t.generator(x)
            return (t.loss.g(t.judge(t.discriminator, fake, x)) + t.recon_weight * t.recon(fake, y)).item()

    before = d_loss()
    for _ in range(3):
        t.discriminator_step()
    assert d_loss() < before  # D steps lower D's loss
    before = g_loss()
    for _ in range(3):
        t.generator_step()
    assert g_loss() < before  # G steps lower G's adversarial + reconstruction loss
    # a short run lowers the reconstruction loss, recorded in the history
    t = pix2pix_trainer(lr_g=2e-3)
    history = t.train(30, progress=False)
    assert len(history["recon"]) == len(history["g_loss"]) == 30
    assert sum(history["recon"][-5:]) < 0.7 * sum(history["recon"][:5])


def test_pix2pix_discriminator_reads_the_input():
    """Conditional D: the same output judged with another input gets another verdict."""
    t = pix2pix_trainer()
    t.discriminator.eval()
    x = silhouettes(strokes(4))
    y = strokes(4)
    with torch.no_grad():
        assert not torch.allclose(t.judge(t.discriminator, y, x), t.judge(t.discriminator, y, x.flip(0)))


def test_pix2pix_output_follows_its_input():
    t = pix2pix_trainer(lr_g=2e-3)
    t.train(30, progress=False)
    x = strokes(4, seed=5)
    out = t.sample(inputs=silhouettes(x))
    assert out.shape == (4, 1, 28, 28)
    # each output is closer to its own target than to the others'
    dist = torch.cdist(out.flatten(1), x.flatten(1))
    assert (dist.argmin(dim=1) == torch.arange(4)).all()


def test_paired_trainer_snapshots_checkpoint_and_errors(tmp_path):
    t = pix2pix_trainer()
    t.train(3, snapshot_every=3, progress=False)
    assert set(t.snapshots) == {0, 3} and t.snapshots[3].shape == (4, 1, 28, 28)
    path = t.save(tmp_path / "p2p.pt")
    other = pix2pix_trainer().load(path)
    assert other.step == 3 and other.history["recon"] == t.history["recon"]
    assert torch.equal(other.fixed_inputs, t.fixed_inputs)
    x = strokes(4)
    with pytest.raises(ValueError, match="same number of examples"):
        PairedGANTrainer(UNet(1, 1, 4), PatchDiscriminator(2, 4), x, x[:3], config(), device="cpu")
    with pytest.raises(ValueError, match="conditional=False"):
        PairedGANTrainer(SRGenerator(7, 4), PatchDiscriminator(2, 4), downsample(x), x, config(), device="cpu")


def test_translation_trainer_rejects_a_missing_input_batch():
    message = r"TranslationTrainer expects fixed_inputs, a batch of images, of shape \(N, C, H, W\)"
    with pytest.raises(ValueError, match=message):
        TranslationTrainer(UNet(1, 1, 4), PatchDiscriminator(1, 4), lambda n, g=None: strokes(n), config(),
                           fixed_inputs=torch.zeros(3), device="cpu")


# -- CycleGAN ------------------------------------------------------------------------------------

def test_thin_and_thick_strokes_move_the_ink_fraction():
    x = strokes(6)
    thin, thick = thin_strokes(x), thick_strokes(x)
    assert thin.shape == thick.shape == x.shape
    assert (ink_fraction(thin) < ink_fraction(x)).all() and (ink_fraction(thick) > ink_fraction(x)).all()
    # a 3x8 bar loses a row and a column to the 2x2 erosion (2x7) and grows to 5x10 under the 3x3 dilation
    assert torch.allclose(ink_fraction(thin[:1]) / ink_fraction(x[:1]), torch.tensor([14 / 24]))
    assert torch.allclose(ink_fraction(thick[:1]) / ink_fraction(x[:1]), torch.tensor([50 / 24]))


def test_unpaired_domains_are_disjoint_halves():
    x = strokes(10)
    labels = torch.arange(10)
    a, la, b, lb = unpaired_domains(x, labels, seed=3)
    assert a.shape == b.shape == (5, 1, 28, 28)
    assert set(la.tolist()).isdisjoint(lb.tolist()) and len(set(la.tolist()) | set(lb.tolist())) == 10
    assert torch.equal(a, thin_strokes(x[la])) and torch.equal(b, thick_strokes(x[lb]))
    with pytest.raises(ValueError, match="one label per image"):
        unpaired_domains(x, labels[:3])


def cycle_trainer(identity_weight=0.0, **kw):
    torch.manual_seed(0)
    x = strokes(32)
    a, _, b, _ = unpaired_domains(x, torch.arange(32))
    return CycleGANTrainer(UNet(1, 1, 4), UNet(1, 1, 4), PatchDiscriminator(1, 4), PatchDiscriminator(1, 4), a, b,
                           config(loss="least_squares", **kw), identity_weight=identity_weight, device="cpu")


def test_cyclegan_shapes_and_which_networks_each_step_updates():
    t = cycle_trainer()
    assert t.sample().shape == (4, 1, 28, 28)
    g0 = {k: params(t.generator[k]) for k in ("ab", "ba")}
    d0 = {k: params(t.discriminator[k]) for k in ("a", "b")}
    t.discriminator_step()
    assert not any(changed(g0[k], t.generator[k]) for k in ("ab", "ba"))
    assert all(changed(d0[k], t.discriminator[k]) for k in ("a", "b"))
    d1 = {k: params(t.discriminator[k]) for k in ("a", "b")}
    stats = t.generator_step()
    assert sorted(stats) == ["cycle", "g_loss", "identity"] and stats["identity"] == 0  # identity is off
    assert all(changed(g0[k], t.generator[k]) for k in ("ab", "ba"))
    assert not any(changed(d1[k], t.discriminator[k]) for k in ("a", "b"))
    assert all(p.requires_grad for p in t.discriminator.parameters())


def test_cycle_loss_reaches_both_generators():
    t = cycle_trainer()
    a, b = t._batches()
    g = t.generator
    loss = torch.nn.functional.l1_loss(g["ba"](g["ab"](a)), a)
    loss.backward()
    for name in ("ab", "ba"):
        grads = [p.grad for p in g[name].parameters()]
        assert all(x is not None for x in grads) and any(x.abs().sum() > 0 for x in grads)
    assert all(p.grad is None for p in t.discriminator.parameters())


def test_cyclegan_training_lowers_the_cycle_loss():
    t = cycle_trainer(identity_weight=5.0, lr_g=2e-3)
    history = t.train(30, progress=False)
    for key in ("cycle", "identity", "g_loss", "d_loss"):
        assert len(history[key]) == 30
    assert history["identity"][0] > 0
    assert sum(history["cycle"][-5:]) < 0.7 * sum(history["cycle"][:5])


def test_cyclegan_rejects_mismatched_domains():
    x = strokes(4)
    with pytest.raises(ValueError, match="both domains need images of one shape"):
        CycleGANTrainer(UNet(1, 1, 4), UNet(1, 1, 4), PatchDiscriminator(1, 4), PatchDiscriminator(1, 4), x,
                        downsample(x), config(), device="cpu")


# -- super-resolution ----------------------------------------------------------------------------

def test_downsample_bicubic_and_sr_generator_shapes():
    x = strokes(3)
    low = downsample(x)
    assert low.shape == (3, 1, 7, 7)
    assert torch.allclose(low[0, 0, 0, 0], x[0, 0, :4, :4].mean())
    assert downsample(x, 2).shape == (3, 1, 14, 14)
    up = bicubic(low)
    assert up.shape == x.shape and up.abs().max() <= 1
    assert SRGenerator(in_size=7, width=4)(low).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="factor must be a positive int dividing"):
        downsample(x, 5)
    with pytest.raises(ValueError, match=r"SRGenerator expects images of shape \(N, 1, 7, 7\)"):
        SRGenerator(in_size=7, width=4)(x)


def test_super_resolution_trains_and_respects_its_input():
    torch.manual_seed(0)
    x = strokes(32)
    t = PairedGANTrainer(SRGenerator(7, 4), PatchDiscriminator(1, 4), downsample(x), x, config(lr_g=2e-3),
                         recon="l2", recon_weight=10.0, conditional=False, device="cpu")
    history = t.train(30, progress=False)
    assert sum(history["recon"][-5:]) < 0.7 * sum(history["recon"][:5])
    test = strokes(4, seed=9)
    out = t.sample(inputs=downsample(test))
    dist = torch.cdist(out.flatten(1), test.flatten(1))
    assert (dist.argmin(dim=1) == torch.arange(4)).all()


# -- inpainting ----------------------------------------------------------------------------------

def test_mask_and_inputs():
    mask = center_mask(28, 12)
    assert mask.shape == (1, 1, 28, 28) and mask.sum() == 144 and mask[0, 0, 14, 14] == 1 and mask[0, 0, 0, 0] == 0
    x = strokes(3)
    inputs = mask_images(x, mask)
    assert inputs.shape == (3, 2, 28, 28)
    assert (inputs[:, 0][mask[:, 0].expand(3, -1, -1) > 0] == 0).all()  # the hole is grey
    assert torch.equal(inputs[:, 0] * (1 - mask[:, 0]), x[:, 0] * (1 - mask[:, 0]))
    with pytest.raises(ValueError, match="hole must be between"):
        center_mask(28, 30)
    with pytest.raises(ValueError, match="mask must have shape"):
        mask_images(x, torch.ones(1, 1, 14, 14))


def test_inpainting_generator_only_paints_the_hole():
    torch.manual_seed(0)
    x = strokes(3)
    mask = center_mask(28, 12)
    out = InpaintingGenerator(width=4)(mask_images(x, mask))
    assert out.shape == (3, 1, 28, 28)
    keep = (1 - mask).bool().expand_as(x)
    assert torch.equal(out[keep], x[keep])
    assert not torch.equal(out[~keep], x[~keep])
    with pytest.raises(ValueError, match=r"\(N, 2, 28, 28\)"):
        InpaintingGenerator(width=4)(x)


def test_inpainting_trains_and_uses_the_context():
    torch.manual_seed(0)
    x = strokes(32)
    mask = center_mask(28, 8)
    t = PairedGANTrainer(InpaintingGenerator(4), PatchDiscriminator(1, 4), mask_images(x, mask), x,
                         config(lr_g=2e-3), recon="l2", recon_weight=100.0, conditional=False, device="cpu")
    history = t.train(30, progress=False)
    assert sum(history["recon"][-5:]) < 0.8 * sum(history["recon"][:5])
    # changing the context (outside the hole) changes what is painted inside it
    inputs = mask_images(strokes(2, seed=4), mask)
    other = inputs.clone()
    other[:, 0] = torch.where(mask[:, 0] > 0, other[:, 0], -other[:, 0])
    hole = mask.bool().expand(2, 1, 28, 28)
    assert not torch.allclose(t.sample(inputs=inputs)[hole], t.sample(inputs=other)[hole])
