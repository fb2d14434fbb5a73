# The kata's commands. Each target installs what it needs into .venv first.
#   make demo    train the reference on MNIST, evaluate it, save the model and plots
#   make check   prove the kata is sound: ruff, solutions pass, exercises are all todo
#   make test    the learner's loop (STEP=n for one step, IMPL=pkg for another package)
# IMPL defaults to $KATA_IMPL or exercises for `make test`, and to solutions for `make demo`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed

export MNIST_ROOT ?= data
IMPL ?=
STEP ?=
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install data test check lint demo clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable ".[dev]"
	touch $@

install: $(INSTALLED)

data: $(INSTALLED)
	$(PY) -m kata.data

test: $(INSTALLED)
	$(PY) -m pytest $(if $(IMPL),--impl $(IMPL)) $(if $(STEP),--step $(STEP)) --tb=short $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .

check: lint
	$(PY) -m pytest kata/tests --quiet $(PYTEST_ARGS)
	$(PY) -m pytest --impl solutions --expect done $(PYTEST_ARGS)
	$(PY) -m pytest --impl exercises --expect todo --quiet $(PYTEST_ARGS)

demo: $(INSTALLED)
	$(PY) -m kata.demo --impl $(or $(IMPL),solutions) $(DEMO_ARGS)

clean:
	rm -rf $(VENV) artifacts .pytest_cache .hypothesis .ruff_cache
