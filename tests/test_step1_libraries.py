"""Step 1: importing libraries -- choosing the device, seeding, and the library versions."""

import random

import matplotlib
import pytest
import torch
import torchvision
from grader_checks import graders_check_test_for
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata import KataTodo
from kata.testing import names_the_device, observe

# ---------------------------------------------------------------- get_device


@pytest.fixture
def pretend_machine(monkeypatch):
    """pretend(cuda_count, mps): torch then reports that many CUDA GPUs, and an Apple GPU or not.

    So these tests behave the same on a laptop, a GPU server and a Mac.
    """

    def pretend(cuda_count: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_count)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        if hasattr(torch, "accelerator"):  # the newer way to ask (torch 2.6+): keep it in step
            name = "cuda" if cuda_count else "mps" if mps else None
            accelerator = name and torch.device(name)
            monkeypatch.setattr(torch.accelerator, "is_available", lambda: accelerator is not None)
            monkeypatch.setattr(torch.accelerator, "current_accelerator",
                                lambda check_available=False: accelerator)

    return pretend


def value_error_message(step1, name) -> str:
    """The message of the ValueError that get_device(name) raises; fails the test if none."""
    try:
        device = step1.get_device(name)
    except ValueError as error:
        return str(error)
    except KataTodo:
        raise
    except RuntimeError as error:
        pytest.fail(f"get_device({name!r}) let torch's {type(error).__name__} through; catch it "
                    "and raise ValueError naming the device instead")
    pytest.fail(f"get_device({name!r}) returned {device!r}; it should raise ValueError naming "
                f"{name!r}, so the mistake shows up at once instead of at the first .to(device)")


@pytest.mark.parametrize("args", [(), (None,), ("auto",)], ids=["no-argument", "None", "auto"])
def test_get_device_picks_cpu_without_an_accelerator(step1, pretend_machine, args):
    """get_device(), get_device(None) and get_device("auto") give the cpu when no GPU is there."""
    pretend_machine(cuda_count=0, mps=False)
    device = step1.get_device(*args)
    assert isinstance(device, torch.device), (
        f"get_device{args!r} returned {device!r} ({type(device).__name__}); "
        "return a torch.device, e.g. torch.device('cpu'), not a string")
    assert device.type == "cpu", f"get_device{args!r} returned {device} on a machine with no GPU"


@pytest.mark.parametrize(
    ("cuda_count", "mps", "expected"),
    [(1, False, "cuda"), (2, True, "cuda"), (0, True, "mps")],
    ids=["cuda", "cuda-and-mps", "mps"],
)
def test_get_device_auto_prefers_cuda_then_mps(step1, pretend_machine, cuda_count, mps, expected):
    """Catches: "auto" asking for mps before cuda, or never looking for a GPU at all."""
    pretend_machine(cuda_count=cuda_count, mps=mps)
    device = step1.get_device("auto")
    assert isinstance(device, torch.device), (
        f"get_device('auto') returned {device!r}; return a torch.device, not a string")
    observe(returned=device.type, gpu="CUDA" if cuda_count else "mps")
    assert device.type == expected, (
        f"get_device('auto') returned {device} on a machine with {cuda_count} CUDA GPU(s) and "
        f"mps {'available' if mps else 'not available'}; check torch.cuda.is_available() first, "
        f"then torch.backends.mps.is_available(), and fall back to cpu")


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:1", "mps"])
def test_get_device_honours_an_available_device(step1, pretend_machine, name):
    """Catches: ignoring the name asked for (e.g. always the best device), or dropping ':1'."""
    pretend_machine(cuda_count=2, mps=True)
    device = step1.get_device(name)
    assert isinstance(device, torch.device), (
        f"get_device({name!r}) returned {device!r}; return torch.device({name!r}), not a string")
    assert device == torch.device(name), (
        f"get_device({name!r}) returned {device} although {name} is available; "
        "return the device that was asked for")


@pytest.mark.parametrize(
    ("name", "cuda_count", "mps"),
    [("cuda", 0, True), ("cuda:1", 1, True), ("mps", 1, False)],
    ids=["cuda-without-gpu", "cuda:1-with-one-gpu", "mps-without-apple-gpu"],
)
def test_get_device_rejects_an_unavailable_device(step1, pretend_machine, name, cuda_count, mps):
    """Catches: returning a device the machine does not have (torch.device never checks)."""
    pretend_machine(cuda_count=cuda_count, mps=mps)
    message = value_error_message(step1, name)
    assert names_the_device(message, name), (
        f"get_device({name!r}) raised ValueError({message!r}); name {name!r} in the message")


@pytest.mark.parametrize("name", ["tpu", "gpu", "npu"])
def test_get_device_rejects_an_unknown_name(step1, pretend_machine, name):
    """Catches: letting torch's RuntimeError through, or quietly falling back to the cpu."""
    pretend_machine(cuda_count=1, mps=True)
    message = value_error_message(step1, name)
    assert names_the_device(message, name), (
        f"get_device({name!r}) raised ValueError({message!r}); name {name!r} in the message")


# ---------------------------------------------------------------- set_seed


def small_model() -> nn.Sequential:
    """A freshly initialised convolution and linear layer, drawn from torch's random numbers."""
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))


@given(seed=st.integers(0, 2**31 - 1))
def test_set_seed_repeats_torch_rand(step1, seed):
    """Catches: seeding only Python's random, so torch.rand differs after the same seed."""
    step1.set_seed(seed)
    first = torch.rand(5)
    step1.set_seed(seed)
    second = torch.rand(5)
    assert torch.equal(first, second), (
        f"set_seed({seed}) twice gave different torch.rand values; seed torch with "
        "torch.manual_seed(seed)")


@given(seed=st.integers(0, 2**31 - 1))
def test_set_seed_repeats_python_random(step1, seed):
    """Catches: seeding only torch, so Python's random.random() differs after the same seed."""
    step1.set_seed(seed)
    first = [random.random() for _ in range(3)]
    step1.set_seed(seed)
    second = [random.random() for _ in range(3)]
    assert first == second, (
        f"set_seed({seed}) twice gave different random.random() values; seed Python's random "
        "module too, with random.seed(seed)")


def test_set_seed_repeats_model_initialisation(step1):
    """Catches: seeding only Python's random, so two models built after the same seed differ."""
    step1.set_seed(42)
    first = small_model().state_dict()
    step1.set_seed(42)
    second = small_model().state_dict()
    for name, weights in first.items():
        assert torch.equal(weights, second[name]), (
            f"two models built after set_seed(42) have different {name}; seed torch with "
            "torch.manual_seed(seed) so that the initial weights repeat")


def test_set_seed_uses_the_seed_it_is_given(step1):
    """Catches: ignoring the argument (e.g. always seeding 0), so every seed gives the same run."""
    draws = []
    for seed in (1, 2):
        step1.set_seed(seed)
        draws.append((torch.rand(5), random.random()))
    (torch_1, python_1), (torch_2, python_2) = draws
    assert not torch.equal(torch_1, torch_2), (
        "set_seed(1) and set_seed(2) gave the same torch.rand values; seed torch with `seed`")
    assert python_1 != python_2, (
        "set_seed(1) and set_seed(2) gave the same random.random(); seed random with `seed`")


# ---------------------------------------------------------------- library_versions


@pytest.mark.parametrize("module", [torch, torchvision, matplotlib], ids=lambda m: m.__name__)
def test_library_versions_reports_each_library(step1, module):
    """Catches: a missing or misspelled key, or a value that is not the module's __version__."""
    versions = step1.library_versions()
    assert isinstance(versions, dict), f"library_versions() returned {type(versions).__name__}"
    name = module.__name__
    observe(library=name, missing_key=name not in versions)
    assert name in versions, f"library_versions() has no key {name!r}; keys: {sorted(versions)}"
    assert versions[name] == module.__version__, (
        f"library_versions()[{name!r}] is {versions[name]!r}; expected {name}.__version__, "
        f"{module.__version__!r}")


# ---------------------------------------------------------------- the grader's own checks

# Step 1's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(1)
