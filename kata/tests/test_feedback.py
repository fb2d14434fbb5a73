"""Feedback that explains: the board's headline (a shared crash, the mistake the evidence names,
never one the learner did not make), the catalogue of diagnoses, the shape trace, and the
pictures the board writes and names."""

import json
import os
import re
import subprocess
import sys
from fnmatch import fnmatchcase

import pytest
import torch
from fakes import CLASSIC_UNPADDED_NETWORK, ROOT
from torch import nn

from kata.loop import diagnoses
from kata.loop.progress import FAILING, Problem, StepResult
from kata.loop.shapes import trace
from kata.proofs.mistakes import MISTAKES
from kata.proofs.mutants import module_file, mutated_source
from kata.proofs.variants import build_package
from kata.steps import CAPSTONE, load_step

BLACK_TEST = "tests/test_step2_dataset.py::test_build_transform_maps_black_to_minus_0_4242"
FORWARD_CRASH = {"crash": "RuntimeError", "crash_where": "DigitClassifier.forward",
                 "crash_message": "mat1 and mat2 shapes cannot be multiplied (4x800 and 1568x64)"}


def step_with(*problems: Problem, passing: int = 0) -> StepResult:
    result = StepResult()
    for index in range(passing):
        result.record(f"tests/test_x.py::test_passes_{index}", "done")
    for problem in problems:
        result.record(problem.nodeid, problem.outcome, problem)
    return result


def failure(nodeid: str, evidence: dict | None = None, doc: str = "Catches: something.",
            message: str = "AssertionError: it failed") -> Problem:
    return Problem(nodeid, FAILING, doc, message, evidence or {})


# ---------------------------------------------------------------- the headline rule


def test_failures_that_share_one_crash_are_said_once_with_where_it_happened():
    crashes = [failure(f"tests/test_step3_network.py::test_{index}",
                       FORWARD_CRASH | {"crash_message": FORWARD_CRASH["crash_message"]
                                        .replace("4x", f"{index + 1}x")})
               for index in range(10)]
    headline = step_with(*crashes, passing=2).headline(3)
    assert headline.shared == 10 and headline.tests == 12
    lines = headline.lines()
    assert lines[0] == ("  10 of 12 tests fail with the same error in DigitClassifier.forward: "
                        "RuntimeError: mat1 and mat2 shapes cannot be multiplied "
                        "(1x800 and 1568x64)")
    assert lines[1] == "    first: tests/test_step3_network.py::test_0"
    assert "Catches: something." not in lines  # the crash is the news, not one test's aim


def test_one_crash_alone_is_not_called_shared():
    headline = step_with(failure("tests/test_step3_network.py::test_a", FORWARD_CRASH),
                         failure("tests/test_step3_network.py::test_b")).headline(3)
    assert headline.shared == 0
    assert headline.lines()[1] == "    Catches: something."


def test_normalize_with_half_is_named_with_what_the_learners_code_did():
    headline = step_with(failure(BLACK_TEST, {"black": -1.0, "white": 1.0})).headline(2)
    assert headline.diagnosis == "normalize-half"
    assert headline.lines()[1] == (
        "    your code: a black pixel became -1.0000: you normalised with mean 0.5 and std 0.5 "
        "(a convention from other tutorials); MNIST's are 0.1307 and 0.3081, which make black "
        "-0.4242")


@pytest.mark.parametrize(("evidence", "named"), [
    ({"black": 0.0, "white": 1.0}, "no-normalize"),
    ({"black": -2.3573, "white": 5.2938}, "mean-std-swapped"),
    ({"black": -0.9, "white": 1.2}, None),  # other numbers: no mistake of ours fits them
    ({}, None),  # the test observed nothing (it crashed before)
    (FORWARD_CRASH, None),  # a crash is not the mistake the test looks for
], ids=["no-normalize", "swapped", "other-numbers", "nothing-observed", "crashed"])
def test_the_evidence_decides_which_mistake_and_nothing_else_is_named(evidence, named):
    """Catches: a headline that names a mistake the learner did not make, e.g. "not
    normalising at all" for a learner who normalised with other numbers."""
    headline = step_with(failure(BLACK_TEST, evidence)).headline(2)
    assert headline.diagnosis == named
    if named is None:  # the docstring line, as before
        assert headline.lines()[1] == "    Catches: something." and not headline.words


def test_the_test_whose_evidence_names_the_mistake_is_the_one_shown():
    """Its message then speaks of what the words say (here NLLLoss on logits, named by the
    second failing test, while the first only saw a wrong loss)."""
    first = failure("tests/test_step4_setup.py::test_build_loss_is_cross_entropy_on_logits",
                    doc="The loss equals F.cross_entropy on raw logits and integer labels.")
    second = failure("tests/test_step4_setup.py::test_build_loss_takes_raw_logits",
                     message="AssertionError: adding 5 to every logit changed the loss")
    lines = step_with(first, second).headline(4).lines()
    assert lines[0] == "  failing: tests/test_step4_setup.py::test_build_loss_takes_raw_logits"
    assert lines[1].startswith("    your code: your loss changes when every logit grows by 5")
    assert lines[2] == "    AssertionError: adding 5 to every logit changed the loss"


def test_a_failure_that_fits_two_diagnoses_names_neither():
    """Evidence that two mistakes explain equally does not tell which one the learner made."""
    tests = "test_forward_returns_raw_logits_not_probabilities"
    facts = {"probabilities": True, "log_probabilities": True}
    assert diagnoses.find(3, [(f"tests/test_step3_network.py::{tests}", facts)]) is None


def test_a_diagnosis_of_another_step_is_never_used():
    assert step_with(failure(BLACK_TEST.replace("step2_dataset", "step5_training"),
                             {"black": -1.0})).headline(5).diagnosis is None


# ---------------------------------------------------------------- the catalogue


def test_every_diagnosis_names_a_mutant_of_its_step_and_every_mutant_has_one():
    """Catches: a new mutant without a diagnosis (make mutants would then fail it too), or a
    diagnosis whose name matches no mutant. A mutant only the capstone can show is named
    by the capstone's board."""
    mutants = {m.name: CAPSTONE if m.capstone else m.step for m in MISTAKES}
    named = {name: d.step for d in diagnoses.CATALOGUE for name in (d.name, *d.also)}
    assert {name: mutants.get(name) for name in named} == named
    missing = [name for name in mutants if name not in named]
    assert not missing, f"mutants without a diagnosis in kata/loop/diagnoses.py: {missing}"


def test_every_diagnosis_names_tests_that_exist():
    """A grader's check is named as test_graders_check[its verdict]; a family, test_x_*,
    must take in at least one test."""
    sources = "".join(path.read_text() for path in (ROOT / "tests").glob("*.py"))
    defined = re.findall(r"^def (test_\w+)\(", sources, flags=re.MULTILINE)

    def exists(test: str) -> bool:
        if "*" in test:
            return any(fnmatchcase(name, test) for name in defined)
        return f"def {test.removesuffix(']').split('[')[-1]}(" in sources

    absent = [(d.name, test) for d in diagnoses.CATALOGUE for test in d.tests
              if not exists(test)]
    assert not absent


# ---------------------------------------------------------------- the shape trace


def sequential(*layers: nn.Module) -> nn.Module:
    return nn.Sequential(*layers)


def unpadded() -> nn.Module:
    return sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 64),
                      nn.ReLU(), nn.Linear(64, 10))


def test_the_trace_of_unpadded_convolutions_shows_each_size_and_both_ways_out():
    result = trace(unpadded())
    assert [row[1:] for row in result.rows()] == [
        ("(N, 1, 28, 28)", ""),
        ("(N, 16, 26, 26)", "28 - 2 = 26 (3x3, no padding)"),
        ("(N, 16, 26, 26)", ""),
        ("(N, 16, 13, 13)", "26 / 2 = 13"),
        ("(N, 32, 11, 11)", "13 - 2 = 11 (3x3, no padding)"),
        ("(N, 32, 11, 11)", ""),
        ("(N, 32, 5, 5)", "11 / 2 = 5, rounded down"),
        ("(N, 800)", "32 x 5 x 5 = 800"),
        ("CRASHED", "expects 1568 features, gets 800"),
    ]
    assert result.error.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert result.ways_out[0].endswith("write nn.Linear(800, 64)")
    assert "padding=1 for 3x3" in result.ways_out[1]
    assert result.broken.name == "7" and result.output is None


def test_a_strided_convolution_without_its_padding_is_shown_with_its_stride_and_fix():
    """Catches: the reference's strided first convolution written without padding=2 (28 -> 12,
    not 14): the trace must show the stride it has and offer the padding that fits."""
    model = sequential(nn.Conv2d(1, 32, 5, stride=2), nn.MaxPool2d(2), nn.ReLU(),
                       nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                       nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    result = trace(model)
    assert result.rows()[1] == ("0: Conv2d(1, 32, 5, stride=2)", "(N, 32, 12, 12)",
                                "28 -> 12 (kernel 5, padding 0, stride 2)")
    assert result.rows()[-1][1:] == ("CRASHED", "expects 1568 features, gets 1152")
    assert result.ways_out[0].endswith("write nn.Linear(1152, 128)")
    assert "2 for 5x5" in result.ways_out[1] and "1568 features fit" in result.ways_out[1]


def test_the_trace_picture_shows_every_layer_whole(tmp_path, monkeypatch):
    """Catches: a shape-trace picture whose fixed columns cut off a long layer, such as the
    reference's own Conv2d(1, 32, 5, stride=2, padding=2): each text must fit in its cell."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from kata.loop import feedback

    drawn = []
    monkeypatch.setattr(feedback, "save", lambda fig, folder, name: drawn.append(fig))
    model = sequential(nn.Conv2d(1, 32, 5, stride=2, padding=2), nn.MaxPool2d(2), nn.ReLU(),
                       nn.Conv2d(32, 24, 3, padding=1), nn.ReLU(), nn.Flatten(),
                       nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    feedback.trace_picture(trace(model), tmp_path, "trace.png")
    canvas = FigureCanvasAgg(drawn[0])
    canvas.draw()
    renderer = canvas.get_renderer()
    for cell in drawn[0].axes[0].tables[0].get_celld().values():
        text, box = cell.get_text(), cell.get_window_extent(renderer)
        assert text.get_window_extent(renderer).x1 <= box.x1, (
            f"{text.get_text()!r} runs past its column in the shape-trace picture")


def test_a_way_out_is_offered_only_when_pytorch_says_it_works():
    """Padding would not help a network whose Linear is wrong whatever the convolutions do."""
    model = unpadded()
    model[7] = nn.Linear(123, 64)
    assert len(trace(model).ways_out) == 1


def test_the_trace_of_a_missing_flatten_says_a_linear_reads_the_last_dimension():
    model = unpadded()
    model[0], model[3], model[6] = nn.Conv2d(1, 16, 3, padding=1), \
        nn.Conv2d(16, 32, 3, padding=1), nn.Identity()
    result = trace(model)
    assert result.rows()[-1][1:] == ("CRASHED", "expects 1568 features, gets 7")
    assert "put nn.Flatten() before it (then it receives 1568 features)" in result.ways_out[0]


def test_the_trace_of_a_wrong_channel_count_names_the_channels_that_arrive():
    model = unpadded()
    model[3] = nn.Conv2d(32, 32, 3)
    result = trace(model)
    assert result.rows()[-1][1:] == ("CRASHED", "expects 32 channels, gets 16")
    assert result.ways_out == ["3 is a Conv2d with in_channels=32 but receives 16 channels "
                               "(the out_channels of the layer before): write "
                               "nn.Conv2d(16, 32, ...)"]


def test_a_wrong_output_shape_is_traced_to_the_last_linear():
    result = trace(sequential(nn.Flatten(), nn.Linear(784, 1)))
    assert not result.ok and result.output == (2, 1)
    assert result.ways_out == ["the last Linear, 1, gives 1 scores per image: write "
                               "nn.Linear(784, 10)"]
    assert "the output is (N, 1); it should be (N, 10)" in "\n".join(result.lines())


def test_the_reference_network_traces_clean_and_is_left_as_it_was():
    model = load_step("solutions", 3).DigitClassifier().train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    result = trace(model)
    assert result.ok and result.output == (2, 10) and not result.ways_out
    assert model.training and not any(module._forward_hooks for module in model.modules())
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())


def test_a_steps_pictures_of_an_earlier_run_are_removed_before_new_ones(tmp_path):
    """A picture left from an earlier failure would show a mistake already fixed."""
    from kata.loop.feedback import FEEDBACK_DIR, explain

    folder = tmp_path / FEEDBACK_DIR
    folder.mkdir(parents=True)
    for name in ("step2-pixels.png", "step3-shapes.png"):
        (folder / name).write_bytes(b"old")
    # A package without step 2 draws nothing this time: only step 2's old picture goes.
    assert explain("2", "no_such_package", tmp_path) == ([], [])
    assert [path.name for path in folder.iterdir()] == ["step3-shapes.png"]


def test_a_network_that_never_returns_costs_the_board_its_trace_not_the_board(monkeypatch,
                                                                            tmp_path):
    """The trace runs the learner's forward again after the tests, where no pytest-timeout
    is watching: a forward stuck in a loop must not keep the board from the learner."""
    from kata.loop import feedback

    def stuck(package, folder):
        while True:
            pass

    monkeypatch.setattr(feedback, "HELPER_LIMIT_S", 0.2)
    monkeypatch.setitem(feedback.HELPERS, "3", (stuck,))
    assert feedback.explain("3", "solutions", tmp_path) == ([], [])


@pytest.mark.parametrize(("key", "picture"), [("4", "step4-shapes.png"),
                                              (CAPSTONE, "capstone-shapes.png")])
def test_step_4_and_the_capstone_trace_the_model_build_model_gives(tmp_path, monkeypatch, key,
                                                                    picture):
    package = f"traced_{key}"  # a package of its own: no module of another case is reused
    build_package(tmp_path, package, sources={"step3_network.py": CLASSIC_UNPADDED_NETWORK})
    monkeypatch.syspath_prepend(str(tmp_path))
    from kata.loop.feedback import explain

    lines, pictures = explain(key, package, tmp_path)
    assert "    layers.6: Flatten()          (N, 800)         32 x 5 x 5 = 800" in lines
    assert [path.name for path in pictures] == [picture]


# ---------------------------------------------------------------- the board, end to end


def board_of(tmp_path, mistakes: dict[int, str], step: int) -> tuple[dict, str]:
    """Run one step's tests on the reference with `mistakes` (module file -> source) planted,
    as `kata test N` does; the board as JSON and the printed output."""
    build_package(tmp_path, "learner", sources=mistakes)
    board = tmp_path / "board.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--impl", "learner",
         "--step", str(step), "--board-json", str(board), "-p", "no:randomly"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=os.environ | {"PYTHONPATH": str(tmp_path), "COLUMNS": "100"})
    return json.loads(board.read_text()), done.stdout


def planted(name: str) -> dict[str, str]:
    mistake = next(m for m in MISTAKES if m.name == name)
    return {module_file(mistake.step): mutated_source(mistake)}


@pytest.mark.timeout(300)
def test_the_classic_unpadded_network_gets_one_crash_its_trace_and_its_picture(tmp_path):
    board, output = board_of(tmp_path, {"step3_network.py": CLASSIC_UNPADDED_NETWORK}, 3)
    following = "\n".join(board["next"])
    assert "10 of 12 tests fail with the same error in DigitClassifier.forward" in following
    assert "32 x 5 x 5 = 800" in following and "write nn.Linear(800, 64)" in following
    assert "Catches: layers kept in a plain Python list" not in following
    picture = ROOT / ".kata" / "feedback" / "step3-shapes.png"
    assert board["pictures"] == [str(picture)] and "picture: .kata/feedback/step3-shapes.png" \
        in following
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert "10 of 12 tests fail" in output  # the terminal's board says the same


@pytest.mark.timeout(300)
def test_normalize_half_is_named_on_the_board_with_its_histogram(tmp_path):
    board, _ = board_of(tmp_path, planted("normalize-half"), 2)
    assert board["diagnoses"] == {"2": "normalize-half"}
    assert "your code: a black pixel became -1.0000" in "\n".join(board["next"])
    assert [path.rsplit("/", 1)[-1] for path in board["pictures"]] == ["step2-pixels.png"]


@pytest.mark.timeout(300)
def test_a_wrong_figure_is_drawn_beside_the_expected_one(tmp_path):
    board, _ = board_of(tmp_path, planted("title-swapped"), 8)
    assert board["diagnoses"] == {"8": "title-swapped"}
    assert [path.rsplit("/", 1)[-1] for path in board["pictures"]] == ["step8-figure.png"]


def test_the_figure_differences_name_the_panels_that_differ():
    from kata.loop.feedback import LABELS, PREDICTED, differences, expected_figure
    from kata.testing import image_predicted_as

    images = torch.stack([image_predicted_as(digit, seed=i) for i, digit in enumerate(PREDICTED)])
    fig = expected_figure(images)
    assert differences(fig) == ([], set())
    fig.axes[1].set_title(f"pred: {LABELS[1]}\ntrue: {PREDICTED[1]}", color="red")
    fig.axes[2].images[0].set_cmap("viridis")
    notes, marked = differences(fig)
    assert marked == {1, 2}
    assert notes == ["image 2: title 'pred: 2 / true: 0', expected 'pred: 0 / true: 2'",
                     "image 3: colour map viridis, expected cmap='gray'"]


@pytest.mark.timeout(300)
def test_grading_and_the_class_report_name_the_mistake_as_the_board_does(tmp_path):
    """One catalogue: the grade's output and its data for the class report say what the
    learner's board says, from what the tests observed in the graded run."""
    from kata.gradebook.book import from_results
    from kata.gradebook.report import rank_mistakes

    build_package(tmp_path, "learner", sources=planted("normalize-half"))
    out = tmp_path / "reports"
    # In a process of its own: grading makes its process the reaper of every orphan.
    subprocess.run([sys.executable, "-m", "kata", "grade", "--impl", "learner", "--root",
                    str(ROOT), "--out", str(out), "--", "--step", "2"], cwd=ROOT,
                   capture_output=True, timeout=300,
                   env=os.environ | {"PYTHONPATH": str(tmp_path)})
    results = json.loads((out / "results.json").read_text())
    assert not results["extra_data"]["tamper"], "grading.sha256 is stale: run `kata manifest`"
    black = next(test for test in results["tests"]
                 if test["name"].endswith("test_build_transform_maps_black_to_minus_0_4242"))
    assert black["extra_data"]["diagnosis"] == "normalize-half"
    assert black["output"].startswith("your code: a black pixel became -1.0000")
    ranked = rank_mistakes([from_results(results, "ada", "graded here")])
    assert any(m.text.startswith("normalize-half: a black pixel became -1.0000")
               for m in ranked)


@pytest.mark.timeout(300)
def test_piled_up_gradients_get_their_loss_picture(tmp_path):
    board, _ = board_of(tmp_path, planted("no-zero-grad"), 5)
    assert board["diagnoses"] == {"5": "no-zero-grad/zero-grad-once"}
    assert [path.rsplit("/", 1)[-1] for path in board["pictures"]] == ["step5-loss.png"]
