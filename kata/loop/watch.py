"""`kata watch` (`make watch`): re-run the current step's tests each time a file of the
exercises is saved.

pytest-watcher (ptw) does the watching. `--step current` picks, at every run, the first step
that was not done in the run before, so the watch moves on by itself when a step is done.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def script(name: str) -> str:
    """An installed script beside this Python (ptw, pytest; ptw.exe on Windows)."""
    folder = Path(sys.executable).parent
    return shutil.which(name, path=str(folder)) or str(folder / name)


def watch_command(package: str = "exercises", pytest_args: tuple[str, ...] = ()) -> list[str]:
    """The ptw command: watch the package's folder, run pytest quietly on the current step."""
    # "**/*.py" besides ptw's default "*.py": recent watchdog releases match a pattern against
    # the whole path (exercises/step1_libraries.py), where "*.py" alone never matches.
    return [script("ptw"), package, "--now", "--clear", "--patterns", "*.py,**/*.py",
            "--runner", script("pytest"),
            "--impl", package, "--step", "current", "-q", "--tb=no", "-rN", *pytest_args]


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print("usage: kata watch [pytest arguments]\n\nRe-run the current step's tests (the "
              "first not done) each time a file in exercises/ is saved; Ctrl-C stops it.")
        return 0
    package = os.environ.get("KATA_IMPL", "exercises")
    # ptw runs until Ctrl-C; as a child, so that Windows (which has no exec) works alike.
    try:
        return subprocess.run(watch_command(package, tuple(args))).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    main()
