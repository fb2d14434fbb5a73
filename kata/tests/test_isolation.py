"""A learner's code that hangs, exits, waits for input, allocates too much or prints a lot
costs the tests that call it, never the run or the other tests' results.

Each test runs the project's conftest on a throw-away package (`fake_kata`, kata/tests/fakes.py)
where one step misbehaves and every other step is written correctly.
"""

import pytest
from fakes import ALL_WRITTEN, HANGS

pytest_plugins = ["pytester"]

EXITS = "import sys\n\ndef answer():\n    sys.exit(1)\n"
READS_INPUT = "def answer():\n    return int(input('a number, please: '))\n"
# 2**60 bytes is more than any machine's address space: the allocation fails at once.
ALLOCATES_TOO_MUCH = """import torch

def answer():
    torch.empty(2**60, dtype=torch.uint8)
    return 42
"""
PRINTS_A_LOT = """def answer():
    for line in range(100_000):
        print("debugging line", line)
    return 42
"""


def board_line(result, step: int) -> str:
    """The progress board's line for `step`."""
    lines = [line for line in result.outlines if line.startswith(f"step {step} ")]
    assert lines, f"no board line for step {step} in:\n{result.stdout.str()}"
    return lines[0]


@pytest.mark.parametrize(("body", "why"), [
    (HANGS, "Timeout"),
    (EXITS, "SystemExit"),
    (READS_INPUT, "reading from stdin while output is captured"),
    (ALLOCATES_TOO_MUCH, "allocate"),
], ids=["hangs", "exits", "reads-input", "allocates-too-much"])
def test_a_misbehaving_step_fails_only_its_own_tests(fake_kata, body, why):
    fake_kata.write(ALL_WRITTEN | {3: body})
    result = fake_kata.run("--timeout", "1")
    result.assert_outcomes(passed=26, failed=3)  # 9 steps x 3 tests + the capstone's 2
    assert why in result.stdout.str(), f"the failure does not say {why!r}"
    assert "failing" in board_line(result, 3)
    for step in (1, 2, 4, 8, 9):
        assert "done" in board_line(result, step), board_line(result, step)


def test_printing_a_lot_stays_out_of_the_report(fake_kata):
    fake_kata.write(ALL_WRITTEN | {3: PRINTS_A_LOT})
    result = fake_kata.run()
    result.assert_outcomes(passed=29)
    assert "debugging line" not in result.stdout.str()  # captured, and the test passed
    assert len(result.outlines) < 100, f"the report ran to {len(result.outlines)} lines"
