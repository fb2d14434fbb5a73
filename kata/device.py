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


def bfloat16_pays(device: torch.device) -> bool:
    """Whether training the kata's network in bfloat16 mixed precision is faster on `device`.

    Only on a CPU that computes in bfloat16 natively (AVX512-BF16 or AMX, through oneDNN):
    there it doubles the demo's speed. A CPU without it emulates bfloat16, slower than float32.
    On a GPU this small network is bound by kernel launches, not arithmetic, so autocast's
    extra casts cost more than they save (on an H200, float32 trained 1.1 to 1.4x faster).
    """
    return (device.type == "cpu" and torch.backends.mkldnn.is_available()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported())
