"""The warm server behind repeated `kata test` (`make test STEP=n`): the imports paid once.

A cold `kata test` run in a terminal starts this server in the background once it is done;
the server imports torch, torchvision, matplotlib and pytest (kata.loop.warm)
and waits on a Unix socket in .kata/. Each later `kata test` hands it its arguments, its
folder, its environment and its terminal (the file descriptors themselves, so colours,
the screen's width and Ctrl-C work as in a cold run), and the server forks a fresh pytest
for it: the same run as a cold one, without the start-up. The learner's modules, the tests
and the kata's conftest are imported anew in each child, so nothing is stale; a crash or a
hang ends that child only, and the server ends itself after IDLE_S without a run.

The socket's name holds a fingerprint of what the server imported (the Python, the
libraries' files, the environment variables they read when imported): after `pip install`,
or from a shell with other such variables, `kata test` finds no server of its own and runs
cold (and starts one). The socket is the user's alone (mode 0600), as is everything it
runs. `KATA_WARM=0` turns the server off, `KATA_WARM=1` on where it would not start by
itself (output not a terminal, or CI set). Windows has neither fork nor file descriptors
over a socket: every run is cold there.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kata.loop.warm import PRELOADED, fork_pytest, preload

FOLDER = Path(".kata")  # relative: a socket's path may hold only about 100 bytes
IDLE_S = float(os.environ.get("KATA_WARM_IDLE_S", 20 * 60))
LOG = FOLDER / "warm.log"
# Variables that torch, its thread pools, CUDA and matplotlib read when they are imported.
IMPORT_TIME_VARIABLES = ("CUDA", "OMP_", "MKL_", "KMP_", "TORCH", "PYTORCH_", "PYTHON", "LD_",
                         "MPL", "NVIDIA_", "LANG", "LC_")


def supported() -> bool:
    return os.name == "posix" and hasattr(os, "fork") and hasattr(socket, "send_fds")


def wanted() -> bool:
    """Whether a cold `kata test` should leave a server behind for the next run."""
    setting = os.environ.get("KATA_WARM", "")
    if setting in ("0", "1"):
        return setting == "1" and supported()
    return supported() and sys.stdout.isatty() and not os.environ.get("CI")


def fingerprint() -> str:
    """What the server's imports depend on; a server answers only runs with the same one."""
    parts = [sys.executable, sys.version, str(Path(__file__).stat().st_mtime_ns)]
    for name in sorted({module.split(".")[0] for module in PRELOADED}):
        spec = importlib.util.find_spec(name)  # finds the files without importing them
        origin = spec.origin if spec and spec.origin else ""
        parts.append(f"{name}:{origin}:{os.stat(origin).st_mtime_ns if origin else ''}")
    parts += sorted(f"{key}={value}" for key, value in os.environ.items()
                    if key.startswith(IMPORT_TIME_VARIABLES))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def socket_path() -> Path:
    return FOLDER / f"warm-{fingerprint()}.sock"


def pid_path(socket: Path) -> Path:
    return socket.with_suffix(".pid")


# ---------------------------------------------------------------- the client: kata test


def run(args: list[str]) -> int | None:
    """pytest `args` on this folder's warm server, on this process's terminal: the exit
    status, or None when no server of this fingerprint answers (then run cold)."""
    if not supported() or os.environ.get("KATA_WARM") == "0":
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(socket_path()))
    except OSError:
        connection.close()
        return None
    with connection, connection.makefile("rb") as replies:
        sys.stdout.flush()
        sys.stderr.flush()
        request = {"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}
        try:
            socket.send_fds(connection, [b"R"], [0, 1, 2])
            connection.sendall(json.dumps(request).encode() + b"\n")
        except OSError:  # no terminal to hand over (a closed stdin, say): run cold
            return None
        child = json.loads(replies.readline() or "{}").get("pid")
        if child is None:
            return None  # the server went away before it forked: nothing ran yet
        interrupted = False
        while True:
            try:
                reply = replies.readline()
                break
            except KeyboardInterrupt:  # Ctrl-C reaches this process only: pass it on
                if interrupted:
                    raise
                interrupted = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child, signal.SIGINT)
        if not reply:
            print("kata test: the warm server stopped during the run", file=sys.stderr)
            return 1
        return int(json.loads(reply)["code"])


def start() -> None:
    """Start this folder's server in the background, unless one already answers."""
    path = socket_path()
    FOLDER.mkdir(exist_ok=True)
    with open(LOG, "a") as output:
        subprocess.Popen([sys.executable, "-m", "kata.loop.server", str(path)],
                         stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                         start_new_session=True)  # not in the terminal's job: Ctrl-C spares it


def stop() -> bool:
    """End this folder's server of this fingerprint, if one runs; whether there was one."""
    try:
        os.kill(int(pid_path(socket_path()).read_text()), signal.SIGTERM)
    except (OSError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- the server


def listen(path: Path) -> socket.socket | None:
    """The server's socket at `path`, or None when a live server holds it already."""
    os.umask(0o077)  # the socket and the server's files: this user's alone
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
    except OSError:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            return None  # another server is there
        except OSError:  # a socket file left by a server that died
            path.unlink(missing_ok=True)
            server.bind(str(path))
        finally:
            probe.close()
    server.listen(16)
    return server


def wait_for(child: int, connection: socket.socket) -> int | None:
    """The child's exit status; None if the client hung up first (the child is then killed)."""
    watched = [connection]
    with contextlib.suppress(AttributeError, OSError):  # pidfd: Linux 5.3 and later
        watched.append(os.pidfd_open(child))
    while True:
        ready, _, _ = select.select(watched, [], [], 0.02)
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if connection in ready and not connection.recv(1):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return None


def log(line: str) -> None:
    with contextlib.suppress(OSError), open(LOG, "a") as out:  # .kata/ may have gone
        out.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def answer(connection: socket.socket) -> None:
    """One run, in a process forked for it: fork pytest on the client's terminal, then
    report its exit status."""
    _, fds, _, _ = socket.recv_fds(connection, 1, 3)
    with connection.makefile("rb") as requests:
        request = json.loads(requests.readline())
    child = fork_pytest(request["args"], request["cwd"], request["env"], fds)
    for fd in fds:
        os.close(fd)
    connection.sendall(json.dumps({"pid": child}).encode() + b"\n")
    code = wait_for(child, connection)
    log(f"pytest {' '.join(request['args'])}: "
        f"{'the client left: stopped' if code is None else f'exit {code}'}")
    if code is not None:
        connection.sendall(json.dumps({"code": code}).encode() + b"\n")


def serve(path: Path) -> None:
    server = listen(path)
    if server is None:
        return
    ours = path.stat().st_ino
    pid_path(path).write_text(str(os.getpid()))
    log(f"server {os.getpid()} on {path}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # through the cleanup below
    preload()  # runs that connect meanwhile wait in the socket's queue
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the runs' processes reap themselves
    server.settimeout(IDLE_S)
    try:
        while True:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                break
            connection.settimeout(None)  # a run may take minutes
            if os.fork() == 0:  # one process per run: runs side by side do not wait
                status = 0
                try:
                    for number in (signal.SIGCHLD, signal.SIGTERM):  # it waits for its child
                        signal.signal(number, signal.SIG_DFL)
                    server.close()
                    answer(connection)
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    status = 1
                finally:
                    os._exit(status)
            connection.close()
    finally:
        log(f"server {os.getpid()} ends")
        with contextlib.suppress(OSError):  # unless the folder went, or another took it
            if path.stat().st_ino == ours:
                path.unlink()
                pid_path(path).unlink()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
