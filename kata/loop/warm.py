"""A warm test runner: pytest runs without paying for the imports each time.

Importing torch, torchvision, matplotlib and pytest takes most of a one-step run
(about 4 s of 5 on a 2-core laptop). `WarmRunner` starts one server process that imports them
once; each run is then a child forked from it, which starts pytest at once and imports the
kata's conftest, the tests and the learner's modules fresh (the server imports none of them),
so nothing is stale, and a crash or a hang ends that child only. The notebook's cell magic
uses it (kata/loop/notebook.py).

    runner = WarmRunner()
    code, output = runner.run(["--step", "3", "-q"], cwd="/path/to/kata")

The server speaks one JSON object per line on its standard input and output. Forking needs
a POSIX system; elsewhere `run` starts a fresh pytest each time.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from kata.startup import collector_paused

# Not Hypothesis: it is a pytest plugin, whose modules pytest rewrites for its assertion
# messages when it imports them; imported before, they would differ from a cold run's (and
# pytest would warn). It costs about 0.1 s.
PRELOADED = ("torch", "torchvision", "matplotlib.pyplot", "pytest", "PIL.Image", "tqdm", "numpy")


def preload() -> None:
    """Import the heavy libraries, with matplotlib drawing off-screen as the tests do."""
    import importlib

    # What is loaded here lives as long as the server: loaded without the garbage collector,
    # and frozen, so that each run's collections (pytest's, several at its end) skip it.
    with collector_paused():
        import matplotlib

        matplotlib.use("Agg")
        for name in PRELOADED:
            importlib.import_module(name)
        draw_once()


def draw_once() -> None:
    """Draw and save one small figure of images and titles: matplotlib loads its fonts, lays
    out text and sets up its PNG writer on first use, once here instead of in every run."""
    import io

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(2, 1), layout="constrained")
    for ax in axes:
        ax.imshow([[0.0, 1.0], [1.0, 0.0]], cmap="gray")
        ax.set_title("7 (true 1)", color="red")
        ax.plot([0, 1], [0, 1])
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def fork_pytest(args: list[str], cwd: str, environ: dict[str, str], stdio: list[int]) -> int:
    """Fork a child of this (preloaded) process that runs pytest `args` in `cwd` with exactly
    `environ`, on the file descriptors `stdio` (its stdin, stdout, stderr): its process id.
    The child leads a process group of its own, so that a signal reaches what it starts too."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    status = 3  # the child: never returns into the server's loop
    try:
        os.setpgid(0, 0)
        for number in (signal.SIGTERM, signal.SIGCHLD):  # as in a fresh process
            signal.signal(number, signal.SIG_DFL)
        # Ctrl-C as in a terminal, even if the server was started where SIGINT is ignored (a
        # background job): a run gets it only from a client that was interrupted itself.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        # Fresh streams over the new descriptors, open for the child's life: line by line
        # where they are a terminal.
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1,  # noqa: SIM115
                          closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False,  # noqa: SIM115
                          errors="backslashreplace")
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        sys.path.insert(0, cwd)
        sys.argv = ["pytest", *args]
        # The server imported the kata's own package to run; the run imports it afresh
        # (kata/__init__.py may have changed since), as it imports everything of the kata.
        for name in [name for name in sys.modules if name.split(".")[0] == "kata"]:
            del sys.modules[name]
        import pytest

        status = int(pytest.main(args))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def run_forked(args: list[str], cwd: str, env: dict[str, str]) -> tuple[int, str]:
    """One pytest run in a child forked from this process, its environment updated with
    `env`: its status and output."""
    with tempfile.TemporaryFile() as output, open(os.devnull) as nothing:
        stdio = [nothing.fileno(), output.fileno(), output.fileno()]
        pid = fork_pytest(args, cwd, os.environ | env, stdio)
        _, status = os.waitpid(pid, 0)
        output.seek(0)
        return os.waitstatus_to_exitcode(status), output.read().decode(errors="replace")


def serve() -> None:
    """The server: preload, then answer each request line with its run's result."""
    preload()
    requests, replies = sys.stdin, sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the reply stream
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    try:
        for line in requests:
            request = json.loads(line)
            code, output = run_forked(request["args"], request["cwd"], request.get("env", {}))
            replies.write(json.dumps({"code": code, "output": output}) + "\n")
            replies.flush()
    except KeyboardInterrupt:  # the kernel (or terminal) it serves is being stopped
        pass


class WarmRunner:
    """A client of one server, started on the first run and ended with the process."""

    def __init__(self):
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        self.server = subprocess.Popen([sys.executable, "-m", "kata.loop.warm"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, cwd=Path(__file__).resolve().parents[2])
        if not json.loads(self.server.stdout.readline() or "{}").get("ready"):
            self.server = None
            raise RuntimeError("the warm test runner did not start")

    def run(self, args: list[str], cwd: str | Path, env: dict[str, str] | None = None
            ) -> tuple[int, str]:
        """pytest `args` in `cwd`: the exit status and everything it printed."""
        if not hasattr(os, "fork"):  # Windows: a fresh pytest each time
            done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd,
                                  env=os.environ | (env or {}), capture_output=True, text=True)
            return done.returncode, done.stdout + done.stderr
        if self.server is None or self.server.poll() is not None:
            self.start()
        request = {"args": list(args), "cwd": str(cwd), "env": env or {}}
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        reply = json.loads(self.server.stdout.readline())
        return reply["code"], reply["output"]

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.stdin.close()
            self.server.wait(timeout=10)


if __name__ == "__main__":
    serve()
