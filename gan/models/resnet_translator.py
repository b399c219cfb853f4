"""CycleGAN's ResNet generator: Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", Appendix 7.2, after Johnson et al. 2016, "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution" (Sec. 3.1 and their supplementary material); layer for layer
the reference implementation's ResnetGenerator / ResnetBlock (junyanz/pytorch-CycleGAN-and-pix2pix,
models/networks.py).

  c7s1-ngf, d2ngf, d4ngf, R4ngf x num_blocks, u2ngf, ungf, c7s1-channels
- c7s1-k: reflection pad 3, 7x7 conv (stride 1, no zero padding), norm, ReLU; the last one has tanh
  instead of norm and ReLU.
- dk: 3x3 conv, stride 2, zero padding 1, norm, ReLU.
- Rk: x + block(x), block = reflection pad 1, 3x3 conv, norm, ReLU, reflection pad 1, 3x3 conv, norm
  (no ReLU after the sum, as the reference).
- uk: PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1) (doubles the size), norm, ReLU.
The paper uses 6 blocks at 128x128 and 9 at 256x256 and higher.

`norm="instance"` (the default, CycleGAN's) is PyTorch's InstanceNorm2d(affine=False) as the reference's
get_norm_layer builds it: no parameters. Biases as the reference: use_bias = (norm == "instance") on
every conv and transposed conv except the last 7x7 conv, which always has one. Initialisation as the
reference's init_weights('normal', 0.02): kernels N(0, 0.02), biases 0, batch-norm scales N(1, 0.02).

Reflection padding is PyTorch's ReflectionPad2d (the border pixel is not repeated: np.pad's "reflect").
The transposed conv is `ConvTransposeStride2` (gan/models/layers.py): with the kernel stored unflipped,
it is `nn.ConvTranspose(features, (3, 3), (2, 2), padding=((1, 2), (1, 2)))` (PyTorch pads the dilated
input by k - 1 - p = 1 before and k - 1 - p + output_padding = 2 after; Flax's "SAME" would pad (2, 1),
a different alignment), computed as four stride-1 phase convolutions, because XLA:CPU computes the kernel
gradient of the lhs-dilated convolution far more slowly: for the 128 -> 64 layer, 8x8 -> 16x16, batch 32,
forward plus both gradients took 245 ms with nn.ConvTranspose (forward alone 3 ms, forward + input
gradient 12 ms) and 25 ms sub-pixel (medians on a busy 2-core CPU; same outputs and gradients).
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from gan.models.layers import ConvTransposeStride2, normal_init
from gan.models.normalization import normalize

KERNEL_INIT = normal_init(0.0, 0.02)
SCALE_INIT = normal_init(1.0, 0.02)


def reflection_pad(x, pad: int):
  """PyTorch's ReflectionPad2d(pad) on NHWC activations: mirror without repeating the border pixel."""
  return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


def _norm(h, kind: str, train: bool, axis_name: str | None):
  return normalize(h, kind=kind, train=train, axis_name=axis_name, affine=kind != "instance",
                   scale_init=SCALE_INIT, fast_variance=False)


def _conv(features: int, size: int, *, stride: int = 1, padding: int = 0, use_bias: bool, name=None):
  return nn.Conv(features, (size, size), strides=(stride, stride), padding=((padding, padding),) * 2,
                 use_bias=use_bias, kernel_init=KERNEL_INIT, name=name)


class ResnetBlock(nn.Module):
  """x + [reflect pad 1, conv3x3, norm, ReLU, reflect pad 1, conv3x3, norm](x): the reference's
  ResnetBlock (padding_type='reflect', no dropout)."""
  norm: str = "instance"
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, *, train: bool):
    features, use_bias = x.shape[-1], self.norm == "instance"
    h = _conv(features, 3, use_bias=use_bias)(reflection_pad(x, 1))
    h = nn.relu(_norm(h, self.norm, train, self.axis_name))
    h = _conv(features, 3, use_bias=use_bias)(reflection_pad(h, 1))
    return x + _norm(h, self.norm, train, self.axis_name)


class ResNetTranslator(nn.Module):
  channels: int  # output channels
  width: int = 64  # ngf
  num_blocks: int = 9  # 6 for 128x128 in the paper
  norm: str = "instance"  # instance (no affine parameters) | batch | none (gan/models/normalization.py)
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, *, train: bool):
    if x.ndim != 4 or x.shape[1] % 4 or x.shape[2] % 4:
      raise ValueError(f"the ResNet translator needs NHWC images with sides divisible by 4, got {x.shape}")
    use_bias = self.norm == "instance"

    def norm_relu(h):
      return nn.relu(_norm(h, self.norm, train, self.axis_name))
    h = norm_relu(_conv(self.width, 7, use_bias=use_bias)(reflection_pad(x, 3)))
    for mult in (2, 4):  # d2ngf, d4ngf
      h = norm_relu(_conv(self.width * mult, 3, stride=2, padding=1, use_bias=use_bias)(h))
    for _ in range(self.num_blocks):
      h = ResnetBlock(self.norm, self.axis_name)(h, train=train)
    for mult in (2, 1):  # u2ngf, ungf
      h = norm_relu(ConvTransposeStride2(self.width * mult, 3, padding=1, output_padding=1, use_bias=use_bias,
                                         kernel_init=KERNEL_INIT)(h))
    return jnp.tanh(_conv(self.channels, 7, use_bias=True)(reflection_pad(h, 3)))
