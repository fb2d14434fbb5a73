"""Set up the kata's virtual environment for one role (what `make` runs before any command).

    python3 kata/install.py                      the learner's: kata test, hint, watch, demo...
    python3 kata/install.py --role notebook      and Jupyter's kernel and widgets
    python3 kata/install.py --role dev           everything: the instructor's proofs, linters
    python3 kata/install.py --torch cpu          force PyTorch's CPU build (or `default`)

Standard library only: it runs before anything is installed. On Linux without an NVIDIA
driver, PyTorch's default wheels still bring about 4 GB of CUDA libraries that nothing uses;
there it installs torch and torchvision from PyTorch's own CPU wheel index first (about
200 MB), and falls back to the default build, in one line, when that index cannot be reached.
macOS and Windows get PyTorch's default wheels, which have no CUDA libraries there (Windows)
or use the GPU they have (Apple's MPS).
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What each role installs: the extras of pyproject.toml (a handout has no `dev`: its
# instructor-only tools are not there, and the learner's install serves its commands).
ROLES = {"learner": "", "notebook": "notebook", "dev": "dev"}


def has_nvidia_driver() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def wants_cpu_build(choice: str) -> bool:
    if choice != "auto":
        return choice == "cpu"
    return platform.system() == "Linux" and not has_nvidia_driver()


def reachable(url: str, timeout: float = 10) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=timeout):
            return True
    except OSError:
        return False


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def has_torch(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import torch, torchvision"],
                          capture_output=True).returncode == 0


def extras_for(role: str, root: Path) -> str:
    """The extra to install for a role: its own, or the largest below it that pyproject.toml
    has (a handout has no `dev`: its instructor-only tools are not there, and its `kata
    check` needs the notebook's)."""
    text = (root / "pyproject.toml").read_text()
    roles = list(ROLES)
    for lower in reversed(roles[:roles.index(role) + 1]):
        extra = ROLES[lower]
        if not extra or f"\n{extra} = [" in text:
            return f"[{extra}]" if extra else ""
    return ""


def install(root: Path, venv: Path, role: str, torch: str) -> int:
    python = venv_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    if not has_torch(python) and wants_cpu_build(torch):
        if reachable(CPU_INDEX):
            print(f"installing PyTorch's CPU build from {CPU_INDEX} (no NVIDIA driver here; "
                  "TORCH=default for the default build)", flush=True)
            subprocess.run([*pip, "--index-url", CPU_INDEX, "torch", "torchvision"], check=True)
        else:
            print(f"PyTorch's CPU wheel index ({CPU_INDEX}) cannot be reached: installing the "
                  "default build, CUDA libraries included (about 4.5 GB more)", flush=True)
    subprocess.run([*pip, "--editable", f"{root}{extras_for(role, root)}"], check=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata/install.py", description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=ROLES, default="learner")
    parser.add_argument("--torch", choices=("auto", "cpu", "default"), default="auto",
                        help="auto: the CPU build on Linux without an NVIDIA driver")
    parser.add_argument("--venv", type=Path, default=Path(".venv"))
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    code = install(root, args.venv, args.role, args.torch)
    # Each role's install holds the ones before it: make's stamps for all of them.
    for role in list(ROLES)[:list(ROLES).index(args.role) + 1]:
        (args.venv / f".installed-{role}").touch()
    return code


if __name__ == "__main__":
    sys.exit(main())
