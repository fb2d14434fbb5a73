"""`make watch`: re-run the current step's tests each time a file of the exercises is saved.

pytest-watcher (ptw) does the watching. `--step current` picks, at every run, the first step
that was not done in the run before, so the watch moves on by itself when a step is done.
"""

import os
import sys
from pathlib import Path


def watch_command(package: str = "exercises", pytest_args: tuple[str, ...] = ()) -> list[str]:
    """The ptw command: watch the package's folder, run pytest quietly on the current step."""
    bin_dir = Path(sys.executable).parent
    # "**/*.py" besides ptw's default "*.py": recent watchdog releases match a pattern against
    # the whole path (exercises/step1_libraries.py), where "*.py" alone never matches.
    return [str(bin_dir / "ptw"), package, "--now", "--clear", "--patterns", "*.py,**/*.py",
            "--runner", str(bin_dir / "pytest"),
            "--impl", package, "--step", "current", "-q", "--tb=no", "-rN", *pytest_args]


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    package = os.environ.get("KATA_IMPL", "exercises")
    command = watch_command(package, tuple(args))
    os.execv(command[0], command)  # ptw takes over: Ctrl-C stops it


if __name__ == "__main__":
    main()
