"""Paths typed on the command line.

`kata` runs every command in the kata's folder (kata/cli.py), so that `solutions/`,
`exercises/` and `data/` are found from any folder below it. A relative path that the user
types still means a place below the folder they typed it in: `cd exercises && kata demo
--out ../mine` writes to the kata's `mine/`.
"""

import contextlib
from pathlib import Path

_typed_in: Path | None = None  # the folder `kata` was run from, while a command runs


@contextlib.contextmanager
def typed_in(folder: Path):
    """While a command runs: the folder its relative paths were typed in."""
    global _typed_in
    before, _typed_in = _typed_in, folder
    try:
        yield
    finally:
        _typed_in = before


def given_path(text: str) -> Path:
    """argparse's type for a path the user typed: a relative one is taken from the folder
    `kata` was run from (and stays relative where that is the kata's folder itself)."""
    path = Path(text).expanduser()
    if path.is_absolute() or _typed_in is None or _typed_in == Path.cwd():
        return path
    return _typed_in / path
