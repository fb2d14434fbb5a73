"""The `kata` command: every command answers --help, runs the same thing as its make target,
and the learner's own commands (reset, solution) keep the learner's work safe."""

import json
import subprocess
import sys

import pytest
from fakes import ALL_WRITTEN, ROOT, TODO_STUB

from kata import cli
from kata.demo.run import LineProgress
from kata.loop import workspace
from kata.loop.progress import wrapped
from kata.testing import write_fake_mnist

pytest_plugins = ["pytester"]


def test_kata_without_a_command_lists_every_command_by_role(capsys):
    assert cli.main([]) == 0
    listing = capsys.readouterr().out
    for role, commands in cli.COMMANDS.items():
        assert f"{role}:" in listing
        assert all(f"  {name} " in listing for name in commands)


@pytest.mark.parametrize("name", sorted(cli.ALL))
def test_every_command_explains_itself(name, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    try:
        code = cli.main([name, "--help"])
    except SystemExit as done:  # argparse's --help
        code = done.code
    assert code == 0
    assert "usage: kata" in capsys.readouterr().out


def test_an_unknown_command_says_so_and_lists_the_others(capsys):
    assert cli.main(["tset"]) == 2
    assert "no command 'tset'" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "missing", "install"), [
    (["check"], "ruff", 'pip install -e ".[dev]"'),
    (["notebook", "--help"], "nbformat", None), (["notebook"], "nbformat",
                                                 'pip install -e ".[notebook]"')])
def test_a_command_outside_the_learners_install_names_the_install_it_needs(command, missing,
                                                                           install):
    """Catches: an instructor's or notebook command run with the learner's install ending in
    a ModuleNotFoundError traceback instead of saying which install brings it."""
    script = (f"import sys; sys.modules[{missing!r}] = None; from kata.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", script, *command], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if install is None:  # --help needs nothing it does not have
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"({missing} is missing): {install}" in done.stderr


def test_a_relative_path_means_a_place_below_the_folder_it_was_typed_in(tmp_path):
    """Catches: `kata demo --load base/model.pt` run outside the kata's folder answering "no
    model at base/model.pt" for a file that is there: kata moves to the kata's folder to
    run, and took the path from there."""
    fake = write_fake_mnist(tmp_path / "mnist", train_count=20, test_count=10)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "model.pt").write_bytes(b"not a state dict")
    done = subprocess.run([sys.executable, "-m", "kata", "demo", "--load", "base/model.pt",
                           "--root", str(fake), "--out", "out", "--device", "cpu"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert f"{tmp_path / 'base' / 'model.pt'} is not a readable PyTorch state dict" in \
        done.stderr, f"the demo looked for base/model.pt elsewhere: {done.stderr}"
    assert (tmp_path / "out").is_dir(), "--out out should be made where it was typed"


def test_kata_test_is_make_test_the_quiet_run_with_the_board(fake_kata):
    fake_kata.write(ALL_WRITTEN | {2: TODO_STUB})
    done = subprocess.run([sys.executable, "-m", "kata", "test", "2", "--impl", "fake"],
                          cwd=fake_kata.path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step 2    todo" in done.stdout and "def test_answer" not in done.stdout


def git(folder, *args):
    subprocess.run(["git", "-c", "user.name=k", "-c", "user.email=k@k", *args], cwd=folder,
                   check=True, capture_output=True)


def test_reset_puts_the_stubs_back_and_keeps_the_learners_version(tmp_path, monkeypatch):
    (tmp_path / "exercises").mkdir()
    stub = (ROOT / "exercises" / "step1_libraries.py").read_text()
    (tmp_path / "exercises" / "step1_libraries.py").write_text(stub)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "the template")
    solved = (ROOT / "solutions" / "step1_libraries.py").read_text()
    (tmp_path / "exercises" / "step1_libraries.py").write_text(solved)
    git(tmp_path, "commit", "-q", "-am", "step 1 written")  # the newest version is not a stub
    monkeypatch.chdir(tmp_path)
    assert workspace.reset_main(["1"]) == 0
    assert (tmp_path / "exercises" / "step1_libraries.py").read_text() == stub
    backups = list((tmp_path / ".kata" / "backups").glob("step1_libraries-*.py"))
    assert len(backups) == 1 and backups[0].read_text() == solved


def test_every_exercise_is_a_stub_and_no_solution_is():
    for name in (path.name for path in (ROOT / "exercises").glob("step*.py")):
        assert workspace.is_stub((ROOT / "exercises" / name).read_text()), name
        assert not workspace.is_stub((ROOT / "solutions" / name).read_text()), name


def test_solution_waits_until_the_step_is_done(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert workspace.solution_main(["3"]) == 1
    assert "no solutions/ here" in capsys.readouterr().out
    for folder in ("exercises", "solutions"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "step3_network.py").write_text(
            (ROOT / folder / "step3_network.py").read_text())
    assert workspace.solution_main(["3"]) == 1
    assert "the reference shows once its tests pass" in capsys.readouterr().out
    (tmp_path / ".kata").mkdir()
    (tmp_path / ".kata" / "progress.json").write_text(json.dumps({"exercises": {"3": "done"}}))
    assert workspace.solution_main(["3"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("yours: exercises/step3_network.py")
    assert any(" | " in line and "nn.Conv2d(1, 32" in line for line in shown)


def test_side_by_side_pairs_the_same_lines_and_marks_the_others():
    rows = workspace.side_by_side(["a", "b", "c"], ["a", "x", "c"], 40, ("mine", "theirs"))
    assert rows[2].split()[0] == "a" and "|" not in rows[2]
    assert rows[3].split() == ["b", "|", "x"]


def test_the_board_wraps_a_long_message_to_the_screen_and_keeps_test_ids_whole():
    nodeid = "  failing: tests/test_step2_dataset.py::test_" + "x" * 80
    message = "    AssertionError: " + "word " * 40
    lines = wrapped([nodeid, message], 60)
    assert lines[0] == nodeid  # never cut, though longer than the screen
    assert all(len(line) <= 60 for line in lines[1:]) and len(lines) > 3
    assert lines[2].startswith("      ")  # a wrapped line goes on under its own indent
    assert " ".join(" ".join(lines[1:]).split()) == " ".join(message.split())


def test_in_a_log_the_demo_writes_a_line_every_few_seconds_not_a_bar(capsys):
    """Catches: hundreds of carriage-return updates per epoch in a piped log (CI, | tee)."""
    progress = LineProgress(total=1000, desc="epoch 1/2", every=3600)
    for _ in range(10):
        progress.set_postfix(loss="0.5") if progress.update(100) else None
    assert capsys.readouterr().out == ""  # not due yet
    progress.every = 0
    assert progress.update(100)
    progress.set_postfix(loss="0.250")
    line = capsys.readouterr().out
    assert line.startswith("  epoch 1/2: 1,100/1,000 images") and "loss 0.250" in line
    assert "\r" not in line
