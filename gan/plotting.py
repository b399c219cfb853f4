"""PNG output for samples: image grids (PIL) and 2D scatter plots (matplotlib, Agg)."""
from __future__ import annotations

import math
import os

import numpy as np

_MIN_CELL_PX = 32


def _ensure_parent(path: str) -> None:
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)


def image_grid(images: np.ndarray, ncols: int | None = None, upscale: int | None = None,
               padding: int = 2, pad_value: int = 0) -> np.ndarray:
  """Tile images (N, H, W, C) in [-1, 1] into a uint8 (rows, cols, C) array.

  Values map linearly -1 -> 0 and 1 -> 255 (clipped). Each image is enlarged `upscale` times by
  nearest-neighbour repetition; with `upscale=None` the smallest factor making each cell at least
  32 px on its shorter side is chosen (4 for 8x8 digits, 1 for 32x32 and larger). `padding` pixels
  of `pad_value` separate the cells and surround the grid. `ncols` defaults to ceil(sqrt(N)).
  """
  images = np.asarray(images, np.float32)
  if images.ndim == 3:
    images = images[..., None]
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"expected images of shape (N, H, W, 1|3), got {images.shape}")
  n, h, w, c = images.shape
  if n == 0:
    raise ValueError("no images to tile")
  if upscale is None:
    upscale = max(1, math.ceil(_MIN_CELL_PX / min(h, w)))
  if upscale < 1:
    raise ValueError(f"upscale must be >= 1, got {upscale}")
  ncols = int(ncols or math.ceil(math.sqrt(n)))
  ncols = max(1, min(ncols, n))
  nrows = math.ceil(n / ncols)
  pixels = np.rint((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
  if upscale > 1:
    pixels = pixels.repeat(upscale, axis=1).repeat(upscale, axis=2)
  ch, cw = h * upscale, w * upscale
  grid = np.full((nrows * (ch + padding) + padding, ncols * (cw + padding) + padding, c),
                 pad_value, np.uint8)
  for i in range(n):
    r, col = divmod(i, ncols)
    top, left = padding + r * (ch + padding), padding + col * (cw + padding)
    grid[top:top + ch, left:left + cw] = pixels[i]
  return grid


def save_image_grid(images: np.ndarray, path: str, ncols: int | None = None,
                    upscale: int | None = 1, padding: int = 2) -> str:
  """Write images (N, H, W, C) in [-1, 1] as a PNG grid (gray for C=1, RGB for C=3); returns `path`.

  See `image_grid` for layout; `upscale=None` picks a factor so each cell is >= 32 px.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  grid = image_grid(images, ncols=ncols, upscale=upscale, padding=padding)
  _ensure_parent(path)
  # 2D uint8 -> mode "L", (H, W, 3) uint8 -> mode "RGB".
  Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path, format="PNG")
  return path


def save_titled_grids(panels: list[tuple[str, np.ndarray]], path: str, ncols: int = 4, upscale: int = 2) -> str:
  """Write a PNG of image grids stacked vertically, each under its title: `panels` = [(title, images
  (N, H, W, C) in [-1, 1])], each tiled `ncols` to a row (`image_grid`, each pixel shown `upscale` x
  `upscale`), at one screen pixel per grid pixel."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  grids = [image_grid(images, ncols=ncols, upscale=upscale, padding=4) for _, images in panels]
  dpi, title_px = 100, 30
  width = max(g.shape[1] for g in grids)
  height = sum(g.shape[0] + title_px for g in grids)
  fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
  FigureCanvasAgg(fig)
  top = 1.0
  for (title, _), grid in zip(panels, grids):
    h = grid.shape[0] / height
    ax = fig.add_axes((0, top - title_px / height - h, grid.shape[1] / width, h))
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_axis_off()
    fig.text(0.01, top - 4 / height, title, ha="left", va="top", fontsize=12)
    top -= (grid.shape[0] + title_px) / height
  _ensure_parent(path)
  fig.savefig(path, format="png", dpi=dpi, facecolor="white")
  return path


def save_scatter(samples: np.ndarray, path: str, centers: np.ndarray | None = None,
                 title: str | None = None, lim: float | None = None) -> str:
  """Write a scatter plot of 2D `samples` (N, 2) as a PNG; `centers` (K, 2) drawn as red crosses.

  Axes are equal-aspect and span [-lim, lim] when `lim` is given. Uses matplotlib's object API with
  an Agg canvas, so the global pyplot backend and figure registry are left untouched.
  """
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  samples = np.asarray(samples, np.float32).reshape(-1, 2)
  fig = Figure(figsize=(5, 5), dpi=100)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, linewidths=0, c="tab:blue")
  if centers is not None:
    centers = np.asarray(centers, np.float32).reshape(-1, 2)
    ax.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", c="red", linewidths=1.5)
  if lim is not None:
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
  ax.set_aspect("equal")
  if title:
    ax.set_title(title)
  fig.tight_layout()
  _ensure_parent(path)
  fig.savefig(path, format="png")
  return path
