"""Canaries: tests the grader plants in the test run, made to fail or to reach a stub.

Each grading run adds, to every step's test file of its own copy, one test named like the
file's real tests (a real test's subject and a plausible behaviour) that either fails an
assertion or raises KataTodo. Which tests are canaries, and what each must report, only the
grader knows. A run that reports a canary as passed has rewritten its outcomes, whatever its
other reports say.

A forgery that rewrites every outcome, or every failure, is caught this way. One that knows
the published suite and leaves unknown tests alone is not: the grader's own checks
(tests/grader_checks.py) are what stop that one. A canary borrows the docstring of one of
its file's tests, so no fixed text gives it away.
"""

import ast
import random
import re
from pathlib import Path

from kata.loop.progress import FAILING, TODO
from kata.steps import STEPS

BEHAVIOURS = (
    "keeps_its_input_unchanged", "gives_the_same_answer_twice", "handles_a_batch_of_one",
    "works_on_a_fresh_copy", "accepts_a_tensor_on_the_cpu", "leaves_the_seed_alone",
    "survives_a_second_call", "keeps_the_order_of_the_samples", "ignores_an_empty_batch",
    "returns_a_new_object_each_call",
)

FAILING_BODY = '''

def {name}():
    {doc}
    first, second = {first}, {second}
    assert first == second, f"the second call gave {{second}}, the first {{first}}"
'''
TODO_BODY = '''

def {name}():
    {doc}
    from kata import KataTodo

    raise KataTodo("Step {step}: write the function before this test can run")
'''


def subjects(source: str) -> list[str]:
    """The subjects of a test file's tests: test_make_loader_limit_... -> make_loader_limit."""
    names = re.findall(r"^def (test_\w+)\(", source, flags=re.MULTILINE)
    return [name.removeprefix("test_").rsplit("_", 2)[0] for name in names
            if name.count("_") >= 3] or ["it"]


def docstrings(source: str) -> list[str]:
    """The first lines of the docstrings of a test file's tests: a canary borrows one."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node)
            if doc:
                found.append(doc.splitlines()[0])
    return found or ["Catches: an answer that changes between two calls."]


def plant(tests: Path, rng: random.Random) -> dict[str, str]:
    """Add one canary to each step's test file under `tests`; {nodeid: expected outcome}."""
    planted = {}
    for step in STEPS:
        path = tests / f"test_{step.module}.py"
        if not path.exists():
            continue
        source = path.read_text()
        taken = set(re.findall(r"^def (test_\w+)\(", source, flags=re.MULTILINE))
        while True:
            name = f"test_{rng.choice(subjects(source))}_{rng.choice(BEHAVIOURS)}"
            if name not in taken:
                break
        outcome = rng.choice((FAILING, TODO))
        first = rng.randint(0, 99)
        doc = repr(rng.choice(docstrings(source)))  # a real test's: no fixed text to spot
        body = (FAILING_BODY.format(name=name, doc=doc, first=first,
                                    second=first + rng.randint(1, 9))
                if outcome == FAILING else TODO_BODY.format(name=name, doc=doc,
                                                            step=step.number))
        path.write_text(source.rstrip("\n") + "\n" + body)
        planted[f"tests/{path.name}::{name}"] = outcome
    return planted
