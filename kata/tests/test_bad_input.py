"""Wrong switches and missing data stop with a message that names the problem and the fix.

The contract's errors inside the steps (an unknown device for get_device, a wrong image shape
for predict_image, missing MNIST files for load_mnist) are the learner's to raise, and the step
tests check them; these are the kata's own: its switches and the real MNIST of the capstone.
"""

import pytest
import torch

pytest_plugins = ["pytester"]

NEEDS_MNIST = """
def test_the_whole_pipeline(mnist_root):
    assert mnist_root.exists()
"""


@pytest.mark.parametrize("name", ["tpu", "gpu"])
def test_an_unknown_device_stops_the_run_naming_it(fake_kata, name):
    result = fake_kata.run("--device", name)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--device: unknown device '{name}': use auto, cpu, cuda*"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_device_this_machine_lacks_stops_the_run(fake_kata):
    result = fake_kata.run("--device", "cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--device: device 'cuda' is not available on this machine*"])


@pytest.fixture
def no_mnist(fake_kata, monkeypatch, tmp_path):
    """The fake kata's capstone needs the real MNIST, and MNIST_ROOT points at an empty folder."""
    (fake_kata.path / "tests" / "test_capstone.py").write_text(NEEDS_MNIST)
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def test_missing_mnist_skips_the_capstone_saying_how_to_get_it(fake_kata, no_mnist):
    result = fake_kata.run("--step", "capstone", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*MNIST is not in {no_mnist}*run `make data`*MNIST_ROOT*"])


@pytest.mark.parametrize("how", ["--require-data", "CI"])
def test_missing_mnist_fails_the_capstone_when_data_is_required(fake_kata, no_mnist,
                                                               monkeypatch, how):
    if how == "CI":
        monkeypatch.setenv("CI", "true")
    result = fake_kata.run("--step", "capstone", *([how] if how != "CI" else []))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*MNIST is not in {no_mnist}*run `make data`*"])
