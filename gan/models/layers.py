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
  for lhs-dilated convolutions (seconds per step at 32x32).
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


def conv_from_patches(x, kernel, padding):
  """Stride-1 NHWC/HWIO convolution with explicit `padding` ((top, bottom), (left, right)) as one matrix
  product of the input's kh x kw patches (im2col) with the kernel as a (kh*kw*in, out) matrix.

  For kernels as large as the input (PatchGAN's stride-1 4x4 convs run on 4x4 and 3x3 maps at 32x32
  images), XLA:CPU's convolution is pathologically slow: forward and both gradients of a 256->512 conv on
  4x4 maps at batch 16 took 1,606 ms against 20 ms this way (64->128: 24 against 1.2 ms). Same numbers up
  to float summation order; gradients by autodiff of slices, a concatenation and a matmul."""
  kh, kw, cin, cout = kernel.shape
  x = jnp.pad(x, ((0, 0), *padding, (0, 0)))
  ho, wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
  patches = jnp.concatenate([x[:, a:a + ho, b:b + wo] for a in range(kh) for b in range(kw)], axis=-1)
  return (patches.reshape(-1, kh * kw * cin) @ kernel.reshape(kh * kw * cin, cout)).reshape(
      x.shape[0], ho, wo, cout)


class ConvFromPatches(nn.Module):
  """`nn.Conv(features, kernel_size, padding=padding)` at stride 1 (same `kernel` and `bias` parameters
  and initialisation), computed by `conv_from_patches`."""
  features: int
  kernel_size: tuple[int, int]
  padding: tuple[tuple[int, int], tuple[int, int]]
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
    y = conv_from_patches(x, kernel.astype(x.dtype), self.padding)
    return y + self.param("bias", self.bias_init, (self.features,)) if self.use_bias else y


def normal_init(mean: float, stddev: float) -> nn.initializers.Initializer:
  """N(mean, stddev^2): pix2pix/CycleGAN's `init_weights('normal', 0.02)` draws conv kernels from N(0, 0.02)
  and batch-norm scales from N(1, 0.02) (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py)."""
  def init(key, shape, dtype=jnp.float32):
    return mean + stddev * jax.random.normal(key, shape, dtype)
  return init


def torch_conv_transpose_padding(kernel_size: int, padding: int, output_padding: int = 0) -> tuple[int, int]:
  """The (before, after) zero padding of the stride-dilated input that makes the stride-1 convolution of
  `lax.conv_general_dilated(..., lhs_dilation=strides)` (kernel not flipped, as `nn.ConvTranspose` and
  `lax.conv_transpose` keep it) compute PyTorch's ConvTranspose2d(kernel_size, stride, padding,
  output_padding) with the spatially flipped kernel: k - 1 - p before, k - 1 - p + output_padding after
  (PyTorch's ConvTranspose2d documentation; Dumoulin & Visin 2016, "A guide to convolution arithmetic",
  Sec. 4.6)."""
  if not 0 <= padding <= kernel_size - 1:
    raise ValueError(f"padding {padding} outside [0, {kernel_size - 1}] for a {kernel_size}-tap kernel")
  return kernel_size - 1 - padding, kernel_size - 1 - padding + output_padding


def _stride2_phases(kernel_size: int, padding: tuple[int, int], size: int):
  """For output phase p in (0, 1) of a stride-2 transposed conv along one axis: (first tap, input padding).

  With the lhs-dilated definition y[o] = sum_a K[a] xd[o + a - before] (xd[2m] = x[m], zeros between and
  outside), output o = 2m + p reads only the taps a = a0, a0 + 2, ... with a0 = (before - p) mod 2, at
  input rows m + s + t (t = 0, 1, ...; s = (p + a0 - before) / 2): a stride-1 correlation of x with the
  kernel slice K[a0::2] and padding (-s, M - size - 1 + n - (-s)) for M = out / 2 outputs and n taps.
  """
  before, after = padding
  out = 2 * size - 1 + before + after - kernel_size + 1
  if out % 2 or out <= 0:
    raise ValueError(f"stride-2 transposed conv with padding {padding} and {kernel_size} taps gives {out} "
                     f"outputs from {size}: the sub-pixel form needs an even positive output size")
  phases = []
  for p in (0, 1):
    a0 = (before - p) % 2
    taps = len(range(a0, kernel_size, 2))
    lo = -((p + a0 - before) // 2)
    phases.append((a0, (lo, out // 2 - size - 1 + taps - lo)))
  return phases


def conv_transpose_stride2(x, kernel, padding):
  """`lax.conv_general_dilated(x, kernel, (1, 1), padding, lhs_dilation=(2, 2))` (NHWC, HWIO; what
  `nn.ConvTranspose(strides=(2, 2), padding=padding)` computes for explicit `padding`
  ((top, bottom), (left, right))), computed as four stride-1 phase convolutions interleaved
  (sub-pixel, as `ConvTranspose4x4Stride2`; Shi et al. 2016), one per output phase (p, q) with the kernel
  slice kernel[a0(p)::2, a0(q)::2] (`_stride2_phases`). For any kernel size >= 2 whose output size is
  even along both axes: 4x4 with PyTorch padding 1, and 3x3 with padding 1 and output_padding 1.
  XLA:CPU computes the kernel gradient of the lhs-dilated form very slowly; the phase convolutions'
  gradients are ordinary stride-1 ones.
  """
  kh, kw = kernel.shape[:2]
  if min(kh, kw) < 2:
    raise ValueError(f"conv_transpose_stride2 needs kernels of at least 2x2, got {kh}x{kw}")
  rows = _stride2_phases(kh, padding[0], x.shape[1])
  cols = _stride2_phases(kw, padding[1], x.shape[2])
  phase_rows = []
  for a0, row_padding in rows:
    phase_cols = [_conv(x, kernel[a0::2, b0::2].astype(x.dtype), (row_padding, col_padding))
                  for b0, col_padding in cols]
    phase_rows.append(jnp.stack(phase_cols, axis=3))  # (N, H', W', q, C)
  n, h, w, c = phase_cols[0].shape
  return jnp.stack(phase_rows, axis=2).reshape(n, 2 * h, 2 * w, c)  # (N, H', p, W', q, C) -> (N, 2H', 2W', C)


class ConvTransposeStride2(nn.Module):
  """PyTorch's `ConvTranspose2d(in, features, kernel_size, stride=2, padding, output_padding, bias=use_bias)`
  up to a spatial flip of the kernel, computed sub-pixel by `conv_transpose_stride2`.

  The parameter `kernel` (k, k, in, features) is stored as `nn.ConvTranspose` stores it (not flipped):
  this layer equals `nn.ConvTranspose(features, (k, k), strides=(2, 2), padding=((b, a), (b, a)))` with
  (b, a) = `torch_conv_transpose_padding(k, padding, output_padding)`, and a PyTorch weight W (in, out,
  k, k) maps to kernel = W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1). For k = 4, padding 1 the padding is
  (2, 2), which is what `nn.ConvTranspose(features, (4, 4), (2, 2), "SAME")` and so
  `ConvTranspose4x4Stride2` use: the same numbers, here with an optional bias (pix2pix's U-Net has none
  before batch norm).
  """
  features: int
  kernel_size: int = 4
  padding: int = 1
  output_padding: int = 0
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init, (k, k, x.shape[-1], self.features))
    pads = torch_conv_transpose_padding(k, self.padding, self.output_padding)
    y = conv_transpose_stride2(x, kernel, (pads, pads))
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,))
    return y


def example_keys(module: nn.Module, stream: str, example_ids: jax.Array) -> jax.Array:
  """(B,) keys, one per example: `module.make_rng(stream)` (the layer's own key: Flax folds in the module's
  path and a per-module call count) folded with each example's index in the global batch.

  A draw from an example's key depends on that example's id only, not on which other examples share its
  device: the same numbers on 1, 2 or 4 devices, as long as every device gets the same `stream` key and
  the global ids of its slice.
  """
  key = module.make_rng(stream)
  return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.asarray(example_ids, jnp.uint32))


class ExampleDropout(nn.Module):
  """Inverted dropout as `torch.nn.Dropout(rate)` (Srivastava et al. 2014; kept values scaled by
  1 / (1 - rate)), its mask drawn per example from `example_keys(self, "dropout", example_ids)`, so that
  it does not depend on how the batch is split over devices. Identity when `deterministic` or rate 0."""
  rate: float

  @nn.compact
  def __call__(self, x, example_ids, *, deterministic: bool = False):
    if not 0.0 <= self.rate <= 1.0:
      raise ValueError(f"dropout rate {self.rate} outside [0, 1]")
    if deterministic or self.rate == 0.0:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)
    keys = example_keys(self, "dropout", example_ids)
    keep = jax.vmap(lambda key: jax.random.bernoulli(key, 1.0 - self.rate, x.shape[1:]))(keys)
    return jnp.where(keep, x / (1.0 - self.rate), jnp.zeros((), x.dtype)).astype(x.dtype)
