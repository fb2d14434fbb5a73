# The kata's commands, for those who use make: each target runs the `kata` command of the same
# name (kata/cli.py; `kata --help` lists them all), after installing what its role needs into
# .venv (kata/install.py): the learner's commands the learner's install, the instructor's the
# development one (a superset).
#   make demo    train the reference on MNIST, evaluate it, save the model and plots
#   make check   prove the kata is sound: ruff, solutions pass, exercises are all todo
#   make test    the learner's loop (STEP=n for one step, IMPL=pkg for another package,
#                VERBOSE=1 for pytest's full output)
#   make hint    one more hint for STEP=n (default: the first step not done)
#   make watch   re-run the current step's tests whenever a file in exercises/ is saved
#   make grade   grade IMPL (default exercises) into reports/: results.json, junit.xml, summary.md
#   make install ROLE=learner|notebook|dev TORCH=auto|cpu|default   (re)install .venv
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
# IMPL defaults to $KATA_IMPL or exercises for `make test`, and for `make demo` to solutions
# (exercises in a handout, which has none).
# TORCH=auto installs PyTorch's CPU build on Linux without an NVIDIA driver.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KATA := $(BIN)/kata
LEARNER := $(VENV)/.installed-learner
NOTEBOOK := $(VENV)/.installed-notebook
DEV := $(VENV)/.installed-dev
ROLE ?= learner
TORCH ?= auto

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

$(VENV)/.installed-%: pyproject.toml
	$(PYTHON) kata/install.py --role $* --torch $(TORCH) --venv $(VENV)

install:
	$(PYTHON) kata/install.py --role $(ROLE) --torch $(TORCH) --venv $(VENV)

data: $(LEARNER)
	$(KATA) data

test: $(LEARNER)
	$(KATA) test $(STEP) $(if $(IMPL),--impl $(IMPL)) $(if $(VERBOSE),--verbose) $(PYTEST_ARGS)

hint: $(LEARNER)
	@$(KATA) hint $(STEP)

watch: $(LEARNER)
	$(if $(IMPL),KATA_IMPL=$(IMPL)) $(KATA) watch $(PYTEST_ARGS)

grade: $(LEARNER)
	$(KATA) grade $(if $(IMPL),--impl $(IMPL)) --out reports -- $(PYTEST_ARGS)

notebook: $(NOTEBOOK)
	$(KATA) notebook

gradescope: $(LEARNER)
	$(KATA) gradescope build dist/gradescope-autograder.zip

classroom50: $(LEARNER)
	rm -rf dist/classroom50
	$(KATA) classroom50 build dist/classroom50

handout: $(LEARNER)
	$(KATA) handout $(or $(DEST),../$(notdir $(CURDIR))-handout)

manifest: $(LEARNER)
	$(KATA) manifest

class: $(DEV)
	$(KATA) class $(SUBMISSIONS) $(if $(OUT),--out $(OUT)) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

class-proof: $(DEV)
	$(KATA) class-proof --size $(SIZE)

lint: $(DEV)
	$(BIN)/ruff check .

check: $(DEV)
	$(KATA) check $(PYTEST_ARGS)

demo: $(LEARNER)
	$(KATA) demo $(if $(IMPL),--impl $(IMPL)) $(DEMO_ARGS)

bench: $(DEV)
	$(KATA) bench $(BENCH_ARGS)

mutants: $(DEV)
	$(KATA) mutants

attacks: $(DEV)
	$(KATA) attacks

flaky: $(DEV)
	$(KATA) flaky --runs $(N)

verify: $(DEV)
	$(KATA) verify

clean:
	rm -rf $(VENV) artifacts reports dist .kata .pytest_cache .hypothesis .ruff_cache
