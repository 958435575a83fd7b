"""GAN variations: one small, runnable model for each variation the course describes.

Each module trains on offline data in minutes on a CPU (and uses a GPU when there is one):

- :mod:`gancourse.variations.conditional`       conditional GAN: choose the digit (Mirza & Osindero, 2014)
- :mod:`gancourse.variations.progressive`       progressive GAN: 7x7, then 14x14, then 28x28, with fade-in
  (Karras et al., 2018)
- :mod:`gancourse.variations.text_to_image`     text-to-image: short captions such as "a thick three"
  (Reed et al., 2016)
- :mod:`gancourse.variations.audio`             beyond images: short 1-D waveforms, like notes
  (Donahue et al., 2019)
- :mod:`gancourse.variations.pix2pix`           paired image-to-image translation (Isola et al., 2017)
- :mod:`gancourse.variations.cyclegan`          unpaired translation with cycle consistency (Zhu et al., 2017)
- :mod:`gancourse.variations.super_resolution`  super-resolution with adversarial and content losses
  (Ledig et al., 2017)
- :mod:`gancourse.variations.inpainting`        filling in masked parts of a digit (Pathak et al., 2016)

Nothing is imported here: import the module you need, e.g.
``from gancourse.variations import conditional``.

Explained in the chapters "Variations I: conditional, progressive, text-to-image, and sound" and
"Variations II" (image-to-image translation, CycleGAN, super-resolution and inpainting).
"""
