"""digits_dcgan: DCGAN (Radford et al. 2016) on scikit-learn's bundled 8x8 digits, unconditional: the first
row of the README's ablation for `make train` (which trains experiments/ada.py).

CPU-sized: G Dense -> 4x4, one stride-2 transposed conv to 8x8; D one stride-2 conv, both width 128.
Measured result (seed 0, 5,000 steps, 310 s on the 2-core CPU; 5,000 EMA samples, 8-bit quantised):
10/10 classes, digits FD 21.9, digits IS 8.05, precision 0.386, recall 0.752 (docs/zoo.md), by
  python scripts/benchmarks/zoo.py --experiments=digits_dcgan
"""
from experiments import common


def get_config(arg=None):
  del arg
  config = common.base_config()
  config.data.name = "digits"
  config.batch_size = 64
  config.num_train_steps = 5000
  config.loss = "non_saturating"
  config.model.z_dim = 64
  config.model.generator.width = 128
  config.model.discriminator.width = 128
  config.ema.decay = 0.999
  config.eval.every_steps = 1000
  config.eval.num_samples = 5000
  return config
