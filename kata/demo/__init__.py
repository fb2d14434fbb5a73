"""The demo: the learner's (or the reference's) steps trained fast on MNIST and evaluated
(run), with its in-memory data (inmemory), its figures and figures of merit (evaluation,
measure) and its saved weights (checkpoint)."""


class DemoError(Exception):
    """A mistake whose message says what to do (no MNIST, a bad model.pt, a step 2 that
    normalises otherwise, an --out that cannot be written): the demo shows it as one line
    and ends, without a traceback."""
