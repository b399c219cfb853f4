# Two commands do everything on a fresh machine: `make train` and `make test`.
# Each (re)creates .venv from requirements.txt when it is missing or older than requirements.txt.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= experiments/ada.py
WORKDIR ?= workdirs/ada
PYTEST_ARGS ?=

BENCH_OUT ?= scripts/benchmarks/results

.PHONY: train test bench venv clean-venv

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

train: $(STAMP)
	$(PY) -m gan.main --config=$(CONFIG) --workdir=$(WORKDIR)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests $(PYTEST_ARGS)

# The DCGAN-32 benchmark: PyTorch eager (optional CPU build, installed into .venv on first use) and
# JAX on the same network and machine; JSON + summary in $(BENCH_OUT), speedup = PyTorch / JAX step time;
# vs_recorded = the JAX step time recorded in $(BENCH_OUT) before this run / now (< 1: a regression);
# then both timed in alternating rounds, each in its own worker process (the ratio a drifting machine
# cannot skew, with a 95 % interval for its median).
bench: $(STAMP)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) scripts/benchmark_pytorch.py --channels_last --output=$(BENCH_OUT)/bench_dcgan32_pytorch.json
	$(PY) scripts/benchmark.py --config=experiments/bench_dcgan32.py:digits --steps=60 \
	  --baseline=$(BENCH_OUT)/bench_dcgan32_pytorch.json --recorded=$(BENCH_OUT)/bench_dcgan32_jax.json \
	  --output=$(BENCH_OUT)/bench_dcgan32_jax.json
	$(PY) scripts/benchmarks/compare_pytorch.py --rounds=40 --output=$(BENCH_OUT)/bench_dcgan32_interleaved.json

clean-venv:
	rm -rf $(VENV)
