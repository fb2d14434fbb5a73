# The kata's commands, for those who use make: each target runs the `kata` command of the same
# name (kata/cli.py; `kata --help` lists them all), after installing what it needs into .venv.
#   make demo    train the reference on MNIST, evaluate it, save the model and plots
#   make check   prove the kata is sound: ruff, solutions pass, exercises are all todo
#   make test    the learner's loop (STEP=n for one step, IMPL=pkg for another package,
#                VERBOSE=1 for pytest's full output)
#   make hint    one more hint for STEP=n (default: the first step not done)
#   make watch   re-run the current step's tests whenever a file in exercises/ is saved
#   make grade   grade IMPL (default exercises) into reports/: results.json, junit.xml, summary.md
#   make notebook / make gradescope / make classroom50 / make handout / make manifest
#   make class   grade a class: SUBMISSIONS=folder (a folder, zip or notebook per learner; or a
#                Gradescope export or Classroom 50 scores.json) into OUT (default: beside
#                the kata, outside its folder: it holds learners' personal data)
#   make class-proof  a class of SIZE=20 with planted mistakes: the report ranks exactly those
#   make verify  the full proof: learner-mistake mutants caught, the same results in random
#                order and in parallel, dishonest submissions stopped and correct alternatives
#                at full marks (make mutants and make attacks alone too)
#   make flaky   the whole suite under N seeds (N=20): pass rate and closest margins
#   make bench   the demo against the pytorch/examples recipe, timed (BENCH_ARGS=...)
# IMPL defaults to $KATA_IMPL or exercises for `make test`, and to solutions for `make demo`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KATA := $(BIN)/kata
INSTALLED := $(VENV)/.installed

export MNIST_ROOT ?= data
IMPL ?=
STEP ?=
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
VERBOSE ?=
DEST ?=
SUBMISSIONS ?= submissions
OUT ?=
SIZE ?= 20
N ?= 20

.PHONY: install data test hint watch grade notebook gradescope classroom50 handout manifest \
	check lint demo bench mutants attacks flaky verify clean class class-proof

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable ".[dev]"
	touch $@

install: $(INSTALLED)

data: $(INSTALLED)
	$(KATA) data

test: $(INSTALLED)
	$(KATA) test $(STEP) $(if $(IMPL),--impl $(IMPL)) $(if $(VERBOSE),--verbose) $(PYTEST_ARGS)

hint: $(INSTALLED)
	@$(KATA) hint $(STEP)

watch: $(INSTALLED)
	$(if $(IMPL),KATA_IMPL=$(IMPL)) $(KATA) watch $(PYTEST_ARGS)

grade: $(INSTALLED)
	$(KATA) grade $(if $(IMPL),--impl $(IMPL)) --out reports -- $(PYTEST_ARGS)

notebook: $(INSTALLED)
	$(KATA) notebook

gradescope: $(INSTALLED)
	$(KATA) gradescope build dist/gradescope-autograder.zip

classroom50: $(INSTALLED)
	rm -rf dist/classroom50
	$(KATA) classroom50 build dist/classroom50

handout: $(INSTALLED)
	$(KATA) handout $(or $(DEST),../$(notdir $(CURDIR))-handout)

manifest: $(INSTALLED)
	$(KATA) manifest

class: $(INSTALLED)
	$(KATA) class $(SUBMISSIONS) $(if $(OUT),--out $(OUT)) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

class-proof: $(INSTALLED)
	$(KATA) class-proof --size $(SIZE)

lint: $(INSTALLED)
	$(BIN)/ruff check .

check: $(INSTALLED)
	$(KATA) check $(PYTEST_ARGS)

demo: $(INSTALLED)
	$(KATA) demo --impl $(or $(IMPL),solutions) $(DEMO_ARGS)

bench: $(INSTALLED)
	$(KATA) bench $(BENCH_ARGS)

mutants: $(INSTALLED)
	$(KATA) mutants

attacks: $(INSTALLED)
	$(KATA) attacks

flaky: $(INSTALLED)
	$(KATA) flaky --runs $(N)

verify: $(INSTALLED)
	$(KATA) verify

clean:
	rm -rf $(VENV) artifacts reports dist .kata .pytest_cache .hypothesis .ruff_cache
