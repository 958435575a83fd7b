"""Self-checking cells for the programming exercise: is each piece of the learner's GAN right?

The exercise asks for six pieces, and each has a check that runs the learner's code, prints one
line per test it passes (``✓``) and, at the first test it fails, a line (``✗``) saying what is wrong
and how to fix it. A failed check then raises :class:`CheckFailed`, a subclass of
``AssertionError``, so a notebook run stops there (and a test run fails). A passed check returns a
:class:`CheckReport`.

The contract the checks hold the learner's code to (the same as :mod:`gancourse.models` and
:mod:`gancourse.losses`):

- **discriminator** ``D``: an ``nn.Module`` taking images ``(N, 1, 28, 28)`` in [-1, 1] and returning
  **logits**, one real number per image, shape ``(N,)``; no sigmoid at the end (the loss applies it);
- **generator** ``G``: an ``nn.Module`` taking noise ``(N, latent_dim)`` and returning images
  ``(N, 1, 28, 28)`` in [-1, 1], which a final ``tanh`` guarantees;
- **losses** ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``: scalar tensors, averaged
  over the batch, computed from logits: the discriminator's binary cross-entropy with real = 1 and
  fake = 0, and the generator's **non-saturating** loss ``-E[log D(G(z))]``;
- **discriminator step** ``discriminator_step(G, D, opt_d, real, z)``: one update of D on a real
  batch and on ``G(z)``; G must neither change nor receive gradients; returns D's loss as a number;
- **generator step** ``generator_step(G, D, opt_g, z)``: one update of G through D; D must not
  change (and must not stay frozen afterwards); returns G's loss as a number;
- **training loop** ``train_gan(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim)``:
  alternates the two steps, each step on a fresh random real batch of ``batch_size`` images and
  fresh noise (new for the D step and again for the G step), and returns
  ``{"d_loss": [...], "g_loss": [...]}``, one entry per step.

The step checks run the learner's function on small *probe* networks with plain SGD, for which the
right update is known exactly, so a wrong loss, swapped labels, a missing ``detach()`` or a missing
``zero_grad()`` each show up as a specific, named difference. Given the learner's own networks and
optimiser too, they also make one dry run on those (and restore every weight and optimiser state
afterwards). The loop check trains probe networks with the learner's loop while hooks on them
record which real images D is shown and which noise G gets, so that a stale real batch, reused noise
or a hard-coded step count is named. Every check works on copies or restores what it touched:
running a check never trains the learner's networks.

Explained in the chapter "Programming exercise: build a GAN".
"""

from __future__ import annotations

import copy
import functools
import math
import textwrap
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.losses import d_minimax_loss, g_minimax_loss, g_nonsaturating_loss

__all__ = [
    "CheckFailed",
    "CheckReport",
    "check_discriminator",
    "check_generator",
    "check_losses",
    "check_discriminator_step",
    "check_generator_step",
    "check_training_loop",
]

_IMAGE_SHAPE = (1, 28, 28)


class CheckFailed(AssertionError):
    """Raised by a check when the learner's code is wrong; the message holds the problem and a hint.

    Attributes:
        check: the name of the check that failed (e.g. ``"check_losses"``).
        problem: what is wrong, in one sentence.
        hint: how to fix it.

    Explained in the chapter "Programming exercise: build a GAN".
    """

    def __init__(self, check: str, problem: str, hint: str):
        self.check, self.problem, self.hint = check, problem, hint
        super().__init__(f"{check}: {problem}\nHint: {hint}")


@dataclass(frozen=True)
class CheckReport:
    """What a passed check confirmed: its name and one line per test passed.

    Explained in the chapter "Programming exercise: build a GAN".
    """

    check: str
    passed: tuple[str, ...]

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<{self.check}: all {len(self.passed)} tests passed>"


class _Checker:
    """Prints one line per test and raises :class:`CheckFailed` at the first failure."""

    def __init__(self, name: str, title: str):
        self.name = name
        self.passed: list[str] = []
        self.lines = [title]  # printed together, so that a notebook shows one block of output

    def ok(self, message: str) -> None:
        self.lines.append(_wrap(message, "  \u2713 "))
        self.passed.append(message)

    def fail(self, problem: str, hint: str):
        self.lines.append(_wrap(problem, "  \u2717 ") + "\n" + _wrap(hint, "    Hint: "))
        print("\n".join(self.lines), flush=True)
        raise CheckFailed(self.name, problem, hint)

    def call(self, what: str, fn: Callable, *args):
        """Run the learner's ``fn(*args)``; turn an exception into a failure with a hint."""
        try:
            return fn(*args)
        except CheckFailed:
            raise
        except NotImplementedError:
            self.fail(f"{what} is not written yet (it raised NotImplementedError).",
                      "Replace the line `raise NotImplementedError(...)` with your code, run that cell, "
                      "then run this check again.")
        except Exception as err:  # the learner's bug, shown with its own message
            self.fail(f"{what} raised {type(err).__name__}: {err}", _hint_for_error(err))

    def done(self) -> CheckReport:
        self.lines.append(f"All {len(self.passed)} tests passed.")
        print("\n".join(self.lines), flush=True)
        return CheckReport(self.name, tuple(self.passed))


def _wrap(text: str, first: str) -> str:
    """``text`` after the prefix ``first``, wrapped to lines of at most 80 characters (a notebook's width)."""
    return textwrap.fill(text, width=80, initial_indent=first, subsequent_indent=" " * 4,
                         break_long_words=False, break_on_hyphens=False)


def _keeps_rng(check: Callable) -> Callable:
    """Run a check without disturbing the learner's random numbers (CPU and CUDA generators are restored)."""

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
            return check(*args, **kwargs)

    return wrapper


def _hint_for_error(err: Exception) -> str:
    text = str(err)
    if "all elements of input should be between 0 and 1" in text or "between 0 and 1" in text:
        return ("nn.BCELoss and F.binary_cross_entropy expect probabilities, but D returns logits: use "
                "F.binary_cross_entropy_with_logits (or nn.BCEWithLogitsLoss), which applies the sigmoid itself.")
    if "shape" in text or "size" in text or "mat1 and mat2" in text:
        return ("A shape does not fit. Print the shape of each tensor (x.shape) as it goes through your code; "
                "the contract is in the exercise's instructions for this step.")
    if "dtype" in text or "Double" in text or "Float" in text:
        return "Two tensors have different dtypes: create new tensors with torch.ones_like(x) / torch.zeros_like(x)."
    if "device" in text:
        return "Two tensors are on different devices: create new tensors on x.device (or with torch.ones_like(x))."
    if "backward through the graph a second time" in text:
        return ("A graph was used twice: compute a fresh forward pass (D(...), G(z)) inside the step "
                "rather than reusing an output from an earlier step.")
    return "Read the error message above; the traceback shows the line of your code where it happened."


# ---------------------------------------------------------------------------------------------
# helpers


def _device_of(module: nn.Module | None, device=None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if module is not None:
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def _params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: Sequence[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(b, p.detach()) for b, p in zip(before, module.parameters()))


def _has_grad(module: nn.Module) -> bool:
    return any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters())


def _number(value) -> float | None:
    """The learner's returned loss as a float (a number or a one-element tensor); None if neither."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().reshape(-1)[0]) if value.numel() == 1 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _close(a: float, b: float, rel: float = 1e-3) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(b))


def _as_module_with_params(checker: _Checker, model, what: str) -> None:
    if not isinstance(model, nn.Module):
        checker.fail(f"{what} is a {type(model).__name__}, not a torch.nn.Module.",
                     "Write it as a class that subclasses nn.Module (or build it with nn.Sequential).")
    if not any(p.requires_grad for p in model.parameters()):
        checker.fail(f"{what} has no trainable parameters.",
                     "Create the layers (nn.Linear, nn.Conv2d, ...) in __init__ and store them on self.")
    checker.ok(f"{what} is an nn.Module with {sum(p.numel() for p in model.parameters()):,} parameters")


def _missing_grads(model: nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]


def _pushed_copy(model: nn.Module, inputs: torch.Tensor, direction: float, stop: Callable[[torch.Tensor], bool],
                 steps: int = 100, lr: float = 0.05) -> tuple[nn.Module, torch.Tensor]:
    """Train a copy of ``model`` to push its outputs up (+1) or down (-1) until ``stop(out)``.

    Returns the trained copy and its last output (still attached to the copy's graph)."""
    probe = copy.deepcopy(model)
    probe.train()
    opt = torch.optim.Adam([p for p in probe.parameters() if p.requires_grad], lr=lr)
    out = probe(inputs)
    for _ in range(steps):
        if stop(out.detach()):
            break
        opt.zero_grad()
        (-direction * out.float().mean()).backward()
        opt.step()
        out = probe(inputs)
    return probe, out


def _push(model: nn.Module, inputs: torch.Tensor, direction: float, stop: Callable[[torch.Tensor], bool],
          steps: int = 100, lr: float = 0.05) -> torch.Tensor:
    """Train a copy of ``model`` to push its outputs up (+1) or down (-1) until ``stop(out)``; return the last out."""
    return _pushed_copy(model, inputs, direction, stop, steps, lr)[1].detach()


def _clipped_pixels(model: nn.Module, inputs: torch.Tensor, direction: float, lr: float = 0.01,
                    steps: int = 300) -> tuple[float, bool]:
    """Push a copy's outputs gently towards ``direction`` (+1 or -1) until 30% pass 0.9 in that direction.

    Returns the fraction of outputs then at exactly ``direction`` and whether those pass no gradient.
    A tanh reaches exactly +-1 in float32 only for pre-activations beyond about 9, far past this gentle
    push; a clamp or hardtanh reaches it at 1, and passes no gradient beyond.
    """
    probe, out = _pushed_copy(model, inputs, direction,
                              lambda o: float((direction * o > 0.9).float().mean()) >= 0.3, steps, lr)
    edge = (direction * out.detach()) >= 1
    fraction = float(edge.float().mean())
    if not bool(edge.any()):
        return fraction, False
    params = [p for p in probe.parameters() if p.requires_grad]
    grads = torch.autograd.grad(out[edge].sum(), params, allow_unused=True)
    dead = all(g is None or float(g.abs().max()) == 0 for g in grads)
    return fraction, dead


# ---------------------------------------------------------------------------------------------
# the networks


@_keeps_rng
def check_discriminator(D: nn.Module, image_shape: Sequence[int] = _IMAGE_SHAPE) -> CheckReport:
    """Check the learner's discriminator: images ``(N, *image_shape)`` in, logits ``(N,)`` out.

    Tests, on a copy of ``D``: it is an ``nn.Module`` with parameters; a batch of images gives a
    tensor of shape ``(N,)`` (not ``(N, 1)``), finite, that depends on the image; every parameter
    receives a gradient; and its outputs are **logits**, not probabilities: a few gradient steps on
    the copy can push them below 0 and above 1, which a final sigmoid (or ReLU) would forbid, and a
    final tanh too (it keeps the logit in [-1, 1]); each of the three is named.

    Args:
        D: the discriminator.
        image_shape: shape of one image, ``(1, 28, 28)`` for MNIST.

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    c = _Checker("check_discriminator", "Checking your discriminator ...")
    _as_module_with_params(c, D, "D")
    dev = _device_of(D)
    probe = copy.deepcopy(D).train()
    gen = torch.Generator().manual_seed(0)
    n = 6
    x = (torch.rand(n, *image_shape, generator=gen) * 2 - 1).to(dev)
    out = c.call("D(images)", probe, x)
    if not isinstance(out, torch.Tensor):
        c.fail(f"D(images) returned a {type(out).__name__}, not a tensor.", "Return the output of the last layer.")
    if tuple(out.shape) == (n, 1):
        c.fail(f"D(images) has shape {tuple(out.shape)}; the contract is ({n},), one logit per image.",
               "End forward() with .squeeze(1) (or .flatten()), so that (N, 1) becomes (N,).")
    if tuple(out.shape) != (n,):
        c.fail(f"D(images) for {n} images has shape {tuple(out.shape)}; expected ({n},), one logit per image.",
               f"Flatten each image first (nn.Flatten() gives (N, {math.prod(image_shape)})), end with a layer "
               "of one output, then .squeeze(1).")
    c.ok(f"{n} images of shape {tuple(image_shape)} give logits of shape ({n},)")
    if not out.is_floating_point() or not torch.isfinite(out).all():
        c.fail("D's outputs are not finite numbers.", "Look for a division or a log in forward().")
    c.ok("outputs are finite numbers")
    out.float().sum().backward()
    missing = _missing_grads(probe)
    if missing:
        c.fail(f"these parameters get no gradient from D's output: {', '.join(missing[:5])}",
               "Every layer created in __init__ should be used in forward(); remove the unused ones.")
    c.ok("every parameter receives a gradient")
    low = _push(probe, x, -1.0, lambda o: bool((o < 0).any()))
    high = _push(probe, x, +1.0, lambda o: bool((o > 1).any()))
    if not (low < 0).any() or not (high > 1).any():
        lo, hi = float(low.min()), float(high.max())
        hint = ("Remove the final activation: D returns logits, any real number. The loss applies the sigmoid "
                "itself, which is also numerically safer (log(sigmoid(l)) underflows for large |l|).")
        if lo < 0 and -1 <= lo and hi <= 1:
            c.fail(f"D's outputs stay in [{lo:.2f}, {hi:.2f}] however it is trained: it seems to end with a tanh "
                   "(or another function bounded by -1 and 1), which squashes the logit into [-1, 1].",
                   hint + " With its logit stuck in [-1, 1], D's probability that an image is real stays between "
                   "27% and 73% (the sigmoid of -1 and of 1), so its loss cannot approach 0.")
        squashed = "sigmoid" if 0 < lo and hi < 1 else "ReLU (or another function that is never negative)"
        c.fail(f"D's outputs stay in [{lo:.2f}, {hi:.2f}] however it is trained: it seems to end with a {squashed}.",
               hint)
    c.ok("outputs are logits (they can go below 0 and above 1), not probabilities")
    if float(out.detach().float().std()) < 1e-6:
        c.fail("D gives the same output for every image: it ignores its input.",
               "Make sure forward() passes x through the layers and returns the result.")
    c.ok("outputs depend on the image")
    probe.eval()
    with torch.no_grad():
        c.call("D(images) in eval mode", probe, x)
    c.ok("D also runs in eval mode")
    return c.done()


@_keeps_rng
def check_generator(G: nn.Module, latent_dim: int, image_shape: Sequence[int] = _IMAGE_SHAPE) -> CheckReport:
    """Check the learner's generator: noise ``(N, latent_dim)`` in, images ``(N, *image_shape)`` in [-1, 1] out.

    Tests, on a copy of ``G``: it is an ``nn.Module`` with parameters; noise gives images of the right
    shape, finite, in [-1, 1], that change with the noise; the same noise gives the same images (in
    eval mode, two calls in a row: a generator that draws random numbers of its own fails); every
    parameter receives a gradient; and the range holds however the weights move (a few gradient
    steps on the copy push the pixels up and down: a final ``tanh`` keeps them inside [-1, 1] while
    still reaching below -0.5). A clipped output (``torch.clamp`` or ``nn.Hardtanh``) stays in range
    too, but its pixels stop at exactly +-1 with no gradient; a gentle push that brings 30% of the
    pixels past 0.9 shows them there, where a tanh would need pre-activations beyond 9.

    Args:
        G: the generator.
        latent_dim: size of one noise vector.
        image_shape: shape of one image, ``(1, 28, 28)`` for MNIST.

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    c = _Checker("check_generator", "Checking your generator ...")
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
    _as_module_with_params(c, G, "G")
    dev = _device_of(G)
    probe = copy.deepcopy(G).train()
    gen = torch.Generator().manual_seed(0)
    n = 6
    z = torch.randn(n, latent_dim, generator=gen).to(dev)
    out = c.call(f"G(z) with z of shape ({n}, {latent_dim})", probe, z)
    if not isinstance(out, torch.Tensor):
        c.fail(f"G(z) returned a {type(out).__name__}, not a tensor.", "Return the output of the last layer.")
    expected = (n, *image_shape)
    if tuple(out.shape) != expected:
        if out.dim() == 2 and out.shape == (n, math.prod(image_shape)):
            hint = f"Reshape the last layer's output: .view(-1, {', '.join(map(str, image_shape))})."
        else:
            hint = (f"The last layer must produce {math.prod(image_shape)} numbers per image, reshaped to "
                    f"{tuple(image_shape)}.")
        c.fail(f"G(z) has shape {tuple(out.shape)}; expected {expected}.", hint)
    c.ok(f"noise of shape ({n}, {latent_dim}) gives images of shape {expected}")
    if not torch.isfinite(out).all():
        c.fail("G's outputs are not finite numbers.", "Look for a division or a log in forward().")
    out_range = (float(out.detach().min()), float(out.detach().max()))
    if out_range[0] < -1 or out_range[1] > 1:
        c.fail(f"G's pixels range over [{out_range[0]:.2f}, {out_range[1]:.2f}], outside [-1, 1].",
               "End the generator with nn.Tanh(): the real images are scaled to [-1, 1].")
    spread = float(out.detach().float().std(dim=0).mean())
    if spread < 1e-5:
        c.fail("G makes the same image for every noise vector: it ignores z.",
               "Feed z into the first layer and pass the result through every layer.")
    c.ok("pixels are finite, in [-1, 1], and change with the noise")
    twin = copy.deepcopy(G).eval()  # eval mode: dropout, if any, is off, so G should be a plain function of z
    with torch.no_grad():
        first = c.call("G(z) in eval mode", twin, z)
        second = c.call("G(z) in eval mode", twin, z)  # the random number generator has moved on in between
    if not torch.allclose(first, second, rtol=0.0, atol=1e-5):
        c.fail("G gives different images for the same noise z (two calls in a row): it draws random numbers "
               "of its own instead of using only its input z.",
               "Build the image from the z passed to forward() alone: no torch.randn (or randn_like, rand) "
               "inside the generator. The caller draws the noise, so that the same z always gives the same "
               "image and G learns a mapping from z to images.")
    c.ok("the same z gives the same images: G is a function of its noise input")
    out.float().sum().backward()
    missing = _missing_grads(probe)
    if missing:
        c.fail(f"these parameters get no gradient from G's output: {', '.join(missing[:5])}",
               "Every layer created in __init__ should be used in forward(); remove the unused ones.")
    c.ok("every parameter receives a gradient")
    high = _push(probe, z, +1.0, lambda o: bool((o > 1).any()))
    low = _push(probe, z, -1.0, lambda o: bool((o < -1).any() or (o < -0.5).float().mean() > 0.5))
    if (high > 1).any() or (low < -1).any():
        c.fail("after a few updates G's pixels leave [-1, 1]: nothing bounds its output.",
               "End the generator with nn.Tanh(), so that every pixel stays in [-1, 1] however the weights move.")
    if not (low < -0.5).any():
        c.fail(f"G's pixels never go below {float(low.min()):.2f}: its last activation cannot reach -1 "
               "(a sigmoid or a ReLU?).",
               "Use nn.Tanh() as the last layer: real pixels run from -1 (background) to 1 (ink).")
    for direction in (+1.0, -1.0):
        clipped, dead = _clipped_pixels(probe, z, direction)
        if clipped > 0.05 and dead:
            c.fail(f"G's pixels are clipped, not squashed: after a few updates {clipped:.0%} of them sit at "
                   f"exactly {direction:+.0f} and pass no gradient at all. The output seems to end in "
                   "torch.clamp(x, -1, 1) or nn.Hardtanh().",
                   "End the generator with nn.Tanh(). It keeps pixels in [-1, 1] as well, but smoothly: a pixel "
                   "near the edge still passes a gradient, so G can learn to move it. A clipped pixel passes "
                   "none, and G cannot learn to bring it back.")
    c.ok("pixels stay in [-1, 1] and can reach both ends (a tanh output)")
    probe.eval()
    with torch.no_grad():
        c.call("G(z) in eval mode", probe, z)
    c.ok("G also runs in eval mode (used for sampling)")
    return c.done()


# ---------------------------------------------------------------------------------------------
# the losses, graded against gancourse.losses: d_minimax_loss (the binary cross-entropy) and
# g_nonsaturating_loss


def _scalar_loss(c: _Checker, value, what: str, n: int, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        c.fail(f"{what} returned a {type(value).__name__}, not a tensor.",
               "Return a torch tensor, so that .backward() can be called on it: no .item(), no numpy.")
    if value.numel() == n and n > 1:
        c.fail(f"{what} returned one loss per example (shape {tuple(value.shape)}), not one number.",
               "Average over the batch with .mean().")
    if value.numel() != 1:
        c.fail(f"{what} returned a tensor of shape {tuple(value.shape)}, not a single number.",
               "Return one scalar: the mean over the batch.")
    if not value.requires_grad:
        c.fail(f"{what} does not carry a gradient back to the logits.",
               "Compute it with torch operations on the logits themselves (no .detach(), .item() or numpy).")
    grads = [] if value.grad_fn is None else torch.autograd.grad(value.reshape(()), list(inputs),
                                                                 retain_graph=True, allow_unused=True)
    if all(g is None for g in grads):
        c.fail(f"{what} is not connected to the logits: it is a new tensor with no history (its grad_fn is "
               "None), so backward() gives no gradient to the logits, nor to the weights of D or G.",
               "Compute the loss from the logits with torch operations (F.binary_cross_entropy_with_logits, "
               "F.softplus, ...) and return that tensor. Do not rebuild it from a number: "
               "torch.tensor(value, requires_grad=True) makes a fresh leaf that nothing flows back from.")
    return value.reshape(())


@_keeps_rng
def check_losses(d_loss: Callable, g_loss: Callable) -> CheckReport:
    """Check the two losses on logits chosen by the check, against their formulas.

    ``d_loss(real_logits, fake_logits)`` must equal the binary cross-entropy with real = 1 and
    fake = 0, ``E[softplus(-l_real)] + E[softplus(l_fake)]`` (or half of it: the mean over the real
    and fake batch joined), and ``g_loss(fake_logits)`` the non-saturating ``E[softplus(-l_fake)] =
    -E[log D(G(z))]`` (Goodfellow et al., 2014, section 3). Typical mistakes get their own message:
    swapped labels, the saturating minimax loss ``E[log(1 - D(G(z)))]``, a sigmoid applied twice, a
    sum instead of a mean, a loss that is not finite at logits of +-150, and a loss that is not
    connected to the logits (a fresh tensor such as ``torch.tensor(value, requires_grad=True)``,
    from which no gradient flows back).

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    c = _Checker("check_losses", "Checking your losses ...")
    real = torch.tensor([2.0, -0.5, 1.0, 3.0, 0.3, -1.2], requires_grad=True)
    fake = torch.tensor([-1.5, 0.4, -2.0, 0.8, -0.3, 1.1], requires_grad=True)
    n = real.numel()

    got = _scalar_loss(c, c.call("d_loss(real_logits, fake_logits)", d_loss, real, fake), "d_loss", n, (real, fake))
    c.ok("d_loss returns one number that carries a gradient back to the logits")
    r, f = real.detach(), fake.detach()
    value, ref = float(got.detach()), float(d_minimax_loss(r, f))
    if not (_close(value, ref) or _close(value, ref / 2)):
        candidates = [
            (float(F.softplus(r).mean() + F.softplus(-f).mean()), "the labels are swapped: D is rewarded for "
             "calling real images fake", "Real images get label 1 (target ones), generated images label 0."),
            (float(d_minimax_loss(torch.sigmoid(r), torch.sigmoid(f))), "a sigmoid is applied to logits that "
             "F.binary_cross_entropy_with_logits squashes again", "Pass D's logits straight to the loss: no sigmoid."),
            (float(F.softplus(-r).sum() + F.softplus(f).sum()), "it sums over the batch instead of averaging",
             "Use .mean() (the default reduction of the PyTorch losses), not .sum()."),
            (float(F.softplus(-r).mean()), "only the real-data term is there",
             "Add the term for fake images (label 0)."),
            (float(F.softplus(f).mean()), "only the fake-data term is there",
             "Add the term for real images (label 1)."),
            (-ref, "its sign is flipped: this is the value D maximises, not a loss to minimise",
             "Cross-entropy is -log of the right probability: a positive number."),
        ]
        for wrong, problem, hint in candidates:
            if _close(value, wrong) or _close(value, wrong / 2):
                c.fail(f"d_loss: {problem} (got {value:.4f}, expected {ref:.4f}).", hint)
        c.fail(f"d_loss gives {value:.4f} on the check's logits; the binary cross-entropy with real = 1 and "
               f"fake = 0 gives {ref:.4f}.",
               "Use F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) plus the same "
               "for the fake logits with torch.zeros_like.")
    c.ok("d_loss is the binary cross-entropy with real = 1, fake = 0")

    got = _scalar_loss(c, c.call("g_loss(fake_logits)", g_loss, fake), "g_loss", n, (fake,))
    c.ok("g_loss returns one number that carries a gradient back to the logits")
    value, ref = float(got.detach()), float(g_nonsaturating_loss(f))
    if not _close(value, ref):
        candidates = [
            (float(g_minimax_loss(f)), "this is the original, saturating minimax loss E[log(1 - D(G(z)))]. "
             "Its gradient vanishes when D easily rejects the fakes, which is exactly how training starts",
             "The exercise asks for the non-saturating loss: -E[log D(G(z))], the cross-entropy of the fake logits "
             "with label 1 (torch.ones_like)."),
            (float(F.softplus(f).mean()), "it uses label 0 for the fakes, so G learns to make D call them fake",
             "G wants D to call its images real: use label 1 (torch.ones_like(fake_logits))."),
            (-ref, "its sign is flipped", "Minimise -log D(G(z)), a positive number."),
            (float(F.softplus(-f).sum()), "it sums over the batch instead of averaging", "Use .mean(), not .sum()."),
            (float(g_nonsaturating_loss(torch.sigmoid(f))),
             "a sigmoid is applied before a loss that applies one itself",
             "Pass the logits straight to F.binary_cross_entropy_with_logits."),
        ]
        for wrong, problem, hint in candidates:
            if _close(value, wrong):
                c.fail(f"g_loss: {problem} (got {value:.4f}, expected {ref:.4f}).", hint)
        c.fail(f"g_loss gives {value:.4f} on the check's logits; the non-saturating loss -E[log D(G(z))] gives "
               f"{ref:.4f}.",
               "Use F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).")
    c.ok("g_loss is the non-saturating loss -E[log D(G(z))]")

    # A confidently rejected fake (D(G(z)) ~ 0) must still give G a strong gradient.
    rejected = torch.full((4,), -8.0, requires_grad=True)
    loss = _scalar_loss(c, c.call("g_loss(fake_logits)", g_loss, rejected), "g_loss", 4, (rejected,))
    (grad,) = torch.autograd.grad(loss, rejected, allow_unused=True)
    if grad is None or float(grad.abs().sum()) == 0:
        c.fail("when D rejects every fake (logits of -8), g_loss gives G no gradient at all.",
               "Use the non-saturating loss -E[log D(G(z))] computed from the logits: "
               "F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).")
    c.ok(f"when D rejects every fake (D(G(z)) = {float(torch.sigmoid(torch.tensor(-8.0))):.4f}), g_loss still has "
         f"a slope of {float(grad.abs().sum()):.2f} per unit of logit: no vanishing gradient")

    extreme_real = torch.tensor([150.0, -150.0, 0.0], requires_grad=True)
    extreme_fake = torch.tensor([-150.0, 150.0, 0.0], requires_grad=True)
    d_ext = c.call("d_loss(real_logits, fake_logits)", d_loss, extreme_real, extreme_fake)
    g_ext = c.call("g_loss(fake_logits)", g_loss, extreme_fake)
    d_ref = float(d_minimax_loss(extreme_real.detach(), extreme_fake.detach()))
    g_ref = float(g_nonsaturating_loss(extreme_fake.detach()))
    d_val, g_val = float(torch.as_tensor(d_ext).detach()), float(torch.as_tensor(g_ext).detach())
    d_ok = math.isfinite(d_val) and (_close(d_val, d_ref, 1e-2) or _close(d_val, d_ref / 2, 1e-2))
    if not d_ok or not (math.isfinite(g_val) and _close(g_val, g_ref, 1e-2)):
        c.fail(f"at logits of +-150 the losses are d_loss = {d_val:.2f} and g_loss = {g_val:.2f}; the exact "
               f"values are {d_ref:.2f} and {g_ref:.2f}.",
               "Compute the losses from logits with F.binary_cross_entropy_with_logits (or F.softplus): "
               "log(sigmoid(l)) underflows to -inf, and BCELoss clips it, once |l| is large.")
    c.ok("both losses are exact even for logits of +-150 (computed from logits)")
    return c.done()


# ---------------------------------------------------------------------------------------------
# the two steps: probes whose right update is known exactly


def _probe_pair(latent_dim: int, image_shape: Sequence[int], device, seed: int, hidden: int = 8):
    """A tiny generator and discriminator of the exercise's shapes, without batch norm."""
    size = math.prod(image_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = nn.Sequential(nn.Linear(latent_dim, hidden), nn.Tanh(), nn.Linear(hidden, size), nn.Tanh(),
                          nn.Unflatten(1, tuple(image_shape)))  # (N, size) -> (N, *image_shape)
        D = nn.Sequential(nn.Flatten(), nn.Linear(size, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1),
                          nn.Flatten(0))  # (N, 1) -> (N,)
    return G.to(device), D.to(device)


def _probe_batch(n: int, latent_dim: int, image_shape: Sequence[int], device, seed: int):
    gen = torch.Generator().manual_seed(seed)
    real = (torch.rand(n, *image_shape, generator=gen) * 2 - 1).to(device)
    z = torch.randn(n, latent_dim, generator=gen).to(device)
    return real, z


def _grads(loss: torch.Tensor, module: nn.Module) -> list[torch.Tensor]:
    return [g.detach() for g in torch.autograd.grad(loss, list(module.parameters()))]


def _update(before: Sequence[torch.Tensor], module: nn.Module) -> torch.Tensor:
    return torch.cat([(p.detach() - b).reshape(-1) for b, p in zip(before, module.parameters())])


def _matches(update: torch.Tensor, grads: Sequence[torch.Tensor], lr: float, scales=(1.0, 0.5)) -> bool:
    expected = -lr * torch.cat([g.reshape(-1) for g in grads])
    tol = 1e-3 * float(expected.abs().max()) + 1e-7
    return any(bool((update - s * expected).abs().max() <= tol) for s in scales)


def _fill_stale_grads(module: nn.Module, seed: int) -> list[torch.Tensor]:
    """Give every parameter a leftover gradient, as an earlier step that did not clean up would."""
    gen = torch.Generator().manual_seed(seed)
    stale = []
    for p in module.parameters():
        g = torch.randn(p.shape, generator=gen).to(p.device)
        p.grad = g.clone()
        stale.append(g)
    return stale


class _Saved:
    """Weights, gradients and optimiser state, to put back after a dry run on the learner's objects."""

    def __init__(self, *objects):
        self.items = []
        for obj in objects:
            if obj is None:
                continue
            if isinstance(obj, nn.Module):
                grads = [None if p.grad is None else p.grad.clone() for p in obj.parameters()]
                flags = [p.requires_grad for p in obj.parameters()]
                self.items.append((obj, copy.deepcopy(obj.state_dict()), grads, flags, obj.training))
            else:
                self.items.append((obj, copy.deepcopy(obj.state_dict()), None, None, None))

    def restore(self) -> None:
        for obj, state, grads, flags, training in self.items:
            obj.load_state_dict(state)
            if grads is not None:
                for p, g, flag in zip(obj.parameters(), grads, flags):
                    p.grad = g
                    p.requires_grad_(flag)
                obj.train(training)


@dataclass
class _Probes:
    """Probe networks for a step check, a batch, and plain SGD over the network the step must train."""

    G: nn.Module
    D: nn.Module
    real: torch.Tensor
    z: torch.Tensor
    opt: torch.optim.Optimizer
    stale: list[torch.Tensor]  # the leftover gradients put in the trained network beforehand
    g_before: list[torch.Tensor]
    d_before: list[torch.Tensor]


def _probes(trains: str, latent_dim: int, image_shape: Sequence[int], device, seed: int, lr: float) -> _Probes:
    """Set up a step check: probe networks (``seed``), a batch (``seed + 1``), SGD over the network ``trains``
    ("D" or "G") with stale gradients in it (``seed + 2``), and both networks' weights before the step."""
    G, D = _probe_pair(latent_dim, image_shape, device, seed=seed)
    real, z = _probe_batch(8, latent_dim, image_shape, device, seed=seed + 1)
    trained = D if trains == "D" else G
    opt = torch.optim.SGD(trained.parameters(), lr=lr)
    stale = _fill_stale_grads(trained, seed=seed + 2)
    return _Probes(G, D, real, z, opt, stale, _params(G), _params(D))


@dataclass(frozen=True)
class _DryRun:
    """What one step did to the learner's own networks (all of it undone since)."""

    loss: float
    g_changed: bool
    g_got_grad: bool
    d_changed: bool
    d_left_frozen: bool


def _dry_run(c: _Checker, what: str, step: Callable, G: nn.Module, D: nn.Module, opt: torch.optim.Optimizer,
             *inputs: torch.Tensor, clear_g_grads: bool = False) -> _DryRun:
    """Run the learner's ``step(G, D, opt, *inputs)`` once on their own networks, note what changed, and put
    every weight, gradient, ``requires_grad`` flag and optimiser state back. The step must return a finite loss."""
    saved = _Saved(G, D, opt)
    if clear_g_grads:  # so that a gradient found in G afterwards is one this step left
        for p in G.parameters():
            p.grad = None
    g_before, d_before = _params(G), _params(D)
    try:
        returned = c.call(what, step, G, D, opt, *inputs)
        g_changed, g_got_grad, d_changed = _changed(g_before, G), _has_grad(G), _changed(d_before, D)
        d_left_frozen = any(not p.requires_grad for p in D.parameters())
    finally:
        saved.restore()
    value = _number(returned)
    if value is None or not math.isfinite(value):
        c.fail(f"on your own networks the step returned {returned!r}.", "Return `loss.item()`, a finite number.")
    return _DryRun(value, g_changed, g_got_grad, d_changed, d_left_frozen)


def _check_returned_loss(c: _Checker, returned, ref: float, what: str) -> None:
    value = _number(returned)
    if value is None:
        c.fail(f"{what} returned {type(returned).__name__}, not the loss.",
               "Return the loss as a number: `return loss.item()`.")
    if not math.isfinite(value):
        c.fail(f"{what} returned {value}.", "The loss should be a finite number: check the loss function.")
    if not (_close(value, ref, 1e-3) or _close(value, ref / 2, 1e-3)):
        c.fail(f"{what} returned {value:.4f}, but the loss on this batch (before the update) is {ref:.4f}.",
               "Return the loss you called .backward() on (`loss.item()`), computed on the z given as an argument.")


@_keeps_rng
def check_discriminator_step(discriminator_step: Callable, G: nn.Module | None = None, D: nn.Module | None = None,
                             opt_d: torch.optim.Optimizer | None = None, real: torch.Tensor | None = None,
                             latent_dim: int = 64, image_shape: Sequence[int] = _IMAGE_SHAPE,
                             device=None) -> CheckReport:
    """Check ``discriminator_step(G, D, opt_d, real, z)``: one update of D, G untouched.

    First on probe networks with plain SGD, whose right update is known exactly: D's weights must
    move by ``-lr * grad L_D`` with ``L_D`` the binary cross-entropy (real = 1, fake = 0); G's weights
    must not change and must get **no gradient** (a missing ``detach()`` leaves one); stale gradients
    left in D beforehand must be cleared (``opt_d.zero_grad()``); the returned number must be D's
    loss on the batch. Then, when the learner's ``G``, ``D``, ``opt_d`` and a ``real`` batch are
    given, one dry run on them checks the same things with their own optimiser (and puts every
    weight and optimiser state back).

    Args:
        discriminator_step: the learner's function.
        G, D, opt_d, real: optional; the learner's networks, D's optimiser and a real batch.
        latent_dim: size of the noise vectors.
        image_shape: shape of one image.
        device: where to run the probes (default: the learner's D's device, else the CPU).

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    c = _Checker("check_discriminator_step", "Checking your discriminator step ...")
    lr = 0.1
    probes = _probes("D", latent_dim, image_shape, _device_of(D, device), seed=1, lr=lr)
    Gp, Dp, real_p, z = probes.G, probes.D, probes.real, probes.z
    with torch.no_grad():
        fake_p = Gp(z)
    ref_loss = d_minimax_loss(Dp(real_p), Dp(fake_p))
    ref_grads = _grads(ref_loss, Dp)
    swapped_grads = _grads(F.softplus(Dp(real_p)).mean() + F.softplus(-Dp(fake_p)).mean(), Dp)

    returned = c.call("discriminator_step(G, D, opt_d, real, z)", discriminator_step, Gp, Dp, probes.opt, real_p, z)
    c.ok("it runs on a batch of real images and a batch of noise")
    if _changed(probes.g_before, Gp):
        c.fail("G's weights changed during the discriminator step.",
               "Only D learns in this step: opt_d must hold D's parameters only, and nothing may call opt_g.step().")
    if _has_grad(Gp):
        c.fail("after the discriminator step G's parameters hold gradients: D's loss was backpropagated into G.",
               "Detach the fakes from G, `fake = G(z).detach()` (or make them under `with torch.no_grad():`): "
               "D's step must not compute gradients for G, and they would pile up in G's .grad.")
    c.ok("G is untouched: no change to its weights and no gradient (the fakes are detached)")
    update = _update(probes.d_before, Dp)
    if float(update.abs().max()) == 0:
        c.fail("D's weights did not change.",
               "Call opt_d.zero_grad(), then loss.backward(), then opt_d.step(), in this order.")
    if _matches(update, [g + s for g, s in zip(ref_grads, probes.stale)], lr):
        c.fail("D's update includes gradients left over from before the step.",
               "Call opt_d.zero_grad() before loss.backward(): PyTorch adds new gradients to the old ones.")
    if _matches(update, swapped_grads, lr):
        c.fail("D was trained with the labels swapped (real = 0, fake = 1).",
               "Real images are positives (label 1), generated images negatives (label 0).")
    if not _matches(update, ref_grads, lr):
        c.fail("D's weights moved, but not by one gradient step on the binary cross-entropy of this batch.",
               "Compute d_loss(D(real), D(fake)) with fake = G(z).detach() from the z given, then zero_grad, "
               "backward and one opt_d.step().")
    c.ok("D takes exactly one gradient step on d_loss(D(real), D(G(z))), after clearing old gradients")
    _check_returned_loss(c, returned, float(ref_loss.detach()), "discriminator_step")
    c.ok(f"it returns D's loss on the batch ({_number(returned):.4f})")

    if G is not None and D is not None and opt_d is not None and real is not None:
        z_own = torch.randn(real.shape[0], latent_dim, generator=torch.Generator().manual_seed(9)).to(real.device)
        run = _dry_run(c, "discriminator_step on your own G, D and opt_d", discriminator_step, G, D, opt_d, real,
                       z_own, clear_g_grads=True)
        if run.g_changed:
            c.fail("with your own optimiser, G's weights changed during the discriminator step.",
                   "Build opt_d over D.parameters() only.")
        if run.g_got_grad:
            c.fail("on your own networks, G received gradients in the discriminator step.",
                   "Detach the fakes: `fake = G(z).detach()`.")
        if not run.d_changed:
            c.fail("with your own optimiser, D's weights did not change.",
                   "Check that opt_d was built over D.parameters().")
        c.ok(f"a dry run on your own G, D and opt_d updates D only (loss {run.loss:.4f}); all weights were put back")
    return c.done()


@_keeps_rng
def check_generator_step(generator_step: Callable, G: nn.Module | None = None, D: nn.Module | None = None,
                         opt_g: torch.optim.Optimizer | None = None, latent_dim: int = 64,
                         image_shape: Sequence[int] = _IMAGE_SHAPE, device=None) -> CheckReport:
    """Check ``generator_step(G, D, opt_g, z)``: one update of G through D, D untouched.

    On probe networks with plain SGD: G's weights must move by ``-lr * grad L_G`` for the
    non-saturating loss ``L_G = -E[log D(G(z))]``, the gradient having flowed back through D (so no
    ``detach()`` here); the saturating loss and the label 0 are recognised and named; stale gradients
    in G must be cleared; D's weights must not change, and D must not be left frozen
    (``requires_grad`` back to True) if the step froze it. Then, when the learner's ``G``, ``D`` and
    ``opt_g`` are given, a dry run on them checks that their optimiser changes G and not D (and puts
    every weight and optimiser state back).

    Args:
        generator_step: the learner's function.
        G, D, opt_g: optional; the learner's networks and G's optimiser.
        latent_dim: size of the noise vectors.
        image_shape: shape of one image.
        device: where to run the probes (default: the learner's G's device, else the CPU).

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    c = _Checker("check_generator_step", "Checking your generator step ...")
    lr = 0.1
    probes = _probes("G", latent_dim, image_shape, _device_of(G, device), seed=4, lr=lr)
    Gp, Dp, z = probes.G, probes.D, probes.z
    ref_loss = g_nonsaturating_loss(Dp(Gp(z)))
    ref_grads = _grads(ref_loss, Gp)
    sat_grads = _grads(g_minimax_loss(Dp(Gp(z))), Gp)
    zero_label_grads = _grads(F.softplus(Dp(Gp(z))).mean(), Gp)

    returned = c.call("generator_step(G, D, opt_g, z)", generator_step, Gp, Dp, probes.opt, z)
    c.ok("it runs on a batch of noise")
    if _changed(probes.d_before, Dp):
        c.fail("D's weights changed during the generator step.",
               "Only G learns in this step: call opt_g.step() only, never opt_d.step(), and build opt_g over "
               "G.parameters() only.")
    frozen = [name for name, p in Dp.named_parameters() if not p.requires_grad]
    if frozen:
        c.fail("D is still frozen after the generator step (requires_grad is False).",
               "If you freeze D with D.requires_grad_(False), unfreeze it at the end: D.requires_grad_(True).")
    c.ok("D's weights did not change, and D is left trainable")
    update = _update(probes.g_before, Gp)
    if float(update.abs().max()) == 0:
        c.fail("G's weights did not change.",
               "Do not detach G(z) here: the gradient must flow from D's output back through D into G. "
               "Then call opt_g.zero_grad(), loss.backward() and opt_g.step().")
    if _matches(update, [g + s for g, s in zip(ref_grads, probes.stale)], lr, scales=(1.0,)):
        c.fail("G's update includes gradients left over from before the step.",
               "Call opt_g.zero_grad() before loss.backward().")
    if _matches(update, sat_grads, lr, scales=(1.0,)):
        c.fail("G was trained with the saturating minimax loss E[log(1 - D(G(z)))].",
               "Use the non-saturating loss -E[log D(G(z))] (your g_loss): the saturating one gives almost no "
               "gradient while D easily spots the fakes.")
    if _matches(update, zero_label_grads, lr, scales=(1.0,)):
        c.fail("G was trained to make D call its images fake (label 0).",
               "G's target is label 1: it wants D(G(z)) to be 1. Use g_loss(D(G(z))).")
    if not _matches(update, ref_grads, lr, scales=(1.0,)):
        c.fail("G's weights moved, but not by one gradient step on -E[log D(G(z))] for the z given.",
               "Compute g_loss(D(G(z))) from the z given (no detach), then zero_grad, backward and one opt_g.step().")
    c.ok("G takes exactly one gradient step on the non-saturating loss, through D")
    _check_returned_loss(c, returned, float(ref_loss.detach()), "generator_step")
    c.ok(f"it returns G's loss on the batch ({_number(returned):.4f})")

    if G is not None and D is not None and opt_g is not None:
        z_own = torch.randn(8, latent_dim, generator=torch.Generator().manual_seed(10)).to(_device_of(G))
        run = _dry_run(c, "generator_step on your own G, D and opt_g", generator_step, G, D, opt_g, z_own)
        if run.d_changed:
            c.fail("with your own optimiser, D's weights changed during the generator step.",
                   "Build opt_g over G.parameters() only, and call no other optimiser in the step.")
        if run.d_left_frozen:
            c.fail("your D is left frozen after the generator step.", "End the step with D.requires_grad_(True).")
        if not run.g_changed:
            c.fail("with your own optimiser, G's weights did not change.", "Build opt_g over G.parameters().")
        c.ok(f"a dry run on your own G, D and opt_g updates G only (loss {run.loss:.4f}); all weights were put back")
    return c.done()


# ---------------------------------------------------------------------------------------------
# the loop


class _LoopSpy:
    """Watches the probe networks while the learner's loop runs: which real images D sees, which z G gets.

    Each real image is recognised by a fingerprint, its projection on four fixed random directions,
    so that the check learns which rows of ``real_images`` every batch held, however the loop
    indexed them. Every noise batch given to G is kept (on the CPU) as a fingerprint too.
    """

    def __init__(self, G: nn.Module, D: nn.Module, real_images: torch.Tensor):
        flat = real_images.detach().reshape(len(real_images), -1).double()
        gen = torch.Generator().manual_seed(11)
        self.directions = torch.randn(flat.shape[1], 4, generator=gen, dtype=torch.float64).to(flat.device)
        self.keys = flat @ self.directions  # (n, 4)
        self.order = self.keys[:, 0].argsort()  # to find a key's nearest neighbours by binary search
        self.sorted_first = self.keys[self.order, 0].contiguous()
        self.tolerance = 1e-6 * float(self.keys.abs().max())
        self.real_batches: list[torch.Tensor] = []  # dataset rows in each call of D that saw real images
        self.noise: list[tuple] = []  # a fingerprint of every z given to G, in order
        self.handles = [D.register_forward_pre_hook(self._saw_images), G.register_forward_pre_hook(self._saw_noise)]

    def _saw_images(self, module, inputs) -> None:
        x = inputs[0] if inputs else None
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or x[0].numel() != self.directions.shape[0]:
            return
        keys = x.detach().reshape(len(x), -1).double().to(self.keys.device) @ self.directions  # (B, 4)
        after = torch.searchsorted(self.sorted_first, keys[:, 0].contiguous()).clamp(max=len(self.order) - 1)
        rows = self.order[torch.stack([after, (after - 1).clamp(min=0)])]  # (2, B): the two nearest candidates
        gaps = (self.keys[rows] - keys[None]).abs().amax(-1)  # (2, B)
        gap, which = gaps.min(0)
        row = rows.gather(0, which[None])[0]
        found = gap <= self.tolerance
        if bool(found.any()):
            self.real_batches.append(row[found].cpu())

    def _saw_noise(self, module, inputs) -> None:
        z = inputs[0] if inputs else None
        if isinstance(z, torch.Tensor):
            flat = z.detach().reshape(-1).double().cpu()
            weights = torch.linspace(1.0, 2.0, len(flat), dtype=torch.float64)
            self.noise.append((tuple(z.shape), float(flat.sum()), float((flat * weights).sum())))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _check_real_batches(c: _Checker, spy: _LoopSpy, steps: int, batch_size: int, n_images: int) -> None:
    batches = spy.real_batches
    if not batches:
        c.fail("D never saw any of the real images: no batch it was given holds rows of real_images.",
               "At each step pass a batch taken from real_images as it is, "
               "real_images[torch.randint(0, len(real_images), (batch_size,))], to discriminator_step.")
    sizes = sorted(len(b) for b in batches)
    typical = sizes[len(sizes) // 2]
    if typical != batch_size:
        c.fail(f"D's real batches hold {typical} images, but the loop was called with batch_size = {batch_size}: "
               "it seems to use a fixed batch size.",
               "Draw batch_size indices, torch.randint(0, len(real_images), (batch_size,)): use the argument, "
               "not a number written into the loop.")
    distinct = {tuple(sorted(b.tolist())) for b in batches}
    if len(distinct) == 1 and len(batches) > 1:
        c.fail(f"D saw the same {typical} real images at every step: the loop never draws a fresh real batch "
               "(as real_images[:batch_size] at every step would do). D and G then learn only those few images.",
               "Draw new random indices inside the loop, at every step: "
               "real = real_images[torch.randint(0, len(real_images), (batch_size,), device=real_images.device)].")
    if len(distinct) <= steps // 4:
        c.fail(f"D saw only {len(distinct)} different real batches in {steps} steps: the loop reuses a real batch "
               "over many steps instead of drawing a fresh one each step.",
               "Draw new random indices inside the loop, at every step, with torch.randint.")
    seen = len(set(torch.cat(batches).tolist()))
    c.ok(f"it draws a fresh real batch of {batch_size} at each step ({seen} of the {n_images} real images seen)")


def _check_noise(c: _Checker, spy: _LoopSpy, steps: int) -> None:
    noise = spy.noise
    fresh_hint = ("Draw fresh noise inside the loop, twice per step: z = torch.randn(batch_size, latent_dim, "
                  "device=real_images.device) before the D step, and again before the G step.")
    if len(noise) < 2:
        c.fail(f"G was called {len(noise)} time(s) in {steps} steps.",
               "Make one discriminator step and one generator step at every step: each calls G(z).")
    if len(set(noise)) == 1:
        c.fail("G got the same noise z at every call: the loop reuses one noise batch for every step instead "
               "of drawing fresh noise. G then learns to map only those few vectors, not the noise distribution.",
               fresh_hint)
    if len(noise) == 2 * steps:
        first, second = noise[0::2], noise[1::2]  # the z of each step's D step and of its G step
        if sum(a == b for a, b in zip(first, second)) >= steps / 2:
            c.fail("in each step, the D step and the G step get the same noise z: G is then updated on the very "
                   "fakes D has just been trained to reject, instead of on a fresh sample.",
                   "Draw new noise for the G step: call torch.randn(batch_size, latent_dim, ...) again after the "
                   "D step.")
        for name, zs in (("D", first), ("G", second)):
            if len(set(zs)) == 1:
                c.fail(f"every {name} step gets the same noise z: the loop reuses one noise batch for every step "
                       "instead of drawing fresh noise.", fresh_hint)
    if len(set(noise)) < 0.9 * len(noise):
        c.fail(f"only {len(set(noise))} of the {len(noise)} noise batches G got are different: the loop reuses "
               "noise from step to step.", fresh_hint)
    c.ok("it draws fresh noise for every D step and every G step")


@_keeps_rng
def check_training_loop(train_gan: Callable, latent_dim: int = 64, image_shape: Sequence[int] = _IMAGE_SHAPE,
                        steps: int = 237, device=None, seed: int = 0) -> CheckReport:
    """Check ``train_gan(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim)`` on a task it must solve.

    The real "images" of the check are noisy copies of one fixed picture (a bright top half, a dark
    bottom half, plus Gaussian noise of standard deviation 0.3), each one different. Probe networks
    trained by the learner's loop for ``steps`` steps (Adam, learning rate 2e-3, batches of 32) must
    bring the generator's average image at least halfway to the real average image. The loop must
    return ``{"d_loss": [...], "g_loss": [...]}`` with one finite number per step (the default step
    count, 237, is unusual on purpose, so that a loop over a fixed ``range(300)`` shows), and train
    both networks. While it runs, hooks on the probe networks record which real images ``D`` is shown
    and which noise ``G`` gets, so that the check can tell whether each step draws a fresh random real
    batch of ``batch_size`` images and fresh noise, different for the D step and the G step.

    Raises:
        CheckFailed: at the first failed test, with a hint.

    Explained in the chapter "Programming exercise: build a GAN".
    """
    if not isinstance(steps, int) or steps < 8:
        raise ValueError(f"steps must be an int of at least 8, got {steps!r}")
    c = _Checker("check_training_loop", "Checking your training loop ...")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    G, D = _probe_pair(latent_dim, image_shape, dev, seed=seed + 7, hidden=32)
    gen = torch.Generator().manual_seed(seed + 8)
    target = torch.full(tuple(image_shape), -0.6)
    target[..., : image_shape[-2] // 2, :] = 0.6  # top half bright
    real_images = (target + 0.3 * torch.randn(512, *image_shape, generator=gen)).clamp(-1, 1).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    z_eval = torch.randn(256, latent_dim, generator=gen).to(dev)
    real_mean = real_images.mean(0)
    batch_size = 32

    def gap() -> float:
        with torch.no_grad():
            return float((G(z_eval).mean(0) - real_mean).abs().mean())

    gap_before = gap()
    g_before, d_before = _params(G), _params(D)
    torch.manual_seed(seed)
    spy = _LoopSpy(G, D, real_images)
    try:
        history = c.call("train_gan(G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim)", train_gan,
                         G, D, opt_g, opt_d, real_images, steps, batch_size, latent_dim)
    finally:
        spy.remove()
    c.ok(f"it runs on a small problem, asked for {steps} steps")
    if not isinstance(history, dict) or not {"d_loss", "g_loss"} <= set(history):
        c.fail(f"train_gan returned {type(history).__name__}, not a dict with 'd_loss' and 'g_loss'.",
               "Collect each step's two losses in lists and return {'d_loss': d_losses, 'g_loss': g_losses}.")
    for key in ("d_loss", "g_loss"):
        values = [_number(v) for v in history[key]]
        if len(values) != steps:
            c.fail(f"history['{key}'] has {len(values)} entries for {steps} steps: the loop did not run the "
                   "number of steps it was asked for.",
                   "Loop over the argument, `for step in range(steps):`, never over a number written into the "
                   "code such as range(300), and append one loss per step.")
        if any(v is None or not math.isfinite(v) for v in values):
            c.fail(f"history['{key}'] holds something other than finite numbers.", "Append loss.item() (a float).")
    c.ok(f"it returns one finite D loss and one finite G loss for each of the {steps} steps")
    if not _changed(d_before, D):
        c.fail("D never changed during training.", "Call discriminator_step(...) at every step.")
    if not _changed(g_before, G):
        c.fail("G never changed during training.", "Call generator_step(...) at every step.")
    c.ok("both networks were trained")
    _check_real_batches(c, spy, steps, batch_size, len(real_images))
    _check_noise(c, spy, steps)
    gap_after = gap()
    if not gap_after <= 0.5 * gap_before:
        c.fail(f"G did not learn the data: the gap between its average image and the real one went from "
               f"{gap_before:.3f} to {gap_after:.3f} (it should at least halve).",
               "At each step draw a fresh random batch of real images (torch.randint over len(real_images)) and "
               "fresh noise z of shape (batch_size, latent_dim), then one D step and one G step.")
    c.ok(f"G learned: the gap between its average image and the real one fell from {gap_before:.3f} to {gap_after:.3f}")
    return c.done()
