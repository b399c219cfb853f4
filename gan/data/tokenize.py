"""How a line of a text file becomes words (`data.tokenizer`; gan/data/text.py).

- `whitespace`: the words are the line's space-separated fields.
- `treebank`: the Penn Treebank conventions of NLTK's `word_tokenize`, which the text-GAN benchmarks
  apply to COCO captions before building the vocabulary and before BLEU (Texygen's and weilinie/RelGAN's
  `utils/text_process.py` and `utils/metrics/Bleu.py`): punctuation becomes its own token ("wheel." ->
  "wheel", "."; "a dog, a cat" -> "a", "dog", ",", "a", "cat"), clitics are split off ("dog's" -> "dog",
  "'s"; "don't" -> "do", "n't"), double quotes become `` and ''. Without it a caption's last word and the
  same word with its period are two vocabulary entries, and BLEU is not the published protocol's.
  Written from the conventions for one line at a time (NLTK's `preserve_line=True`); agreement with NLTK on
  the COCO benchmark files is measured in docs/text.md.
"""
from __future__ import annotations

import re

TOKENIZERS = ("whitespace", "treebank")

# (pattern, replacement) in the order they apply; every replacement pads what it splits off with spaces.
_OPENING_QUOTES = (
    (re.compile("([«“‘„]|`+)"), r" \1 "),
    (re.compile(r'^"'), "``"),  # a double quote opening the line
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r'([ (\[{<])("|\'\')'), r"\1 `` "),  # a double quote after a space or an opening bracket
    # an opening single quote before a word that is not a clitic ("'mt'", not "'s")
    (re.compile(r"(?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)"), r"\1 "),
)
_PUNCTUATION = (
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),  # commas and colons, but not inside numbers ("1,000")
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),  # runs of periods ("..", "...")
    (re.compile(r"[;@#$%&*\u2012-\u2015]"), r" \g<0> "),
    (re.compile(r'([^.])(\.)([\])}>"\'»”’]*)\s*$'), r"\1 \2\3 "),  # the line's final period only
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),  # a closing single quote ("dogs' ")
)
_BRACKETS = (re.compile(r"[\]\[(){}<>]"), r" \g<0> ")
_DOUBLE_DASH = (re.compile(r"--"), " -- ")
_CLOSING_QUOTES = (
    (re.compile("([»”’])"), r" \1 "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"(\S)('')"), r"\1 \2 "),
    (re.compile(r"([^' ])('[sSmMdD]|') "), r"\1 \2 "),  # 's 'm 'd and the possessive '
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
)
# Words the Treebank splits in two: "cannot" -> "can not", "gonna" -> "gon na", ...
_SPLIT_WORDS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\b(can)(not)\b", r"\b(d)('ye)\b", r"\b(gim)(me)\b", r"\b(gon)(na)\b", r"\b(got)(ta)\b", r"\b(lem)(me)\b",
    r"\b(more)('n)\b", r"\b(wan)(na)(?=\s)", r"('t)(is)\b", r"('t)(was)\b"))


def treebank(line: str) -> list[str]:
  """The Treebank tokens of one line (module docstring)."""
  text = line
  for pattern, replacement in _OPENING_QUOTES + _PUNCTUATION + (_BRACKETS, _DOUBLE_DASH):
    text = pattern.sub(replacement, text)
  text = f" {text} "
  for pattern, replacement in _CLOSING_QUOTES:
    text = pattern.sub(replacement, text)
  for pattern in _SPLIT_WORDS:
    text = pattern.sub(r" \1 \2 ", text)
  return text.split()


def tokenize(line: str, tokenizer: str) -> list[str]:
  """The words of `line` under `tokenizer` (one of TOKENIZERS)."""
  if tokenizer == "whitespace":
    return line.split()
  if tokenizer == "treebank":
    return treebank(line)
  raise ValueError(f"unknown tokenizer {tokenizer!r}: expected one of {', '.join(TOKENIZERS)}")
