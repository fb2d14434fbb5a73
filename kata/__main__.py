"""`python -m kata COMMAND`: the same as the `kata` command (kata/cli.py)."""

from kata.cli import entry

entry()
