"""Your copy of the MNIST kata: fill in the stubs of each step until its tests pass.

Start with step1_libraries.py and go in order; `kata test N` (or `make test STEP=N`) checks
one step.
"""
