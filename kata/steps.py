"""The steps of the kata: the tutorial's eight, then the bonus step 9; one module, one test
file and one title each."""

import importlib
from dataclasses import dataclass
from types import ModuleType

from kata import KataTodo


@dataclass(frozen=True)
class Step:
    number: int
    module: str
    title: str
    bonus: bool = False  # beyond the tutorial: 0 points unless grading.toml gives some


STEPS = (
    Step(1, "step1_libraries", "Importing libraries"),
    Step(2, "step2_dataset", "Downloading the dataset"),
    Step(3, "step3_network", "Creating a PyTorch neural network"),
    Step(4, "step4_setup", "Instance of the network, loss and optimizer"),
    Step(5, "step5_training", "Training flow"),
    Step(6, "step6_single_prediction", "Testing prediction of a single image"),
    Step(7, "step7_batch_prediction", "Testing prediction of multiple images"),
    Step(8, "step8_visualization", "Prediction with image visualization"),
    Step(9, "step9_your_digits", "Your own handwriting", bonus=True),
)
CORE_STEPS = tuple(step for step in STEPS if not step.bonus)  # the tutorial's eight

CAPSTONE = "capstone"
# Every step in the order of the board and of a run: the core steps, the capstone, the bonus.
ORDER: tuple[int | str, ...] = (*(step.number for step in CORE_STEPS), CAPSTONE,
                                 *(step.number for step in STEPS if step.bonus))


def step_of_test_file(filename: str) -> int | str | None:
    """The step a test file belongs to: 1..9, CAPSTONE, or None for any other file."""
    for step in STEPS:
        if filename == f"test_{step.module}.py":
            return step.number
    if filename == f"test_{CAPSTONE}.py":
        return CAPSTONE
    return None


def load_step(package: str, number: int) -> ModuleType:
    """Step `number`'s module of `package` (exercises, solutions, or any package of the steps).

    A package without a bonus step's module (an instructor's own package of the eight) has
    that step still to do: KataTodo, as a stub would raise, so that it loses nothing else.
    """
    step = STEPS[number - 1]
    name = f"{package}.{step.module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if not step.bonus or error.name != name:
            raise
        raise KataTodo(f"Step {number}: {package} has no {step.module}.py yet (a bonus step: "
                       f"copy exercises/{step.module}.py there to start it)") from None
