"""The eight steps of the kata: one module, one test file and one title each."""

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Step:
    number: int
    module: str
    title: str


STEPS = (
    Step(1, "step1_libraries", "Importing libraries"),
    Step(2, "step2_dataset", "Downloading the dataset"),
    Step(3, "step3_network", "Creating a PyTorch neural network"),
    Step(4, "step4_setup", "Instance of the network, loss and optimizer"),
    Step(5, "step5_training", "Training flow"),
    Step(6, "step6_single_prediction", "Testing prediction of a single image"),
    Step(7, "step7_batch_prediction", "Testing prediction of multiple images"),
    Step(8, "step8_visualization", "Prediction with image visualization"),
)

CAPSTONE = "capstone"


def step_of_test_file(filename: str) -> int | str | None:
    """The step a test file belongs to: 1..8, CAPSTONE, or None for any other file."""
    for step in STEPS:
        if filename == f"test_{step.module}.py":
            return step.number
    if filename == f"test_{CAPSTONE}.py":
        return CAPSTONE
    return None


def load_step(package: str, number: int) -> ModuleType:
    """Step `number`'s module of `package` (exercises, solutions, or any package of the eight)."""
    return importlib.import_module(f"{package}.{STEPS[number - 1].module}")
