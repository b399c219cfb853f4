# Two commands do everything on a fresh machine: `make train` and `make test`.
# Each (re)creates .venv from requirements.txt when it is missing or older than requirements.txt.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= experiments/digits_dcgan.py
WORKDIR ?= workdirs/digits_dcgan
PYTEST_ARGS ?=

.PHONY: train test venv clean-venv

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

clean-venv:
	rm -rf $(VENV)
