"""Latent interpolation of a trained image run: a PNG grid or an animated GIF.

  python scripts/interpolate.py --workdir=DIR --output=FILE.png|FILE.gif [--num_rows=8] [--num_steps=10]
      [--seed=0] [--checkpoint_step=S | --best] [--frame_ms=120] [--scale=K]

Draws 2 x num_rows latents from --seed (the run's own noise distribution, N(0, I)) and, for each pair,
num_steps points from the first to the second by spherical interpolation (slerp; White 2016, "Sampling
Generative Networks", arXiv:1609.04468): the direction moves along the great circle between the two
latents' directions at constant angular speed and the norm moves linearly between their norms, so
every point stays where Gaussian latents live (a straight line between two draws passes near the
origin, where the generator saw almost no latents). Images come from the generator that sampling uses
(EMA when the run has EMA), as in scripts/sample.py. Class-conditional runs keep one class per row:
row r shows class r mod num_classes.

PNG: rows = pairs of latents, columns = interpolation steps (each image pixel shown K x K, --scale;
default: the smallest K that makes a cell at least 32 px). GIF: one frame per
step, there and back (2 * num_steps - 2 frames, looping), each frame the num_rows images tiled in a
square-ish grid. Runs whose generator does not output images (the 2D toys) and translation families
(pix2pix, CycleGAN: no latent to interpolate) are refused with one `error:` line, exit status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from gan.errors import UserError  # noqa: E402

FORMATS = (".png", ".gif")


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Points (len(t), D) between vectors `a` and `b` (D,): the direction by spherical linear
  interpolation of a/|a| and b/|b| (angle t * Omega from a's, Omega the angle between them), the norm
  (1 - t)|a| + t|b|. t = 0 gives `a`, t = 1 gives `b`. Nearly parallel directions (Omega < 1e-6) fall
  back to linear interpolation of the directions; opposite ones (no unique great circle; probability
  zero for Gaussian draws) raise ValueError."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t = np.asarray(t, np.float64)[:, None]
  na, nb = np.linalg.norm(a), np.linalg.norm(b)
  if na == 0 or nb == 0:
    return (1 - t) * a + t * b
  ua, ub = a / na, b / nb
  omega = math.acos(float(np.clip(ua @ ub, -1.0, 1.0)))
  if math.pi - omega < 1e-6:
    raise ValueError("slerp between opposite directions is not unique")
  if omega < 1e-6:
    direction = (1 - t) * ua + t * ub
  else:
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / math.sin(omega)
  direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
  return direction * ((1 - t) * na + t * nb)


def latent_paths(z_start: np.ndarray, z_end: np.ndarray, num_steps: int) -> np.ndarray:
  """(rows, num_steps, D): slerp from each row of `z_start` to the same row of `z_end`."""
  t = np.linspace(0.0, 1.0, num_steps)
  return np.stack([slerp(a, b, t) for a, b in zip(z_start, z_end)])


def check_run(config, meta) -> None:
  """UserError unless the run maps noise to images (the image family on image data)."""
  from gan import families  # pylint: disable=g-import-not-at-top
  family = families.name_of(config)
  if family != families.DEFAULT:
    raise UserError(f"this run is the {family!r} family (image-to-image translation): it has no latent "
                    "to interpolate; scripts/translate.py shows its translations")
  if meta.get("kind") != "images" or len(meta.get("example_shape", ())) != 3:
    raise UserError(f"this run's generator outputs {meta.get('kind', 'no images')} of shape "
                    f"{tuple(meta.get('example_shape', ()))} (data.name={config.data.name!r}), not images; "
                    "scripts/sample.py writes its samples")


def interpolate(workdir: str, num_rows: int, num_steps: int, seed: int = 0, step: int | None = None,
                best: bool = False) -> tuple[np.ndarray, int]:
  """Images (num_rows, num_steps, H, W, C) in [-1, 1] along slerp paths, and the checkpoint's step."""
  import jax  # pylint: disable=g-import-not-at-top
  from gan import sampling  # pylint: disable=g-import-not-at-top
  config, meta, game, state = sampling.load_run(workdir, step, best=best)
  check_run(config, meta)
  z, _ = game.sample_latents(jax.random.PRNGKey(seed), 2 * num_rows)
  z = np.asarray(z)
  paths = latent_paths(z[:num_rows], z[num_rows:], num_steps).astype(np.float32)
  rows = np.arange(num_rows) % game.num_classes if game.num_classes else np.zeros(num_rows, int)
  labels = np.repeat(rows, num_steps).astype(np.int32)
  generate = jax.jit(lambda p, c, z, y: game.generate(p, c, z, y, train=False))
  images = np.asarray(generate(sampling.sampling_params(config, state), state.g_collections,
                               paths.reshape(num_rows * num_steps, -1), labels), np.float32)
  return images.reshape(num_rows, num_steps, *images.shape[1:]), int(state.step)


def write(images: np.ndarray, output: str, frame_ms: int = 120, scale: int | None = None) -> str:
  """Writes the (rows, steps, H, W, C) images as a PNG grid or a looping there-and-back GIF."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from gan import plotting  # pylint: disable=g-import-not-at-top
  rows, steps = images.shape[:2]
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  if output.lower().endswith(".png"):
    return plotting.save_image_grid(images.reshape(rows * steps, *images.shape[2:]), output, ncols=steps,
                                    upscale=scale)
  order = list(range(steps)) + list(range(steps - 2, 0, -1))  # there and back, no repeated ends
  ncols = math.ceil(math.sqrt(rows))
  frames = []
  for k in order:
    grid = plotting.image_grid(images[:, k], ncols=ncols, upscale=scale)
    frames.append(Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid))
  frames[0].save(output, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                 optimize=False)
  return output


def main(argv=None) -> int:
  parser = _Parser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="the run's directory (gan.main's --workdir)")
  parser.add_argument("--output", required=True, help="FILE.png (grid) or FILE.gif (animation)")
  parser.add_argument("--num_rows", type=int, default=8, help="pairs of latents (rows / images per frame)")
  parser.add_argument("--num_steps", type=int, default=10, help="points per path, both ends included")
  parser.add_argument("--seed", type=int, default=0, help="seed of the latents")
  parser.add_argument("--checkpoint_step", type=int, default=None, help="checkpoint step (default: latest)")
  parser.add_argument("--best", action="store_true", help="use the best checkpoint (DIR/best/)")
  parser.add_argument("--frame_ms", type=int, default=120, help="GIF: milliseconds per frame")
  parser.add_argument("--scale", type=int, default=None, help="screen pixels per image pixel (default: cells >= 32 px)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if not args.output.lower().endswith(FORMATS):
    parser.error(f"--output={args.output!r} must end in .png or .gif")
  if args.num_rows < 1 or args.num_steps < 2 or args.frame_ms < 1 or (args.scale is not None and args.scale < 1):
    parser.error("--num_rows must be >= 1, --num_steps >= 2, --frame_ms >= 1 and --scale >= 1")
  if not os.path.isdir(args.workdir):
    parser.error(f"--workdir={args.workdir!r} does not exist")
  from absl import logging  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.WARNING)  # orbax's INFO lines; an error stays one line
  try:
    images, step = interpolate(args.workdir, args.num_rows, args.num_steps, args.seed, args.checkpoint_step,
                               args.best)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  path = write(images, args.output, args.frame_ms, args.scale)
  print(f"wrote {args.num_rows} paths x {args.num_steps} steps of step {step} to {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
