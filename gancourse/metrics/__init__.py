"""Numbers that say how good a generator is: for the 2-D mixtures, for handwritten digits, and for outputs with targets.

A generator can fail in three ways that a measurement should tell apart: its samples can look wrong
(quality), it can miss part of the data (coverage), and it can copy its training data (memorisation).
Every score reads the samples through something: the modes of a mixture, the digit classifier's
features, nearest neighbours, or the pixels. The package holds one family per module:

- :mod:`gancourse.metrics.mixtures`   2-D mixtures: modes captured, high-quality share, reverse KL
  (PacGAN, VEEGAN); a 1-D density estimate
- :mod:`gancourse.metrics.digits`     the digit classifier as judge: features, classifier score,
  Fréchet classifier distance, kernel distance (KID), class coverage; the Inception FID when online
- :mod:`gancourse.metrics.neighbours` nearest neighbours: precision and recall (k-NN manifolds),
  and a check for copied training data
- :mod:`gancourse.metrics.images`     outputs against targets: PSNR, sharpness, and a table row of scores

Every name is importable from the package, as the chapters do
(``from gancourse.metrics import frechet_classifier_distance``); each is documented once, in its module.

Explained in the chapters "Measuring a GAN", "Common problems", "GAN training" (the density estimate)
and "Variations II: translation, super-resolution and inpainting" (outputs against targets).
"""

from gancourse.metrics.digits import (  # noqa: F401
    ClassCoverage,
    class_coverage,
    classifier_score,
    digit_features,
    digit_probabilities,
    frechet_classifier_distance,
    inception_fid,
    kernel_distance,
)
from gancourse.metrics.images import gradient_energy, image_scores, psnr  # noqa: F401
from gancourse.metrics.mixtures import ModeMetrics, kde_1d, kl_to_uniform, mode_metrics  # noqa: F401
from gancourse.metrics.neighbours import (  # noqa: F401
    Memorisation,
    PrecisionRecall,
    knn_radii,
    memorisation,
    precision_recall,
)
