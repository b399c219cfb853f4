"""Config validation, one row per rule (gan/config_validation.py and each family's `validate`): a valid
experiment with one value made bad must fail with one UserError line naming that key and saying what
was expected, while the experiment itself passes (so each row fails for its own rule)."""
import os

import pytest

from gan import config_validation
from gan.errors import UserError
from tests.test_fuzz import base, with_overrides

INF = float("inf")

# (experiment, {dotted key: bad value}, the start of the expected message after "config.").
RULES = [
    # The keys every family shares.
    ("ring8", {"family": "video"}, "family='video' is not valid: expected one of image, pix2pix, cyclegan"),
    ("ring8", {"seed": -1}, "seed=-1 is not valid: expected an integer >= 0"),
    ("ring8", {"seed": 2**31}, "seed=2147483648 is not valid: expected an integer <= 2147483647"),
    ("ring8", {"batch_size": 0}, "batch_size=0 is not valid: expected an integer >= 1"),
    ("ring8", {"batch_size": 8.0}, "batch_size=8.0 is not valid: expected an integer >= 1"),
    ("ring8", {"num_train_steps": True}, "num_train_steps=True is not valid: expected an integer >= 1"),
    ("ring8", {"parallelism": "tpu"}, "parallelism='tpu' is not valid: expected one of jit, pmap"),
    ("ring8", {"log": 5}, "log=5 is not valid: expected a section of keys"),
    ("ring8", {"log.every_steps": 0}, "log.every_steps=0 is not valid: expected an integer >= 1"),
    ("ring8", {"eval.every_steps": -5}, "eval.every_steps=-5 is not valid: expected an integer >= 1"),
    ("ring8", {"eval.grid_size": 0}, "eval.grid_size=0 is not valid"),
    ("ring8", {"eval.primary_metric": "digits_fd"}, "eval.primary_metric='digits_fd' is not valid: expected '' "
     "(the data's default) or one of"),
    ("ring8", {"checkpoint.every_steps": 0}, "checkpoint.every_steps=0 is not valid"),
    ("ring8", {"checkpoint.max_to_keep": 0}, "checkpoint.max_to_keep=0 is not valid"),
    ("ring8", {"divergence.action": "ignore"}, "divergence.action='ignore' is not valid: expected one of stop, rollback"),
    ("ring8", {"divergence.lr_factor": 1.5}, "divergence.lr_factor=1.5 is not valid: expected a number in"),
    ("ring8", {"divergence.max_rollbacks": -1}, "divergence.max_rollbacks=-1 is not valid"),
    ("ring8", {"steps_per_call": 0}, "steps_per_call=0 is not valid"),
    ("ring8", {"steps_per_call": 3}, "num_train_steps="),  # 3 divides no interval of ring8
    ("ring8", {"profile_steps": (5, 2)}, "profile_steps=(5, 2) is not valid: expected (first, last)"),
    # The image family: loss, players, optimizers.
    ("ring8", {"n_critic": 0}, "n_critic=0 is not valid: expected an integer >= 1"),
    ("ring8", {"loss": "foo"}, "loss='foo' is not valid: expected one of minimax, non_saturating"),
    ("ring8", {"optim.g.name": "lamb"}, "optim.g.name='lamb' is not valid: expected one of"),
    ("ring8", {"optim.d.lr": 0.0}, "optim.d.lr=0.0 is not valid: expected a number in [1e-12, 10.0)"),
    ("ring8", {"optim.d.lr": 1e39}, "optim.d.lr=1e+39 is not valid"),
    ("ring8", {"optim.g.schedule": "step"}, "optim.g.schedule='step' is not valid: expected one of constant"),
    ("ring8", {"optim.g.b1": 1.0}, "optim.g.b1=1.0 is not valid: expected a number in [0.0, 1.0)"),
    ("ring8", {"optim.d.b2": -0.1}, "optim.d.b2=-0.1 is not valid"),
    ("ring8", {"ema.decay": 1.0}, "ema.decay=1.0 is not valid: expected a number in [0.0, 1.0)"),
    ("ring8", {"ema.start_step": -1}, "ema.start_step=-1 is not valid"),
    ("ring8", {"eval.num_samples": 0}, "eval.num_samples=0 is not valid"),
    ("digits_dcgan", {"eval.num_samples": 9}, "eval.num_samples=9 is not valid: expected an integer >= 10"),
    ("digits_dcgan", {"eval.inception_weights": "/nonexistent.npz"}, "eval.inception_weights='/nonexistent.npz' "
     "is not valid: expected '' or an existing local .npz file"),
    ("digits_dcgan", {"eval.augmentation_score": "yes"}, "eval.augmentation_score='yes' is not valid"),
    # Data.
    ("digits_dcgan", {"data.name": "cifar"}, "data.name='cifar' is not valid: expected one of"),
    ("digits_dcgan", {"data.name": "tfds", "data.tfds_name": ""}, "data.tfds_name='' is not valid"),
    ("digits_dcgan", {"data.image_size": 4}, "data.image_size=4 is not valid: expected an integer >= 8"),
    ("digits_dcgan", {"data.image_size": 24}, "data.image_size=24 is not valid: expected a power of two"),
    ("digits_dcgan", {"data.image_size": 16, "data.resize_method": "lanczos"}, "data.resize_method='lanczos'"),
    ("digits_dcgan", {"data.channels": 2}, "data.channels=2 is not valid: expected one of 0, 1, 3"),
    # Models.
    ("digits_dcgan", {"model.z_dim": 0}, "model.z_dim=0 is not valid"),
    ("digits_dcgan", {"model.compute_dtype": "float16"}, "model.compute_dtype='float16' is not valid"),
    ("digits_dcgan", {"model.generator.name": "unet"}, "model.generator.name='unet' is not valid"),
    ("digits_dcgan", {"model.discriminator.name": "mlp"}, "model.discriminator.name='mlp' is not valid: "
     "expected an image model"),
    ("ring8", {"model.generator.name": "dcgan"}, "model.generator.name='dcgan' is not valid: expected 'mlp' for 2D"),
    ("digits_dcgan", {"model.generator.width": 0}, "model.generator.width=0 is not valid"),
    ("digits_dcgan", {"model.generator.hidden": (8,)}, "model.generator.hidden is not a key of the 'dcgan' generator"),
    ("ring8", {"model.generator.hidden": (16, -1)}, "model.generator.hidden=(16, -1) is not valid: expected a tuple"),
    ("ring8", {"model.discriminator.activation": "gelu2"}, "model.discriminator.activation='gelu2' is not valid"),
    ("digits_dcgan", {"model.discriminator.name": "standard_cnn", "model.discriminator.leaky_slope": -0.1},
     "model.discriminator.leaky_slope=-0.1 is not valid: expected a number in"),
    ("digits_dcgan", {"model.discriminator.spectral_norm": 1}, "model.discriminator.spectral_norm=1 is not valid: "
     "expected True or False"),
    ("digits_cond_dcgan", {"model.generator.conditioning": "film"}, "model.generator.conditioning='film' is not valid"),
    ("digits_dcgan", {"model.generator.norm": "group"}, "model.generator.norm='group' is not valid"),
    ("digits_cond_dcgan", {"model.generator.norm": "layer"}, "model.generator.norm='layer' is not valid: expected "
     "'batch' with conditioning='cbn'"),
    ("biggan", {"model.z_dim": 1}, "model.z_dim=1 is not valid: expected an integer >= 2 with model.generator."
     "conditioning='biggan'"),
    ("ring8", {"model.discriminator.pack": 2, "model.discriminator.conditioning": "projection"},
     "model.discriminator.pack=2 is not valid: expected 1 with a conditional discriminator"),
    ("ring8", {"model.discriminator.pack": 3}, "model.discriminator.pack=3 is not valid: expected a divisor"),
    # Regularizers and augmentation.
    ("digits_dcgan", {"regularizers.r1.weight": -1.0}, "regularizers.r1.weight=-1.0 is not valid"),
    ("digits_dcgan", {"regularizers.r1.every": 0}, "regularizers.r1.every=0 is not valid"),
    ("digits_dcgan", {"regularizers.wgan_gp.schedule": "exp"}, "regularizers.wgan_gp.schedule='exp' is not valid"),
    ("digits_dcgan", {"regularizers.r1.final_weight_fraction": 2.0}, "regularizers.r1.final_weight_fraction=2.0"),
    ("digits_dcgan", {"regularizers.dragan.perturbation": INF}, "regularizers.dragan.perturbation=inf is not valid"),
    ("digits_dcgan", {"regularizers.weight_clip.value": -0.01}, "regularizers.weight_clip.value=-0.01 is not valid"),
    ("digits_dcgan", {"regularizers.orthogonal.weight": float("nan")}, "regularizers.orthogonal.weight=nan"),
    ("ring8", {"regularizers.consistency.real_weight": 10.0}, "regularizers.consistency.real_weight=10.0 is not "
     "valid: expected 0 for 2D data"),
    ("digits_dcgan", {"regularizers.consistency.transforms": "xflip,blur"}, "regularizers.consistency.transforms="),
    ("digits_dcgan", {"augment.kind": "mixup"}, "augment.kind='mixup' is not valid"),
    ("ring8", {"augment.kind": "diffaugment"}, "augment.kind='diffaugment' is not valid: expected 'none' for 2D"),
    ("digits_dcgan", {"augment.diffaugment_policy": "color,warp"}, "augment.diffaugment_policy='color,warp'"),
    ("digits_dcgan", {"augment.ada_target": 1.2}, "augment.ada_target=1.2 is not valid"),
    ("digits_dcgan", {"augment.ada_interval": 0}, "augment.ada_interval=0 is not valid"),
    ("digits_dcgan", {"augment.ada_kimg": 0.0}, "augment.ada_kimg=0.0 is not valid"),
    # Translation families.
    ("pix2pix", {"data.name": "printed2handwritten"}, "data.name='printed2handwritten' is not valid: expected a "
     "paired task for pix2pix"),
    ("cyclegan", {"data.name": "ring8"}, "data.name='ring8' is not valid: expected a task for cyclegan"),
    ("pix2pix", {"data.image_size": 4}, "data.image_size=4 is not valid"),
    ("pix2pix", {"data.image_size": 24}, "data.image_size=24 is not valid: expected a power of two >= 8"),
    ("cyclegan", {"data.image_size": 18}, "data.image_size=18 is not valid: expected a multiple of 4"),
    ("pix2pix", {"data.channels": 0}, "data.channels=0 is not valid: expected one of 1, 3"),
    ("pix2pix", {"data.name": "edges2mnist", "data.path": "/nonexistent"}, "data.path='/nonexistent' is not valid: "
     "expected the directory of the MNIST IDX files"),
    ("pix2pix", {"loss": "wasserstein"}, "loss='wasserstein' is not valid"),
    ("pix2pix", {"direction": "both"}, "direction='both' is not valid"),
    ("pix2pix", {"l1_weight": -1.0}, "l1_weight=-1.0 is not valid"),
    ("pix2pix", {"l1_weight": 0.0, "gan_weight": 0.0}, "gan_weight=0.0 is not valid: expected > 0 when l1_weight"),
    ("pix2pix", {"model.generator.dropout": 1.0}, "model.generator.dropout=1.0 is not valid"),
    ("pix2pix", {"model.generator.dropout_blocks": -1}, "model.generator.dropout_blocks=-1 is not valid"),
    ("pix2pix", {"model.discriminator.receptive_field": 71}, "model.discriminator.receptive_field=71 is not "
     "valid: expected one of"),
    ("pix2pix", {"model.discriminator.receptive_field": 286}, "model.discriminator.receptive_field=286 is not "
     "valid: expected one of 1, 16"),
    ("pix2pix", {"model.discriminator.conditional": "yes"}, "model.discriminator.conditional='yes' is not valid"),
    ("cyclegan", {"cycle_weight": -10.0}, "cycle_weight=-10.0 is not valid"),
    ("cyclegan", {"identity_weight": INF}, "identity_weight=inf is not valid"),
    ("cyclegan", {"pool_size": -1}, "pool_size=-1 is not valid"),
    ("cyclegan", {"model.generator.num_blocks": -1}, "model.generator.num_blocks=-1 is not valid"),
    ("cyclegan", {"model.generator.norm": "spectral"}, "model.generator.norm='spectral' is not valid"),
    ("cyclegan", {"eval.num_samples": 1}, "eval.num_samples=1 is not valid"),
    # The text family.
    ("seqgan", {"gan": "leakgan"}, "gan='leakgan' is not valid: expected one of mle, seqgan, relgan"),
    ("seqgan", {"data.name": "ptb"}, "data.name='ptb' is not valid: expected one of oracle, text_file"),
    ("seqgan", {"data.name": "text_file", "data.path": "/nonexistent"}, "data.path='/nonexistent' is not valid: "
     "expected a directory holding train.txt and test.txt"),
    ("seqgan", {"data.max_length": 1}, "data.max_length=1 is not valid: expected an integer >= 2"),
    ("seqgan", {"data.oracle.vocab_size": 1}, "data.oracle.vocab_size=1 is not valid"),
    ("seqgan", {"mle_steps": -1}, "mle_steps=-1 is not valid"),
    ("seqgan", {"mle_steps": 10**6}, "num_train_steps=19920 is not valid: expected more than mle_steps"),
    ("seqgan", {"n_critic": 0}, "n_critic=0 is not valid"),
    ("seqgan", {"loss": "rsgan"}, "loss='rsgan' is not valid: expected one of non_saturating"),
    ("seqgan", {"num_rollouts": 0}, "num_rollouts=0 is not valid"),
    ("seqgan", {"rollout_update_rate": 1.5}, "rollout_update_rate=1.5 is not valid"),
    ("seqgan", {"model.generator.core": "gru"}, "model.generator.core='gru' is not valid"),
    ("seqgan", {"model.discriminator.filter_sizes": (1, 99)}, "model.discriminator.filter_sizes=(1, 99) is not "
     "valid: expected widths <= data.max_length (6)"),
    ("seqgan", {"model.discriminator.num_filters": (3,)}, "model.discriminator.num_filters=(3,) is not valid"),
    ("seqgan", {"optim.g_mle.clip_norm": -1.0}, "optim.g_mle.clip_norm=-1.0 is not valid"),
    ("seqgan", {"eval.temperature": 0.0}, "eval.temperature=0.0 is not valid"),
    ("relgan", {"temperature_max": 0.5}, "temperature_max=0.5 is not valid"),
    ("relgan", {"temperature_schedule": "cosine"}, "temperature_schedule='cosine' is not valid"),
    ("relgan", {"model.discriminator.num_rep": 3}, "model.discriminator.embed_dim=4 is not valid: expected a "
     "multiple of model.discriminator.num_rep (3)"),
    ("mle", {"mle_steps": 5}, "mle_steps=5 is not valid: expected num_train_steps (4)"),
    ("stylegan2", {"model.d_architecture": "skip"}, "model.d_architecture='skip' is not valid"),
    ("stylegan2", {"model.mbstd_group_size": 3}, "model.mbstd_group_size=3 is not valid: expected a divisor of "
     "each device's batch (8"),
    ("stylegan2", {"model.w_dim": 0}, "model.w_dim=0 is not valid"),
    ("stylegan2", {"model.conditional": "yes"}, "model.conditional='yes' is not valid"),
    ("stylegan2", {"r1.every": 0}, "r1.every=0 is not valid"),
    ("stylegan2", {"path_length.batch_shrink": 3}, "path_length.batch_shrink=3 is not valid"),
    ("stylegan2", {"style_mixing_prob": 1.5}, "style_mixing_prob=1.5 is not valid"),
    ("stylegan2", {"augment.kind": "diffaugment"}, "augment.kind='diffaugment' is not valid: expected one of none, "
     "ada"),
    ("stylegan2", {"eval.truncation_psi": -1.0}, "eval.truncation_psi=-1.0 is not valid"),
    ("stylegan2", {"data.name": "ring8"}, "data.name='ring8' is not valid: expected image data"),
]


def bad_config(experiment, overrides):
  config, keys = with_overrides(base(experiment), overrides.items())
  assert keys == list(overrides), f"{experiment} has no key among {sorted(set(overrides) - set(keys))}"
  return config


@pytest.mark.parametrize("experiment", sorted({row[0] for row in RULES}))
def test_every_experiment_of_the_table_is_valid(experiment):
  config_validation.validate(base(experiment))


@pytest.mark.parametrize("experiment,overrides,expected", RULES,
                         ids=[f"{e}-{','.join(o)}" for e, o, _ in RULES])
def test_each_rule_fails_in_one_line_naming_its_key(experiment, overrides, expected):
  with pytest.raises(UserError) as error:
    config_validation.validate(bad_config(experiment, overrides))
  message = str(error.value)
  assert "\n" not in message
  assert message.startswith("config." + expected), message


def test_batch_size_must_split_over_devices_and_processes():
  with pytest.raises(UserError, match=r"^config.batch_size=8 is not valid: expected a multiple of the number of "
                                      r"devices \(6\)"):
    config_validation.validate(base("ring8"), num_devices=3, process_count=2)
  config_validation.validate(base("ring8"), num_devices=4, process_count=2)


def test_the_table_covers_many_rules():
  assert len(RULES) >= 55 and len({(e, repr(o)) for e, o, _ in RULES}) == len(RULES)
  assert not any(os.path.exists(v) for _, o, _ in RULES for v in o.values() if isinstance(v, str) and "/" in v)
