"""kata.demo end to end on a tiny fake MNIST: what it prints, the files it writes, its errors."""

import json
import os
import platform
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from kata import KataTodo
from kata.demo import run as demo
from kata.demo.checkpoint import load_weights
from kata.demo.evaluation import predict_and_score
from kata.demo.inmemory import load_split
from kata.demo.speed import channels_last, fuse, keep_freed_memory, side_by_side
from kata.device import bfloat16_pays
from kata.proofs.variants import alternative_names, build_alternative, build_package
from kata.steps import load_step
from kata.testing import write_fake_mnist
from solutions.step3_network import DigitClassifier

FIGURES = ("predictions.png", "losses.png", "confusion.png", "wild_digits.png")
ARTIFACTS = ("model.pt", *FIGURES, "metrics.json")


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return write_fake_mnist(tmp_path_factory.mktemp("mnist"), train_count=120, test_count=40)


def run_demo(root, out, *options) -> int:
    return demo.main(["--root", str(root), "--out", str(out), "--device", "cpu", "--quiet",
                      "--batch-size", "16", *options])


@pytest.fixture(scope="module")
def trained(fake_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    assert run_demo(fake_root, out, "--epochs", "2") == 0
    return out


def test_the_demo_writes_every_artifact(trained):
    missing = [name for name in ARTIFACTS if not (trained / name).is_file()]
    assert not missing, f"the demo did not write {missing}"


KATA = Path(__file__).resolve().parents[2]
# to_mnist of the reference, flattened to 28x28: written, but not the shape the network reads.
FLAT_TO_MNIST = ((KATA / "solutions" / "step9_your_digits.py").read_text()
                 .replace("def to_mnist(", "def reference_to_mnist(")
                 + "\n\ndef to_mnist(image):\n"
                 "    return reference_to_mnist(image).reshape(28, 28)\n")


STEP8 = (KATA / "solutions" / "step8_visualization.py").read_text()
STUB_STEP8 = (KATA / "exercises" / "step8_visualization.py").read_text()
STUB_STEP9 = (KATA / "exercises" / "step9_your_digits.py").read_text()


@pytest.mark.parametrize("package, sources, said, not_drawn", [
    ("stub_step9", {"step9_your_digits.py": STUB_STEP9},
     ["wild_digits.png: no figure until step 9"], {"wild_digits.png"}),
    ("flat_step9", {"step9_your_digits.py": FLAT_TO_MNIST},
     ["wild_digits.png: no figure: your to_mnist returned a tensor of shape (28, 28), not "
      "(1, 1, 28, 28); `kata test 9` shows what to fix"], {"wild_digits.png"}),
    ("stub_step8", {"step8_visualization.py": STUB_STEP8},
     ["predictions.png: no figure until step 8 is written (Step 8: draw a grid",
      "losses.png: no figure until step 8 is written (Step 8: plot the losses",
      "`kata test 8` shows what is left"], {"predictions.png", "losses.png"}),
    ("none_step8", {"step8_visualization.py": STEP8 + "\n\ndef plot_predictions(*args, **kwargs):"
                                                     "\n    return None\n"},
     ["predictions.png: no figure: your plot_predictions returned None, not a matplotlib "
      "Figure; `kata test 8` shows what to fix"], {"predictions.png"}),
    ("unsaved_step8", {"step8_visualization.py": STEP8 + "\n\nfrom kata import KataTodo\n\n\n"
                       "def save_figure(fig, path):\n    raise KataTodo('Step 8: save it.')\n"},
     ["predictions.png: saved with matplotlib's savefig, as your save_figure is not written "
      "yet (Step 8: save it.)", "losses.png: saved with matplotlib's savefig"], set()),
    ("unreturned_step8", {"step8_visualization.py": STEP8 + "\n\ndef save_figure(fig, path):"
                                                           "\n    fig.savefig(path)\n"},
     [], set()),
    ("nowhere_step8", {"step8_visualization.py": STEP8 + "\n\ndef save_figure(fig, path):"
                                                        "\n    return Path(path)\n"},
     [f"{name}: not saved at " for name in FIGURES]
     + ["your save_figure wrote no file there; `kata test 8` shows what to fix"],
     set(FIGURES)),
    ("elsewhere_step8", {"step8_visualization.py": STEP8 + "\n\ndef save_figure(fig, path):"
                         "\n    beside = Path(path).parent.parent / Path(path).name"
                         "\n    fig.savefig(beside)\n    return beside\n"},
     [f"{name}: not saved at " for name in FIGURES]
     + [f"/{name} instead; `kata test 8` shows what to fix" for name in FIGURES],
     set(FIGURES)),
])
def test_a_package_without_a_working_step_8_or_9_gets_every_other_artifact(
        trained, fake_root, tmp_path, monkeypatch, capsys, package, sources, said, not_drawn):
    """Catches: a step 9 not written yet, or written but wrong (its to_mnist flattens the
    image), stopping the demo after training with an error from inside the network and
    without its metrics; a step 8 not written yet stopping it after training with only
    model.pt saved, though the demo's own figures (drawn without step 8) and the metrics need
    no step 8; a plot_predictions that returns None shown as an AttributeError in the
    learner's save_figure, or as "not written" (a KataTodo caught too widely); a save_figure
    not written yet passed over in silence, the learner's figures saved anyway; a
    save_figure that saves but returns no path (its figures missing from the "saved:" line),
    returns the path but writes no file, or writes somewhere else; and, each run starting
    from a folder that holds an earlier run's files (`make demo`, then `make demo
    IMPL=exercises`), those files left beside this run's model or listed as its own. One
    line says what happened to each figure, the run goes on, and "saved:" lists the files
    this run wrote."""
    out = tmp_path / "out"
    shutil.copytree(trained, out)  # an earlier run's files, every one
    build_package(tmp_path, package, sources=sources)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_demo(fake_root, out, "--epochs", "1", "--impl", package) == 0
    printed = capsys.readouterr().out
    missing = [line for line in said if line not in printed]
    assert not missing, f"the demo did not say {missing}; it printed:\n{printed}"
    figures = [line for line in printed.splitlines() if ".png: " in line]
    assert len(figures) == sum(".png: " in line for line in said), (
        f"one line per figure not drawn as usual, and no other; the demo printed:\n{printed}")
    written = {path.name for path in out.iterdir()}
    assert written == set(ARTIFACTS) - not_drawn, f"the demo wrote {sorted(written)}"
    saved = next(line for line in printed.splitlines() if line.startswith("saved:"))
    listed = {Path(path).name for path in saved.removeprefix("saved:").strip().split(", ")}
    assert listed == written, (f"the line {saved!r} lists {sorted(listed)}, but the folder "
                               f"holds {sorted(written)}")


@pytest.mark.parametrize("name", alternative_names())
def test_the_demo_trains_every_correct_alternative(fake_root, tmp_path, monkeypatch, name):
    """Catches: a speed-up of the demo that stops a correct package its tests pass. The
    demo's channels-last weights made a network that flattens with `x.view(x.size(0), -1)`
    (alternatives/reshape_flatten) raise "view size is not compatible" in its first batch;
    and its batches, a bare generator, made a train_epoch that divides by
    len(loader.dataset) (alternatives/dataset_length) raise AttributeError."""
    build_alternative(tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_demo(fake_root, tmp_path / "out", "--epochs", "1", "--impl", name) == 0, (
        f"`kata demo --impl {name}` failed: see the error above")
    written = {path.name for path in (tmp_path / "out").iterdir()}
    assert written == set(ARTIFACTS), f"`kata demo --impl {name}` wrote {sorted(written)}"


def relu_gradient_layout(turn) -> tuple[bool, torch.Tensor]:
    """One training step of the reference network with its weights turned by `turn`:
    whether the gradient reaching the ReLU before nn.Flatten was channels-last, and the
    first convolution's gradient."""
    torch.manual_seed(0)
    network = DigitClassifier()
    turn(network)
    layers = list(network.layers)
    relu = layers[[type(layer) for layer in layers].index(torch.nn.Flatten) - 1]
    seen = []
    relu.register_full_backward_pre_hook(lambda module, grad_output: seen.append(
        grad_output[0].is_contiguous(memory_format=torch.channels_last)))
    images = torch.randn(8, 1, 28, 28)
    torch.nn.functional.cross_entropy(network(images), torch.arange(8)).backward()
    return seen[0], network.layers[0].weight.grad


def test_the_gradient_comes_back_through_flatten_channels_last():
    """Catches: the reorder of the gradient at nn.Flatten lost (the ReLU before it then reads
    two memory orders at once, 4% of a step), or changing a number of the gradients."""
    reordered, gradient = relu_gradient_layout(channels_last)
    plain, plain_gradient = relu_gradient_layout(
        lambda network: network.to(memory_format=torch.channels_last))
    assert reordered and not plain, "the gradient reached the ReLU before Flatten " + (
        "in the other memory order" if not reordered else "channels-last even without the hook")
    assert torch.allclose(gradient, plain_gradient, atol=1e-6), "the gradients differ"


def test_the_kata_command_ends_the_demo_with_its_summary_and_exit_code(fake_root, tmp_path):
    """Catches: the demo's quick end (no teardown, kata/startup.py) losing the summary it
    printed last, when its output goes to a pipe (a log, `make bench`), or its exit code."""
    done = subprocess.run(
        [sys.executable, "-m", "kata", "demo", "--root", str(fake_root), "--out", str(tmp_path),
         "--device", "cpu", "--quiet", "--batch-size", "16", "--epochs", "1"],
        capture_output=True, text=True, cwd=KATA, timeout=300)
    assert done.returncode == 0, f"`kata demo` ended with {done.returncode}: {done.stderr}"
    last = done.stdout.splitlines()[-1] if done.stdout else ""
    assert last.startswith("saved:") and "metrics.json" in last, (
        f"the demo's output should end with the files it saved; it ended with {last!r}")


def test_the_demo_closes_its_figures(fake_root, tmp_path):
    """pyplot keeps a figure until it is closed: a demo run from Python must not leave any."""
    plt.close("all")
    assert run_demo(fake_root, tmp_path, "--epochs", "1") == 0
    assert plt.get_fignums() == []


def test_the_metrics_hold_what_the_demo_printed(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["train_images"] == 120 and metrics["test_images"] == 40
    assert [record["epoch"] for record in metrics["history"]] == [1, 2]
    assert 0 <= metrics["test_accuracy"] <= 1 and len(metrics["per_digit_accuracy"]) == 10
    assert metrics["history"][-1]["test_accuracy"] == metrics["test_accuracy"]
    assert {"load data", "train", "evaluate", "save artifacts", "total"} <= set(metrics["seconds"])
    assert metrics["train_images_per_second"] > 0
    first, last = metrics["history"][0]["train_seconds"], metrics["history"][-1]["train_seconds"]
    assert 0 < first < last == metrics["seconds"]["train"], "training time adds up per epoch"


def test_the_fake_digits_are_learned(trained):
    """The fake digits are bars whose row is the label: two epochs read them all."""
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.9, metrics["history"]


def test_a_saved_model_evaluates_to_the_same_accuracy(fake_root, trained, tmp_path):
    """Catches also: the metrics of a run that trained nothing claiming the epochs, the
    training images and the precision of a training (`"epochs": 2` after --load)."""
    assert run_demo(fake_root, tmp_path, "--load", str(trained / "model.pt")) == 0
    again = json.loads((tmp_path / "metrics.json").read_text())
    first = json.loads((trained / "metrics.json").read_text())
    assert again["test_accuracy"] == first["test_accuracy"]
    assert again["history"] == [] and not (tmp_path / "losses.png").exists()
    trained_nothing = {key: again[key] for key in ("epochs", "train_images", "precision")}
    assert trained_nothing == {"epochs": 0, "train_images": 0, "precision": None}, (
        f"--load trained nothing, but metrics.json says {trained_nothing}")


def test_model_pt_is_a_state_dict_read_with_weights_only(trained):
    state = torch.load(trained / "model.pt", weights_only=True)
    assert "layers.0.weight" in state


@pytest.mark.parametrize("content", [b"\x00" * 100, b"hello", b"abc"])
def test_a_corrupt_model_pt_is_an_error_with_the_fix(fake_root, tmp_path, capsys, content):
    """Catches: a file that is no state dict ending the demo in a traceback from inside
    torch.load (a text file holding "hello" raised KeyError: 101, "abc" IndexError)."""
    bad = tmp_path / "model.pt"
    bad.write_bytes(content)
    assert run_demo(fake_root, tmp_path / "out", "--load", str(bad)) == 1
    assert "make demo" in capsys.readouterr().err


def test_an_out_that_cannot_be_a_folder_stops_the_demo_before_training(fake_root, tmp_path,
                                                                        capsys):
    """Catches: an --out naming a file, found only after the whole training, and shown as a
    FileExistsError traceback."""
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    assert run_demo(fake_root, taken, "--epochs", "1") == 1
    printed = capsys.readouterr()
    assert f"--out {taken}: cannot make that folder" in printed.err, printed.err
    assert "epoch 1/1" not in printed.out, "the demo trained before it found --out unusable"


def test_a_folder_named_like_an_artifact_stops_the_demo_before_training(fake_root, tmp_path,
                                                                       capsys):
    """Catches: an --out holding a folder named predictions.png, found only after the whole
    training, and shown as an IsADirectoryError traceback from inside matplotlib."""
    out = tmp_path / "out"
    (out / "predictions.png").mkdir(parents=True)
    assert run_demo(fake_root, out, "--epochs", "1") == 1
    printed = capsys.readouterr()
    assert f"{out / 'predictions.png'} is a folder" in printed.err, printed.err
    assert "epoch 1/1" not in printed.out, "the demo trained before it found --out unusable"


def as_for_a_user(monkeypatch, read_only: Path) -> None:
    """Make `read_only` read-only, and where the tests run as root, whom permissions do not
    stop, have os.access answer for it as it would for any other user."""
    read_only.chmod(0o444)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **options: (
            not mode & os.W_OK if Path(path) == read_only
            else real_access(path, mode, **options)))


def test_a_read_only_artifact_stops_the_demo_before_training(fake_root, tmp_path, capsys,
                                                             monkeypatch):
    """Catches: a model.pt made read-only (to keep a good model) found only after the whole
    training, as a PermissionError traceback from inside torch.save."""
    out = tmp_path / "out"
    out.mkdir()
    kept = out / "model.pt"
    kept.write_bytes(b"a model worth keeping")
    as_for_a_user(monkeypatch, kept)
    assert run_demo(fake_root, out, "--epochs", "1") == 1
    printed = capsys.readouterr()
    assert f"{kept} is read-only" in printed.err, printed.err
    assert "epoch 1/1" not in printed.out, "the demo trained before it found model.pt read-only"
    assert kept.read_bytes() == b"a model worth keeping"


def test_load_leaves_alone_what_it_does_not_write(fake_root, trained, tmp_path, capsys,
                                                  monkeypatch):
    """Catches: --load, which trains nothing, refusing an --out whose losses.png is a folder
    (it draws no losses.png), or a read-only model.pt that is the very file it loads (it
    would only write the same weights back)."""
    out = tmp_path / "out"
    (out / "losses.png").mkdir(parents=True)
    kept = out / "model.pt"
    shutil.copy(trained / "model.pt", kept)
    as_for_a_user(monkeypatch, kept)
    assert run_demo(fake_root, out, "--load", str(kept)) == 0, capsys.readouterr().err
    saved = capsys.readouterr().out.splitlines()[-1]
    assert saved.startswith("saved:") and "model.pt" not in saved, (
        f"--load of {kept} wrote it again: {saved}")
    assert (out / "losses.png").is_dir() and (out / "confusion.png").is_file()


def test_a_negative_seed_is_refused_at_once(fake_root, tmp_path, capsys):
    """Catches: --seed -1 accepted, trained with, then failing in the wild digits' figure with
    "expected non-negative integer", a message that names no option."""
    with pytest.raises(SystemExit):
        run_demo(fake_root, tmp_path, "--seed", "-1")
    assert "--seed must be 0 or more" in capsys.readouterr().err


@pytest.mark.parametrize("module, line, bug", [
    ("step2_dataset.py",
     '    """PIL image -> float32 tensor (1, 28, 28), scaled to [0, 1], then normalised."""\n',
     '    def broken(image):\n        raise ValueError("a bug in build_transform")\n'
     '    return broken\n'),
    ("step8_visualization.py", '    """The training loss against the epoch."""\n',
     '    raise ValueError("a bug in plot_losses")\n')])
def test_a_bug_in_the_learners_code_keeps_its_traceback(fake_root, tmp_path, monkeypatch,
                                                        module, line, bug):
    """Catches: a ValueError from a bug in the learner's step 2 (its transform, which the demo
    runs on the first image) or step 8 shown as a bare "error: ..." line, without the
    traceback that points at the line to fix: only the demo's own errors (a missing MNIST,
    a bad model.pt, its check of the first image) are shown so."""
    source = (KATA / "solutions" / module).read_text()
    assert line in source, f"solutions/{module} changed: plant the bug elsewhere"
    build_package(tmp_path, "buggy", sources={module: source.replace(line, line + bug)})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="a bug in "):
        run_demo(fake_root, tmp_path / "out", "--epochs", "1", "--impl", "buggy")


def test_an_unwritten_step_says_which(fake_root, tmp_path, capsys):
    assert run_demo(fake_root, tmp_path, "--impl", "exercises") == 2
    error = capsys.readouterr().err
    assert "Step 1:" in error and "make test" in error


def test_an_unknown_device_is_named(fake_root, tmp_path):
    with pytest.raises(SystemExit, match="--device tpu"):
        demo.main(["--root", str(fake_root), "--out", str(tmp_path), "--device", "tpu"])


def test_the_precision_is_recorded(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    expected = "bfloat16" if bfloat16_pays(torch.device("cpu")) else "float32"
    assert metrics["precision"] == expected


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_fake_digits_are_learned_in_either_precision(fake_root, tmp_path, precision):
    assert run_demo(fake_root, tmp_path, "--epochs", "2", "--precision", precision) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["precision"] == precision
    assert metrics["test_accuracy"] >= 0.9, metrics["history"]


def test_mixed_precision_trains_the_latest_weights_at_every_batch():
    """Autocast caches its bfloat16 copies of the weights for as long as its region lasts: a
    region around a whole epoch would train on the first batch's weights all epoch long."""
    torch.manual_seed(0)
    model = DigitClassifier()
    trained = demo.MixedPrecision(model, torch.device("cpu"))
    images = torch.randn(8, 1, 28, 28)
    before = trained(images)
    assert before.dtype == torch.float32, "the loss should get float32 logits"
    with torch.no_grad():
        model.layers[0].weight.mul_(-1)
    assert not torch.allclose(trained(images), before), "the forward pass used stale weights"


def test_an_ensemble_reads_the_mean_of_its_members_probabilities():
    torch.manual_seed(0)
    members = [DigitClassifier(), DigitClassifier()]
    with torch.no_grad():
        for member in members:  # both sure of themselves: softmax underflows to 0 in places
            member.layers[-1].weight.mul_(1e4)
    images = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        mean = (members[0](images).softmax(dim=1) + members[1](images).softmax(dim=1)) / 2
        logits = demo.Ensemble(members)(images)
    assert logits.shape == (5, 10)
    assert logits.isfinite().all(), "a probability that rounds to 0 made a logit -inf"
    torch.testing.assert_close(logits.softmax(dim=1), mean)


def test_an_ensemble_trains_each_network_and_loads_back(fake_root, tmp_path, capsys):
    out = tmp_path / "ensemble"
    assert run_demo(fake_root, out, "--epochs", "2", "--ensemble", "2") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ensemble"] == 2 and metrics["test_accuracy"] >= 0.9, metrics["history"]
    cpu = torch.device("cpu")
    ensemble = demo.Ensemble([DigitClassifier(), DigitClassifier()])
    load_weights(ensemble, out / "model.pt", cpu)
    _, test_data = load_split(load_step("solutions", 2), fake_root, False, cpu)
    for index, network in enumerate(ensemble.members):
        _, accuracy = predict_and_score(load_step("solutions", 7), network, test_data, cpu)
        assert accuracy >= 0.9, f"network {index} of the ensemble did not learn ({accuracy:.0%})"

    again = tmp_path / "again"
    assert run_demo(fake_root, again, "--load", str(out / "model.pt"), "--ensemble", "2") == 0
    assert json.loads((again / "metrics.json").read_text())["test_accuracy"] == \
        metrics["test_accuracy"]
    assert run_demo(fake_root, again, "--load", str(out / "model.pt")) == 1
    assert "pass --ensemble 2" in capsys.readouterr().err


def trained_weights(make_optimizer, fused: bool) -> tuple[bool, torch.Tensor]:
    """Five updates of a small layer: whether fuse() switched the optimizer, and the weights."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    optimizer = make_optimizer(layer.parameters())
    switched = fused and fuse(optimizer, torch.device("cpu"))
    for _ in range(5):
        optimizer.zero_grad()
        layer(torch.ones(4, 5)).pow(2).sum().backward()
        optimizer.step()
    return switched, layer.weight.detach()


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.Adam(params, lr=0.01),
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
], ids=["Adam", "SGD"])
def test_a_fused_optimizer_makes_the_same_updates(make_optimizer):
    """Catches: a speed-up of the demo that changes what the learner's optimizer computes."""
    switched, fused = trained_weights(make_optimizer, fused=True)
    _, plain = trained_weights(make_optimizer, fused=False)
    assert switched
    assert torch.allclose(fused, plain, atol=1e-6), "the fused optimizer updated differently"


def test_an_optimizer_without_a_fused_kind_is_left_alone():
    """Catches: switching an optimizer that has no fused implementation (RMSprop)."""
    switched, _ = trained_weights(lambda params: torch.optim.RMSprop(params, lr=0.01), True)
    assert not switched


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_malloc_keeps_freed_memory_where_glibc_allows():
    assert keep_freed_memory()


ON_LINUX = sys.platform.startswith("linux")
CPU = torch.device("cpu")


def test_figures_drawn_side_by_side_come_back_in_order_with_what_they_printed(capsys):
    """Catches: the figures drawn in the forked copy lost (their paths, or the line saying
    why the wild digits have no figure, printed in a process whose output nobody reads)."""

    def there():
        print("wild_digits.png: no figure until step 9 (your own handwriting) is written")
        return [os.getpid(), None]

    here_pid = os.getpid()
    results = side_by_side(lambda: ["model.pt", "predictions.png"], there, CPU)
    assert results[:2] == ["model.pt", "predictions.png"] and results[3] is None, results
    assert "no figure until step 9" in capsys.readouterr().out
    if ON_LINUX:
        assert results[2] != here_pid, "on Linux the second half should run in another process"


def says_why_and_returns():
    print("wild_digits.png: no figure until step 9 (your own handwriting) is written")
    return [None]


@pytest.mark.skipif(not ON_LINUX, reason="elsewhere the second half runs after the first")
@pytest.mark.parametrize("there", [says_why_and_returns, lambda: os._exit(3)])
def test_when_this_half_raises_its_error_is_shown_with_what_the_copy_printed(capsys, there):
    """Catches: the lines of the forked copy (why the wild digits have no figure) lost when
    the figures drawn in this process stop on a learner's bug; and that bug hidden behind
    "ended with status ... and no result" when the copy died too."""

    def here():
        raise ValueError("a learner's bug")

    with pytest.raises(ValueError, match="a learner's bug"):
        side_by_side(here, there, CPU)
    if there is says_why_and_returns:
        assert "no figure until step 9" in capsys.readouterr().out, "the copy's line was lost"


@pytest.mark.parametrize("error", [ValueError("a learner's bug"), KataTodo("Step 8: write it")])
def test_what_the_copy_raises_is_raised_here(error):
    """Catches: an error in the figures of the forked copy (a step not written yet, a bug)
    swallowed, so that the demo ends as if every figure had been saved."""

    def there():
        raise error

    with pytest.raises(type(error), match=str(error)):
        side_by_side(lambda: [], there, CPU)


def test_the_copys_error_shows_the_line_that_raised_it():
    """Catches: a traceback that ends in side_by_side, without the lines of the learner's
    code that raised in the forked copy (a step 8 save_figure with a bug showed only
    `raise result` in kata/demo/speed.py)."""

    def learners_save_figure():
        raise ValueError("a learner's bug")

    with pytest.raises(ValueError) as raised:
        side_by_side(lambda: [], learners_save_figure, CPU)
    shown = "".join(traceback.format_exception(raised.value))
    assert ", in learners_save_figure\n" in shown, (
        f"the traceback should show the frame of the function that raised:\n{shown}")


@pytest.mark.skipif(not ON_LINUX, reason="the copy is forked on Linux only")
def test_a_copy_that_dies_is_an_error_here():
    """Catches: waiting forever, or carrying on without its figures, when the forked copy
    ends without a result (killed, or a crash in a native library)."""
    with pytest.raises(RuntimeError, match="ended with status"):
        side_by_side(lambda: [], lambda: os._exit(3), CPU)


def test_with_the_model_on_a_gpu_the_figures_are_drawn_in_this_process():
    """Catches: forking with the model on a GPU, whose context does not survive a fork: the
    copy's wild digits would fail with "Cannot re-initialize CUDA in forked subprocess"."""
    pids = side_by_side(lambda: [os.getpid()], lambda: [os.getpid()], torch.device("cuda"))
    assert pids == [os.getpid()] * 2, "the second half ran in another process"
