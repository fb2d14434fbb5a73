"""The learner's loop: the tests' board and its history (progress), hints, watch, the suite's
runs (suite: `kata test`, `kata check`), resetting a step and showing the reference
(workspace), and the notebook with its `%%kata` cell magic (notebook)."""
