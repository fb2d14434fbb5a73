"""A warm test runner: pytest runs without paying for the imports each time.

Importing torch, torchvision, matplotlib, Hypothesis and pytest takes most of a one-step run
(about 4 s of 5 on a 2-core laptop). `WarmRunner` starts one server process that imports them
once; each run is then a child forked from it, which starts pytest at once and imports the
kata's conftest, the tests and the learner's modules fresh (the server never imports them),
so nothing is stale, and a crash or a hang ends that child only. The notebook's cell magic
uses it (kata/loop/notebook.py).

    runner = WarmRunner()
    code, output = runner.run(["--step", "3", "-q"], cwd="/path/to/kata")

The server speaks one JSON object per line on its standard input and output. Forking needs
a POSIX system; elsewhere `run` starts a fresh pytest each time.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PRELOADED = ("torch", "torchvision", "matplotlib.pyplot", "hypothesis", "pytest", "PIL.Image",
             "tqdm", "numpy")


def preload() -> None:
    """Import the heavy libraries, with matplotlib drawing off-screen as the tests do."""
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOADED:
        importlib.import_module(name)


def run_forked(args: list[str], cwd: str, env: dict[str, str]) -> tuple[int, str]:
    """One pytest run in a child forked from this (preloaded) process: its status and output."""
    with tempfile.TemporaryFile() as output:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the server's loop
            status = 3
            try:
                os.chdir(cwd)
                os.environ.update(env)
                sys.path.insert(0, cwd)
                nothing = os.open(os.devnull, os.O_RDONLY)
                os.dup2(nothing, 0)
                os.dup2(output.fileno(), 1)
                os.dup2(output.fileno(), 2)
                import pytest

                status = int(pytest.main(args))
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
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
