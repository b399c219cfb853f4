"""pix2pix's PatchGAN and PixelGAN discriminators: Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks", Sec. 3.2.2 (a "Markovian" D that classifies each N x N patch as real
or fake, run convolutionally over the image) and Sec. 4.4 (Table 3: receptive fields 1, 16, 70, 286),
Appendix 6.1.2; the reference implementation's NLayerDiscriminator and PixelDiscriminator
(junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py). CycleGAN (Zhu et al. 2017, Appendix 7.2)
uses the 70x70 one with instance norm.

NLayer (n_layers = 1..5): conv(ndf, 4, s2, p1), LeakyReLU(0.2); for n in 1..n_layers-1
conv(ndf * min(2^n, 8), 4, s2, p1), norm, LeakyReLU; conv(ndf * min(2^n_layers, 8), 4, s1, p1), norm,
LeakyReLU; conv(1, 4, s1, p1): one logit per patch, no sigmoid (the loss takes logits). At n_layers = 3
this is the paper's C64-C128-C256-C512 70x70 PatchGAN. PixelGAN (receptive field 1): 1x1 convs ndf,
LeakyReLU, 2ndf, norm, LeakyReLU, 1.
Receptive field: a k-tap stride-s layer maps an output window of r to (r - 1) s + k inputs; the two
stride-1 4x4 convs give 1 + 3 + 3 = 7 and each stride-2 one r -> 2r + 2, so r(n) + 2 = 9 * 2^n:
r(n) = 9 * 2^n - 2 = 16, 34, 70, 142, 286 for n = 1..5.
Logit map: a stride-2 4x4 conv with padding 1 maps size s to floor(s / 2), a stride-1 one to s - 1, so
the map is floor(S / 2^n) - 2 on a side (30 for 256x256 at n = 3).

Biases where the reference has them: always on the first and the last conv of NLayer and on the first of
PixelGAN; elsewhere (and on PixelGAN's last conv) only when norm == "instance". Init as the reference's
init_weights('normal', 0.02): kernels N(0, 0.02), biases 0, batch-norm scales N(1, 0.02).
`norm="instance"` is PyTorch's InstanceNorm2d(affine=False) as the reference's get_norm_layer builds it
(no parameters): CycleGAN's D.
pix2pix's caller concatenates (input, output) on channels before D; CycleGAN's D sees one image.
"""
from __future__ import annotations

import itertools

import flax.linen as nn

from gan.models.layers import ConvFromPatches, normal_init
from gan.models.normalization import normalize

RECEPTIVE_FIELDS = (1, 16, 34, 70, 142, 286)  # 1 = PixelGAN; else n_layers = 1..5 of NLayerDiscriminator
KERNEL_INIT = normal_init(0.0, 0.02)
SCALE_INIT = normal_init(1.0, 0.02)


def receptive_field(n_layers: int) -> int:
  """Receptive field of NLayerDiscriminator(n_layers): 9 * 2^n_layers - 2 (module docstring)."""
  if not 1 <= n_layers <= 5:
    raise ValueError(f"n_layers must be in 1..5, got {n_layers}")
  return 9 * 2 ** n_layers - 2


def n_layers_for(receptive_field: int) -> int:
  """The NLayerDiscriminator depth with this receptive field; 0 for the PixelGAN (receptive field 1)."""
  if receptive_field not in RECEPTIVE_FIELDS:
    raise ValueError(f"receptive field {receptive_field} is not one of {RECEPTIVE_FIELDS}")
  return RECEPTIVE_FIELDS.index(receptive_field)


def output_size(image_size: int, receptive_field: int) -> int:
  """Side of the logit map on an image_size x image_size input: image_size for the PixelGAN, else
  floor(image_size / 2^n) - 2; <= 0 means the discriminator does not fit the image."""
  n = n_layers_for(receptive_field)
  return image_size if n == 0 else image_size // 2 ** n - 2


class PatchGANDiscriminator(nn.Module):
  receptive_field: int = 70  # one of RECEPTIVE_FIELDS
  width: int = 64  # ndf
  norm: str = "batch"  # batch | instance (no affine parameters) | none (gan/models/normalization.py)
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, *, train: bool):
    n_layers = n_layers_for(self.receptive_field)
    use_bias = self.norm == "instance"
    if x.ndim != 4:
      raise ValueError(f"the PatchGAN needs NHWC images, got shape {x.shape}")
    for axis in (1, 2):
      if output_size(x.shape[axis], self.receptive_field) <= 0:
        raise ValueError(f"a {self.receptive_field}x{self.receptive_field} PatchGAN does not fit a "
                         f"{x.shape[1]}x{x.shape[2]} image")

    def norm_lrelu(h):
      h = normalize(h, kind=self.norm, train=train, axis_name=self.axis_name,
                    affine=self.norm != "instance", scale_init=SCALE_INIT, fast_variance=False)
      return nn.leaky_relu(h, 0.2)

    convs = itertools.count()

    def conv(h, features, size, stride, bias):
      pad = ((1, 1), (1, 1)) if size == 4 else ((0, 0), (0, 0))
      name = f"Conv_{next(convs)}"
      if stride == 1 and size > 1:  # == nn.Conv, faster on CPU (gan/models/layers.py)
        return ConvFromPatches(features, (size, size), pad, use_bias=bias, kernel_init=KERNEL_INIT, name=name)(h)
      return nn.Conv(features, (size, size), strides=(stride, stride), padding=pad, use_bias=bias,
                     kernel_init=KERNEL_INIT, name=name)(h)

    if n_layers == 0:  # PixelDiscriminator
      h = nn.leaky_relu(conv(x, self.width, 1, 1, True), 0.2)
      h = norm_lrelu(conv(h, 2 * self.width, 1, 1, use_bias))
      return conv(h, 1, 1, 1, use_bias)[..., 0]
    h = nn.leaky_relu(conv(x, self.width, 4, 2, True), 0.2)
    for n in range(1, n_layers):
      h = norm_lrelu(conv(h, self.width * min(2 ** n, 8), 4, 2, use_bias))
    h = norm_lrelu(conv(h, self.width * min(2 ** n_layers, 8), 4, 1, use_bias))
    return conv(h, 1, 4, 1, True)[..., 0]
