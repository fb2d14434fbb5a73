"""kata/startup.py: loading without the garbage collector, then freezing what was loaded."""

import gc

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
