"""DCGAN generator and discriminator (Radford et al. 2016, "Unsupervised Representation Learning with
Deep Convolutional GANs", Sec. 3 and Fig. 1) for any square power-of-two resolution >= 8.

G: Dense -> 4x4xW0, BN, ReLU; log2(R)-2 stride-2 4x4 transposed convs halving the width, each with
BN and ReLU; a 3x3 conv to the data's channels and tanh.
D: log2(R)-2 stride-2 4x4 convs doubling the width, each followed by BN (not on the first) and
LeakyReLU(0.2), down to 4x4; then Dense -> 1.
With `width=64` at 32x32 this is exactly the benchmark network of experiments/bench_dcgan32.py.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from gan.models.layers import ConvTranspose4x4Stride2


def num_resamplings(resolution: int) -> int:
  """Number of stride-2 layers between 4x4 and `resolution` (which must be a power of two >= 8)."""
  n = int(round(math.log2(resolution))) - 2
  if resolution < 8 or 2 ** (n + 2) != resolution:
    raise ValueError(f"DCGAN needs a square power-of-two resolution >= 8, got {resolution}")
  return n


def batch_norm(train: bool, axis_name: str | None):
  """BatchNorm whose batch statistics are cross-replica when `axis_name` names the pmap axis."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      axis_name=axis_name if train else None)


class DCGANGenerator(nn.Module):
  resolution: int = 32
  channels: int = 3
  width: int = 64  # channels of the last upsampling block; the 4x4 block has width * 2**(n-1)
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    del labels
    n = num_resamplings(self.resolution)
    widths = [self.width * 2 ** (n - 1 - i) for i in range(n)]
    h = nn.Dense(4 * 4 * 2 * widths[0])(z).reshape(z.shape[0], 4, 4, 2 * widths[0])
    h = nn.relu(batch_norm(train, self.axis_name)(h))
    for i, w in enumerate(widths):
      h = ConvTranspose4x4Stride2(w, name=f"ConvTranspose_{i}")(h)  # == nn.ConvTranspose, faster on CPU
      h = nn.relu(batch_norm(train, self.axis_name)(h))
    return jnp.tanh(nn.Conv(self.channels, (3, 3), padding="SAME")(h))


class DCGANDiscriminator(nn.Module):
  width: int = 64  # channels of the first conv; doubled by each later stride-2 conv
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    del labels
    n = num_resamplings(x.shape[1])
    h = x
    for i in range(n):
      h = nn.Conv(self.width * 2 ** i, (4, 4), strides=(2, 2), padding="SAME")(h)
      if i > 0:
        h = batch_norm(train, self.axis_name)(h)
      h = nn.leaky_relu(h, 0.2)
    return nn.Dense(1)(h.reshape(h.shape[0], -1))[:, 0]
