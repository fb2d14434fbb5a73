"""kata/startup.py: loading without the garbage collector, then freezing what was loaded; ending
without the teardown."""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from kata.startup import collector_paused


@pytest.fixture
def collector_restored():
    """Each test leaves the collector on or off as it found it."""
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_block_runs_without_the_collector_and_freezes_what_it_loaded(collector_restored):
    """Catches: a pause that leaves the collector on (no time saved), leaves it off after the
    block (cycles made later would never be freed), or does not freeze what was loaded (every
    later full collection walks it again)."""
    gc.enable()
    frozen_before = gc.get_freeze_count()  # pytest's conftest freezes what it collected
    with collector_paused():
        assert not gc.isenabled(), "the collector still runs inside collector_paused()"
        loaded = [[] for _ in range(1000)]  # objects that live on, as imported modules do
    assert gc.isenabled(), "collector_paused() left the collector off after the block"
    frozen = gc.get_freeze_count() - frozen_before
    assert frozen >= len(loaded), (
        f"{frozen} objects frozen by the block, which loaded {len(loaded)}: what it loaded "
        "should be exempt from later collections (gc.freeze)")


def test_the_collector_comes_back_when_the_block_fails(collector_restored):
    """Catches: an error inside the block (a step that does not import) leaving the collector
    off for the rest of the process, a notebook's kernel for instance."""
    gc.enable()
    with pytest.raises(ImportError), collector_paused():
        raise ImportError("a step that does not import")
    assert gc.isenabled(), "the collector stayed off after an error inside the block"


def test_an_inner_block_leaves_the_collector_to_the_outer_one(collector_restored):
    """Catches: a nested pause (the demo's, inside `kata demo`'s) that turns the collector back
    on while the outer block is still loading."""
    gc.enable()
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled(), "the inner block turned the collector on inside the outer"
    assert gc.isenabled()


def test_ending_without_teardown_still_runs_the_exit_handlers_and_writes_the_output():
    """Catches: a quick exit that loses what was printed last (the demo's summary, buffered
    when the output is a pipe), skips the handlers registered with atexit (matplotlib's
    temporary folder, coverage's data) or loses the exit code."""
    script = ("import atexit, sys\n"
              "from kata.startup import exit_without_teardown\n"
              "atexit.register(lambda: print('handler ran'))\n"
              "print('summary', end='')\n"
              "sys.stderr.write('warning')\n"
              "exit_without_teardown(3)\n"
              "print('after the exit')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 3, f"exit code {done.returncode}, not 3: {done.stderr}"
    assert done.stdout == "summaryhandler ran\n", (
        f"standard output was {done.stdout!r}: the last print and the handler's should be there")
    assert done.stderr == "warning", f"standard error was {done.stderr!r}"
