"""Build complete step packages from `solutions/` with some modules replaced.

A correct alternative (alternatives/NAME/) is a handful of step modules written differently;
laid over a copy of the reference, they make a package that `--impl` can test.
"""

import importlib
import shutil
from pathlib import Path

ALTERNATIVES = Path(__file__).resolve().parent.parent / "alternatives"


def build_package(dest: Path, name: str, overrides: Path) -> Path:
    """Copy solutions/ to dest/name and replace the modules found in `overrides`."""
    base_dir = Path(importlib.import_module("solutions").__file__).parent
    package_dir = Path(dest) / name
    shutil.copytree(base_dir, package_dir, ignore=shutil.ignore_patterns("__pycache__"))
    for module in Path(overrides).glob("*.py"):
        shutil.copy(module, package_dir / module.name)
    return package_dir


def build_alternative(dest: Path, name: str) -> Path:
    """The package for alternatives/`name`, built under `dest` with the same name."""
    return build_package(dest, name, ALTERNATIVES / name)
