"""Where the learner's code runs while it is graded: a child process with as little reach as
the machine allows.

As root (Gradescope, a Classroom 50 runner with sudo, `sudo make grade`), the child starts as
root, and before it imports anything but the standard library it

- unshares its network (only a loopback that is down: no downloads, no uploads) and its
  mounts, and lays an empty, unreadable folder over each path to hide (the real MNIST with its
  test labels, the grader's own files, the submission as it came);
- drops to a user of its own (a uid no account and no other grading has), with no
  supplementary groups and no way to gain privileges again (no_new_privs: sudo and setuid
  programs stop working);
- limits its core dumps and its number of processes.

Each of these that the machine refuses (a container without the right to unshare) is
reported, and grading goes on without it. As anyone else, the child runs as the grader's own
user: it can then read and change whatever that user can, and the grade says so.

`enter` runs in the child, so it uses nothing but the standard library and ctypes.
"""

import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The learner's code gets a user of its own: uid FIRST_LEARNER_UID + the grader's pid, or
# nobody where a container maps only a few uids.
FIRST_LEARNER_UID = 1_000_000_000
NOBODY = 65534
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 38, 36
MAX_PROCESSES = 4096  # threads count too: torch starts one per core


@dataclass
class Plan:
    """How the grader means to run the learner's code."""

    uid: int | None = None  # None: as the grader's own user
    gid: int | None = None
    groups: list[int] = field(default_factory=list)  # kept supplementary groups (the GPU's)
    hide: list[str] = field(default_factory=list)
    # Folders the run needs (Python itself) below one the learner's user may not enter
    # (pyenv in a private /root): {blocked folder: [needed folders below it]}.
    expose: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what cannot be done here, and why

    @property
    def separate_user(self) -> bool:
        return self.uid is not None


def learner_ids() -> tuple[int, int]:
    """A uid and gid of the run's own, which no account and no other process has.

    Derived from the grader's process id, so gradings side by side never share one: a
    submission that kills every process it may (kill -1) ends only its own run.
    """
    uid = FIRST_LEARNER_UID + os.getpid()
    return uid, uid


def can_become(uid: int, gid: int) -> bool:
    """Whether this machine lets a process become `uid` (a container that maps only some
    uids refuses the others)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(gid)
            os.setuid(uid)
        except OSError:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def device_groups() -> list[int]:
    """The groups that may use a GPU (video, render), kept so that the learner's code can."""
    import grp

    found = []
    for name in ("video", "render"):
        with contextlib.suppress(KeyError):
            found.append(grp.getgrnam(name).gr_gid)
    return found


def plan(hide: list[Path], keep: list[Path], must_hide: tuple[Path, ...] = ()) -> Plan:
    """What this machine allows: a separate user and hidden paths need root on Linux.

    `keep` are the paths the child needs (its work folder, Python): a path to hide that holds
    one of them stays visible, with a note when it is one of `must_hide`.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return Plan(notes=["grading did not run as root, so the learner's code ran as the "
                           "grading user, with that user's rights and network"])
    uid, gid = learner_ids()
    if not can_become(uid, gid):
        uid = gid = NOBODY
        if not can_become(uid, gid):
            return Plan(notes=["this machine lets no process drop to another user, so the "
                               "learner's code ran as root"])
    result = Plan(uid, gid, groups=device_groups())
    kept = [Path(path).resolve() for path in keep]
    for needed in kept:
        blocked = first_closed_folder(needed, uid, gid)
        if blocked is not None:
            result.expose.setdefault(str(blocked), []).append(str(needed))
    important = {Path(path).resolve() for path in must_hide}
    for path in dict.fromkeys(Path(p).resolve() for p in [*must_hide, *hide] if p):
        if not path.is_dir():
            continue
        if any(path == k or path in k.parents for k in kept):
            if path in important:
                result.notes.append(f"{path} holds what the test run needs, so it stayed "
                                    "visible to the learner's code")
        else:
            result.hide.append(str(path))
    return result


def first_closed_folder(path: Path, uid: int, gid: int) -> Path | None:
    """The outermost folder that `uid` may not pass through on the way to `path` (or, for
    `path` itself, not read), if any."""
    for folder in [*reversed(path.parents), path]:
        info = folder.stat()
        if info.st_uid == uid:
            shift = 6
        elif info.st_gid == gid:
            shift = 3
        else:
            shift = 0
        needed = 0o5 if folder == path else 0o1  # read and pass through; pass through
        if (info.st_mode >> shift) & needed != needed:
            return folder
    return None


def libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def mount(c, source, target: str, kind, flags: int, options=None) -> str | None:
    """One mount(2); None when it worked, else why not."""
    as_bytes = [None if x is None else str(x).encode() for x in (source, target, kind, options)]
    if c.mount(as_bytes[0], as_bytes[1], as_bytes[2], flags, as_bytes[3]) == 0:
        return None
    return f"could not mount on {target}: {os.strerror(ctypes.get_errno())}"


def expose(c, staging: str, blocked: dict[str, list[str]]) -> list[str]:
    """Make the needed folders below each blocked folder reachable, and nothing else there:
    each is bound aside, an empty open folder is laid over the blocked one, and each needed
    folder is bound back at its own path inside it."""
    problems, aside = [], []
    for index, needed in enumerate(path for paths in blocked.values() for path in paths):
        os.makedirs(f"{staging}/{index}", exist_ok=True)
        problems.append(mount(c, needed, f"{staging}/{index}", None, MS_BIND | MS_REC))
        aside.append((f"{staging}/{index}", needed))
    for folder in blocked:
        problems.append(mount(c, "tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755"))
    for staged, needed in aside:
        os.makedirs(needed, exist_ok=True)
        problems.append(mount(c, staged, needed, None, MS_BIND | MS_REC))
    return [problem for problem in problems if problem]


def enter(uid: int | None, gid: int | None, hide: list[str],
          blocked: dict[str, list[str]], staging: str, groups: list[int]) -> dict:
    """In the child, before any learner code: isolate, then drop to `uid`. What it achieved
    (the bootstrap runs no test unless the drop worked)."""
    achieved = {"uid": os.getuid(), "network": "shared", "hidden": [], "problems": []}
    if uid is None:
        return achieved
    problems = achieved["problems"]
    c = libc()
    if c.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        problems.append("could not unshare the network and mounts: "
                        f"{os.strerror(ctypes.get_errno())}")
    else:
        achieved["network"] = "none"
        # From here on, mounts stay in this process's namespace; if that fails, none is made.
        private = mount(c, None, "/", None, MS_REC | MS_PRIVATE)
        if private:
            problems.append(f"{private}: nothing was hidden")
        else:
            problems += expose(c, staging, blocked)
            for path in hide:
                if not os.path.lexists(path):  # in a closed folder that expose() emptied
                    achieved["hidden"].append(path)
                    continue
                flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
                problem = mount(c, "tmpfs", path, "tmpfs", flags, "size=4k,mode=000")
                if problem is None:
                    achieved["hidden"].append(path)
                else:
                    problems.append(problem)
    import resource

    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, MAX_PROCESSES)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError) as error:
            problems.append(f"could not set a process limit: {error}")
    try:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
    except OSError as error:
        problems.append(f"could not become uid {uid}: {error}")
    c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    achieved["uid"] = os.getuid()
    return achieved


def bootstrap(plan_: Plan, sys_path: list[str], channel_fd: int, pytest_args: list[str],
              staging: str) -> str:
    """The Python code the child starts with (`python -I -c ...`): enter, report, run pytest."""
    return "\n".join([
        "import json, os, sys",
        f"sys.path[:0] = {sys_path!r}",
        "from kata.grading.sandbox import enter",
        f"achieved = enter({plan_.uid!r}, {plan_.gid!r}, {plan_.hide!r}, {plan_.expose!r}, "
        f"{staging!r}, {plan_.groups!r})",
        f"os.write({channel_fd}, (json.dumps({{'kind': 'sandbox', **achieved}}) + '\\n').encode())",
        # Never run the learner's code as anyone but the user it was meant to run as.
        f"if {plan_.uid!r} is not None and achieved['uid'] != {plan_.uid!r}: sys.exit(70)",
        "import pytest",
        f"sys.exit(int(pytest.main({pytest_args!r})))",
    ])


def become_subreaper() -> None:
    """Orphans of the test run become the grader's children, so it can find and end them."""
    if sys.platform.startswith("linux"):
        libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def kill_user(uid: int) -> None:
    """End every process of `uid`: a helper becomes that user and kills all it may."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # every process of this user, the helper too
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def end_everything(process: subprocess.Popen, plan_: Plan) -> int:
    """Kill the test run and whatever it left behind; how many leftovers there were.

    The grader must have no other child processes while it grades: they would be ended too.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    leftovers: set[int] = set()
    for _ in range(100):  # a process may fork while the others are being killed
        if plan_.separate_user:
            kill_user(plan_.uid)
        # As a subreaper, the grader inherits every orphan of the run, even one that left
        # its session: its children are now exactly what the run left behind.
        found = set(children_of(os.getpid())) if sys.platform.startswith("linux") else set()
        if not found:
            break
        leftovers |= found
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
        for pid in found:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
    return len(leftovers)


def describe(plan_: Plan, achieved: dict | None) -> str:
    """One sentence for the reports: how the learner's code ran."""
    if achieved is None:
        return "the test run never said how it was isolated: " + "; ".join(plan_.notes or [
            "it ended before it started"])
    if not plan_.separate_user:
        return "; ".join(plan_.notes)
    parts = [f"the learner's code ran as a user of its own (uid {achieved.get('uid')})",
             "without network" if achieved.get("network") == "none" else "with the network"]
    hidden = achieved.get("hidden") or []
    if hidden:
        parts.append(f"with {len(hidden)} of the grader's folders hidden from it ("
                     + ", ".join(hidden[:2]) + (", ..." if len(hidden) > 2 else "") + ")")
    return ", ".join(parts) + "".join(f"; {note}" for note in
                                      [*plan_.notes, *achieved.get("problems", [])])


def achieved_from(record: dict | None) -> dict | None:
    """The sandbox report, if the channel's first record is one (it is sent before any learner
    code runs; a later one is the learner's and is ignored)."""
    if not isinstance(record, dict) or record.get("kind") != "sandbox":
        return None
    return json.loads(json.dumps(record))
