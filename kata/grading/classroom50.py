"""`make classroom50`: the autograder for Classroom 50, and the grading it runs.

    kata classroom50 build dist/classroom50   # for CLASSROOM/autograders/ASSIGNMENT/
    kata classroom50 run --source KATA --submission CHECKOUT --result result.json

Classroom 50 (the open-source successor of GitHub Classroom) grades in GitHub Actions: its
runner downloads the instructor's autograder folder, which the learner's repository cannot
change, and runs its `autograder.py` in the learner's checkout, which must write
./result.json (classroom50/result/v1). `build` writes that folder: autograder.py and, under
kata/, the same pristine grading files as the Gradescope bundle. autograder.py installs
Python's CPU torch and the kata into a virtual environment, downloads MNIST, and runs
`run` as root when the runner allows it (GitHub's hosted runners have sudo), so that the
learner's code runs sandboxed (kata/grading/sandbox.py); the verdict comes from
kata/grading/engine.py, as for `make grade` and Gradescope.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from kata.config import load_config
from kata.grading import report
from kata.grading.engine import bundle_files, learner_modules
from kata.grading.grade import grade_folder
from kata.paths import given_path

AUTOGRADER = '''"""Classroom 50 autograder for the MNIST kata (`kata classroom50 build`).

The runner starts it in the learner's checkout; it writes ./result.json. Beside it, kata/
holds the kata's pristine grading files: the learner's repository cannot change them.
Set KATA_PYTHON to an interpreter that has the kata's dependencies to skip the install (a
self-hosted runner), and MNIST_ROOT to a folder that holds MNIST to skip the download.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KATA = HERE / "kata"
CHECKOUT = Path.cwd()
TEMP = Path(os.environ.get("RUNNER_TEMP", "/tmp")) / "mnist-kata"


def python_with_the_kata() -> str:
    if os.environ.get("KATA_PYTHON"):
        return os.environ["KATA_PYTHON"]
    venv = TEMP / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    # The CPU build of torch: runners have no GPU, and the CUDA build is gigabytes larger.
    subprocess.run([*pip, "--index-url", "https://download.pytorch.org/whl/cpu",
                    "torch", "torchvision"], check=True)
    subprocess.run([*pip, str(KATA)], check=True)
    return str(venv / "bin" / "python")


def main() -> int:
    python = python_with_the_kata()
    # Absolute: the commands below run in KATA, not where a relative MNIST_ROOT was meant.
    mnist = Path(os.environ.get("MNIST_ROOT", TEMP / "data")).absolute()
    env = os.environ | {"MNIST_ROOT": str(mnist)}
    subprocess.run([python, "-m", "kata", "data"], cwd=KATA, env=env, check=True)
    command = [python, "-m", "kata", "classroom50", "run", "--source", str(KATA),
               "--submission", str(CHECKOUT), "--result", str(CHECKOUT / "result.json")]
    # As root the learner's code runs as a user of its own, without network; the hosted
    # runners allow it through sudo. Elsewhere it runs as the runner's user (the grade says so).
    if os.geteuid() != 0 and shutil.which("sudo") and \\
            subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        command = ["sudo", "-n", "-E", *command]
    return subprocess.run(command, cwd=KATA, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
'''


def build(root: Path, dest: Path) -> Path:
    """The autograder folder: autograder.py, and the pristine grading files under kata/."""
    root, dest = Path(root), Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: choose a new folder for the autograder")
    for name in bundle_files(root):
        (dest / "kata" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, dest / "kata" / name)
    (dest / "autograder.py").write_text(AUTOGRADER)
    return dest


def run(source: Path, submission: Path, result: Path, pytest_args: tuple[str, ...] = ()) -> int:
    """Grade the learner's checkout with the pristine kata at `source`; write Classroom 50's
    result.json to `result` (and the other reports beside it, in kata-reports/)."""
    source, submission = Path(source).resolve(), Path(submission).resolve()
    result = Path(result).absolute()
    with tempfile.TemporaryDirectory(prefix="kata-classroom50-") as folder:
        out = Path(folder)  # the reports, outside the learner's checkout
        grade = grade_folder(source, learner_modules(submission), "submission", out,
                             list(pytest_args), submission=submission)
        payload = report.classroom50_result(grade, load_config(source), dict(os.environ))
        write_new(result, json.dumps(payload, indent=2) + "\n")
        write_new(result.parent / "release-body.md", (out / "summary.md").read_text())
    return 1 if grade.run.broke else 0


def write_new(path: Path, text: str) -> None:
    """Write a fresh file where the learner's checkout may hold anything, a symlink to /etc
    included: whatever is there is removed first, and nothing is followed. Graded as root
    through sudo, the file is handed back to the runner's user."""
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    if os.environ.get("SUDO_UID"):
        os.chown(path, int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"]),
                 follow_symlinks=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata classroom50",
                                     description="Build or run the Classroom 50 autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the autograder folder")
    build_parser.add_argument("dest", type=given_path)
    run_parser = commands.add_parser("run", help="grade one checkout (inside Classroom 50)")
    run_parser.add_argument("--source", type=given_path, required=True, help="the pristine kata")
    run_parser.add_argument("--submission", type=given_path, default=Path("."))
    run_parser.add_argument("--result", type=given_path, default=Path("result.json"))
    run_parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            path = build(Path("."), args.dest)
        except FileExistsError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"wrote {path}: commit its contents to CLASSROOM/autograders/ASSIGNMENT/ of your "
              "classroom50 repository")
        return 0
    return run(args.source, args.submission, args.result, tuple(args.pytest_args))


if __name__ == "__main__":
    sys.exit(main())
