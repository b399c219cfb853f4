"""Fully connected G and D for low-dimensional data (the 2D mixtures of Metz et al. 2017)."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from gan.models.conditioning import concat_label, discriminator_head
from gan.models.normalization import weight_layer

ACTIVATIONS = {"relu": nn.relu, "leaky_relu": lambda x: nn.leaky_relu(x, 0.2), "tanh": jnp.tanh,
               "elu": nn.elu}


class MLPGenerator(nn.Module):
  """z -> [Dense(width) -> act] * depth -> Dense(out_dim)."""
  out_dim: int = 2
  hidden: Sequence[int] = (128, 128)
  activation: str = "relu"
  conditioning: str = "none"  # none | concat (gan/models/conditioning.py)
  spectral_norm: bool = False  # gan/models/normalization.py
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    def dense(width):
      return weight_layer(nn.Dense(width), spectral_norm=self.spectral_norm, train=train)
    h = concat_label(z, labels, self.num_classes, self.conditioning)
    for width in self.hidden:
      h = ACTIVATIONS[self.activation](dense(width)(h))
    return dense(self.out_dim)(h)


class MLPDiscriminator(nn.Module):
  """x -> [Dense(width) -> act] * depth -> Dense(1).

  `pack` > 1 implements PacGAN (Lin et al. 2018, Sec. 3): D judges `pack` samples at once, so the
  batch of B samples becomes B/pack concatenated inputs and D returns B/pack logits.
  """
  hidden: Sequence[int] = (128, 128)
  activation: str = "leaky_relu"
  pack: int = 1
  conditioning: str = "none"  # none | projection | acgan (gan/models/conditioning.py); needs pack 1
  spectral_norm: bool = False  # gan/models/normalization.py
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    h = x.reshape(x.shape[0] // self.pack, -1)
    for width in self.hidden:
      h = ACTIVATIONS[self.activation](
          weight_layer(nn.Dense(width), spectral_norm=self.spectral_norm, train=train)(h))
    return discriminator_head(self, h, labels, conditioning=self.conditioning, num_classes=self.num_classes,
                              spectral_norm=self.spectral_norm, train=train)
