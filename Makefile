# The kata's commands. Each target installs what it needs into .venv first.
#   make demo    train the reference on MNIST, evaluate it, save the model and plots
#   make check   prove the kata is sound: ruff, solutions pass, exercises are all todo
#   make test    the learner's loop (STEP=n for one step, IMPL=pkg for another package,
#                VERBOSE=1 for pytest's full output)
#   make hint    one more hint for STEP=n (default: the first step not done)
#   make watch   re-run the current step's tests whenever a file in exercises/ is saved
#   make grade   grade IMPL (default exercises) into reports/: results.json, junit.xml, summary.md
#   make gradescope / make classroom50 / make handout / make manifest   for instructors
#   make verify  the full proof: learner-mistake mutants caught, the same results in random
#                order and in parallel, dishonest submissions stopped and correct alternatives
#                at full marks (make mutants and make attacks alone too)
#   make flaky   the training tests under N seeds (N=20): pass rate and closest margins
#   make bench   the demo against the pytorch/examples recipe, timed (BENCH_ARGS=...)
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
BENCH_ARGS ?=
VERBOSE ?=
DEST ?=
# Quiet by default: the board says what to do next; VERBOSE=1 shows every test and traceback.
TEST_OUTPUT = $(if $(VERBOSE),-v --tb=short,-q --tb=no -rN)

N ?= 20

.PHONY: install data test hint watch grade gradescope classroom50 handout manifest check lint \
	demo bench mutants attacks flaky verify clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable ".[dev]"
	touch $@

install: $(INSTALLED)

data: $(INSTALLED)
	$(PY) -m kata.data

test: $(INSTALLED)
	$(PY) -m pytest $(if $(IMPL),--impl $(IMPL)) $(if $(STEP),--step $(STEP)) $(TEST_OUTPUT) \
		$(PYTEST_ARGS)

hint: $(INSTALLED)
	@$(PY) -m kata.hints $(STEP)

watch: $(INSTALLED)
	$(if $(IMPL),KATA_IMPL=$(IMPL)) $(PY) -m kata.watch $(PYTEST_ARGS)

grade: $(INSTALLED)
	$(PY) -m kata.grade $(if $(IMPL),--impl $(IMPL)) --out reports -- $(PYTEST_ARGS)

gradescope: $(INSTALLED)
	$(PY) -m kata.gradescope build dist/gradescope-autograder.zip

classroom50: $(INSTALLED)
	rm -rf dist/classroom50
	$(PY) -m kata.classroom50 build dist/classroom50

handout: $(INSTALLED)
	$(if $(DEST),,rm -rf dist/handout)
	$(PY) -m kata.handout $(or $(DEST),dist/handout)

manifest: $(INSTALLED)
	$(PY) -m kata.manifest

lint: $(INSTALLED)
	$(BIN)/ruff check .

# A handout has no kata/tests/ and no solutions/: its check skips those two runs.
# kata/tests starts many child pytest runs: two workers (-n 2) halve its time, with one torch
# thread each so that they do not fight over two cores.
check: lint
	$(PY) -m kata.manifest --check
	$(if $(wildcard kata/tests),OMP_NUM_THREADS=1 $(PY) -m pytest kata/tests --quiet -n 2 $(PYTEST_ARGS))
	$(if $(wildcard solutions),$(PY) -m pytest --impl solutions --expect done $(PYTEST_ARGS))
	$(PY) -m pytest --impl exercises --expect todo --quiet $(PYTEST_ARGS)

demo: $(INSTALLED)
	$(PY) -m kata.demo --impl $(or $(IMPL),solutions) $(DEMO_ARGS)

bench: $(INSTALLED)
	$(PY) -m kata.bench $(BENCH_ARGS)

mutants: $(INSTALLED)
	$(PY) -m kata.mutants

attacks: $(INSTALLED)
	$(PY) -m kata.attacks

flaky: $(INSTALLED)
	$(PY) -m kata.flaky --runs $(N)

verify: $(INSTALLED)
	$(PY) -m kata.verify

clean:
	rm -rf $(VENV) artifacts reports dist .kata .pytest_cache .hypothesis .ruff_cache
