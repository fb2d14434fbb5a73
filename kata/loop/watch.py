"""`kata watch` (`make watch`): re-run the current step's tests each time a file of the
exercises is saved.

Every run is forked from a warm server that imported torch, torchvision, matplotlib and
pytest once (kata.loop.warm): the board of the step is back about a second
after the save instead of five, and the learner's modules, the tests and the kata's conftest
are imported fresh each time, so nothing is stale. `--step current` picks, at every run, the
first step that was not done in the run before, so the watch moves on by itself when a step
is done. The folder is polled for changed files, which works alike on every system and in
every editor (some save by renaming); where there is no fork (Windows) each run is a fresh
pytest.
"""

import contextlib
import os
import sys
import time
from pathlib import Path

from kata.loop.warm import WarmRunner

POLL_S = 0.25
SETTLE_S = 0.1  # an editor may write a file in more than one go
READY = "[kata watch]"


def snapshot(folder: Path) -> dict[str, int]:
    """Every Python file below `folder`, with the time it was last written."""
    found = {}
    for path in folder.rglob("*.py"):
        if "__pycache__" not in path.parts:
            with contextlib.suppress(OSError):  # saved by renaming: gone for a moment
                found[str(path)] = path.stat().st_mtime_ns
    return found


def pytest_args(package: str, extra: list[str], colour: bool) -> list[str]:
    return ["--impl", package, "--step", "current", "-q", "--tb=no", "-rN",
            *(["--color=yes"] if colour else []), *extra]


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: kata watch [pytest arguments]\n\nRe-run the current step's tests (the "
              "first not done) each time a file in exercises/ is saved; Ctrl-C stops it.")
        return 0
    package = os.environ.get("KATA_IMPL", "exercises")
    folder = Path(package.replace(".", "/"))
    if not folder.is_dir():
        print(f"kata watch: no folder {folder}/ to watch here", file=sys.stderr)
        return 2
    interactive = sys.stdout.isatty()
    runner, seen = WarmRunner(), None
    try:
        while True:
            now = snapshot(folder)
            if now != seen:
                if seen is not None:
                    time.sleep(SETTLE_S)
                    now = snapshot(folder)
                seen = now
                started = time.monotonic()
                _, output = runner.run(pytest_args(package, args, interactive), os.getcwd())
                if interactive:
                    print("\033[2J\033[H", end="")  # a clear screen for each run
                print(output.rstrip())
                print(f"\n{READY} ran in {time.monotonic() - started:.1f} s; waiting for a "
                      f"save in {folder}/ (Ctrl-C stops)", flush=True)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        return 0
    finally:
        runner.close()


if __name__ == "__main__":
    sys.exit(main())
