"""The demo: the learner's (or the reference's) steps trained fast on MNIST and evaluated
(run), with its in-memory data (inmemory), its figures and figures of merit (evaluation,
measure) and its saved weights (checkpoint)."""
