"""Text-to-image: draw the digit a short sentence describes (after Reed et al., 2016).

A text-to-image GAN is a conditional GAN whose condition is a sentence. Reed et al. (2016) encoded
each caption into a vector and gave that vector to both networks, exactly where a conditional GAN
puts its label. This module does the same at the smallest scale that still shows the idea:

- **Captions built offline from the digits.** Every MNIST digit gets a caption such as
  "a thick slanted three", from its label and two properties measured on the image itself
  (:func:`digit_attributes`): the *ink* (the sum of its pixel intensities) says thin or thick, and
  the *slant* (from the image's second moments) says upright or slanted. Words are given only to the
  clearest third of each digit class for each property (:func:`make_captions`), so many captions mention no thickness
  or no slant at all.
- **A bag-of-words sentence encoder** (:class:`BagOfWordsEncoder`): a caption becomes the sum of
  learned vectors, one per word of the small vocabulary :data:`VOCAB`. Word order is lost, which
  does not matter with a vocabulary this small.
- The networks and the trainer are those of :mod:`gancourse.variations.conditional`, with the
  encoder passed as their ``condition``.

Such a system can only draw what its vocabulary and its training data cover: here 10 digits, two
thicknesses and two slants. A word outside :data:`VOCAB` cannot be encoded at all (:func:`encode`
raises, or drops it when asked to).

Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gancourse.models import check_shape

__all__ = ["DIGIT_WORDS", "THICKNESS_WORDS", "SLANT_WORDS", "VOCAB", "digit_attributes", "make_captions",
           "encode", "BagOfWordsEncoder"]

#: The word for each digit, indexed by label.
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Thickness words, for the least and the most ink within a digit class.
THICKNESS_WORDS = ("thin", "thick")
#: Slant words, for the smallest and the largest slant within a digit class.
SLANT_WORDS = ("upright", "slanted")
#: The whole vocabulary, in the order of the encoder's word vectors.
VOCAB = ("a", "an") + THICKNESS_WORDS + SLANT_WORDS + DIGIT_WORDS


@torch.no_grad()
def digit_attributes(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Measure two properties of each digit: ``(ink, slant)``, both of shape ``(N,)``.

    With intensities ``I = (x + 1) / 2`` in [0, 1] (ink = 1), rows r counted downwards and columns c:

    - ``ink = sum I``: how much ink the digit uses, which grows with stroke thickness;
    - ``slant = -mu_rc / mu_rr``, from the central moments ``mu_rc = sum I (r - r_mean)(c - c_mean)``
      and ``mu_rr = sum I (r - r_mean)^2``. It is the horizontal shift per row of the digit's
      principal axis: 0 for an upright digit, positive when the top leans to the right (the
      quantity that moment-based deskewing of MNIST removes).

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    check_shape(images, ("N", 1, "H", "W"), "digit_attributes", "images in [-1, 1]")
    intensity = ((images[:, 0].float() + 1) / 2).clamp(0, 1)  # (N, H, W)
    n, h, w = intensity.shape
    rows = torch.arange(h, dtype=torch.float32, device=images.device)[None, :, None]
    cols = torch.arange(w, dtype=torch.float32, device=images.device)[None, None, :]
    ink = intensity.sum(dim=(1, 2)).clamp_min(1e-6)  # (N,)
    r_mean = (intensity * rows).sum(dim=(1, 2)) / ink
    c_mean = (intensity * cols).sum(dim=(1, 2)) / ink
    dr, dc = rows - r_mean[:, None, None], cols - c_mean[:, None, None]
    mu_rc = (intensity * dr * dc).sum(dim=(1, 2))
    mu_rr = (intensity * dr * dr).sum(dim=(1, 2)).clamp_min(1e-6)
    return ink, -mu_rc / mu_rr


def make_captions(images: torch.Tensor, labels: torch.Tensor, share: float = 1 / 3) -> list[str]:
    """One caption per digit, e.g. ``"a thick slanted three"``, ``"an upright seven"`` or ``"a two"``.

    Within each digit class, the ``share`` of images with the least ink are called "thin" and the
    ``share`` with the most "thick". Likewise the ``share`` that lean furthest to the right (largest
    slant) are "slanted", and the ``share`` closest to vertical (smallest ``|slant|``) are "upright"
    unless already "slanted". Images in between get no word for that property. Comparing within a
    class matters: a thick 1 has less ink than a thin 8.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    check_shape(images, ("N", 1, "H", "W"), "make_captions", "images in [-1, 1]")
    labels = torch.as_tensor(labels).reshape(-1).cpu()
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must give one label per image ({images.shape[0]}), got {labels.shape[0]}")
    if not 0 < share <= 0.5:
        raise ValueError(f"share must lie in (0, 0.5], got {share!r}")
    ink, slant = (t.cpu() for t in digit_attributes(images))
    thickness, lean = [""] * len(labels), [""] * len(labels)
    for digit in labels.unique().tolist():
        idx = (labels == digit).nonzero().reshape(-1)
        thin, thick = torch.quantile(ink[idx], torch.tensor([share, 1 - share]))
        most_slanted = torch.quantile(slant[idx], 1 - share)
        most_upright = torch.quantile(slant[idx].abs(), share)
        for i in idx.tolist():
            thickness[i] = "thin" if ink[i] <= thin else "thick" if ink[i] >= thick else ""
            lean[i] = "slanted" if slant[i] >= most_slanted else "upright" if slant[i].abs() <= most_upright else ""
    captions = []
    for i in range(len(labels)):
        words = [w for w in (thickness[i], lean[i], DIGIT_WORDS[int(labels[i])]) if w]
        article = "an" if words[0] in ("upright", "eight") else "a"
        captions.append(" ".join([article] + words))
    return captions


def encode(captions: Sequence[str], vocab: Sequence[str] = VOCAB, unknown: str = "error") -> torch.Tensor:
    """Captions as bags of words: a ``(N, len(vocab))`` tensor of word counts.

    Args:
        captions: sentences made of words from ``vocab`` (case and extra spaces are ignored).
        vocab: the known words.
        unknown: ``"error"`` raises a ``ValueError`` naming a word outside ``vocab``; ``"ignore"``
            drops it silently, as a fixed-vocabulary system must.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """
    if isinstance(captions, str):
        raise ValueError("captions must be a list of sentences, not a single string (wrap it in a list)")
    if unknown not in ("error", "ignore"):
        raise ValueError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
    index = {word: i for i, word in enumerate(vocab)}
    bags = torch.zeros(len(captions), len(vocab))
    for n, caption in enumerate(captions):
        for word in caption.lower().split():
            if word in index:
                bags[n, index[word]] += 1
            elif unknown == "error":
                raise ValueError(f"caption {caption!r} uses the word {word!r}, which is not in the vocabulary "
                                 f"({', '.join(vocab)})")
    return bags


class BagOfWordsEncoder(nn.Module):
    """A sentence encoder: the sum of one learned vector per word, ``e(s) = sum_w count_w(s) v_w``.

    Input: bags of words from :func:`encode`, ``(N, vocab_size)``; output: ``(N, embed_dim)``. It is
    ``nn.EmbeddingBag(mode="sum")`` written as a matrix product, initialised the same way: every word
    vector starts as ``v_w ~ N(0, I)``, like the label vectors of ``nn.Embedding``, so that a caption
    enters the networks as strongly as a label does. Pass it as the ``condition`` of
    :class:`gancourse.variations.conditional.ConditionalGenerator` and ``ConditionalDiscriminator``.

    Explained in the chapter "Variations I: conditional, progressive, text-to-image, and sound".
    """

    def __init__(self, vocab_size: int = len(VOCAB), embed_dim: int = 16):
        super().__init__()
        self.vocab_size, self.embed_dim = vocab_size, embed_dim
        self.words = nn.Linear(vocab_size, embed_dim, bias=False)  # column w is the vector of word w
        # nn.Linear would start the vectors at U(+-1/sqrt(vocab_size)), about 4x smaller than the N(0, 1)
        # of nn.EmbeddingBag and nn.Embedding: the caption would then barely move G and D at first.
        nn.init.normal_(self.words.weight)

    def forward(self, bags: torch.Tensor) -> torch.Tensor:
        check_shape(bags, ("N", self.vocab_size), "BagOfWordsEncoder", "bags of words")
        return self.words(bags.float())  # (N, vocab) -> (N, embed_dim)
