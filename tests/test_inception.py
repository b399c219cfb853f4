"""FID Inception-v3 (gan/metrics/inception.py) and its weights converter, with random weights only.

The real weights cannot be downloaded here, so these tests check the architecture by its parameter
shapes and count, the FID-specific layers (pooling without padding counts, max pool in Mixed_7c,
torch's bilinear resize) against hand/NumPy computations, the .npz format and its error messages,
and the pytorch-fid state-dict mapping on a synthetic state dict in torch layout. One real forward
pass (batch 2, jitted, compiled once) covers output shapes and the fc wiring.
"""
import hashlib
import os

import jax
import jax.numpy as jnp
import flax.linen as nn
import numpy as np
import pytest

from gan.errors import UserError
from gan.metrics import inception
from tests.test_cli import run_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "convert_inception_weights.py")

# Parameter count. torchvision documents 27,161,264 parameters for inception_v3 (IMAGENET1K_V1),
# which has the auxiliary classifier and a 1000-way fc. The FID network has no AuxLogits:
#   conv0 768*128 + BN 2*128 = 98,560; conv1 128*768*5*5 + BN 2*768 = 2,459,136; fc 768*1000 + 1000
#   = 769,000; together 3,326,696 -> 27,161,264 - 3,326,696 = 23,834,568 with a 1000-way fc.
# Its fc has 1008 outputs: 8 more rows of 2048 weights + 1 bias = 8 * 2049 = 16,392 -> 23,850,960.
# Like torch's `parameters()`, Flax's "params" holds conv kernels, BN scale/bias and the fc; the BN
# running mean/var (torch buffers) are Flax "batch_stats": 2 per BN channel, 17,216 channels.
FID_INCEPTION_PARAMS = 27_161_264 - 3_326_696 + 8 * 2049  # = 23,850,960
FID_INCEPTION_BN_STATS = 2 * 17_216
NUM_CONVS = 94  # stem 5 + 3 InceptionA x 7 + B 4 + 4 InceptionC x 10 + D 6 + 2 InceptionE x 9


def test_parameter_count_matches_torchvision_figure():
  counts = inception.num_parameters()
  assert counts["params"] == FID_INCEPTION_PARAMS == 23_850_960
  assert counts["batch_stats"] == FID_INCEPTION_BN_STATS
  shapes = inception.expected_shapes()
  assert sum(k.endswith("/conv/kernel") for k in shapes) == NUM_CONVS
  assert len(shapes) == 5 * NUM_CONVS + 2  # kernel, BN scale/bias/mean/var per conv; fc kernel, bias


def test_layer_shapes_follow_torchvision_inception():
  s = inception.expected_shapes()
  # torch OIHW (out, in, kh, kw) becomes Flax HWIO (kh, kw, in, out).
  assert s["Conv2d_1a_3x3/conv/kernel"] == (3, 3, 3, 32)
  assert s["Conv2d_4a_3x3/conv/kernel"] == (3, 3, 80, 192)
  assert s["Mixed_5b/branch_pool/conv/kernel"] == (1, 1, 192, 32)  # pool_features 32
  assert s["Mixed_5d/branch_pool/conv/kernel"] == (1, 1, 288, 64)
  assert s["Mixed_6a/branch3x3/conv/kernel"] == (3, 3, 288, 384)
  assert s["Mixed_6b/branch7x7_2/conv/kernel"] == (1, 7, 128, 128)  # c7 = 128, a 1x7 conv
  assert s["Mixed_6e/branch7x7dbl_4/conv/kernel"] == (7, 1, 192, 192)  # c7 = 192
  assert s["Mixed_7a/branch3x3_2/conv/kernel"] == (3, 3, 192, 320)
  assert s["Mixed_7b/branch1x1/conv/kernel"] == (1, 1, 1280, 320)
  assert s["Mixed_7c/branch3x3dbl_3b/conv/kernel"] == (3, 1, 384, 384)
  assert s["Mixed_7c/branch_pool/bn/var"] == (192,)
  assert s["fc/kernel"] == (2048, 1008) and s["fc/bias"] == (1008,)


def test_avg_pool_exclude_pad_against_hand_computation():
  x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
  # Each output is the mean of the window's positions inside the image: 4 at a corner, 6 on an
  # edge, 9 in the middle; e.g. top-left (1 + 2 + 4 + 5) / 4 = 3, top-middle 21 / 6 = 3.5.
  expected = np.array([[3.0, 3.5, 4.0], [4.5, 5.0, 5.5], [6.0, 6.5, 7.0]])
  np.testing.assert_allclose(inception.avg_pool_exclude_pad(x)[0, :, :, 0], expected, rtol=1e-6)
  # torchvision's Inception counts the padding: the corner would be 12 / 9, not 3.
  counted = nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))[0, :, :, 0]
  np.testing.assert_allclose(counted[0, 0], 12.0 / 9.0, rtol=1e-6)
  # Batch and channels pool independently, and agree with Flax's own count_include_pad=False.
  y = jax.random.normal(jax.random.key(0), (2, 5, 4, 3))
  np.testing.assert_allclose(
      inception.avg_pool_exclude_pad(y),
      nn.avg_pool(y, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False),
      rtol=1e-5, atol=1e-6)


def test_padded_max_pool_ignores_padding():
  x = -jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative: a zero padding would win
  out = inception.max_pool(x, stride=1, padding=1)[0, :, :, 0]
  np.testing.assert_array_equal(out, [[-1, -1, -2], [-1, -1, -2], [-4, -4, -5]])


@pytest.mark.parametrize("block,channels,pool", [
    (inception.InceptionA(4), 6, "avg"),  # FIDInceptionA
    (inception.InceptionC(8), 12, "avg"),  # FIDInceptionC
    (inception.InceptionE("avg"), 16, "avg"),  # FIDInceptionE_1 (Mixed_7b)
    (inception.InceptionE("max"), 16, "max"),  # FIDInceptionE_2 (Mixed_7c)
])
def test_pool_branch_of_fid_blocks(block, channels, pool):
  """The last channels of each block are branch_pool's conv of the FID-specific pool of the input."""
  x = jax.random.normal(jax.random.key(0), (1, 4, 5, channels))
  # Random variables from the abstract shapes: compiling the initialisers takes seconds on CPU.
  rng = np.random.default_rng(1)
  variables = jax.tree.map(lambda s: rng.uniform(0.5, 1.5, s.shape).astype(np.float32)
                           * (-1) ** rng.integers(2, size=s.shape),
                           jax.eval_shape(block.init, jax.random.key(1), x))
  variables["batch_stats"] = jax.tree.map(np.abs, variables["batch_stats"])  # var > 0
  out = jax.jit(block.apply)(variables, x)
  sub = {c: variables[c]["branch_pool"] for c in ("params", "batch_stats")}
  n = sub["params"]["conv"]["kernel"].shape[-1]
  branch = jax.jit(inception.BasicConv2d(n).apply)

  def branch_of(pooled):
    return np.asarray(branch(sub, pooled))
  if pool == "avg":
    fid_pool = inception.avg_pool_exclude_pad(x)
  else:
    fid_pool = inception.max_pool(x, stride=1, padding=1)
  np.testing.assert_allclose(out[..., -n:], branch_of(fid_pool), rtol=1e-5, atol=1e-5)
  # torchvision's pool (average counting the padded zeros) would give something else.
  tv_pool = nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))
  assert not np.allclose(out[..., -n:], branch_of(tv_pool), atol=1e-3)


def _count_primitives(jaxpr, counts):
  for eqn in jaxpr.eqns:
    counts[eqn.primitive.name] = counts.get(eqn.primitive.name, 0) + 1
    for param in eqn.params.values():
      inner = getattr(param, "jaxpr", param)
      if hasattr(inner, "eqns"):
        _count_primitives(inner, counts)
  return counts


def test_network_wiring_by_primitive_counts():
  """Traced only (no FLOPs). 94 convs; 5 max pools (2 in the stem, Mixed_6a, Mixed_7a and the
  pool branch of Mixed_7c); 8 average pools without padding counts (3 InceptionA, 4 InceptionC,
  Mixed_7b), each a window sum of the input and one of the valid-position mask: 16 window sums.
  torchvision's network would show 4 max pools and 9 average pools (9 window sums)."""
  abstract = inception.unflatten_variables(
      {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in inception.expected_shapes().items()})
  jaxpr = jax.make_jaxpr(inception.InceptionV3().apply)(
      abstract, jax.ShapeDtypeStruct((1, 299, 299, 3), jnp.float32))
  counts = _count_primitives(jaxpr.jaxpr, {})
  assert counts["conv_general_dilated"] == NUM_CONVS
  assert counts["reduce_window_max"] == 5
  assert counts["reduce_window_sum"] == 16


def torch_bilinear_resize(x, out_h, out_w):
  """NumPy transcription of torch F.interpolate(mode='bilinear', align_corners=False), NHWC."""
  def weights(n_in, n_out):
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - lam)
    np.add.at(m, (np.arange(n_out), i1), lam)
    return m
  wh, ww = weights(x.shape[1], out_h), weights(x.shape[2], out_w)
  return np.einsum("oh,nhwc,pw->nopc", wh, x, ww)


@pytest.mark.parametrize("shape,size", [((2, 5, 7, 3), 13), ((1, 17, 11, 1), 4), ((1, 9, 9, 3), 9)])
def test_resize_matches_torch_bilinear_without_antialias(shape, size):
  x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
  out = np.asarray(inception.preprocess(x, size=size))
  assert out.shape == (shape[0], size, size, 3)
  ref = torch_bilinear_resize(x.astype(np.float64), size, size)
  np.testing.assert_allclose(out, np.broadcast_to(ref, out.shape), rtol=1e-5, atol=1e-5)


def test_preprocess_rejects_bad_shapes():
  with pytest.raises(ValueError, match="N, H, W, 1 or 3"):
    inception.preprocess(np.zeros((2, 8, 8, 2), np.float32))


def test_basic_conv2d_matches_torch_layout_and_padding():
  """A (1, 7) conv with padding (0, 3), weights in torch OIHW layout, against a NumPy loop."""
  rng = np.random.default_rng(1)
  x = rng.standard_normal((1, 4, 9, 2)).astype(np.float32)
  w_oihw = rng.standard_normal((3, 2, 1, 7)).astype(np.float32)
  scale, bias, mean = (rng.standard_normal(3).astype(np.float32) for _ in range(3))
  var = rng.uniform(0.5, 1.5, 3).astype(np.float32)
  xp = np.pad(x, ((0, 0), (0, 0), (3, 3), (0, 0)))
  ref = np.zeros((1, 4, 9, 3))
  for i in range(4):
    for j in range(9):
      ref[0, i, j] = np.einsum("oik,ki->o", w_oihw[:, :, 0, :], xp[0, i, j:j + 7, :])
  ref = np.maximum((ref - mean) / np.sqrt(var + 1e-3) * scale + bias, 0.0)
  layer = inception.BasicConv2d(3, (1, 7), padding=(0, 3))
  variables = {"params": {"conv": {"kernel": w_oihw.transpose(2, 3, 1, 0)},
                          "bn": {"scale": scale, "bias": bias}},
               "batch_stats": {"bn": {"mean": mean, "var": var}}}
  np.testing.assert_allclose(layer.apply(variables, x), ref, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- weights files


@pytest.fixture(scope="module")
def random_file(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("inception") / "random_inception.npz")
  variables = inception.random_variables(0)
  inception.save_params(path, variables)
  return path, variables


@pytest.fixture(scope="module")
def batches():
  rng = np.random.default_rng(0)
  return (rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32),
          rng.uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32))


@pytest.fixture(scope="module")
def features(random_file, batches):
  """(pool3, logits) of both batches with the weights read back from the random file."""
  feature_fn = inception.make_feature_fn(inception.load_params(random_file[0]))
  return [tuple(np.asarray(a) for a in feature_fn(images)) for images in batches]


def test_forward_shapes_and_non_negative_pool3(features, random_file):
  fc = random_file[1]["params"]["fc"]
  for pool3, logits in features:
    assert pool3.shape == (2, 2048) and logits.shape == (2, 1008)
    assert np.all(np.isfinite(pool3)) and np.all(np.isfinite(logits))
    assert pool3.min() >= 0.0  # average of post-ReLU maps
    assert pool3.std() > 0.1  # well-scaled random weights: features are not all (near) zero
    np.testing.assert_allclose(logits, pool3 @ fc["kernel"] + fc["bias"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(inception.unbiased_logits(random_file[1], pool3), pool3 @ fc["kernel"],
                               rtol=1e-4, atol=1e-4)
  assert not np.allclose(features[0][0][0], features[0][0][1])  # different images, different features


def test_npz_round_trip_gives_same_variables_and_outputs(random_file, batches, features):
  path, variables = random_file
  loaded = inception.load_params(path)
  jax.tree.map(np.testing.assert_array_equal, loaded, variables)
  assert set(loaded) == {"params", "batch_stats"}
  pool3, logits = inception.make_feature_fn(variables)(batches[0])  # the in-memory weights
  np.testing.assert_array_equal(pool3, features[0][0])
  np.testing.assert_array_equal(logits, features[0][1])


def test_weights_hash(random_file, tmp_path):
  path = random_file[0]
  with open(path, "rb") as f:
    assert inception.weights_hash(path) == hashlib.sha256(f.read()).hexdigest()[:16]
  other = tmp_path / "other.npz"
  inception.save_params(other, inception.random_variables(1))
  assert inception.weights_hash(other) != inception.weights_hash(path)


def _flat_with(path, tmp_path, **changes):
  with np.load(path) as data:
    flat = {k: data[k] for k in data.files}
  for key, value in changes.items():
    key = key.replace("__", "/")
    if value is None:
      del flat[key]
    else:
      flat[key] = value
  out = tmp_path / "edited.npz"
  with open(out, "wb") as f:
    np.savez(f, **flat)
  return out


def _one_line_error(path, match):
  with pytest.raises(ValueError, match=match) as info:
    inception.load_params(path)
  assert isinstance(info.value, UserError) and "\n" not in str(info.value)
  return str(info.value)


def test_load_params_errors_name_the_key(random_file, tmp_path):
  path = random_file[0]
  bad = _flat_with(path, tmp_path, Mixed_6c__branch7x7_2__conv__kernel=np.zeros((7, 1, 160, 160), np.float32))
  message = _one_line_error(bad, r"'Mixed_6c/branch7x7_2/conv/kernel' has shape \(7, 1, 160, 160\)")
  assert "(1, 7, 160, 160)" in message
  _one_line_error(_flat_with(path, tmp_path, fc__bias=None), "missing key 'fc/bias'")
  _one_line_error(_flat_with(path, tmp_path, AuxLogits__fc__kernel=np.zeros(3, np.float32)),
                  "unexpected key 'AuxLogits/fc/kernel'")
  _one_line_error(tmp_path / "absent.npz", "eval.inception_weights.*not found.*nothing is downloaded")
  _one_line_error(None, "eval.inception_weights is not set")
  garbage = tmp_path / "garbage.npz"
  garbage.write_bytes(b"not a zip file")
  _one_line_error(garbage, "cannot read")


# --------------------------------------------------------------------------- pytorch-fid state dict


def synthetic_torch_state_dict(flat):
  """The flat Flax weights in pytorch-fid's layout, written independently of the converter:
  OIHW conv weights, (out, in) fc weight, torch BN names and num_batches_tracked counters."""
  state = {}
  for key, value in flat.items():
    module, leaf = key.rsplit("/", 1)
    prefix = module.replace("/", ".")
    if key == "fc/kernel":
      state["fc.weight"] = value.T
    elif leaf == "kernel":
      state[prefix + ".weight"] = value.transpose(3, 2, 0, 1)
    else:
      state[prefix + "." + {"scale": "weight", "bias": "bias", "mean": "running_mean",
                            "var": "running_var"}[leaf]] = value
      if leaf == "var":
        state[prefix + ".num_batches_tracked"] = np.array(0, np.int64)
  return state


def test_torch_state_dict_mapping(random_file):
  flat = inception.flatten_variables(random_file[1])
  state = synthetic_torch_state_dict(flat)
  assert len(state) == 5 * NUM_CONVS + NUM_CONVS + 2  # + one num_batches_tracked per BN
  assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
  assert state["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
  assert state["Mixed_5b.branch1x1.bn.running_mean"].shape == (64,)
  assert state["fc.weight"].shape == (1008, 2048)

  converted = inception.convert_torch_state_dict(state)
  assert set(converted) == set(flat)  # every variable filled, all keys consumed
  for key in flat:
    np.testing.assert_array_equal(converted[key], flat[key], err_msg=key)
  # Element-wise: torch W[o, i, h, w] is Flax K[h, w, i, o]; torch fc W[j, k] is Flax K[k, j].
  w = state["Mixed_6b.branch7x7_2.conv.weight"]
  assert converted["Mixed_6b/branch7x7_2/conv/kernel"][0, 5, 17, 3] == w[3, 17, 0, 5]
  assert converted["fc/kernel"][100, 7] == state["fc.weight"][7, 100]

  def expect_error(match, **edits):
    edited = dict(state)
    for k, v in edits.items():
      if v is None:
        del edited[k]
      else:
        edited[k] = v
    with pytest.raises(ValueError, match=match):
      inception.convert_torch_state_dict(edited)

  expect_error("'AuxLogits.fc.weight' has no place", **{"AuxLogits.fc.weight": np.zeros((1000, 768))})
  expect_error("missing key 'Mixed_6e/branch_pool/bn/var'", **{"Mixed_6e.branch_pool.bn.running_var": None})
  # torchvision's ImageNet Inception has a 1000-way fc.
  expect_error(r"'fc/kernel' has shape \(2048, 1000\)", **{"fc.weight": np.zeros((1000, 2048), np.float32)})


def _run_script(*args):
  return run_script(SCRIPT, *args)


def test_script_random_init_writes_a_loadable_file(tmp_path, random_file):
  out = tmp_path / "random.npz"
  result = _run_script("--random_init", "--seed=0", f"--output={out}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"weights_hash {inception.weights_hash(out)}" in result.stdout
  assert "23,850,960 parameters" in result.stdout
  jax.tree.map(np.testing.assert_array_equal, inception.load_params(out), random_file[1])


def test_script_errors_are_one_line(tmp_path):
  result = _run_script(f"--input={tmp_path / 'missing.pth'}", f"--output={tmp_path / 'x.npz'}")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: --input=")
  assert "does not exist" in result.stderr
  try:
    import torch  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    fake = tmp_path / "fake.pth"
    fake.write_bytes(b"")
    result = _run_script(f"--input={fake}", f"--output={tmp_path / 'x.npz'}")
    assert result.returncode == 2 and "needs PyTorch" in result.stderr
  assert not (tmp_path / "x.npz").exists()
