"""bench_dcgan32: the fixed DCGAN-32 network that scripts/benchmark.py times against other frameworks.

Exactly (and nothing else, so a PyTorch or TensorFlow twin can match it layer for layer:
scripts/benchmark_pytorch.py): z = 128; G: Dense -> 4x4x512, BN, ReLU; three 4x4 stride-2 transposed
convs (256, 128, 64) each with BN and ReLU; 3x3 conv -> 3, tanh. D: 4x4 stride-2 conv -> 64, LeakyReLU
0.2; 4x4 s2 conv -> 128, BN, LReLU; 4x4 s2 conv -> 256, BN, LReLU; Dense -> 1. Batch 64 of 32x32x3,
Adam (2e-4, 0.5, 0.999) for both players, non-saturating loss, one D and one G update per step, no EMA.
(G has 3,813,379 parameters, D 663,745.)

Data: `bench_dcgan32.py` (default) reads CIFAR-10 from TFDS (prepared with `tfds build cifar10
--data_dir=DIR`, then `--config.data.data_dir=DIR`); `bench_dcgan32.py:digits` reads the built-in
digits upsampled to 32x32x3 through the same in-memory pipeline, for machines without CIFAR-10.
Result: it is a benchmark, not a quality experiment; its measured speed is in the README
(Performance), made by `make bench`.
"""
from experiments import common


def get_config(arg=None):
  data = arg or "cifar10"
  config = common.base_config()
  if data == "cifar10":
    config.data.update(name="tfds", tfds_name="cifar10", split="train", image_size=32, channels=3)
  elif data == "digits":
    config.data.update(name="digits", image_size=32, channels=3, resize_method="bilinear")
  else:
    raise ValueError(f"unknown data {data!r}: expected cifar10 or digits")
  config.batch_size = 64
  config.num_train_steps = 1000
  config.loss = "non_saturating"
  config.n_critic = 1
  config.model.z_dim = 128
  for player in ("generator", "discriminator"):
    config.model[player].update(name="dcgan", width=64, norm="batch", spectral_norm=False)
  common.adam_players(config, 2e-4, 2e-4, 0.5, 0.999)
  config.ema.decay = 0.0
  config.log.every_steps = 100
  config.eval.update(every_steps=1000, num_samples=64, grid_size=64)
  config.checkpoint.every_steps = 1000
  return config
