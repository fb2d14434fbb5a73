"""Timing and memory figures shared by the demo and the benchmark's baseline."""

import sys
import time
from contextlib import contextmanager


class Clock:
    """Wall time since the run began, and the total time spent in each named phase."""

    def __init__(self):
        self.started = time.perf_counter()
        self.started_unix = time.time()  # for another process to time this one from its launch
        self.phases: dict[str, float] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def phase(self, name: str):
        began = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - began


def peak_memory_mb() -> float | None:
    """This process's peak resident memory in MB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes there, KiB here
