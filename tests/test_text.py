"""The text family (gan/families/text.py) and its pieces: the oracle LSTM against NumPy, sampling, the
REINFORCE gradient and Gumbel-softmax against closed forms, RelGAN's temperature schedule, the RSGAN
loss, the text-file loader, RelGAN's jit = pmap, and scripts/sample.py's text output."""
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan import losses
from gan import text_sequences as seq
from gan.data import text as text_data
from gan.data import tokenize
from gan.errors import UserError
from gan.families import text as text_family
from gan.models import text_discriminators, text_generators
from tests.helpers import assert_trees_close, run_steps
from tests.test_cli import run_script


def tiny_oracle(vocab=7, embed=3, hidden=4, seed=3):
  return ml_collections.ConfigDict(dict(seed=seed, vocab_size=vocab, embed_dim=embed, hidden_dim=hidden,
                                        num_train=40, num_test=30))


def numpy_lstm_logits(params, tokens, bos):
  """SeqGAN's LSTM written out in NumPy (float64): logits (B, L, V) given <bos> and the prefix."""
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  emb, kernel, bias = p["embed"]["embedding"], p["cell"]["gates"]["kernel"], p["cell"]["gates"]["bias"]
  hidden = kernel.shape[1] // 4
  batch, length = tokens.shape
  h, c = np.zeros((batch, hidden)), np.zeros((batch, hidden))
  sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
  inputs = np.concatenate([np.full((batch, 1), bos), tokens[:, :-1]], axis=1)
  out = []
  for t in range(length):
    gates = np.concatenate([emb[inputs[:, t]], h], axis=1) @ kernel + bias
    i, f, o, g = np.split(gates, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    out.append(h @ p["out"]["kernel"] + p["out"]["bias"])
  return np.stack(out, axis=1)


def log_softmax(x):
  x = x - x.max(axis=-1, keepdims=True)
  return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_oracle_parameters_are_standard_normal_and_its_nll_matches_numpy():
  oracle = tiny_oracle()
  generator, params = text_data.oracle_generator(oracle), text_data.oracle_params(oracle)
  leaves = np.concatenate([np.ravel(x) for x in jax.tree.leaves(params)])
  assert abs(leaves.mean()) < 0.15 and abs(leaves.std() - 1.0) < 0.15  # SeqGAN's init_matrix N(0, 1)
  data = text_data.load_oracle(oracle, max_length=5)
  assert data.train.shape == (40, 5) and data.test.shape == (30, 5) and data.eos_id == -1
  logits = numpy_lstm_logits(params, data.test, bos=0)
  want = -np.take_along_axis(log_softmax(logits), data.test[..., None], axis=-1).mean()
  assert data.info["oracle_entropy"] == pytest.approx(want, rel=1e-5)
  got = seq.mean_nll_in_chunks(generator, params, data.test, bos_id=0, eos_id=-1)
  assert got == pytest.approx(want, rel=1e-5)
  # the same seed gives the same data; another seed other parameters
  np.testing.assert_array_equal(text_data.load_oracle(oracle, max_length=5).train, data.train)
  other = text_data.oracle_params(tiny_oracle(seed=4))
  assert not np.allclose(other["out"]["bias"], params["out"]["bias"])


def test_sampling_is_the_inverse_cdf_draw_fed_back_autoregressively():
  oracle = tiny_oracle()
  generator, params = text_data.oracle_generator(oracle), text_data.oracle_params(oracle)
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(9), i))(jnp.arange(6))
  tokens = np.asarray(seq.sample(generator, params, keys, length=4, bos_id=0, eos_id=-1, temperature=0.7))
  # replay: the logits given the sampled prefix (teacher forcing in NumPy) and each example's uniform
  probs = np.exp(log_softmax(numpy_lstm_logits(params, tokens, bos=0) / 0.7))
  for b in range(6):
    for t in range(4):
      u = float(jax.random.uniform(jax.random.fold_in(keys[b], t)))
      assert tokens[b, t] == np.searchsorted(np.cumsum(probs[b, t]), u, side="right")


def test_samples_follow_the_model_distribution():
  oracle = tiny_oracle(vocab=4)
  generator, params = text_data.oracle_generator(oracle), text_data.oracle_params(oracle)
  tokens = seq.sample_in_chunks(generator, params, 4000, jax.random.PRNGKey(0), length=1, bos_id=0, eos_id=-1)
  probs = np.exp(log_softmax(numpy_lstm_logits(params, tokens[:1], bos=0)[0, 0]))
  freq = np.bincount(tokens[:, 0], minlength=4) / 4000
  assert (np.abs(freq - probs) <= 4 * np.sqrt(probs * (1 - probs) / 4000) + 1e-3).all(), (freq, probs)
  # sample i depends on (key, i) only: a prefix of a larger draw is the smaller draw
  again = seq.sample_in_chunks(generator, params, 1500, jax.random.PRNGKey(0), length=1, bos_id=0, eos_id=-1)
  np.testing.assert_array_equal(again, tokens[:1500])


def test_after_the_first_eos_every_token_is_eos_and_the_mask_stops_there():
  generator = text_generators.TextGenerator(vocab_size=5, embed_dim=3, hidden_dim=4, init_stddev=2.0)
  params = generator.init(jax.random.PRNGKey(1), jnp.zeros((1,), jnp.int32))["params"]
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(2), i))(jnp.arange(200))
  tokens, soft = seq.sample(generator, params, keys, length=8, bos_id=1, eos_id=0, beta=3.0)
  tokens, soft = np.asarray(tokens), np.asarray(soft)
  ended = 0
  for row, soft_row in zip(tokens, soft):
    if 0 in row:
      first = list(row).index(0)
      ended += 1
      assert (row[first:] == 0).all()
      np.testing.assert_array_equal(soft_row[first + 1:], np.eye(5)[np.zeros(len(row) - first - 1, int)])
  assert ended > 20
  m = np.asarray(seq.mask(jnp.array([[3, 0, 0, 0], [3, 4, 2, 1]]), 0))
  np.testing.assert_array_equal(m, [[1, 1, 0, 0], [1, 1, 1, 1]])
  np.testing.assert_array_equal(np.asarray(seq.mask(jnp.array([[0, 1]]), -1)), [[1, 1]])


def test_gumbel_softmax_tokens_are_the_gumbel_max_draw_and_the_soft_samples_sum_to_one():
  generator = text_generators.TextGenerator(vocab_size=6, embed_dim=3, hidden_dim=4, init_stddev=1.0)
  params = generator.init(jax.random.PRNGKey(1), jnp.zeros((1,), jnp.int32))["params"]
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(3), i))(jnp.arange(50))
  draws = [tuple(np.asarray(a) for a in seq.sample(generator, params, keys, length=5, bos_id=0, eos_id=-1,
                                                      beta=beta)) for beta in (1.0, 1e6)]
  np.testing.assert_array_equal(draws[0][0], draws[1][0])  # beta changes the relaxation, not the draw
  tokens = draws[0][0]
  logits = numpy_lstm_logits(generator.init(jax.random.PRNGKey(1), jnp.zeros((1,), jnp.int32))["params"],
                             tokens, bos=0)
  for b, t in ((0, 0), (7, 3), (49, 4)):  # y_t = argmax(o_t + g_t) with the example's Gumbel noise
    noise = np.asarray(jax.random.gumbel(jax.random.fold_in(keys[b], t), (6,)))
    assert tokens[b, t] == np.argmax(logits[b, t] + noise)
  for _, soft in draws:
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(soft.argmax(-1), tokens)
  np.testing.assert_allclose(draws[1][1], np.eye(6)[tokens], atol=1e-3)  # beta -> inf: one-hot


@pytest.mark.parametrize("schedule,n,want", [
    ("exp", 0, 1.0), ("exp", 2500, 10.0), ("exp", 5000, 100.0), ("exp", 9000, 100.0), ("no", 7, 100.0),
    ("lin", 4999, 100.0), ("lin", 0, 1.0), ("log", 0, 1.0), ("log", 4999, 100.0),
    ("sigmoid", 2500, 50.5), ("quad", 4999, 100.0), ("sqrt", 4999, 100.0)])
def test_relgan_temperature_follows_its_reference_formulas(schedule, n, want):
  assert float(text_family.temperature(schedule, 100.0, n, 5000)) == pytest.approx(want, rel=1e-4)


def test_rsgan_loss_is_the_pairwise_logistic_loss():
  real, fake = jnp.array([2.0, -1.0]), jnp.array([0.5, 1.0])
  d_fn, g_fn = losses.get("rsgan")
  softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
  assert float(d_fn(real, fake)) == pytest.approx((softplus(-1.5) + softplus(2.0)) / 2, rel=1e-6)
  assert float(g_fn(real, fake)) == pytest.approx((softplus(1.5) + softplus(-2.0)) / 2, rel=1e-6)


class TokenScore(text_family.nn.Module):
  """A stand-in D for the REINFORCE test: logit = score[token] of a one-token sequence (one-hot or ids, as
  the text discriminators read them)."""
  score: tuple

  @text_family.nn.compact
  def __call__(self, x, example_ids=None, *, train):
    del example_ids, train
    self.param("unused", jax.nn.initializers.zeros, (1,))
    return text_discriminators.embed(x, jnp.asarray(self.score)[:, None])[:, 0, :]


def test_seqgan_policy_gradient_matches_the_closed_form_on_a_two_token_toy():
  """One token from two, reward R = D's probability; E[sum_i R(y_i) grad log p(y_i)] = N p (R - p.R) for
  the output bias (d E_p[R] / d logits), and SGD(lr 1) moves the bias by that summed gradient."""
  import optax  # pylint: disable=g-import-not-at-top
  generator = text_generators.TextGenerator(vocab_size=2, embed_dim=2, hidden_dim=2, init_stddev=0.5)
  scores = (-1.0, 2.0)
  n = 20000
  game = text_family.TextGame(
      generator=generator, discriminator=TokenScore(scores), gan="seqgan", g_mle_optimizer=optax.sgd(1.0),
      g_optimizer=optax.sgd(1.0), d_optimizer=optax.sgd(0.0), batch_size=n, vocab_size=2, max_length=1,
      bos_id=0, eos_id=-1, mle_steps=0, num_rollouts=2)
  state = game.init(jax.random.PRNGKey(0), {"tokens": np.zeros((n, 1), np.int32)})
  before = state.players["G"].params
  batch = {"tokens": np.zeros((1, n, 1), np.int32)}  # (updates, batch, length): G reads only its shape
  new_state, _ = jax.jit(lambda s, k: game._seqgan_g_update(s, batch, k, None))(state, jax.random.PRNGKey(5))
  moved = np.asarray(new_state.players["G"].params["out"]["bias"] - before["out"]["bias"]) / n
  logits = numpy_lstm_logits(before, np.zeros((1, 1), int), bos=0)[0, 0]
  p = np.exp(log_softmax(logits))
  reward = 1 / (1 + np.exp(-np.array(scores)))
  want = p * (reward - p @ reward)
  assert np.abs(moved - want).max() <= 4 * np.sqrt(p.prod() / n) * np.abs(reward).max(), (moved, want)
  # the roll-out policy follows G with rate 0.8 (the embedding copied)
  rollout = new_state.extras["rollout_params"]
  np.testing.assert_allclose(rollout["out"]["bias"], 0.8 * before["out"]["bias"]
                             + 0.2 * new_state.players["G"].params["out"]["bias"], rtol=1e-6)
  np.testing.assert_array_equal(rollout["embed"]["embedding"], new_state.players["G"].params["embed"]["embedding"])


def test_rollout_rewards_average_d_over_completions_of_each_prefix():
  """With D(y) = 1 when the sequence's last token is 1: Q(prefix of t < L) is the fraction of completions
  ending in 1, Q(whole) = D(y); completions keep the prefix."""
  generator = text_generators.TextGenerator(vocab_size=3, embed_dim=2, hidden_dim=2, init_stddev=0.5)
  params = generator.init(jax.random.PRNGKey(1), jnp.zeros((1,), jnp.int32))["params"]
  tokens = jnp.array([[1, 2, 1], [0, 0, 2]])
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(4), i))(jnp.arange(2))
  seen = []

  def last_is_one(candidates):
    seen.append(candidates)
    return (candidates[:, -1] == 1).astype(jnp.float32)

  rewards = np.asarray(seq.rollout_rewards(generator, params, last_is_one, tokens, keys, num_rollouts=64,
                                           bos_id=0, eos_id=-1))
  np.testing.assert_array_equal(rewards[:, -1], [1.0, 0.0])
  logits = numpy_lstm_logits(params, np.asarray(tokens), bos=0)
  p_last = np.exp(log_softmax(logits))[:, 2, 1]  # p(y_3 = 1 | y_1, y_2): Q of the length-2 prefix
  np.testing.assert_allclose(rewards[:, 1], p_last, atol=4 * np.sqrt(0.25 / 64))
  assert ((rewards >= 0) & (rewards <= 1)).all()


def write_text(tmp_path, train, test):
  (tmp_path / "train.txt").write_text("".join(line + "\n" for line in train))
  (tmp_path / "test.txt").write_text("".join(line + "\n" for line in test))
  return str(tmp_path)


def test_text_files_vocabulary_unknown_words_and_long_lines(tmp_path):
  path = write_text(tmp_path, ["a cat sat", "a dog", "", "a cat ran far away now"], ["a bird sat"])
  data = text_data.load_text_files(path, vocabulary="train")
  assert data.words[:3] == ["<eos>", "<bos>", "<unk>"]
  assert data.words[3:] == ["a", "cat", "away", "dog", "far", "now", "ran", "sat"]  # by count, then A-Z
  assert data.max_length == 7 and data.train.shape == (3, 7)  # blank line dropped; longest (6) + <eos>
  assert text_data.decode(data.train, data.words, data.eos_id) == ["a cat sat", "a dog", "a cat ran far away now"]
  assert text_data.decode(data.test, data.words, data.eos_id) == ["a <unk> sat"]
  assert data.info["unknown_tokens"] == {"train": 0, "test": 1}
  both = text_data.load_text_files(path, vocabulary="train+test")
  assert "bird" in both.words and text_data.decode(both.test, both.words, both.eos_id) == ["a bird sat"]
  short = text_data.load_text_files(path, max_length=3)
  assert text_data.decode(short.train, short.words, short.eos_id)[2] == "a cat"  # max_length - 1 words
  assert short.info["truncated_lines"] == {"train": 2, "test": 1}
  capped = text_data.load_text_files(path, vocabulary="train", max_vocab=2)
  assert capped.words == ["<eos>", "<bos>", "<unk>", "a", "cat"]
  assert text_data.decode(capped.train, capped.words, capped.eos_id)[1] == "a <unk>"


@pytest.mark.parametrize("line,tokens", [
    ("a bicycle replica with a clock as the front wheel.", "a bicycle replica with a clock as the front wheel ."),
    ("a dog's toy, 1,000 cats: two.. yes", "a dog 's toy , 1,000 cats : two .. yes"),
    ('the "blue" bus isn\'t here; a man. a dog.', "the `` blue '' bus is n't here ; a man. a dog ."),
    ("letters 'mt' on the dogs' bed (left) -- cannot go?", "letters ' mt ' on the dogs ' bed ( left ) -- can not go ?"),
    ("we'll gonna $5 & more!", "we 'll gon na $ 5 & more !")])
def test_treebank_tokens_are_nltks_word_tokenize(line, tokens):
  """Hand-checked against NLTK 3.10's word_tokenize(line, preserve_line=True), which agrees with
  gan/data/tokenize.py on every line of the COCO benchmark files (docs/text.md)."""
  assert tokenize.treebank(line) == tokens.split()
  assert tokenize.tokenize(line, "whitespace") == line.split()


def test_text_files_with_the_treebank_tokenizer(tmp_path):
  path = write_text(tmp_path, ["a cat sat.", "a dog, a cat."], ["a cat's hat."])
  data = text_data.load_text_files(path, tokenizer="treebank", vocabulary="train+test")
  assert data.words[3:] == ["a", ".", "cat", "'s", ",", "dog", "hat", "sat"]  # "sat." is "sat", "."
  assert text_data.decode(data.test, data.words, data.eos_id) == ["a cat 's hat ."]
  assert data.info["tokenizer"] == "treebank"


@pytest.mark.parametrize("layout,message", [
    ("missing_dir", "expected a directory"), ("no_test", "test.txt does not exist"), ("empty", "has no sentences"),
    ("binary", "cannot be read as UTF-8")])
def test_text_file_errors_name_the_file(tmp_path, layout, message):
  path = tmp_path / "data"
  if layout != "missing_dir":
    path.mkdir()
    (path / "train.txt").write_text("a b\n")
    if layout == "empty":
      (path / "test.txt").write_text("\n\n")
    elif layout == "binary":
      (path / "test.txt").write_bytes(b"\xff\xfe\x00bad")
  with pytest.raises(UserError, match=message):
    text_data.load_text_files(str(path))


def test_token_batches_are_deterministic_and_split_over_processes():
  tokens = np.arange(40, dtype=np.int32).reshape(20, 2)
  whole = text_data.TokenDataset(x=tokens, labels=None, seed=1, batch_size=4, kind="tokens")
  parts = [text_data.TokenDataset(x=tokens, labels=None, seed=1, batch_size=4, kind="tokens", process_index=p,
                                  process_count=2) for p in range(2)]
  for i in (0, 7):
    batch = whole.get_batch(i)["tokens"]
    assert batch.dtype == np.int32 and batch.shape == (4, 2)
    np.testing.assert_array_equal(np.concatenate([p.get_batch(i)["tokens"] for p in parts]), batch)


def relgan_smoke():
  from experiments import relgan  # pylint: disable=g-import-not-at-top
  config = relgan.get_config()
  config.update_from_flattened_dict({
      "batch_size": 8, "mle_steps": 1, "data.max_length": 5, "data.oracle.vocab_size": 10,
      "data.oracle.num_train": 32, "data.oracle.num_test": 16, "model.generator.embed_dim": 4,
      "model.generator.head_size": 4, "model.discriminator.embed_dim": 4, "model.discriminator.num_rep": 2,
      "model.discriminator.filter_sizes": (2, 3), "model.discriminator.num_filters": (3, 3), "n_critic": 2})
  for player in ("g_mle", "g", "d"):
    config.optim[player].update(name="sgd", lr=0.01)
  return config


def test_relgan_pmap_on_4_devices_matches_one_device():
  """RelGAN (the family suite, tests/test_families.py, runs SeqGAN): MLE then adversarial steps."""
  config = relgan_smoke()
  ref_state, ref_history = run_steps(config, 3, mode="jit", devices=jax.devices()[:1])
  assert [int(h["stage"]) for h in ref_history] == [0, 2, 2]
  state, history = run_steps(config, 3, mode="pmap", devices=jax.devices()[:4])
  for got, want in zip(history, ref_history):
    assert_trees_close(got, want, rtol=1e-3, atol=1e-5)
  assert_trees_close(state, ref_state, rtol=1e-4, atol=1e-5)


def test_sample_script_writes_sentences_and_token_ids(tmp_path):
  (tmp_path / "data").mkdir()
  data = write_text(tmp_path / "data", ["the cat sat", "the dog ran", "a cat ran"] * 10, ["the cat ran"])
  workdir = tmp_path / "run"
  result = run_script("-m", "gan.main", "--config=experiments/mle.py:coco", f"--workdir={workdir}",
                      f"--config.data.path={data}", "--config.num_train_steps=4", "--config.mle_steps=4",
                      "--config.batch_size=8", "--config.eval.every_steps=4", "--config.checkpoint.every_steps=4",
                      "--config.eval.num_samples=16", "--config.eval.bleu_samples=8")
  assert result.returncode == 0, result.stderr[-3000:]
  words = {"the", "cat", "sat", "dog", "ran", "a"}
  for temperature in ("1.0", "0.5"):
    out = tmp_path / f"s{temperature}.txt"
    result = run_script("scripts/sample.py", f"--workdir={workdir}", "--num_samples=12", f"--output={out}",
                        f"--temperature={temperature}")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert len(lines) == 12 and all(set(line.split()) <= words | {"<unk>"} for line in lines)
    assert all("  " not in line and "<eos>" not in line and "<bos>" not in line for line in lines)
  ids = tmp_path / "ids.npy"
  result = run_script("scripts/sample.py", f"--workdir={workdir}", "--num_samples=12", f"--output={ids}")
  assert result.returncode == 0, result.stderr[-3000:]
  tokens = np.load(ids)
  assert tokens.dtype == np.int32 and tokens.shape[0] == 12
  assert text_data.decode(tokens, _words(workdir), 0) == (tmp_path / "s1.0.txt").read_text().splitlines()
  result = run_script("scripts/sample.py", f"--workdir={workdir}", "--num_samples=2", f"--output={ids}",
                      "--label=1")
  assert result.returncode == 2 and result.stderr.strip().splitlines() == [
      "error: --label does not apply to a text run (its generator is unconditional)"]


def _words(workdir):
  from gan import sampling  # pylint: disable=g-import-not-at-top
  _, meta, _, _ = sampling.load_run(str(workdir))
  return meta["words"]


def test_bfloat16_compute_keeps_the_state_in_float32():
  config = relgan_smoke()
  config.model.compute_dtype = "bfloat16"
  state, history = run_steps(config, 2, mode="jit", devices=jax.devices()[:1])
  assert [int(h["stage"]) for h in history] == [0, 2]
  assert all(np.isfinite(v) for h in history for v in h.values())
  assert {x.dtype for x in jax.tree.leaves(state.players)} <= {np.dtype("float32"), np.dtype("int32")}


def test_the_step_updates_the_state_in_place_in_every_stage():
  """SeqGAN's step (tests/test_families.py's smoke size) copies none of D's state in the part that runs
  on every step: XLA copies what more than one branch of a `lax.switch` updates, which at the full size
  (22M floats) made every pre-training step 1.5x slower."""
  from gan import train  # pylint: disable=g-import-not-at-top
  from tests.test_families import smoke_config  # pylint: disable=g-import-not-at-top
  run = train.setup(smoke_config("text"), jax.devices()[:1])
  state = run.par.put_state(run.initial_state(0))
  hlo = run.par.lower(state, run.par.put_batch(run.batches(0))).compile().as_text()
  shape = lambda x: f"f32[{','.join(map(str, x.shape))}]"  # noqa: E731
  d_only = ({shape(x) for x in jax.tree.leaves(state.players["D"])}
            - {shape(x) for x in jax.tree.leaves((state.players["G"], state.extras))})
  assert len(d_only) > 3
  entry = hlo[hlo.index("\nENTRY "):].split("\n}\n")[0]  # what runs on every step, whatever the stage
  copies = [line for line in entry.splitlines() if " copy(" in line and any(f"= {s}" in line for s in d_only)]
  assert not copies, copies[:3]
