"""The demo: the learner's (or the reference's) steps trained fast on MNIST and evaluated
(run), with its in-memory data (inmemory), its figures and figures of merit (evaluation,
measure) and its saved weights (checkpoint)."""


class DemoError(Exception):
    """A mistake whose message says what to do (no MNIST, a bad model.pt, a step 2 that
    normalises otherwise, an --out that cannot be written): the demo shows it as one line
    and ends, without a traceback."""


def described(value) -> str:
    """What a learner's function returned, in words: 'None', 'an int', 'a numpy.ndarray'."""
    if value is None:
        return "None"
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else \
        f"{kind.__module__.split('.')[0]}.{kind.__name__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
