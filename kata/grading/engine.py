"""The trusted side of grading: the process that decides outcomes never imports learner code.

For one submission (a folder holding the learner's step modules), `grade_submission`

1. copies the kata's pristine grading files (kata.grading.manifest's list) into a fresh folder, and
   only the step modules of the submission, as the package `submission`, beside it;
   anything else the submission holds is listed as ignored, never run;
2. reads those modules without running them (kata.grading.review);
3. collects the tests itself, in this process, before any learner code exists in the folder
   it collects: the list of tests, their steps and their docstrings come from here;
4. plants canaries (kata.grading.canaries) and prepares the grader's own checks
   (tests/grader_checks.py) from a fresh secret seed, keeping their secret parts here;
5. runs pytest once in a child process (kata.grading.sandbox: as an unprivileged user,
   without network, with the real labels hidden, where the machine allows), which reports
   through a pipe it can only append to (kata.grading.channel) and is killed at the hard limit;
6. judges the checks' outputs here, and believes the child's reports only where nothing
   contradicts them (each reason starts with its kind: canary, check, machinery, channel,
   sandbox): a canary reported as passed, a check reported as passed that sent no
   outputs or reached a stub, tests the suite does not have, a record sent twice, a malformed
   line, or machinery that changed while the tests ran (kata.grading.integrity) make the run
   forged.

The result (Run) holds each test's outcome as the grader decided it; kata.grading.report
turns it into points and reports.
"""

import ast
import contextlib
import importlib.util
import io
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kata.grading import canaries, channel, checks, review, sandbox
from kata.grading.child import TIME_LIMIT_MESSAGE
from kata.grading.manifest import MANIFEST_NAME, covered_files
from kata.loop.progress import (
    DONE,
    FAILING,
    NOT_RUN,
    SKIPPED,
    TODO,
    is_check,
    step_of_nodeid,
    test_doc,
)
from kata.steps import STEPS
from kata.testing import OBSERVED

PACKAGE = "submission"
# The kata's own package, which the test run imports from here when the kata it grades has
# no kata/ of its own (the throw-away katas of kata/tests).
KATA_PACKAGE = Path(__file__).resolve().parents[1]
STEP_FILES = tuple(f"{step.module}.py" for step in STEPS)
STUB_FILES = ("__init__.py", "hints.toml", *STEP_FILES)
CHECKS_FILE = Path("tests") / "grader_checks.py"
MAX_LOG_BYTES = 2 * 2**20
OUTCOMES = {DONE, FAILING, TODO, SKIPPED, NOT_RUN}


@dataclass
class GradedTest:
    nodeid: str
    step: int | str | None
    doc: str
    outcome: str = NOT_RUN
    message: str = ""
    duration: float = 0.0
    by_grader: bool = False  # decided by the grader's own check, not by the run's report
    # What the test observed, for the diagnosis's words only (kata/loop/diagnoses.py): the
    # run's own report, or for a grader's check what its verdict observed here.
    observed: dict = field(default_factory=dict)


@dataclass
class Run:
    tests: list[GradedTest]
    forged: list[str] = field(default_factory=list)  # why the run's reports cannot be trusted
    review: list[str] = field(default_factory=list)  # "path:line: what" to look at
    ignored: list[str] = field(default_factory=list)  # files of the submission not graded
    isolation: str = ""
    note: str = ""  # why tests did not run, or why grading broke
    broke: bool = False  # the suite could not run at all
    seconds: float = 0.0


def bundle_files(root: Path) -> list[str]:
    """The pristine files grading needs: what the manifest covers, the manifest, and the
    stubs (the step modules, the package's __init__.py, hints.toml: nothing else an
    instructor keeps in exercises/)."""
    stubs = [f"exercises/{name}" for name in STUB_FILES
             if (root / "exercises" / name).is_file()
             and not (root / "exercises" / name).is_symlink()]
    return [*covered_files(root), MANIFEST_NAME, *stubs]


def copy_pristine(source: Path, work: Path) -> None:
    for name in bundle_files(source):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, work / name)


def worth_mentioning(path: Path) -> bool:
    """Whether an ignored file of the submission goes in the reports: anything but what every
    copy of the exercises holds (hints.toml, an __init__.py with nothing but a docstring)."""
    if path.name == "hints.toml":
        return False
    if path.name == "__init__.py":
        try:
            body = ast.parse(path.read_bytes()).body
        except (SyntaxError, ValueError):
            return True
        return not (len(body) <= 1 and all(isinstance(node, ast.Expr) for node in body))
    return True


def learner_modules(submission: Path) -> Path | None:
    """The folder of the submission that holds the step modules: exercises/ or the top."""
    submission = Path(submission)
    found = [path.parent for path in submission.rglob("step*_*.py")
             if path.name in STEP_FILES
             and "solutions" not in path.relative_to(submission).parts[:-1]]
    return min(found, key=lambda folder: len(folder.parts)) if found else None


def lay_modules(modules: Path | None, package: Path, stubs: Path,
                submission: Path | None = None) -> tuple[dict[str, Path], list[str]]:
    """Lay the step modules found in `modules` over the exercise stubs in `package` (a
    module the submission lacks stays a todo stub): the files graded, and the other files of
    the submission (`modules` unless given), which are ignored."""
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A submission, as graded."""\n')
    for name in STEP_FILES:
        if (stubs / name).exists():
            shutil.copyfile(stubs / name, package / name)
    graded, ignored = {}, []
    if modules is None:
        return graded, ["no step module (step1_libraries.py ...) in the submission"]
    modules = Path(modules)
    submission = Path(submission or modules)
    for path in sorted(submission.rglob("*")):
        if not path.is_file() or path.is_symlink() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(submission).as_posix()
        if path.parent == modules and path.name in STEP_FILES:
            shutil.copyfile(path, package / path.name)
            graded[path.name] = package / path.name
        elif worth_mentioning(path):
            ignored.append(relative)
    return graded, ignored


def load_checks(work: Path):
    """The grader's checks, from the pristine copy (they import only torch and the kata)."""
    spec = importlib.util.spec_from_file_location("kata_grader_checks", work / CHECKS_FILE)
    if spec is None or not (work / CHECKS_FILE).exists():
        raise FileNotFoundError(f"grading needs {CHECKS_FILE}: the grader's own checks")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHECKS


def collect(work: Path, device: str) -> list[dict]:
    """Every test of the pristine suite, collected here while no learner module exists."""
    import pytest

    class Collector:
        def __init__(self):
            self.tests: list[dict] = []

        def pytest_collection_finish(self, session):
            self.tests = [{"nodeid": item.nodeid, "doc": test_doc(item)}
                          for item in session.items]

    before, path, collector = set(sys.modules), list(sys.path), Collector()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider",
                            "-p", "no:kata-progress",
                            "--rootdir", str(work), "-c", str(work / "pyproject.toml"),
                            "--impl", PACKAGE, "--device", device, str(work / "tests")],
                           plugins=[collector])
    # Forget the modules of this copy (the tests, conftest), not the libraries they loaded.
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(work)):
            del sys.modules[name]
    sys.path[:] = path
    if code != 0 or not collector.tests:
        raise RuntimeError(f"the pristine tests did not collect (pytest exit {code}):\n"
                           + printed.getvalue()[-2000:])
    return collector.tests


def prepare_checks(all_checks, rng: random.Random, folder: Path, mnist_root: Path | None,
                   device, seed: int) -> tuple[dict, dict, dict]:
    """(public inputs, secret parts, why a check could not be prepared) for every check."""
    from kata.data import how_to_get, missing_files

    public, secret, unprepared = {}, {}, {}
    for check in all_checks:
        if check.needs_mnist and (mnist_root is None or missing_files(mnist_root)):
            unprepared[check.name] = how_to_get(mnist_root or Path("data"))
            continue
        check_folder = folder / check.name
        check_folder.mkdir(parents=True)
        context = checks.Context(device, check_folder, mnist_root, seed)
        public[check.name], secret[check.name] = check.prepare(rng, context)
    return public, secret, unprepared


def child_environment(scratch: Path, mnist_root: Path) -> dict[str, str]:
    """A minimal environment: nothing from the grader's (PYTEST_ADDOPTS, PYTHONPATH, tokens)
    reaches the learner's code, except what the tests need."""
    keep = ("PATH", "LANG", "LC_ALL", "CI", "KATA_DEVICE", "KATA_SEED", "OMP_NUM_THREADS",
            "CUDA_VISIBLE_DEVICES")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    for name in ("tmp", "mpl", "hypothesis", "cache"):
        (scratch / name).mkdir(exist_ok=True)
    return env | {"HOME": str(scratch), "TMPDIR": str(scratch / "tmp"),
                  "MPLCONFIGDIR": str(scratch / "mpl"), "XDG_CACHE_HOME": str(scratch / "cache"),
                  "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / "hypothesis"),
                  "MNIST_ROOT": str(mnist_root), "PYTHONDONTWRITEBYTECODE": "1"}


def own(path: Path, uid: int, gid: int) -> None:
    for folder, _, files in os.walk(path):
        os.chown(folder, uid, gid)
        for name in files:
            os.chown(Path(folder) / name, uid, gid)


class Pump(threading.Thread):
    """Reads one of the child's pipes to its end, so the child never blocks on it."""

    def __init__(self, stream, read):
        super().__init__(daemon=True)
        self.stream, self.read, self.result = stream, read, None

    def run(self):
        self.result = self.read(self.stream)


def read_log(stream) -> str:
    """The child's output, its start and end kept when it runs past MAX_LOG_BYTES."""
    head, tail, total = b"", b"", 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if len(head) < MAX_LOG_BYTES // 2:
            head += chunk
        else:
            tail = (tail + chunk)[-MAX_LOG_BYTES // 2:]
    left_out = total - len(head) - len(tail)
    text = head.decode(errors="replace")
    if left_out > 0:
        text += f"\n[... {left_out:,} bytes of output left out ...]\n"
    return text + tail.decode(errors="replace")


def run_child(work: Path, learner: Path, scratch: Path, plan: sandbox.Plan, pytest_args: list[str],
              env: dict[str, str], hard_limit: float) -> tuple[list[dict], list[str], str, bool]:
    """Run the suite in the child: (records, channel problems, log, killed at the hard limit)."""
    read_end, write_end = os.pipe()
    args = ["-p", "kata.grading.child", "--grade-channel-fd", str(write_end), *pytest_args]
    code = sandbox.bootstrap(plan, [str(work), str(learner)], write_end, args,
                             str(work.parent / "staging"))
    sandbox.become_subreaper()
    process = subprocess.Popen([sys.executable, "-I", "-c", code], cwd=work, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, pass_fds=(write_end,),
                               start_new_session=True)
    os.close(write_end)  # the child holds the only writing end: the pipe closes when it ends
    records = Pump(os.fdopen(read_end, "rb"), channel.read_lines)
    log = Pump(process.stdout, read_log)
    records.start()
    log.start()
    killed = False
    try:
        process.wait(timeout=hard_limit)
    except subprocess.TimeoutExpired:
        killed = True
    finally:  # also when grading itself is stopped (SIGTERM, Ctrl-C): no test run outlives it
        sandbox.end_everything(process, plan)
    records.join(10)
    log.join(10)
    found, problems = records.result or ([], ["the channel could not be read"])
    return found, problems, log.result or "", killed


def grade_submission(source: Path, modules: Path | None, config, *, pytest_args=(),
                     mnist_root: Path | None = None, device: str = "auto",
                     hide: tuple[Path, ...] = (), seed: int | None = None,
                     log_path: Path | None = None, submission: Path | None = None) -> Run:
    """Grade the step modules in `modules` with the pristine kata at `source` (see above)."""
    from kata.device import resolve_device

    started = time.monotonic()
    source = Path(source).resolve()
    rng = random.Random(secrets.randbits(64) if seed is None else seed)
    test_seed = int(os.environ.get("KATA_SEED", "0"))
    with tempfile.TemporaryDirectory(prefix="kata-grade-") as folder:
        top = Path(folder)
        os.chmod(top, 0o755)
        work, learner, scratch = top / "kata", top / "learner", top / "scratch"
        copy_pristine(source, work)
        graded, ignored = lay_modules(modules, learner / PACKAGE, work / "exercises",
                                      submission)
        findings = review.review({f"{PACKAGE}/{name}": path for name, path in graded.items()})
        collected = collect(work, device)
        unchecked = sorted({str(step_of_nodeid(t["nodeid"])) for t in collected}
                           - {str(step_of_nodeid(t["nodeid"])) for t in collected
                              if is_check(t["nodeid"])} - {"None"})
        if unchecked:
            raise RuntimeError(f"the suite has no grader's check for step(s) "
                               f"{', '.join(unchecked)}: every step needs one")
        planted = canaries.plant(work / "tests", rng)
        all_checks = load_checks(work)
        cases = checks.verdict_names(all_checks)
        public, secret, unprepared = prepare_checks(
            all_checks, rng, work / "inputs", mnist_root, resolve_device(device), test_seed)
        (work / "inputs" / "inputs.json").write_text(json.dumps(channel.encode(public)))
        # Hidden: the real MNIST (its test labels), the grader's own files (the reference
        # solution among them, in an instructor's copy), wherever the submission came from.
        plan = sandbox.plan(hide=[*hide, *(d for d in source.iterdir() if d.is_dir())],
                            keep=[top, Path(sys.prefix), Path(sys.base_prefix), KATA_PACKAGE],
                            must_hide=(mnist_root,) if mnist_root else ())
        scratch.mkdir()
        env = child_environment(scratch, work / "inputs" / "capstone" / "mnist")
        if plan.separate_user:
            own(scratch, plan.uid, plan.gid)
            os.chmod(scratch, 0o700)
        run_args = ["--grade-inputs", str(work / "inputs" / "inputs.json"),
                    "--grade-time-limit", str(config.run_limit_s),
                    "--timeout", str(config.test_timeout_s), "--impl", PACKAGE,
                    "--device", device, "--require-data", "-p", "no:cacheprovider",
                    "-p", "no:kata-progress", "-q", "--tb=short", "--rootdir", str(work),
                    "-c", str(work / "pyproject.toml"), *pytest_args]
        records, problems, log, killed = run_child(
            work, learner, scratch, plan, run_args, env,
            config.run_limit_s + config.hard_kill_grace_s)
    if log_path:
        Path(log_path).write_text(log)
    run = judge_run(collected, planted, cases, public, secret, unprepared, records, problems)
    run.review, run.ignored = findings, ignored
    achieved = sandbox.achieved_from(records[0] if records else None)
    run.isolation = sandbox.describe(plan, achieved)
    explain_what_did_not_run(run, records, killed, config)
    # The bootstrap reports before any learner code runs, and runs no test unless it became
    # the learner's user: a run that reported without that report is not the one started.
    if plan.separate_user and achieved is not None and achieved.get("uid") != plan.uid:
        run.broke = True
        run.note = "grading broke: " + "; ".join(achieved.get("problems") or ["the sandbox"])
    elif records and plan.separate_user and achieved is None:
        run.forged.append("sandbox: the test run reported without its sandbox's report")
    run.seconds = time.monotonic() - started
    return run


def explain_what_did_not_run(run: Run, records: list[dict], killed: bool, config) -> None:
    """The run's note, and the message of every test without a result: why it has none."""
    if killed:
        run.note = (f"not run: grading was stopped at its hard time limit "
                    f"({config.run_limit_s + config.hard_kill_grace_s:g} s)")
    elif not any(r["kind"] == "collected" for r in records):
        run.broke = True
        run.note = "grading broke: the test run ended before collecting any test; see pytest.log"
    elif any(test.outcome == NOT_RUN and not test.message for test in run.tests):
        run.note = "not run: the test run ended early; see pytest.log"
    for test in run.tests:
        if test.outcome == NOT_RUN and not test.message and not run.broke:
            test.message = run.note
    if any(TIME_LIMIT_MESSAGE in test.message for test in run.tests):
        run.note = run.note or (f"{TIME_LIMIT_MESSAGE} ({config.run_limit_s:g} s); later tests "
                                "scored 0")


# What each kind of record must hold, by type: anything else is a malformed record.
RECORD_FIELDS = {
    "test": {"nodeid": str, "outcome": str, "message": str, "duration": (int, float),
             "machinery": list},
    "evidence": {"check": str},
    "end": {"machinery": list},
}


def well_formed(record: dict) -> bool:
    """Whether a record from the run has the fields of its kind, of the right types."""
    fields = RECORD_FIELDS.get(record.get("kind"), {})
    if not all(isinstance(record.get(name), kinds) for name, kinds in fields.items()):
        return False
    if "machinery" in fields and not all(isinstance(x, str) for x in record["machinery"]):
        return False
    return record.get("kind") != "test" or record["outcome"] in OUTCOMES


def judge_run(collected, planted, cases, public, secret, unprepared, records,
              problems) -> Run:
    """Each collected test's outcome as the grader decides it, and every sign of forgery."""
    forged = [f"channel: {problem}" for problem in problems]
    tests = {entry["nodeid"]: GradedTest(entry["nodeid"], step_of_nodeid(entry["nodeid"]),
                                          entry["doc"]) for entry in collected}
    reported, evidence, machinery = {}, {}, set()
    for record in records[1:] if records and records[0].get("kind") == "sandbox" else records:
        kind = record.get("kind")
        if not well_formed(record):
            forged.append(f"channel: a malformed {kind} record: {str(record)[:120]}")
        elif kind == "test":
            nodeid = record["nodeid"]
            if nodeid in reported:
                forged.append(f"channel: {nodeid} was reported twice")
            elif nodeid not in tests and nodeid not in planted:
                forged.append(f"channel: a report of a test the suite does not have: {nodeid}")
            else:
                reported[nodeid] = record
            machinery.update(record["machinery"])
        elif kind == "evidence":
            name = record["check"]
            if name in evidence or name not in public:
                forged.append(f"channel: outputs for {name!r} twice, or for no such check")
            else:
                evidence[name] = record
        elif kind == "end":
            machinery.update(record["machinery"])
        elif kind not in ("collected", "oversized"):
            forged.append(f"channel: a record of an unknown kind: {kind!r}")
    if machinery:
        forged.append("machinery: the run changed what decides outcomes: "
                      + ", ".join(sorted(map(str, machinery))[:10]))
    for nodeid, expected in planted.items():
        # Failing instead of todo can be the time limit; only a pass is impossible.
        if reported.get(nodeid, {}).get("outcome") == DONE:
            forged.append(f"canary: {nodeid}, a test the grader planted to come out "
                          f"{expected}, was reported passed")
    for nodeid, test in tests.items():
        record = reported.get(nodeid)
        if record is not None:
            test.outcome = record["outcome"]
            test.message = record["message"][:4000]
            test.duration = float(record["duration"])
            test.observed = observed_of(record)
        if is_check(nodeid):
            judge_check(test, record, cases, public, secret, unprepared, evidence, forged)
    return Run(list(tests.values()), forged=forged)


# A run's observations only choose the words of a diagnosis; a larger one is dropped.
MAX_OBSERVED_CHARS = 2000


def observed_of(record: dict) -> dict:
    """A test record's observations: a small dict of plain values, or {} (a record without
    one is well-formed: observations never decide an outcome)."""
    observed = record.get("observed")
    if not isinstance(observed, dict):
        return {}
    try:
        small = len(json.dumps(observed)) <= MAX_OBSERVED_CHARS
    except (TypeError, ValueError):
        return {}
    return observed if small else {}


def judge_check(test: GradedTest, record, cases, public, secret, unprepared, evidence,
                forged: list[str]) -> None:
    """The grader's verdict on one of its checks replaces whatever the run reported."""
    name = test.nodeid.rsplit("[", 1)[1].rstrip("]")
    case = cases.get((str(test.step), name))
    if case is None:
        test.outcome, test.message = FAILING, f"the grader has no check {name!r}"
        return
    check = case.check.name
    test.by_grader = True
    if check in unprepared:
        test.outcome, test.message = FAILING, unprepared[check]
        return
    sent = evidence.get(check)
    if sent is None:
        if test.outcome == DONE:
            forged.append(f"check: {test.nodeid} was reported passed, but sent no outputs")
            test.outcome, test.message = FAILING, "the test run sent no outputs for this check"
        return  # not run, failing or todo, as the run reported
    OBSERVED.clear()  # what this verdict observes, here, replaces what the run said
    outcome, message = checks.judge(case, public[check], secret[check], sent)
    test.observed = dict(OBSERVED)
    if record is not None and record["outcome"] == DONE and outcome in (TODO, FAILING) \
            and ("todo" in sent or "error" in sent):
        forged.append(f"check: {test.nodeid} was reported passed, but its check "
                      f"{'reached a stub' if 'todo' in sent else 'raised an error'}")
    test.outcome, test.message = outcome, message
