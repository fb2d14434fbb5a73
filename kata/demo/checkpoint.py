"""Save a trained model's weights and read them back, with errors that say what to do.

The file holds a state dict only and is read with `weights_only=True`: loading it runs no
code from the file, so a model.pt from anywhere is safe to open.
"""

from pathlib import Path

import torch
from torch import nn

REMAKE = "run `make demo` again to train a model and write a new one"


def save_model(model: nn.Module, path) -> Path:
    """Write the model's state dict to `path` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def load_weights(model: nn.Module, path, device) -> nn.Module:
    """Load the state dict at `path` into `model` (already on `device`) and return the model.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a
    state dict, or one written for another network.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model at {path}: {REMAKE}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except OSError as error:  # there, but not to be read (permissions, a disk error)
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from error
    except Exception as error:  # whatever a file that is no state dict makes torch.load raise
        raise ValueError(
            f"{path} is not a readable PyTorch state dict (corrupt, cut short, or a whole "
            f"pickled model rather than model.state_dict()): {REMAKE}") from error
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict: {REMAKE}")
    saved, expected = networks_in(state), networks_in(model.state_dict())
    if saved != expected:
        raise ValueError(f"{path} holds {saved} network(s) but the demo built {expected}: "
                         f"pass --ensemble {saved} to read it")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first_lines = "\n".join(str(error).splitlines()[:4])
        raise ValueError(
            f"{path} was written for another network than this {type(model).__name__} (did "
            f"step 3 change since it was saved?): {REMAKE}\n{first_lines}") from error
    return model


def networks_in_file(path) -> int:
    """How many networks the model.pt at `path` holds; 1 where it cannot be read (loading it
    then says why)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return 1
    return networks_in(state) if isinstance(state, dict) else 1


def networks_in(state: dict) -> int:
    """How many networks a state dict holds: an ensemble keeps each under members.<i>."""
    return len({key.split(".")[1] for key in state if key.startswith("members.")}) or 1
