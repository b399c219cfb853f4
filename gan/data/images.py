"""Image preprocessing shared by the image sources, and the `image_folder` reader (PIL).

The `data.*` keys that shape images mean the same for every source (TFDS, IDX, image folders and
prepared array files): `center_crop` (0: none; else a centred square of that side, taken first),
`channels` (0 keeps them; 1 grey, 3 RGB; an alpha channel is dropped), `image_size` (0 keeps the
size; else the images are resized to image_size x image_size, after the crop; a non-square image is
stretched) and `resize_method` ("bilinear", "area" or "nearest"). Images end as uint8 NHWC.

Resizing of the local sources uses PIL (`Image.resize`): its bilinear filter widens its support when
shrinking (antialiased, like the TFDS source's `tf.image.resize(..., antialias=True)`), "area" is
PIL's box filter and "nearest" its nearest neighbour; RGB -> grey is PIL's ITU-R 601-2 luma
(L = 0.299 R + 0.587 G + 0.114 B, TensorFlow's `rgb_to_grayscale` weights). The two routes agree in
meaning, not bit for bit (8-bit rounding inside PIL).

Image folders (`data.name = "image_folder"`, `data.path = DIR`), the layout of
`tfds.folder_dataset.ImageFolder` without its split level:
  DIR/<class>/**/*.png|jpg|...  labelled: classes are the sub-folder names, sorted, labels 0..K-1;
  DIR/*.png|jpg|...             unlabelled (num_classes None).
Hidden files and files of other extensions are ignored. With `channels=0` the images keep one
channel when every image is grey, else all become RGB. With `image_size=0` every image (after the
crop) must have the same size. Every problem (missing or empty folder, a folder mixing images and
class folders, an unreadable or corrupt image, a crop larger than an image, sizes that differ) is a
one-line `gan.errors.UserError` naming the file or folder.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os

import numpy as np

from gan.errors import UserError

RESIZE_METHODS = ("bilinear", "area", "nearest")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


@dataclasses.dataclass(frozen=True)
class Options:
  """The `data.*` keys that shape images (see the module docstring)."""
  image_size: int = 0
  center_crop: int = 0
  resize_method: str = "bilinear"
  channels: int = 0


def options(data_config) -> Options:
  """Reads and checks the image-shaping `data.*` keys (absent keys: their defaults)."""
  method = str(data_config.get("resize_method", "bilinear")).lower()
  if method not in RESIZE_METHODS:
    raise UserError(f"data.resize_method={method!r} is not one of {', '.join(RESIZE_METHODS)}")
  channels = int(data_config.get("channels", 0) or 0)
  if channels not in (0, 1, 3):
    raise UserError(f"data.channels={channels} must be 0 (keep), 1 (gray) or 3 (RGB)")
  image_size = int(data_config.get("image_size", 0) or 0)
  center_crop = int(data_config.get("center_crop", 0) or 0)
  if image_size < 0 or center_crop < 0:
    raise UserError(f"data.image_size={image_size} and data.center_crop={center_crop} must be >= 0")
  return Options(image_size, center_crop, method, channels)


def _pil():
  from PIL import Image  # pylint: disable=g-import-not-at-top  (only the local image sources need it)
  return Image


def transform(image: np.ndarray, opts: Options, out_channels: int, what: str) -> np.ndarray:
  """One uint8 image (H, W, C) with C in 1, 3, 4 -> cropped, converted to `out_channels`, resized."""
  height, width, channels = image.shape
  crop = opts.center_crop
  if crop:
    if crop > min(height, width):
      raise UserError(f"{what}: data.center_crop={crop} is larger than its {height}x{width} image")
    top, left = (height - crop) // 2, (width - crop) // 2
    image = image[top:top + crop, left:left + crop]
  if channels == 4:
    image = image[..., :3]
  if out_channels == 3 and image.shape[-1] == 1:
    image = np.repeat(image, 3, axis=-1)
  size = opts.image_size
  to_grey = out_channels == 1 and image.shape[-1] == 3
  if not (to_grey or (size and image.shape[:2] != (size, size))):
    return np.ascontiguousarray(image)
  Image = _pil()
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  if to_grey:
    pil = pil.convert("L")
  if size and pil.size != (size, size):
    resample = {"bilinear": Image.Resampling.BILINEAR, "area": Image.Resampling.BOX,
                "nearest": Image.Resampling.NEAREST}[opts.resize_method]
    pil = pil.resize((size, size), resample=resample)
  out = np.asarray(pil, np.uint8)
  return out[..., None] if out.ndim == 2 else out


def output_size(height: int, width: int, opts: Options) -> tuple[int, int]:
  """(H, W) of an image of `height` x `width` after the crop and resize (crop checked by `transform`)."""
  if opts.image_size:
    return opts.image_size, opts.image_size
  if opts.center_crop:
    return opts.center_crop, opts.center_crop
  return height, width


def transform_all(images: np.ndarray, opts: Options, what: str) -> np.ndarray:
  """uint8 images (N, H, W, C) of one size through `transform`; returned as given when nothing changes."""
  channels = images.shape[-1]
  out_channels = opts.channels or (3 if channels == 4 else channels)
  height, width = output_size(*images.shape[1:3], opts)
  if (height, width, out_channels) == images.shape[1:] and not opts.center_crop:
    return images
  out = np.empty((len(images), height, width, out_channels), np.uint8)
  for i, image in enumerate(images):
    out[i] = transform(image, opts, out_channels, what)
  return out


# ------------------------------------------------------------------------------------- image folders
def _is_image(name: str) -> bool:
  return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_under(directory: str) -> list[str]:
  """Image files anywhere under `directory` (hidden folders skipped), in sorted path order."""
  found = []
  for root, dirs, files in os.walk(directory):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    found.extend(os.path.join(root, f) for f in sorted(files) if _is_image(f))
  return found


def scan_folder(directory: str) -> tuple[list[str], np.ndarray | None, list[str] | None]:
  """(image paths, int32 labels or None, class names or None) of an image folder (module docstring)."""
  extensions = "/".join(e[1:] for e in IMAGE_EXTENSIONS)
  if not os.path.exists(directory):
    raise UserError(f"image folder {directory}: no such directory (data.path)")
  if not os.path.isdir(directory):
    raise UserError(f"image folder {directory}: is a file, not a directory (data.path; a prepared "
                    ".npz file is read with data.name='array')")
  entries = sorted(e for e in os.listdir(directory) if not e.startswith("."))
  top = [os.path.join(directory, e) for e in entries
         if _is_image(e) and os.path.isfile(os.path.join(directory, e))]
  classes = [e for e in entries if os.path.isdir(os.path.join(directory, e))]
  per_class = {c: _images_under(os.path.join(directory, c)) for c in classes}
  labelled = [c for c in classes if per_class[c]]
  if top and labelled:
    raise UserError(f"image folder {directory} holds both images ({os.path.basename(top[0])}) and class "
                    f"folders ({labelled[0]}/): put every image in a class folder, or none in any")
  if top:
    return top, None, None
  if not labelled:
    raise UserError(f"image folder {directory} holds no images ({extensions}), neither directly nor "
                    "in class sub-folders")
  empty = [c for c in classes if not per_class[c]]
  if empty:
    raise UserError(f"image folder {directory}: class folder {empty[0]}/ holds no images ({extensions})")
  paths = [p for c in labelled for p in per_class[c]]
  labels = np.concatenate([np.full(len(per_class[c]), k, np.int32) for k, c in enumerate(labelled)])
  return paths, labels, labelled


def _open(path: str):
  Image = _pil()
  try:
    return Image.open(path)
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
    raise UserError(f"{path}: not a readable image ({_one_line(e)})") from None


def _one_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()
  return lines[0] if lines else type(error).__name__


def read_image(path: str, grey: bool) -> np.ndarray:
  """The decoded image as uint8 (H, W, 1) if `grey` else (H, W, 3) (alpha dropped, 16-bit scaled)."""
  try:
    with _open(path) as pil:
      pil.load()
      if pil.mode.startswith("I;16") or pil.mode == "I":
        array = np.asarray(pil, np.float64) / 257.0  # 16-bit -> 8-bit
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)[..., None]
        return array if grey else np.repeat(array, 3, axis=-1)
      array = np.asarray(pil.convert("L" if grey else "RGB"), np.uint8)
  except (OSError, SyntaxError, ValueError) as e:
    raise UserError(f"{path}: corrupt or truncated image ({_one_line(e)})") from None
  return array[..., None] if array.ndim == 2 else array


def load_folder(directory: str, opts: Options) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
  """(uint8 images (N, H, W, C), labels or None, class names or None) of the image folder."""
  paths, labels, class_names = scan_folder(directory)
  headers = []  # (width, height, mode) from each file's header, without decoding its pixels
  for path in paths:
    with _open(path) as pil:
      headers.append((*pil.size, pil.mode))
  grey = all(mode in GREY_MODES for _, _, mode in headers)
  out_channels = opts.channels or (1 if grey else 3)
  sizes = {(w, h) for w, h, _ in headers}
  if not (opts.image_size or opts.center_crop) and len(sizes) > 1:
    first = headers[0][:2]
    other = next(i for i, (w, h, _) in enumerate(headers) if (w, h) != first)
    raise UserError(f"{paths[other]}: is {headers[other][1]}x{headers[other][0]} but {paths[0]} is "
                    f"{first[1]}x{first[0]} (image folder {directory}): set data.image_size (and "
                    "data.center_crop) to bring them to one size")
  height, width = output_size(headers[0][1], headers[0][0], opts)
  images = np.empty((len(paths), height, width, out_channels), np.uint8)

  def decode(i):
    images[i] = transform(read_image(paths[i], grey), opts, out_channels, paths[i])

  with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
    list(pool.map(decode, range(len(paths))))  # PIL releases the GIL while decoding
  return images, labels, class_names
