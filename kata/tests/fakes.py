"""A throw-away kata for the tests of the board, hints, watch and grading.

FakeKata lays out, in pytester's folder, the project's own conftest.py, pyproject.toml and
grading.toml, a package `fake` with one tiny module per step, and two tests per step (and a
capstone), so these tests run in seconds and never depend on exercises/ or solutions/.
"""

import contextlib
import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from kata.grading.manifest import write_manifest
from kata.steps import STEPS

ROOT = Path(__file__).resolve().parents[2]
# In CI a missing browser fails the tests that need one instead of skipping them.
REQUIRE_BROWSER = os.environ.get("KATA_REQUIRE_BROWSER") == "1"


@contextlib.contextmanager
def browser_page(width: int = 1200, height: int = 900):
    """A page of headless Chromium (Debian's), driven by Playwright; skips without them."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if browser is None or sync_playwright is None:
        if REQUIRE_BROWSER:
            pytest.fail("KATA_REQUIRE_BROWSER=1 but Chromium or Playwright is missing: "
                        "apt-get install chromium; pip install playwright")
        pytest.skip("needs Chromium (apt-get install chromium) and Playwright")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        try:
            yield chromium.new_page(viewport={"width": width, "height": height})
        finally:
            chromium.close()

# The classic shape mistake, as a learner writes it: the two textbook convolution blocks
# without padding, ahead of a Linear sized for padded ones (32 x 5 x 5 = 800 features reach
# Linear(1568, 64)). Kept here, not made from solutions/, so the reference can change.
CLASSIC_UNPADDED_NETWORK = """from torch import nn


class DigitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 16, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.layers(x)
"""

TODO_STUB = """from kata import KataTodo

def answer():
    raise KataTodo("Step {n}: write answer")
"""
WRITTEN = "def answer():\n    return 42\n"
WRONG = "def answer():\n    return 41\n"
HANGS = "def answer():\n    while True:\n        pass\n"
# Blocks the alarm signal that pytest-timeout relies on: only the hard kill can stop it.
HANGS_FOR_GOOD = """import signal
import time

def answer():
    signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGALRM}})  # braces: .format
    time.sleep(600)
"""
STEP_TESTS = '''from grader_checks import graders_check_test_for


def test_answer(step{n}):
    """Catches: an answer that is off by one."""
    assert step{n}.answer() == 42, "answer() should be 42"


def test_answer_is_a_number(step{n}):
    assert isinstance(step{n}.answer(), int), "answer() should return an int"


test_graders_check = graders_check_test_for({n})
'''
CAPSTONE_TEST = '''from grader_checks import graders_check_test_for


def test_the_whole_pipeline(step8):
    assert step8.answer() == 42


test_graders_check = graders_check_test_for("capstone")
'''
# The grader's own check of each fake step: answer() gives a number, with an offset the grader
# chooses (so WRONG, 41, passes it; a stub is todo).
GRADER_CHECKS = '''
from kata.grading.checks import Check, graders_check_test, verdict


class Answer(Check):
    def prepare(self, rng, context):
        return {"offset": rng.randint(1, 9)}, None

    def act(self, impl, public, context):
        step = 8 if self.step == "capstone" else self.step
        return {"answer": impl.step(step).answer() + public["offset"], "offset": public["offset"]}

    @verdict
    def answer_is_a_number(self, public, secret, outputs):
        """Catches: an answer that is not a number."""
        assert isinstance(outputs["answer"] - public["offset"], int), "answer() is not an int"


CHECKS = tuple(type(f"Answer{step}", (Answer,), {"step": step})()
               for step in [*range(1, {steps} + 1), "capstone"])


def graders_check_test_for(step):
    return graders_check_test(CHECKS, step)
'''


class FakeKata:
    def __init__(self, pytester):
        self.pytester = pytester
        self.path = Path(pytester.path)
        for name in ("conftest.py", "pyproject.toml", "grading.toml"):
            (self.path / name).write_text((ROOT / name).read_text())
        (self.path / "tests").mkdir()
        for step in STEPS:
            (self.path / "tests" / f"test_{step.module}.py").write_text(
                STEP_TESTS.format(n=step.number))
        (self.path / "tests" / "test_capstone.py").write_text(CAPSTONE_TEST)
        (self.path / "tests" / "grader_checks.py").write_text(
            GRADER_CHECKS.replace("{steps}", str(len(STEPS))))
        (self.path / "fake").mkdir()
        (self.path / "fake" / "__init__.py").write_text("")
        self.write({})
        write_manifest(self.path)

    def write(self, bodies: dict[int, str]) -> None:
        """Step modules: `bodies[n]` for step n, a todo stub for the others."""
        for step in STEPS:
            body = bodies.get(step.number, TODO_STUB).format(n=step.number)
            (self.path / "fake" / f"{step.module}.py").write_text(body)
        # An in-process run imports `fake` into this process: forget it, so the next run
        # reads the modules just written.
        for name in [name for name in sys.modules if name.split(".")[0] == "fake"]:
            del sys.modules[name]
        importlib.invalidate_caches()

    def set_config(self, old: str, new: str) -> None:
        config = self.path / "grading.toml"
        assert old in config.read_text()
        config.write_text(config.read_text().replace(old, new))
        write_manifest(self.path)

    def run(self, *args):
        return self.pytester.runpytest_inprocess("--impl", "fake", "-p", "no:cacheprovider", *args)


ALL_WRITTEN = {number: WRITTEN for number in range(1, len(STEPS) + 1)}

# What the Classroom 50 runner checks of a result.json (its wiki, "The result.json contract"),
# written out here as a JSON Schema.
CLASSROOM50_RESULT = {
    "type": "object", "additionalProperties": False,
    "required": ["schema", "classroom", "assignment", "assignment_type", "owner", "submission",
                 "commit", "release", "review", "datetime", "score", "max-score", "tests"],
    "properties": {
        "schema": {"const": "classroom50/result/v1"},
        **{key: {"type": "string", "minLength": 1} for key in (
            "classroom", "assignment", "owner", "commit", "release", "review")},
        "assignment_type": {"enum": ["individual", "group", "team"]},
        "submission": {"type": "string", "pattern": "^submit/"},
        "datetime": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "graded_at": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "score": {"type": "integer", "minimum": 0},
        "max-score": {"type": "integer", "minimum": 0},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["test-name", "passed", "score", "max-score"],
            "properties": {"test-name": {"type": "string", "minLength": 1},
                           "passed": {"type": "boolean"},
                           "score": {"type": "integer", "minimum": 0},
                           "max-score": {"type": "integer", "minimum": 0}}}},
    },
}
