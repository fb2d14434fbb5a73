"""`python -m kata COMMAND`: the same as the `kata` command (kata/cli.py)."""

import sys

from kata.cli import main

sys.exit(main())
