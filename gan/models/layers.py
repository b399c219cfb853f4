"""Layers shared by the model families."""
from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

# Output phase p in {0, 1} of a stride-2, 4-tap transposed conv with "SAME" padding reads input rows
# (m-1, m) with taps (0, 2) when p = 0 and rows (m, m+1) with taps (1, 3) when p = 1: taps 2t + p.
_PHASE_PADDING = {0: (1, 0), 1: (0, 1)}


def _conv(x, kernel, padding):
  return lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _kernel_matrix(kernel):
  """(kh, kw, in, out) -> (in, kh * kw * out), column (a * kw + b) * out + o."""
  kh, kw, cin, cout = kernel.shape
  return kernel.transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_as_matmuls(x, kernel, padding):
  """Stride-1 NHWC/HWIO convolution with explicit `padding` ((top, bottom), (left, right)) that keeps the
  spatial size (top + bottom = kh - 1, left + right = kw - 1), computed as matrix products: worth it for
  few output channels, where XLA:CPU's convolutions run far below the CPU's peak.

  With x as an (NHW, in) matrix and K as the (in, kh*kw*out) matrix of `_kernel_matrix`:
    forward          y[n, h, w] = sum_{a,b} P[n, h + a - pt, w + b - pl, a, b],  P = x K (zero outside),
    input gradient   dx = C K^T,
    kernel gradient  dK = x^T C,
  where C is the (NHW, kh*kw*out) matrix of dy's shifted copies, C[(n, h, w), (a, b, o)] =
  dy[n, h + pt - a, w + pl - b, o]. For the DCGAN generator's 64->3 output conv on XLA:CPU the forward
  pass is ~4x and the backward ~1.4x faster than XLA's convolutions (whose kernel gradient also
  transposed x into a batch-minor layout). Same numbers up to float summation order.
  """
  (pt, pb), (pl, pr) = padding
  kh, kw, cin, cout = kernel.shape
  n, h, w, _ = x.shape
  if (pt + pb, pl + pr) != (kh - 1, kw - 1):
    raise ValueError(f"conv_as_matmuls: padding {padding} does not keep the size for a {kh}x{kw} kernel")
  products = (x.reshape(-1, cin) @ _kernel_matrix(kernel)).reshape(n, h, w, kh, kw, cout)
  products = jnp.pad(products, ((0, 0), (pt, pb), (pl, pr), (0, 0), (0, 0), (0, 0)))
  return sum(products[:, a:a + h, b:b + w, a, b] for a in range(kh) for b in range(kw))


def _conv_as_matmuls_fwd(x, kernel, padding):
  return conv_as_matmuls(x, kernel, padding), (x, kernel)


def _conv_as_matmuls_bwd(padding, residuals, dy):
  x, kernel = residuals
  kh, kw, cin, cout = kernel.shape
  _, h, w, _ = x.shape
  (pt, _), (pl, _) = padding
  dy_padded = jnp.pad(dy, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
  shifted = [dy_padded[:, pt - a + kh - 1:pt - a + kh - 1 + h, pl - b + kw - 1:pl - b + kw - 1 + w]
             for a in range(kh) for b in range(kw)]  # shifted[a * kw + b][n, h, w] = dy[n, h + pt - a, w + pl - b]
  columns = jnp.concatenate(shifted, axis=-1).reshape(-1, kh * kw * cout)
  matrix = _kernel_matrix(kernel)
  dx = lax.dot_general(columns, matrix, (((1,), (1,)), ((), ()))).reshape(x.shape)
  dk = lax.dot_general(x.reshape(-1, cin), columns, (((0,), (0,)), ((), ())))
  return dx, dk.reshape(cin, kh, kw, cout).transpose(1, 2, 0, 3)


conv_as_matmuls.defvjp(_conv_as_matmuls_fwd, _conv_as_matmuls_bwd)


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
    # taps[t, p, s, q] = kernel[2t + p, 2s + q]: a phase's 2x2 kernel is a slice, whose gradient XLA
    # pads into place (indexing with tap arrays instead made a gather and a scatter: 1.03-1.09x slower
    # bench_dcgan32 step on XLA:CPU).
    taps = kernel.reshape(2, 2, 2, 2, *kernel.shape[2:])
    rows = []
    for p in (0, 1):
      cols = []
      for q in (0, 1):
        cols.append(_conv(x, taps[:, p, :, q].astype(x.dtype), (_PHASE_PADDING[p], _PHASE_PADDING[q])))
      rows.append(jnp.stack(cols, axis=3))  # (N, H, W, q, C)
    n, h, w, c = cols[0].shape
    y = jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, c)  # (N, H, p, W, q, C) -> (N, 2H, 2W, C)
    return y + bias


class ConvSame(nn.Module):
  """`nn.Conv(features, kernel_size, padding="SAME")` (stride 1; same `kernel`, `bias` and initialisation,
  so checkpoints are interchangeable; same outputs up to float summation order), computed by
  `conv_as_matmuls`: for the DCGAN generator's 64->3 output conv it makes the bench_dcgan32 train step
  about 1.07x faster on XLA:CPU (README, Performance). Meant for few output channels: the forward pass
  writes kh * kw times the output's size before summing the shifted products."""
  features: int
  kernel_size: tuple[int, int] = (3, 3)
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
    bias = self.param("bias", self.bias_init, (self.features,))
    padding = tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in self.kernel_size)  # XLA's "SAME"
    return conv_as_matmuls(x, kernel.astype(x.dtype), padding) + bias
