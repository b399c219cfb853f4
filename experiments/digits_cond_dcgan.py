"""digits_cond_dcgan: class-conditional DCGAN on the built-in digits — conditional BN in G (de Vries et
al. 2017) and a projection discriminator (Miyato & Koyama 2018, Eq. 3), hinge loss.

Target: >= 95% of the samples drawn for each requested class are recognised as that
class by the digits classifier trained on real digits (gan/metrics/digits.py).
`python scripts/sample.py --workdir=DIR --label=K ...` draws samples of class K.
Measured result (4,000 steps, seeds 0/1/2, 466-661 s on the shared 2-core CPU; 500 samples per
class): the worst class is recognised 97.8% / 97.0% / 97.2% of the time (bar met on all three), 10/10
classes, digits FD 9.9 / 11.9 / 14.5; trained on its samples alone the digits classifier reaches
95.0-95.8% on held-out real digits (CAS; 98.3% with all real train digits), by
  python scripts/benchmarks/zoo.py --experiments=digits_cond_dcgan --seeds=0,1,2 \
      --config.eval.augmentation_score=True
`:mnist` (width 32, 5,000 steps; seed 0, 779 s): 10/10 classes, mnist FD 12.4, IS 9.58, precision 0.829,
recall 0.391, worst class recognised 95.9 % of the time; rerun on a 2-core AMD EPYC (2,494 s): FD 9.3,
precision 0.857, worst class 95.6 %, CAS 95.1 % on MNIST's real test digits (99.37 % trained on the real
training digits; docs/zoo.md), by
  python scripts/benchmarks/zoo.py --dataset=mnist --mnist_path=MNIST_DIR --experiments=digits_cond_dcgan --cas
"""
from experiments import common


def get_config(dataset="digits"):
  config = common.set_dataset(common.base_config(), dataset or "digits")
  config.loss = "hinge"
  config.batch_size = 64
  config.num_train_steps = 5000 if dataset == "mnist" else 4000
  common.adam_players(config, 2e-4, 2e-4, b1=0.5, b2=0.999)
  config.model.z_dim = 64
  width = 32 if dataset == "mnist" else 128
  config.model.generator.update(width=width, conditioning="cbn")
  config.model.discriminator.update(width=width, conditioning="projection")
  config.ema.decay = 0.999
  return config
