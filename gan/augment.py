"""Differentiable augmentations of D's inputs, ADA's probability controller and consistency terms.

Images are float32 NHWC in [-1, 1], any height, width and channel count. The augmenting functions
take `keys`: one raw PRNG key per example, a (B, 2) uint32 array like the codebase's
`jax.random.PRNGKey` keys, e.g. `jax.vmap(lambda i: jax.random.fold_in(key, i))(global_indices)`.
Example i's augmentation depends on its image and `keys[i]` alone, so a caller that derives the keys
for the whole global batch and slices them per device gets results that do not depend on the device
count. For fixed keys every transform is an affine function of the image, built from gathers, masks
and elementwise products, so it is differentiable with respect to the image: apply it to reals and
fakes in D's loss and to fakes in G's loss (both papers augment everything D sees).

- `diff_augment`: DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training", Sec. 3 and their reference code, ranges for images in [-1, 1]).
- `ada_augment`: ADA's pipeline (Karras et al. 2020, "Training Generative Adversarial Networks with
  Limited Data", Sec. 2.3 and Appendix B; strengths of the official code's `bgc` pipeline).
- `ada_update`, `overfitting_heuristic`: ADA's adaptive p (same paper, Sec. 3, r_t of Eq. 1).
- `consistency_penalty`: CR (Zhang et al. 2020, "Consistency Regularization for GANs", Eq. 1) and
  bCR (Zhao et al. 2021, "Improved Consistency Regularization for GANs", Eqs. 3-4).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

DIFF_AUGMENT_OPS = ("color", "translation", "cutout")
ADA_GEOMETRIC_OPS = ("xflip", "rotate90", "int_translation", "scale", "rotate", "aniso",
                     "frac_translation")
ADA_COLOR_OPS = ("brightness", "contrast", "lumaflip", "hue", "saturation")
ADA_OPS = ADA_GEOMETRIC_OPS + ADA_COLOR_OPS


def _check_names(names, known, what):
  unknown = [name for name in names if name not in known]
  if unknown:
    raise ValueError(f"unknown {what} {unknown}; expected names from {known}")


# ------------------------------------------------------------------------------------- DiffAugment
def _diff_color(image, u):
  """DiffAugment's "color" on one HWC image with uniforms u ~ U[0, 1)^3: brightness + U[-0.5, 0.5),
  saturation x U[0, 2) around the per-pixel channel mean, contrast x U[0.5, 1.5) around the image mean,
  in that order (their code). With one channel the channel mean is the pixel, so saturation is the
  identity."""
  image = image + (u[0] - 0.5)
  pixel_mean = jnp.mean(image, axis=-1, keepdims=True)
  image = (image - pixel_mean) * (2.0 * u[1]) + pixel_mean
  image_mean = jnp.mean(image)
  return (image - image_mean) * (u[2] + 0.5) + image_mean


def _uniform_integers(u, low, high):
  """Integers uniform on [low, high] (inclusive) from uniforms u ~ U[0, 1)."""
  return jnp.minimum(low + jnp.floor(u * (high - low + 1)).astype(jnp.int32), high)


def _max_shift(size: int) -> int:
  """DiffAugment's translation range: 1/8 of the side, rounded half up (their `int(s * 0.125 + 0.5)`)."""
  return int(size * 0.125 + 0.5)


def _cutout_size(size: int) -> int:
  """DiffAugment's cutout side: half the image side, rounded half up."""
  return int(size * 0.5 + 0.5)


def _translation_shift(u, height: int, width: int):
  """(dy, dx), each uniform over the integers in [-max_shift, max_shift] of its axis."""
  limits = jnp.array([_max_shift(height), _max_shift(width)])
  return _uniform_integers(u[:2], -limits, limits)


def _translate(image, shift):
  """out[i, j] = image[i - dy, j - dx], zero where that pixel lies outside: np.roll by (dy, dx) with the
  wrapped-around rows and columns zeroed (DiffAugment's zero padding)."""
  height, width = image.shape[:2]
  rows = jnp.arange(height) - shift[0]
  cols = jnp.arange(width) - shift[1]
  inside = (((rows >= 0) & (rows < height))[:, None] & ((cols >= 0) & (cols < width))[None, :])
  moved = image[jnp.clip(rows, 0, height - 1)][:, jnp.clip(cols, 0, width - 1)]
  return jnp.where(inside[..., None], moved, 0.0)


def _cutout_corner(u, height: int, width: int):
  """Top-left corner (row, col) of DiffAugment's cutout square: its centre is uniform over the integers
  in [0, side - size % 2] per axis, so the square may stick out of the image (their code)."""
  sizes = jnp.array([_cutout_size(height), _cutout_size(width)])
  centre = _uniform_integers(u[:2], 0, jnp.array([height, width]) - sizes % 2)
  return centre - sizes // 2


def _cut_out(image, corner):
  """Zeroes the pixels of the (size x size) square at `corner` that fall inside the image."""
  height, width = image.shape[:2]
  rows = jnp.arange(height) - corner[0]
  cols = jnp.arange(width) - corner[1]
  in_square = (((rows >= 0) & (rows < _cutout_size(height)))[:, None]
               & ((cols >= 0) & (cols < _cutout_size(width)))[None, :])
  return image * (1.0 - in_square.astype(image.dtype))[..., None]


_DIFF_AUGMENT_FNS = {  # (image, 3 uniforms) -> image
    "color": _diff_color,
    "translation": lambda image, u: _translate(image, _translation_shift(u, *image.shape[:2])),
    "cutout": lambda image, u: _cut_out(image, _cutout_corner(u, *image.shape[:2])),
}


def diff_augment(x: jax.Array, keys: jax.Array, policy: tuple[str, ...]) -> jax.Array:
  """DiffAugment T(x) (Zhao et al. 2020, Sec. 3): the ops of `policy` ("color", "translation",
  "cutout"), in its order, each on every example; () returns x itself.

  D is trained on T(real) and T(fake) and G through D(T(G(z))), so T must be differentiable in x:
  translation and cutout are gathers and masks. Example b draws U[0, 1) of shape (len(policy), 3)
  from keys[b]; op i of the policy uses row i.
  """
  policy = tuple(policy)
  _check_names(policy, DIFF_AUGMENT_OPS, "DiffAugment ops")
  if not policy:
    return x

  def augment_one(image, key):
    uniforms = jax.random.uniform(key, (len(policy), 3))
    for name, u in zip(policy, uniforms):
      image = _DIFF_AUGMENT_FNS[name](image, u)
    return image
  return jax.vmap(augment_one)(x, keys)


# --------------------------------------------------------------------------------------------- ADA
# Homogeneous matrices. 3x3 act on pixel coordinates (x = column, y = row, 1) centred on the image;
# 4x4 act on colours (r, g, b, 1). The pipeline composes inverse geometric transforms (output pixel ->
# input pixel) exactly as the official code; identity parameters give exactly the identity matrix.
def _matmul(a, b):
  """Full float32 product (accelerators default to reduced precision for f32 matmuls)."""
  return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


def _affine2d(a, b, c, d, tx, ty):
  """[[a, b, tx], [c, d, ty], [0, 0, 1]]."""
  return jnp.array([[a, b, tx], [c, d, ty], [0.0, 0.0, 1.0]], jnp.float32)


def _scale2d(sx, sy):
  return _affine2d(sx, 0.0, 0.0, sy, 0.0, 0.0)


def _rotate2d(cos, sin):
  return _affine2d(cos, -sin, sin, cos, 0.0, 0.0)


def _translate2d(tx, ty):
  return _affine2d(1.0, 0.0, 0.0, 1.0, tx, ty)


# NumPy constants (float32), so that importing this module does not start JAX's backend.
_LUMA = np.array([1.0, 1.0, 1.0, 0.0], np.float32) / np.float32(math.sqrt(3.0))  # ADA's luma axis v (Appendix B)
_LUMA_OUTER = np.outer(_LUMA, _LUMA)  # v v^T: projection onto the luma axis
_CHROMA = np.diag(np.array([1.0, 1.0, 1.0, 0.0], np.float32)) - _LUMA_OUTER  # projection of rgb orthogonal to v
_LUMA_CROSS = np.array([[0.0, -1.0, 1.0, 0.0], [1.0, 0.0, -1.0, 0.0], [-1.0, 1.0, 0.0, 0.0],
                        [0.0, 0.0, 0.0, 0.0]], np.float32) / np.float32(math.sqrt(3.0))  # [v]_x: u -> v x u on rgb


def _translate3d(b):
  return jnp.eye(4).at[:3, 3].set(b)


def _luma_rotation(theta):
  """Rotation of rgb by theta around v (Rodrigues: I + sin [v]_x + (1 - cos) [v]_x^2, [v]_x^2 = -chroma)."""
  return jnp.eye(4) + jnp.sin(theta) * _LUMA_CROSS - (1.0 - jnp.cos(theta)) * _CHROMA


_ABOVE_MINUS_ONE = float(np.nextafter(np.float32(-1.0), np.float32(0.0)))  # erfinv is finite above -1


def _ada_parameter_table(height: int, width: int):
  """name -> (op, identity value, value from the parameter's own two uniforms u ~ U(0, 1) and two
  standard normals z). Distributions and strengths of ADA's official `bgc` pipeline (Karras et al.
  2020, Appendix B)."""
  size = jnp.array([width, height], jnp.float32)  # (x, y)
  angle = lambda u, z: (2.0 * u[0] - 1.0) * math.pi  # noqa: E731  U(-pi, pi)
  return {
      "xflip": ("xflip", 0.0, lambda u, z: jnp.floor(2.0 * u[0])),  # i ~ U{0, 1}
      "rotate90": ("rotate90", 0.0, lambda u, z: jnp.floor(4.0 * u[0])),  # i ~ U{0, 1, 2, 3}
      # U(-0.125, 0.125) of the size, rounded to pixels (half to even, as torch.round)
      "int_translation": ("int_translation", (0.0, 0.0),
                          lambda u, z: jnp.round((2.0 * u - 1.0) * 0.125 * size)),
      "scale": ("scale", 1.0, lambda u, z: jnp.exp2(0.2 * z[0])),  # lognormal, log2 std 0.2
      "rotate_pre": ("rotate", 0.0, angle),
      "aniso": ("aniso", 1.0, lambda u, z: jnp.exp2(0.2 * z[0])),
      "rotate_post": ("rotate", 0.0, angle),
      "frac_translation": ("frac_translation", (0.0, 0.0), lambda u, z: 0.125 * z * size),  # N(0, 0.125 size)
      "brightness": ("brightness", 0.0, lambda u, z: 0.2 * z[0]),  # N(0, 0.2)
      "contrast": ("contrast", 1.0, lambda u, z: jnp.exp2(0.5 * z[0])),  # lognormal, log2 std 0.5
      "lumaflip": ("lumaflip", 0.0, lambda u, z: jnp.floor(2.0 * u[0])),  # i ~ U{0, 1}
      "hue": ("hue", 0.0, angle),
      "saturation": ("saturation", 1.0, lambda u, z: jnp.exp2(z[0])),  # lognormal, log2 std 1
  }


def _sample_ada_params(key, p, ops, height: int, width: int) -> dict[str, jax.Array]:
  """One example's ADA parameters (Karras et al. 2020, Appendix B).

  Each parameter of an op in `ops` takes its drawn value with probability p (an own uniform < p) and
  its identity value otherwise, exactly; parameters of other ops always take it. Rotation is drawn
  before and after the anisotropic scaling, each with probability 1 - sqrt(1 - p), so that at least
  one happens with probability p (official code).

  All numbers come from one draw w ~ U(-1, 1) of shape (parameters, 5), row k for parameter k whatever
  ops are enabled: uniforms (w + 1) / 2, normals sqrt(2) erfinv(w) (as `jax.random.normal` makes
  them). One random call per example keeps the compiled program small (each threefry call costs
  about a second of XLA:CPU compile time).
  """
  table = _ada_parameter_table(height, width)
  w = jax.random.uniform(key, (len(table), 5), minval=_ABOVE_MINUS_ONE, maxval=1.0)
  u_apply, u, z = (w[:, 0] + 1.0) / 2.0, (w[:, 1:3] + 1.0) / 2.0, math.sqrt(2.0) * lax.erf_inv(w[:, 3:])
  p = jnp.asarray(p, jnp.float32)
  p_rotate = 1.0 - jnp.sqrt(jnp.clip(1.0 - p, 0.0, 1.0))
  params = {}
  for row, (name, (op, identity, value)) in enumerate(table.items()):
    identity = jnp.asarray(identity, jnp.float32)
    if op not in ops:
      params[name] = identity
      continue
    probability = p_rotate if op == "rotate" else p
    params[name] = jnp.where(u_apply[row] < probability, value(u[row], z[row]), identity)
  return params


def _geometric_matrix(params) -> jax.Array:
  """Inverse transform (output pixel -> input pixel) of ADA's geometric ops, composed in the official
  order: x-flip, rotation by k * 90 degrees (exact cos/sin from a table), integer translation,
  isotropic scaling, rotation, anisotropic scaling, rotation, fractional translation."""
  quarter = params["rotate90"].astype(jnp.int32)
  steps = [
      _scale2d(1.0 - 2.0 * params["xflip"], 1.0),
      _rotate2d(jnp.array([1.0, 0.0, -1.0, 0.0])[quarter], jnp.array([0.0, 1.0, 0.0, -1.0])[quarter]),
      _translate2d(-params["int_translation"][0], -params["int_translation"][1]),
      _scale2d(1.0 / params["scale"], 1.0 / params["scale"]),
      _rotate2d(jnp.cos(params["rotate_pre"]), jnp.sin(params["rotate_pre"])),
      _scale2d(1.0 / params["aniso"], params["aniso"]),
      _rotate2d(jnp.cos(params["rotate_post"]), jnp.sin(params["rotate_post"])),
      _translate2d(-params["frac_translation"][0], -params["frac_translation"][1]),
  ]
  matrix = jnp.eye(3)
  for step in steps:
    matrix = _matmul(matrix, step)
  return matrix


def _reflect(index, size: int):
  """Mirror an integer pixel index into [0, size) without repeating the edge (np.pad 'reflect'),
  periodically, so that any coordinate maps to a pixel."""
  if size == 1:
    return jnp.zeros_like(index)
  period = 2 * (size - 1)
  folded = jnp.mod(index, period)
  return jnp.where(folded < size, folded, period - folded)


def _warp(image, inverse):
  """out[i, j] = image at `inverse` @ (j, i) (centred coordinates), bilinear, reflect-padded.

  The weights of an integer source coordinate are exactly (1, 0, 0, 0), so the identity, flips,
  quarter turns and integer translations copy pixels exactly."""
  height, width = image.shape[:2]
  cx, cy = (width - 1) / 2, (height - 1) / 2
  ys, xs = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32) - cy,
                        jnp.arange(width, dtype=jnp.float32) - cx, indexing="ij")
  src_x = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2] + cx
  src_y = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2] + cy
  x0, y0 = jnp.floor(src_x), jnp.floor(src_y)
  fx, fy = (src_x - x0)[..., None], (src_y - y0)[..., None]
  x0, y0 = x0.astype(jnp.int32), y0.astype(jnp.int32)

  def pixels(rows, cols):
    return image[_reflect(rows, height), _reflect(cols, width)]
  return ((1.0 - fy) * ((1.0 - fx) * pixels(y0, x0) + fx * pixels(y0, x0 + 1))
          + fy * ((1.0 - fx) * pixels(y0 + 1, x0) + fx * pixels(y0 + 1, x0 + 1)))


def _color_matrix(params) -> jax.Array:
  """ADA's colour transform (colour in -> colour out), composed in the official order: brightness
  (add b), contrast (multiply by c around 0, mid-grey in [-1, 1]), luma flip (Householder reflection
  I - 2 v v^T), hue (rotation around v), saturation (v v^T + s (I - v v^T) on rgb)."""
  c = params["contrast"]
  steps = [
      _translate3d(params["brightness"]),
      jnp.diag(jnp.stack([c, c, c, jnp.ones(())])),
      jnp.eye(4) - 2.0 * params["lumaflip"] * _LUMA_OUTER,
      _luma_rotation(params["hue"]),
      jnp.eye(4) + (params["saturation"] - 1.0) * _CHROMA,  # written so that s = 1 gives I exactly
  ]
  matrix = jnp.eye(4)
  for step in steps:
    matrix = _matmul(step, matrix)
  return matrix


def _apply_color(image, matrix):
  """RGB: out = M[:3, :3] rgb + M[:3, 3]. Any other channel count: each channel is treated as a grey
  image and gets the luminance-only part (official code for one channel): out = x * sum(M[:3, :3]) / 3
  + sum(M[:3, 3]) / 3; hue and saturation, which keep the luma axis, then reduce to the identity and
  the luma flip to negation. Elementwise products, not a matmul, so the identity is exact anywhere."""
  if image.shape[-1] == 3:
    return jnp.sum(image[..., None, :] * matrix[:3, :3], axis=-1) + matrix[:3, 3]
  return image * (jnp.sum(matrix[:3, :3]) / 3.0) + jnp.sum(matrix[:3, 3]) / 3.0


def ada_augment(x: jax.Array, keys: jax.Array, p, ops: tuple[str, ...] = ADA_OPS) -> jax.Array:
  """ADA's augmentation (Karras et al. 2020, Sec. 2.3 and Appendix B): each op of `ops` (any subset
  of `ADA_OPS`, applied in the pipeline's fixed order whatever the order given) applied to each
  example independently with probability p in [0, 1]; p may be a traced scalar (train state).

  Geometric ops form one inverse affine matrix per example, executed as one bilinear warp with reflect
  padding; colour ops one 4x4 colour matrix. At p = 0 every parameter takes its identity value exactly,
  the matrices are exactly the identity and the result equals x bit for bit.

  Simplifications against the official code: no 2x upsampling with the sym6 wavelet low-pass filter
  around the warp (bilinear sampling at the native resolution aliases more under scaling and
  rotation); reflection extends periodically instead of padding by at most the image size and
  filling with zeros beyond; the image-space filtering, noise and cutout ops of the `bgcfnc` pipeline
  are left out; channel counts other than 1 and 3 get the luminance-only colour transform.
  """
  ops = tuple(ops)
  _check_names(ops, ADA_OPS, "ADA ops")
  height, width = x.shape[1:3]
  geometric = any(op in ADA_GEOMETRIC_OPS for op in ops)
  color = any(op in ADA_COLOR_OPS for op in ops)

  def augment_one(image, key):
    params = _sample_ada_params(key, p, ops, height, width)
    if geometric:
      image = _warp(image, _geometric_matrix(params))
    if color:
      image = _apply_color(image, _color_matrix(params))
    return image
  return jax.vmap(augment_one)(x, keys)


def overfitting_heuristic(real_logits: jax.Array) -> jax.Array:
  """r_t = E[sign(D(x_real))] (Karras et al. 2020, Sec. 3, Eq. 1) over the given logits. Average it
  over the `interval` steps (and devices) of one adjustment; with equal batches that is the mean over
  all of them."""
  return jnp.mean(jnp.sign(real_logits))


def ada_update(p, rt, *, target: float = 0.6, batch_size: int, interval: int, kimg: float = 500):
  """ADA's p after one adjustment (Karras et al. 2020, Sec. 3): p + sign(r_t - target) * N / (kimg *
  1000), N = batch_size * interval images shown since the last adjustment, so p can go from 0 to 1
  in `kimg` thousand images (500k, their default). Clipped to [0, 1]: the official code clips only at
  0, but p above 1 acts like 1 and would delay the decrease once r_t falls."""
  step = batch_size * interval / (kimg * 1000.0)
  return jnp.clip(p + jnp.sign(rt - target) * step, 0.0, 1.0)


def ada_adjust(augment_state: dict, real_logits: jax.Array, *, axis_name: str | None, target: float,
               batch_size: int, interval: int, kimg: float) -> dict:
  """ADA's state {p, sign_sum, count} after one D update on `real_logits`: r_t's running sum over the
  updates since the last adjustment (averaged over devices) and, every `interval` updates, p moved by
  `ada_update` with r_t their mean."""
  sign = overfitting_heuristic(real_logits)
  if axis_name is not None:
    sign = lax.pmean(sign, axis_name)
  sign_sum, count = augment_state["sign_sum"] + sign, augment_state["count"] + 1
  due = count >= interval
  p = jnp.where(due, ada_update(augment_state["p"], sign_sum / count, target=target, batch_size=batch_size,
                                interval=interval, kimg=kimg), augment_state["p"])
  return {"p": p, "sign_sum": jnp.where(due, 0.0, sign_sum), "count": jnp.where(due, 0, count)}


# ----------------------------------------------------------------------------- consistency terms
def consistency_penalty(logits: jax.Array, augmented_logits: jax.Array) -> jax.Array:
  """E ||D(x) - D(T(x))||^2: squared difference summed over all but the batch axis, averaged over the
  batch (for scalar logits, the mean squared difference). CR (Zhang et al. 2020, Eq. 1) is
  lambda * this on real images; bCR (Zhao et al. 2021, Eqs. 3-4) adds lambda_real * this on reals and
  lambda_fake * this on generated images. Gradients flow through both arguments, as in the papers."""
  difference = (logits - augmented_logits).reshape(logits.shape[0], -1)
  return jnp.mean(jnp.sum(jnp.square(difference), axis=1))
