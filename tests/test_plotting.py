"""gan.plotting writes PNGs of the expected size and values."""
import os

import numpy as np
import pytest
from PIL import Image

from gan.plotting import image_grid, save_image_grid, save_scatter, save_titled_grids


def _open(path):
  """The PNG at `path`, read fully and closed (format kept)."""
  with Image.open(path) as im:
    im.load()
    out = im.copy()
    out.format = im.format
  return out


def test_grid_size_gray(tmp_path):
  images = np.zeros((10, 8, 8, 1), np.float32)
  path = save_image_grid(images, str(tmp_path / "sub" / "grid.png"), ncols=4, upscale=3, padding=2)
  assert os.path.exists(path)
  img = _open(path)
  assert img.mode == "L"
  # 4 columns, 3 rows of 24 px cells, 2 px padding between and around.
  assert img.size == (4 * 24 + 5 * 2, 3 * 24 + 4 * 2)


def test_auto_upscale_makes_cells_at_least_32px(tmp_path):
  images = np.zeros((4, 8, 8, 1), np.float32)
  img = _open(save_image_grid(images, str(tmp_path / "g.png"), upscale=None, padding=1))
  assert img.size == (2 * 32 + 3, 2 * 32 + 3)
  big = np.zeros((1, 32, 32, 3), np.float32)
  assert _open(save_image_grid(big, str(tmp_path / "b.png"), upscale=None, padding=1)).size == (34, 34)


def test_pixel_values_gray(tmp_path):
  image = np.array([[-1.0, 1.0], [0.0, 2.0]], np.float32).reshape(1, 2, 2, 1)
  img = np.asarray(_open(save_image_grid(image, str(tmp_path / "p.png"), upscale=2, padding=1)))
  assert img.shape == (6, 6)
  cell = img[1:5, 1:5]
  np.testing.assert_array_equal(cell[:2, :2], 0)      # -1 -> 0
  np.testing.assert_array_equal(cell[:2, 2:], 255)    # 1 -> 255
  np.testing.assert_array_equal(cell[2:, :2], 128)    # 0 -> 127.5, rounded
  np.testing.assert_array_equal(cell[2:, 2:], 255)    # clipped


def test_pixel_values_rgb(tmp_path):
  image = np.zeros((2, 3, 3, 3), np.float32)
  image[0, ..., 0] = 1.0
  image[0, ..., 1:] = -1.0
  image[1] = -1.0
  img = _open(save_image_grid(image, str(tmp_path / "rgb.png"), ncols=2, padding=1))
  assert img.mode == "RGB"
  arr = np.asarray(img)
  assert arr.shape == (5, 9, 3)
  np.testing.assert_array_equal(arr[1:4, 1:4], np.broadcast_to([255, 0, 0], (3, 3, 3)))
  np.testing.assert_array_equal(arr[1:4, 5:8], 0)


def test_grid_layout_order():
  images = np.stack([np.full((1, 1, 1), v) for v in (-1.0, 1.0, 1.0)])
  grid = image_grid(images, ncols=2, upscale=1, padding=1, pad_value=50)
  assert grid.shape == (5, 5, 1)
  assert grid[1, 1, 0] == 0 and grid[1, 3, 0] == 255 and grid[3, 1, 0] == 255
  assert grid[3, 3, 0] == 50 and grid[0, 0, 0] == 50  # unused cell and border are padding


def test_scatter_writes_png(tmp_path):
  rng = np.random.default_rng(0)
  centers = np.array([[0.0, 2.0], [2.0, 0.0]])
  path = save_scatter(rng.normal(size=(500, 2)), str(tmp_path / "a" / "s.png"), centers=centers,
                      title="step 0", lim=3.0)
  assert os.path.getsize(path) > 1000
  img = _open(path)
  assert img.format == "PNG" and img.size[0] > 100 and img.size[1] > 100
  assert save_scatter(np.zeros((0, 2)), str(tmp_path / "empty.png")) == str(tmp_path / "empty.png")


def test_titled_grids_stack_each_grid_under_its_title(tmp_path):
  first, second = np.ones((3, 8, 8, 1), np.float32), -np.ones((5, 8, 8, 1), np.float32)
  path = save_titled_grids([("white", first), ("black", second)], str(tmp_path / "t.png"), ncols=4, upscale=2)
  img = np.asarray(_open(path).convert("L"))
  grids = [image_grid(x, ncols=4, upscale=2, padding=4) for x in (first, second)]
  assert img.shape == (sum(g.shape[0] + 30 for g in grids), max(g.shape[1] for g in grids))
  assert img[30 + 4:30 + 20, 4:20].min() == 255  # the first grid's first (white) image, below its title
  assert img[30 + grids[0].shape[0] + 30 + 4:, 4:20].max() == 0  # the second grid's black images
  assert img[:30].min() < 128 and img[:30].max() == 255  # a title: dark text on white


def test_bar_panels_size_rows_and_log_axis(tmp_path):
  from gan.plotting import save_bar_panels
  panels = [{"title": "reverse_kl", "lower_is_better": True, "mean": [1e-4, 2e-3, 1.4], "std": [1e-5, None, 1.2],
             "points": [[9e-5, 1.1e-4], [], [0.2, 2.6]]},
            {"title": "modes", "lower_is_better": False, "mean": [8, 8, 2.7], "std": [0, 0, 4.6]}]
  path = save_bar_panels(["hinge", "minimax", "wasserstein"], panels, str(tmp_path / "b.png"), note="a note",
                         width_px=900, dpi=100)
  img = _open(path)
  assert img.format == "PNG" and img.size == (900, int(round((1.3 + 0.3 * 3 + 0.3) * 100)))
  arr = np.asarray(img.convert("RGB")).astype(int)
  bar = (abs(arr[..., 0] - 0x4C) < 40) & (abs(arr[..., 2] - 0xB0) < 40) & (arr[..., 2] - arr[..., 0] > 60)
  rows = np.flatnonzero(bar.any(axis=1))
  bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
  assert len(bands) == 3  # one bar per label, the rows shared by both panels
  with pytest.raises(ValueError):
    save_bar_panels([], panels, str(tmp_path / "e.png"))
