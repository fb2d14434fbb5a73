"""The grading config, grading.toml: points per step, time limits, the tamper and review
switches."""

import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib; tomli is the same parser
    import tomli as tomllib

from kata.steps import CAPSTONE, ORDER, STEPS

CONFIG_NAME = "grading.toml"


def step_key(step: int | str) -> str:
    """The name of a step in grading.toml and hints.toml: step1..step9, capstone."""
    return CAPSTONE if step == CAPSTONE else f"step{step}"


# What read_toml raises on a file that does not parse (a learner's broken edit of hints.toml).
TOMLDecodeError = tomllib.TOMLDecodeError


def read_toml(path: Path) -> dict:
    with open(path, "rb") as file:
        return tomllib.load(file)


@dataclass(frozen=True)
class GradingConfig:
    points: dict[int | str, float]  # step number (or "capstone") -> its points
    test_timeout_s: float
    run_limit_s: float
    hard_kill_grace_s: float
    zero_when_changed: bool
    zero_when_flagged: bool
    visibility: str

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


def load_config(root: Path) -> GradingConfig:
    """Read root/grading.toml; a step without points is an error that names the step,
    except a bonus step, which is worth 0 unless the file says otherwise (so a grading.toml
    written before step 9 still reads)."""
    raw = read_toml(Path(root) / CONFIG_NAME)
    bonus = {step_key(step.number): 0 for step in STEPS if step.bonus}
    points = bonus | raw["points"]
    missing = [step_key(step) for step in ORDER if step_key(step) not in points]
    if missing:
        raise ValueError(f"{CONFIG_NAME}: no points for {', '.join(missing)}")
    limits = raw["limits"]
    return GradingConfig(
        points={step: float(points[step_key(step)]) for step in ORDER},
        test_timeout_s=float(limits["test_timeout_s"]),
        run_limit_s=float(limits["run_limit_s"]),
        hard_kill_grace_s=float(limits["hard_kill_grace_s"]),
        zero_when_changed=bool(raw["tamper"]["zero_when_changed"]),
        zero_when_flagged=bool(raw.get("review", {}).get("zero_when_flagged", False)),
        visibility=raw["gradescope"]["visibility"],
    )
