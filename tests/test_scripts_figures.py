"""scripts/plot_metrics.py (training curves) and scripts/interpolate.py (latent interpolation)."""
import functools
import importlib.util
import math
import os

import jax
import numpy as np
import pytest
from PIL import Image

from gan import checkpointing, families, sampling, train
from gan.errors import UserError
from tests.helpers import tiny_digits_config, tiny_ring_config
from tests.test_cli import ROOT, run_script


def load_script(name):
  spec = importlib.util.spec_from_file_location(f"script_{name}", os.path.join(ROOT, "scripts", f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


plot_metrics = load_script("plot_metrics")
interpolate = load_script("interpolate")


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
  """A real (tiny) ring8 run: 20 steps, logs every 5, evaluates and checkpoints every 10."""
  workdir = str(tmp_path_factory.mktemp("ring"))
  config = tiny_ring_config(num_train_steps=20)
  config.log.every_steps = 5
  config.eval.every_steps = 10
  config.eval.num_samples = 500
  config.checkpoint.every_steps = 10
  train.train_and_evaluate(config, workdir)
  return workdir


def perturbed(params, seed):
  """`params` plus N(0, 0.2^2) noise: at initialisation conditional BN's class gains are all 1 and its
  biases 0, so the class would not change the image yet."""
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  return jax.tree.unflatten(treedef, [x + 0.2 * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)])


def saved_image_run(workdir, **overrides):
  """A digits DCGAN checkpoint of step 0 (random weights, no training), saved as training saves one."""
  config = tiny_digits_config(**overrides)
  family = families.get(config)
  meta = family.meta(family.dataset(config))
  game = family.game(config, meta)
  state = family.init_state(game, jax.random.PRNGKey(0), family.example_batch(config, meta))
  state = state.replace(g_params=perturbed(state.g_params, 1), ema_params=perturbed(state.ema_params, 2))
  ckpt = checkpointing.Checkpointer(workdir, every_steps=1, max_to_keep=1)
  ckpt.save(0, state, config.to_dict(), meta, force=True)
  ckpt.close()
  return workdir


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
  return saved_image_run(str(tmp_path_factory.mktemp("digits")))


@pytest.fixture(scope="module")
def cond_digits_run(tmp_path_factory):
  """The same with conditional BN in G and a projection D, as experiments/digits_cond_dcgan.py."""
  config = tiny_digits_config()
  config.model.generator.conditioning = "cbn"
  config.model.discriminator.conditioning = "projection"
  return saved_image_run(str(tmp_path_factory.mktemp("cond")), model=config.model)


def one_error_line(stderr):
  lines = stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), stderr
  return lines[0]


# --- plot_metrics -------------------------------------------------------------------------------

def test_plot_metrics_draws_losses_d_outputs_and_the_primary_metric(ring_run, tmp_path):
  rows = plot_metrics.read_metrics(ring_run)
  assert [r["step"] for r in rows if "train/d_loss" in r] == [1, 5, 10, 15, 20]
  assert plot_metrics.primary_metric(ring_run, rows) == "eval/reverse_kl"  # from eval/protocol.json
  keys = {k for r in rows for k in r}
  assert plot_metrics.loss_keys(keys) == ["train/d_loss", "train/g_loss"]
  assert plot_metrics.d_output_keys(keys) == ["train/d_real_logit", "train/d_fake_logit"]
  steps, values = plot_metrics.series(rows, "eval/reverse_kl")
  assert steps == [10, 20] and values == [r["eval/reverse_kl"] for r in rows if "eval/reverse_kl" in r]

  output = tmp_path / "curves.png"
  assert plot_metrics.main([f"--workdir={ring_run}", f"--output={output}"]) == 0
  with Image.open(output) as image:
    assert image.format == "PNG" and image.size == (1000, 840)  # 10 in x (3 panels x 2.6 + 0.6) in at 100 dpi
    pixels = np.asarray(image.convert("RGB"))
  assert (pixels != 255).any(axis=-1).mean() > 0.02  # drawn on, not blank


def test_plot_metrics_reads_a_running_run_with_a_torn_last_line(ring_run, tmp_path):
  workdir = tmp_path / "running"
  workdir.mkdir()
  with open(os.path.join(ring_run, "metrics.jsonl")) as f:
    lines = f.read().splitlines(keepends=True)
  train_lines = [line for line in lines if '"eval/' not in line][:3]  # steps 1, 5, 10: no evaluation yet
  (workdir / "metrics.jsonl").write_text("".join(train_lines) + '{"step": 15, "train/d_lo')
  rows = plot_metrics.read_metrics(str(workdir))
  assert [r["step"] for r in rows] == [1, 5, 10]
  assert plot_metrics.primary_metric(str(workdir), rows) is None
  assert plot_metrics.main([f"--workdir={workdir}"]) == 0  # default output beside the metrics
  with Image.open(workdir / "metrics.png") as image:
    assert image.size == (1000, 840)


def test_plot_metrics_errors_are_one_line_with_status_2(tmp_path, capsys):
  result = run_script("scripts/plot_metrics.py", f"--workdir={tmp_path / 'missing'}", timeout=60)
  assert result.returncode == 2
  assert "does not exist" in one_error_line(result.stderr)
  assert plot_metrics.main([f"--workdir={tmp_path}"]) == 2
  assert "no metrics.jsonl in" in one_error_line(capsys.readouterr().err)
  (tmp_path / "metrics.jsonl").write_text('{"step": 1, "train/d_lo')
  assert plot_metrics.main([f"--workdir={tmp_path}"]) == 2
  assert "no complete line" in one_error_line(capsys.readouterr().err)


def test_plot_metrics_unknown_metric_names_the_logged_ones(ring_run, tmp_path, capsys):
  assert plot_metrics.main([f"--workdir={ring_run}", "--metric=digits_fd", f"--output={tmp_path / 'x.png'}"]) == 2
  line = one_error_line(capsys.readouterr().err)
  assert "--metric=digits_fd" in line and "reverse_kl" in line
  assert not (tmp_path / "x.png").exists()


# --- interpolate: slerp ---------------------------------------------------------------------------

def test_slerp_ends_at_the_two_latents_and_interpolates_norm_and_angle():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=64), 1.7 * rng.normal(size=64)
  t = np.linspace(0, 1, 7)
  path = interpolate.slerp(a, b, t)
  np.testing.assert_allclose(path[0], a, atol=1e-12)
  np.testing.assert_allclose(path[-1], b, atol=1e-12)
  norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
  np.testing.assert_allclose(np.linalg.norm(path, axis=1), (1 - t) * norm_a + t * norm_b, rtol=1e-12)
  cos = lambda u, v: u @ v / (np.linalg.norm(u) * np.linalg.norm(v))  # noqa: E731
  omega = math.acos(cos(a, b))
  angles = np.array([math.acos(np.clip(cos(a, p), -1, 1)) for p in path])
  np.testing.assert_allclose(angles, t * omega, atol=1e-7)  # constant angular speed along the great circle
  # Every point lies in the plane of a and b.
  basis, _ = np.linalg.qr(np.stack([a, b], axis=1))
  np.testing.assert_allclose(path, path @ basis @ basis.T, atol=1e-10)


def test_slerp_with_equal_norms_is_whites_formula():
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=16), rng.normal(size=16)
  b *= np.linalg.norm(a) / np.linalg.norm(b)
  t = np.array([0.25, 0.5, 0.9])
  omega = math.acos(a @ b / (a @ a))
  white = (np.sin((1 - t[:, None]) * omega) * a + np.sin(t[:, None] * omega) * b) / math.sin(omega)
  np.testing.assert_allclose(interpolate.slerp(a, b, t), white, rtol=1e-10)
  # Parallel latents: the straight line, where slerp's formula divides by sin(0).
  np.testing.assert_allclose(interpolate.slerp(a, 2 * a, t), (1 + t[:, None]) * a, rtol=1e-12)
  with pytest.raises(ValueError, match="opposite"):
    interpolate.slerp(a, -a, t)


# --- interpolate: the script ----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def loaded(workdir):
  return sampling.load_run(workdir)


def generator_images(workdir, z, labels):
  """What the run's sampling generator makes of latents `z` with classes `labels` (direct call)."""
  config, _, game, state = loaded(workdir)
  return np.asarray(game.generate(sampling.sampling_params(config, state), state.g_collections,
                                  np.asarray(z, np.float32), np.asarray(labels, np.int32)))


def endpoint_latents(workdir, rows, seed):
  """The latents interpolate.py draws: 2 x rows from `seed`, as scripts/sample.py draws them."""
  _, _, game, _ = loaded(workdir)
  z, _ = game.sample_latents(jax.random.PRNGKey(seed), 2 * rows)
  return np.asarray(z[:rows]), np.asarray(z[rows:])


def test_interpolation_rows_run_from_one_latent_to_the_other(digits_run):
  images, step = interpolate.interpolate(digits_run, num_rows=3, num_steps=5, seed=7)
  assert step == 0 and images.shape == (3, 5, 8, 8, 1)
  start, end = endpoint_latents(digits_run, 3, seed=7)
  labels = np.zeros(3, np.int32)
  np.testing.assert_allclose(images[:, 0], generator_images(digits_run, start, labels), atol=1e-5)
  np.testing.assert_allclose(images[:, -1], generator_images(digits_run, end, labels), atol=1e-5)
  assert not np.allclose(images[:, 0], images[:, 2], atol=1e-3)  # the middle differs from the ends
  again, _ = interpolate.interpolate(digits_run, num_rows=3, num_steps=5, seed=7)
  np.testing.assert_array_equal(images, again)  # same seed, same paths


def test_class_conditional_rows_keep_their_class(cond_digits_run):
  images, _ = interpolate.interpolate(cond_digits_run, num_rows=3, num_steps=4, seed=1)
  start, end = endpoint_latents(cond_digits_run, 3, seed=1)
  paths = interpolate.latent_paths(start, end, 4)
  for r in range(3):  # row r: class r at every step
    np.testing.assert_allclose(images[r], generator_images(cond_digits_run, paths[r], [r] * 4), atol=1e-5)
  other = generator_images(cond_digits_run, paths[:, 0], [5, 5, 5])
  assert not np.allclose(images[:, 0], other, atol=1e-3)  # the class does change the image


def test_png_grid_has_a_row_per_pair_and_a_column_per_step(digits_run, tmp_path):
  output = tmp_path / "interp.png"
  assert interpolate.main([f"--workdir={digits_run}", f"--output={output}", "--num_rows=3", "--num_steps=5"]) == 0
  with Image.open(output) as image:
    # 8x8 digits shown at 32 px (x4), 2 px padding: 5 columns, 3 rows.
    assert image.format == "PNG" and image.size == (5 * 34 + 2, 3 * 34 + 2)
    grid = np.asarray(image)
  images, _ = interpolate.interpolate(digits_run, num_rows=3, num_steps=5)
  first = np.rint((np.clip(images[1, 3, ..., 0], -1, 1) + 1) * 127.5).astype(np.uint8)
  np.testing.assert_array_equal(grid[2 + 34:2 + 34 + 32:4, 2 + 3 * 34:2 + 3 * 34 + 32:4], first)  # row 1, step 3
  assert interpolate.main([f"--workdir={digits_run}", f"--output={output}", "--num_rows=3", "--num_steps=5",
                           "--scale=2"]) == 0
  with Image.open(output) as image:
    assert image.size == (5 * 18 + 2, 3 * 18 + 2)  # --scale=2: 16 px cells


def test_gif_goes_there_and_back(digits_run, tmp_path):
  output = tmp_path / "interp.gif"
  assert interpolate.main([f"--workdir={digits_run}", f"--output={output}", "--num_rows=3", "--num_steps=5",
                           "--frame_ms=50"]) == 0
  with Image.open(output) as gif:
    assert gif.format == "GIF" and gif.n_frames == 2 * 5 - 2
    assert gif.size == (2 * 34 + 2, 2 * 34 + 2)  # 3 images per frame, tiled 2 x 2
    assert gif.info["duration"] == 50 and gif.info.get("loop") == 0
    frames = []
    for k in range(gif.n_frames):
      gif.seek(k)
      frames.append(np.asarray(gif.convert("L")))
  np.testing.assert_array_equal(frames[1], frames[-1])  # step 1 is shown again on the way back
  assert not np.array_equal(frames[0], frames[4])


def test_interpolate_refuses_runs_without_images_and_translation_families(ring_run, tmp_path, capsys):
  assert interpolate.main([f"--workdir={ring_run}", f"--output={tmp_path / 'x.png'}"]) == 2
  line = one_error_line(capsys.readouterr().err)
  assert "points" in line and "not images" in line and "ring8" in line
  assert not (tmp_path / "x.png").exists()
  import ml_collections  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict({"family": "cyclegan", "data": {"name": "printed2handwritten"}})
  with pytest.raises(UserError, match="'cyclegan' family .* no latent"):
    interpolate.check_run(config, {"kind": "images", "example_shape": [32, 32, 1]})


def test_interpolate_cli_errors_are_one_line(tmp_path):
  result = run_script("scripts/interpolate.py", f"--workdir={tmp_path / 'missing'}",
                      f"--output={tmp_path / 'x.png'}", timeout=60)
  assert result.returncode == 2 and "does not exist" in one_error_line(result.stderr)
  result = run_script("scripts/interpolate.py", f"--workdir={tmp_path}", f"--output={tmp_path / 'x.jpg'}",
                      timeout=60)
  assert result.returncode == 2 and "must end in .png or .gif" in one_error_line(result.stderr)
  result = run_script("scripts/interpolate.py", f"--workdir={tmp_path}", f"--output={tmp_path / 'x.png'}",
                      timeout=120)
  assert result.returncode == 2 and "no checkpoint found" in one_error_line(result.stderr)
