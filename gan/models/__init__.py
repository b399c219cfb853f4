"""Generator and discriminator families, chosen by `config.model.{generator,discriminator}.name`.

Every generator is called as `G(z, labels, train=...) -> x` and every discriminator as
`D(x, labels, train=...) -> logits (B,)`; `labels` is ignored by unconditional models and used as
set by `conditioning` (gan/models/conditioning.py) by conditional ones. Modules that
normalise over the batch take `axis_name` so their statistics are cross-replica under pmap.
"""
from __future__ import annotations

from gan.models import biggan_deep, conditioning, dcgan, mlp, resnet

GENERATORS = {"mlp": mlp.MLPGenerator, "dcgan": dcgan.DCGANGenerator, "resnet": resnet.ResNetGenerator,
              "biggan_deep": biggan_deep.BigGANDeepGenerator}
DISCRIMINATORS = {"mlp": mlp.MLPDiscriminator, "dcgan": dcgan.DCGANDiscriminator,
                  "standard_cnn": dcgan.StandardCNNDiscriminator, "resnet": resnet.ResNetDiscriminator,
                  "biggan_deep": biggan_deep.BigGANDeepDiscriminator}
# The `conditioning` values each family supports (gan/models/conditioning.py).
GENERATOR_CONDITIONING = {"mlp": ("none", "concat"), "dcgan": (*conditioning.GENERATOR_CONDITIONING, "biggan"),
                          "resnet": (*conditioning.GENERATOR_CONDITIONING, "biggan"),
                          "biggan_deep": (*conditioning.GENERATOR_CONDITIONING, "biggan")}
DISCRIMINATOR_CONDITIONING = {name: conditioning.DISCRIMINATOR_CONDITIONING for name in DISCRIMINATORS}


def build(model_config, example_shape, *, num_classes=None, axis_name=None):
  """Returns `(generator, discriminator)` Flax modules for data of shape `example_shape`.

  `num_classes` (the dataset's, None when unlabelled) sizes the class-conditioning layers.
  """
  # Lists (a config read back from a checkpoint's JSON) become tuples: module fields must be hashable.
  def kwargs(section):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in section.items() if k != "name"}
  g_kwargs, d_kwargs = kwargs(model_config.generator), kwargs(model_config.discriminator)
  g_cls = GENERATORS[model_config.generator.name]
  d_cls = DISCRIMINATORS[model_config.discriminator.name]
  if g_cls in (dcgan.DCGANGenerator, resnet.ResNetGenerator, biggan_deep.BigGANDeepGenerator):
    g_kwargs.update(resolution=example_shape[0], channels=example_shape[-1])
  else:
    g_kwargs.update(out_dim=example_shape[-1])
  return (g_cls(axis_name=axis_name, num_classes=num_classes, **g_kwargs),
          d_cls(axis_name=axis_name, num_classes=num_classes, **d_kwargs))
