"""The set-up by role (kata/install.py): which extra, which PyTorch build, what it says."""

import subprocess

import pytest
from fakes import ROOT

from kata import install
from kata.grading.handout import handout_pyproject


def test_each_role_installs_its_extra_and_a_handout_has_no_dev(tmp_path):
    """Catches: a learner's install that pulls the instructor's tools, or a handout whose
    `make check` asks for an extra its pyproject.toml does not have."""
    assert install.extras_for("learner", ROOT) == ""
    assert install.extras_for("notebook", ROOT) == "[notebook]"
    assert install.extras_for("dev", ROOT) == "[dev]"
    (tmp_path / "pyproject.toml").write_text(
        handout_pyproject((ROOT / "pyproject.toml").read_text()))
    assert install.extras_for("dev", tmp_path) == "[notebook]"
    assert install.extras_for("notebook", tmp_path) == "[notebook]"


@pytest.mark.parametrize(("system", "driver", "choice", "cpu"), [
    ("Linux", False, "auto", True), ("Linux", True, "auto", False),
    ("Darwin", False, "auto", False), ("Windows", False, "auto", False),
    ("Linux", True, "cpu", True), ("Linux", False, "default", False)])
def test_the_cpu_build_only_where_no_nvidia_driver_is_on_linux_or_when_asked(
        monkeypatch, system, driver, choice, cpu):
    """Catches: 4 GB of CUDA libraries on a laptop without an NVIDIA GPU, or the CPU build
    forced on a machine whose GPU the learner wants to use."""
    monkeypatch.setattr(install.platform, "system", lambda: system)
    monkeypatch.setattr(install, "has_nvidia_driver", lambda: driver)
    assert install.wants_cpu_build(choice) is cpu


def test_an_unreachable_cpu_index_falls_back_to_the_default_build_in_one_line(
        monkeypatch, tmp_path, capsys):
    """Catches: a set-up that fails, or hangs, when PyTorch's own index cannot be reached
    (a firewalled lab), instead of saying so and installing the default build."""
    commands = []
    monkeypatch.setattr(install, "reachable", lambda url, timeout=10: False)
    monkeypatch.setattr(install, "has_torch", lambda python: False)
    monkeypatch.setattr(install.subprocess, "run",
                        lambda command, **kw: commands.append(command) or
                        subprocess.CompletedProcess(command, 0))
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()
    assert install.install(ROOT, tmp_path / "venv", "learner", "cpu") == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "cannot be reached" in said[0] and "default build" in said[0]
    assert len(commands) == 1 and "--index-url" not in commands[0]
    assert commands[0][-1] == str(ROOT)

    commands.clear()
    monkeypatch.setattr(install, "reachable", lambda url, timeout=10: True)
    install.install(ROOT, tmp_path / "venv", "notebook", "cpu")
    assert install.CPU_INDEX in commands[0] and commands[0][-2:] == ["torch", "torchvision"]
    assert commands[1][-1] == f"{ROOT}[notebook]"
