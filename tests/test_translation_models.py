"""Image-to-image translation networks against the papers and the reference PyTorch implementation
(junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py): pix2pix's U-Net and PatchGAN (Isola et al.
2017), CycleGAN's ResNet generator (Zhu et al. 2017); per-example dropout and the sub-pixel transposed
conv (gan/models/layers.py)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan.models import normalization
from gan.models.layers import (ConvFromPatches, ConvTranspose4x4Stride2, ConvTransposeStride2, ExampleDropout, example_keys,
                               torch_conv_transpose_padding)
from gan.models.patchgan import (RECEPTIVE_FIELDS, PatchGANDiscriminator, n_layers_for, output_size,
                                 receptive_field)
from gan.models.resnet_translator import ResnetBlock, ResNetTranslator, reflection_pad
from gan.models.unet import UNetGenerator

KEY = jax.random.PRNGKey(0)


def num_params(variables):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables["params"]))


def init(module, x, key=KEY, **kwargs):
  """module.init, compiled (op-by-op initialisation of a U-Net takes seconds)."""
  return jax.jit(lambda key, x: module.init(key, x, **kwargs))(key, x)


def abstract_init(module, shape, **kwargs):
  """Parameter shapes without materialising them."""
  rngs = {"params": KEY, "dropout": KEY}
  return jax.eval_shape(lambda: module.init(rngs, jnp.zeros(shape), **kwargs))


# ---------------------------------------------------------------- per-example randomness


class TwoDropouts(nn.Module):
  rate: float

  @nn.compact
  def __call__(self, x, ids, deterministic=False):
    return (ExampleDropout(self.rate)(x, ids, deterministic=deterministic),
            ExampleDropout(self.rate)(x, ids, deterministic=deterministic))


def test_example_dropout_is_inverted_dropout_drawn_per_example():
  rate, x = 0.3, jnp.ones((8, 32, 32, 4))
  module, ids = TwoDropouts(rate), jnp.arange(8)
  apply = jax.jit(lambda x, ids, key: module.apply({}, x, ids, rngs={"dropout": key}))
  a, b = apply(x, ids, KEY)
  # Kept values scaled by 1 / (1 - rate), the rest zero; kept fraction 1 - rate (32768 draws: sd 0.0025).
  np.testing.assert_allclose(np.unique(np.asarray(a)), [0.0, 1.0 / (1.0 - rate)], rtol=1e-6)
  assert abs(float(jnp.mean(a != 0)) - (1.0 - rate)) < 0.015
  assert float(jnp.mean(a != b)) > 0.3  # the two layers draw different masks (expected 2 * 0.3 * 0.7)
  assert not np.array_equal(a[0], a[1])  # and so do two examples
  # Device-count invariance: the global batch at once equals its halves with their global ids.
  lo, hi = apply(x[:4], ids[:4], KEY), apply(x[4:], ids[4:], KEY)
  for whole, first, second in zip((a, b), lo, hi):
    np.testing.assert_array_equal(whole, jnp.concatenate([first, second]))
  # An example's mask follows its id, not its row.
  np.testing.assert_array_equal(apply(x[:1], ids[5:6], KEY)[0][0], a[5])
  # Identity when deterministic (no key needed) or at rate 0.
  for out in (module.apply({}, x, ids, deterministic=True), TwoDropouts(0.0).apply({}, x, ids)):
    np.testing.assert_array_equal(out[0], x)


def test_example_keys_fold_each_id_into_the_layers_key():
  class Keys(nn.Module):
    @nn.compact
    def __call__(self, ids):
      return example_keys(self, "dropout", ids)

  class LayerKey(nn.Module):  # the same module path and call count: the same make_rng key
    @nn.compact
    def __call__(self):
      return self.make_rng("dropout")
  keys = Keys().apply({}, jnp.array([0, 3, 3]), rngs={"dropout": KEY})
  assert keys.shape[0] == 3
  np.testing.assert_array_equal(keys[1], keys[2])
  assert not np.array_equal(keys[0], keys[1])
  np.testing.assert_array_equal(keys[1], jax.random.fold_in(LayerKey().apply({}, rngs={"dropout": KEY}), 3))


# ---------------------------------------------------------------- transposed convs


def torch_conv_transpose2d(x, weight, padding, output_padding):
  """PyTorch's ConvTranspose2d(stride=2) by its definition: each input pixel (i, j) scatters
  x[i, j] @ weight[:, :, a, b] to output (2i + a - padding, 2j + b - padding); NHWC x, weight (in, out, k,
  k)."""
  n, h, w, _ = x.shape
  k = weight.shape[-1]
  full = np.zeros((n, 2 * (h - 1) + k + output_padding, 2 * (w - 1) + k + output_padding, weight.shape[1]))
  for i in range(h):
    for j in range(w):
      for a in range(k):
        for b in range(k):
          full[:, 2 * i + a, 2 * j + b] += x[:, i, j] @ weight[:, :, a, b]
  out_h = (h - 1) * 2 - 2 * padding + k + output_padding
  out_w = (w - 1) * 2 - 2 * padding + k + output_padding
  return full[:, padding:padding + out_h, padding:padding + out_w]


@pytest.mark.parametrize("kernel_size,padding,output_padding", [(4, 1, 0), (3, 1, 1), (5, 2, 1)])
def test_conv_transpose_stride2_is_pytorchs_conv_transpose(kernel_size, padding, output_padding):
  x = jax.random.normal(KEY, (2, 3, 5, 4))
  # A PyTorch ConvTranspose2d weight (in, out, k, k), and the same layer's kernel here: flipped, HWIO.
  weight = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (4, 3, kernel_size, kernel_size)))
  kernel = jnp.asarray(weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1))
  bias = jnp.arange(3.0)
  layer = ConvTransposeStride2(3, kernel_size, padding=padding, output_padding=output_padding)
  variables = {"params": {"kernel": kernel, "bias": bias}}
  out = layer.apply(variables, x)
  assert out.shape == (2, 6, 10, 3)
  np.testing.assert_allclose(out, torch_conv_transpose2d(np.asarray(x, np.float64), weight, padding,
                                                         output_padding) + bias, rtol=1e-5, atol=1e-5)
  # Outputs and both gradients equal the lhs-dilated convolution, i.e. nn.ConvTranspose with the padding.
  pads = torch_conv_transpose_padding(kernel_size, padding, output_padding)
  reference = nn.ConvTranspose(3, (kernel_size, kernel_size), strides=(2, 2), padding=(pads, pads))
  layers = [layer, reference] + ([ConvTranspose4x4Stride2(3)] if kernel_size == 4 else [])

  def grads(module):
    return jax.grad(lambda v, x: jnp.sum(jnp.sin(module.apply(v, x))), argnums=(0, 1))(variables, x)
  np.testing.assert_allclose(reference.apply(variables, x), out, rtol=1e-5, atol=1e-5)
  expected = grads(layer)
  for other in layers[1:]:
    np.testing.assert_allclose(other.apply(variables, x), out, rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), grads(other), expected)
  without_bias = ConvTransposeStride2(3, kernel_size, padding, output_padding, use_bias=False)
  assert list(without_bias.init(KEY, x)["params"]) == ["kernel"]


# ---------------------------------------------------------------- U-Net


@pytest.mark.parametrize("size,dropouts", [(8, [1]), (16, [1, 2]), (32, [1, 2, 3]), (64, [2, 3, 4])])
def test_unet_shapes_levels_and_dropout_blocks(size, dropouts):
  g = UNetGenerator(channels=2, width=4)
  variables = abstract_init(g, (2, size, size, 3), train=False)
  x = jnp.zeros((2, size, size, 3))
  out, state = jax.eval_shape(lambda v: g.apply(v, x, train=False, capture_intermediates=True,
                                                mutable=["intermediates"], rngs={"dropout": KEY}), variables)
  assert out.shape == (2, size, size, 2)
  levels = int(np.log2(size))  # down to 1x1
  downs = sorted(k for k in variables["params"] if k.startswith("down_"))
  assert downs == [f"down_{i}" for i in range(levels)]
  assert sorted(k[len("dropout_"):] for k in state["intermediates"] if k.startswith("dropout_")) == \
      [str(i) for i in dropouts]  # the dropout_blocks (3) levels next to the innermost, when there are 3


@pytest.mark.parametrize("size", [4, 12, 48])
def test_unet_rejects_other_sizes(size):
  with pytest.raises(ValueError, match="power-of-two"):
    UNetGenerator(channels=3).init(KEY, jnp.zeros((1, size, size, 3)), train=False)


def test_unet_256_is_pix2pix_paper_network_with_reference_size():
  """pix2pix's unet_256 (3 -> 3, ngf 64, batch norm): the reference prints 54.414 M parameters.

  By hand (conv/upconv kernels 16 * in * out; BN 2 * channels; biases only on the outermost upconv):
    level 0  down 3->64 3072;                up 128->3 6144 + 3 bias                 =      9219
    level 1  down 64->128 131072 + BN 256;   up 256->64 262144 + BN 128              =    393600
    level 2  down 128->256 524288 + BN 512;  up 512->128 1048576 + BN 256            =   1573632
    level 3  down 256->512 2097152 + BN 1024; up 1024->256 4194304 + BN 512          =   6292992
    levels 4-6  down 512->512 4194304 + BN 1024; up 1024->512 8388608 + BN 1024, x3 =  37754880
    level 7  down 512->512 4194304 (no BN);   up 512->512 4194304 + BN 1024         =   8389632
                                                                              total  =  54413955
  """
  params = abstract_init(UNetGenerator(channels=3), (1, 256, 256, 3), train=False)["params"]
  assert num_params({"params": params}) == 54_413_955
  assert round(num_params({"params": params}) / 1e6, 3) == 54.414
  # The paper's encoder C64-C128-C256-C512-C512-C512-C512-C512 and the up convs' inputs (decoder
  # features concatenated with the mirrored encoder's), 512 at the 1x1 bottleneck.
  assert [params[f"down_{i}"]["kernel"].shape[-1] for i in range(8)] == [64, 128, 256] + [512] * 5
  assert [params[f"up_{i}"]["kernel"].shape[2] for i in range(8)] == [128, 256, 512] + [1024] * 4 + [512]
  assert [i for i in range(8) if "bias" in params[f"up_{i}"]] == [0]
  assert not any("bias" in params[f"down_{i}"] for i in range(8))
  # Instance norm: every conv has a bias (use_bias = norm is instance), and the norms are affine.
  unet = UNetGenerator(channels=3, width=8, norm="instance")
  params = abstract_init(unet, (1, 16, 16, 3), train=False)["params"]
  assert all("bias" in p for k, p in params.items() if k.startswith(("down_", "up_")))
  assert all(set(p) == {"scale", "bias"} for k, p in params.items() if k.startswith("InstanceNorm"))


def test_reference_initialisation():
  variables = init(UNetGenerator(channels=3, width=16), jnp.zeros((1, 16, 16, 3)), train=False)
  params = variables["params"]
  kernels = np.concatenate([np.ravel(p["kernel"]) for k, p in params.items() if "kernel" in p])
  scales = np.concatenate([np.ravel(p["scale"]) for k, p in params.items() if k.startswith("BatchNorm")])
  assert abs(kernels.mean()) < 1e-3 and kernels.std() == pytest.approx(0.02, rel=0.02)  # N(0, 0.02)
  assert abs(scales.mean() - 1.0) < 0.01 and scales.std() == pytest.approx(0.02, rel=0.3)  # N(1, 0.02)
  assert all(np.all(p["bias"] == 0) for p in params.values() if "bias" in p)


def pixel_tangent(module):
  """(variables, x, pixel) -> |d output / d x[:, pixel]| summed over channels: where one input pixel
  changes the output."""
  @jax.jit
  def tangent(variables, x, pixel):
    dx = jnp.zeros_like(x).at[:, pixel[0], pixel[1]].set(1.0)
    _, dy = jax.jvp(lambda x: module.apply(variables, x, train=False, deterministic=True), (x,), (dx,))
    return jnp.sum(jnp.abs(dy), axis=(0, -1))
  return lambda variables, x, pixel: np.asarray(tangent(variables, x, jnp.array(pixel)))


def test_unet_skip_connection_carries_local_detail_past_the_bottleneck():
  g = UNetGenerator(channels=2, width=4)
  x = jax.random.normal(KEY, (1, 16, 16, 3))
  variables = init(g, x, jax.random.PRNGKey(1), train=False)
  # With level 1's conv zeroed the deep path is a constant; only the outermost skip reaches the output,
  # through down_0 (4x4, s2: input row r reaches rows m with 2m - 1 <= r <= 2m + 2) and up_0 (row m writes
  # rows 2m - 1 .. 2m + 2): input row 6 reaches output rows 3 .. 8, exactly.
  zero_kernel = jnp.zeros_like(variables["params"]["down_1"]["kernel"])
  params = {**variables["params"], "down_1": {"kernel": zero_kernel}}
  tangent = pixel_tangent(g)
  local = tangent({**variables, "params": params}, x, (6, 10))
  expected = np.zeros((16, 16), bool)
  expected[3:9, 7:13] = True
  np.testing.assert_array_equal(local > 0, expected)
  # With the deep path on, the 1x1 bottleneck spreads the pixel over the whole image.
  assert np.all(tangent(variables, x, (6, 10)) > 0)


def test_unet_dropout_is_on_at_sampling_and_keyed_by_example():
  g = UNetGenerator(channels=3, width=4, norm="instance")
  x = jax.random.normal(KEY, (8, 8, 8, 3))
  variables = init(g, x, jax.random.PRNGKey(1), train=False, deterministic=True)
  ids = jnp.arange(8)
  sample = jax.jit(lambda x, ids, key: g.apply(variables, x, ids, train=False, rngs={"dropout": key}))
  out = sample(x, ids, jax.random.PRNGKey(2))
  assert not np.allclose(out, sample(x, ids, jax.random.PRNGKey(3)), atol=1e-4)  # noise at sampling
  np.testing.assert_array_equal(out, sample(x, ids, jax.random.PRNGKey(2)))
  # Device-count invariance: the global batch equals its two halves with their global ids.
  halves = jnp.concatenate([sample(x[:4], ids[:4], jax.random.PRNGKey(2)),
                            sample(x[4:], ids[4:], jax.random.PRNGKey(2))])
  np.testing.assert_allclose(halves, out, rtol=1e-5, atol=1e-6)
  # deterministic=True ignores the key (and needs none: tracing without one works).
  fixed = jax.jit(lambda x, key: g.apply(variables, x, train=False, deterministic=True,
                                         rngs={"dropout": key}))
  np.testing.assert_array_equal(fixed(x, jax.random.PRNGKey(5)), fixed(x, jax.random.PRNGKey(2)))
  assert not np.allclose(fixed(x, jax.random.PRNGKey(2)), out, atol=1e-4)
  jax.eval_shape(lambda x: g.apply(variables, x, train=False, deterministic=True), x)


def test_unet_under_pmap_equals_the_global_batch():
  """Batch norm with cross-replica statistics (axis_name) and per-example dropout: 4 devices x 2 examples
  give the numbers of the 8-example batch on one device."""
  devices = jax.devices()[:4]
  x = jax.random.normal(KEY, (8, 8, 8, 3))
  single = UNetGenerator(channels=3, width=4)
  variables = init(single, x, jax.random.PRNGKey(1), train=False, deterministic=True)
  key = jax.random.PRNGKey(2)

  def run(module, x, ids):
    return module.apply(variables, x, ids, train=True, rngs={"dropout": key}, mutable=["batch_stats"])
  out, stats = jax.jit(lambda x: run(single, x, jnp.arange(8)))(x)
  sharded = UNetGenerator(channels=3, width=4, axis_name="batch")
  out_p, stats_p = jax.pmap(lambda x, ids: run(sharded, x, ids), axis_name="batch", devices=devices)(
      x.reshape(4, 2, 8, 8, 3), jnp.arange(8).reshape(4, 2))
  np.testing.assert_allclose(out_p.reshape(out.shape), out, rtol=1e-4, atol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a[0], b, rtol=1e-4, atol=1e-5), stats_p, stats)


# ---------------------------------------------------------------- PatchGAN


@pytest.mark.parametrize("kernel,padding,size", [(4, ((1, 1), (1, 1)), 4), (3, ((0, 2), (1, 0)), 5), (1, ((0, 0), (0, 0)), 3)])
def test_conv_from_patches_is_nn_conv(kernel, padding, size):
  """Outputs and both gradients equal nn.Conv's with the same parameters (a wrong patch order or offset
  would not)."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size + 1, 3))
  ours, ref = ConvFromPatches(5, (kernel, kernel), padding), nn.Conv(5, (kernel, kernel), padding=padding)
  params = ref.init(jax.random.PRNGKey(1), x)
  params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(1), x)) == jax.tree.map(jnp.shape, params)
  np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
  loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))  # noqa: E731
  for got, want in zip(jax.grad(loss(ours), argnums=(0, 1))(params, x), jax.grad(loss(ref), argnums=(0, 1))(params, x)):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), got, want)


def test_receptive_field_closed_form():
  def by_layers(n_layers):  # a k-tap stride-s layer: r -> (r - 1) s + k, from the logit back
    r = 1
    for stride in [1, 1] + [2] * n_layers:
      r = (r - 1) * stride + 4
    return r
  closed_form = [receptive_field(n) for n in range(1, 6)]
  assert closed_form == [by_layers(n) for n in range(1, 6)] == list(RECEPTIVE_FIELDS[1:])
  assert [n_layers_for(r) for r in RECEPTIVE_FIELDS] == [0, 1, 2, 3, 4, 5]
  assert output_size(256, 70) == 30 and output_size(256, 1) == 256  # pix2pix's 30x30 logit map
  for bad in (lambda: n_layers_for(64), lambda: receptive_field(0)):
    with pytest.raises(ValueError):
      bad()


@pytest.mark.parametrize("rf", RECEPTIVE_FIELDS)
@pytest.mark.parametrize("size", [128, 150])
def test_patchgan_logit_map_size(rf, size):
  d = PatchGANDiscriminator(receptive_field=rf, width=2)
  variables = abstract_init(d, (2, size, size, 6), train=False)
  logits = jax.eval_shape(lambda v: d.apply(v, jnp.zeros((2, size, size, 6)), train=False), variables)
  assert logits.shape == (2, output_size(size, rf), output_size(size, rf))
  n = n_layers_for(rf)
  names = list(variables["params"])  # NLayer: n + 2 convs and n norms; PixelGAN: 3 convs and 1 norm
  assert sum(k.startswith("Conv_") for k in names) == (3 if n == 0 else n + 2)
  assert sum(k.startswith("BatchNorm_") for k in names) == max(n, 1)


def test_patchgan_rejects_images_it_does_not_fit():
  assert output_size(16, 70) == 0
  with pytest.raises(ValueError, match="does not fit"):
    PatchGANDiscriminator(receptive_field=70).init(KEY, jnp.zeros((1, 16, 16, 3)), train=False)


@pytest.mark.parametrize("rf,size", [(16, 32), (34, 64), (1, 8)])
def test_patchgan_receptive_field_empirically(rf, size):
  """The gradient of a central logit is non-zero exactly on an rf x rf window (batch norm in eval mode, an
  affine map per channel; leaky ReLUs pass gradient everywhere)."""
  d = PatchGANDiscriminator(receptive_field=rf, width=4)
  x = jax.random.normal(KEY, (1, size, size, 2))
  variables = init(d, x, jax.random.PRNGKey(1), train=False)
  m = output_size(size, rf) // 2
  grad = jax.jit(jax.grad(lambda x: d.apply(variables, x, train=False)[0, m, m]))(x)
  support = np.argwhere(np.any(np.asarray(grad[0]) != 0, axis=-1))
  (top, left), (bottom, right) = support.min(axis=0), support.max(axis=0)
  assert (bottom - top + 1, right - left + 1) == (rf, rf)
  assert len(support) == rf * rf  # the whole window, no holes
  if rf == 1:  # PixelGAN: the logit at a pixel sees that pixel only
    assert (top, left) == (m, m)


@pytest.mark.parametrize("norm,in_channels,expected,printed", [("batch", 6, 2_768_705, 2.769),
                                                               ("instance", 3, 2_764_737, 2.765)])
def test_patchgan_70_has_the_reference_size(norm, in_channels, expected, printed):
  """The reference's basic D (n_layers 3, ndf 64): pix2pix's (6 input channels, batch norm) prints 2.769 M,
  CycleGAN's (3 channels, instance norm without affine parameters, so biases) 2.765 M. By hand:
    conv 4x4 in->64 + bias:   16 * 64 * in + 64        (batch 6208,    instance 3136)
    conv 64->128 (s2):        131072 + (BN 256 | bias 128)
    conv 128->256 (s2):       524288 + (BN 512 | bias 256)
    conv 256->512 (s1):       2097152 + (BN 1024 | bias 512)
    conv 512->1 + bias:       8193
  batch: 6208 + 131328 + 524800 + 2098176 + 8193 = 2768705; instance: 3136 + 131200 + 524544 + 2097664 +
  8193 = 2764737."""
  variables = abstract_init(PatchGANDiscriminator(norm=norm), (1, 256, 256, in_channels), train=False)
  assert num_params(variables) == expected and round(expected / 1e6, 3) == printed
  pixel = abstract_init(PatchGANDiscriminator(receptive_field=1), (1, 8, 8, 6), train=False)
  # PixelDiscriminator, batch norm: 6*64 + 64, 64*128 (no bias) + BN 256, 128*1 (no bias).
  assert num_params(pixel) == 448 + 8192 + 256 + 128


# ---------------------------------------------------------------- ResNet translator


def test_reflection_pad_is_pytorchs():
  x = jnp.arange(12.0).reshape(1, 3, 4, 1)
  padded = np.asarray(reflection_pad(x, 2))[0, :, :, 0]
  np.testing.assert_array_equal(padded[3], [6, 5, 4, 5, 6, 7, 6, 5])  # row 1 [4 5 6 7], border not repeated
  np.testing.assert_array_equal(padded[:, 2], [8, 4, 0, 4, 8, 4, 0])  # column 0 [0 4 8]
  np.testing.assert_array_equal(padded, np.pad(np.arange(12.0).reshape(3, 4), 2, mode="reflect"))


def test_resnet_block_is_the_identity_when_its_last_norm_outputs_zero():
  block = ResnetBlock(norm="instance")
  x = jax.random.normal(KEY, (2, 6, 6, 8))
  variables = init(block, x, jax.random.PRNGKey(1), train=True)
  assert set(variables["params"]) == {"Conv_0", "Conv_1"}  # instance norm without affine parameters
  apply = jax.jit(lambda v, x: block.apply(v, x, train=True))
  assert not np.allclose(apply(variables, x), x, atol=1e-3)
  # A zero second kernel makes its output the (constant) bias, which instance norm maps to 0: x + 0.
  params = {**variables["params"], "Conv_1": {"kernel": jnp.zeros((3, 3, 8, 8)), "bias": jnp.arange(8.0)}}
  np.testing.assert_allclose(apply({"params": params}, x), x, atol=1e-6)


def test_resnet_translator_shapes_and_structure():
  g = ResNetTranslator(channels=2, width=4, num_blocks=2)
  x = jax.random.normal(KEY, (2, 16, 12, 3))
  variables = init(g, x, jax.random.PRNGKey(1), train=True)
  out = jax.jit(lambda v, x: g.apply(v, x, train=True))(variables, x)
  assert out.shape == (2, 16, 12, 2) and float(jnp.max(jnp.abs(out))) < 1.0
  p = variables["params"]
  assert [p[f"Conv_{i}"]["kernel"].shape for i in range(4)] == [(7, 7, 3, 4), (3, 3, 4, 8), (3, 3, 8, 16),
                                                                (7, 7, 4, 2)]
  assert [p[f"ConvTransposeStride2_{i}"]["kernel"].shape for i in range(2)] == [(3, 3, 16, 8), (3, 3, 8, 4)]
  # Batch norm: no conv biases except the last, affine BN everywhere else.
  params = abstract_init(ResNetTranslator(channels=2, width=4, num_blocks=2, norm="batch"), (1, 16, 16, 3),
                         train=False)["params"]
  assert [k for k, v in params.items() if "bias" in v and not k.startswith("BatchNorm")] == ["Conv_3"]
  assert sum(k.startswith("BatchNorm") for k in params) == 5 and "BatchNorm_0" in params["ResnetBlock_0"]


def test_resnet_9blocks_has_the_reference_size():
  """CycleGAN's resnet_9blocks (3 -> 3, ngf 64, instance norm without affine parameters, so every conv has
  a bias): the reference prints 11.378 M. By hand:
    c7s1-64   49 * 3 * 64 + 64        =     9472
    d128      9 * 64 * 128 + 128      =    73856
    d256      9 * 128 * 256 + 256     =   295168
    R256 x 9  2 * (9 * 256 * 256 + 256) * 9 = 10621440
    u128      9 * 256 * 128 + 128     =   295040
    u64       9 * 128 * 64 + 64       =    73792
    c7s1-3    49 * 64 * 3 + 3         =     9411
                                total = 11378179"""
  variables = abstract_init(ResNetTranslator(channels=3), (1, 256, 256, 3), train=False)
  assert num_params(variables) == 11_378_179 and round(11_378_179 / 1e6, 3) == 11.378


def test_normalize_without_affine_parameters():
  class Norm(nn.Module):
    kind: str

    @nn.compact
    def __call__(self, h):
      return normalization.normalize(h, kind=self.kind, train=True, axis_name=None, affine=False)
  h = 3.0 + 2.0 * jax.random.normal(KEY, (4, 5, 5, 3))
  for kind, axes in (("instance", (1, 2)), ("batch", (0, 1, 2))):
    variables = Norm(kind).init(KEY, h)
    assert "params" not in variables
    out, _ = Norm(kind).apply(variables, h, mutable=["batch_stats"])
    np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=axes), 1.0, rtol=1e-3)
