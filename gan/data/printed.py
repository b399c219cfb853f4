"""Printed digits in the style of scikit-learn's handwritten 8x8 digits: the "printed" domain of the
unpaired printed -> handwritten translation task (gan/data/translation.py).

The handwritten digits (`sklearn.datasets.load_digits`) are the test part of the UCI "Optical
Recognition of Handwritten Digits" set (optdigits; E. Alpaydin, C. Kaynak, 1998,
https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits): NIST's
preprocessing programs (Garris et al., "NIST Form-Based Handprint Recognition System", NISTIR 5469,
1994) extracted a size-normalised binary 32x32 bitmap of each digit, and the number of "on" pixels in
each of its 64 non-overlapping 4x4 blocks gives the 8x8 image, values 0..16. We render printed digits
through the same last step, so that the two domains differ in style only:

1. draw the digit (white on black) with a random font from `FONT_FILES` and a random extra stroke
   width, at `RENDER_SIZE` pixels per em, and crop it to its ink;
2. map it into the 32x32 box by a random scale, rotation and translation (below), 4x supersampled,
   and binarise each pixel at half coverage: the 32x32 bitmap;
3. count the on pixels of each 4x4 block (0..16) and scale like `gan.data.builtin.load_digits`:
   count / 8 - 1, in [-1, 1].

Size and position follow what we measured on the 1,797 scikit-learn digits: every one of them
touches the top and the bottom row of the 8x8 image (NIST scaled the height to the box), 77% are 6
blocks wide (mean width 5.9 blocks; 5.3 for ones), the horizontal centre is near the box's (mean
column 3.59 of 0..7, 3.48-3.76 per class), and on average 312 of the 1,024 bitmap pixels are on (thick
strokes). The default ranges, each drawn uniformly per digit:
- `HEIGHT_FRACTION` (0.94, 1.0): height of the rotated digit's bounding box as a fraction of the
  32-pixel box;
- `WIDTH_STRETCH` (0.85, 1.1): horizontal stretch over the font's own aspect ratio; a digit is never
  wider than the box;
- `ROTATION_DEGREES` (-8, 8): rotation about the digit's centre (positive: counter-clockwise);
- `MAX_SHIFT` 1.5: translation of the centre, in bitmap pixels along each axis, at most the slack
  that keeps the bounding box inside the 32x32 box;
- `STROKE_WIDTH` 0..2: integer extra outline (PIL's `stroke_width`) at `RENDER_SIZE`, i.e. up to
  about 1.4 bitmap pixels thicker on each side.
With these, on 3,000 digits: 99.97% touch the top and bottom rows, the mean centre is column 3.51,
mean width 6.0 blocks (5.4 for ones), 323 pixels on; the project's digits classifier (trained on the
handwritten digits) labels 75% of them correctly (chance: 10%); the rest differ in style (printed
ones have a foot, printed sixes and nines open strokes, ...).

The fonts are the DejaVu families that ship inside matplotlib (`matplotlib.get_data_path()/fonts/ttf`;
DejaVu fonts, Bitstream Vera licence, https://dejavu-fonts.github.io): Sans, Serif and Sans Mono, each
regular, bold, oblique/italic and bold oblique/italic (12 files).

Digit `i` of `render_printed_digits(num, seed)` is a function of (seed, i) only (its generator is
`numpy.random.default_rng([seed, i])`, its label `i % 10`), so the first k digits are the same for
any num >= k. 3,000 digits take about a second (the glyphs are rendered once per process).
"""
from __future__ import annotations

import functools
import os

import numpy as np

from gan.errors import UserError

FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
)
RENDER_SIZE = 64  # font size in pixels (per em) of the cached glyph images
BOX = 32  # the bitmap's side, as optdigits
BLOCK = 4  # 4x4 blocks: 8x8 counts 0..16
SUPERSAMPLE = 4  # the 32x32 bitmap is the half-coverage threshold of a 128x128 rendering
HEIGHT_FRACTION = (0.94, 1.0)
WIDTH_STRETCH = (0.85, 1.1)
ROTATION_DEGREES = (-8.0, 8.0)
MAX_SHIFT = 1.5
STROKE_WIDTH = (0, 2)  # inclusive integer range


def font_path(name: str) -> str:
  """Path of font file `name` in matplotlib's bundled TrueType fonts."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)
  if not os.path.isfile(path):
    raise UserError(f"{path}: font file not found (printed digits use matplotlib's DejaVu fonts)")
  return path


@functools.lru_cache(maxsize=None)
def _glyph(font: str, digit: int, stroke: int) -> np.ndarray:
  """Ink coverage in [0, 1] of `digit` in `font` with extra `stroke` width, cropped to its ink."""
  from PIL import Image, ImageDraw, ImageFont  # pylint: disable=g-import-not-at-top
  face = ImageFont.truetype(font_path(font), RENDER_SIZE)
  side = 2 * RENDER_SIZE
  image = Image.new("L", (side, side), 0)
  ImageDraw.Draw(image).text((side // 4, side // 8), str(digit), fill=255, font=face, stroke_width=stroke,
                             stroke_fill=255)
  ink = np.asarray(image, np.float32) / 255.0
  rows, cols = np.nonzero(ink > 0.5)
  ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
  ink.flags.writeable = False
  return ink


def _draw_params(rng: np.random.Generator, glyph_shape: tuple[int, int]):
  """Scales (sx, sy), rotation (radians) and shift (dx, dy) that place a glyph of `glyph_shape`."""
  h, w = glyph_shape
  angle = np.deg2rad(rng.uniform(*ROTATION_DEGREES))
  stretch = rng.uniform(*WIDTH_STRETCH)
  cos, sin = abs(np.cos(angle)), abs(np.sin(angle))
  # Ink extent after scaling by (stretch * s, s) and rotating, per unit s.
  width, height = stretch * w * cos + h * sin, stretch * w * sin + h * cos
  s = min(rng.uniform(*HEIGHT_FRACTION) * BOX / height, BOX / width)
  slack_x, slack_y = (BOX - s * width) / 2, (BOX - s * height) / 2
  dx = rng.uniform(-1, 1) * min(MAX_SHIFT, max(slack_x, 0.0))
  dy = rng.uniform(-1, 1) * min(MAX_SHIFT, max(slack_y, 0.0))
  return (stretch * s, s), angle, (dx, dy)


def render_bitmap(rng: np.random.Generator, digit: int) -> np.ndarray:
  """One binary (32, 32) bool bitmap of `digit` (True: ink), its style drawn from `rng`."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  font = FONT_FILES[rng.integers(len(FONT_FILES))]
  glyph = _glyph(font, digit, int(rng.integers(STROKE_WIDTH[0], STROKE_WIDTH[1] + 1)))
  (sx, sy), angle, (dx, dy) = _draw_params(rng, glyph.shape)
  side = BOX * SUPERSAMPLE
  # Output pixel (u, v) -> glyph pixel (x, y): undo the shift, rotation and scale about the centres.
  cos, sin = np.cos(angle), np.sin(angle)
  k = 1.0 / SUPERSAMPLE
  cu, cv = side / 2 + dx * SUPERSAMPLE, side / 2 + dy * SUPERSAMPLE
  cx, cy = glyph.shape[1] / 2, glyph.shape[0] / 2
  # Image y points down: a counter-clockwise rotation on screen maps (x, y) to
  # (x cos + y sin, -x sin + y cos); below is its inverse, with the scales and the 1/4 pixel size.
  a, b = cos * k / sx, -sin * k / sx
  d, e = sin * k / sy, cos * k / sy
  c = cx - a * cu - b * cv
  f = cy - d * cu - e * cv
  source = Image.fromarray(np.asarray(glyph * 255, np.uint8))
  big = source.transform((side, side), Image.Transform.AFFINE, (a, b, c, d, e, f),
                         resample=Image.Resampling.BILINEAR)
  return np.asarray(big.reduce(SUPERSAMPLE)) >= 128  # mean of each 4x4 block, rounded: half coverage


def block_counts(bitmaps: np.ndarray) -> np.ndarray:
  """On pixels per non-overlapping 4x4 block: (N, 32, 32) bool -> (N, 8, 8) int counts 0..16."""
  n, h, w = bitmaps.shape
  return bitmaps.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).sum((2, 4))


def render_printed_digits(num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """`num` printed digits: float32 (num, 8, 8, 1) in [-1, 1] (count / 8 - 1) and int32 labels i % 10."""
  labels = np.arange(num, dtype=np.int32) % 10
  bitmaps = np.zeros((num, BOX, BOX), bool)
  for i in range(num):
    bitmaps[i] = render_bitmap(np.random.default_rng([seed, i]), int(labels[i]))
  x = block_counts(bitmaps).astype(np.float32)[..., None] / 8.0 - 1.0
  return x, labels
