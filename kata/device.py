"""Pick the device for tests and tools, without the learner's step 1 (its bugs stay in step 1)."""

import torch


def resolve_device(name: str) -> torch.device:
    """"auto" gives cuda, then mps, then cpu; other names must exist on this machine."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from error
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        raise ValueError(f"device {name!r} is not available on this machine")
    return device


def native_bfloat16(device: torch.device) -> bool:
    """Whether `device` computes in bfloat16 natively, so that mixed precision speeds it up.

    Without such hardware (a CPU without AVX512-BF16 or AMX, an older GPU) bfloat16 is emulated
    and slower than float32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return (torch.backends.mkldnn.is_available()
                and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False
