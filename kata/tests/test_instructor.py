"""The instructor's tools: the manifest, the handout and the Gradescope bundle."""

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema
import pytest
from fakes import CLASSROOM50_RESULT, ROOT

from kata.config import tomllib
from kata.docs import broken_links, learner_page, page_problems, slug
from kata.grading import classroom50, gradescope, manifest
from kata.grading.handout import HANDOUT_PAGES, kata_files, make_handout


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return make_handout(ROOT, tmp_path_factory.mktemp("handout") / "kata")


# ---------------------------------------------------------------- manifest


def test_the_manifest_reports_edited_missing_and_added_files(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_step1_libraries.py").write_text("def test_one(): pass\n")
    (tmp_path / "tests" / "test_step2_dataset.py").write_text("def test_two(): pass\n")
    (tmp_path / "conftest.py").write_text("")
    manifest.write_manifest(tmp_path)
    assert manifest.changes(tmp_path) == []
    assert manifest.main(["--check", "--root", str(tmp_path)]) == 0

    (tmp_path / "tests" / "test_step1_libraries.py").write_text("def test_one(): assert 1\n")
    (tmp_path / "tests" / "test_step2_dataset.py").unlink()
    (tmp_path / "tests" / "conftest.py").write_text("")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p lenient\n")
    assert manifest.changes(tmp_path) == ["added: pytest.ini",
                                          "added: tests/conftest.py",
                                          "edited: tests/test_step1_libraries.py",
                                          "missing: tests/test_step2_dataset.py"]
    assert manifest.main(["--check", "--root", str(tmp_path)]) == 1


def test_the_manifest_is_in_sha256sum_format(tmp_path):
    (tmp_path / "conftest.py").write_text("import pytest\n")
    manifest.write_manifest(tmp_path)
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    check = subprocess.run(["sha256sum", "-c", manifest.MANIFEST_NAME], cwd=tmp_path)
    assert check.returncode == 0


def test_the_manifest_covers_the_tests_the_conftest_and_the_grading_tooling():
    covered = manifest.covered_files(ROOT)
    for name in ("conftest.py", "grading.toml", "Makefile", "pyproject.toml",
                 ".github/workflows/grade.yml", "kata/cli.py", "kata/grading/grade.py",
                 "kata/grading/engine.py", "kata/grading/child.py", "kata/loop/progress.py",
                 "tests/grader_checks.py", "tests/test_step1_libraries.py",
                 "tests/test_capstone.py"):
        assert name in covered
    assert not any(name.startswith(("exercises/", "solutions/", "kata/tests/", "kata/proofs/"))
                   for name in covered)


# ---------------------------------------------------------------- handout


def test_the_handout_has_no_solutions_and_its_own_current_manifest(handout):
    for gone in ("solutions", "alternatives", "kata/tests", "kata/proofs", ".git", ".venv"):
        assert not (handout / gone).exists(), gone
    for kept in ("exercises/step1_libraries.py", "exercises/hints.toml", "tests/test_capstone.py",
                 "conftest.py", "grading.toml", "Makefile", "README.md",
                 ".github/workflows/grade.yml", "kata/demo/run.py", "kata/cli.py",
                 "kata/loop/notebook.py", "kata/grading/engine.py"):
        assert (handout / kept).exists(), kept
    assert manifest.changes(handout) == []


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_in_the_handout_imports_the_solutions(handout):
    for path in handout.rglob("*.py"):
        assert "solutions" not in imported_modules(path), path


def test_the_handouts_tests_run_without_the_solutions(handout):
    # `solutions` is installed in this environment: make it unimportable, as in a handout.
    script = ("import sys; sys.modules['solutions'] = None; import pytest; sys.exit(pytest.main("
              "['--step', '1', '-q', '--tb=short', '-p', 'no:cacheprovider']))")
    result = subprocess.run([sys.executable, "-c", script], cwd=handout, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "step 1    todo" in result.stdout
    assert "failed" not in result.stdout and "error" not in result.stdout


def test_in_a_handout_the_instructors_commands_say_they_are_not_there(handout):
    # This repository is installed in editable mode, whose import hook would find kata/proofs
    # here for the handout's kata: drop it, as a learner's machine has none.
    script = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in "
              "getattr(f, '__name__', '')]; from kata.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    for command in (["verify"], ["solution", "1"]):
        done = subprocess.run([sys.executable, "-c", script, *command], cwd=handout,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        assert "handout" in done.stdout + done.stderr, done.stdout + done.stderr


# Commands a learner never runs: they need the solutions or serve only the instructor.
INSTRUCTOR_COMMANDS = re.compile(
    r"\b(kata|make) (verify|mutants|attacks|flaky|calibrate|bench|class|class-proof|handout|"
    r"gradescope|classroom50|manifest|solution)\b|--impl solutions|IMPL=solutions|\.\[dev\]")


def test_the_handouts_pages_are_the_learners_and_every_link_resolves(handout):
    """Catches: a handout whose README or learner's guide sends learners to instructor-only
    commands, to guides it does not carry, or has drifted from the kata's own pages."""
    files = {p.relative_to(handout).as_posix() for p in handout.rglob("*") if p.is_file()}
    assert page_problems(handout, files) == []
    for page in HANDOUT_PAGES:
        text = (handout / page).read_text()
        assert text == learner_page((ROOT / page).read_text()), f"{page} has drifted"
        found = sorted({m.group(0) for m in INSTRUCTOR_COMMANDS.finditer(text)})
        assert found == [], f"{page} of the handout names instructor-only commands: {found}"
    extras = tomllib.loads((handout / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert list(extras) == ["notebook"], "a handout installs the learner's or notebook's extra"


def test_the_front_page_is_short_and_every_link_of_the_pages_resolves():
    """Catches: a front page that grew back into a manual, or a link or anchor that moved."""
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
    assert page_problems(ROOT, kata_files(ROOT)) == []


def test_anchors_are_githubs_slugs():
    """Catches: a link check whose anchors differ from GitHub's (which keeps "_" and drops
    code marks), passing links that are broken on the page or failing good ones."""
    assert slug("Step 9, a bonus: your own handwriting") == "step-9-a-bonus-your-own-handwriting"
    assert slug("Draw a digit: `kata draw`") == "draw-a-digit-kata-draw"
    assert slug("What `to_mnist` does") == "what-to_mnist-does"


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor():
    pages = {"README.md": "[a](docs/a.md#two) [b](docs/gone.md) [c](#top) `[d](nope.md)`\n# Top\n",
             "docs/a.md": "# One\n\n```\n# Two\n```\n[home](../README.md#top)\n"}
    assert broken_links(pages, set(pages)) == [
        "README.md:1: docs/a.md#two (no heading #two)", "README.md:1: docs/gone.md (no such file)"]


def test_the_handout_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        make_handout(ROOT, tmp_path)


# ---------------------------------------------------------------- gradescope


def test_the_bundle_has_gradescopes_layout_and_no_solutions(handout, tmp_path):
    bundle = gradescope.build(handout, tmp_path / "autograder.zip")
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        for script in ("setup.sh", "run_autograder"):
            mode = archive.getinfo(script).external_attr >> 16
            assert mode & stat.S_IXUSR, f"{script} is not executable"
            assert archive.read(script).startswith(b"#!/usr/bin/env bash")
    assert set(manifest.covered_files(handout)) <= names
    assert {"grading.sha256", "exercises/step1_libraries.py"} <= names
    assert not any(name.startswith(("solutions/", "alternatives/")) for name in names)


def test_run_autograder_grades_the_submission_with_the_pristine_tests(handout, tmp_path):
    source = tmp_path / "source"
    with zipfile.ZipFile(gradescope.build(handout, tmp_path / "autograder.zip")) as archive:
        archive.extractall(source)
    # A submission with step 1 written, and a test file "fixed" to pass anything.
    submission = tmp_path / "submission"
    (submission / "exercises").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "step1_libraries.py", submission / "exercises")
    (submission / "tests").mkdir()
    (submission / "tests" / "test_step1_libraries.py").write_text("def test_x():\n    pass\n")

    code = gradescope.run(source, submission, tmp_path / "results", ("--step", "1"))
    assert code == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    step1 = [test for test in results["tests"] if test["name"].startswith("step 1:")]
    assert len(step1) > 1 and all(test["status"] == "passed" for test in step1)
    assert results["score"] == 10 and results["extra_data"]["max_score"] == 100
    assert "as recorded in grading.sha256" in results["output"]
    assert results["extra_data"]["ignored_files"] == ["tests/test_step1_libraries.py"]
    assert results["extra_data"]["forged"] == []


# ---------------------------------------------------------------- Classroom 50


def test_the_classroom50_autograder_grades_a_checkout_into_its_result_json(handout, tmp_path,
                                                                         mnist_root):
    folder = classroom50.build(handout, tmp_path / "autograder")
    assert (folder / "autograder.py").exists()
    assert set(manifest.covered_files(handout)) <= {
        p.relative_to(folder / "kata").as_posix() for p in (folder / "kata").rglob("*")}
    assert not (folder / "kata" / "solutions").exists()
    # The learner's checkout: the handout with step 1 written and a test "fixed" to pass.
    checkout = tmp_path / "checkout"
    shutil.copytree(handout, checkout)
    shutil.copy(ROOT / "solutions" / "step1_libraries.py", checkout / "exercises")
    (checkout / "tests" / "test_step2_dataset.py").write_text("def test_x():\n    pass\n")
    env = os.environ | {"KATA_PYTHON": sys.executable, "CLASSROOM": "ml-101",
                        "MNIST_ROOT": str(mnist_root.resolve()),  # the checkout is cwd
                        "ASSIGNMENT": "mnist", "OWNER": "alice",
                        "SUBMISSION_TAG": "submit/2026-12-01T10-00-00Z-abc1234",
                        "COMMIT_URL": "https://github.com/ml-101/mnist-alice/commit/abc1234",
                        "RELEASE_URL": "https://github.com/ml-101/mnist-alice/releases/x"}
    done = subprocess.run([sys.executable, str(folder / "autograder.py")], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((checkout / "result.json").read_text())
    jsonschema.validate(result, CLASSROOM50_RESULT)
    assert result["score"] == 10 and result["max-score"] == 100
    assert result["classroom"] == "ml-101" and result["submission"].startswith("submit/")
    step1 = next(t for t in result["tests"] if t["test-name"].startswith("step 1:"))
    assert step1["passed"] and step1["score"] == step1["max-score"] == 10
    assert (checkout / "release-body.md").read_text().startswith("## MNIST kata grade: 10/100")


# ---------------------------------------------------------------- GitHub Actions


def test_the_workflow_installs_cpu_torch_caches_mnist_grades_and_uploads_the_reports():
    text = (ROOT / ".github" / "workflows" / "grade.yml").read_text()
    assert "feedback, not a grade to trust" in text
    workflow = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    steps = [line.strip() for line in workflow.splitlines()]
    assert any("--index-url https://download.pytorch.org/whl/cpu torch" in s for s in steps)
    cache = workflow.index("actions/cache@")
    assert "path: data" in workflow[cache:workflow.index("make data")]
    assert workflow.index("make data") < workflow.index("make grade")
    upload = workflow.index("actions/upload-artifact@")
    assert "path: reports/" in workflow[upload:] and "if: always()" in workflow[cache:upload]
