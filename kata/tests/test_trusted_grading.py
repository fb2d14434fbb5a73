"""The pieces of trusted grading, one by one: the channel, the static review, the canaries,
the machinery check, the sandbox's plan, the catalogue of cheats and how make attacks judges
them. (test_grade.py grades whole submissions; make attacks grades the cheats.)"""

import ast
import io
import json
import random
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from fakes import ROOT
from hypothesis import given
from hypothesis import strategies as st

from kata.grading import canaries, channel, engine, integrity, review, sandbox
from kata.loop.progress import DONE, FAILING, TODO
from kata.proofs import attacks
from kata.proofs.cheats import CHEATS, MODULES
from kata.steps import STEPS

# ---------------------------------------------------------------- the channel

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, width=32),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12)


@given(value=plain)
def test_the_channel_carries_plain_data_unchanged(value):
    assert channel.load(channel.dump(value)) == value


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.uint8, torch.bool])
def test_the_channel_carries_tensors_exactly(dtype):
    tensor = (torch.rand(3, 4) * 100).to(dtype)
    back = channel.load(channel.dump({"t": tensor, "nan": float("nan")}))
    assert back["t"].dtype == dtype and torch.equal(back["t"], tensor)
    assert back["nan"] != back["nan"]


@pytest.mark.parametrize("line", [
    b'{"kind": "test", "x": {"$tensor": {"dtype": "object", "shape": [1], "data": [1]}}}\n',
    b'{"kind": "test", "x": {"$tensor": {"dtype": "int64", "shape": [3], "data": [1]}}}\n',
    b'{"kind": "test", "x": {"$float": "__import__"}}\n',
    b"[1, 2, 3]\n", b"not json\n", b'{"no": "kind"}\n',
])
def test_the_grader_refuses_what_the_channel_does_not_allow(line):
    """Catches: a record the grader would have to trust to read (an object, a bad tensor)."""
    records, problems = channel.read_lines(io.BytesIO(b'{"kind": "end"}\n' + line))
    assert records == [{"kind": "end"}] and len(problems) == 1


def test_the_channel_widens_a_tensor_of_another_dtype_instead_of_refusing_it():
    """Catches: an int16 or float16 output that made the whole record unreadable (forged)."""
    back = channel.load(channel.dump([torch.ones(2, dtype=torch.int16),
                                      torch.ones(2, dtype=torch.float16)]))
    assert [t.dtype for t in back] == [torch.int64, torch.float64]


@pytest.mark.parametrize("record", [
    {"kind": "test", "nodeid": ["x"], "outcome": "done", "message": "", "duration": 0,
     "machinery": []},
    {"kind": "test", "nodeid": "tests/test_step1_libraries.py::test_x", "outcome": "done",
     "message": "", "duration": "slow", "machinery": []},
    {"kind": "end", "machinery": 5},
    {"kind": "evidence", "check": ["device"], "outputs": {}},
])
def test_a_record_of_the_wrong_shape_is_a_forgery_not_a_crash(record):
    """Catches: a record that crashed the grader and lost every other finding."""
    collected = [{"nodeid": "tests/test_step1_libraries.py::test_x", "doc": ""}]
    run = engine.judge_run(collected, {}, {}, {}, {}, {}, [record], [])
    assert any(reason.startswith("channel: a malformed") for reason in run.forged)


def test_a_flood_on_the_channel_is_cut_and_reported():
    """Catches: a run that floods the channel to exhaust the grader's memory."""
    lines = b"".join(b'{"kind": "test", "n": %d}\n' % n for n in range(1000))
    records, problems = channel.read_lines(io.BytesIO(lines + b"x" * 5000 + b"\n"),
                                           total_limit=10_000)
    assert 0 < len(records) < 1000 and any("dropped" in p for p in problems)


# ---------------------------------------------------------------- the static review


def findings_for(source: str) -> list[str]:
    return review.review_source(source, "submission/step1_libraries.py")


@pytest.mark.parametrize("package", ["solutions", "exercises", *[
    f"alternatives/{folder.name}" for folder in (ROOT / "alternatives").iterdir()
    if folder.is_dir()]])
def test_honest_code_needs_no_review(package):
    files = {f"{package}/{p.name}": p for p in (ROOT / package).glob("step*_*.py")}
    assert files and review.review(files) == []


@pytest.mark.parametrize("source, why", [
    ("import gc\n", "imports gc"),
    ("from _pytest import reports\n", "imports reports from _pytest"),
    ("import sys\nsys.modules['x'] = 1\n", "imports sys"),
    ("import torch\ntorch.equal = lambda *a: True\n", "changes torch.equal"),
    ("def f():\n    exec('x = 1')\n", "calls exec()"),
    ("def f(o):\n    return o.__class__.__subclasses__()\n", ".__subclasses__"),
    ("def f(frame):\n    return frame.f_back\n", "reads the call stack"),
    ("import os\n\ndef f():\n    os._exit(0)\n", "calls os._exit"),
    ("print('hello')\n", "runs code when it is imported"),
    ("TABLE = [" + "1, " * 300 + "]\n", "embeds a literal of more than"),
    ("def f(o, name):\n    return getattr(o, name)\n", "getattr() with a computed name"),
    ("from os import _exit\n", "imports os._exit"),
    ("import importlib.metadata\nm = importlib.import_module('gc')\n", "uses importlib.import_"),
    ("def f(frame):\n    return getattr(frame, 'f_back')\n", "reads the call stack"),
    ("def run():\n    pass\n\n\n_ = run()\n", "runs its own code when it is imported"),
    ("KEY = '" + "QUJD" * 40 + "'\n", "embeds a blob"),
    ("".join(f"T{i} = '{'x' * 90}'\n" for i in range(50)), "characters of strings beside"),
    ("".join(f"T{i} = ({i}, {i + 1})\n" for i in range(200)), "numbers"),
], ids=lambda value: value if len(value) < 24 else value[:24])
def test_code_a_step_has_no_need_of_is_flagged_with_its_line(source, why):
    found = findings_for(source)
    assert any(why in finding for finding in found), found
    assert all(finding.startswith("submission/step1_libraries.py:") for finding in found)


@pytest.mark.parametrize("source", [
    "import torch\ntorch.backends.cudnn.deterministic = True\n",
    "import matplotlib.pyplot as plt\nplt.rcParams['font.size'] = 8\n",
    "__all__ = ['get_device']\n",
    "try:\n    import tqdm\nexcept ImportError:\n    tqdm = None\n",
    "import torch\nDEVICE = torch.device('cpu')\n",
], ids=["cudnn", "rcParams", "__all__", "try-import", "constant"])
def test_plain_configuration_needs_no_review(source):
    """Catches: flagging what honest learners write (settings, __all__, optional imports)."""
    assert findings_for(source) == []


@pytest.mark.parametrize("cheat", [c for c in CHEATS if c.append], ids=lambda c: c.name)
def test_every_cheat_that_adds_code_is_flagged_or_stopped_otherwise(cheat):
    flagged = [finding for step, code in cheat.append.items()
               for finding in findings_for(code)]
    # read-labels uses only what a step may use: the sandbox stops it (it hides the labels).
    assert flagged or cheat.name == "read-labels", f"{cheat.name} passes the review unseen"


# ---------------------------------------------------------------- canaries


def test_canaries_are_planted_one_per_step_named_like_the_real_tests(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    for step in STEPS:
        shutil_copy(ROOT / "tests" / f"test_{step.module}.py", tests)
    planted = canaries.plant(tests, random.Random(3))
    assert len(planted) == len(STEPS) and set(planted.values()) <= {FAILING, TODO}
    for nodeid in planted:
        path, name = nodeid.split("::")
        source = (tmp_path / path).read_text()
        ast.parse(source)
        assert source.count(f"def {name}(") == 1
        subject = name.removeprefix("test_").split("_")[0]
        assert f"def test_{subject}" in source.replace(f"def {name}(", ""), name


def shutil_copy(path: Path, folder: Path) -> None:
    (folder / path.name).write_text(path.read_text())


# ---------------------------------------------------------------- the machinery


class Plugins:
    """A stand-in for pytest's plugin manager: its hooks and their implementations."""

    def __init__(self):
        self.hook = type("Hooks", (), {})()


def test_the_machinery_check_sees_a_patched_function_and_a_new_class_attribute(monkeypatch):
    """Catches: patching torch.equal, or a descriptor added to a class pytest's reports use."""
    before = integrity.snapshot(Plugins())
    assert integrity.changes(before, integrity.snapshot(Plugins())) == []
    monkeypatch.setattr(torch, "equal", lambda *args: True)
    monkeypatch.setattr(torch.nn.Module, "kata_forged", property(lambda self: 1), raising=False)
    found = integrity.changes(before, integrity.snapshot(Plugins()))
    assert "changed: torch.equal" in found
    assert "changed: the attributes of torch.nn.Module" in found


def test_the_machinery_check_sees_code_swapped_inside_a_function(monkeypatch):
    """Catches: replacing a function's __code__, which keeps the function object itself."""
    import kata.loop.progress

    before = integrity.snapshot(Plugins())
    monkeypatch.setattr(kata.loop.progress.outcome_of, "__code__", (lambda report: DONE).__code__)
    assert "changed: kata.loop.progress.outcome_of" in integrity.changes(
        before, integrity.snapshot(Plugins()))


# ---------------------------------------------------------------- the sandbox's plan


def test_without_root_the_plan_says_the_learners_code_runs_as_the_grader(monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    plan = sandbox.plan(hide=[ROOT], keep=[Path(sys.prefix)])
    assert not plan.separate_user and "did not run as root" in sandbox.describe(plan, {})


def test_a_folder_the_run_needs_is_exposed_not_hidden(monkeypatch):
    """Catches: Python installed where the learner's user may not enter (pyenv in /root)."""
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sandbox.sys, "platform", "linux")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)  # only `closed` below is closed
        check_exposed(Path(folder))


def check_exposed(tmp_path: Path) -> None:
    closed = tmp_path / "home"
    (closed / "python").mkdir(parents=True)
    closed.chmod(0o700)
    plan = sandbox.plan(hide=[closed, tmp_path / "data"], keep=[closed / "python"],
                        must_hide=(closed,))
    assert plan.separate_user and plan.uid != 0
    assert plan.expose == {str(closed): [str(closed / "python")]}
    assert str(closed) not in plan.hide and "stayed visible" in plan.notes[0]


def test_gradings_side_by_side_get_users_of_their_own():
    """Catches: two runs as one user, where kill(-1) in one ends the other."""
    uid, gid = sandbox.learner_ids()
    assert uid == gid == sandbox.FIRST_LEARNER_UID + sandbox.os.getpid()


def test_the_classroom50_result_replaces_a_symlink_instead_of_following_it(tmp_path):
    """Catches: a checkout whose result.json points at a file of the runner's (/etc/passwd)."""
    from kata.grading.classroom50 import write_new

    target = tmp_path / "precious"
    target.write_text("keep me")
    (tmp_path / "result.json").symlink_to(target)
    write_new(tmp_path / "result.json", "{}")
    assert target.read_text() == "keep me"
    assert not (tmp_path / "result.json").is_symlink()
    assert (tmp_path / "result.json").read_text() == "{}"


# ---------------------------------------------------------------- the catalogue and make attacks


def test_the_catalogue_holds_15_or_more_cheats_of_many_kinds_that_build(tmp_path):
    assert len(CHEATS) >= 15 and len({cheat.name for cheat in CHEATS}) == len(CHEATS)
    assert len({cheat.kind for cheat in CHEATS}) >= 10
    for cheat in CHEATS:
        package = attacks.build_cheat(cheat, tmp_path, tmp_path / "out", tmp_path / "mnist")
        for name in MODULES.values():
            ast.parse((package / name).read_text(), filename=f"{cheat.name}/{name}")
        assert "@RESULTS@" not in "".join(p.read_text() for p in package.glob("*.py"))


def results(score, forged=(), review_=(), capstone=0.0):
    tests = [{"name": "step 1: test_x", "score": score - capstone, "status": "passed",
              "output": "passed"},
             {"name": "capstone: test_graders_check[x]", "score": capstone,
              "status": "passed" if capstone else "failed", "output": "x"}]
    return {"score": score, "tests": tests,
            "extra_data": {"max_score": 100.0, "forged": list(forged), "review": list(review_),
                           "ignored_files": []}}


@pytest.mark.parametrize("cheat_name, result, ok", [
    ("report-rewrite", results(0.0, forged=["canary: x"]), True),
    ("report-rewrite", results(10.0), False),  # points gained, nothing flagged: got through
    ("report-rewrite", results(10.0, review_=["x:1: imports gc"]), True),  # flagged, with why
    ("read-labels", results(70.0), True),  # the capstone it was after stayed at 0
    ("read-labels", results(90.0, capstone=20.0), False),
])
def test_a_cheat_is_stopped_when_its_points_stay_at_zero_or_it_is_flagged(cheat_name, result,
                                                                          ok):
    cheat = next(c for c in CHEATS if c.name == cheat_name)
    outcome = attacks.Outcome(cheat.name, "make grade", False, result, 1.0)
    attacks.judge(outcome, cheat)
    assert outcome.ok is ok, outcome.why


def test_an_honest_package_must_earn_full_marks_unflagged():
    for result, ok in ((results(100.0), True), (results(99.9), False),
                       (results(100.0, review_=["x"]), False)):
        outcome = attacks.Outcome("solutions", "gradescope", True, result, 1.0)
        attacks.judge(outcome, None)
        assert outcome.ok is ok


def test_the_attacks_table_has_a_row_per_submission_and_a_column_per_path():
    cheat = CHEATS[0]
    outcomes = []
    for path in attacks.PATHS:
        outcome = attacks.Outcome(cheat.name, path, False, results(0.0, ["canary: x"]), 1.0)
        attacks.judge(outcome, cheat)
        outcomes.append(outcome)
    lines = attacks.table(outcomes).splitlines()
    assert lines[2] == f"| {cheat.name} | 0/100 ok | 0/100 ok | forged (canary) |"
    json.dumps([o.why for o in outcomes])
