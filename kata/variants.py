"""Build complete step packages from `solutions/` with some modules replaced.

A correct alternative (alternatives/NAME/) or a learner-mistake mutant is a handful of step
modules; laying them over a copy of the reference gives a package that `--impl` can test.
"""

import importlib
import shutil
from pathlib import Path

ALTERNATIVES = Path(__file__).resolve().parent.parent / "alternatives"


def alternative_names() -> list[str]:
    return sorted(path.name for path in ALTERNATIVES.iterdir() if path.is_dir())


def build_package(dest: Path, name: str, overrides: Path, base: str = "solutions") -> Path:
    """Copy package `base` to dest/name and replace the modules found in `overrides`."""
    base_dir = Path(importlib.import_module(base).__file__).parent
    package_dir = Path(dest) / name
    shutil.copytree(base_dir, package_dir, ignore=shutil.ignore_patterns("__pycache__"))
    for module in Path(overrides).glob("*.py"):
        shutil.copy(module, package_dir / module.name)
    return package_dir


def build_alternative(dest: Path, name: str) -> Path:
    """The package for alternatives/`name`, built under `dest` with the same name."""
    return build_package(dest, name, ALTERNATIVES / name)
