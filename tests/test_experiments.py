"""Every experiment config is valid, and each family trains end to end for a few steps."""
import glob
import importlib
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gan import config_validation, sampling
from gan.train import setup as setup_run, train_and_evaluate
from tests.helpers import assert_trees_close, run_steps, tiny_digits_config
from tests.test_cli import ROOT, run, run_sample_script, sample

EXPERIMENTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "experiments", "*.py"))
                     if not os.path.basename(p).startswith(("_", "common")))


def test_all_expected_experiments_exist():
  assert {"ring8", "grid25", "digits_dcgan", "mnist_dcgan", "cifar10_dcgan"} <= set(EXPERIMENTS)


ZOO = ("wgan", "wgan_gp", "lsgan", "sngan", "sagan", "biggan", "biggan_deep", "dragan", "r1", "bcr", "diffaug",
       "ada")  # one file per paper, two datasets


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_config_is_valid_and_documented(name):
  module = importlib.import_module(f"experiments.{name}")
  config_validation.validate(module.get_config())
  if name in ZOO:
    config_validation.validate(module.get_config("cifar10"))
    config_validation.validate(module.get_config("mnist"))
  assert module.__doc__ and "esult" in module.__doc__  # says what it reproduces and the result


def test_zoo_dataset_argument_errors_in_one_line(tmp_path):
  result = run(["--config=experiments/sngan.py:imagenet", f"--workdir={tmp_path / 'w'}"])
  assert result.returncode == 2 and not os.path.exists(tmp_path / "w")
  assert result.stderr.strip().splitlines() == [
      "error: could not load --config=experiments/sngan.py: ValueError: unknown dataset 'imagenet': "
      "expected one of digits, mnist, cifar10"]


ZOO_SMALL = {"batch_size": 16, "model.generator.width": 4, "model.discriminator.width": 4, "model.z_dim": 8,
             "n_critic": 1}  # n_critic: tests/test_steps.py
CONDITIONAL = ("biggan", "biggan_deep", "bcr", "diffaug", "ada", "digits_cond_dcgan")


def first_step_size(optim) -> float:
  """The largest parameter change of an optimizer's first step: Adam's bias-corrected first step is
  lr * g / (|g| + eps), about lr; RMSProp's (v = (1 - b2) g^2, eps outside the root) lr / sqrt(1 - b2)."""
  return {"adam": optim.lr, "rmsprop": optim.lr / np.sqrt(1 - optim.b2)}[optim.name]


# BigGAN-deep (BigGAN's game and optimizers, its architecture tested in tests/test_biggan_deep.py) and
# BigGAN with an augmentation or consistency term (those steps run in tests/test_augment_step.py and
# tests/test_steps.py), whose BigGAN runs below: compiling each costs 20-50 s, so they are lowered.
BIGGAN_PLUS = ("biggan_deep", "bcr", "diffaug", "ada")


@pytest.mark.parametrize("name", BIGGAN_PLUS)
def test_zoo_experiment_lowers_a_step_that_keeps_the_state_shapes(name):
  config = importlib.import_module(f"experiments.{name}").get_config()
  config.update_from_flattened_dict(ZOO_SMALL)
  run = setup_run(config, jax.devices()[:1])
  state = jax.eval_shape(run.initial_state, config.seed)
  new_state, metrics = run.par.lower(state, run.par.put_batch(run.batches(0))).out_info
  assert jax.tree.map(lambda x: (x.shape, x.dtype), new_state) == jax.tree.map(lambda x: (x.shape, x.dtype), state)
  assert {"d_loss", "g_loss"} <= set(metrics) and all(m.shape == () for m in metrics.values())
  assert sampling.is_conditional(run.game)


@pytest.mark.parametrize("name", [n for n in (*ZOO, "digits_cond_dcgan") if n not in BIGGAN_PLUS])
def test_zoo_experiment_runs_one_compiled_step_with_its_optimizers_and_clip(name):
  config = importlib.import_module(f"experiments.{name}").get_config()
  config.update_from_flattened_dict(ZOO_SMALL)
  run = setup_run(config, jax.devices()[:1])
  assert sampling.is_conditional(run.game) == (name in CONDITIONAL)
  before = jax.device_get(run.initial_state(config.seed))
  after, (metrics,) = run_steps(config, 1, devices=jax.devices()[:1])
  assert {"d_loss", "g_loss"} <= set(metrics) and all(np.isfinite(v) for v in metrics.values())
  assert jax.tree.map(np.shape, after) == jax.tree.map(np.shape, before)
  clip = config.regularizers.weight_clip.value
  for player, optim in (("g", config.optim.g), ("d", config.optim.d)):
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(getattr(after, f"{player}_params")),
                                                               jax.tree.leaves(getattr(before, f"{player}_params"))))
    if player == "d" and clip:  # WGAN: the clip, not the optimizer, bounds D's weights after its update
      assert max(float(np.max(np.abs(p))) for p in jax.tree.leaves(after.d_params)) <= np.float32(clip)
    else:
      assert moved == pytest.approx(first_step_size(optim), rel=0.02), (player, optim.name)


def test_sngan_mnist_trains_the_standard_cnn():
  """sngan:mnist (the standard CNN) differs from its digits config in more than size: one step on the 8x8
  digits in its place."""
  config = importlib.import_module("experiments.sngan").get_config("mnist")
  config.update_from_flattened_dict(ZOO_SMALL)
  config.data.update(name="digits", image_size=0, channels=0)
  config.eval.feature_net = ""
  run = setup_run(config, jax.devices()[:1])
  params = jax.device_get(run.initial_state(config.seed)).d_params
  after, (metrics,) = run_steps(config, 1, devices=jax.devices()[:1])
  assert all(np.isfinite(v) for v in metrics.values())
  # the standard CNN at 8x8 (width 4): a 3x3 and a 4x4 stride-2 conv, then the last 3x3 conv of twice the width
  kernels = {k: v["kernel"].shape for k, v in params.items() if k.startswith("Conv_")}
  assert kernels == {"Conv_0": (3, 3, 1, 4), "Conv_1": (4, 4, 4, 4), "Conv_2": (3, 3, 4, 8)}
  assert jax.tree.map(np.shape, after.d_params) == jax.tree.map(np.shape, params)


@pytest.mark.parametrize("name,sagan_layers,g_conditioning", [
    ("r1", False, "none"), ("sagan", True, "none"), ("biggan", True, "biggan"), ("ada", True, "biggan")])
def test_zoo_mnist_configs_on_the_dcgan_nets(name, sagan_layers, g_conditioning):
  """r1, sagan, biggan and ada take mnist_dcgan's width-32 nets on MNIST (docs/zoo.md), each keeping its
  paper's other ingredients: D without normalization for R1; SN in both players and self-attention on the
  16x16 features of both (`sagan_layers`) for SAGAN and BigGAN, with BigGAN's conditioning and a projection
  D; that BigGAN under ADA's adaptive p at the paper's speed for ADA."""
  from gan import models
  config = importlib.import_module(f"experiments.{name}").get_config("mnist")
  conditional = g_conditioning != "none"
  g, d = models.build(config.model, (32, 32, 1), num_classes=10 if conditional else None)
  assert (type(g).__name__, type(d).__name__, g.width, d.width) == ("DCGANGenerator", "DCGANDiscriminator", 32, 32)
  assert d.norm == "none" and g.spectral_norm == d.spectral_norm == sagan_layers
  assert (g.conditioning, d.conditioning) == (g_conditioning, "projection" if conditional else "none")
  labels = jnp.zeros((2,), jnp.int32) if conditional else None
  g_params = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.ones((2, config.model.z_dim)), labels,
                                           train=False))["params"]
  d_params = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), jnp.ones((2, 32, 32, 1)), labels,
                                           train=False))["params"]
  assert ("SelfAttention_0" in g_params, "SelfAttention_0" in d_params) == (sagan_layers, sagan_layers)
  assert (config.augment.kind == "ada") == (name == "ada")
  if name == "ada":  # the paper's adjustment speed on MNIST's 60,000 images (digits: faster)
    assert (config.augment.ada_kimg, config.augment.ada_target) == (500.0, 0.6)


@pytest.mark.parametrize("name", ["digits_cond_dcgan"])  # a conditional DCGAN, sampled by class
def test_zoo_experiment_runs_two_steps_through_the_cli(tmp_path, name):
  result = run([f"--config=experiments/{name}.py", f"--workdir={tmp_path}", "--config.num_train_steps=2",
                "--config.eval.every_steps=2", "--config.eval.num_samples=200",
                *[f"--config.{k}={v}" for k, v in ZOO_SMALL.items()]])
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert rows[-1]["step"] == 2 and "eval/digits_classes_covered" in rows[-1]
  assert ("eval/digits_cond_accuracy" in rows[-1]) == (name in CONDITIONAL)
  if name == "digits_cond_dcgan":  # sample.py --label: the same noise, the requested class
    threes = sample(tmp_path, tmp_path / "3.npy", n=6, extra=["--label=3"])
    _, _, game, state = sampling.load_run(str(tmp_path))
    np.testing.assert_allclose(threes, sampling.generate(game, state.ema_params, state.g_collections, 6, seed=0,
                                                         label=3), rtol=1e-6, atol=1e-6)
    assert np.abs(threes - sample(tmp_path, tmp_path / "4.npy", n=6, extra=["--label=4"])).max() > 0
    bad = run_sample_script(tmp_path, tmp_path / "x.npy", extra=["--label=10"])
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --label=10 is not a class of this run: expected 0..9")


@pytest.mark.parametrize("experiment,shape", [("grid25", (2,)), ("digits_dcgan", (8, 8, 1))])
def test_cli_end_to_end(tmp_path, experiment, shape):
  args = [f"--config=experiments/{experiment}.py", f"--workdir={tmp_path}", "--config.num_train_steps=4",
          "--config.eval.every_steps=4", "--config.eval.num_samples=200", "--config.batch_size=16"]
  if experiment == "digits_dcgan":
    args += ["--config.model.generator.width=8", "--config.model.discriminator.width=8"]
  else:
    args += ["--config.model.generator.hidden=(16,16)", "--config.model.discriminator.hidden=(16,16)",
             "--config.model.discriminator.pack=1", "--config.steps_per_call=2"]  # grid25 has 10
  result = run(args)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.exists(tmp_path / "samples" / "step_0000004.png")
  samples = sample(tmp_path, tmp_path / "s.npy", n=20)
  assert samples.shape == (20, *shape)
  if experiment == "digits_dcgan":
    assert samples.min() >= -1 and samples.max() <= 1
    assert "digits_classes_covered" in result.stderr


@pytest.mark.parametrize("experiment,channels", [("mnist_dcgan", 1), ("cifar10_dcgan", 3)])
def test_tfds_experiments_train_on_mock_data(tmp_path, experiment, channels):
  config = importlib.import_module(f"experiments.{experiment}").get_config()
  config.update(batch_size=8, num_train_steps=2)
  config.data.name = "tfds"  # mnist_dcgan reads IDX files by default (tests/test_data_files.py); its TFDS route
  config.eval.feature_net = ""  # the MnistCNN needs MNIST's IDX files
  config.model.update(z_dim=8)
  config.model.generator.width = 8
  config.model.discriminator.width = 8
  config.eval.update(every_steps=2, grid_size=4)
  with tfds.testing.mock_data(num_examples=16):
    state, _ = train_and_evaluate(config, str(tmp_path))
  assert int(state.step) == 2
  assert os.path.exists(tmp_path / "samples" / "step_0000002.png")
  _, meta, game, restored = sampling.load_run(str(tmp_path))
  assert meta["example_shape"] == [32, 32, channels] and meta["num_classes"] == 10
  images = sampling.generate(game, restored.ema_params, restored.g_collections, 3, seed=0)
  assert images.shape == (3, 32, 32, channels)


def test_dcgan_resume_in_process_is_bit_exact_including_batch_stats(tmp_path):
  def config(steps):
    c = tiny_digits_config(num_train_steps=steps)
    c.eval.update(every_steps=10, num_samples=100)
    c.checkpoint.every_steps = 10
    return c
  straight, _ = train_and_evaluate(config(40), str(tmp_path / "straight"))
  train_and_evaluate(config(20), str(tmp_path / "resumed"))
  resumed, _ = train_and_evaluate(config(40), str(tmp_path / "resumed"))
  assert int(resumed.step) == 40
  assert_trees_close(jax.device_get(resumed), jax.device_get(straight), rtol=0, atol=0)
  # Batch-norm running statistics are part of what was compared, and they moved.
  assert np.abs(np.asarray(jax.tree.leaves(resumed.g_collections)[0])).sum() > 0
