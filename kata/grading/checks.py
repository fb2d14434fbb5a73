"""The grader's own checks: each step's behaviour on inputs only the grader chose.

A check (a subclass of Check, in tests/grader_checks.py) has three parts:

- `prepare(rng, context) -> (public, secret)` makes the inputs. It runs where the verdict is
  decided. The public part goes to the learner's process; the secret part (labels, expected
  values) never does.
- `act(impl, public, context) -> outputs` runs in the learner's process: it calls the
  learner's functions on the public inputs and returns plain data (numbers, lists, tensors).
- one or more `@verdict` methods `(public, secret, outputs)` judge the outputs where the
  verdict is decided, and raise AssertionError with a message for the learner.

In the learner's loop (`make test`) all of it runs in one process: each verdict is the pytest
test `test_graders_check[<verdict>]` of its step's test file. In grading
(kata.grading.engine) `prepare` and the verdicts run in the grader, which never imports the
learner's code, with a fresh secret seed; `act` runs in the test run, which sends its outputs
back through the channel. The grader's verdict is then the test's outcome, whatever the run
reports. Both ways the inputs and outputs go through the channel's encoding, so the verdicts
see exactly the same data.
"""

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata import KataTodo
from kata.grading import channel
from kata.loop.progress import DONE, FAILING, TODO, first_doc_line, short_message


@dataclass(frozen=True)
class Context:
    device: Any  # a torch.device: where the learner's code runs the models
    folder: Path  # prepare writes its files here; act may write here
    mnist_root: Path | None = None  # the real MNIST, for checks with needs_mnist
    seed: int = 0  # the tests' seed (KATA_SEED): what training checks train with


class Verdict:
    """One judgement of a check's outputs: one test, named after the method."""

    def __init__(self, function):
        self.function = function
        self.name = function.__name__
        self.doc = first_doc_line(function)

    def __call__(self, check, public, secret, outputs):
        """None, or the margins it measured: [(name, measured, limit)] (for `make flaky`)."""
        return self.function(check, public, secret, outputs)


def verdict(function) -> Verdict:
    """Decorator: this method of a Check judges its outputs."""
    return Verdict(function)


class Check:
    """A step's behaviour, acted out by the learner's code and judged by the grader."""

    step: int | str
    needs_mnist = False  # prepare reads the real MNIST (context.mnist_root)
    verdicts: tuple[Verdict, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        found = {}
        for klass in reversed(cls.__mro__):  # a subclass keeps the verdicts it inherits
            found |= {name: value for name, value in vars(klass).items()
                      if isinstance(value, Verdict)}
        cls.verdicts = tuple(found.values())

    @property
    def name(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()

    def prepare(self, rng: random.Random, context: Context) -> tuple[Any, Any]:
        raise NotImplementedError

    def act(self, impl, public, context: Context):
        raise NotImplementedError


@dataclass(frozen=True)
class Case:
    """One verdict of one check: the parameter of a test_graders_check test."""

    check: Check
    verdict: Verdict

    @property
    def doc(self) -> str:
        return self.verdict.doc


def cases_of(checks, step) -> list[Case]:
    return [Case(check, v) for check in checks if check.step == step for v in check.verdicts]


def verdict_names(checks) -> dict[tuple[str, str], Case]:
    """Every verdict by (step, verdict name): the step and parameter of its test's nodeid."""
    return {(str(check.step), case.verdict.name): case
            for check in checks for case in cases_of([check], check.step)}


def evidence_of(act) -> dict:
    """What the learner's process sends for a check: its outputs, or why there are none.

    The exception, kept under "exception" with its traceback, is raised again by every
    verdict of the check (`raise_again`); it is never sent.
    """
    try:
        return {"outputs": act()}
    except KataTodo as error:
        return {"todo": str(error), "exception": (error, error.__traceback__)}
    except Exception as error:  # the learner's bug: the evidence says which
        return {"error": f"{type(error).__name__}: {error}",
                "exception": (error, error.__traceback__)}


def raise_again(evidence: dict) -> None:
    """Raise the exception of an act that failed, with its own traceback only."""
    if "exception" in evidence:
        error, traceback = evidence["exception"]
        raise error.with_traceback(traceback)


def judge(case: Case, public, secret, evidence) -> tuple[str, str]:
    """(outcome, message) of one verdict on its check's evidence, as the grader decides it."""
    if not isinstance(evidence, dict):
        return FAILING, "the test run sent no usable result for this check"
    if "todo" in evidence:
        return TODO, short_message(evidence["todo"])
    if "error" in evidence:
        return FAILING, short_message(evidence["error"])
    if "outputs" not in evidence:
        return FAILING, "the test run sent no usable result for this check"
    try:
        case.verdict(case.check, public, secret, evidence["outputs"])
    except AssertionError as error:
        return FAILING, short_message(f"AssertionError: {error}", lines=4, width=400)
    except Exception as error:  # outputs of the wrong form: the learner's code returned junk
        return FAILING, short_message(f"the outputs could not be judged ({type(error).__name__}: "
                                      f"{error}); look at what your function returns")
    return DONE, ""


class LearnerLoop:
    """The checks in one process, for `make test`: prepare and act once per check."""

    def __init__(self):
        self.prepared: dict[str, tuple[Any, Any]] = {}
        self.evidence: dict[tuple[str, str], dict] = {}

    def run(self, case: Case, impl, context_for, seed: int):
        check = case.check
        if check.name not in self.prepared:
            rng = random.Random(f"{seed}:{check.name}")
            public, secret = check.prepare(rng, context_for(check, "inputs"))
            self.prepared[check.name] = (channel.load(channel.dump(public)), secret)
        public, secret = self.prepared[check.name]
        key = (check.name, impl.name)
        if key not in self.evidence:
            context = context_for(check, "outputs")
            self.evidence[key] = evidence_of(
                lambda: channel.load(channel.dump(check.act(impl, public, context))))
        evidence = self.evidence[key]
        raise_again(evidence)
        return case.verdict(check, public, secret, evidence["outputs"])


def graders_check_test(checks, step):
    """The test function that runs step `step`'s verdicts, one parametrized test each.

    In a test file: `test_graders_check = graders_check_test(CHECKS, 7)`.
    """
    import pytest

    cases = cases_of(checks, step)
    loop_key = pytest.StashKey[LearnerLoop]()  # one LearnerLoop per session and step

    @pytest.mark.parametrize("case", cases, ids=[case.verdict.name for case in cases])
    def test_graders_check(case, impl, device, request, tmp_path_factory, test_seed,
                           record_property):
        """One of the grader's own checks (tests/grader_checks.py); its verdict says what."""
        from kata.grading.child import SESSION
        from kata.testing import record_margin

        def context_for(check, purpose):
            mnist = (request.getfixturevalue("mnist_root")
                     if check.needs_mnist and purpose == "inputs" else None)
            folder = tmp_path_factory.mktemp(f"{check.name}-{purpose}")
            return Context(device, folder, mnist, test_seed)

        if SESSION is None:
            loop = request.config.stash.setdefault(loop_key, LearnerLoop())
            for name, measured, limit in loop.run(case, impl, context_for, test_seed) or ():
                record_margin(record_property, name, measured, limit)
        else:
            SESSION.act(case, impl, context_for(case.check, "outputs"))

    return test_graders_check

