"""stylegan2: StyleGAN2 with adaptive discriminator augmentation (Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN" and "Training Generative Adversarial Networks with Limited
Data"), as NVlabs/stylegan2-ada-pytorch's train.py configures it (gan/families/stylegan2.py,
gan/models/stylegan2.py).

Arguments (`--config=experiments/stylegan2.py:ARG`, options after commas):
- `digits` (default): the built-in 8x8 digits, CPU-sized.
- `mnist`: MNIST's IDX files (`--config.data.path=DIR`), 32x32x1, CPU-sized, scored by the MnistCNN.
- `cifar10`: the reference's `--cfg=cifar` (TFDS cifar10; `--config.data.data_dir=DIR`): mapping 2 layers,
  batch 64, minibatch-stddev groups of 32, lr 0.0025, R1 gamma 0.01, EMA half-life 500 kimg with ramp-up
  0.05, no path-length regularization, no style mixing, D without residuals ("orig"), channels
  32768 / res up to 512, 100,000 kimg; bf16 in the 4 highest resolutions with activations clamped to
  +-256 (the reference's fp16 layers). `cifar10,cond`: class-conditional (its `--cond=1`).
- `ffhq256`: the reference's `paper256` (a folder of 256x256 images, `--config.data.path=DIR`): mapping 8,
  groups of 8, lr 0.0025, gamma 1, EMA 20 kimg, path length 2, style mixing 0.9, residual D, channels
  16384 / res up to 512, 25,000 kimg.
Every setting trains with ADA (target 0.6, adjusted every 4 steps, 500 kimg for p to go 0 -> 1; the
`bgc` pipeline) and the reference's Adam(betas 0, 0.99, eps 1e-8) with the lazy correction of the
regularized players (R1 every 16 D steps, path length every 4 G steps).
The CPU-sized `digits` and `mnist` follow the reference's `auto` rule for a new data set (EMA half-life
batch * 10 / 32 kimg with ramp-up 0.05, mapping 2, groups of 4) at a smaller width, with ADA's
adjustment sped up (20 kimg) so p can move within the run, except gamma: 1 on the digits, 10 on MNIST
(Mescheder et al.'s and the zoo's r1), as the rule's 0.0002 at 8x8 let G collapse (docs/stylegan2.md).
MNIST also takes the rule's batch (32) and, as the 32x32 `cifar` setting, no path length or style mixing.
Results (seed 0, 2-core CPU): digits, 4,000 steps, 2,041 s (shared with another run): 10/10 classes,
digits FD 16.0, precision 0.490, recall 0.722; MNIST, 4,500 steps, 2,635-2,828 s: 10/10 classes, MNIST FD 14.3,
precision 0.608, recall 0.512; truncation sweeps in docs/stylegan2.md. CIFAR-10 not measured yet.
"""
import ml_collections

from experiments import common

ARGS = ("digits", "mnist", "cifar10", "ffhq256")


def get_config(arg="digits"):
  dataset, *options = (arg or "digits").split(",")
  if dataset not in ARGS or options not in ([], ["cond"]) or (options and dataset != "cifar10"):
    raise ValueError(f"unknown argument {arg!r}: expected one of {', '.join(ARGS)} or 'cifar10,cond'")
  base = common.base_config()
  config = ml_collections.ConfigDict()
  config.family = "stylegan2"
  for key in ("seed", "batch_size", "parallelism", "steps_per_call", "profile_steps", "data", "augment", "log",
              "eval", "checkpoint", "divergence"):
    config[key] = base[key]
  config.augment.update(kind="ada", ada_target=0.6, ada_interval=4, ada_kimg=500.0)
  del config.augment["diffaugment_policy"]
  config.eval.update(truncation_psi=1.0, truncation_cutoff=0)
  config.model = ml_collections.ConfigDict(dict(
      z_dim=512, w_dim=512, mapping_layers=8, mapping_lr_multiplier=0.01, channel_base=32768, channel_max=512,
      conditional=False, d_architecture="resnet", mbstd_group_size=4, mbstd_num_channels=1,
      conv_clamp=256,  # 0: no clamping
      num_bf16_res=0))  # the highest resolutions computing in bfloat16 (accelerators; slow on a CPU)

  def adam(lr):
    return dict(name="adam", lr=lr, b1=0.0, b2=0.99, eps=1e-8, schedule="constant", final_lr_fraction=0.0)
  config.optim = ml_collections.ConfigDict(dict(g=adam(0.0025), d=adam(0.0025)))
  config.r1 = ml_collections.ConfigDict(dict(gamma=10.0, every=16))
  config.path_length = ml_collections.ConfigDict(dict(weight=2.0, every=4, decay=0.01, batch_shrink=2))
  config.style_mixing_prob = 0.9
  config.w_avg_beta = 0.995
  config.ema = ml_collections.ConfigDict(dict(kimg=10.0, rampup=0.0))
  config.batch_size = 64
  if dataset == "cifar10":
    common.set_dataset(config, "cifar10")
    config.model.update(mapping_layers=2, mbstd_group_size=32, d_architecture="orig", num_bf16_res=4,
                        conditional=options == ["cond"])
    config.r1.gamma = 0.01
    config.path_length.weight = 0.0
    config.style_mixing_prob = 0.0
    config.ema.update(kimg=500.0, rampup=0.05)
    config.num_train_steps = 100_000_000 // 64
  elif dataset == "ffhq256":
    config.data.update(name="image_folder", path="", image_size=256, channels=3)
    config.eval.update(every_steps=5000, num_samples=10000)
    config.checkpoint.every_steps = 5000
    config.model.update(channel_base=16384, mbstd_group_size=8, num_bf16_res=4)
    config.r1.gamma = 1.0
    config.ema.update(kimg=20.0, rampup=0.0)
    config.num_train_steps = 25_000_000 // 64
  else:
    common.set_dataset(config, dataset)
    resolution = 8 if dataset == "digits" else 32
    config.model.update(z_dim=128, w_dim=128, mapping_layers=2, channel_base=512, channel_max=64,
                        conv_clamp=0)
    # The `auto` rule's gamma (0.0002 res^2 / batch: 0.0002 at 8x8) let G collapse to a few digits within
    # 600 steps with or without path length, style mixing or ADA, and at lr 0.001; gamma 1 and 10 did not,
    # and on the digits gamma 1 learned faster (FD 194 against 252 at step 1,000; docs/stylegan2.md).
    config.r1.gamma = 1.0 if dataset == "digits" else 10.0
    if dataset == "mnist":
      # The `auto` rule's batch on one device (min(4096 // 32, 32) = 32), and no path length or style mixing,
      # as the reference's 32x32 `cifar` setting: a path-length step costs ~4x a plain one on a CPU, and
      # half the batch buys twice the steps in the 45-minute budget (docs/stylegan2.md).
      config.batch_size = 32
      config.path_length.weight = 0.0
      config.style_mixing_prob = 0.0
      # With path length off, G has no lazy phase (the reference's G_reg_interval None): its Adam keeps the
      # full rate. The `cifar` setting's interval 4 corrects it (lr x 4/5, beta2 ^ 4/5) for a phase that
      # never runs, which here ended at MNIST FD 19.9 against 14.3 (docs/stylegan2.md).
      config.path_length.every = 1
    config.ema.update(kimg=config.batch_size * 10 / 32, rampup=0.05)
    config.augment.ada_kimg = 20.0
    config.num_train_steps = 4000 if dataset == "digits" else 4500  # ~0.25 and ~0.5 s per step on 2 CPU cores
  return config
