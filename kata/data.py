"""Find or download MNIST: `make data` (kata data).

The dataset goes to MNIST_ROOT (default: data), in torchvision's layout: MNIST_ROOT/MNIST/raw.
"""

import os
import sys
from pathlib import Path

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def mnist_root(default: Path = Path("data")) -> Path:
    """$MNIST_ROOT as given, or `default` when it is not set."""
    return Path(os.environ["MNIST_ROOT"]) if "MNIST_ROOT" in os.environ else Path(default)


def missing_files(root: Path) -> list[str]:
    """The MNIST files not found under root/MNIST/raw."""
    return [name for name in MNIST_FILES if not (Path(root) / "MNIST" / "raw" / name).exists()]


def how_to_get(root: Path) -> str:
    return (f"MNIST is not in {Path(root) / 'MNIST' / 'raw'}: run `make data` to download it, "
            "or set MNIST_ROOT to a folder that holds MNIST/raw")


def download(root: Path) -> None:
    """Download both splits with torchvision (no solutions needed: a handout has none).

    Raises FileNotFoundError that says what to do when the download fails (e.g. offline).
    """
    from torchvision.datasets import MNIST  # slow to import: only when downloading

    try:
        for train in (True, False):
            MNIST(root, train=train, download=True)
    except (OSError, RuntimeError) as error:
        raise FileNotFoundError(
            f"could not download MNIST into {root}: {error}\n"
            "If this machine is offline, copy the four files of MNIST/raw from a machine that "
            "has them and set MNIST_ROOT to the folder above MNIST.") from error


def main(argv=None) -> int:
    import argparse

    argparse.ArgumentParser(prog="kata data", description="Download MNIST into $MNIST_ROOT "
                            "(default: data), unless it is there already.").parse_args(argv)
    root = mnist_root()
    if not missing_files(root):
        print(f"MNIST is ready in {root / 'MNIST' / 'raw'}")
        return 0
    print(f"downloading MNIST into {root} ...")
    try:
        download(root)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"MNIST is ready in {root / 'MNIST' / 'raw'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
