"""The self-attention block of Zhang et al. 2019, "Self-Attention Generative Adversarial Networks",
Sec. 3, shared by the DCGAN, ResNet and BigGAN-deep models (their `attention_resolution`): query/key 1x1
convs to C/8, value to C/2, key and value 2x2 max-pooled as in the authors' and BigGAN's code, and an
output 1x1 conv scaled by gamma initialised at 0, so that a new block starts as the identity.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan.models.normalization import weight_layer


class SelfAttention(nn.Module):
  """x + gamma * o, o = conv1x1(softmax(theta phi^T) g) (Zhang et al. 2019, Eqs. 1-3)."""
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x, *, train: bool):
    n, h, w, c = x.shape

    def conv(features, name):
      return weight_layer(nn.Conv(features, (1, 1), use_bias=False, name=name),
                          spectral_norm=self.spectral_norm, train=train)

    def pool(t):
      return nn.max_pool(t, (2, 2), strides=(2, 2))
    theta = conv(max(1, c // 8), "theta")(x).reshape(n, h * w, -1)
    phi = pool(conv(max(1, c // 8), "phi")(x)).reshape(n, h * w // 4, -1)
    g = pool(conv(max(1, c // 2), "g")(x)).reshape(n, h * w // 4, -1)
    attention = jax.nn.softmax(jnp.einsum("nqd,nkd->nqk", theta, phi), axis=-1)
    o = conv(c, "o")(jnp.einsum("nqk,nkd->nqd", attention, g).reshape(n, h, w, -1))
    gamma = self.param("gamma", nn.initializers.zeros, ())
    return x + gamma * o
