"""`kata class` (`make class`): grade a whole class, then write its gradebook and report.

    kata class submissions/                 a folder: a folder, zip or notebook per learner
    kata class assignment_123_export.zip    Gradescope's export: its results, not regraded
    kata class scores.json                  Classroom 50's scores (or a `gh teacher download`)
    kata class submissions/ --jobs 2 --out ../reports/ml101 -- --step 3

Each submission is graded by `kata grade` in a process of its own (the same trusted grading,
time limits and reports), `--jobs` at a time, with torch's threads shared among them. What a
learner's code may see excludes the class folder and the reports: no learner reads another's
work. A learner's reports land in OUT/learners/NAME/ only once complete, with grading.json
(the submission's digest, the time and peak memory it took), so a run that was stopped
(Ctrl-C, a reboot) goes on where it stopped: a learner whose submission and kata have not
changed since is not graded again. One broken submission is a row saying why, never the end
of the run.

Writes OUT/gradebook.csv and OUT/report.html (with OUT/figures/*.png). OUT is by default
outside the kata's folder (`<kata>-classes/<source>` beside it): it holds learners' personal
data, which must never travel with the kata (a handout or a bundle copies only the kata's own
tracked files in any case), and the last line of the run says so.
"""

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path

from kata.config import load_config
from kata.gradebook import book, platforms, report, submissions
from kata.grading.manifest import MANIFEST_NAME
from kata.paths import given_path

RESULTS, RECORD = "results.json", "grading.json"
GRADED_HERE = "graded here"
# Beyond grading's own limits (grading.toml): the time to collect, copy and write reports.
OVERHEAD_S = 300


class Grader:
    """Grades submissions with `kata grade`, each in its own process, and can stop them all."""

    def __init__(self, root: Path, out: Path, class_folder: Path, threads: int,
                 pytest_args: list[str]):
        self.root, self.out, self.class_folder = root, out, class_folder
        self.threads, self.pytest_args = threads, pytest_args
        config = load_config(root)
        self.max_score = config.max_score
        self.limit = config.run_limit_s + config.hard_kill_grace_s + OVERHEAD_S
        self.kata_digest = hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest()
        self.running: set[int] = set()  # each grading leads a process group of its own
        self.lock = threading.Lock()
        self.stopping = False

    def folder(self, submission: submissions.Submission) -> Path:
        return self.out / "learners" / submission.learner

    def fingerprint(self, submission: submissions.Submission) -> str:
        return submissions.fingerprint(submission) + ":" + self.kata_digest

    def up_to_date(self, submission: submissions.Submission) -> bool:
        record = self.folder(submission) / RECORD
        try:
            return json.loads(record.read_text())["fingerprint"] == self.fingerprint(submission)
        except (OSError, ValueError, KeyError):
            return False

    def grade(self, submission: submissions.Submission) -> dict:
        """Grade one submission into its folder; its record (grading.json)."""
        final = self.folder(submission)
        partial = final.with_name(f".partial-{submission.learner}")
        scratch = self.out / ".scratch" / submission.learner
        for leftover in (partial, scratch):
            shutil.rmtree(leftover, ignore_errors=True)
        partial.mkdir(parents=True)
        record = {"learner": submission.learner, "submission": str(submission.path),
                  "kind": submission.kind, "fingerprint": self.fingerprint(submission)}
        started = time.monotonic()
        try:
            target = submissions.gradable(submission, scratch)
            record |= self.run_grade(target, partial)
        except submissions.Unreadable as error:
            record["problem"] = str(error)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if self.stopping:
            shutil.rmtree(partial, ignore_errors=True)
            return record
        record["seconds"] = round(time.monotonic() - started, 2)
        record["graded_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        (partial / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)  # the learner's folder appears whole, or not at all
        return record

    def run_grade(self, target: Path, out: Path) -> dict:
        """`kata grade TARGET --out OUT` in a new process: its exit, peak memory, problem."""
        command = [sys.executable, "-m", "kata", "grade", str(target), "--out", str(out),
                   "--root", str(self.root), "--hide", str(self.class_folder),
                   "--hide", str(self.out), "--", *self.pytest_args]
        env = os.environ | {"OMP_NUM_THREADS": str(self.threads)}
        with open(out / "grade.log", "wb") as log:
            process = subprocess.Popen(command, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        with self.lock:
            self.running.add(process.pid)
        deadline = time.monotonic() + self.limit
        status, usage, problem = None, None, ""
        while status is None:
            pid, waited, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status, usage = waited, rusage
            elif time.monotonic() > deadline:
                problem = f"grading did not finish in {self.limit:g} s and was stopped"
                os.killpg(process.pid, signal.SIGKILL)
            else:
                time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        with self.lock:
            self.running.discard(process.pid)
        if not problem and not (out / RESULTS).exists():
            problem = f"grading wrote no results (exit {process.returncode}); see grade.log"
        # ru_maxrss: the largest process of the tree, in KiB on Linux and bytes on macOS.
        peak = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        return {"exit": process.returncode, "peak_memory_mb": round(peak, 1),
                **({"problem": problem} if problem else {})}

    def stop(self) -> None:
        """End every grading still running: `kata grade` ends its own test run on SIGTERM."""
        self.stopping = True
        with self.lock:
            groups = list(self.running)
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)


def row_of(folder: Path, learner: str, max_score: float) -> book.Row:
    """A learner's row, from the reports in their folder."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        record = {"problem": "not graded yet"}
    if record.get("problem") or not (folder / RESULTS).exists():
        row = book.broken(learner, GRADED_HERE, record.get("problem", "no results"))
        row.max_total = max_score
    else:
        try:
            row = book.from_results(json.loads((folder / RESULTS).read_text()), learner,
                                    GRADED_HERE)
        except (OSError, ValueError) as error:
            row = book.broken(learner, GRADED_HERE, f"unreadable results: {error}")
    row.seconds = record.get("seconds")
    row.peak_memory_mb = record.get("peak_memory_mb")
    return row


def stopped(signum, frame):
    """SIGTERM (a killed job, a cancelled CI run) stops the class as Ctrl-C does."""
    raise KeyboardInterrupt


def grade_class(folder: Path, out: Path, root: Path, jobs: int, fresh: bool,
                pytest_args: list[str]) -> list[book.Row]:
    """Grade every submission of `folder` not already graded; every learner's row."""
    found, skipped = submissions.find(folder)
    if skipped:
        print(f"{folder}: not submissions, skipped: {', '.join(skipped)}")
    grader = Grader(root, out, folder.resolve(), max(1, (os.cpu_count() or 1) // jobs),
                    pytest_args)
    (out / "learners").mkdir(parents=True, exist_ok=True)
    todo = [s for s in found if fresh or not grader.up_to_date(s)]
    if len(todo) < len(found):
        print(f"{len(found) - len(todo)} of {len(found)} already graded (unchanged since): "
              "not graded again" + ("" if todo else "; --fresh grades everyone again"))
    started = time.monotonic()
    signal.signal(signal.SIGTERM, stopped)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = {pool.submit(grader.grade, s): s for s in todo}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    submission = pending.pop(future)
                    report_progress(len(todo) - len(pending), len(todo), submission,
                                    row_of(grader.folder(submission), submission.learner,
                                           grader.max_score),
                                    time.monotonic() - started)
        except KeyboardInterrupt:
            grader.stop()
            for future in pending:
                future.cancel()
            graded = len(todo) - len(pending)
            print(f"\nstopped: {graded} graded, {len(pending)} left; run the same command "
                  "again to grade only those", file=sys.stderr)
            raise
    shutil.rmtree(out / ".scratch", ignore_errors=True)
    return [row_of(grader.folder(s), s.learner, grader.max_score) for s in found]


def report_progress(done: int, total: int, submission, row: book.Row, elapsed: float):
    flags = f" [{'; '.join(row.flags)}]" if row.flags else ""
    seconds = f"{row.seconds:.0f} s" if row.seconds is not None else ""
    print(f"[{done}/{total}] {submission.learner}: {row.total:g}/{row.max_total:g} "
          f"{row.status}{flags} ({seconds}; {elapsed:.0f} s in all)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata class", description="Grade a class, or read what a platform graded, then "
        "write OUT/gradebook.csv and OUT/report.html.")
    parser.add_argument("sources", nargs="+", type=given_path,
                        help="a folder of submissions (a folder, zip or notebook per learner), "
                        "a Gradescope export (zip or folder), a Classroom 50 scores.json, "
                        "result.json or `gh teacher download` folder")
    parser.add_argument("--out", type=given_path,
                        help="where the gradebook, report and learners' folders go (default: "
                        "KATA-classes/NAME beside the kata's folder, outside it)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: one per core)")
    parser.add_argument("--fresh", action="store_true",
                        help="grade everyone again, even those already graded")
    parser.add_argument("--assignment", help="which assignment of a Classroom 50 scores.json")
    parser.add_argument("--title", default="MNIST kata: class report")
    parser.add_argument("--root", type=given_path, default=Path("."), help="the kata's folder")
    parser.epilog = "Arguments after -- go to pytest in every grading (e.g. -- --step 3)."
    argv = sys.argv[1:] if argv is None else list(argv)
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    root = args.root.resolve()
    out = (args.out or default_out(root, args.sources[0])).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows, notes = [], []
    for source in args.sources:
        source = source.resolve()
        read = platforms.read_platform(source, args.assignment)
        if read is not None:
            print(f"{source}: {len(read)} results read from {read[0].source if read else 'it'}")
            notes.append(f"{len(read)} results read from {source.name}, as the platform "
                         "graded them.")
            rows += read
        elif source.is_dir():
            try:
                rows += grade_class(source, out, root, args.jobs, args.fresh, pytest_args)
            except KeyboardInterrupt:
                return 130
        else:
            print(f"{source}: neither a folder of submissions nor a platform's export",
                  file=sys.stderr)
            return 2
    book.write_csv(rows, out / "gradebook.csv")
    page = report.write(rows, out, args.title, notes)
    broke = sum(row.status == book.BROKE for row in rows)
    print(f"{len(rows)} learners ({broke} could not be graded): {out / 'gradebook.csv'}, {page}")
    print(privacy_note(root, out))
    return 0


def default_out(root: Path, source: Path) -> Path:
    """Outside the kata's folder, so that a class's data never sits among the kata's files:
    `<kata>-classes/<source>` beside it."""
    return root.parent / f"{root.name}-classes" / Path(source).resolve().stem


def privacy_note(root: Path, out: Path) -> str:
    where = ("inside the kata's folder; no handout or bundle copies it"
             if out == root or root in out.parents else "outside the kata's folder")
    return (f"{out} ({where}) holds learners' personal data (names, grades, code): keep it "
            "private, out of any repository you share")


if __name__ == "__main__":
    sys.exit(main())
