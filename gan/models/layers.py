"""Layers shared by the model families."""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

# Output phase p in {0, 1} of a stride-2, 4-tap transposed conv with "SAME" padding reads input rows
# (m-1, m) with taps (0, 2) when p = 0 and rows (m, m+1) with taps (1, 3) when p = 1.
_PHASE_TAPS = {0: (0, 2), 1: (1, 3)}
_PHASE_PADDING = {0: (1, 0), 1: (0, 1)}


class ConvTranspose4x4Stride2(nn.Module):
  """Exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")`, computed sub-pixel.

  The transposed conv (Dumoulin & Visin 2016, "A guide to convolution arithmetic", Sec. 4.5) writes
  output pixel (2m+p, 2l+q) from a 2x2 window of input pixels and a 2x2 subset of the 4x4 kernel, so it
  equals four small stride-1 convolutions, one per output phase (p, q), interleaved (depth-to-space;
  Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN").
  Same parameters (`kernel` (4, 4, in, out), `bias`), same initialisation and same outputs as
  `nn.ConvTranspose`, so checkpoints are interchangeable; it avoids XLA:CPU's very slow weight gradient
  for lhs-dilated convolutions (shared/DESIGN.md).
  """
  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
    bias = self.param("bias", self.bias_init, (self.features,))
    rows = []
    for p in (0, 1):
      cols = []
      for q in (0, 1):
        k = kernel[jnp.array(_PHASE_TAPS[p])][:, jnp.array(_PHASE_TAPS[q])]
        cols.append(lax.conv_general_dilated(x, k.astype(x.dtype), (1, 1),
                                             [_PHASE_PADDING[p], _PHASE_PADDING[q]],
                                             dimension_numbers=("NHWC", "HWIO", "NHWC")))
      rows.append(jnp.stack(cols, axis=3))  # (N, H, W, q, C)
    n, h, w, c = cols[0].shape
    y = jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, c)  # (N, H, p, W, q, C) -> (N, 2H, 2W, C)
    return y + bias
