"""Text GAN modules against direct NumPy re-computations and the reference implementations' constructions:
the relational memory core (Santoro et al. 2018; weilinie/RelGAN, utils/models/relational_memory.py) and
the SeqGAN / RelGAN CNN discriminators (LantaoYu/SeqGAN, discriminator.py; weilinie/RelGAN,
models/rmc_vanilla.py). Tiny sizes throughout."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan.models.relational_memory import RelationalMemory
from gan.models.text_discriminators import (Highway, RelGANDiscriminator, SeqGANDiscriminator,
                                            conv_relu_max_over_time)

KEY = jax.random.PRNGKey(0)


def num_params(variables):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables["params"]))


def init(model, x):
  """A discriminator's variables, initialised under jit (op by op takes seconds)."""
  return jax.jit(lambda key, x: model.init(key, x, train=False))(KEY, x)


def normal(seed, shape, scale=1.0):
  """NumPy draws for test data (jax.random's ops would each be compiled first)."""
  return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def random_params(init_fn, seed, scale=0.5):
  """Parameters of the shapes `init_fn()` makes, drawn from N(0, scale^2) by NumPy: arbitrary values (layer-norm
  scales not 1, biases not 0) for comparisons with NumPy, without compiling an initialiser."""
  rng = np.random.default_rng(seed)
  shapes = jax.eval_shape(init_fn)["params"]
  return {"params": jax.tree.map(lambda a: (scale * rng.standard_normal(a.shape)).astype(np.float32), shapes)}


def to_numpy(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------- relational memory


def np_layer_norm(x, p, over_slots):
  axes = (-2, -1) if over_slots else (-1,)
  mean = x.mean(axis=axes, keepdims=True)
  var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-12) * p["scale"] + p["bias"]


def np_rmc_step(p, memory, inputs, m: RelationalMemory):
  """One step of the RMC written out from the paper / reference, in float64."""
  key_size = m.key_size or m.head_size
  x = inputs @ p["input_projection"]["kernel"] + p["input_projection"]["bias"]
  rows = np.concatenate([memory, x[:, None]], axis=1)
  for i in range(m.num_blocks):
    q = p[f"block_{i}"]
    qkv = np_layer_norm(rows @ q["qkv"]["kernel"], q["qkv_norm"], m.norm_over_slots)
    size = 2 * key_size + m.head_size
    heads = []
    for h in range(m.num_heads):
      chunk = qkv[..., h * size:(h + 1) * size]
      qh, kh, vh = chunk[..., :key_size], chunk[..., key_size:2 * key_size], chunk[..., 2 * key_size:]
      logits = qh @ kh.transpose(0, 2, 1) / np.sqrt(size)  # (B, N + 1, N + 1): every row over [M; x]
      weights = np.exp(logits - logits.max(-1, keepdims=True))
      weights /= weights.sum(-1, keepdims=True)
      heads.append(weights @ vh)
    rows = np_layer_norm(rows + np.concatenate(heads, -1), q["attention_norm"], m.norm_over_slots)
    h = rows
    for j in range(m.attention_mlp_layers):
      h = h @ q[f"mlp_{j}"]["kernel"] + q[f"mlp_{j}"]["bias"]
      if j < m.attention_mlp_layers - 1:
        h = np.maximum(h, 0.0)
    rows = np_layer_norm(rows + h, q["mlp_norm"], m.norm_over_slots)
  new = rows[:, :-1]
  if m.gate_style is not None:
    gates = np.tanh(memory) @ p["gate_memory"]["kernel"] + (x @ p["gate_input"]["kernel"])[:, None]
    half = gates.shape[-1] // 2
    i_gate, f_gate = sigmoid(gates[..., :half] + m.input_bias), sigmoid(gates[..., half:] + m.forget_bias)
    new = i_gate * np.tanh(new) + f_gate * memory
  return new


def rmc_setup(m, batch=3, in_dim=5):
  memory = np.asarray(m.initial_memory(batch)) + normal(1, (batch, m.mem_slots, m.mem_size), 0.5)
  inputs = normal(2, (batch, in_dim))
  return random_params(lambda: m.init(KEY, memory, inputs), 3), memory, inputs


@pytest.mark.parametrize("config", [
    dict(mem_slots=1, num_heads=1, head_size=4),  # the brief's case: one slot, one head
    dict(mem_slots=2, num_heads=2, head_size=3, gate_style="memory"),
    dict(mem_slots=3, num_heads=2, head_size=2, key_size=3, gate_style=None, num_blocks=2,
         attention_mlp_layers=3, norm_over_slots=False),
])
def test_rmc_step_matches_numpy(config):
  m = RelationalMemory(**config)
  variables, memory, inputs = rmc_setup(m)
  new, out = jax.jit(m.apply)(variables, memory, inputs)
  assert new.shape == (3, m.mem_slots, m.mem_size) and out.shape == (3, m.mem_slots * m.mem_size)
  np.testing.assert_array_equal(out, new.reshape(3, -1))
  expected = np_rmc_step(to_numpy(variables["params"]), np.float64(memory), np.float64(inputs), m)
  np.testing.assert_allclose(new, expected, rtol=2e-4, atol=2e-5)


def param_shapes(m, in_dim=5):
  variables = jax.eval_shape(lambda: m.init(KEY, m.initial_memory(1), jnp.zeros((1, in_dim))))
  return jax.tree.map(lambda a: a.shape, variables["params"])


def test_rmc_parameter_shapes_follow_the_reference():
  m = RelationalMemory(mem_slots=2, head_size=3, num_heads=2)  # mem_size 6, qkv 2 * (3 + 3 + 3)
  shapes = param_shapes(m)
  assert shapes["input_projection"] == {"kernel": (5, 6), "bias": (6,)}
  assert shapes["block_0"]["qkv"] == {"kernel": (6, 18)}  # no bias (lin_qkv, use_bias=False)
  assert shapes["block_0"]["qkv_norm"] == {"scale": (18,), "bias": (18,)}
  assert shapes["gate_input"] == {"kernel": (6, 12)} and shapes["gate_memory"] == {"kernel": (6, 12)}
  memory_gates = RelationalMemory(mem_slots=2, head_size=3, num_heads=2, gate_style="memory")
  shapes = param_shapes(memory_gates)
  assert shapes["gate_input"] == {"kernel": (6, 2)}  # one input and one forget gate per slot
  no_gates = RelationalMemory(mem_slots=2, head_size=3, num_heads=2, gate_style=None)
  assert "gate_input" not in param_shapes(no_gates)


def test_rmc_initialisation_is_truncated_normal_over_fan_in():
  m = RelationalMemory(mem_slots=1, head_size=32, num_heads=2)  # mem_size 64
  p = jax.jit(m.init)(KEY, m.initial_memory(1), jnp.zeros((1, 16)))["params"]
  for w, fan_in in ((p["input_projection"]["kernel"], 16), (p["block_0"]["qkv"]["kernel"], 64),
                    (p["block_0"]["mlp_0"]["kernel"], 64), (p["gate_memory"]["kernel"], 64)):
    sd = 1.0 / np.sqrt(fan_in)
    assert float(jnp.max(jnp.abs(w))) <= 2 * sd + 1e-6
    assert abs(float(jnp.std(w)) / sd - 0.8796) < 0.05  # sd of N(0, 1) truncated at +-2
  np.testing.assert_array_equal(p["input_projection"]["bias"], 0.0)
  np.testing.assert_array_equal(p["block_0"]["qkv_norm"]["scale"], 1.0)


def test_rmc_gates_pushed_shut_keep_the_memory():
  keep = RelationalMemory(mem_slots=2, head_size=3, num_heads=2, input_bias=-60.0, forget_bias=60.0)
  variables, memory, inputs = rmc_setup(keep)
  new, _ = jax.jit(keep.apply)(variables, memory, inputs)
  np.testing.assert_allclose(new, memory, atol=1e-6)
  # The other way round the memory is replaced by tanh of the attended memory, the no-gate update's tanh.
  write = RelationalMemory(mem_slots=2, head_size=3, num_heads=2, input_bias=60.0, forget_bias=-60.0)
  ungated = RelationalMemory(mem_slots=2, head_size=3, num_heads=2, gate_style=None)
  ungated_params = {"params": {k: v for k, v in variables["params"].items() if not k.startswith("gate")}}
  np.testing.assert_allclose(jax.jit(write.apply)(variables, memory, inputs)[0],
                             jnp.tanh(jax.jit(ungated.apply)(ungated_params, memory, inputs)[0]), atol=1e-6)


@pytest.mark.parametrize("slots,head_size,num_heads", [(2, 3, 2), (3, 1, 2), (4, 2, 2)])
def test_rmc_initial_memory_is_the_padded_or_truncated_identity(slots, head_size, num_heads):
  m = RelationalMemory(mem_slots=slots, head_size=head_size, num_heads=num_heads)
  size = head_size * num_heads
  eye = np.eye(slots)
  expected = np.concatenate([eye, np.zeros((slots, size - slots))], -1) if size > slots else eye[:, :size]
  got = m.initial_memory(5)
  assert got.shape == (5, slots, size)
  np.testing.assert_array_equal(got, np.broadcast_to(expected, (5, slots, size)))
  np.testing.assert_array_equal(m.apply({}, 5, method="initial_memory"), got)  # also through apply


def test_rmc_in_a_scan_equals_stepping_by_hand():
  m = RelationalMemory(mem_slots=2, head_size=2, num_heads=2)
  variables, memory, _ = rmc_setup(m)
  xs = normal(4, (4, 3, 5))  # (time, B, d)

  step = jax.jit(lambda mem, x: m.apply(variables, mem, x))

  final, outs = jax.jit(lambda memory, xs: lax.scan(step, memory, xs))(memory, xs)
  mem = memory
  for t in range(4):
    mem, out = step(mem, xs[t])
    np.testing.assert_allclose(outs[t], out, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(final, mem, rtol=1e-5, atol=1e-6)


def test_rmc_rejects_bad_configurations():
  with pytest.raises(ValueError, match="gate_style"):
    param_shapes(RelationalMemory(gate_style="lstm", head_size=2))
  with pytest.raises(ValueError, match="memory of shape"):
    jax.eval_shape(lambda: RelationalMemory(head_size=2).init(KEY, jnp.zeros((1, 1, 5)), jnp.zeros((1, 3))))


# ---------------------------------------------------------------- discriminators

SEQ = dict(vocab_size=7, embed_dim=4, filter_sizes=(1, 2, 4), num_filters=(3, 2, 2))
REL = dict(vocab_size=7, embed_dim=6, num_rep=3, filter_sizes=(2, 3), num_filters=(3, 2), hidden_dim=4)


def tokens_and_one_hot(seed=0, batch=4, length=5, vocab=7):
  tokens = np.random.default_rng(seed).integers(0, vocab, (batch, length))
  return tokens, np.eye(vocab, dtype=np.float32)[tokens]


def np_conv_max(h, kernel, bias):
  """h (B, L, C), kernel (k, C, F): max_t relu(sum_a h[:, t + a] @ kernel[a] + bias), by loops."""
  k = kernel.shape[0]
  out = np.stack([sum(h[:, t + a] @ kernel[a] for a in range(k)) + bias for t in range(h.shape[1] - k + 1)], 1)
  return np.maximum(out, 0.0).max(axis=1)


def np_highway(y, p, use_bias=True):
  lin = y @ p["lin"]["kernel"] + (p["lin"]["bias"] if use_bias else 0.0)
  gate = y @ p["gate"]["kernel"] + (p["gate"]["bias"] if use_bias else 0.0)
  t = sigmoid(gate)
  return t * np.maximum(lin, 0.0) + (1.0 - t) * y


def np_seqgan(p, tokens, model):
  h = p["embedding"][tokens]  # embedding lookup
  y = np.concatenate([np_conv_max(h, p[f"conv_{i}_kernel"], p[f"conv_{i}_bias"])
                      for i in range(len(model.filter_sizes))], -1)
  scores = np_highway(y, p["highway"]) @ p["output"]["kernel"] + p["output"]["bias"]
  return scores[:, 1:] - scores[:, :1]


def np_relgan(p, tokens, model):
  h = p["embedding"][tokens]
  width = model.embed_dim // model.num_rep
  logits = []
  for r in range(model.num_rep):
    hr = h[:, :, r * width:(r + 1) * width]  # representation r: its own columns of the one embedding
    y = np.concatenate([np_conv_max(hr, p[f"conv_{i}_kernel"], p[f"conv_{i}_bias"])
                        for i in range(len(model.filter_sizes))], -1)
    z = np_highway(y, p["highway"], use_bias=False)
    z = z @ p["fc"]["kernel"] + p["fc"]["bias"]
    logits.append(z @ p["logits"]["kernel"][:, 0] + p["logits"]["bias"][0])
  return np.stack(logits, 1)


@pytest.mark.parametrize("cls,kwargs,reference,width", [
    (SeqGANDiscriminator, SEQ, np_seqgan, 1), (RelGANDiscriminator, REL, np_relgan, 3)])
def test_discriminator_on_one_hots_matches_numpy_embedding_lookup(cls, kwargs, reference, width):
  model = cls(**kwargs)
  tokens, x = tokens_and_one_hot()
  variables = random_params(lambda: model.init(KEY, x, train=False), 1, 0.3)
  logits = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, x)
  assert logits.shape == (4, width)
  np.testing.assert_allclose(logits, reference(to_numpy(variables["params"]), tokens, model), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("cls,kwargs", [(SeqGANDiscriminator, SEQ), (RelGANDiscriminator, REL)])
def test_token_ids_give_exactly_the_one_hot_logits(cls, kwargs):
  """SeqGAN's roll-outs pass D token ids (a lookup) instead of one-hots (a product): the same numbers."""
  model = cls(**kwargs)
  tokens, x = tokens_and_one_hot()
  variables = random_params(lambda: model.init(KEY, x, train=False), 1, 0.3)
  apply = jax.jit(lambda v, x: model.apply(v, x, train=False))
  np.testing.assert_array_equal(apply(variables, jnp.asarray(tokens, jnp.int32)), apply(variables, x))
  with pytest.raises(ValueError, match=r"token ids \(B, L\)"):
    model.apply(variables, jnp.asarray(x, jnp.float32)[..., :3], train=False)


@pytest.mark.parametrize("cls,kwargs", [(SeqGANDiscriminator, SEQ), (RelGANDiscriminator, REL)])
def test_soft_one_hots_embed_as_convex_combinations(cls, kwargs):
  model = cls(**kwargs)
  tokens_a, a = tokens_and_one_hot(1)
  tokens_b, b = tokens_and_one_hot(2)
  soft = np.exp(normal(3, a.shape, 3.0))
  soft /= soft.sum(-1, keepdims=True)  # rows on the simplex, as Gumbel-softmax samples
  variables = random_params(lambda: model.init(KEY, a, train=False), 1)

  @jax.jit
  def embedded(x):
    return model.apply(variables, x, train=False, mutable=["intermediates"])[1]["intermediates"]["embedded"][0]

  table = variables["params"]["embedding"]
  np.testing.assert_allclose(embedded(a), table[tokens_a], rtol=1e-6)
  np.testing.assert_allclose(embedded(0.3 * a + 0.7 * b), 0.3 * table[tokens_a] + 0.7 * table[tokens_b],
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(embedded(soft), np.einsum("blv,ve->ble", soft, table), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kwargs", [(SeqGANDiscriminator, SEQ), (RelGANDiscriminator, REL)])
def test_dropout_masks_depend_only_on_the_rng_and_example_ids(cls, kwargs):
  model = cls(**kwargs, dropout=0.5)
  _, x = tokens_and_one_hot()
  variables = random_params(lambda: model.init(KEY, x, train=False), 1, 0.3)
  ids = jnp.arange(10, 14)
  apply = jax.jit(lambda x, ids, key, train: model.apply(variables, x, ids, train=train, rngs={"dropout": key}),
                  static_argnums=3)

  def run(x, ids, train, key=KEY):
    return apply(x, ids, key, train)

  # train=False: no dropout, no rng needed, the same numbers whatever the key.
  off = run(x, ids, False)
  np.testing.assert_array_equal(off, jax.jit(lambda x, ids: model.apply(variables, x, ids, train=False))(x, ids))
  np.testing.assert_array_equal(off, run(x, ids, False, jax.random.PRNGKey(5)))
  on = run(x, ids, True)
  assert not np.allclose(on, off) and not np.allclose(on, run(x, ids, True, jax.random.PRNGKey(5)))
  # An example's mask follows its id: alone, or in a permuted batch, it gets the same output.
  np.testing.assert_allclose(run(x[2:3], ids[2:3], True), on[2:3], rtol=1e-5, atol=1e-6)
  perm = np.array([3, 1, 0, 2])
  np.testing.assert_allclose(run(x[perm], ids[perm], True), on[perm], rtol=1e-5, atol=1e-6)
  # The same example under another id gets another mask.
  assert not np.allclose(run(x[2:3], ids[3:4], True), on[2:3])


def test_conv_relu_max_over_time_matches_loops_and_ignores_order_outside_the_best_window():
  h, kernel, bias = normal(0, (2, 6, 3)), normal(1, (3, 3, 4)), np.linspace(-0.5, 0.5, 4, dtype=np.float32)
  got = conv_relu_max_over_time(h, kernel, bias)
  np.testing.assert_allclose(got, np_conv_max(np.float64(h), np.float64(kernel), np.float64(bias)),
                             rtol=1e-5, atol=1e-6)
  # Width-1 filters see single positions: permuting time leaves the max-pooled features unchanged.
  k1 = kernel[:1]
  np.testing.assert_allclose(conv_relu_max_over_time(h[:, ::-1], k1, bias), conv_relu_max_over_time(h, k1, bias),
                             rtol=1e-6)
  with pytest.raises(ValueError, match="filter width 7 > sequence length 6"):
    conv_relu_max_over_time(h, jnp.zeros((7, 3, 4)), bias)


def test_filters_wider_than_the_sequence_raise():
  _, x = tokens_and_one_hot(length=3)
  with pytest.raises(ValueError, match="filter width 4 > sequence length 3"):
    jax.eval_shape(lambda: SeqGANDiscriminator(**SEQ).init(KEY, x, train=False))
  with pytest.raises(ValueError, match="multiple of num_rep"):
    jax.eval_shape(lambda: RelGANDiscriminator(**{**REL, "num_rep": 4}).init(KEY, x, train=False))


@pytest.mark.parametrize("use_bias", [True, False])
def test_highway_layer_matches_its_formula(use_bias):
  y = normal(0, (3, 5))
  layer = Highway(use_bias=use_bias, gate_bias=-0.7)
  p = random_params(lambda: layer.init(KEY, y), 1)["params"]
  lin = y @ p["lin"]["kernel"] + (p["lin"]["bias"] if use_bias else 0.0)
  t = jax.nn.sigmoid(y @ p["gate"]["kernel"] + (p["gate"]["bias"] if use_bias else 0.0) - 0.7)
  got = jax.jit(layer.apply)({"params": p}, y)
  np.testing.assert_allclose(got, t * jax.nn.relu(lin) + (1 - t) * y, rtol=1e-5, atol=1e-6)
  assert ("bias" in p["lin"]) == use_bias


def test_seqgan_parameter_count_and_initialisation_at_the_reference_oracle_settings():
  # vocab 5000, embedding 64, L 20, SeqGAN's 12 widths (sequence_gan.py); sum(num_filters) = 1720.
  #   embedding                 5000 * 64                                       =   320,000
  #   conv kernels              64 * sum(k * n_k) = 64 * (1*100 + 2*200 + 3*200 + 4*200 + 5*200 + 6*100
  #                             + 7*100 + 8*100 + 9*100 + 10*100 + 15*160 + 20*160) = 64 * 12,500 = 800,000
  #   conv biases               1720                                            =     1,720
  #   highway (lin and gate)    2 * (1720 * 1720 + 1720)                        = 5,920,240
  #   output (2 classes)        1720 * 2 + 2                                    =     3,442
  #   total                                                                     = 7,045,402
  model = SeqGANDiscriminator(vocab_size=5000)
  shapes = jax.eval_shape(lambda: model.init(KEY, jnp.zeros((2, 20, 5000)), train=False))
  assert num_params(shapes) == 7_045_402
  # Initialisation as discriminator.py: a small instance, checked for the reference's distributions.
  small = SeqGANDiscriminator(vocab_size=50, embed_dim=32, filter_sizes=(2, 3), num_filters=(64, 64))
  p = init(small, jnp.zeros((2, 5, 50)))["params"]
  assert -1.0 <= float(p["embedding"].min()) < -0.9 and 0.9 < float(p["embedding"].max()) <= 1.0  # U(-1, 1)
  assert float(jnp.max(jnp.abs(p["conv_0_kernel"]))) <= 0.2 + 1e-6  # truncated normal, sd 0.1
  np.testing.assert_array_equal(p["conv_1_bias"], np.float32(0.1))
  np.testing.assert_array_equal(p["output"]["bias"], np.float32(0.1))
  limit = np.sqrt(3.0 / 128)  # TF's glorot_uniform on the square highway weights and their biases
  assert float(jnp.max(jnp.abs(p["highway"]["lin"]["kernel"]))) <= limit
  assert 0.5 * limit < float(jnp.max(jnp.abs(p["highway"]["gate"]["bias"]))) <= limit


def test_relgan_parameter_count_at_the_reference_settings():
  # vocab 5000, dis_emb_dim 64, num_rep 64 (1 column each), widths 2-5 x 300 filters (models/rmc_vanilla.py):
  #   embedding 5000 * 64 = 320,000; conv kernels (2 + 3 + 4 + 5) * 1 * 300 = 4,200 and biases 1,200;
  #   highway without biases 2 * 1200 * 1200 = 2,880,000; fc 1200 * 100 + 100 = 120,100; logits 100 + 1 = 101;
  #   total 3,325,601.
  model = RelGANDiscriminator(vocab_size=5000)
  shapes = jax.eval_shape(lambda: model.init(KEY, jnp.zeros((2, 20, 5000)), train=False))
  assert num_params(shapes) == 3_325_601
  x = jax.ShapeDtypeStruct((2, 20, 5000), jnp.float32)
  assert jax.eval_shape(lambda v, x: model.apply(v, x, train=False), shapes, x).shape == (2, 64)
