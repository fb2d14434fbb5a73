"""`kata demo`: the same as `kata demo`."""

import sys

from kata.demo.run import main

sys.exit(main())
