"""ResNet generator and discriminator of SNGAN, with SAGAN's self-attention block as an option.

Miyato et al. 2018, "Spectral Normalization for GANs", Appendix B (Tables 4 and 5 for 32x32, Table 6
for 64x64 and 128x128 in Miyato & Koyama 2018, "cGANs with Projection Discriminator", Fig. 14):
- G: z -> Dense -> 4x4 x C0; residual up-blocks (BN, ReLU, nearest 2x upsample, 3x3 conv, BN, ReLU,
  3x3 conv; shortcut: upsample, 1x1 conv) to the resolution; BN, ReLU, 3x3 conv to the channels, tanh.
- D: an "optimized" first down-block (3x3 conv, ReLU, 3x3 conv, 2x2 average pool; shortcut: pool,
  1x1 conv), residual blocks (ReLU, 3x3 conv, ReLU, 3x3 conv, optional pool; shortcut 1x1 conv + pool
  when the shape changes), ReLU, global sum pooling, then the head (Dense -> 1, projection, AC-GAN).
Widths are multiples of `width` (ch) per resolution (`architecture`): the papers' tables for 32
(G 4ch everywhere = 256; D 2ch = 128, down-sampling in the first two blocks), 64 and 128 (G 16ch
halving to ch, D ch doubling to 16ch), and the same doubling rule for any other power of two >= 8.
D's down-sampling follows the authors' code (pfnet-research/sngan_projection, dis_models/): at 64 all
five blocks down-sample, to 2x2 (snresnet_64.py); at 128 (snresnet_128.py), 256 (snresnet_256.py) and
the other resolutions every block but the last, which stays at 4x4.
`attention_resolution` > 0 inserts the self-attention block of Zhang et al. 2019, "Self-Attention
GANs", Sec. 3 (gan/models/attention.py) after the block that reaches it.
`norm`, `spectral_norm` and `conditioning` as for every model (gan/models/normalization.py,
gan/models/conditioning.py): SNGAN uses BN in G and SN in D; SAGAN and BigGAN add SN in G.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from gan.models.attention import SelfAttention
from gan.models.conditioning import biggan_conditions, concat_label, discriminator_head
from gan.models.normalization import normalize, weight_layer

# resolution -> (G block output multipliers, D block output multipliers, D blocks that down-sample)
PAPER_ARCHITECTURES = {
    32: ((4, 4, 4), (2, 2, 2, 2), (True, True, False, False)),
    64: ((8, 4, 2, 1), (1, 2, 4, 8, 16), (True, True, True, True, True)),
    128: ((16, 8, 4, 2, 1), (1, 2, 4, 8, 16, 16), (True, True, True, True, True, False)),
}


def architecture(resolution: int):
  """(G input multiplier, G block multipliers, D block multipliers, D down-sampling flags)."""
  n = int(round(math.log2(resolution))) - 2
  if resolution < 8 or 2 ** (n + 2) != resolution:
    raise ValueError(f"the ResNet models need a square power-of-two resolution >= 8, got {resolution}")
  if resolution in PAPER_ARCHITECTURES:
    g_out, d_out, d_down = PAPER_ARCHITECTURES[resolution]
  else:
    g_out = tuple(min(16, 2 ** (n - 1 - i)) for i in range(n))
    d_out = tuple(min(16, 2 ** i) for i in range(n + 1))
    d_down = (True,) * n + (False,)
  g_in = 4 if resolution == 32 else min(16, 2 * g_out[0])
  return g_in, g_out, d_out, d_down


def square_conv(features: int, size: int, *, spectral_norm: bool, train: bool):
  """A size x size 'SAME' convolution, spectrally normalized when `spectral_norm`."""
  return weight_layer(nn.Conv(features, (size, size), padding="SAME"), spectral_norm=spectral_norm,
                      train=train)


def upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def downsample(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


class ResNetGenerator(nn.Module):
  resolution: int = 32
  channels: int = 3
  width: int = 64  # ch
  conditioning: str = "none"  # none | concat | cbn | biggan (gan/models/conditioning.py)
  norm: str = "batch"
  spectral_norm: bool = False
  attention_resolution: int = 0  # 0: no self-attention
  shared_embedding_dim: int = 128  # BigGAN's shared class embedding (conditioning="biggan")
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, z, labels=None, *, train: bool = True):
    g_in, g_out, _, _ = architecture(self.resolution)

    def layer(m):
      return weight_layer(m, spectral_norm=self.spectral_norm, train=train)

    def norm(h, condition=None, conditioning=self.conditioning):
      return normalize(h, labels, kind=self.norm, train=train, axis_name=self.axis_name,
                       conditioning=conditioning, num_classes=self.num_classes, condition=condition,
                       spectral_norm=self.spectral_norm)
    conditions = [None] * len(g_out)
    if self.conditioning == "biggan":
      z, conditions = biggan_conditions(z, labels, len(g_out), self.num_classes, self.shared_embedding_dim)
    z = concat_label(z, labels, self.num_classes, self.conditioning)
    c = g_in * self.width
    h = layer(nn.Dense(4 * 4 * c))(z).reshape(z.shape[0], 4, 4, c)
    for multiplier, condition in zip(g_out, conditions):
      c = multiplier * self.width
      skip = layer(nn.Conv(c, (1, 1)))(upsample(h))
      h = layer(nn.Conv(c, (3, 3), padding="SAME"))(upsample(nn.relu(norm(h, condition))))
      h = skip + layer(nn.Conv(c, (3, 3), padding="SAME"))(nn.relu(norm(h, condition)))
      if h.shape[1] == self.attention_resolution:
        h = SelfAttention(self.spectral_norm)(h, train=train)
    # The last BN is unconditional in SNGAN-projection's and BigGAN's generators.
    h = layer(nn.Conv(self.channels, (3, 3), padding="SAME"))(nn.relu(norm(h, conditioning="none")))
    return jnp.tanh(h)


class ResNetDiscriminator(nn.Module):
  width: int = 64  # ch
  conditioning: str = "none"  # none | projection | acgan
  norm: str = "none"  # SNGAN's D has no activation normalization
  spectral_norm: bool = True
  attention_resolution: int = 0
  num_classes: int | None = None
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool = True):
    _, _, d_out, d_down = architecture(x.shape[1])

    def conv(c, size):
      return square_conv(c, size, spectral_norm=self.spectral_norm, train=train)

    def norm(t):
      return normalize(t, kind=self.norm, train=train, axis_name=self.axis_name)
    h, attended = x, False
    for i, (multiplier, down) in enumerate(zip(d_out, d_down)):
      c = multiplier * self.width
      if i == 0:  # the optimized block: no activation before the first conv, pool before the shortcut
        skip = conv(c, 1)(downsample(h))
        h = conv(c, 3)(nn.relu(norm(conv(c, 3)(h))))
      else:
        skip = h
        if down or h.shape[-1] != c:
          skip = conv(c, 1)(skip)
          skip = downsample(skip) if down else skip
        h = conv(c, 3)(nn.relu(norm(conv(c, 3)(nn.relu(norm(h))))))
      h = (downsample(h) if down else h) + skip
      if h.shape[1] == self.attention_resolution and not attended:  # after the first block there
        h, attended = SelfAttention(self.spectral_norm)(h, train=train), True
    features = jnp.sum(nn.relu(h), axis=(1, 2))  # global sum pooling
    return discriminator_head(self, features, labels, conditioning=self.conditioning,
                              num_classes=self.num_classes, spectral_norm=self.spectral_norm, train=train)
