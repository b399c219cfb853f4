"""CycleGAN's history of generated images (Zhu et al. 2017, Sec. 4; Shrivastava et al. 2017, Sec. 2.3):
D is updated on a mix of the newest fakes and fakes from earlier generators, which reduces model
oscillation.

Semantics of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix, util/image_pool.py
`ImagePool.query`), applied to the images of a batch one after the other: while the pool holds fewer
than `size` images, an image is stored and returned as it is; once it is full, with probability 1/2
the image is returned as it is, and otherwise a uniformly chosen stored image is returned and the new
image takes its place. Size 0 returns every image as it is.

The pool is part of the train state (`{"images": (size, H, W, C), "count": int32}`), so it is
checkpointed and resumes bit-exactly. Device-count invariance: each device gathers the global batch
(in global order), every device runs the same scan over it with one key per example folded from the
example's global index, and keeps its own rows of the result; so the pool and the images D sees do
not depend on the number of devices.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from gan import players


def init(size: int, example_shape) -> dict:
  """An empty pool for `size` images of `example_shape`; size 0 (no history) holds only its count, since
  orbax cannot checkpoint a zero-size array."""
  count = {"count": jnp.zeros((), jnp.int32)}
  return {"images": jnp.zeros((size, *example_shape), jnp.float32), **count} if size else count


def _query_one(pool, image_and_key):
  """One image through the pool: `(new pool, image to show D)`."""
  (images, count), (image, key) = pool, image_and_key
  size = images.shape[0]
  swap_key, index_key = jax.random.split(key)
  filling = count < size
  swap = jnp.logical_and(~filling, jax.random.uniform(swap_key) > 0.5)  # reference: p > 0.5
  index = jnp.where(filling, count, jax.random.randint(index_key, (), 0, size))
  shown = jnp.where(swap, images[index], image)
  store = jnp.logical_or(filling, swap)
  images = images.at[index].set(jnp.where(store, image, images[index]))
  return (images, count + filling.astype(jnp.int32)), shown


def query(pool: dict, images, key, global_batch: int, axis_name: str | None):
  """`(images for D, new pool)`: this device's rows `images` (of a global batch of `global_batch`)
  passed through the pool in global order, with randomness from `key` folded with each global index."""
  if "images" not in pool:  # size 0
    return images, pool
  everyone = players.gather_batch(images, axis_name)
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(global_batch))
  (stored, count), shown = lax.scan(_query_one, (pool["images"], pool["count"]), (everyone, keys))
  return players.local_rows(shown, images.shape[0], axis_name), {"images": stored, "count": count}
