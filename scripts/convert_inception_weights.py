"""Makes the FID Inception-v3 weights file (.npz) that `gan.metrics.inception.load_params` reads.

  python scripts/convert_inception_weights.py --input=pt_inception-2015-12-05-6726825d.pth --output=inception_fid.npz [--check_image]
  python scripts/convert_inception_weights.py --random_init --output=random_inception.npz [--seed=0]
  python scripts/convert_inception_weights.py --check_image --output=inception_fid.npz   # check an existing file

--input: pytorch-fid's published FID Inception state dict (pytorch-fid's FID_WEIGHTS_URL, a port of
the TF graph inception-2015-12-05 used by the TTUR FID code). Download it yourself wherever you have
internet; this script never downloads anything. Reading a .pth needs PyTorch (any CPU build), and only
for this one-off conversion; everything else uses NumPy and JAX.

The conversion is checked: every key of the state dict must be consumed (BatchNorm's
`num_batches_tracked` counters are dropped), every variable of `InceptionV3` filled with the right
shape; the written file is then read back with `load_params`. It prints the file's `weights_hash`
(the first 16 hex digits of its sha256), which evaluation results record next to FID / IS.

--random_init writes random, well-scaled weights instead (`inception.random_variables(--seed)`), for
tests and for checking the evaluation protocol without the real weights. Never report scores made
with them.

--check_image prints the features of a fixed image, so that the conversion can be compared with
pytorch-fid. The image (1, 64, 64, 3) in [-1, 1] is `check_image()` below:
  x[0, h, w, c] = sin(0.1 * (h + 1) * (c + 1)) * cos(0.07 * (w + 1) * (3 - c))
In PyTorch, with pytorch-fid installed and `img` that array:
  from pytorch_fid.inception import InceptionV3
  m = InceptionV3([3]).eval()  # resize_input=True, normalize_input=True expect [0, 1]
  pool3 = m(torch.from_numpy((img + 1) / 2).permute(0, 3, 1, 2).float())[0].flatten()
pool3 should agree up to float32 rounding (the libraries sum the convolutions in different orders).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

flags.DEFINE_string("input", None, "pytorch-fid's FID Inception state dict (.pth).")
flags.DEFINE_string("output", None, "The .npz weights file to write (or to check, with --check_image alone).")
flags.DEFINE_bool("random_init", False,
                  "Write random weights (tests, protocol checks) instead of converting.")
flags.DEFINE_integer("seed", 0, "Seed of --random_init.")
flags.DEFINE_bool("check_image", False, "Print the features of a fixed image computed with the output file.")
FLAGS = flags.FLAGS


def fail(message):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def read_torch_state_dict(path: str) -> dict:
  """{key: NumPy array} of a .pth state dict; torch is imported here only (an optional dependency)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"--input={path!r} does not exist")
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ImportError("reading a .pth file needs PyTorch (pip install torch; the CPU build is enough), "
                      "only for this conversion") from None
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except TypeError:  # torch < 1.13 has no weights_only
    obj = torch.load(path, map_location="cpu")
  if hasattr(obj, "state_dict"):
    obj = obj.state_dict()
  if not isinstance(obj, dict):
    raise ValueError(f"--input={path!r} holds a {type(obj).__name__}, not a state dict")
  return {k: v.detach().cpu().numpy() if hasattr(v, "detach") else v for k, v in obj.items()}


def check_image():
  """The fixed (1, 64, 64, 3) float32 test image in [-1, 1] of --check_image (formula in the doc)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  h, w, c = np.meshgrid(np.arange(64), np.arange(64), np.arange(3), indexing="ij")
  x = np.sin(0.1 * (h + 1) * (c + 1)) * np.cos(0.07 * (w + 1) * (3 - c))
  return x[None].astype(np.float32)


def print_check_image_features(variables):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from gan.metrics import inception  # pylint: disable=g-import-not-at-top
  pool3, logits = (np.asarray(a)[0] for a in inception.make_feature_fn(variables)(check_image()))
  np.set_printoptions(precision=6, suppress=True, linewidth=120)
  print("check image (1, 64, 64, 3), formula in the docstring of this script:")
  print(f"  pool3[:8]   = {pool3[:8]}")
  print(f"  pool3 mean  = {pool3.mean():.6f}  std = {pool3.std():.6f}  sum = {pool3.sum():.4f}")
  top = np.argsort(-logits)[:5]
  print(f"  logits top5 = {top.tolist()}  values {logits[top]}")


def main(argv):
  del argv
  if not FLAGS.output:
    fail("--output is required")
  if FLAGS.input and FLAGS.random_init:
    fail("give either --input or --random_init, not both")
  if not FLAGS.input and not FLAGS.random_init and not FLAGS.check_image:
    fail("give --input=pt_inception-2015-12-05-6726825d.pth or --random_init "
         "(or --check_image for an existing --output)")
  if FLAGS.input and not os.path.isfile(FLAGS.input):
    fail(f"--input={FLAGS.input!r} does not exist (download pytorch-fid's "
         f"pt_inception-2015-12-05-6726825d.pth where you have internet; nothing is downloaded here)")

  from gan.metrics import inception  # pylint: disable=g-import-not-at-top

  if FLAGS.input:
    try:
      state_dict = read_torch_state_dict(FLAGS.input)
    except Exception as e:  # pylint: disable=broad-except  (torch raises many kinds on a bad file)
      text = str(e).strip()
      fail(text.splitlines()[0] if text else f"cannot read --input={FLAGS.input!r}: {type(e).__name__}")
    try:
      flat = inception.convert_torch_state_dict(state_dict)
    except inception.InceptionWeightsError as e:
      fail(str(e))
    dropped = sum(k.endswith(".num_batches_tracked") for k in state_dict)
    print(f"consumed all {len(state_dict)} state dict entries "
          f"({dropped} num_batches_tracked counters dropped)")
    variables = inception.unflatten_variables(flat)
  elif FLAGS.random_init:
    variables = inception.random_variables(FLAGS.seed)
    print(f"random weights, seed {FLAGS.seed} (for tests and protocol checks only)")

  if FLAGS.input or FLAGS.random_init:
    inception.save_params(FLAGS.output, variables)
  try:
    variables = inception.load_params(FLAGS.output)  # read back: keys, shapes, dtypes
  except inception.InceptionWeightsError as e:
    fail(str(e))
  counts = inception.num_parameters()
  verb = "wrote" if (FLAGS.input or FLAGS.random_init) else "checked"
  print(f"{verb} {FLAGS.output}: {len(inception.expected_shapes())} arrays, {counts['params']:,} parameters "
        f"+ {counts['batch_stats']:,} BN statistics, weights_hash {inception.weights_hash(FLAGS.output)}")
  if FLAGS.check_image:
    print_check_image_features(variables)


if __name__ == "__main__":
  app.run(main)
