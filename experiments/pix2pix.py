"""pix2pix: paired image-to-image translation (Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks"); gan/families/pix2pix.py.

The paper's recipe: U-Net G with dropout as its noise, 70x70 PatchGAN D on the (input, output) pair,
cGAN + λ L1 with λ = 100, D's loss halved, Adam(2e-4, β1 0.5), learning rate constant for the first
half and linearly decayed to 0 over the second. At 32x32 the U-Net has 5 levels (32 -> 1) and the
70x70 PatchGAN sees the whole image (a 2x2 map of 70x70 patches): the receptive-field ablation runs
`model.discriminator.receptive_field` = 1 (PixelGAN), 16, 34 and 70.
CPU-sized: widths 32 (the paper's 64), batch 32 (the paper's 1-10), instance norm (what the paper's batch
norm computes at batch size 1, train mode, as its test script also runs it).
`--config=experiments/pix2pix.py:TASK`, TASK = edges2digits (default), lowerhalf2digits (both built in)
or edges2mnist (`--config.data.path=MNIST_DIR`, the IDX files).
Measured results: README ("Image-to-image translation") and docs/translation.md, by
  python scripts/benchmarks/translation_quality.py --suite=SUITE
SUITE = pix2pix, pix2pix_objective, pix2pix_objective_lowerhalf, pix2pix_receptive_field or mnist.
"""
from experiments import common

TASKS = ("edges2digits", "lowerhalf2digits", "edges2mnist")


def get_config(task="edges2digits"):
  task = task or "edges2digits"
  if task not in TASKS:
    raise ValueError(f"unknown pix2pix task {task!r}: expected one of {', '.join(TASKS)}")
  config = common.translation_config("pix2pix", task)
  config.direction = "AtoB"  # AtoB: the task name's direction (edges -> digits); BtoA the reverse
  config.loss = "non_saturating"  # the reference's "vanilla" GAN loss (BCE with logits)
  config.l1_weight = 100.0  # λ (Eq. 4); 0: the cGAN alone (Table 1)
  config.gan_weight = 1.0  # 0: L1 alone (Table 1)
  config.model.generator = dict(width=32, norm="instance", dropout=0.5, dropout_blocks=3)
  # receptive_field: 1 (PixelGAN), 16, 34, 70 (fit 32x32), 142, 286; conditional: D sees (input, output)
  config.model.discriminator = dict(receptive_field=70, width=32, norm="instance", conditional=True)
  config.num_train_steps = 2000
  config.eval.every_steps = 500
  return config
