# transferkit: `make demo` and `make test` work on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# benchmark data: ../shared/data when it exists, unless the caller set TRANSFERKIT_DATA
ifeq ($(origin TRANSFERKIT_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export TRANSFERKIT_DATA := $(abspath ../shared/data)
  endif
endif
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv venv-use-tf demo test test-slow lint format notebooks clean

venv: $(STAMP)

# torch first and exact: the CPU build of 2.13.0 comes from local disk.  The package
# accepts any torch 2.x from 2.1; installed first, this build satisfies that range, so
# pip keeps it instead of downloading a multi-GB CUDA build.  Then the user-facing
# extras (`all`) and the development tools (`dev`).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[all,dev]" "torch==2.13.0"
	@touch $(STAMP)

# the optional TensorFlow extra (TF-Hub USE SavedModels), installed with torch held at
# its pin; a separate step so that its tests run in CI instead of skipping
venv-use-tf: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[use-tf]" "torch==2.13.0"
	$(BIN)/python -c "import torch; assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__"

demo: $(STAMP)
	$(BIN)/python -m benchmarks.demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow" -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy embeddings/base.py embeddings/registry.py

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# re-execute the walkthroughs in place (tests/test_notebooks.py checks them in `make test`);
# 02_when_transfer_helps runs its full learning curve on SST2 and 03_train_your_own trains
# for minutes on a third of the corpus (the tests run small slices)
notebooks: $(STAMP)
	cd notebooks && TRANSFERKIT_NOTEBOOK_SCALE=full ../$(BIN)/jupyter execute --inplace \
		01_embed_and_sklearn.ipynb 02_when_transfer_helps.ipynb 03_train_your_own.ipynb \
		04_benchmark_and_report.ipynb 05_i_have_200_labels.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache results
