"""Token sequences for the text family (gan/families/text.py): the synthetic oracle and text files.

Every sequence has the same length `max_length`; a batch is `{"tokens": int32 (local_batch, max_length)}`
drawn like the image data (`TokenDataset` = gan/data `ArrayDataset`: batch i a function of (seed, i),
process p of P taking its rows), so resumed runs and any number of devices see the same batches.

- `oracle` (built in): the synthetic benchmark of Yu et al. 2017 ("SeqGAN", Sec. 4.1), as its code
  builds it (LantaoYu/SeqGAN, target_lstm.py, sequence_gan.py): an LSTM generator with vocabulary
  5,000, embedding and hidden size 32, every parameter drawn N(0, 1), start token 0 (an ordinary word),
  sequences of exactly 20 tokens (no end token). The parameters come from `oracle.seed` alone (not from
  another project's file); the training and test sets are its samples from two other seeds, drawn on the
  CPU so every machine gets the same ones. Its entropy estimate is the oracle's own per-token NLL of its
  test set (`oracle_entropy`).
- `text_file`: a directory with `train.txt` and `test.txt`, one sentence per line (the Texygen/RelGAN
  layout of COCO captions), split into words by `tokenizer`: `treebank` as NLTK's `word_tokenize` splits
  them, as those benchmarks do, or `whitespace` (gan/data/tokenize.py). The vocabulary is `<eos>` (id 0),
  `<bos>` (1, the start input only), `<unk>` (2), then the words by decreasing frequency (ties
  alphabetical) over the training file (as weilinie/RelGAN's run.py builds it, from the training file
  alone; test words outside it are `<unk>`), or both files with `vocabulary="train+test"` (no unknown
  test words); `max_vocab` > 0 keeps that many words, the rest become `<unk>`. A sentence is its word
  ids followed by `<eos>` up to `max_length` (0: the longest line + 1, so every sentence ends with an
  `<eos>`, as Texygen pads with its end code); longer lines keep their first `max_length - 1` words
  (counted in `truncated_lines`).
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os

import numpy as np

from gan.data import ArrayDataset, tokenize
from gan.errors import UserError

EOS, BOS, UNK = "<eos>", "<bos>", "<unk>"
SPECIALS = (EOS, BOS, UNK)
SPLITS = ("train", "test")
VOCABULARIES = ("train", "train+test")
ORACLE_VERSION = 1  # bump when the oracle's network or sampling changes (its cached data is keyed by it)


@dataclasses.dataclass
class TextData:
  """Both splits as int32 (N, max_length) arrays and what a model and the metrics need to know."""
  train: np.ndarray
  test: np.ndarray
  vocab_size: int
  bos_id: int
  eos_id: int  # -1: fixed-length sequences without an end token (the oracle)
  words: list[str] | None  # id -> word (text files); None for the oracle
  info: dict  # provenance for the protocol (files, counts, truncation, oracle entropy)

  @property
  def max_length(self) -> int:
    return int(self.train.shape[1])


class TokenDataset(ArrayDataset):
  """`ArrayDataset`'s deterministic batches of token sequences: `{"tokens": int32 (local_batch, L)}`."""

  def get_batch(self, index: int) -> dict[str, np.ndarray]:
    return {"tokens": self.x[self.indices(index)].astype(np.int32)}


def decode(tokens: np.ndarray, words: list[str] | None, eos_id: int) -> list[str]:
  """One line per sequence: its words up to the first `<eos>`, separated by single spaces (token ids
  when there are no words); `<bos>` and `<eos>` never appear."""
  lines = []
  for row in np.asarray(tokens):
    ids = [int(t) for t in row]
    if eos_id >= 0 and eos_id in ids:
      ids = ids[:ids.index(eos_id)]
    lines.append(" ".join(words[i] if words else str(i) for i in ids))
  return lines


def sentences(tokens: np.ndarray, eos_id: int) -> list[tuple[int, ...]]:
  """Each sequence's tokens up to its first `<eos>` (all of it without one), as tuples (for BLEU)."""
  out = []
  for row in np.asarray(tokens):
    ids = tuple(int(t) for t in row)
    out.append(ids[:ids.index(eos_id)] if eos_id >= 0 and eos_id in ids else ids)
  return out


def _read_lines(path: str, tokenizer: str) -> list[list[str]]:
  if not os.path.isfile(path):
    raise UserError(f"data.path: {path} does not exist (expected train.txt and test.txt, one sentence per line)")
  try:
    with open(path, encoding="utf-8") as f:
      lines = [tokenize.tokenize(line.strip(), tokenizer) for line in f]
  except (OSError, UnicodeDecodeError) as e:
    raise UserError(f"data.path: {path} cannot be read as UTF-8 text ({e})") from None
  lines = [words for words in lines if words]
  if not lines:
    raise UserError(f"data.path: {path} has no sentences")
  return lines


def build_vocabulary(sentences_: list[list[str]], max_vocab: int = 0) -> list[str]:
  """The special tokens, then the words by decreasing count (ties alphabetical), at most `max_vocab`."""
  counts = collections.Counter(w for s in sentences_ for w in s)
  words = sorted((w for w in counts if w not in SPECIALS), key=lambda w: (-counts[w], w))
  return [*SPECIALS, *(words[:max_vocab] if max_vocab > 0 else words)]


def encode(lines: list[list[str]], index: dict[str, int], max_length: int) -> tuple[np.ndarray, int]:
  """int32 (N, max_length) of word ids then `<eos>` padding; and how many lines were truncated."""
  out = np.full((len(lines), max_length), index[EOS], np.int32)
  unk, truncated = index[UNK], 0
  for i, words in enumerate(lines):
    if len(words) > max_length - 1:
      words, truncated = words[:max_length - 1], truncated + 1
    out[i, :len(words)] = [index.get(w, unk) for w in words]
  return out, truncated


def load_text_files(path: str, *, max_length: int = 0, vocabulary: str = "train", max_vocab: int = 0,
                    tokenizer: str = "whitespace") -> TextData:
  """`train.txt` and `test.txt` of directory `path` (module docstring), lines split by `tokenizer`
  (gan/data/tokenize.py)."""
  if not (isinstance(path, str) and path and os.path.isdir(path)):
    raise UserError(f"data.path={path!r}: expected a directory holding train.txt and test.txt")
  files = {split: os.path.join(path, f"{split}.txt") for split in SPLITS}
  lines = {split: _read_lines(f, tokenizer) for split, f in files.items()}
  words = build_vocabulary(lines["train"] + (lines["test"] if vocabulary == "train+test" else []), max_vocab)
  index = {w: i for i, w in enumerate(words)}
  longest = max(len(s) for split in SPLITS for s in lines[split])
  length = max_length or longest + 1
  (train, train_cut), (test, test_cut) = (encode(lines[s], index, length) for s in SPLITS)
  unknown = {s: int(np.sum(arr == index[UNK])) for s, arr in (("train", train), ("test", test))}
  info = {"files": files, "sentences": {"train": len(train), "test": len(test)}, "tokenizer": tokenizer,
          "vocabulary": vocabulary,
          "vocab_size": len(words), "longest_line_words": longest, "max_length": length,
          "truncated_lines": {"train": train_cut, "test": test_cut}, "unknown_tokens": unknown}
  return TextData(train=train, test=test, vocab_size=len(words), bos_id=index[BOS], eos_id=index[EOS],
                  words=words, info=info)


def oracle_generator(oracle_config):
  """The oracle's network (gan/models/text_generators.py, SeqGAN's LSTM with N(0, 1) parameters)."""
  from gan.models import text_generators  # pylint: disable=g-import-not-at-top
  return text_generators.TextGenerator(vocab_size=oracle_config.vocab_size, embed_dim=oracle_config.embed_dim,
                                       core="lstm", hidden_dim=oracle_config.hidden_dim, init_stddev=1.0)


def oracle_params(oracle_config):
  """The oracle's parameters: a function of `oracle.seed` alone, made on the CPU."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  with jax.default_device(jax.devices("cpu")[0]):
    return oracle_generator(oracle_config).init(jax.random.PRNGKey(oracle_config.seed),
                                                jnp.zeros((1,), jnp.int32))["params"]


def _oracle_cache_path(oracle_config, max_length: int) -> str:
  from gan.metrics import suite  # pylint: disable=g-import-not-at-top
  key = json.dumps({**dict(oracle_config), "max_length": max_length, "version": ORACLE_VERSION}, sort_keys=True)
  return os.path.join(suite.cache_dir(), f"oracle_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz")


def load_oracle(oracle_config, max_length: int) -> TextData:
  """The oracle's samples, `num_train` training and `num_test` test sequences of `max_length` tokens
  (module docstring), made once per setting and kept in the cache directory ($GAN_CACHE_DIR)."""
  path = _oracle_cache_path(oracle_config, max_length)
  if os.path.isfile(path):
    with np.load(path) as f:
      splits, entropy = {"train": f["train"], "test": f["test"]}, float(f["entropy"])
  else:
    splits, entropy = _make_oracle_data(oracle_config, max_length)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, entropy=entropy, **splits)
    os.replace(tmp, path)
  info = {"oracle": dict(oracle_config), "sentences": {s: len(v) for s, v in splits.items()},
          "max_length": max_length, "oracle_entropy": entropy}
  return TextData(train=splits["train"], test=splits["test"], vocab_size=oracle_config.vocab_size, bos_id=0,
                  eos_id=-1, words=None, info=info)


def _make_oracle_data(oracle_config, max_length: int):
  import jax  # pylint: disable=g-import-not-at-top
  from gan import text_sequences  # pylint: disable=g-import-not-at-top
  generator, params = oracle_generator(oracle_config), oracle_params(oracle_config)
  bos = 0  # SeqGAN's START_TOKEN, an ordinary word
  splits = {}
  with jax.default_device(jax.devices("cpu")[0]):
    for stream, (split, num) in enumerate((("train", oracle_config.num_train), ("test", oracle_config.num_test))):
      key = jax.random.fold_in(jax.random.PRNGKey(oracle_config.seed), stream + 1)
      splits[split] = np.asarray(text_sequences.sample_in_chunks(
          generator, params, num, key, length=max_length, bos_id=bos, eos_id=-1))
    entropy = text_sequences.mean_nll_in_chunks(generator, params, splits["test"], bos_id=bos, eos_id=-1)
  return splits, entropy


def load(data_config) -> TextData:
  """The data named by `data_config.name` (oracle | text_file)."""
  if data_config.name == "oracle":
    return load_oracle(data_config.oracle, data_config.max_length or 20)
  return load_text_files(data_config.path, max_length=data_config.max_length,
                         vocabulary=data_config.vocabulary, max_vocab=data_config.max_vocab,
                         tokenizer=data_config.tokenizer)
