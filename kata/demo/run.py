"""The main job, end to end: train the kata's CNN on MNIST, evaluate it, save the results.

    make demo                                     # the reference: 99% in two epochs
    make demo IMPL=exercises                      # your own steps, once their tests pass
    make demo DEMO_ARGS="--epochs 20 --batch-size 256 --augment"   # one network: 99.3-99.5%
    make demo DEMO_ARGS="--epochs 20 --batch-size 256 --augment --ensemble 2"   # 99.4-99.6%
    make demo DEMO_ARGS="--device cuda --batch-size 512 --lr 0.02 --epochs 3"   # on a GPU
    kata demo --help

Everything the model does is the package's own step code: its network, loss, optimizer,
train_epoch, predict_batch, accuracy and plots. The demo adds speed around it: the images
are decoded and normalised once into a tensor on the device (kata/inmemory.py), a
one-cycle learning-rate schedule lets two epochs go far, and on a CPU that computes in
bfloat16 natively the forward pass does (mixed precision).

Writes to artifacts/: model.pt (a state dict), predictions.png and losses.png (once step 8 is
written), confusion.png, wild_digits.png (once step 9 is written: digits written large, dark
on white, off-centre, read before and after its to_mnist) and metrics.json (every figure
printed, for `make bench`).
"""

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if "ipykernel" not in sys.modules:  # a notebook keeps its own backend, to show figures
    # Files only: the demo also runs on machines without a screen. Set for when matplotlib
    # is imported, at the plots: importing it first would delay training by 0.3 s.
    os.environ["MPLBACKEND"] = "Agg"

import torch
from torch import nn
from tqdm.auto import tqdm

from kata import KataTodo, data
from kata.demo import DemoError, described
from kata.demo.checkpoint import load_weights, save_model
from kata.demo.evaluation import (
    confusion_matrix,
    most_confused,
    per_digit_accuracy,
    plot_confusion,
    predict_and_score,
)
from kata.demo.inmemory import Batches, load_split
from kata.demo.measure import Clock, peak_memory_mb
from kata.demo.speed import channels_last, fuse, keep_freed_memory, side_by_side
from kata.device import bfloat16_pays
from kata.paths import given_path
from kata.startup import collector_paused
from kata.steps import load_step

TARGET_ACCURACY = 0.99
STEP8_FIGURES = ("predictions.png", "losses.png")  # the package's own
WILD_FIGURE = "wild_digits.png"
ARTIFACTS = ("model.pt", *STEP8_FIGURES, "confusion.png", WILD_FIGURE, "metrics.json")
FIRST_DIGITS_SHOWN, MISTAKES_SHOWN = 12, 6


def default_package() -> str:
    import importlib.util

    return "solutions" if importlib.util.find_spec("solutions") else "exercises"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kata demo",
        description="Train the kata's CNN on MNIST, evaluate it on the 10,000 test images, "
                    "and save the model, plots and figures under --out.")
    parser.add_argument("--impl", default=default_package(),
                        help="package of the steps (default: solutions, or exercises "
                        "where there are no solutions, as in a handout)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.006,
                        help="the peak learning rate of the one-cycle schedule")
    parser.add_argument("--augment", action="store_true",
                        help="turn, shift and scale each training image a little (for long runs)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="training arithmetic: bfloat16 mixed precision (autocast) doubles "
                             "the speed on a CPU that does it natively; auto picks it there only")
    parser.add_argument("--ensemble", type=int, default=1, metavar="N",
                        help="train N networks and average their probabilities (N=2 with "
                             "--epochs 20 --batch-size 256 --augment: 99.4-99.6%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--load", type=given_path, metavar="MODEL_PT",
                        help="evaluate the weights in this file instead of training")
    parser.add_argument("--root", type=given_path, default=data.mnist_root(),
                        help="MNIST folder (default: $MNIST_ROOT or data)")
    parser.add_argument("--out", type=given_path, default=Path("artifacts"),
                        help="artifacts folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if min(args.epochs, args.batch_size, args.ensemble, args.limit or 1) < 1:
        parser.error("--epochs, --batch-size, --ensemble and --limit must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    return args


@contextlib.contextmanager
def explained(*kinds: type[Exception], what: str = ""):
    """Turn the errors of these kinds raised inside into a DemoError, whose message is shown
    without a traceback. Only around code that raises them on purpose, saying what to do:
    anywhere else they are bugs, whose traceback shows the line to fix."""
    try:
        yield
    except kinds as error:
        raise DemoError(f"{what}{error}") from error


def artifacts_written(args: argparse.Namespace) -> tuple[str, ...]:
    """The files this run writes in --out. With --load nothing is trained: no losses.png,
    and no model.pt over the very file it loads (the same weights)."""
    if not args.load:
        return ARTIFACTS
    ours = args.out / "model.pt"
    reloaded = ours.is_file() and args.load.is_file() and ours.samefile(args.load)
    return tuple(name for name in ARTIFACTS
                 if name != "losses.png" and not (reloaded and name == "model.pt"))


def writable_folder(out: Path, names: tuple[str, ...]) -> Path:
    """--out, made before training, so that a path that cannot hold the files `names` stops
    the demo at once instead of after the training."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DemoError(f"--out {out}: cannot make that folder ({error.strerror})") from error
    if not os.access(out, os.W_OK | os.X_OK):
        raise DemoError(f"--out {out}: that folder cannot be written to")
    for name in names:
        path = out / name
        if path.is_dir():
            raise DemoError(f"--out {out}: {path} is a folder, and the demo writes its "
                            f"{name} there; move that folder away or choose another --out")
        if path.is_file() and not os.access(path, os.W_OK):
            raise DemoError(f"--out {out}: {path} is read-only, and the demo writes a new "
                            f"{name} there; make it writable, move it away or choose "
                            "another --out")
    return out


class LossMeter(nn.Module):
    """The package's loss function, remembering the last batch loss for the progress bar."""

    def __init__(self, loss_fn: nn.Module):
        super().__init__()
        self.loss_fn = loss_fn
        self.last = torch.tensor(float("nan"))

    def forward(self, logits, labels):
        loss = self.loss_fn(logits, labels)
        self.last = loss.detach()
        return loss


class MixedPrecision(nn.Module):
    """The model with its forward pass in bfloat16; its weights and their updates stay float32.

    Autocast is entered per batch, as PyTorch asks: within one autocast region the bfloat16
    copies of the weights are cached, so a region around a whole epoch would keep training
    on the first batch's weights. Testing runs the bare model, in float32.
    """

    def __init__(self, model: nn.Module, device: torch.device):
        super().__init__()
        self.model, self.device_type = model, device.type

    def forward(self, images):
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            logits = self.model(images)
        return logits.float()  # the loss in float32, outside autocast


class Ensemble(nn.Module):
    """Networks trained apart, voting: the log of their mean softmax probabilities.

    Each network errs on some digits of its own; averaging their probabilities outvotes part
    of those mistakes. The log keeps the output readable as logits: its argmax is the digit
    with the highest mean probability and its softmax gives the mean back, so the package's
    predict_batch and plots read an ensemble as they read one network.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, images):
        # log(mean(p)) computed from log-probabilities: a probability that rounds to 0 in
        # float32 would make the plain log -inf.
        log_probabilities = torch.stack([member(images).log_softmax(dim=1)
                                         for member in self.members])
        return log_probabilities.logsumexp(dim=0) - math.log(len(self.members))


def networks_of(model: nn.Module) -> list[nn.Module]:
    """The networks to train: an ensemble's members, or the one network."""
    return list(model.members) if isinstance(model, Ensemble) else [model]


@dataclass
class Trainee:
    """One network with what trains it: its optimizer, schedule and order of batches."""

    model: nn.Module  # as train_epoch runs it: the network, or its mixed-precision wrapper
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    shuffle: torch.Generator


def build_trainee(steps, network, train_data, device, args, seed: int) -> Trainee:
    """The package's optimizer for `network`, under a one-cycle schedule over all epochs."""
    optimizer = steps[4].build_optimizer(network, lr=args.lr)
    fuse(optimizer, device)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs,
        steps_per_epoch=len(train_data.batches(args.batch_size)),
        cycle_momentum=False)  # leaves the optimizer's own momentum alone, whichever it is
    trained = MixedPrecision(network, device) if args.precision == "bfloat16" else network
    return Trainee(trained, optimizer, schedule, torch.Generator().manual_seed(seed))


class ScheduledBatches:
    """An epoch's batches as handed to train_epoch: after each update it advances the schedule
    and the bar. Like the DataLoader it stands for, it has len() (its batches), .dataset and
    .batch_size."""

    def __init__(self, batches: Batches, schedule, bar, loss_meter: LossMeter):
        self.batches, self.schedule, self.bar, self.loss_meter = batches, schedule, bar, loss_meter
        self.dataset, self.batch_size = batches.dataset, batches.batch_size

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for images, labels in self.batches:
            yield images, labels
            self.schedule.step()  # train_epoch has just run optimizer.step() on this batch
            # The loss is read (a wait for a GPU) only when the bar is about to show it.
            if not self.bar.disable and self.bar.update(len(labels)):
                self.bar.set_postfix(loss=f"{self.loss_meter.last.item():.3f}", refresh=False)


class LineProgress:
    """Progress for a log (output piped to a file, CI): a line every few seconds, where a bar
    would write hundreds of carriage-return updates per epoch into the log."""

    def __init__(self, total: int, desc: str, every: float = 5.0):
        self.total, self.desc, self.every = total, desc, every
        self.done, self.disable, self.due = 0, False, False
        self.started = self.last = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, count: int) -> bool:
        self.done += count
        self.due = time.monotonic() - self.last >= self.every
        return self.due

    def set_postfix(self, refresh: bool = False, **values) -> None:
        if not self.due:
            return
        self.last, self.due = time.monotonic(), False
        rate = self.done / max(self.last - self.started, 1e-9)
        shown = ", ".join(f"{name} {value}" for name, value in values.items())
        print(f"  {self.desc}: {self.done:,}/{self.total:,} images "
              f"({self.done / self.total:.0%}), {shown}, {rate:,.0f} images/s", flush=True)


def progress_bar(total: int, desc: str, quiet: bool):
    """A bar where a person watches (a terminal, a notebook: tqdm.auto draws the notebook's
    own), lines every few seconds where output goes to a log, nothing with --quiet."""
    if quiet:
        return tqdm(total=total, disable=True)
    if "ipykernel" in sys.modules or sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit="img", unit_scale=True, leave=False)
    return LineProgress(total, desc)


def train(steps, model, train_data, test_data, device, args, clock):
    """Train the network, or each network of the ensemble, for args.epochs with the package's
    steps, testing `model` after each epoch.

    Returns one record per epoch and the last epoch's test predictions.
    """
    loss_meter = LossMeter(steps[4].build_loss())
    # Each network of each run its own batch order: seed S trains with S*N ... S*N + N-1.
    trainees = [build_trainee(steps, network, train_data, device, args,
                              seed=args.seed * args.ensemble + index)
                for index, network in enumerate(networks_of(model))]
    history = []
    for epoch in range(1, args.epochs + 1):
        with progress_bar(len(train_data) * len(trainees), f"epoch {epoch}/{args.epochs}",
                          args.quiet) as bar:
            losses = []
            for trainee in trainees:
                batches = ScheduledBatches(
                    train_data.batches(args.batch_size, trainee.shuffle, args.augment),
                    trainee.schedule, bar, loss_meter)
                with clock.phase("train"):
                    losses.append(steps[5].train_epoch(trainee.model, batches, loss_meter,
                                                       trainee.optimizer, device))
        loss = statistics.fmean(losses)
        with clock.phase("evaluate"):
            predictions, accuracy = predict_and_score(steps[7], model, test_data, device)
        history.append({"epoch": epoch, "loss": loss, "test_accuracy": accuracy,
                        "seconds": clock.elapsed(), "train_seconds": clock.phases["train"]})
        print(f"epoch {epoch}/{args.epochs}: mean loss {loss:.4f}, test accuracy {accuracy:.2%}"
              f" ({clock.elapsed():.1f} s)", flush=True)
    return history, predictions


def shown_indices(predictions: torch.Tensor, labels: torch.Tensor) -> list[int]:
    """The first test digits, then the first ones the model got wrong (shown in red)."""
    first = list(range(FIRST_DIGITS_SHOWN))
    wrong = [i for i in (predictions != labels.cpu()).nonzero().flatten().tolist()
             if i not in first]
    return first + wrong[:MISTAKES_SHOWN]


def load_steps(args: argparse.Namespace) -> tuple[dict, torch.device]:
    """The package's steps for training (step 8, and matplotlib with it, come after it) and
    the device; seeds everything, settles --precision auto and says what will run."""
    steps = {number: load_step(args.impl, number) for number in (1, 2, 4, 5, 7)}
    try:
        device = steps[1].get_device(args.device)
    except ValueError as error:
        raise SystemExit(f"--device {args.device}: {error}") from error
    steps[1].set_seed(args.seed)
    if args.precision == "auto":
        args.precision = "bfloat16" if bfloat16_pays(device) else "float32"
    versions = ", ".join(f"{name} {version}"
                         for name, version in steps[1].library_versions().items())
    ensemble = "" if args.ensemble == 1 else f", an ensemble of {args.ensemble} networks"
    print(f"{args.impl} on {device} in {args.precision}, {torch.get_num_threads()} CPU threads"
          f"{ensemble} ({versions})")
    return steps, device


def load_data(step2, args: argparse.Namespace, device: torch.device):
    """MNIST in memory on the device, downloaded first where it is missing: the training
    split, and the test split both as the package's dataset (for the plots) and in memory."""
    if data.missing_files(args.root):
        print(f"MNIST is not in {args.root}: downloading it")
        data.download(args.root)
    _, train_data = load_split(step2, args.root, True, device, limit=args.limit)
    test_set, test_data = load_split(step2, args.root, False, device)
    return train_data, test_set, test_data


def run(args: argparse.Namespace) -> dict:
    clock = Clock()
    keep_freed_memory()
    written = artifacts_written(args)
    writable_folder(args.out, written)
    # What is loaded before training (torch, the steps, the data) lives to the end: it is
    # loaded without the garbage collector, which skips it afterwards (kata/startup.py).
    with collector_paused():
        steps, device = load_steps(args)
        # No MNIST where it looks (the download's, or the package's load_mnist's, message).
        with clock.phase("load data"), explained(FileNotFoundError):
            train_data, test_set, test_data = load_data(steps[2], args, device)

    networks = [steps[4].build_model(device) for _ in range(args.ensemble)]
    if device.type == "cpu":
        for network in networks:
            channels_last(network)
    # One network stays bare, so that its model.pt loads into the learner's DigitClassifier.
    model = networks[0] if len(networks) == 1 else Ensemble(networks)
    if args.load:
        with explained(FileNotFoundError, ValueError, what="--load: "):
            load_weights(model, args.load, device)
        print(f"loaded {args.load}")
        history = []
        with clock.phase("evaluate"):
            predictions, accuracy = predict_and_score(steps[7], model, test_data, device)
    else:
        history, predictions = train(steps, model, train_data, test_data, device, args, clock)
        accuracy = history[-1]["test_accuracy"]
    confusion = confusion_matrix(predictions, test_data.labels)
    reached = next((record for record in history
                    if record["test_accuracy"] >= TARGET_ACCURACY), None)

    with collector_paused():
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        steps[8] = load_step(args.impl, 8)

    def save_plot(fig, name: str) -> Path | None:
        """The figure saved with the package's save_figure, or while that is a stub with
        matplotlib's savefig (the demo's own figures wait for no step). The file written,
        not what save_figure returned, says whether it was saved."""
        path = args.out / name
        path.unlink(missing_ok=True)  # so that the file found afterwards is this run's
        try:
            returned = steps[8].save_figure(fig, path)
        except KataTodo as todo:
            fig.savefig(path)
            returned = path
            if name in STEP8_FIGURES:
                print(f"{name}: saved with matplotlib's savefig, as your save_figure is not "
                      f"written yet ({todo})")
        plt.close(fig)  # pyplot keeps every figure open until closed
        if path.is_file():
            return path
        elsewhere = isinstance(returned, (str, os.PathLike)) and Path(returned).is_file()
        return not_drawn(args.out, name, f"not saved at {path}: your save_figure wrote "
                         + (f"{returned} instead" if elsewhere else "no file there")
                         + "; `kata test 8` shows what to fix")

    def step8_figure(name: str, function, *arguments, **options) -> Path | None:
        """One of the package's step 8 figures, drawn by its `function`. While that is a
        stub, or when it returns no Figure, a line says so and the run goes on (the model,
        the demo's figures and the metrics stand); a bug it raises stops the run."""
        try:
            figure = function(*arguments, **options)
        except KataTodo as todo:
            return not_drawn(args.out, name, f"no figure until step 8 is written ({todo}); "
                             "`kata test 8` shows what is left")
        if not isinstance(figure, Figure):
            return not_drawn(args.out, name,
                             f"no figure: your {function.__name__} returned "
                             f"{described(figure)}, not a matplotlib Figure; `kata test 8` "
                             "shows what to fix")
        return save_plot(figure, name)

    def package_figures() -> list[Path | None]:  # and the model
        indices = shown_indices(predictions, test_data.labels)
        return [
            save_model(model, args.out / "model.pt") if "model.pt" in written else None,
            step8_figure("predictions.png", steps[8].plot_predictions, model, test_set, device,
                         indices=indices, count=len(indices)),
            # With --load nothing was trained: a losses.png already there stays (most often
            # the curve of the model loaded, from the run that saved it).
            step8_figure("losses.png", steps[8].plot_losses, [r["loss"] for r in history])
            if "losses.png" in written else None,
        ]

    def demo_figures() -> list[Path | None]:
        return [save_plot(plot_confusion(confusion), "confusion.png"),
                wild_figure(args, model, test_set, device, save_plot)]

    with clock.phase("save artifacts"):
        saved = side_by_side(package_figures, demo_figures, device)

    train_seconds = clock.phases.get("train", 0.0)
    metrics = {
        # With --load nothing was trained: no epochs, no training images, no precision.
        "impl": args.impl, "device": str(device), "epochs": len(history),
        "batch_size": args.batch_size, "lr": args.lr, "augment": args.augment,
        "ensemble": args.ensemble,
        "precision": args.precision if history else None,
        "seed": args.seed, "train_images": len(train_data) if history else 0,
        "test_images": len(test_data),
        "test_accuracy": accuracy,
        "per_digit_accuracy": per_digit_accuracy(confusion),
        "most_confused": [{"true": t, "predicted": p, "times": n}
                          for t, p, n in most_confused(confusion)],
        "history": history,
        "seconds": {**clock.phases, "total": clock.elapsed()},
        "clock_started_unix": clock.started_unix,
        # From the start (imports not counted), and training alone (the GPU target's measure).
        "seconds_to_target": reached["seconds"] if reached else None,
        "train_seconds_to_target": reached["train_seconds"] if reached else None,
        "train_images_per_second": (len(train_data) * len(history) * args.ensemble
                                    / train_seconds if train_seconds else None),
        "peak_rss_mb": peak_memory_mb(),
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print_summary(metrics, [path for path in saved if path] + [args.out / "metrics.json"])
    return metrics


def wild_figure(args, model, test_set, device, save_plot) -> Path | None:
    """wild_digits.png, once the package's step 9 is written: what the network reads in
    digits written large, dark on white and off-centre, before and after its to_mnist."""
    from kata.demo.wild import ToMnistFailed, wild_digits

    try:
        figure = wild_digits(load_step(args.impl, 9), model, test_set.data, test_set.targets,
                             device, seed=args.seed)
    except KataTodo:
        return not_drawn(args.out, WILD_FIGURE,
                         "no figure until step 9 (your own handwriting) is written")
    except ToMnistFailed as failed:  # the rest of the run (model, figures, metrics) stands
        return not_drawn(args.out, WILD_FIGURE,
                         f"no figure: {failed}; `kata test 9` shows what to fix")
    return save_plot(figure, WILD_FIGURE)


def not_drawn(out: Path, name: str, why: str) -> None:
    """Say why the figure `name` was not drawn; an earlier run's file of that name goes, so
    that the folder holds this run's figures only."""
    (out / name).unlink(missing_ok=True)
    print(f"{name}: {why}")


def print_summary(metrics: dict, saved: list[Path]) -> None:
    right = round(metrics["test_accuracy"] * metrics["test_images"])
    print(f"test accuracy: {metrics['test_accuracy']:.2%} "
          f"({right} of {metrics['test_images']} test images)")
    print("per digit:     " + "  ".join(
        f"{digit}: {value:.1%}" for digit, value in enumerate(metrics["per_digit_accuracy"])))
    print("most confused: " + ", ".join(
        f"{pair['true']} read as {pair['predicted']} ({pair['times']}x)"
        for pair in metrics["most_confused"]))
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in metrics["seconds"].items())
    print(f"time:          {phases}")
    if metrics["train_images_per_second"]:
        print(f"training:      {metrics['train_images_per_second']:,.0f} images/s")
    if metrics["seconds_to_target"] is not None:
        print(f"reached {TARGET_ACCURACY:.0%} {metrics['seconds_to_target']:.1f} s after the "
              f"start (imports not counted), after {metrics['train_seconds_to_target']:.2f} s "
              "of training")
    if metrics["peak_rss_mb"]:
        print(f"peak memory:   {metrics['peak_rss_mb']:,.0f} MB")
    print("saved:         " + ", ".join(str(path) for path in saved))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except KataTodo as todo:
        print(f"The demo reached a step you have not written yet. {todo}\n"
              "Run `make test` to see which steps are done.", file=sys.stderr)
        return 2
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
