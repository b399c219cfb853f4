"""cifar10_dcgan: DCGAN (Radford et al. 2016) on CIFAR-10 (32x32x3) via TFDS.

G: z(128) -> 4x4x512 -> transposed convs to 256, 128, 64 channels -> 3x3 conv -> tanh; D: strided convs
64, 128, 256 with BN and LeakyReLU(0.2) -> linear; Adam 2e-4 (beta1 0.5), batch 64, non-saturating
loss, 100k G steps, EMA generator. Needs the prepared TFDS `cifar10`
(`tfds build cifar10 --data_dir=DIR`, then `--config.data.data_dir=DIR`); no result is measured
here yet (it needs the data and FID Inception weights).
"""
from experiments import common


def get_config(arg=None):
  del arg
  config = common.base_config()
  config.data.update(name="tfds", tfds_name="cifar10", split="train", image_size=32, channels=3)
  config.batch_size = 64
  config.num_train_steps = 100000
  config.loss = "non_saturating"
  config.model.z_dim = 128
  config.ema.decay = 0.999
  config.eval.every_steps = 5000
  config.checkpoint.every_steps = 5000
  return config
