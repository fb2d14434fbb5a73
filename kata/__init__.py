"""Tooling for the MNIST kata: the todo marker, the pytest plugin's helpers, data and demo."""


class KataTodo(NotImplementedError):
    """Raised by an exercise stub that the learner has not written yet.

    The tests count a test that reaches one as *todo*, not as *failed*.
    """


__all__ = ["KataTodo"]
