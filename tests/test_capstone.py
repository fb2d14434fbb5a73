"""The capstone: your steps 2, 4, 5, 6, 7 and 8 together, on the real MNIST.

One epoch of training on 24,000 images must give a network that reads digits it has never
seen. The capstone is one of the grader's own checks (Capstone in tests/grader_checks.py): your
pipeline trains and predicts a held-out copy of the test images whose labels only the checker
holds, in grading as here. The threshold and how it was calibrated are in kata/capstone.py and
the README.
"""

import pytest
from grader_checks import graders_check_test_for

pytestmark = [pytest.mark.capstone, pytest.mark.real_data, pytest.mark.timeout(300)]

test_graders_check = graders_check_test_for("capstone")
