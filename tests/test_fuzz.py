"""Fuzzed configs and command lines: any input either runs or fails with one UserError naming a key.

Two layers, both with hypothesis (deterministic: `derandomize=True`, no example database):
- in-process, many examples: random keys (the config's own, its sections, unknown ones) set to random
  values of any type on a small copy of each family's experiments, then the CLI's path up to training:
  `config_validation.validate`, and for a valid config that stays small `train.setup` (data, game,
  device wrapper), the first host batch, and the shapes of the initial state and of the first train
  step (`jax.eval_shape`). Only gan.errors.UserError may be raised, and its message must name one of
  the keys that were set.
- through the real CLI (`python -m gan.main`), a few examples of `--config.key=value` text: exit 0, or
  exit 2 with one `error:` line last on stderr and no workdir; never a traceback.
"""
import math
import os
import re
import subprocess
import sys

import jax
import ml_collections
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments import biggan, cyclegan, digits_cond_dcgan, digits_dcgan, mle, pix2pix, relgan, ring8, seqgan, sngan
from experiments import stylegan2, wgan_gp
from gan import augment, config_validation, factory, families, losses, models, schedules, train
from gan.data import builtin
from gan.data import translation as tasks
from gan.errors import UserError
from gan.models import mlp, normalization, patchgan
from tests.test_cli import ROOT, env


def _small_image(config):
  config.batch_size = 8
  config.n_critic = 1  # the train step is traced with one Python-unrolled D update per n_critic
  config.model.z_dim = 8
  for player in ("generator", "discriminator"):
    if "width" in config.model[player]:
      config.model[player].width = 4
    if "hidden" in config.model[player]:
      config.model[player].hidden = (8, 8)
  return config


def _smoke(config):
  config.update_from_flattened_dict(families.get(config).smoke)
  return config


TEXT_SMALL = {"batch_size": 8, "mle_steps": 1, "data.max_length": 6, "data.oracle.vocab_size": 12,
              "data.oracle.num_train": 64, "data.oracle.num_test": 64, "model.generator.embed_dim": 4,
              "model.generator.hidden_dim": 4, "eval.num_samples": 32, "eval.bleu_samples": 8}


def _small_text(config, **extra):
  config.update_from_flattened_dict({**TEXT_SMALL, **extra})
  return config


# Each family's experiment and a few of the zoo's, shrunk so that building a valid variant takes
# milliseconds: (name, config).
BASES = [
    ("ring8", _small_image(ring8.get_config())),
    ("digits_dcgan", _small_image(digits_dcgan.get_config())),
    ("digits_cond_dcgan", _small_image(digits_cond_dcgan.get_config())),
    ("sngan", _small_image(sngan.get_config())),
    ("biggan", _small_image(biggan.get_config())),
    ("wgan_gp", _small_image(wgan_gp.get_config())),
    ("pix2pix", _smoke(pix2pix.get_config())),
    ("cyclegan", _smoke(cyclegan.get_config())),
    ("seqgan", _smoke(seqgan.get_config())),
    ("relgan", _small_text(relgan.get_config(), **{
        "model.generator.head_size": 4, "model.discriminator.embed_dim": 4, "model.discriminator.num_rep": 2,
        "model.discriminator.filter_sizes": (2, 3), "model.discriminator.num_filters": (3, 3)})),
    ("mle", _small_text(mle.get_config(), num_train_steps=4, mle_steps=4)),
    ("stylegan2", _smoke(stylegan2.get_config())),
]

NAMES = sorted({
    *losses.LOSSES, *factory.OPTIMIZERS, *models.GENERATORS, *builtin.DATASETS, "tfds", *tasks.TASKS,
    *families.NAMES, *normalization.NORMS, *models.GENERATOR_CONDITIONING["resnet"],
    *models.DISCRIMINATOR_CONDITIONING["dcgan"], *schedules.KINDS, *mlp.ACTIVATIONS, "AtoB", "BtoA",
    "diffaugment", "ada", "jit", "pmap", "float32", "bfloat16", "nearest", *augment.DIFF_AUGMENT_OPS,
    "xflip,rotate90", "reverse_kl", "digits_fd", "AtoB_fd", "BtoA_l1", "", "bogus", "None", "1", "nan"})
INTS = [0, -1, 1, 2, 3, 4, 5, 8, 12, 16, 32, 64, 100, *patchgan.RECEPTIVE_FIELDS, 2**31 - 1, 2**31, 10**12, 10**400,
        -(2**40)]
FLOATS = [math.nan, math.inf, -math.inf, -1.0, -1e-3, 0.0, 1e-13, 1e-4, 0.5, 0.999, 1.0, 2.0, 10.0, 1e308]
OTHERS = [None, True, False, [1], [1, 2], (), (8,), (-1, 4), (16, 16), ("a",), (0, 0), (2, 1), (1, 2), {"a": 1}]
UNKNOWN_KEYS = ["nokey", "model.generator.nokey", "model.discriminator.nokey", "optim.g.nokey", "data.nokey",
                "regularizers.r1.nokey", "family"]
KEY_VALUES = {"family": st.sampled_from(families.NAMES)}
SAME_KIND = {bool: st.booleans(), int: st.sampled_from(INTS), float: st.sampled_from(FLOATS),
             str: st.sampled_from(NAMES), tuple: st.sampled_from([v for v in OTHERS if isinstance(v, tuple)])}
ANY_VALUE = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS), st.sampled_from(NAMES),
                      st.sampled_from(OTHERS))


def base(name):
  return dict(BASES)[name]


def flatten(tree, prefix=""):
  """{dotted key: value} of the leaves and (with value None) the sections of a nested dict."""
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out[prefix + k] = None
      out.update(flatten(v, f"{prefix}{k}."))
    else:
      out[prefix + k] = v
  return out


def with_overrides(config, overrides):
  """A copy of `config` with dotted `key -> value` set as given, whatever the value's type; returns
  (config, keys that were set): a key under a section that an earlier override replaced is skipped."""
  tree, keys = config.to_dict(), []
  for key, value in overrides:
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
      node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
      node[leaf] = value
      keys.append(key)
  return ml_collections.ConfigDict(tree), keys


@st.composite
def fuzzed_configs(draw, config, max_overrides=3):
  """(`config` with 1 to `max_overrides` keys set to fuzzed values, the keys set)."""
  flat = flatten(config.to_dict())
  leaves = sorted(k for k, v in flat.items() if v is not None)
  others = sorted(k for k, v in flat.items() if v is None) + UNKNOWN_KEYS
  overrides = []
  for _ in range(draw(st.integers(1, max_overrides))):
    key = draw(st.one_of(st.sampled_from(leaves), st.sampled_from(others)))
    same = KEY_VALUES.get(key, SAME_KIND.get(type(flat.get(key))))
    overrides.append((key, draw(st.one_of(same, ANY_VALUE) if same is not None else ANY_VALUE)))
  return with_overrides(config, overrides)


def names_a_key(message: str, keys) -> bool:
  """Whether `message` names one of the dotted `keys` (as `key`, `config.key` or a section of it)."""
  text = message.replace("config.", " ")
  return any(re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", text) for key in keys)


def small(config) -> bool:
  """Sizes for which building the data and tracing the game take milliseconds."""
  flat = flatten(config.to_dict())
  sizes = [v for k, v in flat.items() if k.startswith(("model.", "data.")) or k in ("batch_size", "pool_size")]
  sizes += [x for v in sizes if isinstance(v, (tuple, list)) for x in v]
  image_size = config.data.get("image_size", 0)
  return (all(v <= 256 for v in sizes if isinstance(v, int)) and config.batch_size <= 64
          and not (isinstance(image_size, int) and image_size > 32)
          and config.get("n_critic", 1) * config.steps_per_call <= 4)


def check_config(config, keys) -> str:
  """The property: the CLI's path up to training raises nothing but a UserError naming one of `keys`.
  Returns what happened ("invalid", "valid", "valid, not built": too large to build here)."""
  try:
    config_validation.validate(config, num_devices=jax.local_device_count(), process_count=jax.process_count())
    if not small(config):
      return "valid, not built"
    run = train.setup(config)
    meta = run.family.meta(run.dataset)
    game = run.family.game(config, meta)  # as under jit (no pmap axis), whatever the parallelism
    state = run.family.abstract_state(config, game, meta)
    jax.eval_shape(game.train_step, state, {k: v[0] for k, v in run.batches(0).items()})  # the first step
  except UserError as e:
    assert names_a_key(str(e), keys), f"{e} names none of the keys set: {keys}"
    return "invalid"
  return "valid"


@pytest.mark.parametrize("name", [name for name, _ in BASES])
@settings(max_examples=35, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_config_is_valid_or_a_user_error_naming_a_key(name, data):
  config, keys = data.draw(fuzzed_configs(base(name)))
  event(check_config(config, keys))


# Through the CLI: tiny ring8 runs (one step of 8-unit MLPs, seconds) with fuzzed `--config.KEY=VALUE`
# text; values that would make a valid run long (many steps, samples or units) are left out.
CLI_CONFIGS = ["experiments/ring8.py", "experiments/nope.py", "experiments/common.py", "experiments/pix2pix.py:bad",
               "README.md"]
CLI_TINY = {"num_train_steps": "1", "batch_size": "16", "model.generator.hidden": "(8,8)",
            "model.discriminator.hidden": "(8,8)", "eval.num_samples": "100"}
CLI_VALUES = {
    "batch_size": ["6", "8", "0", "-16", "1.5", "2147483648"],
    "num_train_steps": ["0", "2", "-1"],
    "steps_per_call": ["2", "3", "0"],
    "parallelism": ["pmap", "tpu"],
    "seed": ["7", "-1", "99999999999999999999999"],
    "loss": ["hinge", "least_squares", "bogus"],
    "data.name": ["grid25", "digits", "tfds", "nope"],
    "model.z_dim": ["4", "0", "2147483648"],
    "model.generator.name": ["dcgan", "nope"],
    "model.generator.hidden": ["(8,)", "(0, 8)", "[]"],
    "model.generator.activation": ["tanh", "gelu"],
    "model.discriminator.pack": ["2", "3", "0"],
    "optim.g.name": ["sgd", "adamw"],
    "optim.d.lr": ["nan", "-1", "1e-3", "inf"],
    "optim.g.schedule": ["cosine", "step"],
    "regularizers.r1.weight": ["10", "-1", "nan"],
    "ema.decay": ["0.5", "1.0", "-0.1"],
    "eval.every_steps": ["0", "2", "3"],
    "eval.primary_metric": ["reverse_kl", "digits_fd"],
    "augment.kind": ["diffaugment", "ada"],
    "profile_steps": ["(0, 0)", "(2, 1)", "(1,)"],
    "nokey": ["1"], "model.generator.nokey": ["1"], "model.generator.hidden.x": ["1"], "family": ["pix2pix"],
}
CLI_GARBAGE = ["", "abc", "nan", "-inf", "1e400", "[1, 2]", "(1,", "None", "True", "{'a': 1}", "2147483648"]


@st.composite
def command_lines(draw):
  """(--config value, {key: value text}) for `python -m gan.main`."""
  config = draw(st.one_of(st.just(CLI_CONFIGS[0]), st.sampled_from(CLI_CONFIGS[1:])))
  overrides = dict(CLI_TINY)
  for _ in range(draw(st.integers(0, 3))):
    key = draw(st.sampled_from(sorted(CLI_VALUES)))
    overrides[key] = draw(st.one_of(st.sampled_from(CLI_VALUES[key]), st.sampled_from(CLI_GARBAGE)))
  return config, overrides


def run_cli(config, overrides, workdir):
  """`python -m gan.main` on 4 CPU devices, as the in-process tests see."""
  args = [f"--config={config}", f"--workdir={workdir}", *(f"--config.{k}={v}" for k, v in overrides.items())]
  return subprocess.run([sys.executable, "-m", "gan.main", *args], cwd=ROOT, env=dict(env(), JAX_NUM_CPU_DEVICES="4"),
                        capture_output=True, text=True, timeout=300)


def check_cli(result, workdir) -> str:
  """Exit 0, or exit 2 with one `error:` line, last on stderr, and no workdir; never a traceback."""
  assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
  if result.returncode == 0:
    return "ran"
  lines = result.stderr.strip().splitlines()
  errors = [line for line in lines if line.startswith("error:")]
  assert result.returncode == 2 and len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
  assert not os.path.exists(workdir), errors[0]
  return "error"


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(command_lines())
def test_fuzzed_command_line_runs_or_is_one_error_line_exit_2(tmp_path_factory, example):
  config, overrides = example
  workdir = tmp_path_factory.mktemp("fuzz") / "run"
  result = run_cli(config, overrides, workdir)
  event(check_cli(result, workdir))


# Regressions: what the fuzzers found, each failing before its check in the validation (or gan/main.py).
@pytest.mark.parametrize("name,overrides,expected", [
    # A key of another model reached the model class: TypeError "unexpected keyword argument 'activation'".
    ("ring8", {"data.name": "digits", "model.generator.name": "dcgan", "model.discriminator.name": "dcgan"},
     r"config.model.generator.activation is not a key of the 'dcgan' generator \(model.generator.name\), which "
     "takes width, conditioning, norm, spectral_norm, attention_resolution, shared_embedding_dim: start from an "
     "experiment written for that model"),
    ("digits_dcgan", {"model.discriminator.nokey": 0}, "config.model.discriminator.nokey is not a key of the 'dcgan'"),
    # DCGAN/ResNet resolutions are powers of two: ValueError from the model.
    ("digits_dcgan", {"data.image_size": 12}, r"config.data.image_size=12 is not valid: expected a power of two"),
    # Sizes, layer lists and activations went unchecked into the models: TypeError or KeyError.
    ("digits_dcgan", {"model.generator.width": -3}, r"config.model.generator.width=-3 is not valid: expected an int"),
    ("sngan", {"model.generator.width": (16, 16)}, r"config.model.generator.width=\(16, 16\) is not valid"),
    ("ring8", {"model.generator.hidden": "abc"}, "config.model.generator.hidden='abc' is not valid: expected a tuple"),
    ("ring8", {"model.generator.hidden": (-1, 4)}, r"config.model.generator.hidden=\(-1, 4\) is not valid"),
    ("ring8", {"model.generator.activation": "foo"}, "config.model.generator.activation='foo' is not valid: expected"),
    ("ring8", {"model.discriminator.pack": "x"}, "config.model.discriminator.pack='x' is not valid: expected an int"),
    # The pack message named neither the batch nor the devices.
    ("ring8", {"batch_size": 12, "model.discriminator.pack": 2},
     r"config.model.discriminator.pack=2 is not valid: expected a divisor of each device's batch \(batch_size=12 over "
     "4 devices"),
    # An unhashable family: TypeError in the family registry.
    ("digits_dcgan", {"family": [1]}, r"config.family=\[1\] is not valid: expected one of image, pix2pix, cyclegan"),
    # JAX's PRNGKey overflowed (OverflowError); int32 step counters and indices overflow beyond 2**31 - 1.
    ("ring8", {"seed": 2**64}, "config.seed=18446744073709551616 is not valid: expected an integer <= 2147483647"),
    ("cyclegan", {"num_train_steps": 2**31}, "config.num_train_steps=2147483648 is not valid: expected an integer <="),
    # A value where a section belongs: TypeError in the lookup of its keys.
    ("sngan", {"optim": "ra_hinge"}, "config.optim='ra_hinge' is not valid: expected a section of keys"),
    ("sngan", {"data": 286}, "config.data=286 is not valid: expected a section of keys"),
    # Unchecked: a string made the schedule raise TypeError, NaN made every learning rate NaN.
    ("pix2pix", {"optim.d.final_lr_fraction": "x"}, "config.optim.d.final_lr_fraction='x' is not valid: expected a"),
    ("ring8", {"optim.g.final_lr_fraction": math.nan}, "config.optim.g.final_lr_fraction=nan is not valid"),
    # The message named only data.path, not the data.name that needs it.
    ("cyclegan", {"data.name": "digits2mnist"}, r"config.data.path='' is not valid: expected the directory of the "
     r"MNIST IDX files for digits2mnist \(data.name\): train-images-idx3-ubyte"),
    # os.path.isdir of a list: TypeError.
    ("cyclegan", {"data.name": "digits2mnist", "data.path": [1]}, r"config.data.path=\[1\] is not valid: expected the"),
    # BigGAN's hierarchical z needs a chunk per block: ValueError from the model.
    ("biggan", {"model.z_dim": 1}, r"config.model.z_dim=1 is not valid: expected an integer >= 2 with model.generator"),
    # float() of an integer beyond float range: OverflowError in the game; beyond float32's: inf in the step.
    ("biggan", {"regularizers.wgan_gp.weight": 10**400}, "config.regularizers.wgan_gp.weight=1000000"),
    ("wgan_gp", {"regularizers.r1.weight": 1e308}, r"config.regularizers.r1.weight=1e\+308 is not valid: expected a "
     "number within float32's range"),
    # Consistency regularization on 2D points: ValueError in the train step (its transforms act on images).
    ("ring8", {"regularizers.consistency.real_weight": 8},
     r"config.regularizers.consistency.real_weight=8 is not valid: expected 0 for 2D data \(data.name='ring8'"),
    # Another family's config: the messages named a key of the new family, not the family.
    ("digits_dcgan", {"family": "cyclegan"}, "config.data.name='digits' is not valid: expected a task for cyclegan "
     r"\(config.family\): one of edges2digits"),
    ("pix2pix", {"family": "cyclegan"},
     r"config.cycle_weight is missing: the 'cyclegan' family \(config.family\) needs it"),
    ("cyclegan", {"family": "image"}, r"config.n_critic is missing: the 'image' family \(config.family\) needs it"),
    # TFDS options went through int(): ValueError.
    ("digits_dcgan", {"data.name": "tfds", "data.tfds_name": "mnist", "data.channels": "abc"},
     "config.data.channels='abc' is not valid: expected one of 0, 1, 3"),
])
def test_found_by_fuzzing(name, overrides, expected):
  config, keys = with_overrides(base(name), overrides.items())
  with pytest.raises(UserError, match=expected):
    config_validation.validate(config, num_devices=jax.local_device_count(), process_count=jax.process_count())
  assert check_config(config, keys) == "invalid"


@pytest.mark.parametrize("args,expected", [
    # A file without get_config() was reported as an unknown config key.
    (["--config=experiments/common.py"],
     "error: could not load --config=experiments/common.py: AttributeError: module 'config_config' has no attribute"),
    # An override into a value rather than a section was reported as the file failing to load.
    (["--config=experiments/ring8.py", "--config.model.generator.hidden.x=1"],
     "error: unknown config key '--config.model.generator.hidden.x': experiments/ring8.py defines no such key"),
    (["--config=experiments/ring8.py", "--config.data.data_dir.x=1"], "error: unknown config key '--config.data.data_"),
    (["--config=experiments/ring8.py", "--config..seed=1"], "error: unknown config key '--config..seed'"),
])
def test_command_line_errors_found_by_fuzzing(tmp_path, args, expected):
  workdir = tmp_path / "run"
  result = subprocess.run([sys.executable, "-m", "gan.main", *args, f"--workdir={workdir}"], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=120)
  assert check_cli(result, workdir) == "error"
  assert result.stderr.strip().splitlines()[-1].startswith(expected), result.stderr[-2000:]
