"""`kata class-proof`: a synthetic class with known mistakes, graded by `kata class`, and
the report's ranking checked against the mistakes planted. Also the class-scale benchmark.

    kata class-proof                     20 learners, in a temporary folder
    kata class-proof --size 100 --out /tmp/class100 --keep    the README's scale figures

The class mixes what `make verify` already trusts: the reference as a folder, a zip and a
notebook, every correct alternative, the stubs, a dishonest submission (make attacks), and
learner mistakes (make mutants), each planted in a different number of learners (4, 3, 2, 1
for 20 learners, scaled with --size). The proof holds when every honest learner has full
marks and no ranked mistake, the stubs have none either, the dishonest one is flagged, and
each planted mistake is ranked with exactly the learners it was planted in (a capstone test
may fail too, but only for learners with a planted mistake). It prints the run's wall time,
the grading time per submission, peak memory, and how the time grew with the learners.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path

from kata import data
from kata.gradebook import report
from kata.gradebook.book import FORGED, REVIEW, Row
from kata.gradebook.run import RECORD, row_of
from kata.gradebook.run import main as class_main
from kata.loop.notebook import build as build_notebook
from kata.paths import given_path
from kata.proofs.attacks import build_cheat
from kata.proofs.cheats import CHEATS
from kata.proofs.mistakes import MISTAKES
from kata.proofs.mutants import module_file, mutated_source
from kata.proofs.variants import alternative_names, build_alternative, build_package
from kata.steps import STEPS

ROOT = Path(__file__).resolve().parents[2]
# Mistakes whose tests are in their own step (and, for no-zero-grad, the capstone's too).
PLANTED = ("no-gray", "accuracy-count", "check-single-swapped", "no-zero-grad")
CHEAT = "report-rewrite"


def plan(size: int) -> list[tuple[str, str, str]]:
    """(learner, kind, what) for a class of `size`: kind is honest, stub, cheat or mutant."""
    scale = max(1, round(size / 20))
    mutants = [(name, count * scale) for name, count in zip(PLANTED, (4, 3, 2, 1))]
    honest = ["solutions", "solutions-zip", "solutions-notebook", *alternative_names()]
    learners = [("stub", "exercises")] * scale + [("cheat", CHEAT)] * scale
    learners += [("mutant", name) for name, count in mutants for _ in range(count)]
    while len(learners) < size:
        learners.append(("honest", honest[len(learners) % len(honest)]))
    return [(f"learner{index:03d}", kind, what)
            for index, (kind, what) in enumerate(learners[:size], 1)]


def build_class(folder: Path, size: int) -> dict[str, tuple[str, str]]:
    """The submissions of a class of `size` in `folder`; learner -> (kind, what)."""
    made = {}
    scratch = folder.parent / "packages"
    for learner, kind, what in plan(size):
        package = scratch / learner
        if kind == "mutant":
            mistake = next(m for m in MISTAKES if m.name == what)
            built = build_package(package, "pkg", sources={
                module_file(mistake.step): mutated_source(mistake)})
        elif kind == "cheat":
            cheat = next(c for c in CHEATS if c.name == what)
            built = build_cheat(cheat, package, folder.parent / "unused",
                                data.mnist_root(default=ROOT / "data"))
        elif kind == "stub":
            built = package / "pkg"
            shutil.copytree(ROOT / "exercises", built)
        elif what in alternative_names():
            built = build_alternative(package, what)
        else:
            built = build_package(package, "pkg")
        if what == "solutions-zip":
            with zipfile.ZipFile(folder / f"{learner}.zip", "w") as zipped:
                for file in sorted(built.glob("*.py")):
                    zipped.write(file, f"{learner}/exercises/{file.name}")
        elif what == "solutions-notebook":
            sources = {step.number: (built / f"{step.module}.py").read_text() for step in STEPS}
            build_notebook(ROOT, folder / f"{learner}.ipynb", "", sources=sources)
        else:
            shutil.copytree(built, folder / learner / "exercises",
                            ignore=shutil.ignore_patterns("__pycache__"))
        made[learner] = (kind, what)
    shutil.rmtree(scratch)
    return made


def learners_with(planted: dict[str, tuple[str, str]], name: str) -> list[str]:
    return sorted(learner for learner, (_, what) in planted.items() if what == name)


def step_key_of(name: str) -> str:
    return f"step{next(m for m in MISTAKES if m.name == name).step}"


def check(rows: dict[str, Row], planted: dict[str, tuple[str, str]]) -> list[str]:
    """What is wrong with the class's grades and ranking, given what was planted."""
    problems = []
    with_mistake = {learner for learner, (kind, _) in planted.items() if kind == "mutant"}
    ranked = report.rank_mistakes(list(rows.values()))
    for mistake in ranked:
        strays = set(mistake.learners) - with_mistake
        if strays:
            problems.append(f"{mistake.nodeid} ranked for learners without a planted mistake: "
                            f"{sorted(strays)}")
        if mistake.step != "capstone":
            owners = {planted[learner][1] for learner in mistake.learners}
            if len(owners) > 1 or step_key_of(next(iter(owners))) != mistake.step:
                problems.append(f"{mistake.nodeid} ranked for learners of {sorted(owners)}")
    for name in PLANTED:
        learners = learners_with(planted, name)
        if not any(sorted(m.learners) == learners for m in ranked
                   if m.step == step_key_of(name)):
            problems.append(f"{name}: no ranked test of its step has exactly its "
                            f"{len(learners)} learners")
    for learner, (kind, what) in planted.items():
        row = rows[learner]
        if kind == "honest" and (row.total != row.max_total or row.flags):
            problems.append(f"{learner} ({what}): {row.total:g}/{row.max_total:g} {row.flags}")
        if kind == "stub" and row.total != 0:
            problems.append(f"{learner} (stubs): {row.total:g} points")
        if kind == "cheat" and not ({FORGED, REVIEW} & set(row.flags)):
            problems.append(f"{learner} ({what}): not flagged")
    return problems


class MemorySampler(threading.Thread):
    """The machine's memory in use (MemTotal - MemAvailable), its peak over the run."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = self.baseline = self.used()
        self.running = True

    @staticmethod
    def used() -> float:
        try:
            info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text()
                        .splitlines())
        except OSError:
            return 0.0
        kib = lambda key: float(info[key].split()[0])  # noqa: E731
        return (kib("MemTotal") - kib("MemAvailable")) / 1024

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.used())
            time.sleep(0.5)


def figures(out: Path, learners: list[str], wall: float, sampler: MemorySampler) -> str:
    records = [json.loads((out / "learners" / name / RECORD).read_text()) for name in learners
               if (out / "learners" / name / RECORD).exists()]
    seconds = sorted(r["seconds"] for r in records)
    peaks = [r.get("peak_memory_mb") or 0 for r in records]
    finished = sorted(datetime.fromisoformat(r["graded_at"]).timestamp() for r in records)
    lines = [f"{len(records)} submissions graded in {wall:.0f} s wall "
             f"({wall / max(len(records), 1):.1f} s per submission)",
             f"one submission: median {statistics.median(seconds):.1f} s, "
             f"max {seconds[-1]:.1f} s",
             f"peak memory: one grading's largest process {max(peaks):.0f} MB; the machine "
             f"{sampler.peak - sampler.baseline:.0f} MB above its {sampler.baseline:.0f} MB "
             "at the start"]
    if finished:
        start = finished[-1] - wall
        marks = sorted({max(1, round(len(finished) * f)) for f in (0.1, 0.25, 0.5, 1.0)})
        lines.append("time to grade the first N: " + ", ".join(
            f"{n}: {finished[n - 1] - start:.0f} s" for n in marks))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata class-proof", description="Grade a synthetic class with planted mistakes "
        "and check the report ranks exactly those; print the class-scale figures.")
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=None, help="as kata class (one per core)")
    parser.add_argument("--out", type=given_path, help="keep everything here (default: a temporary "
                        "folder, removed unless --keep)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    top = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="kata-class-"))
    folder, out = top / "submissions", top / "report"
    if not folder.exists():  # a second run on --out resumes the same class
        folder.mkdir(parents=True)
        planted = build_class(folder, args.size)
        (top / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")
    planted = {k: tuple(v) for k, v in json.loads((top / "planted.json").read_text()).items()}
    print(f"a class of {len(planted)} in {folder}: " + ", ".join(
        f"{sum(1 for k, _ in planted.values() if k == kind)} {kind}"
        for kind in ("honest", "mutant", "stub", "cheat")), flush=True)
    sampler = MemorySampler()
    sampler.start()
    started = time.monotonic()
    code = class_main([str(folder), "--out", str(out), "--root", str(ROOT),
                       *(["--jobs", str(args.jobs)] if args.jobs else [])])
    wall = time.monotonic() - started
    sampler.running = False
    if code != 0:
        return code
    rows = {learner: row_of(out / "learners" / learner, learner, 100.0) for learner in planted}
    print("\nplanted mistake        step   learners   ranked with exactly them")
    ranked = report.rank_mistakes(list(rows.values()))
    for name in PLANTED:
        learners = learners_with(planted, name)
        hits = [m.nodeid.split("::")[-1] for m in ranked
                if m.step == step_key_of(name) and sorted(m.learners) == learners]
        print(f"{name:<22} {step_key_of(name):<6} {len(learners):>8}   "
              f"{', '.join(hits) or 'NONE'}")
    print()
    print(figures(out, list(planted), wall, sampler))
    problems = check(rows, planted)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    kept = args.keep or args.out
    print(f"\nclass proof {'FAILED' if problems else 'passed'}: " + (
        f"report in {out / 'report.html'}" if kept else "(--keep or --out to keep the report)"))
    if not kept:
        shutil.rmtree(top)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
