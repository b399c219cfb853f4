"""StyleGAN2 / StyleGAN2-ADA networks (gan/models/stylegan2.py) against hand computations of the official
NVlabs/stylegan2-ada-pytorch definitions (training/networks.py, torch_utils/ops/upfirdn2d.py,
conv2d_resample.py) and the official parameter counts."""
import functools
import math

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan.models import stylegan2 as sg

KEY = jax.random.PRNGKey(0)
F = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0  # setup_filter([1, 3, 3, 1])


def rand(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


# ----------------------------------------------------------------------------------------------------------
# NumPy references, by explicit loops, following the official definitions.

def np_upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
  """upfirdn2d's documented steps on NHWC x; padding (x0, x1, y0, y1) as officially."""
  n, h, w, c = x.shape
  x0, x1, y0, y1 = padding
  u = np.zeros((n, h * up, w * up, c))  # 1. insert up - 1 zeros after each pixel
  for i in range(h):
    for j in range(w):
      u[:, i * up, j * up] = x[:, i, j]
  hp, wp = h * up + y0 + y1, w * up + x0 + x1  # 2. pad (negative: crop)
  p = np.zeros((n, hp, wp, c))
  for i in range(hp):
    for j in range(wp):
      if 0 <= i - y0 < h * up and 0 <= j - x0 < w * up:
        p[:, i, j] = u[:, i - y0, j - x0]
  fh, fw = f.shape  # 3. true convolution, outputs whose footprint lies inside
  out = np.zeros((n, hp - fh + 1, wp - fw + 1, c))
  for i in range(out.shape[1]):
    for j in range(out.shape[2]):
      for a in range(fh):
        for b in range(fw):
          out[:, i, j] += p[:, i + fh - 1 - a, j + fw - 1 - b] * f[a, b] * gain
  return out[:, ::down, ::down]  # 4. keep every down-th pixel


def np_correlate(x, w):
  """Valid cross-correlation (torch conv2d) of NHWC x with the HWIO w."""
  kh, kw = w.shape[:2]
  out = np.zeros((x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, w.shape[3]))
  for i in range(out.shape[1]):
    for j in range(out.shape[2]):
      out[:, i, j] = np.einsum("nabi,abio->no", x[:, i:i + kh, j:j + kw], w)
  return out


def np_modulated(weight, styles_b, demodulate):
  w = weight * styles_b[None, None, :, None]
  if demodulate:
    w = w / np.sqrt(np.sum(w ** 2, axis=(0, 1, 2), keepdims=True) + 1e-8)
  return w


def np_lrelu(x, gain):
  return np.where(x >= 0, x, 0.2 * x) * math.sqrt(2) * gain


# ----------------------------------------------------------------------------------------------------------
# 1-2. Modulated convolution

def test_demodulated_weights_have_unit_norm_per_output_channel():
  weight, styles = rand((3, 3, 5, 7)), rand((4, 5), 1) * 3
  w = np.asarray(sg.modulated_weights(jnp.asarray(weight), jnp.asarray(styles)))
  assert w.shape == (4, 3, 3, 5, 7)
  np.testing.assert_allclose(np.sqrt(np.sum(w ** 2, axis=(1, 2, 3))), 1.0, atol=1e-5)
  # Without demodulation: just the modulation of the input channels (Eq. 1).
  w = np.asarray(sg.modulated_weights(jnp.asarray(weight), jnp.asarray(styles), demodulate=False))
  np.testing.assert_allclose(w, weight[None] * styles[:, None, None, :, None], rtol=1e-6)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv2d_equals_per_example_convolution(demodulate):
  x, weight, styles = rand((3, 5, 6, 4)), rand((3, 3, 4, 5), 1), rand((3, 4), 2)
  out = sg.modulated_conv2d(jnp.asarray(x), jnp.asarray(weight), jnp.asarray(styles), demodulate=demodulate)
  for b in range(3):
    kernel = np_modulated(weight, styles[b], demodulate)
    ref = lax.conv_general_dilated(x[b:b + 1], kernel, (1, 1), ((1, 1), (1, 1)),
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
    np.testing.assert_allclose(out[b:b + 1], ref, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# 3. Equalised learning rate

def test_equalized_dense_scales_stored_weights_at_run_time():
  layer = sg.EqualizedDense(3, lr_multiplier=0.01, bias_init=0.5, activation="lrelu")
  x = rand((2, 4))
  params = layer.init(KEY, x)["params"]
  weight, bias = np.asarray(params["weight"]), np.asarray(params["bias"])
  np.testing.assert_array_equal(bias, 0.5)  # stored at bias_init, used times lr_multiplier
  expected = np_lrelu(x @ (weight * 0.01 / math.sqrt(4)) + 0.5 * 0.01, 1.0)
  np.testing.assert_allclose(layer.apply({"params": params}, x), expected, rtol=1e-5, atol=1e-6)
  # Stored weights ~ N(0, 1 / lr_multiplier^2); the effective ones ~ N(0, 1 / fan_in).
  big = sg.EqualizedDense(512, lr_multiplier=0.01).init(KEY, jnp.zeros((1, 64)))["params"]["weight"]
  assert abs(float(jnp.std(big)) / 100.0 - 1) < 0.03
  conv = sg.EqualizedConv2d(64, 3).init(KEY, jnp.zeros((1, 4, 4, 128)))["params"]["weight"]
  assert conv.shape == (3, 3, 128, 64) and abs(float(jnp.std(conv)) - 1) < 0.03


@pytest.mark.parametrize("kernel_size", [3, 1])
def test_equalized_conv2d_downsampling_equals_pad_conv_filter_subsample(kernel_size):
  """The official generic path (pad, conv, then filter and subsample) against the fast path the layer runs
  (filter with padding, then a strided conv). Padding per axis: k // 2 + (4 - 2 + 1) // 2."""
  layer = sg.EqualizedConv2d(3, kernel_size, down=2, activation="lrelu", lr_multiplier=0.5, conv_clamp=0.3)
  x = rand((2, 6, 6, 2))
  params = flax.core.unfreeze(layer.init(KEY, x)["params"])
  params["bias"] = jnp.asarray([0.1, -0.2, 0.3])
  out = layer.apply({"params": params}, x, gain=0.7)
  assert out.shape == (2, 3, 3, 3)
  pad = kernel_size // 2 + 1
  w = np.asarray(params["weight"]) * 0.5 / math.sqrt(2 * kernel_size ** 2)
  y = np_correlate(np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))), w)
  y = np_upfirdn2d(y, F, down=2) + 0.5 * np.asarray(params["bias"])
  np.testing.assert_allclose(out, np.clip(np_lrelu(y, 0.7), -0.3 * 0.7, 0.3 * 0.7), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# 4. upfirdn2d and the resampling

@pytest.mark.parametrize("up,down,padding", [(1, 1, (0, 0, 0, 0)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                             (2, 1, (-1, 2, 1, -2)), (1, 2, (2, 0, 0, 3)), (2, 2, (1, 1, 0, 2))])
def test_upfirdn2d_follows_the_official_definition(up, down, padding):
  x = rand((2, 4, 5, 3))
  f = np.outer([1.0, 2.0, 4.0], [1.0, -1.0, 3.0, 0.5])  # asymmetric and rectangular: checks the flip/axes
  out = sg.upfirdn2d(jnp.asarray(x), f, up=up, down=down, padding=padding, gain=1.5)
  np.testing.assert_allclose(out, np_upfirdn2d(x, f, up, down, padding, 1.5), rtol=1e-5, atol=1e-5)
  f = np.arange(6.0).reshape(2, 3) - 2.0  # not separable
  out = sg.upfirdn2d(jnp.asarray(x), f, up=up, down=down, padding=padding)
  np.testing.assert_allclose(out, np_upfirdn2d(x, f, up, down, padding), rtol=1e-5, atol=1e-5)


def test_upsample2d_and_downsample2d():
  np.testing.assert_allclose(sg.setup_filter(), F, rtol=1e-7)
  x = rand((2, 4, 6, 3))
  up, down = sg.upsample2d(jnp.asarray(x), F), sg.downsample2d(jnp.asarray(x), F)
  assert up.shape == (2, 8, 12, 3) and down.shape == (2, 2, 3, 3)
  np.testing.assert_allclose(up, np_upfirdn2d(x, F, up=2, padding=(2, 1, 2, 1), gain=4), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(down, np_upfirdn2d(x, F, down=2, padding=(1, 1, 1, 1)), rtol=1e-5, atol=1e-5)
  # By hand, a 1D-like 4x4 ramp x[i, j] = j: padded rows (0, 1, 1, 1, 1, 0) and columns (0, 0, 1, 2, 3, 0)
  # filtered by [1, 3, 3, 1] / 8 at positions 0 and 2: rows 7/8, 7/8; columns 5/8, 16/8.
  ramp = jnp.broadcast_to(jnp.arange(4.0)[None, None, :, None], (1, 4, 4, 1))
  np.testing.assert_allclose(sg.downsample2d(ramp, F)[0, :, :, 0], [[35 / 64, 14 / 8]] * 2, rtol=1e-6)
  # Upsampling keeps a constant image constant away from the (zero-padded) border.
  assert np.allclose(sg.upsample2d(jnp.ones((1, 4, 4, 1)), F)[0, 2:-2, 2:-2], 1.0)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv2d_upsampling_equals_zero_insert_filter_conv(demodulate):
  """conv2d_resample's generic path for up = 2, 3x3, padding 1, as a SynthesisLayer calls it
  (flip_weight=False): zero-insert, pad (1 + 2, 1 + 1), filter with gain 4, then a valid true
  convolution with the per-example kernel."""
  x, weight, styles = rand((2, 3, 4, 3)), rand((3, 3, 3, 4), 1), rand((2, 3), 2)
  out = sg.modulated_conv2d(jnp.asarray(x), jnp.asarray(weight), jnp.asarray(styles), demodulate=demodulate,
                            up=2, resample_filter=F)
  assert out.shape == (2, 6, 8, 4)
  for b in range(2):
    g = np_upfirdn2d(x[b:b + 1], F, up=2, padding=(3, 2, 3, 2), gain=4)
    ref = np_correlate(g, np_modulated(weight, styles[b], demodulate)[::-1, ::-1])  # true convolution
    np.testing.assert_allclose(out[b:b + 1], ref, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# 5. Minibatch standard deviation

@pytest.mark.parametrize("group_size,num_channels", [(4, 1), (2, 2), (16, 1), (None, 2)])
def test_minibatch_stddev_with_contiguous_groups(group_size, num_channels):
  x = rand((8, 3, 2, 4))
  out = np.asarray(sg.minibatch_stddev(jnp.asarray(x), group_size, num_channels))
  assert out.shape == (8, 3, 2, 4 + num_channels)
  np.testing.assert_array_equal(out[..., :4], x)
  g = 8 if group_size is None else min(group_size, 8)
  c = 4 // num_channels
  for i in range(8):
    members = x[(i // g) * g:(i // g + 1) * g]  # contiguous: examples g m, ..., g m + g - 1
    for f in range(num_channels):
      chunk = members[..., f * c:(f + 1) * c]
      expected = np.mean(np.sqrt(np.mean((chunk - chunk.mean(axis=0)) ** 2, axis=0) + 1e-8))
      np.testing.assert_allclose(out[i, :, :, 4 + f], expected, rtol=1e-5)
  with pytest.raises(ValueError):
    sg.minibatch_stddev(jnp.asarray(x[:6]), 4, 1)


# ----------------------------------------------------------------------------------------------------------
# 6. Noise inputs

TINY = dict(channels=3, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=16)
IDS = jnp.asarray([5, 9, 2, 4])


@pytest.fixture(scope="module")
def tiny_g():
  """A conditional 8x8 generator (b4, b8: 16 and 8 channels, conv_clamp 256) and its variables; shared to
  compile it once."""
  g = sg.Generator(resolution=8, num_classes=3, conv_clamp=256, **TINY)
  variables = jax.jit(g.init)({"params": KEY, "noise": KEY}, rand((4, 8)), jnp.zeros((4,), jnp.int32), IDS)
  return g, variables


@functools.partial(jax.jit, static_argnums=(0, 5))
def synthesize(g, variables, ws, ids, rng, noise_mode):
  return g.apply(variables, ws, ids, noise_mode, method=sg.Generator.synthesize, rngs={"noise": rng})


def broadcast_ws(g, variables, z, labels):
  w = g.apply(variables, z, labels, method=sg.Generator.map)
  return jnp.broadcast_to(w[:, None], (w.shape[0], g.num_ws, w.shape[1]))


def with_noise_strength(variables, value):
  params = flax.traverse_util.flatten_dict(flax.core.unfreeze(variables["params"]))
  params = {k: jnp.full_like(v, value) if k[-1] == "noise_strength" else v for k, v in params.items()}
  return {**variables, "params": flax.traverse_util.unflatten_dict(params)}


def test_noise_modes(tiny_g):
  g, variables = tiny_g
  params = flax.traverse_util.flatten_dict(variables["params"])
  assert all(float(v) == 0 for k, v in params.items() if k[-1] == "noise_strength")  # official init
  assert all(np.all(v == 1) for k, v in params.items() if k[-2:] == ("affine", "bias"))  # bias_init=1
  assert variables["noise_const"]["synthesis"]["b8"]["conv0"]["noise_const"].shape == (8, 8)
  ws = broadcast_ws(g, variables, rand((4, 8)), jnp.asarray([0, 1, 2, 0]))
  # At init every noise strength is 0: all modes agree.
  none = synthesize(g, variables, ws, IDS, KEY, "none")
  np.testing.assert_allclose(synthesize(g, variables, ws, IDS, KEY, "random"), none, atol=1e-6)
  np.testing.assert_allclose(synthesize(g, variables, ws, IDS, KEY, "const"), none, atol=1e-6)
  noisy = with_noise_strength(variables, 0.5)
  const = synthesize(g, noisy, ws, IDS, KEY, "const")
  np.testing.assert_array_equal(const, synthesize(g, noisy, ws, IDS, jax.random.PRNGKey(7), "const"))
  assert np.abs(np.asarray(const - none)).max() > 1e-2
  np.testing.assert_array_equal(synthesize(g, noisy, ws, IDS, KEY, "none"), none)
  random = synthesize(g, noisy, ws, IDS, KEY, "random")
  assert np.abs(np.asarray(random - none)).max() > 1e-2
  assert np.abs(np.asarray(random - synthesize(g, noisy, ws, IDS, jax.random.PRNGKey(7), "random"))).max() > 0.01
  # An example's noise depends on its id only, not on the rest of the batch or its position in it.
  swapped = synthesize(g, noisy, ws[::-1], IDS[::-1], KEY, "random")
  np.testing.assert_allclose(swapped[::-1], random, atol=1e-5)
  others = jnp.asarray([7, 9, 11, 3])
  mixed = synthesize(g, noisy, ws[jnp.asarray([3, 1, 0, 2])], others, KEY, "random")
  np.testing.assert_allclose(mixed[1], random[1], atol=1e-5)
  assert np.abs(np.asarray(mixed[0] - random[3])).max() > 1e-2  # same ws, other id: other noise


# ----------------------------------------------------------------------------------------------------------
# 7. Parameter counts of the official settings

def official_generator_params(resolution, img_channels=3, c_dim=0, z_dim=512, w_dim=512, map_layers=8,
                              channel_base=32768, channel_max=512):
  """Trainable parameters of networks.Generator, walked as networks.py builds it: FullyConnectedLayer
  weight [out, in] + bias [out]; SynthesisLayer affine (w_dim -> in), weight [out, in, 3, 3],
  noise_strength [] and bias [out] (noise_const is a buffer); ToRGBLayer affine, weight [C, in, 1, 1],
  bias [C]; const [ch4, 4, 4] in b4; MappingNetwork embed (c_dim -> w_dim) and fc0..: (z_dim + embed ->
  w_dim), (w_dim -> w_dim) (w_avg is a buffer)."""
  def fc(i, o):
    return i * o + o

  def ch(res):
    return min(channel_base // res, channel_max)

  def layer(i, o):
    return fc(w_dim, i) + o * i * 9 + 1 + o

  def torgb(i):
    return fc(w_dim, i) + img_channels * i + img_channels
  embed = w_dim if c_dim else 0
  total = (fc(c_dim, embed) if c_dim else 0) + fc(z_dim + embed, w_dim) + (map_layers - 1) * fc(w_dim, w_dim)
  for res in (2 ** i for i in range(2, int(math.log2(resolution)) + 1)):
    if res == 4:
      total += ch(4) * 16 + layer(ch(4), ch(4)) + torgb(ch(4))
    else:
      total += layer(ch(res // 2), ch(res)) + layer(ch(res), ch(res)) + torgb(ch(res))
  return total


def official_discriminator_params(resolution, img_channels=3, c_dim=0, architecture="resnet",
                                  channel_base=32768, channel_max=512, mbstd_num_channels=1):
  """Trainable parameters of networks.Discriminator: per DiscriminatorBlock fromrgb (top only, 1x1),
  conv0 (tmp -> tmp, 3x3), conv1 (tmp -> out, 3x3), resnet skip (1x1, no bias); the epilogue conv
  (ch4 + mbstd -> ch4, 3x3), fc (ch4 * 16 -> ch4), out (ch4 -> cmap_dim or 1); conditional: the
  MappingNetwork(z_dim=0, w_dim=cmap_dim = ch4) with its defaults, embed + 8 layers."""
  def conv(i, o, k, bias=True):
    return o * i * k * k + (o if bias else 0)

  def ch(res):
    return min(channel_base // res, channel_max)
  total = 0
  for res in (2 ** i for i in range(int(math.log2(resolution)), 2, -1)):
    if res == resolution:
      total += conv(img_channels, ch(res), 1)
    total += conv(ch(res), ch(res), 3) + conv(ch(res), ch(res // 2), 3)
    if architecture == "resnet":
      total += conv(ch(res), ch(res // 2), 1, bias=False)
  cmap_dim = ch(4) if c_dim else 0
  if c_dim:
    total += conv(c_dim, cmap_dim, 1) + 8 * conv(cmap_dim, cmap_dim, 1)
  return total + conv(ch(4) + mbstd_num_channels, ch(4), 3) + conv(ch(4) * 16, ch(4), 1) + conv(
      ch(4), cmap_dim or 1, 1)


def model_params(g, d, labels=None):
  """Parameter counts from the abstract init (no arrays allocated)."""
  z, ids = jnp.zeros((2, g.z_dim)), jnp.arange(2)
  g_vars = jax.eval_shape(g.init, {"params": KEY, "noise": KEY}, z, labels, ids)
  x = jnp.zeros((2, g.resolution, g.resolution, g.channels))
  d_vars = jax.eval_shape(d.init, KEY, x, labels)
  assert set(d_vars) == {"params"} and set(g_vars) == {"params", "noise_const"}
  return count(g_vars["params"]), count(d_vars["params"])


# Totals printed by the official stylegan2-ada-pytorch training script (`misc.print_module_summary`, the
# "Total" row of the Generator / Discriminator tables), as reproduced in public repositories found in the
# stored reference: (a) a README of a StyleGAN2 project showing a 32x32, 8-layer-mapping, resnet-D run
# (channels 512 throughout): G 21523475, D 21507073 (its per-layer rows, e.g. b4.conv 2364416, b4.fc
# 4194816, b4.out 513, synthesis.b32.conv0 2622465, torgb 264195, match the walks above); (b) a project
# report showing a 64x64 `--cfg=auto` run (channel_base 16384, 2 mapping layers, resnet D): G 22243608,
# D 23407361.
PRINTED = [
    (dict(resolution=32, mapping_layers=8), dict(resolution=32, architecture="resnet"), 21523475, 21507073),
    (dict(resolution=64, mapping_layers=2, channel_base=16384),
     dict(resolution=64, architecture="resnet", channel_base=16384), 22243608, 23407361),
]


@pytest.mark.parametrize("g_kwargs,d_kwargs,g_total,d_total", PRINTED)
def test_parameter_counts_match_printed_official_totals(g_kwargs, d_kwargs, g_total, d_total):
  assert official_generator_params(g_kwargs["resolution"], map_layers=g_kwargs["mapping_layers"],
                                   channel_base=g_kwargs.get("channel_base", 32768)) == g_total
  assert official_discriminator_params(d_kwargs["resolution"], architecture=d_kwargs["architecture"],
                                       channel_base=d_kwargs.get("channel_base", 32768)) == d_total
  assert model_params(sg.Generator(**g_kwargs), sg.Discriminator(**d_kwargs)) == (g_total, d_total)


# No printed totals for these two settings were found; the official counts are the walks of networks.py
# above (validated on the printed totals), written out here. train.py: --cfg=cifar is fmaps 1 (channel_base
# 32768), map 2, mbstd 32, D architecture "orig"; --cfg=paper256 is fmaps 0.5 (channel_base 16384), map 8,
# mbstd 8, resnet D. The mbstd group size has no parameters.
@pytest.mark.parametrize("name,g_kwargs,d_kwargs,num_classes,g_total,d_total", [
    ("cifar10", dict(resolution=32, mapping_layers=2), dict(resolution=32, architecture="orig",
                                                              mbstd_group_size=32), 10, 20215315, 23089664),
    ("cifar-uncond", dict(resolution=32, mapping_layers=2), dict(resolution=32, architecture="orig",
                                                                   mbstd_group_size=32), None, 19947539, 20720641),
    ("ffhq256", dict(resolution=256, mapping_layers=8, channel_base=16384),
     dict(resolution=256, architecture="resnet", channel_base=16384, mbstd_group_size=8), None,
     24767458, 24001089),
])
def test_parameter_counts_of_the_official_configs(name, g_kwargs, d_kwargs, num_classes, g_total, d_total):
  c_dim = num_classes or 0
  assert official_generator_params(g_kwargs["resolution"], c_dim=c_dim, map_layers=g_kwargs["mapping_layers"],
                                   channel_base=g_kwargs.get("channel_base", 32768)) == g_total
  assert official_discriminator_params(d_kwargs["resolution"], c_dim=c_dim, architecture=d_kwargs["architecture"],
                                       channel_base=d_kwargs.get("channel_base", 32768)) == d_total
  g = sg.Generator(num_classes=num_classes, **g_kwargs)
  d = sg.Discriminator(num_classes=num_classes, **d_kwargs)
  labels = jnp.zeros((2,), jnp.int32) if num_classes else None
  assert model_params(g, d, labels) == (g_total, d_total)


# ----------------------------------------------------------------------------------------------------------
# 8. Shapes, dtypes, conditioning, bfloat16

def test_num_ws():
  assert [sg.num_ws(r) for r in (4, 8, 32, 256, 1024)] == [2, 4, 8, 14, 18]
  assert sg.Generator(resolution=32).num_ws == sg.SynthesisNetwork(resolution=32).num_ws == 8


def test_shapes_at_32x32():
  g = sg.Generator(resolution=32, channels=1, z_dim=8, w_dim=8, mapping_layers=2, channel_base=128,
                   channel_max=16)
  d = sg.Discriminator(resolution=32, channels=1, architecture="orig", channel_base=128, channel_max=16)
  z, ids = jnp.zeros((4, 8)), jnp.arange(4)
  g_vars = jax.eval_shape(g.init, {"params": KEY, "noise": KEY}, z, None, ids)
  x = jax.eval_shape(lambda v: g.apply(v, z, None, ids, rngs={"noise": KEY}), g_vars)
  assert (x.shape, x.dtype) == ((4, 32, 32, 1), jnp.float32)
  d_vars = jax.eval_shape(d.init, KEY, x)
  logits = jax.eval_shape(d.apply, d_vars, x)
  assert (logits.shape, logits.dtype) == ((4,), jnp.float32)
  assert g_vars["params"]["synthesis"]["b32"]["conv1"]["weight"].shape == (3, 3, 4, 4)
  assert d_vars["params"]["b8"]["conv1"]["weight"].shape == (3, 3, 16, 16)


def test_conditional_models_and_bfloat16_blocks(tiny_g):
  """8x8 models: G and D use the labels; with the 8x8 blocks in bfloat16 (and conv_clamp) the outputs are
  float32 and close to the float32 model's with the same parameters."""
  g32, g_vars = tiny_g
  g16 = g32.clone(num_bf16_res=2)
  z, labels, other = rand((4, 8)), jnp.asarray([0, 1, 2, 0]), jnp.asarray([1, 2, 0, 1])
  ws = broadcast_ws(g32, g_vars, z, labels)
  x = synthesize(g32, g_vars, ws, IDS, KEY, "const")
  assert (x.shape, x.dtype) == ((4, 8, 8, 3), jnp.float32)
  x_other = synthesize(g32, g_vars, broadcast_ws(g32, g_vars, z, other), IDS, KEY, "const")
  assert np.abs(np.asarray(x - x_other)).max() > 1e-3
  x16 = synthesize(g16, g_vars, ws, IDS, KEY, "const")
  assert x16.dtype == jnp.float32
  np.testing.assert_allclose(x16, x, atol=0.05 * float(jnp.abs(x).max()))

  d32 = sg.Discriminator(resolution=8, channels=3, num_classes=3, channel_base=64, channel_max=16,
                         mbstd_group_size=2, conv_clamp=256)
  d16 = d32.clone(num_bf16_res=2)
  d_vars = jax.jit(d32.init)(KEY, x, labels)
  assert d_vars["params"]["mapping"]["embed"]["weight"].shape == (3, 16)  # cmap_dim = the 4x4 channels
  assert len([k for k in d_vars["params"]["mapping"] if k.startswith("fc")]) == 8
  discriminate = jax.jit(lambda d, v, x, y: d.apply(v, x, y), static_argnums=0)
  logits = discriminate(d32, d_vars, x, labels)
  assert (logits.shape, logits.dtype) == ((4,), jnp.float32)
  assert np.abs(np.asarray(logits - discriminate(d32, d_vars, x, other))).min() > 1e-4
  logits16 = discriminate(d16, d_vars, x, labels)
  assert logits16.dtype == jnp.float32
  np.testing.assert_allclose(logits16, logits, atol=0.05 * float(jnp.abs(logits).max()))
  # The bf16 models really compute their 8x8 blocks in bfloat16.
  def program(g):
    return str(jax.make_jaxpr(lambda v: g.apply(v, ws, IDS, "const", method=sg.Generator.synthesize))(g_vars))
  assert "bf16" in program(g16) and "bf16" not in program(g32)
  assert "bf16" in str(jax.make_jaxpr(lambda v: d16.apply(v, x, labels))(d_vars))
