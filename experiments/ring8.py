"""ring8: 8 Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2017, "Unrolled GANs", Fig. 1).

Reproduces the standard mode-collapse toy with a plain MLP GAN (non-saturating loss, Adam).
Measured result: see README "Quality bars" (scripts/benchmarks/toy_quality.py).
"""
import ml_collections

from experiments import common


def get_config(arg=None):
  del arg
  config = common.base_config()
  config.data.name = "ring8"
  config.batch_size = 256
  config.num_train_steps = 5000
  config.loss = "non_saturating"
  config.model = ml_collections.ConfigDict(dict(
      z_dim=2,
      generator=dict(name="mlp", hidden=(128, 128, 128), activation="relu"),
      discriminator=dict(name="mlp", hidden=(128, 128, 128), activation="leaky_relu", pack=1)))
  config.optim.g.lr = 1e-3
  config.optim.d.lr = 1e-3
  config.optim.g.b1 = config.optim.d.b1 = 0.5
  config.ema.decay = 0.999
  config.eval.every_steps = 1000
  config.eval.num_samples = 10000
  return config
