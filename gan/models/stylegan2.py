"""StyleGAN2 / StyleGAN2-ADA generator and discriminator (Karras et al. 2020a, "Analyzing and Improving the
Image Quality of StyleGAN"; Karras et al. 2020b, "Training Generative Adversarial Networks with Limited
Data"), following the official NVlabs/stylegan2-ada-pytorch: training/networks.py for the networks,
torch_utils/ops/upfirdn2d.py and conv2d_resample.py for the resampling, bias_act.py for the activations.

G = synthesis(mapping(z, c)):
- mapping (StyleGAN, Karras et al. 2019, Sec. 2): z and the class embedding each normalised to unit second
  moment, concatenated, then `num_layers` equalised-lr dense layers with LeakyReLU(0.2) and lr multiplier
  0.01 (StyleGAN, Appendix C) to w.
- synthesis (StyleGAN2 Sec. 2.2 and 4.1, Fig. 2d and 7, config F "skip" generator): a learned 4x4 constant;
  per resolution a block of two modulated 3x3 convs (the first upsampling 2x, except at 4x4), each with
  weight demodulation (Eq. 1-3), per-pixel noise of learned strength (StyleGAN Sec. 3.2), bias and
  LeakyReLU(0.2) * sqrt(2), and a modulated (not demodulated) 1x1 ToRGB whose output is added to the
  image upsampled from the previous block. Every modulated layer has its own affine map of its w.
D (StyleGAN2 Fig. 7, "resnet" D; or "orig"): fromRGB at the top, per resolution two 3x3 convs (the second
downsampling 2x) with a 1x1 downsampling skip, both branches scaled by sqrt(1/2); then at 4x4 the
minibatch standard deviation (Karras et al. 2018, Sec. 3), a 3x3 conv, a dense layer and the output layer,
conditioned by projection (Miyato & Koyama 2018) on a class embedding from D's own mapping network.
Every weight has an equalised learning rate (Karras et al. 2018, "Progressive Growing of GANs", Sec. 4.1).
All up/downsampling uses the [1, 3, 3, 1] FIR low-pass filter (StyleGAN Sec. 2, after Zhang 2019).

Layout: images and activations are NHWC (the official code is NCHW); conv weights are stored (kh, kw, in,
out) and dense weights (in, out), with the official parameter names (`weight`, `bias`, `affine`,
`noise_strength`, `const`, blocks `b{res}`, ...). An official weight W (out, in, kh, kw) is
W.transpose(2, 3, 1, 0) here, a dense weight is its transpose, `const` (C, 4, 4) is const.transpose(1, 2, 0);
D's `fc` flattens its input in the official (C, H, W) order, so its weight maps by a plain transpose too.
Only trainable parameters live in "params": the constant noise maps (the official `noise_const` buffers)
live in the "noise_const" collection, there is no `w_avg` (the training code keeps the average of w) and
the resampling filter is a constant.

Differences from the official code, on purpose:
- `num_bf16_res` computes the highest resolutions in bfloat16 where the official `num_fp16_res` uses
  float16; bfloat16 has float32's exponent range, so the official float16 pre-normalisation of weights and
  styles in `modulated_conv2d` (overflow guard) is left out; conv_clamp clamps as officially.
- the modulated convs always run in the official "non-fused" form (scale the input by the styles,
  convolve with the shared weight, scale the output by the demodulation coefficients: what the official
  code runs while training); it equals the fused grouped convolution up to float rounding.
- `minibatch_stddev` groups contiguous examples (see there).
- noise in "random" mode is drawn per example from the example's id (`layers.example_keys`).
"""
from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gan.models import layers

LRELU_SLOPE = 0.2
# bias_act.activation_funcs[...].def_gain: sqrt(2) for lrelu keeps the activations' second moment (He et al.
# 2015), 1 for linear.
ACTIVATION_GAINS = {"linear": 1.0, "lrelu": math.sqrt(2.0)}
RESIDUAL_GAIN = math.sqrt(0.5)  # the resnet blocks' skip and main branch (DiscriminatorBlock, gain=np.sqrt(0.5))
DEFAULT_FILTER = (1, 3, 3, 1)
NOISE_MODES = ("random", "const", "none")


# ----------------------------------------------------------------------------------------------------------
# Resampling (torch_utils/ops/upfirdn2d.py, conv2d_resample.py)

def setup_filter(taps=DEFAULT_FILTER) -> np.ndarray:
  """`upfirdn2d.setup_filter(taps)` with its defaults (normalize=True, gain 1): the 2D filter f f^T of
  the 1D taps, normalised to sum 1 so that a constant signal keeps its value. A constant NumPy float32
  (fh, fw) array, as the official registered buffer; the official returns 1D taps (applied separably)
  only for 8 or more taps, which is the same filter."""
  f = np.asarray(taps, np.float64)
  if f.ndim == 0:
    f = f[None]
  if f.ndim == 1:
    f = np.outer(f, f)
  if f.ndim != 2 or f.size == 0:
    raise ValueError(f"setup_filter: taps must be 1D or 2D, got shape {np.shape(taps)}")
  return (f / f.sum()).astype(np.float32)


def _parse_padding(padding) -> tuple[int, int, int, int]:
  """upfirdn2d._parse_padding: an int, (x, y) or the official order (x_before, x_after, y_before, y_after)."""
  if isinstance(padding, int):
    padding = (padding, padding)
  padding = tuple(int(p) for p in padding)
  if len(padding) == 2:
    padding = (padding[0], padding[0], padding[1], padding[1])
  if len(padding) != 4:
    raise ValueError(f"padding must be an int, (x, y) or (x0, x1, y0, y1), got {padding}")
  return padding


def _as_filter(f) -> np.ndarray:
  f = np.ones((1, 1), np.float32) if f is None else np.asarray(f, np.float32)  # constant, never traced
  if f.ndim == 1:
    f = np.outer(f, f)
  if f.ndim != 2:
    raise ValueError(f"FIR filter must be 1D or 2D, got shape {f.shape}")
  return f


def _fir_axis(x, taps, axis: int, down: int):
  """Valid correlation of x with 1D `taps` along `axis`, keeping every `down`-th output: sum of shifted
  (strided) slices, which XLA fuses into one elementwise loop."""
  n_out = (x.shape[axis] - len(taps)) // down + 1
  if n_out <= 0:
    raise ValueError(f"upfirdn2d: {x.shape[axis]} samples are too few for a {len(taps)}-tap filter")
  terms = [lax.slice_in_dim(x, a, a + down * (n_out - 1) + 1, stride=down, axis=axis) * float(t)
           for a, t in enumerate(taps) if t != 0.0]
  return functools.reduce(jnp.add, terms) if terms else jnp.zeros_like(
      lax.slice_in_dim(x, 0, down * (n_out - 1) + 1, stride=down, axis=axis))


def _fir2d(x, taps, down: int):
  """Valid 2D correlation of NHWC x with the (fh, fw) `taps`, strided by `down`; separably when the taps
  are an outer product (as every `setup_filter` result is)."""
  rows, cols, total = taps.sum(axis=1), taps.sum(axis=0), taps.sum()
  if total != 0 and np.allclose(np.outer(rows, cols) / total, taps, rtol=1e-6, atol=1e-9):
    return _fir_axis(_fir_axis(x, rows, 1, down), cols / total, 2, down)
  fh, fw = taps.shape
  h_out, w_out = (x.shape[1] - fh) // down + 1, (x.shape[2] - fw) // down + 1
  terms = [x[:, a:a + down * (h_out - 1) + 1:down, b:b + down * (w_out - 1) + 1:down] * float(taps[a, b])
           for a in range(fh) for b in range(fw) if taps[a, b] != 0.0]
  return functools.reduce(jnp.add, terms)


def upfirdn2d(x, f, *, up: int = 1, down: int = 1, padding=(0, 0, 0, 0), gain: float = 1.0):
  """`upfirdn2d.upfirdn2d(x, f, up, down, padding, flip_filter=False, gain)` on NHWC `x`, per channel:
  1. upsample by inserting up - 1 zeros after each pixel (so H -> H * up),
  2. pad with zeros by `padding` = (x_before, x_after, y_before, y_after) (the official order: x is the
     width axis; negative values crop),
  3. convolve (true convolution: the filter flipped) with the FIR filter `f` * gain, keeping only the
     outputs whose footprint lies inside the padded image,
  4. downsample by keeping every `down`-th pixel (starting with the first).
  Output size per axis: (H * up + before + after - fh) // down + 1. `f` is a constant (NumPy) 2D filter
  (or 1D taps, used as their outer product) as made by `setup_filter`.
  """
  if up < 1 or down < 1:
    raise ValueError(f"upfirdn2d: up and down must be >= 1, got {up}, {down}")
  f = _as_filter(f)
  x0, x1, y0, y1 = _parse_padding(padding)
  zero = jnp.zeros((), x.dtype)
  # lax.pad's interior padding inserts the zeros between pixels; the official's trailing up - 1 zeros go
  # into the high padding, before any cropping of it.
  x = lax.pad(x, zero, ((0, 0, 0), (y0, y1 + up - 1, up - 1), (x0, x1 + up - 1, up - 1), (0, 0, 0)))
  return _fir2d(x, f[::-1, ::-1] * np.float32(gain), down)


def upsample2d(x, f, *, up: int = 2, gain: float = 1.0):
  """`upfirdn2d.upsample2d(x, f, up)` (padding 0): upfirdn2d with up, padding ((fw + up - 1) // 2,
  (fw - up) // 2) per axis and gain up^2 (the inserted zeros lose that much DC), so (H, W) -> (H up, W up)."""
  f = _as_filter(f)
  fh, fw = f.shape
  padding = ((fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2)
  return upfirdn2d(x, f, up=up, padding=padding, gain=gain * up * up)


def downsample2d(x, f, *, down: int = 2, gain: float = 1.0):
  """`upfirdn2d.downsample2d(x, f, down)` (padding 0): upfirdn2d with down and padding
  ((fw - down + 1) // 2, (fw - down) // 2) per axis, so (H, W) -> (H / down, W / down) for even sizes."""
  f = _as_filter(f)
  fh, fw = f.shape
  padding = ((fw - down + 1) // 2, (fw - down) // 2, (fh - down + 1) // 2, (fh - down) // 2)
  return upfirdn2d(x, f, down=down, padding=padding, gain=gain)


def _conv(x, w, stride: int = 1, padding: int = 0):
  return lax.conv_general_dilated(x, w, (stride, stride), ((padding, padding), (padding, padding)),
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))


def conv2d_resample(x, w, f=None, *, up: int = 1, down: int = 1, padding: int = 0):
  """`conv2d_resample.conv2d_resample(x, w, f, up, down, padding)` as the official layers call it (NHWC x,
  HWIO w, square kernel; `flip_weight = (up == 1)`): a cross-correlation with w when up == 1 and a true
  convolution with w when up > 1; the up/down-sampling filtered with `f` ([1, 3, 3, 1] by default), the
  padding (relative to the upsampled image) applied once at the start:
  - up = down = 1: correlation with zero padding `padding`.
  - down > 1: filter with padding + ((fw - down + 1) // 2, (fw - down) // 2) then a stride-`down`
    correlation (a 1x1 kernel: downsample then correlate), as the official fast paths.
  - up = 2: the transposed convolution of x with w (= true convolution of the zero-inserted x), then
    the filter with gain 4 and padding + ((fw + up - 1) // 2 - (k - 1), (fw - up) // 2 - (k - up)) (a 1x1
    kernel: correlate then upsample). The transposed conv runs as four sub-pixel stride-1 convolutions
    (`layers.conv_transpose_stride2`), whose gradients XLA:CPU computes far faster than lhs-dilated ones.
  """
  kh, kw = w.shape[:2]
  if kh != kw:
    raise ValueError(f"conv2d_resample: square kernels only, got {kh}x{kw}")
  if up > 1 and down > 1:
    raise NotImplementedError("conv2d_resample: up and down together are not needed by these networks")
  if up not in (1, 2):
    raise NotImplementedError(f"conv2d_resample: up must be 1 or 2, got {up}")
  if up == 1 and down == 1:
    return _conv(x, w, padding=padding)
  f = _as_filter(setup_filter() if f is None else f)
  fw = f.shape[1]
  if f.shape[0] != fw:
    raise ValueError(f"conv2d_resample: square filters only, got {f.shape}")
  if down > 1:
    p0, p1 = padding + (fw - down + 1) // 2, padding + (fw - down) // 2
    if kw == 1:
      return _conv(upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1)), w)
    return _conv(upfirdn2d(x, f, padding=(p0, p1, p0, p1)), w, stride=down)
  p0, p1 = padding + (fw + up - 1) // 2, padding + (fw - up) // 2
  if kw == 1:
    return upfirdn2d(_conv(x, w), f, up=up, padding=(p0, p1, p0, p1), gain=up * up)
  p0, p1 = p0 - (kw - 1), p1 - (kw - up)
  # The full transposed conv has 2H + k - 2 outputs; the sub-pixel form needs an even count, so an odd one
  # gets one more (zero) output at the end, cropped again by the filter's padding.
  extra = (2 * x.shape[1] + kw - 2) % 2
  pads = ((kw - 1, kw - 1 + extra), (kw - 1, kw - 1 + extra))
  y = layers.conv_transpose_stride2(x, w[::-1, ::-1], pads)  # lhs-dilated correlation with the flipped w
  return upfirdn2d(y, f, padding=(p0, p1 - extra, p0, p1 - extra), gain=up * up)


# ----------------------------------------------------------------------------------------------------------
# Modulated convolution (StyleGAN2 Sec. 2.2, Eq. 1-3; networks.modulated_conv2d)

def demodulation_coefficients(weight, styles):
  """(B, out): 1 / sqrt(sum_{i,k} (s_i w_ijk)^2 + 1e-8) (StyleGAN2 Eq. 3; the official `dcoefs`), from
  the HWIO `weight` and the (B, in) `styles`, as sum_i s_i^2 sum_k w_ijk^2 (one small matrix product)."""
  return lax.rsqrt(jnp.square(styles) @ jnp.sum(jnp.square(weight), axis=(0, 1)) + 1e-8)


def modulated_weights(weight, styles, *, demodulate: bool = True):
  """The per-example kernels (B, kh, kw, in, out): w'_ijk = s_i w_ijk (Eq. 1), divided by
  sqrt(sum_{i,k} w'^2 + 1e-8) when demodulating (Eq. 3), as the official fused path builds them."""
  w = weight[None] * styles[:, None, None, :, None]
  if demodulate:
    w = w * demodulation_coefficients(weight, styles)[:, None, None, None, :]
  return w


def modulated_conv2d(x, weight, styles, *, demodulate: bool = True, up: int = 1, resample_filter=None):
  """`networks.modulated_conv2d(x, weight, styles, up, padding=k // 2, demodulate)` on NHWC x with the HWIO
  `weight` and (B, in) `styles`: each example convolved with its own modulated (and demodulated) kernel
  `modulated_weights(weight, styles)`, computed without materialising them, as the official non-fused
  path: x scaled by the styles over input channels, convolved (`conv2d_resample`, so with up = 2 the
  official transposed conv + [1, 3, 3, 1] filter) with the shared weight, scaled by the demodulation
  coefficients over output channels. The coefficients come from the float32 weight and styles; the conv
  runs in x's dtype.
  """
  dtype = x.dtype
  x = x * styles.astype(dtype)[:, None, None, :]
  x = conv2d_resample(x, weight.astype(dtype), resample_filter, up=up, padding=weight.shape[0] // 2)
  if demodulate:
    x = x * demodulation_coefficients(weight, styles).astype(dtype)[:, None, None, :]
  return x


def normalize_2nd_moment(x, eps: float = 1e-8):
  """`networks.normalize_2nd_moment`: x / sqrt(mean(x^2) + eps) over the last axis."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


def _bias_act(x, b, activation: str, gain: float, clamp: float | None):
  """`bias_act.bias_act(x, b, act, gain, clamp)`: add the bias, activate, scale by gain, clamp to +-clamp."""
  if b is not None:
    x = x + b.astype(x.dtype)
  if activation == "lrelu":
    x = nn.leaky_relu(x, LRELU_SLOPE)
  elif activation != "linear":
    raise ValueError(f"activation must be one of {sorted(ACTIVATION_GAINS)}, got {activation!r}")
  if gain != 1:
    x = x * gain
  if clamp is not None:
    x = jnp.clip(x, -clamp, clamp)
  return x


def minibatch_stddev(x, group_size: int | None = 4, num_channels: int = 1):
  """`networks.MinibatchStdLayer(group_size, num_channels)` (Karras et al. 2018, Sec. 3) on NHWC x: split
  the batch into groups of G = min(group_size, batch) examples (None: the whole batch) and the channels
  into `num_channels` groups of C / F; per group of examples and channel group, the standard deviation
  over the G examples (sqrt(var + 1e-8)), averaged over pixels and channels; appended to every member of
  the group as F constant channels.

  Unlike the official strided grouping (x.reshape(G, -1, ...): examples i, i + N/G, ... together), groups
  are contiguous blocks (x.reshape(-1, G, ...): examples G m, ..., G m + G - 1), so that a batch split
  over devices in contiguous slices of a multiple of G examples gets the same groups on every device
  count. Statistically the same: the examples of a batch are i.i.d.
  """
  n, h, w, c = x.shape
  g = n if group_size is None else min(group_size, n)
  if n % g:
    raise ValueError(f"minibatch_stddev: batch {n} is not a multiple of the group size {g}")
  if c % num_channels:
    raise ValueError(f"minibatch_stddev: {c} channels do not split into {num_channels} groups")
  y = x.reshape(n // g, g, h, w, num_channels, c // num_channels)
  y = y - jnp.mean(y, axis=1, keepdims=True)
  y = jnp.sqrt(jnp.mean(jnp.square(y), axis=1) + 1e-8)  # (n/G, H, W, F, C/F)
  y = jnp.mean(y, axis=(1, 2, 4))  # (n/G, F)
  y = jnp.repeat(y, g, axis=0)  # example i gets its group's (i // G) statistics
  y = jnp.broadcast_to(y[:, None, None, :], (n, h, w, num_channels)).astype(x.dtype)
  return jnp.concatenate([x, y], axis=-1)


# ----------------------------------------------------------------------------------------------------------
# Architecture bookkeeping (networks.SynthesisNetwork / Discriminator constructors)

def _log2_resolution(resolution: int, minimum: int) -> int:
  log2 = int(round(math.log2(resolution))) if resolution > 0 else 0
  if resolution < minimum or 2 ** log2 != resolution:
    raise ValueError(f"StyleGAN2 needs a power-of-two resolution >= {minimum}, got {resolution}")
  return log2


def num_ws(resolution: int) -> int:
  """Number of w vectors the synthesis network takes (`SynthesisNetwork.num_ws`): one per conv (1 at 4x4,
  2 per later block) plus the last block's ToRGB; every other ToRGB shares the next block's first w.
  2 log2(R) - 2: 8 at 32x32, 14 at 256x256, 18 at 1024x1024."""
  return 2 * _log2_resolution(resolution, 4) - 2


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
  """min(channel_base // resolution, channel_max): the official `channels_dict`."""
  return min(channel_base // resolution, channel_max)


def low_precision_resolution(resolution: int, num_low_precision_res: int) -> int:
  """The lowest resolution computed in reduced precision: max(2^(log2 R + 1 - N), 8) (the official
  `fp16_resolution`); with N = 0 it is 2R, so none is."""
  return max(2 ** (_log2_resolution(resolution, 4) + 1 - num_low_precision_res), 8)


def _conditional(num_classes: int | None) -> bool:
  return bool(num_classes)


def _normal(stddev: float):
  return nn.initializers.normal(stddev=stddev)


# ----------------------------------------------------------------------------------------------------------
# Layers

class EqualizedDense(nn.Module):
  """`networks.FullyConnectedLayer`: equalised learning rate (Karras et al. 2018, Sec. 4.1). The weight
  (in, features) is stored N(0, 1 / lr_multiplier^2) and used times lr_multiplier / sqrt(in); the bias is
  stored initialised to `bias_init` and used times lr_multiplier. Then the activation with its gain
  (lrelu: LeakyReLU(0.2) * sqrt(2))."""
  features: int
  lr_multiplier: float = 1.0
  bias_init: float = 0.0
  activation: str = "linear"  # linear | lrelu
  use_bias: bool = True

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    weight = self.param("weight", _normal(1.0 / self.lr_multiplier), (fan_in, self.features))
    y = x @ (weight * (self.lr_multiplier / math.sqrt(fan_in))).astype(x.dtype)
    b = None
    if self.use_bias:
      bias = self.param("bias", nn.initializers.constant(self.bias_init), (self.features,))
      b = bias * self.lr_multiplier
    return _bias_act(y, b, self.activation, ACTIVATION_GAINS[self.activation], None)


class EqualizedConv2d(nn.Module):
  """`networks.Conv2dLayer`: a k x k conv (padding k // 2) with equalised learning rate (weight (k, k, in,
  features) stored N(0, 1 / lr_multiplier^2), used times lr_multiplier / sqrt(in k^2); bias times
  lr_multiplier), optional FIR up/downsampling (`conv2d_resample`), then bias, activation with gain
  (def_gain * `gain`) and clamping to +-conv_clamp * `gain`. Weights and bias are cast to x's dtype."""
  features: int
  kernel_size: int
  up: int = 1
  down: int = 1
  activation: str = "linear"  # linear | lrelu
  use_bias: bool = True
  conv_clamp: float | None = None
  lr_multiplier: float = 1.0
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @nn.compact
  def __call__(self, x, gain: float = 1.0):
    k, fan_in = self.kernel_size, x.shape[-1] * self.kernel_size ** 2
    weight = self.param("weight", _normal(1.0 / self.lr_multiplier), (k, k, x.shape[-1], self.features))
    w = (weight * (self.lr_multiplier / math.sqrt(fan_in))).astype(x.dtype)
    x = conv2d_resample(x, w, setup_filter(self.resample_filter), up=self.up, down=self.down, padding=k // 2)
    b = None
    if self.use_bias:
      b = self.param("bias", nn.initializers.zeros_init(), (self.features,)) * self.lr_multiplier
    clamp = None if self.conv_clamp is None else self.conv_clamp * gain
    return _bias_act(x, b, self.activation, ACTIVATION_GAINS[self.activation] * gain, clamp)


class MappingNetwork(nn.Module):
  """`networks.MappingNetwork` without w_avg tracking, broadcasting and truncation (the training code
  does those): z (if z_dim > 0) and the embedding of the one-hot class (if `num_classes`, an lr-1 linear
  layer to `embed_features`, default w_dim) each normalised to unit second moment and concatenated,
  then `num_layers` equalised dense layers (LeakyReLU, `lr_multiplier`) of `layer_features` (default
  w_dim) units, the last of w_dim. `labels` are int class ids; ignored when unconditional (num_classes
  None or 0). With z_dim = 0 it is D's class mapping (z ignored)."""
  z_dim: int = 512
  w_dim: int = 512
  num_classes: int | None = None
  num_layers: int = 8
  lr_multiplier: float = 0.01
  embed_features: int | None = None
  layer_features: int | None = None

  @nn.compact
  def __call__(self, z, labels=None):
    parts = []
    if self.z_dim > 0:
      if z is None or z.shape[-1] != self.z_dim:
        raise ValueError(f"MappingNetwork: expected z of shape (B, {self.z_dim}), got "
                         f"{None if z is None else z.shape}")
      parts.append(normalize_2nd_moment(z.astype(jnp.float32)))
    if _conditional(self.num_classes):
      if labels is None:
        raise ValueError("MappingNetwork: a conditional mapping network needs labels")
      c = jax.nn.one_hot(labels, self.num_classes, dtype=jnp.float32)
      embed = EqualizedDense(self.embed_features or self.w_dim, name="embed")
      parts.append(normalize_2nd_moment(embed(c)))
    if not parts:
      raise ValueError("MappingNetwork: z_dim = 0 and no classes leave no input")
    x = jnp.concatenate(parts, axis=-1)
    layer_features = self.layer_features or self.w_dim
    for i in range(self.num_layers):
      features = self.w_dim if i == self.num_layers - 1 else layer_features
      x = EqualizedDense(features, self.lr_multiplier, activation="lrelu", name=f"fc{i}")(x)
    return x


class SynthesisLayer(nn.Module):
  """`networks.SynthesisLayer`: styles = affine(w) (bias init 1, so styles start near 1), a modulated and
  demodulated k x k conv (up 1 or 2) of the weight stored N(0, 1) (demodulation makes its scale
  irrelevant, so it has no equalised-lr gain), plus noise * noise_strength (init 0), bias, LeakyReLU(0.2)
  * sqrt(2) * gain and clamping to +-conv_clamp * gain.

  Noise maps (one per example, broadcast over channels): "random" from the rng stream "noise", drawn per
  example from `layers.example_keys(self, "noise", example_ids)` (independent of the rest of the batch);
  "const" the fixed map in the "noise_const" collection (drawn N(0, 1) from the "params" rng at init);
  "none" no noise.
  """
  features: int
  resolution: int  # of the output
  up: int = 1
  kernel_size: int = 3
  conv_clamp: float | None = None
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @nn.compact
  def __call__(self, x, w, example_ids=None, noise_mode: str = "random", gain: float = 1.0):
    if noise_mode not in NOISE_MODES:
      raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
    k, res = self.kernel_size, self.resolution
    styles = EqualizedDense(x.shape[-1], bias_init=1.0, name="affine")(w)
    weight = self.param("weight", _normal(1.0), (k, k, x.shape[-1], self.features))
    x = modulated_conv2d(x, weight, styles, up=self.up, resample_filter=setup_filter(self.resample_filter))
    if x.shape[1:3] != (res, res):
      raise ValueError(f"SynthesisLayer: output {x.shape[1:3]} is not the layer's resolution {res}")

    noise_const = None
    if noise_mode == "const" or self.is_initializing():
      noise_const = self.variable("noise_const", "noise_const",
                                  lambda: jax.random.normal(self.make_rng("params"), (res, res))).value
    noise_strength = self.param("noise_strength", nn.initializers.zeros_init(), ())
    noise = None
    if noise_mode == "random":
      if example_ids is None:
        raise ValueError('noise_mode="random" needs example_ids')
      keys = layers.example_keys(self, "noise", example_ids)
      noise = jax.vmap(lambda key: jax.random.normal(key, (res, res, 1)))(keys)
    elif noise_mode == "const":
      noise = noise_const[None, :, :, None]
    if noise is not None:
      x = x + (noise * noise_strength).astype(x.dtype)

    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    clamp = None if self.conv_clamp is None else self.conv_clamp * gain
    return _bias_act(x, bias, "lrelu", ACTIVATION_GAINS["lrelu"] * gain, clamp)


class ToRGBLayer(nn.Module):
  """`networks.ToRGBLayer`: a modulated, not demodulated, k x k conv (default 1x1) with styles = affine(w)
  (bias init 1) times the equalised-lr gain 1 / sqrt(in k^2) (the weight itself stored N(0, 1) and used
  unscaled), then bias, linear, clamped to +-conv_clamp."""
  features: int  # image channels
  kernel_size: int = 1
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, w):
    k, cin = self.kernel_size, x.shape[-1]
    styles = EqualizedDense(cin, bias_init=1.0, name="affine")(w) * (1.0 / math.sqrt(cin * k * k))
    weight = self.param("weight", _normal(1.0), (k, k, cin, self.features))
    x = modulated_conv2d(x, weight, styles, demodulate=False)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return _bias_act(x, bias, "linear", 1.0, self.conv_clamp)


class SynthesisBlock(nn.Module):
  """`networks.SynthesisBlock` with architecture "skip": at 4x4 (in_channels 0) the learned constant
  (stored N(0, 1)) and conv1; else conv0 (up 2) and conv1; then ToRGB added to the upsampled image
  (`upsample2d`). Activations in bfloat16 when `use_bf16` (parameters stay float32, cast where used); the
  image stays float32. `ws` (B, num_conv + 1, w_dim): one per conv, then ToRGB's."""
  in_channels: int  # 0: the first (4x4) block
  out_channels: int
  resolution: int
  img_channels: int
  conv_clamp: float | None = None
  use_bf16: bool = False
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @nn.compact
  def __call__(self, x, img, ws, example_ids=None, noise_mode: str = "random"):
    dtype = jnp.bfloat16 if self.use_bf16 else jnp.float32
    res = self.resolution
    layer = functools.partial(SynthesisLayer, self.out_channels, res, conv_clamp=self.conv_clamp,
                              resample_filter=self.resample_filter)
    if self.in_channels == 0:
      const = self.param("const", _normal(1.0), (res, res, self.out_channels))
      x = jnp.broadcast_to(const.astype(dtype), (ws.shape[0], *const.shape))
      x = layer(name="conv1")(x, ws[:, 0], example_ids, noise_mode)
    else:
      if x.shape[1:] != (res // 2, res // 2, self.in_channels):
        raise ValueError(f"SynthesisBlock b{res}: input {x.shape} is not (B, {res // 2}, {res // 2}, "
                         f"{self.in_channels})")
      x = layer(up=2, name="conv0")(x.astype(dtype), ws[:, 0], example_ids, noise_mode)
      x = layer(name="conv1")(x, ws[:, 1], example_ids, noise_mode)
    if img is not None:
      img = upsample2d(img, setup_filter(self.resample_filter))
    y = ToRGBLayer(self.img_channels, conv_clamp=self.conv_clamp, name="torgb")(x, ws[:, -1])
    y = y.astype(jnp.float32)
    return x, (y if img is None else img + y)


class SynthesisNetwork(nn.Module):
  """`networks.SynthesisNetwork` (skip architecture): blocks b4, b8, ..., b{resolution} of
  min(channel_base // res, channel_max) channels, the highest `num_bf16_res` resolutions (but never
  4x4) in bfloat16. `__call__(ws (B, num_ws, w_dim), example_ids (B,) int, noise_mode)` -> float32 images
  (B, R, R, channels); block b{res} reads ws[:, i : i + num_conv + 1] where i counts the earlier convs."""
  resolution: int
  channels: int = 3
  w_dim: int = 512
  channel_base: int = 32768
  channel_max: int = 512
  conv_clamp: float | None = None
  num_bf16_res: int = 0
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @property
  def num_ws(self) -> int:
    return num_ws(self.resolution)

  @nn.compact
  def __call__(self, ws, example_ids=None, noise_mode: str = "random"):
    if noise_mode not in NOISE_MODES:
      raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
    if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
      raise ValueError(f"SynthesisNetwork: ws must be (B, {self.num_ws}, {self.w_dim}), got {ws.shape}")
    ws = ws.astype(jnp.float32)
    log2 = _log2_resolution(self.resolution, 4)
    bf16_from = low_precision_resolution(self.resolution, self.num_bf16_res)
    x = img = None
    w_idx = 0
    for res in (2 ** i for i in range(2, log2 + 1)):
      num_conv = 1 if res == 4 else 2
      x, img = SynthesisBlock(
          in_channels=0 if res == 4 else channels_at(res // 2, self.channel_base, self.channel_max),
          out_channels=channels_at(res, self.channel_base, self.channel_max), resolution=res,
          img_channels=self.channels, conv_clamp=self.conv_clamp, use_bf16=res >= bf16_from,
          resample_filter=self.resample_filter, name=f"b{res}")(
              x, img, ws[:, w_idx:w_idx + num_conv + 1], example_ids, noise_mode)
      w_idx += num_conv
    return img


class Generator(nn.Module):
  """`networks.Generator`: `mapping` (MappingNetwork) and `synthesis` (SynthesisNetwork) submodules.

  map(z, labels) -> w (B, w_dim); synthesize(ws (B, num_ws, w_dim), example_ids, noise_mode) -> images;
  __call__(z, labels, example_ids, noise_mode) = synthesize(w broadcast to num_ws, ...), which `init`
  uses to create every parameter: `Generator(...).init({"params": key, "noise": key}, z, labels, ids)`
  (the "noise" rng only for noise_mode "random"). The w average, truncation and style mixing are the
  training code's.
  """
  resolution: int
  channels: int = 3
  num_classes: int | None = None
  z_dim: int = 512
  w_dim: int = 512
  mapping_layers: int = 8
  mapping_lr_multiplier: float = 0.01
  channel_base: int = 32768
  channel_max: int = 512
  conv_clamp: float | None = None
  num_bf16_res: int = 0

  def setup(self):
    self.mapping = MappingNetwork(z_dim=self.z_dim, w_dim=self.w_dim, num_classes=self.num_classes,
                                  num_layers=self.mapping_layers, lr_multiplier=self.mapping_lr_multiplier)
    self.synthesis = SynthesisNetwork(resolution=self.resolution, channels=self.channels, w_dim=self.w_dim,
                                      channel_base=self.channel_base, channel_max=self.channel_max,
                                      conv_clamp=self.conv_clamp, num_bf16_res=self.num_bf16_res)

  @property
  def num_ws(self) -> int:
    return num_ws(self.resolution)

  def map(self, z, labels=None):
    return self.mapping(z, labels)

  def synthesize(self, ws, example_ids=None, noise_mode: str = "random"):
    return self.synthesis(ws, example_ids, noise_mode)

  def __call__(self, z, labels=None, example_ids=None, noise_mode: str = "random"):
    w = self.map(z, labels)
    ws = jnp.broadcast_to(w[:, None, :], (w.shape[0], self.num_ws, w.shape[-1]))
    return self.synthesize(ws, example_ids, noise_mode)


class DiscriminatorBlock(nn.Module):
  """`networks.DiscriminatorBlock` ("resnet" or "orig"): fromRGB (1x1, lrelu) at the top block (in_channels
  0); conv0 (3x3, lrelu) and conv1 (3x3, down 2, lrelu); "resnet" adds a skip (1x1, down 2, no bias,
  linear, unclamped), both branches times sqrt(1/2) (StyleGAN2 Fig. 7c). In bfloat16 when `use_bf16`."""
  in_channels: int  # 0: the first block, which reads the image
  tmp_channels: int
  out_channels: int
  resolution: int
  architecture: str = "resnet"
  conv_clamp: float | None = None
  use_bf16: bool = False
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @nn.compact
  def __call__(self, x, img=None):
    if self.architecture not in ("resnet", "orig"):
      raise ValueError(f'Discriminator architecture must be "resnet" or "orig", got {self.architecture!r}')
    if self.in_channels not in (0, self.tmp_channels):
      raise ValueError(f"DiscriminatorBlock: in_channels {self.in_channels} must be 0 or tmp_channels")
    dtype = jnp.bfloat16 if self.use_bf16 else jnp.float32
    conv = functools.partial(EqualizedConv2d, resample_filter=self.resample_filter)
    if self.in_channels == 0:
      x = conv(self.tmp_channels, 1, activation="lrelu", conv_clamp=self.conv_clamp, name="fromrgb")(
          img.astype(dtype))
    else:
      x = x.astype(dtype)
    conv0 = conv(self.tmp_channels, 3, activation="lrelu", conv_clamp=self.conv_clamp, name="conv0")
    conv1 = conv(self.out_channels, 3, down=2, activation="lrelu", conv_clamp=self.conv_clamp, name="conv1")
    if self.architecture == "resnet":
      y = conv(self.out_channels, 1, down=2, use_bias=False, name="skip")(x, gain=RESIDUAL_GAIN)
      return y + conv1(conv0(x), gain=RESIDUAL_GAIN)
    return conv1(conv0(x))


class DiscriminatorEpilogue(nn.Module):
  """`networks.DiscriminatorEpilogue` (float32): minibatch stddev, conv (3x3, lrelu), fc (lrelu), out (to
  1, or to cmap_dim and projected on the class embedding: sum(out * cmap) / sqrt(cmap_dim))."""
  in_channels: int
  cmap_dim: int = 0
  resolution: int = 4
  mbstd_group_size: int | None = 4
  mbstd_num_channels: int = 1
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, cmap=None):
    if x.shape[1:] != (self.resolution, self.resolution, self.in_channels):
      raise ValueError(f"DiscriminatorEpilogue: input {x.shape} is not (B, {self.resolution}, "
                       f"{self.resolution}, {self.in_channels})")
    x = x.astype(jnp.float32)
    if self.mbstd_num_channels > 0:
      x = minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_channels)
    x = EqualizedConv2d(self.in_channels, 3, activation="lrelu", conv_clamp=self.conv_clamp, name="conv")(x)
    x = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)  # the official (C, H, W) flattening order
    x = EqualizedDense(self.in_channels, activation="lrelu", name="fc")(x)
    x = EqualizedDense(self.cmap_dim or 1, name="out")(x)
    if self.cmap_dim:
      x = jnp.sum(x * cmap, axis=1, keepdims=True) * (1.0 / math.sqrt(self.cmap_dim))
    return x[:, 0]


class Discriminator(nn.Module):
  """`networks.Discriminator`: blocks b{R}, ..., b8 (R >= 8) of min(channel_base // res, channel_max)
  channels (tmp: res's, out: res/2's), the highest `num_bf16_res` resolutions in bfloat16, and the epilogue
  b4. Conditional (num_classes > 0): projection on `mapping`, D's own MappingNetwork(z_dim=0, w_dim=
  cmap_dim) with the official defaults (8 layers, lr multiplier 0.01); cmap_dim defaults to the 4x4
  channels. `__call__(x (B, R, R, channels) in [-1, 1], labels (B,) int)` -> float32 logits (B,)."""
  resolution: int
  channels: int = 3
  num_classes: int | None = None
  architecture: str = "resnet"  # resnet | orig
  channel_base: int = 32768
  channel_max: int = 512
  mbstd_group_size: int | None = 4
  mbstd_num_channels: int = 1
  cmap_dim: int | None = None
  conv_clamp: float | None = None
  num_bf16_res: int = 0
  mapping_layers: int = 8
  mapping_lr_multiplier: float = 0.01
  resample_filter: tuple[int, ...] = DEFAULT_FILTER

  @nn.compact
  def __call__(self, x, labels=None):
    log2 = _log2_resolution(self.resolution, 8)
    if x.shape[1:] != (self.resolution, self.resolution, self.channels):
      raise ValueError(f"Discriminator: input {x.shape} is not (B, {self.resolution}, {self.resolution}, "
                       f"{self.channels})")
    channels = functools.partial(channels_at, channel_base=self.channel_base, channel_max=self.channel_max)
    bf16_from = low_precision_resolution(self.resolution, self.num_bf16_res)
    h = None
    for res in (2 ** i for i in range(log2, 2, -1)):
      h = DiscriminatorBlock(
          in_channels=channels(res) if res < self.resolution else 0, tmp_channels=channels(res),
          out_channels=channels(res // 2), resolution=res, architecture=self.architecture,
          conv_clamp=self.conv_clamp, use_bf16=res >= bf16_from, resample_filter=self.resample_filter,
          name=f"b{res}")(h, x if res == self.resolution else None)
    cmap_dim, cmap = 0, None
    if _conditional(self.num_classes):
      if labels is None:
        raise ValueError("Discriminator: a conditional discriminator needs labels")
      cmap_dim = self.cmap_dim or channels(4)
      cmap = MappingNetwork(z_dim=0, w_dim=cmap_dim, num_classes=self.num_classes,
                            num_layers=self.mapping_layers, lr_multiplier=self.mapping_lr_multiplier,
                            name="mapping")(None, labels)
    return DiscriminatorEpilogue(channels(4), cmap_dim, 4, self.mbstd_group_size, self.mbstd_num_channels,
                                 conv_clamp=self.conv_clamp, name="b4")(h, cmap)
