"""Augmentations against closed forms (shifts, flips, quarter turns, colour formulas), exact identity at
p = 0, per-example keys (batch = examples one by one = concatenated halves), gradients, ADA's p and CR.

Compiled functions are shared between tests (same shapes, p traced) and test inputs come from numpy:
each XLA:CPU compile costs seconds on a loaded machine."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan import augment

B, H, W = 8, 8, 8
ada = jax.jit(augment.ada_augment, static_argnames="ops")
diff = jax.jit(augment.diff_augment, static_argnames="policy")
FULL_POLICY = ("color", "translation", "cutout")


def images(channels=3, seed=0, batch=B):
  return np.random.default_rng(seed).uniform(-1.0, 1.0, (batch, H, W, channels)).astype(np.float32)


def example_keys(seed=1, batch=B):
  """Raw threefry keys: any pair of uint32 words is one."""
  return np.random.default_rng(seed).integers(0, 2**32, (batch, 2), dtype=np.uint32)


@jax.jit
def sampled_params(keys, p=1.0):
  """Every op's parameters (probability p), as ada_augment draws them for these keys."""
  return jax.vmap(lambda key: augment._sample_ada_params(key, p, augment.ADA_OPS, H, W))(keys)


def only(op, params):
  """`params` with every parameter not belonging to `op` at its identity value."""
  identity = sampled_params(example_keys(), 0.0)
  table = augment._ada_parameter_table(H, W)
  return {name: value if table[name][0] == op else identity[name] for name, value in params.items()}


@jax.jit
def apply_params(x, params):
  """ada_augment's transform for given parameters: the warp, then the colour matrix."""
  def one(image, prm):
    image = augment._warp(image, augment._geometric_matrix(prm))
    return augment._apply_color(image, augment._color_matrix(prm))
  return jax.vmap(one)(x, params)


# ------------------------------------------------------------------------------------ identities
def test_empty_policy_is_the_identity():
  x = images()
  np.testing.assert_array_equal(augment.diff_augment(x, example_keys(), ()), x)


@pytest.mark.parametrize("channels", [3, 1])
def test_ada_at_p_zero_is_exactly_the_identity(channels):
  """Bit-exact (assert_array_equal): at p = 0 every parameter takes its identity value exactly, the
  composed matrices are exactly I, and integer source coordinates give bilinear weights (1, 0, 0, 0)."""
  x = images(channels)
  np.testing.assert_array_equal(ada(x, example_keys(), 0.0), x)


def test_unknown_op_names_are_refused():
  with pytest.raises(ValueError, match="zoom"):
    augment.ada_augment(images(), example_keys(), 0.5, ops=("xflip", "zoom"))
  with pytest.raises(ValueError, match="colour"):
    augment.diff_augment(images(), example_keys(), ("colour",))


# ------------------------------------------------------------------------ per-example randomness
@pytest.mark.parametrize("fn", ["diff", "ada"])
def test_batch_equals_examples_one_by_one_and_concatenated_halves(fn):
  """Example b depends on x[b] and keys[b] only: slicing the global batch over devices changes nothing.
  allclose at 1e-6, not equality: XLA may vectorise a batch of 8, 4 or 1 differently."""
  augment_fn = (lambda x, k: diff(x, k, FULL_POLICY)) if fn == "diff" else (lambda x, k: ada(x, k, 0.7))
  x, keys = images(), example_keys()
  full = augment_fn(x, keys)
  assert float(jnp.max(jnp.abs(full - x))) > 0.1
  halves = jnp.concatenate([augment_fn(x[:B // 2], keys[:B // 2]), augment_fn(x[B // 2:], keys[B // 2:])])
  np.testing.assert_allclose(halves, full, atol=1e-6)
  for b in (0, 5):
    np.testing.assert_allclose(augment_fn(x[b:b + 1], keys[b:b + 1]), full[b:b + 1], atol=1e-6)


def test_ada_warps_then_applies_the_colour_matrix_of_the_sampled_parameters():
  """The per-op tests below go through `apply_params`; here it is shown to be what ada_augment does."""
  x, keys = images(), example_keys()
  np.testing.assert_allclose(ada(x, keys, 0.7), apply_params(x, sampled_params(keys, 0.7)), atol=1e-6)


def test_each_op_is_applied_with_probability_p():
  draws = [sampled_params(example_keys(seed), 0.3) for seed in range(250)]  # 2000 examples
  applied = np.concatenate([np.asarray(d["brightness"]) != 0.0 for d in draws])
  assert abs(applied.mean() - 0.3) < 0.04  # binomial std 0.01
  rotated = np.concatenate([(np.asarray(d["rotate_pre"]) != 0) | (np.asarray(d["rotate_post"]) != 0)
                            for d in draws])
  assert abs(rotated.mean() - 0.3) < 0.04  # pre or post, each with probability 1 - sqrt(1 - p)


# ---------------------------------------------------------------------------------- gradients
@functools.lru_cache
def loss_and_grad(transform):
  """Jitted (x, w, *args) -> (L, grad_x L), L = sum(w * transform(x, *args)); one compile per transform."""
  return jax.jit(jax.value_and_grad(lambda x, w, *args: jnp.sum(w * transform(x, *args))))


def affine_loss_checks(transform, x, *args):
  """`transform` is affine in x for fixed randomness, so L(x) - L(0) = <grad L, x>: the gradient is
  finite, non-zero and exactly the transposed linear part."""
  w = np.random.default_rng(9).normal(size=x.shape).astype(np.float32)
  loss, grad = loss_and_grad(transform)(x, w, *args)
  assert np.all(np.isfinite(grad)) and float(jnp.max(jnp.abs(grad))) > 0.0
  loss_at_zero = loss_and_grad(transform)(np.zeros_like(x), w, *args)[0]
  np.testing.assert_allclose(float(loss - loss_at_zero), float(jnp.sum(grad * x)), rtol=1e-4)


@pytest.mark.parametrize("op", augment.ADA_OPS)
def test_each_ada_op_is_differentiable(op):
  x, params = images(), only(op, sampled_params(example_keys()))
  assert float(jnp.max(jnp.abs(apply_params(x, params) - x))) > 1e-2  # the op does change the images
  affine_loss_checks(apply_params, x, params)


@pytest.mark.parametrize("op", augment.DIFF_AUGMENT_OPS)
def test_each_diff_augment_op_is_differentiable(op):
  u = np.array([0.9, 0.1, 0.8], np.float32)  # shift (1, -1); cutout centre (8, 0); colour factors != 1
  affine_loss_checks(augment._DIFF_AUGMENT_FNS[op], images(batch=1)[0], u)


def full_policy(x, keys):
  return augment.diff_augment(x, keys, FULL_POLICY)


def test_diff_augment_policy_is_differentiable():
  affine_loss_checks(full_policy, images(), example_keys())


# ---------------------------------------------------------------------------- DiffAugment ops
def zero_filled_roll(image, dy, dx):
  """np.roll with the wrapped-around rows and columns zeroed."""
  out = np.roll(image, (dy, dx), axis=(0, 1))
  if dy > 0:
    out[:dy] = 0
  if dy < 0:
    out[dy:] = 0
  if dx > 0:
    out[:, :dx] = 0
  if dx < 0:
    out[:, dx:] = 0
  return out


@pytest.mark.parametrize("shift", [(1, -1), (-2, 3), (0, 0)])
def test_translation_is_a_zero_filled_roll(shift):
  image = np.asarray(images(batch=1)[0])
  np.testing.assert_array_equal(augment._translate(image, jnp.array(shift)), zero_filled_roll(image, *shift))


def test_sampled_translations_cover_one_eighth_of_the_size():
  """8 pixels: shifts in {-1, 0, 1} per axis (their int(8 / 8 + 0.5)); each output is one of the rolls."""
  u = np.random.default_rng(3).uniform(size=(500, 3)).astype(np.float32)
  shifts = np.asarray(jax.jit(jax.vmap(lambda v: augment._translation_shift(v, H, W)))(u))
  assert set(map(tuple, shifts)) == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
  x = images()
  out = np.asarray(diff(x, example_keys(), ("translation",)))
  for b in range(B):
    assert any(np.array_equal(out[b], zero_filled_roll(x[b], dy, dx)) for dy, dx in set(map(tuple, shifts)))


def test_cutout_zeroes_a_half_size_square():
  image = jnp.ones((H, W, 3))
  out = np.asarray(augment._cut_out(image, jnp.array([2, 3])))
  expected = np.ones((H, W, 3))
  expected[2:6, 3:7] = 0.0
  np.testing.assert_array_equal(out, expected)  # (H / 2)^2 = 16 pixels, all channels
  # Sampled squares: centre uniform over [0, 8], so the corner lies in [-2, 6] and may stick out.
  u = np.random.default_rng(4).uniform(size=(500, 3)).astype(np.float32)
  corners = np.asarray(jax.jit(jax.vmap(lambda v: augment._cutout_corner(v, H, W)))(u))
  assert corners.min() == -2 and corners.max() == 6
  count_zeros = jax.jit(jax.vmap(lambda c: jnp.sum(augment._cut_out(image, c)[..., 0] == 0)))
  zeroed = np.asarray(count_zeros(corners))
  inside = np.all((corners >= 0) & (corners <= H - 4), axis=1)
  assert np.all(zeroed[inside] == 16) and np.all(zeroed[~inside] < 16)


def test_diff_color_matches_the_reference_formulas():
  x = np.asarray(images(batch=1)[0], np.float64)
  u = np.array([0.9, 0.25, 0.1])
  y = x + 0.4
  y = (y - y.mean(-1, keepdims=True)) * 0.5 + y.mean(-1, keepdims=True)
  y = (y - y.mean()) * 0.6 + y.mean()
  np.testing.assert_allclose(augment._diff_color(jnp.asarray(x, jnp.float32), jnp.asarray(u)), y, atol=1e-6)
  grey = jnp.asarray(x[..., :1], jnp.float32)  # one channel: saturation is the identity
  np.testing.assert_allclose(augment._diff_color(grey, jnp.array([0.5, 0.0, 0.5])), grey, atol=1e-7)


# ------------------------------------------------------------------------------------ ADA ops
def test_xflip_at_p_one_mirrors_the_width_axis_exactly():
  x, keys = images(), example_keys()
  out = np.asarray(ada(x, keys, 1.0, ops=("xflip",)))
  flips = np.asarray(sampled_params(keys)["xflip"])
  assert 0 < flips.sum() < B
  for b in range(B):
    np.testing.assert_array_equal(out[b], np.asarray(x)[b, :, ::-1] if flips[b] else x[b])


def test_quarter_turns_are_exact_rot90():
  x, params = np.asarray(images()), only("rotate90", sampled_params(example_keys()))
  out, turns = np.asarray(apply_params(x, params)), np.asarray(params["rotate90"]).astype(int)
  assert len(set(turns)) >= 3
  for b in range(B):
    np.testing.assert_array_equal(out[b], np.rot90(x[b], turns[b], axes=(0, 1)))


def test_integer_translation_pads_by_reflection():
  x, params = np.asarray(images()), only("int_translation", sampled_params(example_keys()))
  out, shifts = np.asarray(apply_params(x, params)), np.asarray(params["int_translation"]).astype(int)
  assert np.abs(shifts).max() == 1 and np.any(shifts != 0)  # round(U(-1/8, 1/8) * 8)
  for b, (tx, ty) in enumerate(shifts):
    padded = np.pad(x[b], ((1, 1), (1, 1), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(out[b], padded[1 - ty:1 - ty + H, 1 - tx:1 - tx + W])


def rotation(theta):
  return np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])


HAND_INVERSE = {  # output -> input pixel map of each general geometric op, from the paper's definitions
    "scale": lambda p: np.diag([1 / p["scale"], 1 / p["scale"], 1]),
    "rotate": lambda p: rotation(p["rotate_pre"] + p["rotate_post"]),
    "aniso": lambda p: np.diag([1 / p["aniso"], p["aniso"], 1]),
    "frac_translation": lambda p: np.array([[1, 0, -p["frac_translation"][0]],
                                            [0, 1, -p["frac_translation"][1]], [0, 0, 1]]),
}


@pytest.mark.parametrize("op", sorted(HAND_INVERSE))
def test_general_geometric_ops_on_a_linear_ramp(op):
  """Bilinear sampling reproduces a linear image a*row + b*col + c exactly wherever the source pixel
  lies inside the image, so the output there is the ramp at the hand-computed source coordinates."""
  rows, cols = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
  ramp = np.broadcast_to((0.3 * rows - 0.2 * cols + 0.1)[None, ..., None], (B, H, W, 3)).astype(np.float32)
  params = only(op, sampled_params(example_keys()))
  out = np.asarray(apply_params(ramp, params))
  c = (W - 1) / 2
  checked = 0
  for b in range(B):
    inverse = HAND_INVERSE[op]({name: np.asarray(v[b], np.float64) for name, v in params.items()})
    src = np.einsum("ij,jhw->ihw", inverse, np.stack([cols - c, rows - c, np.ones_like(rows)]))
    src_x, src_y = src[0] + c, src[1] + c
    inside = (src_x >= 0) & (src_x <= W - 1) & (src_y >= 0) & (src_y <= H - 1)
    np.testing.assert_allclose(out[b, ..., 0][inside], (0.3 * src_y - 0.2 * src_x + 0.1)[inside], atol=1e-5)
    checked += inside.sum()
  assert checked > B * H * W / 4


def color_only(op, channels):
  x, params = images(channels), only(op, sampled_params(example_keys()))
  out = np.asarray(apply_params(x, params))
  return np.asarray(x, np.float64), out, {name: np.asarray(value) for name, value in params.items()}


@pytest.mark.parametrize("channels", [3, 1])
def test_brightness_adds_a_constant_and_contrast_scales_around_zero(channels):
  x, out, params = color_only("brightness", channels)
  b = params["brightness"][:, None, None, None]
  assert np.any(b != 0)
  np.testing.assert_allclose(out, x + b, atol=1e-6)  # the same constant on every pixel and channel
  x, out, params = color_only("contrast", channels)
  np.testing.assert_allclose(out, x * params["contrast"][:, None, None, None], atol=1e-5)


def test_lumaflip_reflects_through_the_grey_plane():
  x, out, params = color_only("lumaflip", 3)
  flip = params["lumaflip"][:, None, None, None]
  assert 0 < flip.sum() < B
  np.testing.assert_allclose(out, x - flip * 2 / 3 * x.sum(-1, keepdims=True), atol=1e-5)  # I - 2 v v^T
  x, out, params = color_only("lumaflip", 1)
  np.testing.assert_allclose(out, x * (1 - 2 * params["lumaflip"][:, None, None, None]), atol=1e-6)


def test_hue_and_saturation_keep_luma_and_are_the_identity_on_grey():
  x, out, params = color_only("saturation", 3)
  mean = x.mean(-1, keepdims=True)
  np.testing.assert_allclose(out, mean + params["saturation"][:, None, None, None] * (x - mean), atol=1e-5)
  x, out, _ = color_only("hue", 3)  # a rotation around the grey axis: luma and chroma norm unchanged
  np.testing.assert_allclose(out.sum(-1), x.sum(-1), atol=1e-5)
  np.testing.assert_allclose(np.linalg.norm(out - out.mean(-1, keepdims=True), axis=-1),
                             np.linalg.norm(x - x.mean(-1, keepdims=True), axis=-1), atol=1e-5)
  for op in ("hue", "saturation"):
    x, out, _ = color_only(op, 1)
    np.testing.assert_allclose(out, x, atol=1e-6)


# ----------------------------------------------------------------------- ADA's p and consistency
def test_ada_update_moves_p_by_the_exact_step_and_clips():
  step = 64 * 4 / 500_000  # batch 64, adjusted every 4 steps: 0 -> 1 in 500k images
  kwargs = dict(batch_size=64, interval=4)
  np.testing.assert_allclose(float(augment.ada_update(0.5, 0.8, **kwargs)), 0.5 + step, rtol=1e-6)
  np.testing.assert_allclose(float(augment.ada_update(0.5, 0.1, **kwargs)), 0.5 - step, rtol=1e-6)
  assert float(augment.ada_update(0.5, 0.6, **kwargs)) == 0.5  # r_t on target: no change
  assert float(augment.ada_update(0.0, 0.1, **kwargs)) == 0.0
  assert float(augment.ada_update(0.9999, 0.9, **kwargs)) == 1.0
  moved = augment.ada_update(0.2, 0.5, target=0.4, batch_size=32, interval=1, kimg=100)
  np.testing.assert_allclose(float(moved), 0.2 + 32 / 100_000, rtol=1e-6)


def test_overfitting_heuristic_is_the_mean_sign():
  assert float(augment.overfitting_heuristic(jnp.array([2.0, -1.0, 0.5, 3.0]))) == 0.5
  assert float(augment.overfitting_heuristic(jnp.array([[-2.0], [0.0]]))) == -0.5


def test_consistency_penalty_on_hand_numbers():
  logits, augmented = jnp.array([1.0, 2.0, 3.0]), jnp.array([1.5, 2.0, 1.0])
  expected = (0.25 + 0.0 + 4.0) / 3
  np.testing.assert_allclose(float(augment.consistency_penalty(logits, augmented)), expected, rtol=1e-6)
  column = augment.consistency_penalty(logits[:, None], augmented[:, None])  # (B, 1) logits: the same
  np.testing.assert_allclose(float(column), expected, rtol=1e-6)
  grad = jax.grad(augment.consistency_penalty)(logits, augmented)  # through D(x) too: 2 (a - b) / n
  np.testing.assert_allclose(grad, 2 * (logits - augmented) / 3, rtol=1e-6)
