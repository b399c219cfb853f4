"""pix2pix's U-Net generator: Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks", Sec. 3.2.1 (an encoder-decoder with skip connections between mirrored layers, after Ronneberger
et al. 2015) and Appendix 6.1.1; block for block the reference implementation's UnetGenerator /
UnetSkipConnectionBlock (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py).

An H x H image (H a power of two >= 8) is halved num_downs = log2(H) times, down to 1x1, by 4x4 stride-2
convs (PyTorch padding 1) of widths ngf, 2ngf, 4ngf, then 8ngf for every deeper level, and brought back by
4x4 stride-2 transposed convs (padding 1). Level i (0 outermost ... num_downs - 1 innermost) is the
reference's block:
  outermost  conv(in -> ngf), [inner levels], ReLU, upconv(2ngf -> channels, with bias), tanh
  middle     LeakyReLU(0.2), conv, norm, [inner levels], ReLU, upconv(2 inner -> outer), norm, (dropout)
  innermost  LeakyReLU(0.2), conv, ReLU, upconv(inner -> outer), norm
and every non-outermost level returns concat([x, block(x)]) on channels, so its upconv reads the skip
from the mirrored encoder layer next to the decoder's own features: the paper's encoder C64-C128-C256-
C512-C512-C512-C512-C512 and decoder CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128 at 256x256 (no norm on
the first C64 conv, none at the 1x1 bottleneck; leaky ReLUs in the encoder, plain ones in the decoder).
(The reference's in-place LeakyReLU rewrites the skip tensor x to LReLU(x); the parent's ReLU then sees
ReLU(LReLU(x)) = ReLU(x), so concatenating x itself gives the same values and gradients.)

Convs have a bias exactly where the reference's have one: use_bias = (norm == "instance") on every conv
and upconv (the first conv included), and always on the outermost upconv; so with batch norm, as in
pix2pix, and with `norm="none"` (the reference's Identity norm) only the last layer has a bias.
Initialisation as the reference's init_weights('normal', 0.02): kernels N(0, 0.02), biases 0, norm
scales N(1, 0.02) and biases 0. `norm="instance"` is instance norm WITH the affine scale and bias: what
the reference's BatchNorm computes in training mode at the paper's batch size 1 (Sec. 3.3 and 4: batch
size 1 makes batch norm instance norm; pix2pix's test script keeps this mode).

Dropout is pix2pix's noise z (Sec. 2.2, 3.3): rate 0.5 after the up path of the `dropout_blocks` middle
levels next to the innermost (the reference: num_downs - 5 of them, CD512-CD1024-CD1024 at 256x256,
the paper's first three decoder layers), on both at training and at sampling time, since the paper
applies dropout at test time; `deterministic=True` turns it off (tests, ablations). Its masks are drawn
per example (`ExampleDropout`), from the "dropout" rng stream and `example_ids`, the examples' indices in
the global batch (default arange(B), right on one device): the same numbers on any number of devices.

The transposed convs are `ConvTransposeStride2` (gan/models/layers.py): PyTorch's ConvTranspose2d(k=4,
s=2, p=1) up to a spatial kernel flip, i.e. `nn.ConvTranspose((4, 4), (2, 2), "SAME")` (whose padding
of the dilated input, (2, 2), is PyTorch's k - 1 - p), computed as four stride-1 phase convolutions
like `ConvTranspose4x4Stride2` (the same numbers) but with the bias optional, as the reference needs.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from gan.models.layers import ConvTransposeStride2, ExampleDropout, normal_init
from gan.models.normalization import normalize

KERNEL_INIT = normal_init(0.0, 0.02)
SCALE_INIT = normal_init(1.0, 0.02)


def num_downsamplings(image_size: int) -> int:
  """log2(image_size): the U-Net's levels, from the image down to 1x1."""
  n = int(round(math.log2(image_size))) if image_size > 0 else 0
  if image_size < 8 or 2 ** n != image_size:
    raise ValueError(f"the U-Net needs a square power-of-two image of size >= 8, got {image_size}")
  return n


def level_widths(num_downs: int, width: int) -> list[int]:
  """Channels of each level's down conv (its `inner_nc`): ngf, 2ngf, 4ngf, then 8ngf."""
  return [width * min(2 ** i, 8) for i in range(num_downs)]


class UNetGenerator(nn.Module):
  channels: int  # output channels
  width: int = 64  # ngf
  norm: str = "batch"  # batch | instance (affine) | none (gan/models/normalization.py)
  dropout: float = 0.5
  dropout_blocks: int = 3  # the middle levels next to the innermost with dropout (at most num_downs - 2)
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, example_ids=None, *, train: bool, deterministic: bool = False):
    if x.ndim != 4 or x.shape[1] != x.shape[2]:
      raise ValueError(f"the U-Net needs square NHWC images, got shape {x.shape}")
    num_downs = num_downsamplings(x.shape[1])
    inner = level_widths(num_downs, self.width)
    outer = [self.channels] + inner[:-1]  # each level's up path returns its parent's width
    first_dropout = num_downs - 1 - min(self.dropout_blocks, num_downs - 2)
    if example_ids is None:
      example_ids = jnp.arange(x.shape[0])
    use_bias = self.norm == "instance"

    def norm(h):
      return normalize(h, kind=self.norm, train=train, axis_name=self.axis_name, scale_init=SCALE_INIT,
                       fast_variance=False)

    def conv(h, i):
      return nn.Conv(inner[i], (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=use_bias,
                     kernel_init=KERNEL_INIT, name=f"down_{i}")(h)

    def upconv(h, i, bias):
      return ConvTransposeStride2(outer[i], 4, padding=1, use_bias=bias, kernel_init=KERNEL_INIT,
                                  name=f"up_{i}")(h)

    def level(h, i):
      """Level i >= 1 of the reference's UnetSkipConnectionBlock: concat([h, block(h)])."""
      if i == num_downs - 1:  # innermost: the 1x1 bottleneck has no norm
        y = norm(upconv(nn.relu(conv(nn.leaky_relu(h, 0.2), i)), i, use_bias))
      else:
        y = level(norm(conv(nn.leaky_relu(h, 0.2), i)), i + 1)
        y = norm(upconv(nn.relu(y), i, use_bias))
        if i >= first_dropout:
          y = ExampleDropout(self.dropout, name=f"dropout_{i}")(y, example_ids, deterministic=deterministic)
      return jnp.concatenate([h, y], axis=-1)

    h = level(conv(x, 0), 1)
    return jnp.tanh(upconv(nn.relu(h), 0, True))
