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


def _figure(width_in: float, height_in: float, dpi: int):
  """A matplotlib Figure on its own Agg canvas (pyplot's global state is left alone)."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  fig = Figure(figsize=(width_in, height_in), dpi=dpi)
  FigureCanvasAgg(fig)
  return fig


def save_bar_panels(labels: list[str], panels: list[dict], path: str, *, note: str = "",
                    width_px: int = 1000, dpi: int = 100) -> str:
  """Horizontal bar charts side by side, one row per label, sharing the rows (top row first).

  `panels`: one dict per metric with `title`, `lower_is_better` (bool), `mean` (one value per label,
  NaN when missing), `std` (per label, NaN/None for none) and optionally `points` (per label, a list of
  single values drawn as dots, e.g. one per seed). A panel whose positive means span more than two
  decades gets a logarithmic axis. Error bars stop at 0 (or at the log axis' left end). Sized for
  `width_px` pixels at `dpi` (the width at which GitHub shows a README image is about 900 px), so the
  text stays legible there. `note` goes under the panels.
  """
  n, k = len(labels), len(panels)
  if n == 0 or k == 0:
    raise ValueError("nothing to plot")
  label_in = min(3.6, 0.6 + 0.075 * max(len(s) for s in labels))
  width_in = width_px / dpi
  height_in = 1.3 + 0.3 * n + (0.3 if note else 0.0)
  fig = _figure(width_in, height_in, dpi)
  bottom_in = 0.5 + (0.3 if note else 0.0)
  gap_in = 0.5
  panel_in = (width_in - label_in - 0.2 - gap_in * (k - 1)) / k
  y = np.arange(n)
  for j, panel in enumerate(panels):
    left = (label_in + j * (panel_in + gap_in)) / width_in
    ax = fig.add_axes((left, bottom_in / height_in, panel_in / width_in, (height_in - bottom_in - 0.75) / height_in))
    mean = np.asarray(panel["mean"], np.float64)
    std = np.asarray([np.nan if s is None else s for s in panel.get("std", [None] * n)], np.float64)
    points = panel.get("points") or [[] for _ in range(n)]
    finite = mean[np.isfinite(mean)]
    log = finite.size > 1 and finite.min() > 0 and finite.max() / finite.min() > 100
    floor = 0.0
    if log:
      ax.set_xscale("log")
      low = min([finite.min()] + [p for pts in points for p in pts if p > 0])
      floor = 10 ** np.floor(np.log10(low / 2))
    drawn = np.where(np.isfinite(mean), mean, floor)
    lower = np.where(np.isfinite(std), np.minimum(std, np.maximum(drawn - floor, 0)), 0)
    upper = np.where(np.isfinite(std), std, 0)
    ax.barh(y, drawn - floor, left=floor, height=0.7, color="#4C72B0", alpha=0.85, zorder=2)
    if np.any(upper > 0):
      ax.errorbar(drawn, y, xerr=[lower, upper], fmt="none", ecolor="#222222", elinewidth=1.2,
                  capsize=3, zorder=3)
    for i, pts in enumerate(points):
      if len(pts):
        ax.plot(np.maximum(np.asarray(pts, np.float64), floor if log else -np.inf), np.full(len(pts), i),
                "o", ms=3.5, mfc="white", mec="#222222", mew=0.9, zorder=4)
    if log:
      ax.set_xlim(left=floor)
    elif finite.size and finite.min() >= 0:
      ax.set_xlim(left=0)
    ax.set_ylim(n - 0.5, -0.5)  # first label on top
    ax.set_yticks(y)
    ax.set_yticklabels(labels if j == 0 else [], fontsize=11)
    ax.tick_params(axis="x", labelsize=10)
    if not log:
      from matplotlib.ticker import MaxNLocator  # pylint: disable=g-import-not-at-top
      ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.grid(axis="x", color="#dddddd", zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
      ax.spines[side].set_visible(False)
    better = "← better" if panel["lower_is_better"] else "better →"
    ax.set_title(f"{panel['title']}\n{better}", fontsize=12, loc="center")
  if note:
    fig.text(0.01, 0.12 / height_in, note, fontsize=10, color="#444444", ha="left", va="bottom")
  _ensure_parent(path)
  fig.savefig(path, format="png", dpi=dpi, facecolor="white")
  return path
