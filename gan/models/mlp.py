"""Fully connected G and D for low-dimensional data (the 2D mixtures of Metz et al. 2017)."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

ACTIVATIONS = {"relu": nn.relu, "leaky_relu": lambda x: nn.leaky_relu(x, 0.2), "tanh": jnp.tanh,
               "elu": nn.elu}


class MLPGenerator(nn.Module):
  """z -> [Dense(width) -> act] * depth -> Dense(out_dim)."""
  out_dim: int = 2
  hidden: Sequence[int] = (128, 128)
  activation: str = "relu"
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    del labels, train
    h = z
    for width in self.hidden:
      h = ACTIVATIONS[self.activation](nn.Dense(width)(h))
    return nn.Dense(self.out_dim)(h)


class MLPDiscriminator(nn.Module):
  """x -> [Dense(width) -> act] * depth -> Dense(1).

  `pack` > 1 implements PacGAN (Lin et al. 2018, Sec. 3): D judges `pack` samples at once, so the
  batch of B samples becomes B/pack concatenated inputs and D returns B/pack logits.
  """
  hidden: Sequence[int] = (128, 128)
  activation: str = "leaky_relu"
  pack: int = 1
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    del labels, train
    h = x.reshape(x.shape[0] // self.pack, -1)
    for width in self.hidden:
      h = ACTIVATIONS[self.activation](nn.Dense(width)(h))
    return nn.Dense(1)(h)[:, 0]
