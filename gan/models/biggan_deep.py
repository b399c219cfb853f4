"""BigGAN-deep generator and discriminator (Brock et al. 2019, "Large Scale GAN Training for High
Fidelity Natural Image Synthesis", Appendix B: Fig. 16 and the BigGAN-deep architecture tables).

What differs from BigGAN (gan/models/resnet.py), per the paper:
- Bottleneck residual blocks. G block: BN, ReLU, 1x1 conv to C_in/4; BN, ReLU, [2x nearest
  upsample], 3x3 conv; BN, ReLU, 3x3 conv; BN, ReLU, 1x1 conv to C_out. D block (its reflection):
  ReLU, 1x1 conv to C_out/4; ReLU, 3x3 conv; ReLU, 3x3 conv; ReLU, [2x2 average pool], 1x1 conv to
  C_out.
- Identity-preserving skips: G keeps the first C_out channels of its input (and upsamples them); D
  (average-pools and) passes its input through, concatenated with C_out - C_in channels from a 1x1
  conv of it when the width grows.
- Two blocks per resolution: in G a block at constant width, then an up-block; in D a down-block, then
  one at constant width. D starts with a 3x3 conv to its first width.
- Conditioning `biggan`: z is not split; [z, shared class embedding] feeds the first Dense layer and
  every conditional BN (through linear layers, gan/models/normalization.py).
Widths per resolution follow `resnet.architecture` (BigGAN-deep's 128x128 table: G 16ch, 16, 8, 4, 2,
1; D ch, 2, 4, 8, 16, 16), attention after the block that reaches `attention_resolution` (G: the
up-block; D: the constant-width block), ReLU and global sum pooling before D's head.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from gan.models.attention import SelfAttention
from gan.models.conditioning import concat_label, discriminator_head, require_labels, shared_class_embedding
from gan.models.normalization import normalize, weight_layer
from gan.models.resnet import (ResNetDiscriminator, ResNetGenerator, architecture, downsample, square_conv,
                               upsample)

BOTTLENECK = 4  # the channel ratio of the blocks' inner convs


class BigGANDeepGenerator(ResNetGenerator):
  """The fields of ResNetGenerator, with BigGAN-deep's defaults."""
  resolution: int = 128
  width: int = 128  # ch
  conditioning: str = "biggan"  # none | concat | cbn | biggan
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    g_in, g_out, _, _ = architecture(self.resolution)

    def conv(c, size):
      return square_conv(c, size, spectral_norm=self.spectral_norm, train=train)

    condition = None
    if self.conditioning == "biggan":
      require_labels(self.num_classes, self.conditioning)
      shared = shared_class_embedding(labels, self.num_classes, self.shared_embedding_dim)
      z = condition = jnp.concatenate([z, shared], axis=-1)
    z = concat_label(z, labels, self.num_classes, self.conditioning)

    def norm(h, conditioning=self.conditioning):
      return normalize(h, labels, kind=self.norm, train=train, axis_name=self.axis_name,
                       conditioning=conditioning, num_classes=self.num_classes, condition=condition,
                       spectral_norm=self.spectral_norm)

    def block(h, c_out, up):
      hidden = h.shape[-1] // BOTTLENECK
      skip = h[..., :c_out]
      r = conv(hidden, 1)(nn.relu(norm(h)))
      r = nn.relu(norm(r))
      if up:
        r, skip = upsample(r), upsample(skip)
      r = conv(hidden, 3)(r)
      r = conv(hidden, 3)(nn.relu(norm(r)))
      return skip + conv(c_out, 1)(nn.relu(norm(r)))

    c = g_in * self.width
    h = weight_layer(nn.Dense(4 * 4 * c), spectral_norm=self.spectral_norm, train=train)(z)
    h = h.reshape(z.shape[0], 4, 4, c)
    for multiplier in g_out:
      c_out = multiplier * self.width
      if c_out > h.shape[-1]:
        raise ValueError(f"BigGAN-deep's G drops channels in its skips: width {h.shape[-1]} -> {c_out}")
      h = block(block(h, h.shape[-1], up=False), c_out, up=True)
      if h.shape[1] == self.attention_resolution:
        h = SelfAttention(self.spectral_norm)(h, train=train)
    h = conv(self.channels, 3)(nn.relu(norm(h, conditioning="none")))
    return jnp.tanh(h)


class BigGANDeepDiscriminator(ResNetDiscriminator):
  """The fields of ResNetDiscriminator, with BigGAN-deep's defaults."""
  width: int = 128  # ch
  conditioning: str = "projection"  # none | projection | acgan

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    _, _, d_out, d_down = architecture(x.shape[1])

    def conv(c, size):
      return square_conv(c, size, spectral_norm=self.spectral_norm, train=train)

    def act(t):
      return nn.relu(normalize(t, kind=self.norm, train=train, axis_name=self.axis_name))

    def block(h, c_out, down):
      c_in, hidden = h.shape[-1], c_out // BOTTLENECK
      r = conv(hidden, 1)(act(h))
      r = conv(hidden, 3)(act(r))
      r = conv(hidden, 3)(act(r))
      r = act(r)
      skip = h
      if down:
        r, skip = downsample(r), downsample(skip)
      if c_out > c_in:
        skip = jnp.concatenate([skip, conv(c_out - c_in, 1)(skip)], axis=-1)
      elif c_out < c_in:
        raise ValueError(f"BigGAN-deep's D concatenates channels in its skips: width {c_in} -> {c_out}")
      return skip + conv(c_out, 1)(r)

    h, attended = conv(d_out[0] * self.width, 3)(x), False
    for multiplier, down in zip(d_out[1:], d_down):
      c = multiplier * self.width
      h = block(block(h, c, down), c, down=False)
      if h.shape[1] == self.attention_resolution and not attended:
        h, attended = SelfAttention(self.spectral_norm)(h, train=train), True
    features = jnp.sum(nn.relu(h), axis=(1, 2))  # global sum pooling
    return discriminator_head(self, features, labels, conditioning=self.conditioning,
                              num_classes=self.num_classes, spectral_norm=self.spectral_norm, train=train)
