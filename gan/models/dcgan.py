"""DCGAN generator and discriminator (Radford et al. 2016, "Unsupervised Representation Learning with
Deep Convolutional GANs", Sec. 3 and Fig. 1) for any square power-of-two resolution >= 8.

G: Dense -> 4x4xW0, BN, ReLU; log2(R)-2 stride-2 4x4 transposed convs halving the width, each with
BN and ReLU; a 3x3 conv to the data's channels and tanh.
D: log2(R)-2 stride-2 4x4 convs doubling the width, each followed by BN (not on the first) and
LeakyReLU(0.2), down to 4x4; then Dense -> 1.
`norm` swaps BN for another normalization and `spectral_norm` normalizes every weight
(gan/models/normalization.py); `conditioning` adds class conditioning (gan/models/conditioning.py; with
`biggan` z is split as in BigGAN's ResNet G: its first chunk feeds the Dense layer and each BN before a
transposed conv takes [shared class embedding, the next chunk], the last BN is unconditional);
`attention_resolution` > 0 inserts SAGAN's self-attention block (gan/models/attention.py) after G's
layer that reaches that resolution and after D's first conv that reaches it (Zhang et al. 2019, Sec. 3;
one block where the DCGAN-style PyTorch re-implementation heykeetae/Self-Attention-GAN puts two).
With `width=64` at 32x32 this is exactly the benchmark network of experiments/bench_dcgan32.py, and the
generator is the "standard CNN" generator of Miyato et al. 2018 (Table 3a), whose discriminator is
`StandardCNNDiscriminator` below.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from gan.models.attention import SelfAttention
from gan.models.conditioning import biggan_conditions, concat_label, discriminator_head
from gan.models.normalization import normalize, weight_layer
from gan.models.layers import ConvSame, ConvTranspose4x4Stride2


def num_resamplings(resolution: int) -> int:
  """Number of stride-2 layers between 4x4 and `resolution` (which must be a power of two >= 8)."""
  n = int(round(math.log2(resolution))) - 2
  if resolution < 8 or 2 ** (n + 2) != resolution:
    raise ValueError(f"DCGAN needs a square power-of-two resolution >= 8, got {resolution}")
  return n


class DCGANGenerator(nn.Module):
  resolution: int = 32
  channels: int = 3
  width: int = 64  # channels of the last upsampling block; the 4x4 block has width * 2**(n-1)
  conditioning: str = "none"  # none | concat | cbn | biggan (gan/models/conditioning.py)
  norm: str = "batch"  # batch | layer | instance | none (gan/models/normalization.py)
  spectral_norm: bool = False
  attention_resolution: int = 0  # 0: no self-attention
  shared_embedding_dim: int = 128  # BigGAN's shared class embedding (conditioning="biggan")
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    n = num_resamplings(self.resolution)
    widths = [self.width * 2 ** (n - 1 - i) for i in range(n)]

    def norm(h, condition=None, conditioning=self.conditioning):
      return normalize(h, labels, kind=self.norm, train=train, axis_name=self.axis_name,
                       conditioning=conditioning, num_classes=self.num_classes, condition=condition,
                       spectral_norm=self.spectral_norm)

    def layer(m):
      return weight_layer(m, spectral_norm=self.spectral_norm, train=train)
    conditions = [None] * n
    if self.conditioning == "biggan":
      z, conditions = biggan_conditions(z, labels, n, self.num_classes, self.shared_embedding_dim)
    # (condition, conditioning) of each BN: one per transposed conv, before it, then the last one
    # (unconditional under BigGAN's conditioning, as its G's last BN)
    bns = [(c, self.conditioning) for c in conditions]
    bns.append((None, "none" if self.conditioning == "biggan" else self.conditioning))
    z = concat_label(z, labels, self.num_classes, self.conditioning)
    h = layer(nn.Dense(4 * 4 * 2 * widths[0]))(z).reshape(z.shape[0], 4, 4, 2 * widths[0])
    h = nn.relu(norm(h, *bns[0]))
    for i, w in enumerate(widths):
      # == nn.ConvTranspose, faster on CPU (gan/models/layers.py)
      h = layer(ConvTranspose4x4Stride2(w, name=f"ConvTranspose_{i}"))(h)
      h = nn.relu(norm(h, *bns[i + 1]))
      if h.shape[1] == self.attention_resolution:
        h = SelfAttention(self.spectral_norm)(h, train=train)
    # == nn.Conv, faster on CPU (gan/models/layers.py); the name keeps nn.Conv's parameter path
    return jnp.tanh(layer(ConvSame(self.channels, (3, 3), name="Conv_0"))(h))


def conv_discriminator(module: nn.Module, x, labels, layers, *, slope: float, train: bool):
  """The body both convolutional discriminators share, called inside `module`'s `nn.compact` method (layers
  auto-named in it, Conv_0, Conv_1, ...): per (features, kernel, stride) of `layers` a SAME-padded conv
  (spectrally normalized with `module.spectral_norm`), `module.norm` after every conv but the first, and
  LeakyReLU(`slope`), with self-attention after the first conv whose output has
  `module.attention_resolution`; then the flattened features through `discriminator_head` (Dense -> 1,
  conditioning)."""
  h, attended = x, False
  for i, (features, kernel, stride) in enumerate(layers):
    conv = nn.Conv(features, kernel, strides=(stride, stride), padding="SAME")
    h = weight_layer(conv, spectral_norm=module.spectral_norm, train=train)(h)
    if i > 0:
      h = normalize(h, kind=module.norm, train=train, axis_name=module.axis_name)
    h = nn.leaky_relu(h, slope)
    if h.shape[1] == module.attention_resolution and not attended:
      h, attended = SelfAttention(module.spectral_norm)(h, train=train), True
  return discriminator_head(module, h.reshape(h.shape[0], -1), labels, conditioning=module.conditioning,
                            num_classes=module.num_classes, spectral_norm=module.spectral_norm, train=train)


class DCGANDiscriminator(nn.Module):
  width: int = 64  # channels of the first conv; doubled by each later stride-2 conv
  conditioning: str = "none"  # none | projection | acgan (gan/models/conditioning.py)
  norm: str = "batch"  # batch | layer | instance | none (gan/models/normalization.py); not on conv 1
  spectral_norm: bool = False
  attention_resolution: int = 0  # 0: no self-attention
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    layers = [(self.width * 2 ** i, (4, 4), 2) for i in range(num_resamplings(x.shape[1]))]
    return conv_discriminator(self, x, labels, layers, slope=0.2, train=train)


class StandardCNNDiscriminator(nn.Module):
  """The "standard CNN" discriminator of Miyato et al. 2018 ("Spectral Normalization for GANs", Table 3b;
  after Radford et al.'s DCGAN): per resolution down to 4x4 a 3x3 stride-1 conv and a 4x4 stride-2 conv of
  the same width, doubling from `width` (the first conv's channels) each time, then a last 3x3 stride-1
  conv of twice the last width, LeakyReLU(`leaky_slope`, 0.1 in the paper) after every conv; Dense -> 1.
  At 32x32 with width 64 the widths are the paper's 64, 64, 128, 128, 256, 256, 512. (chainer-gan-lib's
  SNDCGANDiscriminator doubles at the stride-2 convs instead and keeps chainer's slope 0.2.) `norm`
  (none in the paper) follows every conv but the first, as in DCGANDiscriminator."""
  width: int = 64
  conditioning: str = "none"  # none | projection | acgan (gan/models/conditioning.py)
  norm: str = "none"  # batch | layer | instance | none (gan/models/normalization.py); not on conv 1
  spectral_norm: bool = False
  leaky_slope: float = 0.1
  attention_resolution: int = 0  # 0: no self-attention
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    n = num_resamplings(x.shape[1])
    layers = [(self.width * 2 ** (i // 2), (3, 3) if i % 2 == 0 else (4, 4), 1 + i % 2) for i in range(2 * n)]
    layers.append((self.width * 2 ** n, (3, 3), 1))
    return conv_discriminator(self, x, labels, layers, slope=self.leaky_slope, train=train)
