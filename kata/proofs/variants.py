"""Build complete step packages from `solutions/` with some modules replaced.

A correct alternative (alternatives/NAME/) is a handful of step modules written differently;
laid over a copy of the reference, they make a package that `--impl` can test. A mutant is
the reference with one module rewritten to hold a learner's mistake (kata.proofs.mutants).
"""

import importlib
import shutil
from pathlib import Path

ALTERNATIVES = Path(__file__).resolve().parents[2] / "alternatives"


def solutions_dir() -> Path:
    return Path(importlib.import_module("solutions").__file__).parent


def build_package(dest: Path, name: str, overrides: Path | None = None,
                  sources: dict[str, str] | None = None) -> Path:
    """Copy solutions/ to dest/name, then replace the modules found in `overrides` and the
    modules named in `sources` (file name -> source text)."""
    package_dir = Path(dest) / name
    shutil.copytree(solutions_dir(), package_dir, ignore=shutil.ignore_patterns("__pycache__"))
    for module in Path(overrides).glob("*.py") if overrides else ():
        shutil.copy(module, package_dir / module.name)
    for filename, text in (sources or {}).items():
        (package_dir / filename).write_text(text)
    return package_dir


def alternative_names() -> list[str]:
    """Every folder of alternatives/ that holds step modules."""
    return sorted(folder.name for folder in ALTERNATIVES.iterdir() if any(folder.glob("*.py")))


def build_alternative(dest: Path, name: str) -> Path:
    """The package for alternatives/`name`, built under `dest` with the same name."""
    return build_package(dest, name, ALTERNATIVES / name)
