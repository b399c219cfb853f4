"""dragan: DRAGAN (Kodali et al. 2017, "On Convergence and Stability of GANs", Eq. 2 and Algorithm 1).

Reproduces the penalty lambda E[(||grad D(x + delta)|| - 1)^2] = 10 around the real data, delta =
0.5 std(x) U[0, 1], with the non-saturating loss on the DCGAN architecture, Adam(1e-4, b1 0.5, b2 0.9)
and batch 64. D uses layer norm instead of batch norm: a gradient penalty is per example.
`--config=experiments/dragan.py:digits` (default; CPU-sized) or `:cifar10` (TFDS).
Measured result (digits, 2-core CPU, 3,000 steps, seed 0, 114 s: 10/10 classes, digits FD 107.3,
  IS 7.16, precision 0.307, recall 0.435; by
  python scripts/benchmarks/zoo.py --experiments=dragan --seeds=0
and scripts/benchmarks/results/zoo_digits.md). No CIFAR-10 result: no data or accelerator here.
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "non_saturating"
  config.batch_size = 64
  config.regularizers.dragan.weight = 10.0
  common.adam_players(config, 1e-4, 1e-4, b1=0.5, b2=0.9)
  config.model.discriminator.norm = "layer"
  config.ema.decay = 0.999
  common.set_size(config, dataset, cifar10_steps=100000, digits_steps=3000, digits_width=128,
                  mnist_steps=5000, mnist_width=32)
  return config
