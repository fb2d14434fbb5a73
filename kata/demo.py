"""The main job, end to end: train the CNN on MNIST, evaluate it, save the model and plots.

    make demo                      # the reference solution
    make demo IMPL=exercises       # your own steps, once they pass their tests
    python -m kata.demo --help

Writes artifacts/model.pt (a state dict), artifacts/predictions.png and artifacts/losses.png.
"""

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: the demo also runs on machines without a screen

import torch

from . import KataTodo, data
from .steps import load_step


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kata.demo",
        description="Train the kata's CNN on MNIST, evaluate it on the test set, save artifacts.")
    parser.add_argument("--impl", default="solutions", help="package of the eight steps")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--root", type=Path, default=data.mnist_root(),
                        help="MNIST folder (default: $MNIST_ROOT or data)")
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help="artifacts folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> float:
    step1, step2, step4, step5, step7, step8 = (
        load_step(args.impl, number) for number in (1, 2, 4, 5, 7, 8))
    try:
        device = step1.get_device(args.device)
    except ValueError as error:
        raise SystemExit(f"--device {args.device}: {error}") from error
    step1.set_seed(args.seed)
    versions = ", ".join(f"{name} {version}" for name, version in step1.library_versions().items())
    print(f"{args.impl} on {device} ({versions})")

    if data.missing_files(args.root):
        print(f"MNIST is not in {args.root}: downloading it")
        data.download(args.root)
    train_set = step2.load_mnist(args.root, train=True)
    test_set = step2.load_mnist(args.root, train=False)
    train_loader = step2.make_loader(train_set, batch_size=args.batch_size, shuffle=True,
                                     limit=args.limit, seed=args.seed)
    test_loader = step2.make_loader(test_set, batch_size=1000)

    model = step4.build_model(device)
    optimizer = step4.build_optimizer(model, lr=args.lr)
    started = time.perf_counter()
    losses = step5.fit(model, train_loader, step4.build_loss(), optimizer, device,
                       epochs=args.epochs, progress=not args.quiet)
    trained = time.perf_counter()
    accuracy = step7.evaluate(model, test_loader, device)
    print(f"training: {trained - started:.1f} s, mean loss per epoch: "
          + ", ".join(f"{loss:.4f}" for loss in losses))
    print(f"test accuracy: {accuracy:.2%} on {len(test_set)} images "
          f"({time.perf_counter() - trained:.1f} s)")

    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "model.pt")
    saved = [args.out / "model.pt",
             step8.save_figure(step8.plot_predictions(model, test_set, device, count=18),
                               args.out / "predictions.png"),
             step8.save_figure(step8.plot_losses(losses), args.out / "losses.png")]
    print("saved " + ", ".join(str(path) for path in saved))
    return accuracy


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except KataTodo as todo:
        print(f"The demo reached a step you have not written yet. {todo}\n"
              f"Run `make test` to see which steps are done.", file=sys.stderr)
        return 2
    except FileNotFoundError as error:  # no MNIST, and no way to download it
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
