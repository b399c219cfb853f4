"""ada: adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", Sec. 2-3) on the BigGAN of experiments/biggan.py.

Reproduces the mechanism, not their StyleGAN2 backbone: the `bgc` pipeline (x-flip, 90-degree
rotations, integer translation, isotropic and anisotropic scaling, rotation, fractional translation,
brightness, contrast, luma flip, hue, saturation), each op applied per example with probability p;
p starts at 0 and moves by sign(r_t - 0.6) * (batch * 4) / 500k every 4 D updates, r_t = E[sign
D(real)] (so 0 -> 1 takes 500k real images). On digits (few thousand images) the adjustment is made
faster (ada_kimg 20) so p can move within a CPU-sized run. `--config=experiments/ada.py:digits`
(default) or `:cifar10`.
The `make train` default. Measured result (digits, 2-core CPU, 6,000 steps (biggan's digits length),
seeds 0, 1, 2: 357, 290, 329 s; 10/10 classes; digits FD 7.3, 9.6, 8.2; precision 0.879, 0.873,
0.888; recall 0.771, 0.767, 0.760; worst requested class recognised 98.8, 99.0, 98.4 % of the time;
docs/zoo.md), by
  python scripts/benchmarks/zoo.py --experiments=ada --seeds=0,1,2
No CIFAR-10 result.
"""
from experiments import biggan


def get_config(dataset="digits"):
  dataset = dataset or "digits"
  config = biggan.get_config(dataset)
  config.augment.update(kind="ada", ada_target=0.6, ada_interval=4,
                        ada_kimg=20.0 if dataset == "digits" else 500.0)
  return config
