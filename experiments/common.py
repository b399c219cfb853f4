"""Defaults shared by every experiment; each experiment file overrides what it needs."""
import ml_collections


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.batch_size = 64  # global, over all devices and processes
  config.num_train_steps = 1000
  config.loss = "non_saturating"  # see gan/losses.py
  config.n_critic = 1  # D updates per G update, each on its own real batch
  config.parallelism = "jit"  # "jit" (NamedSharding over a data mesh) or "pmap"
  # Train steps per compiled call (lax.scan; gan/parallel.py): fewer dispatches and host syncs. It must
  # divide num_train_steps and every *.every_steps. Helps small models; measure with scripts/benchmark.py.
  config.steps_per_call = 1
  # Train steps [first, last) to trace with the JAX profiler into WORKDIR/profile (TensorBoard's
  # profile plugin or Perfetto); (0, 0) traces nothing.
  config.profile_steps = (0, 0)

  config.data = ml_collections.ConfigDict(dict(
      name="digits",  # ring8 | grid25 | digits | tfds | idx | image_folder | array (gan/data/files.py)
      tfds_name="", split="train", data_dir=ml_collections.FieldReference(None, field_type=str),
      path="",  # idx: directory of IDX files; image_folder: folder of images; array: prepared .npz
      # image_size 0 keeps the data's size; channels 0 keeps its channels (1 or 3 converts)
      image_size=0, center_crop=0, resize_method="bilinear", channels=0))

  config.model = ml_collections.ConfigDict(dict(
      z_dim=64,
      # float32 | bfloat16: G and D compute in bfloat16; parameters, optimizer states and losses
      # stay float32 (mixed precision; gan/steps.py)
      compute_dtype="float32",
      # conditioning (gan/models/conditioning.py): G none | concat | cbn; D none | projection | acgan
      # norm (gan/models/normalization.py): batch | layer | instance | none; spectral_norm on weights
      generator=dict(name="dcgan", width=64, conditioning="none", norm="batch", spectral_norm=False),
      discriminator=dict(name="dcgan", width=64, conditioning="none", norm="batch",
                         spectral_norm=False)))
  config.acgan_weight = 1.0  # weight of AC-GAN's class loss, used when D's conditioning is "acgan"

  def adam(lr):
    return dict(name="adam", lr=lr, b1=0.5, b2=0.999, schedule="constant", final_lr_fraction=0.0)
  config.optim = ml_collections.ConfigDict(dict(g=adam(2e-4), d=adam(2e-4)))

  # Regularizers (gan/regularizers.py): each is off at weight/value 0, so one CLI value ablates it.
  # `every` = k > 1: lazy regularization, applied every k-th D update and scaled by k (StyleGAN2).
  # `schedule` (constant | linear_decay | cosine) takes the weight to `final_weight_fraction` of itself
  # over the run's D updates (gan/schedules.py).
  constant = dict(schedule="constant", final_weight_fraction=1.0)
  config.regularizers = ml_collections.ConfigDict(dict(
      r1=dict(weight=0.0, every=1, **constant),  # gamma of Mescheder et al. 2018 on real data
      r2=dict(weight=0.0, every=1, **constant),  # the same on generated data
      wgan_gp=dict(weight=0.0, every=1, one_sided=False, **constant),  # lambda of Gulrajani et al. 2017 (10)
      dragan=dict(weight=0.0, every=1, perturbation=0.5, **constant),  # lambda of Kodali et al. 2017 (10)
      weight_clip=dict(value=0.0),  # WGAN's c (0.01); clips every D parameter after its update
      orthogonal=dict(weight=0.0),  # BigGAN's orthogonal regularization strength for G (1e-4)
      # CR (Zhang et al. 2020): real_weight 10; bCR (Zhao et al. 2021): real_weight and fake_weight 10;
      # T = the ADA ops of `transforms` (gan/augment.py), each applied to every example
      consistency=dict(real_weight=0.0, fake_weight=0.0, transforms="xflip,int_translation")))

  # What D sees (gan/augment.py): kind none | diffaugment (Zhao et al. 2020; ops of
  # `diffaugment_policy`) | ada (Karras et al. 2020; ops of `ada_ops`, adaptive p).
  config.augment = ml_collections.ConfigDict(dict(
      kind="none", diffaugment_policy="color,translation,cutout",
      ada_ops="xflip,rotate90,int_translation,scale,rotate,aniso,frac_translation,brightness,contrast,"
              "lumaflip,hue,saturation",
      ada_target=0.6, ada_interval=4, ada_kimg=500.0))

  # EMA of G's weights; decay 0 disables it (samples then come from the raw G).
  config.ema = ml_collections.ConfigDict(dict(decay=0.0, start_step=0))
  config.log = ml_collections.ConfigDict(dict(every_steps=100))
  # Evaluation (gan/evaluation.py). inception_weights: local .npz of the FID Inception-v3 for image
  # FID/KID/IS on TFDS data ("" = skip them); primary_metric ranks evaluations for WORKDIR/best/
  # ("" = reverse_kl for toys, digits_fd for digits, inception_fd for TFDS with weights).
  # augmentation_score: for class-conditional digits models, also train classifiers on generated
  # samples (CAS, data augmentation; gan/metrics/augmentation_score.py), ~30 s per evaluation.
  # feature_net: "" = the data's default; "mnist_cnn" = the MnistCNN for grey 28/32 px digits, trained on
  # the IDX files at mnist_path ("" = data.path of idx data; gan/metrics/digits.py, docs/data.md).
  config.eval = ml_collections.ConfigDict(dict(every_steps=500, num_samples=10000, grid_size=64,
                                               inception_weights="", primary_metric="",
                                               augmentation_score=False, feature_net="", mnist_path=""))
  config.checkpoint = ml_collections.ConfigDict(dict(every_steps=1000, max_to_keep=3))
  config.divergence = divergence_policy()
  return config


DATASETS = ("digits", "mnist", "cifar10")


def set_dataset(config: ml_collections.ConfigDict, dataset: str) -> ml_collections.ConfigDict:
  """Points a paper's config at `digits` (built-in 8x8, CPU-sized), `mnist` (the user's IDX files,
  28 -> 32x32x1, CPU-sized) or `cifar10` (TFDS, 32x32x3).

  The zoo's experiment files take it as their argument: `--config=experiments/sngan.py:cifar10`.
  MNIST needs `--config.data.path=MNIST_DIR` (the four IDX files; docs/data.md) and is evaluated in
  the MnistCNN's feature space, trained once on those files. CIFAR-10 needs the prepared TFDS dataset
  (`tfds build cifar10 --data_dir=DIR`, then `--config.data.data_dir=DIR`).
  """
  if dataset == "digits":
    config.data.name = "digits"
    config.eval.update(every_steps=1000, num_samples=5000)
    config.checkpoint.every_steps = 1000
  elif dataset == "mnist":
    # data.path "" fails with one line when the data is opened: pass --config.data.path=MNIST_DIR.
    config.data.update(name="idx", path="", split="train", image_size=32, channels=1)
    config.eval.update(every_steps=1000, num_samples=10000, feature_net="mnist_cnn")
    config.checkpoint.every_steps = 1000
  elif dataset == "cifar10":
    config.data.update(name="tfds", tfds_name="cifar10", split="train", image_size=32, channels=3)
    config.eval.update(every_steps=5000, num_samples=10000)
    config.checkpoint.every_steps = 5000
  else:
    raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
  return config


def set_size(config, dataset: str, *, cifar10_steps: int, digits_steps: int, digits_width: int,
             mnist_steps: int, mnist_width: int, cifar10_z_dim: int = 128, mnist_nets: str = "") -> bool:
  """The paper's z_dim and length on CIFAR-10; on digits and MNIST z_dim 64 and a CPU-sized length and
  width of both players (`*_steps`, `*_width`; MNIST's sized so a run takes <= 30 min on 2 CPU cores,
  docs/zoo.md), and on MNIST both players' model family `mnist_nets` when given (the paper's otherwise).
  Returns whether `dataset` is CIFAR-10."""
  dataset = dataset or "digits"
  if dataset == "cifar10":
    config.model.z_dim = cifar10_z_dim
    config.num_train_steps = cifar10_steps
    return True
  steps, width = {"digits": (digits_steps, digits_width), "mnist": (mnist_steps, mnist_width)}[dataset]
  config.model.z_dim = 64
  config.num_train_steps = steps
  config.model.generator.width = config.model.discriminator.width = width
  if dataset == "mnist" and mnist_nets:
    config.model.generator.name = config.model.discriminator.name = mnist_nets
  return False


def adam_players(config, g_lr, d_lr, b1, b2):
  """Both players' Adam settings (different learning rates = TTUR, Heusel et al. 2017)."""
  config.optim.g.update(name="adam", lr=g_lr, b1=b1, b2=b2)
  config.optim.d.update(name="adam", lr=d_lr, b1=b1, b2=b2)
  return config


def translation_config(family: str, task: str) -> ml_collections.ConfigDict:
  """Keys shared by the image-to-image translation families (gan/families/translation.py): the task at
  32x32x1, Adam(2e-4, b1 0.5) for both players with the learning rate constant for the first half of the
  run and then decayed linearly to 0 (pix2pix's and CycleGAN's schedule), logging, evaluation and
  checkpoint intervals. Each family's experiment adds its networks and loss weights."""
  config = ml_collections.ConfigDict()
  config.family = family
  config.seed = 0
  config.batch_size = 32  # global, over all devices and processes
  config.num_train_steps = 2000
  config.parallelism = "jit"
  config.steps_per_call = 1
  config.profile_steps = (0, 0)
  config.loss = "non_saturating"
  # name: the task (gan/data/translation.py); path: the MNIST IDX directory of digits2mnist / edges2mnist
  config.data = ml_collections.ConfigDict(dict(name=task, image_size=32, channels=1, path=""))
  config.model = ml_collections.ConfigDict(dict(compute_dtype="float32"))

  def adam():
    return dict(name="adam", lr=2e-4, b1=0.5, b2=0.999, schedule="constant_then_linear",
                final_lr_fraction=0.0, decay_start_fraction=0.5)
  config.optim = ml_collections.ConfigDict(dict(g=adam(), d=adam()))
  config.log = ml_collections.ConfigDict(dict(every_steps=100))
  # Evaluation: the first num_samples held-out images of each direction; grid_size of them pictured;
  # primary_metric "" = <direction>_fd.
  config.eval = ml_collections.ConfigDict(dict(every_steps=500, num_samples=10000, grid_size=8,
                                               primary_metric=""))
  config.checkpoint = ml_collections.ConfigDict(dict(every_steps=500, max_to_keep=3))
  config.divergence = divergence_policy()
  return config


def divergence_policy() -> ml_collections.ConfigDict:
  """On a NaN or Inf (gan/rollback.py): action "stop" ends the run naming the step and the quantity;
  "rollback" returns to the last good checkpoint with the learning rates times lr_factor, at most
  max_rollbacks times."""
  return ml_collections.ConfigDict(dict(action="stop", lr_factor=0.5, max_rollbacks=3))


TEXT_DATASETS = ("oracle", "coco")


def text_arg(arg: str | None) -> tuple[str, bool]:
  """(dataset, cpu) of a text experiment's argument: `oracle` (default) or `coco`, optionally `,cpu` (the
  experiment sized for a 2-core CPU)."""
  dataset, *options = (arg or "oracle").split(",")
  if options not in ([], ["cpu"]):
    raise ValueError(f"unknown option {','.join(options)!r}: expected nothing or 'cpu' (e.g. oracle,cpu)")
  return dataset, options == ["cpu"]


def text_config(gan: str, dataset: str) -> ml_collections.ConfigDict:
  """Keys shared by the text experiments (gan/families/text.py): the data (`oracle`, SeqGAN's synthetic
  benchmark, built in; `coco`, a directory of train.txt/test.txt given by --config.data.path), SeqGAN's
  LSTM generator (embedding and hidden 32, N(0, 0.1) init), MLE pre-training with Adam(1e-2) and
  gradients clipped to norm 5 (both references), batch 64, evaluation and checkpoint intervals. Each
  experiment sets its stages' lengths and adds its adversarial keys."""
  if dataset not in TEXT_DATASETS:
    raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(TEXT_DATASETS)}")
  config = ml_collections.ConfigDict()
  config.family = "text"
  config.gan = gan
  config.seed = 0
  config.batch_size = 64
  config.num_train_steps = 1000
  config.mle_steps = 1000
  config.parallelism = "jit"
  config.steps_per_call = 1
  config.profile_steps = (0, 0)
  oracle = dict(seed=0, vocab_size=5000, embed_dim=32, hidden_dim=32, num_train=10000, num_test=10000)
  # max_length: oracle 20 (SeqGAN); text files 0 = the longest line + 1 (every sentence ends with <eos>).
  # vocabulary: "train" (RelGAN's run.py: the training file's words; other test words are <unk>) or
  # "train+test"; max_vocab 0 = every word.
  # tokenizer: "treebank" (NLTK's word_tokenize, as Texygen and RelGAN split COCO's lines: "wheel." is
  # "wheel", ".") or "whitespace" (gan/data/tokenize.py).
  config.data = ml_collections.ConfigDict(dict(
      name="oracle" if dataset == "oracle" else "text_file", path="", max_length=20 if dataset == "oracle" else 0,
      vocabulary="train", max_vocab=0, tokenizer="treebank", oracle=oracle))
  config.model = ml_collections.ConfigDict(dict(
      compute_dtype="float32",
      # core lstm (SeqGAN) | relational_memory (RelGAN: mem_slots, head_size, num_heads)
      generator=dict(core="lstm", embed_dim=32, hidden_dim=32, init_stddev=0.1, mem_slots=1, head_size=256,
                     num_heads=2)))

  def adam(lr, b1=0.9):
    return dict(name="adam", lr=lr, b1=b1, b2=0.999, schedule="constant", final_lr_fraction=0.0, clip_norm=5.0)
  config.optim = ml_collections.ConfigDict(dict(g_mle=adam(1e-2)))
  config.log = ml_collections.ConfigDict(dict(every_steps=100))
  # Evaluation (gan/families/text_evaluation.py): num_samples samples at `temperature`; BLEU and Self-BLEU
  # on the first bleu_samples of them (RelGAN's 200); grid_size of them written to samples/step_N.txt;
  # primary_metric "" = nll_oracle (oracle) or bleu_4 (text files).
  config.eval = ml_collections.ConfigDict(dict(every_steps=500, num_samples=10000, temperature=1.0,
                                               bleu_samples=200, grid_size=32, primary_metric=""))
  config.checkpoint = ml_collections.ConfigDict(dict(every_steps=500, max_to_keep=3))
  config.divergence = divergence_policy()
  return config


def text_discriminator(config, name: str) -> None:
  """Adds a text discriminator and the adversarial optimizers (both references: Adam, clip norm 5)."""
  if name == "seqgan":  # Yu et al. 2017 / Kim 2014: widths 1-10, 15, 20; dropout keep 0.75
    d = dict(name="seqgan", embed_dim=64, filter_sizes=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20),
             num_filters=(100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160), dropout=0.25)
  else:  # Nie et al. 2019: 64 representations of 1 dimension each, widths 2-5 x 300
    d = dict(name="relgan", embed_dim=64, num_rep=64, filter_sizes=(2, 3, 4, 5), num_filters=(300, 300, 300, 300),
             dropout=0.25)
  config.model.discriminator = ml_collections.ConfigDict(d)
