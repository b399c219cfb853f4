"""digits_cond_dcgan: class-conditional DCGAN on the built-in digits — conditional BN in G (de Vries et
al. 2017) and a projection discriminator (Miyato & Koyama 2018, Eq. 3), hinge loss.

Target (project issue): >= 95% of the samples drawn for each requested class are recognised as that
class by the digits classifier trained on real digits (gan/metrics/digits.py).
`python scripts/sample.py --workdir=DIR --label=K ...` draws samples of class K.
Measured result (seed 0, 4,000 steps, 454 s on the shared 2-core CPU; 500 samples per class): every
class >= 98.4% recognised (worst: 9), 10/10 classes, digits FD 11.5, IS 9.80, by
  python scripts/benchmarks/zoo_digits.py --experiments=digits_cond_dcgan
"""
from experiments import common


def get_config(arg=None):
  del arg
  config = common.set_dataset(common.base_config(), "digits")
  config.loss = "hinge"
  config.batch_size = 64
  config.num_train_steps = 4000
  common.adam_players(config, 2e-4, 2e-4, b1=0.5, b2=0.999)
  config.model.z_dim = 64
  config.model.generator.update(width=128, conditioning="cbn")
  config.model.discriminator.update(width=128, conditioning="projection")
  config.ema.decay = 0.999
  return config
