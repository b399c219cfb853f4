"""grid25: 25 Gaussians on {-4,-2,0,2,4}^2, std 0.02 (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

Target (2-core CPU, 10,000 samples): 25/25 modes, >= 95% high-quality samples,
reverse KL <= 0.02 in <= 10 minutes, seeds 0, 1, 2. For reference PacGAN reports 24.8/25 modes and
93.6% HQ; a plain MLP GAN tuned here for half an hour reached 19/25 and 58%.

Recipe: the ring8 recipe (experiments/ring8.py) — 3x128 MLPs, z_dim 2, non-saturating loss,
Adam(1e-3, b1 0.5) with linear decay to 1%, batch 1024, EMA 0.999 from step 15k — with 30k steps,
an R1 gradient penalty on D's real inputs, gamma 0.3 (Mescheder et al. 2018, "Which training
methods for GANs do actually converge?", Eq. 9; gan/regularizers.py), and a wider generator,
3x256; 10 steps per compiled call (lax.scan; identical numbers, ~17% less time per step on CPU).
Why (seed 1, the hard seed, unless stated; tables in scripts/benchmarks/results/toy_quality.md):
- R1 fixes coverage and balance. Without it the game oscillates (seed 1: 12/17/10/18 modes at
  5k/10k/15k/20k with TTUR) and whatever modes G holds when the rate has decayed are frozen in:
  seed 1 ends with 20/25 modes, rKL 0.23 (G 3x128, mean over seeds 0-2: 23.3 modes, HQ 0.954,
  rKL 0.090). With R1 every finished run (15 of 15) ends with 25/25 and rKL <= 0.007.
- G 3x256: the non-HQ mass of the 3x128 G (seed 1 at 30k: ~4% in tails 0.06-0.3 from a centre,
  ~2.5% on bridges between modes, cores tight at median distance 0.015) is G's transitions between
  modes, not its widths; the wider G makes them sharper: mean HQ 0.932 -> 0.958 (seeds 0-2).
- gamma 0.3 (G 3x128): final HQ 0.916 (gamma 0.1), 0.935 (0.3), 0.916 (1), all 25/25, rKL 0.002.
  Decaying gamma to 0 over the run (`regularizers.r1.schedule=cosine`, `final_weight_fraction=0`,
  after Huang et al. 2024) did not help: 0.9185.
- linear lr decay: with a constant rate (R1 on) seed 1 still covers 25 modes but HQ stalls at
  0.865 / 0.861 / 0.866 (20k / 25k / 30k); with decay it climbs 0.88 -> 0.92 -> 0.935.
- batch 1024: batch 256 (same steps, R1 on, G 3x128) ends at mean HQ 0.909 against 0.932.
- 40k steps instead of 30k (G 3x128): 0.937, no better.
- EMA: no measurable effect with R1 (raw G of the 3x128 runs: mean HQ 0.934 against 0.932); kept,
  as in ring8, since it costs nothing.
Tried without R1 (seed 1, 30k steps): D lr 2e-3 (TTUR) 18 modes, HQ 0.970, rKL 0.34; Adam b1 0:
24 modes, HQ 0.957, rKL 0.065; n_critic 2: 14 modes at 15k (stopped; twice the cost per step).
Earlier (seed 0, batch 256): PacGAN packing 2/4 and z_dim 16 collapsed modes.

Measured (final eval, EMA G, 10,000 samples; real CLI as scripts/benchmarks/toy_quality.py runs it):
  seed 0: 25 modes, HQ 0.9566, rKL 0.0008 | seed 1: 25, 0.9538, 0.0005 | seed 2: 25, 0.9630, 0.0010
  -> every bar met on every seed. Seed 1 alone on the idle 2-core CPU: 310 s by
  python scripts/benchmarks/toy_quality.py --config=experiments/grid25.py --seeds=1
  (seeds 0 and 2 ran two at once: 581 / 579 s wall, 576 / 573 s CPU each).
"""
from experiments import ring8


def get_config(arg=None):
  """The ring8 recipe, longer, with R1 on D and a wider G."""
  del arg
  config = ring8.get_config()
  config.data.name = "grid25"
  config.num_train_steps = 30000
  config.steps_per_call = 10  # lax.scan over 10 steps: ~17% faster per step for these MLPs on CPU
  config.model.generator.hidden = (256, 256, 256)  # the sharper mode boundaries that HQ needs
  config.regularizers.r1.weight = 0.3  # gamma; every D update
  config.ema.start_step = 15000
  config.eval.every_steps = 5000
  config.checkpoint.every_steps = 10000
  return config
