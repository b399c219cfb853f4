"""CycleGAN: unpaired image-to-image translation (Zhu et al. 2017, "Unpaired Image-to-Image Translation
using Cycle-Consistent Adversarial Networks"); gan/families/cyclegan.py.

The paper's recipe: two ResNet generators (reflection padding, instance norm; 6 residual blocks at
128x128, 9 from 256x256), two 70x70 PatchGANs, least-squares GAN loss, λ_cycle = 10, identity weight
0.5 λ_cycle, a history pool of 50 generated images per discriminator, Adam(2e-4, β1 0.5), learning rate
constant for the first half and linearly decayed to 0 over the second.
CPU-sized: widths 16 (the paper's 64), 6 blocks, batch 16 (the paper's 1).
`--config=experiments/cyclegan.py:TASK`, TASK = printed2handwritten (default, built in), digits2mnist
or edges2mnist (`--config.data.path=MNIST_DIR`, the IDX files).
Measured results: README ("Image-to-image translation") and docs/translation.md, by
  python scripts/benchmarks/translation_quality.py --suite=SUITE
SUITE = cyclegan, cyclegan_ablation or mnist.
"""
from experiments import common

TASKS = ("printed2handwritten", "digits2mnist", "edges2mnist", "edges2digits", "lowerhalf2digits")


def get_config(task="printed2handwritten"):
  task = task or "printed2handwritten"
  if task not in TASKS:
    raise ValueError(f"unknown cyclegan task {task!r}: expected one of {', '.join(TASKS)}")
  config = common.translation_config("cyclegan", task)
  config.batch_size = 16
  config.loss = "least_squares"  # the reference's "lsgan"
  config.cycle_weight = 10.0  # λ (Eq. 3); 0: GAN alone (Table 4)
  config.identity_weight = 0.5  # in units of λ; 0: no identity loss
  config.pool_size = 50  # generated images kept per discriminator; 0: no history
  config.model.generator = dict(width=16, num_blocks=6, norm="instance")
  config.model.discriminator = dict(receptive_field=70, width=16, norm="instance")
  config.num_train_steps = 4000
  config.eval.every_steps = 1000
  return config
