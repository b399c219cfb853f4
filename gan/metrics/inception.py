"""The FID Inception-v3 network in Flax Linen, for FID / KID / IS / precision-recall features.

This is Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
Vision", Sec. 6 and Table 1) exactly as used by the Frechet Inception Distance (Heusel et al. 2017,
"GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", Sec. 4): the
TensorFlow graph `inception-2015-12-05` of the TTUR reference code (`pool_3:0`, `softmax/logits`),
in the layout of pytorch-fid's port of it (`pt_inception-2015-12-05-6726825d.pth`, built by
`fid_inception_v3()` from torchvision's `Inception3(num_classes=1008, aux_logits=False)` with the
blocks swapped for `FIDInceptionA/C/E_1/E_2`). Module and parameter names follow torchvision's, so
the weight file's keys map one to one (`Mixed_5b.branch1x1.conv.weight` -> `Mixed_5b/branch1x1/conv/kernel`).

Network (input 299x299x3, NHWC):
- stem: Conv2d_1a_3x3 (32, stride 2), Conv2d_2a_3x3 (32), Conv2d_2b_3x3 (64, pad 1), max pool 3/2,
  Conv2d_3b_1x1 (80), Conv2d_4a_3x3 (192), max pool 3/2: 299 -> 149 -> 147 -> 73 -> 71 -> 35.
- Mixed_5b/5c/5d: InceptionA with pool_features 32, 64, 64 (-> 256, 288, 288 channels, 35x35).
- Mixed_6a: InceptionB (-> 768, 17x17); Mixed_6b-6e: InceptionC with c7 = 128, 160, 160, 192.
- Mixed_7a: InceptionD (-> 1280, 8x8); Mixed_7b, Mixed_7c: InceptionE (-> 2048, 8x8).
- global average pool -> `pool3` (N, 2048), the FID features; `fc` (2048 -> 1008) -> `logits`.
Every conv is a `BasicConv2d`: conv without bias, BatchNorm in inference mode (stored mean and
variance, eps = 0.001) and ReLU. All convs and pools are unpadded unless a padding is given.

Where the FID network differs from torchvision's ImageNet Inception-v3 (pytorch-fid's patches):
- the pool branch of every InceptionA (Mixed_5*), InceptionC (Mixed_6b-e) and of the first
  InceptionE (Mixed_7b) is a 3x3/1 average pool with padding 1 that does NOT count the padded
  zeros (TF's 'SAME' average pool; torch's `count_include_pad=False`): `avg_pool_exclude_pad`;
- the pool branch of the last InceptionE (Mixed_7c) is a 3x3/1 max pool with padding 1 (the TF
  graph has a max pool there, unlike the paper);
- the classifier has 1008 outputs (1000 ImageNet classes and 8 unused ones), not 1000.

Input: images (N, H, W, C) in [-1, 1] (this codebase's data space), C = 3 or 1 (grayscale is
repeated to 3 channels). They are resized to 299x299 with bilinear interpolation, half-pixel
centres and no antialiasing: `jax.image.resize(..., "bilinear", antialias=False)`, which is what
pytorch-fid does (`F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)`; the
same weights for up- and down-sampling, borders clamped). pytorch-fid resizes images in [0, 1] and
then maps them to [-1, 1] with 2x - 1; bilinear weights sum to one, so resizing in [-1, 1] is the
same map (up to float rounding). (The TF graph of the TTUR code resizes uint8 images inside the
graph with TF1's legacy `ResizeBilinear`, without half-pixel centres; its features differ slightly
from pytorch-fid's for images that are not 299x299. We follow pytorch-fid.)

Outputs: `InceptionV3()(images)` returns {"pool3": (N, 2048), "logits": (N, 1008)}. `logits`
include the fc bias (pytorch-fid's `fc`, torch-fidelity's "logits"). The reference Inception Score
code (Salimans et al. 2016, openai/improved-gan) multiplies pool3 by the weight of
`softmax/logits/MatMul` only, without the bias: use `unbiased_logits(variables, pool3)` to match it.

Weights: nothing is downloaded. The weights are read from a local `.npz` file named by the config key
`eval.inception_weights`, made once from pytorch-fid's published state dict with
`scripts/convert_inception_weights.py --input=pt_inception-2015-12-05-6726825d.pth --output=inception_fid.npz`
(its flat keys are `Mixed_5b/branch1x1/conv/kernel` (HWIO), `.../bn/scale|bias|mean|var`,
`fc/kernel` (2048, 1008), `fc/bias`). `load_params(path)` checks every key and shape and returns
the Flax variables; `weights_hash(path)` names the file in evaluation results, so that scores made
with different weight files are never compared; `make_feature_fn(variables)` gives a jitted
images -> (pool3, logits) function. Tests and protocol checks use a random file
(`convert_inception_weights.py --random_init`, i.e. `random_variables`).

Convolutions and the fc layer run at `precision="highest"` by default, so features do not depend
on the accelerator's reduced-precision (TF32 / bf16-pass) defaults.
"""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from gan.errors import UserError
from gan.metrics.suite import FeatureNet

INPUT_SIZE = 299
NUM_FEATURES = 2048
NUM_LOGITS = 1008
BN_EPSILON = 1e-3  # torchvision's BasicConv2d: BatchNorm2d(eps=0.001), as in the TF graph
CONFIG_KEY = "eval.inception_weights"
PYTORCH_FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
_BATCH_STATS_LEAVES = ("mean", "var")
RESIZE = ("bilinear to 299x299 (jax.image.resize, half-pixel centres, no antialias: pytorch-fid's "
          "F.interpolate(align_corners=False)); grayscale repeated to 3 channels")  # every other leaf is in the "params" collection

Variables = Mapping[str, Any]


class InceptionWeightsError(UserError, ValueError):
  """A missing, unreadable or mismatched Inception weights file (one line; the CLI prints it)."""


# --------------------------------------------------------------------------- layers


def preprocess(images, size: int = INPUT_SIZE) -> jax.Array:
  """float32 (N, size, size, 3) from images (N, H, W, 1 or 3) in [-1, 1]: bilinear resize
  (half-pixel centres, no antialias = torch `F.interpolate(bilinear, align_corners=False)`), then
  grayscale repeated to 3 channels. Images already size x size x 3 are returned unchanged."""
  x = jnp.asarray(images, jnp.float32)
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f"Inception expects images (N, H, W, 1 or 3) in [-1, 1], got shape {x.shape}")
  n, h, w, c = x.shape
  if (h, w) != (size, size):
    x = jax.image.resize(x, (n, size, size, c), method="bilinear", antialias=False)
  if c == 1:
    x = jnp.repeat(x, 3, axis=-1)  # after the resize: the same result, a third of the work
  return x


def avg_pool_exclude_pad(x, window: int = 3, stride: int = 1, padding: int = 1):
  """Average pool over the valid (non-padding) positions of each window, NHWC.

  torch `F.avg_pool2d(x, window, stride, padding, count_include_pad=False)`, TF `avg_pool`
  with 'SAME' padding: the window sum divided by how many of its positions lie inside the image
  (4 at a corner, 6 along an edge, 9 inside for 3x3 / pad 1), not by window**2.
  """
  dims, strides = (1, window, window, 1), (1, stride, stride, 1)
  pads = ((0, 0), (padding, padding), (padding, padding), (0, 0))
  total = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, strides, pads)
  ones = jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype)
  count = jax.lax.reduce_window(ones, 0.0, jax.lax.add, dims, strides, pads)
  return total / count


def max_pool(x, window: int = 3, stride: int = 2, padding: int = 0):
  """torch `F.max_pool2d(x, window, stride, padding)`, NHWC (padding never wins the max)."""
  return nn.max_pool(x, (window, window), strides=(stride, stride),
                     padding=((padding, padding), (padding, padding)))


class BasicConv2d(nn.Module):
  """conv (no bias) -> BatchNorm (inference, eps 0.001) -> ReLU; torchvision's `BasicConv2d`.

  `kernel_size` and `padding` are (height, width), as in torch: (1, 7) with padding (0, 3) is a
  1x7 conv along the width. Submodules are named `conv` and `bn` like torchvision's.
  """
  features: int
  kernel_size: tuple[int, int] = (1, 1)
  strides: int = 1
  padding: tuple[int, int] = (0, 0)
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    (ph, pw), s = self.padding, self.strides
    x = nn.Conv(self.features, tuple(self.kernel_size), strides=(s, s), padding=((ph, ph), (pw, pw)),
                use_bias=False, precision=self.precision, kernel_init=nn.initializers.he_normal(),
                name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, name="bn")(x)
    return nn.relu(x)


class InceptionA(nn.Module):
  """35x35 block (Szegedy et al. 2016, Fig. 5): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1."""
  pool_features: int
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    b1 = conv(64, name="branch1x1")(x)
    b5 = conv(48, name="branch5x5_1")(x)
    b5 = conv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
    b3 = conv(64, name="branch3x3dbl_1")(x)
    b3 = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = conv(self.pool_features, name="branch_pool")(avg_pool_exclude_pad(x))  # FIDInceptionA
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  """35 -> 17 grid reduction (Szegedy et al. 2016, Fig. 10): 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2."""
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    b3 = conv(384, (3, 3), strides=2, name="branch3x3")(x)
    bd = conv(64, name="branch3x3dbl_1")(x)
    bd = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = conv(96, (3, 3), strides=2, name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, max_pool(x)], axis=-1)


class InceptionC(nn.Module):
  """17x17 block with factorised 7x7 convs (Szegedy et al. 2016, Fig. 6), c7 inner channels."""
  channels_7x7: int
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    c7 = self.channels_7x7
    b1 = conv(192, name="branch1x1")(x)
    b7 = conv(c7, name="branch7x7_1")(x)
    b7 = conv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
    b7 = conv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
    bd = conv(c7, name="branch7x7dbl_1")(x)
    bd = conv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
    bd = conv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
    bd = conv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
    bd = conv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
    bp = conv(192, name="branch_pool")(avg_pool_exclude_pad(x))  # FIDInceptionC
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  """17 -> 8 grid reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2."""
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    b3 = conv(192, name="branch3x3_1")(x)
    b3 = conv(320, (3, 3), strides=2, name="branch3x3_2")(b3)
    b7 = conv(192, name="branch7x7x3_1")(x)
    b7 = conv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = conv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = conv(192, (3, 3), strides=2, name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, max_pool(x)], axis=-1)


class InceptionE(nn.Module):
  """8x8 block with expanded filter banks (Szegedy et al. 2016, Fig. 7).

  `pool="avg"`: FIDInceptionE_1 (Mixed_7b), average pool without the padding;
  `pool="max"`: FIDInceptionE_2 (Mixed_7c), max pool, as in the TF graph.
  """
  pool: str = "avg"
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    b1 = conv(320, name="branch1x1")(x)
    b3 = conv(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([conv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                          conv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], axis=-1)
    bd = conv(448, name="branch3x3dbl_1")(x)
    bd = conv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([conv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                          conv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)], axis=-1)
    if self.pool == "avg":
      pooled = avg_pool_exclude_pad(x)
    elif self.pool == "max":
      pooled = max_pool(x, stride=1, padding=1)
    else:
      raise ValueError(f"InceptionE pool must be 'avg' or 'max', got {self.pool!r}")
    bp = conv(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
  """FID Inception-v3: images (N, H, W, 1|3) in [-1, 1] -> {"pool3": (N, 2048), "logits": (N, 1008)}.

  Variables: "params" (conv kernels, BN scale/bias, fc) and "batch_stats" (BN mean/var); it has no
  training mode. Load them with `load_params`.
  """
  precision: str | None = "highest"

  @nn.compact
  def __call__(self, images):
    conv = functools.partial(BasicConv2d, precision=self.precision)
    p = self.precision
    x = preprocess(images)
    x = conv(32, (3, 3), strides=2, name="Conv2d_1a_3x3")(x)  # 149
    x = conv(32, (3, 3), name="Conv2d_2a_3x3")(x)  # 147
    x = conv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = max_pool(x)  # 73
    x = conv(80, name="Conv2d_3b_1x1")(x)
    x = conv(192, (3, 3), name="Conv2d_4a_3x3")(x)  # 71
    x = max_pool(x)  # 35
    x = InceptionA(32, precision=p, name="Mixed_5b")(x)
    x = InceptionA(64, precision=p, name="Mixed_5c")(x)
    x = InceptionA(64, precision=p, name="Mixed_5d")(x)
    x = InceptionB(precision=p, name="Mixed_6a")(x)  # 17
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
      x = InceptionC(c7, precision=p, name=name)(x)
    x = InceptionD(precision=p, name="Mixed_7a")(x)  # 8
    x = InceptionE("avg", precision=p, name="Mixed_7b")(x)
    x = InceptionE("max", precision=p, name="Mixed_7c")(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    logits = nn.Dense(NUM_LOGITS, precision=p, name="fc")(pool3)
    return {"pool3": pool3, "logits": logits}


def unbiased_logits(variables: Variables, pool3) -> jax.Array:
  """pool3 @ fc.kernel without the bias: the logits of the reference Inception Score code."""
  return jnp.matmul(pool3, variables["params"]["fc"]["kernel"], precision="highest")


# --------------------------------------------------------------------------- weights files


def flatten_variables(variables: Variables) -> dict[str, np.ndarray]:
  """{"params": ..., "batch_stats": ...} -> {"Mixed_5b/branch1x1/bn/mean": array, ...}."""
  flat = {}
  for collection in ("params", "batch_stats"):
    for key, value in traverse_util.flatten_dict(variables.get(collection, {}), sep="/").items():
      flat[key] = np.asarray(value)
  return flat


def unflatten_variables(flat: Mapping[str, Any]) -> dict[str, Any]:
  """Inverse of `flatten_variables`: BN mean/var go to "batch_stats", everything else to "params"."""
  split = {"params": {}, "batch_stats": {}}
  for key, value in flat.items():
    split["batch_stats" if key.rsplit("/", 1)[-1] in _BATCH_STATS_LEAVES else "params"][key] = value
  return {c: traverse_util.unflatten_dict(d, sep="/") for c, d in split.items()}


@functools.lru_cache(maxsize=None)
def expected_shapes() -> dict[str, tuple[int, ...]]:
  """Flat key -> shape of every variable of `InceptionV3`, keys sorted (abstract: no FLOPs)."""
  abstract = jax.eval_shape(InceptionV3().init, jax.random.key(0),
                            jax.ShapeDtypeStruct((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32))
  return {key: tuple(leaf.shape) for collection in ("params", "batch_stats")
          for key, leaf in traverse_util.flatten_dict(abstract[collection], sep="/").items()}


def num_parameters() -> dict[str, int]:
  """Scalar counts: "params" (torch's `parameters()`: convs, BN scale/bias, fc), "batch_stats"
  (torch's BN running mean/var buffers), "total"."""
  counts = {"params": 0, "batch_stats": 0}
  for key, shape in expected_shapes().items():
    counts["batch_stats" if key.rsplit("/", 1)[-1] in _BATCH_STATS_LEAVES else "params"] += \
        int(np.prod(shape))
  return {**counts, "total": counts["params"] + counts["batch_stats"]}


def check_flat(flat: Mapping[str, Any], source: str = "weights") -> dict[str, Any]:
  """Flax variables from a flat {key: array} dict, or an `InceptionWeightsError` naming the first
  missing key, wrong shape, non-float or non-finite array, or unexpected key (in that order)."""
  shapes = expected_shapes()
  out = {}
  for key, shape in shapes.items():
    if key not in flat:
      raise InceptionWeightsError(f"{source}: missing key {key!r} (expected shape {shape}); not FID "
                                  f"Inception-v3 weights made by scripts/convert_inception_weights.py?")
    value = np.asarray(flat[key])
    if value.shape != shape:
      raise InceptionWeightsError(
          f"{source}: key {key!r} has shape {value.shape}, InceptionV3 expects {shape}")
    if not np.issubdtype(value.dtype, np.floating):
      raise InceptionWeightsError(f"{source}: key {key!r} has dtype {value.dtype}, expected floats")
    value = value.astype(np.float32)
    if not np.all(np.isfinite(value)):
      raise InceptionWeightsError(f"{source}: key {key!r} has non-finite values")
    out[key] = value
  for key in flat:
    if key not in shapes:
      raise InceptionWeightsError(f"{source}: unexpected key {key!r}, not a variable of InceptionV3")
  return unflatten_variables(out)


def load_params(path: str | os.PathLike | None) -> dict[str, Any]:
  """Flax variables {"params", "batch_stats"} (NumPy float32) of the `.npz` weights file at `path`.

  Every key and shape is checked against `InceptionV3`; any problem (no path, no file, unreadable
  file, missing / unexpected key, wrong shape) is one `InceptionWeightsError` line (a ValueError
  and a UserError). Nothing is ever downloaded.
  """
  if not path:
    raise InceptionWeightsError(f"config key {CONFIG_KEY} is not set: FID/IS need a local Inception "
                                f"weights file (.npz), made with scripts/convert_inception_weights.py")
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise InceptionWeightsError(
        f"Inception weights file {path!r} ({CONFIG_KEY}) not found; nothing is downloaded: convert "
        f"pytorch-fid's {PYTORCH_FID_WEIGHTS} with scripts/convert_inception_weights.py")
  try:
    with np.load(path, allow_pickle=False) as data:
      flat = {k: data[k] for k in data.files}
  except Exception as e:  # pylint: disable=broad-except
    first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise InceptionWeightsError(f"cannot read Inception weights {path!r} as .npz: {first_line}") from None
  return check_flat(flat, source=path)


def save_params(path: str | os.PathLike, variables: Variables) -> None:
  """Writes `variables` (checked) as the flat float32 `.npz` that `load_params` reads."""
  flat = flatten_variables(check_flat(flatten_variables(variables), source="variables"))
  path = os.fspath(path)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to other names
    np.savez(f, **flat)


def weights_hash(path: str | os.PathLike) -> str:
  """First 16 hex digits of the file's sha256: identifies the weights in evaluation results."""
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()[:16]


def random_variables(seed: int = 0) -> dict[str, Any]:
  """Random but well-scaled weights for tests and protocol checks (never for reported scores).

  Conv kernels He-normal (so activations keep their scale through the ~50 layers), fc
  LeCun-normal; BN scale in [0.5, 1.5], bias, mean ~ N(0, 0.1^2), var in [0.5, 1.5]: every leaf
  differs from its default, so a swapped or dropped array changes the outputs. NumPy only.
  """
  rng = np.random.default_rng(seed)
  flat = {}
  for key, shape in expected_shapes().items():
    leaf = key.rsplit("/", 1)[-1]
    if leaf == "kernel":
      fan_in = int(np.prod(shape[:-1]))
      std = np.sqrt((1.0 if key.startswith("fc/") else 2.0) / fan_in)
      value = rng.standard_normal(shape) * std
    elif leaf in ("scale", "var"):
      value = rng.uniform(0.5, 1.5, shape)
    else:  # bias, mean
      value = 0.1 * rng.standard_normal(shape)
    flat[key] = value.astype(np.float32)
  return unflatten_variables(flat)


# --------------------------------------------------------------------------- pytorch-fid state dict


def _torch_key_map() -> dict[str, tuple[str, tuple[int, ...] | None]]:
  """torch state-dict key -> (flat key, transpose applied to the torch array or None)."""
  table = {}
  for key, shape in expected_shapes().items():
    module, leaf = key.rsplit("/", 1)
    prefix = module.replace("/", ".")
    if key == "fc/kernel":
      table["fc.weight"] = (key, (1, 0))  # torch Linear (out, in) -> Flax Dense (in, out)
    elif leaf == "kernel":
      assert len(shape) == 4, key
      table[f"{prefix}.weight"] = (key, (2, 3, 1, 0))  # OIHW -> HWIO
    else:
      torch_leaf = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}[leaf]
      table[f"{prefix}.{torch_leaf}"] = (key, None)
  return table


def convert_torch_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """pytorch-fid FID Inception state dict (NumPy arrays) -> flat `.npz` dict, fully checked.

  Maps `X.conv.weight` (O, I, kh, kw) -> `X/conv/kernel` (kh, kw, I, O); `X.bn.weight|bias|
  running_mean|running_var` -> `X/bn/scale|bias|mean|var`; `fc.weight` (1008, 2048) -> `fc/kernel`
  (2048, 1008); `fc.bias` -> `fc/bias`. BN's `num_batches_tracked` counters are dropped (no role in
  inference). Raises `InceptionWeightsError` on the first key that is not consumed (e.g.
  torchvision's `AuxLogits.*`: the ImageNet Inception, not the FID one) and, via `check_flat`, on
  the first variable left unfilled or filled with the wrong shape.
  """
  table = _torch_key_map()
  flat = {}
  for torch_key, value in state_dict.items():
    if torch_key.endswith(".num_batches_tracked"):
      continue
    if torch_key not in table:
      raise InceptionWeightsError(
          f"state dict key {torch_key!r} has no place in the FID Inception-v3 "
          f"(expected pytorch-fid's {PYTORCH_FID_WEIGHTS})")
    flat_key, perm = table[torch_key]
    value = np.asarray(value)
    if perm is not None:
      if value.ndim != len(perm):
        raise InceptionWeightsError(f"state dict key {torch_key!r} has shape {value.shape}, "
                                    f"expected {len(perm)} dimensions")
      value = np.transpose(value, perm)
    flat[flat_key] = np.ascontiguousarray(value, dtype=np.float32)
  return flatten_variables(check_flat(flat, source="state dict"))


# --------------------------------------------------------------------------- features


_preprocess = jax.jit(preprocess)


@functools.partial(jax.jit, static_argnames="fc_bias")
def _features(variables, images, fc_bias: bool = True):
  out = InceptionV3().apply(variables, images)
  return out["pool3"], (out["logits"] if fc_bias else unbiased_logits(variables, out["pool3"]))


def make_feature_fn(variables: Variables, *, fc_bias: bool = True
                    ) -> Callable[[Any], tuple[jax.Array, jax.Array]]:
  """images (N, H, W, 1|3) in [-1, 1] -> (pool3 (N, 2048), logits (N, 1008)), jitted.

  `fc_bias=False` gives the logits without the fc bias (`unbiased_logits`), computed in the same
  executable.

  The resize runs in its own small jitted function, so the network is compiled once per batch
  size whatever the image resolution. The variables are placed on the device once and passed as
  arguments (not baked into the executable as constants); the compiled network is shared by all
  feature functions. Use a fixed batch size (pad the last batch) to avoid recompiling.
  """
  variables = jax.device_put(jax.tree.map(lambda a: np.asarray(a, np.float32), dict(variables)))

  def feature_fn(images):
    return _features(variables, _preprocess(images), fc_bias=fc_bias)
  return feature_fn


def feature_net(path: str | os.PathLike, batch_size: int = 100) -> FeatureNet:
  """The FID Inception-v3 of the weights file at `path` as a `FeatureNet` (gan/metrics/suite.py),
  which reads generated images quantised to 8 bits, as StyleGAN2-ADA's metrics (metric_utils.py) and
  pytorch-fid (saved uint8 images) do.

  Features: `pool3` (N, 2048), for FID, KID and the k-NN metrics. Class probabilities: softmax of
  the 1008 logits without the fc bias (`unbiased_logits`), as in the reference Inception Score code.
  """
  return FeatureNet(name="InceptionV3-FID", weights_hash=weights_hash(path), resize=RESIZE,
                    apply=make_feature_fn(load_params(path), fc_bias=False), batch_size=batch_size)
