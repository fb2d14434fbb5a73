"""The grader's own checks of every step: the part of the grade no test run can fake.

Each check makes inputs (`prepare`), has the learner's functions act on them (`act`), and
judges the outputs (`@verdict` methods); kata/grading/checks.py explains the three parts. In
grading, the inputs come from a secret seed and the verdicts run in the grader, which never
imports the learner's code, so a run that rewrites its own reports still fails these. In the
learner's loop they are the tests `test_graders_check[...]` of each step's test file.

The checks use stand-ins the grader understands (Tattletale, CornerNet, ModeShiftNet) and
the contract of kata-contract.md, never the reference solution. A step earns points only once
all of its verdicts pass (README, "Can the grade be trusted?").
"""

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from kata import KataTodo
from kata.capstone import SETTING, train, write_held_out
from kata.device import resolve_device
from kata.grading.checks import Check, graders_check_test, verdict
from kata.testing import (
    BACKGROUND,
    MNIST_CENTRE,
    MNIST_MEAN,
    MNIST_STD,
    CornerNet,
    ModeShiftNet,
    Tattletale,
    TensorDigits,
    centre_of_mass,
    correlation,
    draw_digit,
    ink_box,
    looks_like_log_probabilities,
    looks_like_probabilities,
    names_the_device,
    observe,
    panel_facts,
    says_how_to_get_mnist,
    seeded,
    title_number,
    write_idx_images,
    write_idx_labels,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def raised(call) -> dict:
    """What `call()` raised, as data: {"raised": "ValueError", "message": ...}; {} if nothing.

    A stub's KataTodo goes through: the check is then todo.
    """
    try:
        call()
    except KataTodo:
        raise
    except Exception as error:
        return {"raised": type(error).__name__, "message": str(error)}
    return {}


def kind(value) -> str:
    """The name of a value's type, for messages about what a function returned."""
    return type(value).__name__


def number(value):
    """A Python number as it is; a one-element tensor as its value; anything else as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return None


def as_sent(value):
    """A tensor as it is (on the CPU); anything else as the name of its type."""
    return value.detach().cpu() if isinstance(value, torch.Tensor) else kind(value)


def ink_extent(pixels: torch.Tensor, paper: int) -> tuple[int, int]:
    """(height, width) of the box around what was drawn on a page of grey level `paper`."""
    contrast = (pixels.int() - paper).abs()
    ink = contrast >= 0.1 * contrast.max()
    rows, cols = ink.any(dim=1).nonzero().flatten(), ink.any(dim=0).nonzero().flatten()
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def images_from(seed: int, count: int) -> torch.Tensor:
    """`count` images (count, 1, 28, 28) drawn from `seed`: the same seed, the same images."""
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def tattletale(seed: int) -> Tattletale:
    return Tattletale(torch.Generator().manual_seed(seed))


def clean_predictions(seed: int, images: torch.Tensor) -> tuple[list[int], list[float]]:
    """The digit Tattletale(seed) reads in each image, and its softmax probability."""
    with torch.no_grad():
        probabilities = tattletale(seed).clean_logits(images).softmax(dim=1)
    best, digits = probabilities.max(dim=1)
    return digits.tolist(), best.tolist()


def labels_some_right(rng, digits: list[int], right: float = 0.5) -> list[int]:
    """Labels for images read as `digits`: each the digit itself with chance `right`, else
    another digit, so that some predictions agree with their label and some do not: at
    least one of each, or a swapped (true, predicted) could pass by chance."""
    agree = [rng.random() < right for _ in digits]
    if len(digits) > 1 and len(set(agree)) == 1:
        agree[rng.randrange(len(digits))] = not agree[0]
    return [digit if same else (digit + rng.randint(1, 9)) % 10
            for digit, same in zip(digits, agree)]


def shifted_by(answer: list[int], expected: list[int]) -> int | None:
    """By how many digits `answer` is rolled from `expected` (Tattletale's tell), or None."""
    for shift in range(1, 4):
        if answer == [(digit + shift) % 10 for digit in expected]:
            return shift
    return None


def mode_hint(shift: int | None) -> str:
    return {1: " -- it ran in training mode: call model.eval() first",
            2: " -- it ran with gradients on: run the model inside torch.no_grad()",
            3: " -- it ran in training mode with gradients on: model.eval() and "
               "torch.no_grad()"}.get(shift, "")


# ---------------------------------------------------------------- step 1


class Device(Check):
    step = 1

    def prepare(self, rng, context):
        unknown = "".join(rng.choice("bdfhjkqvwxz") for _ in range(5))
        return {"unknown": unknown}, {"auto": resolve_device("auto").type}

    def act(self, impl, public, context):
        step1 = impl.step(1)
        cpu, auto = step1.get_device("cpu"), step1.get_device(None)
        return {"cpu": str(cpu), "cpu_kind": kind(cpu),
                "auto": getattr(auto, "type", str(auto)), "auto_kind": kind(auto),
                "unknown": raised(lambda: step1.get_device(public["unknown"]))}

    @verdict
    def get_device_gives_the_cpu_or_the_best_device(self, public, secret, outputs):
        """Catches: ignoring the name asked for, or an "auto" that skips an available GPU."""
        assert outputs["cpu_kind"] == "device" and outputs["cpu"] == "cpu", (
            f"get_device('cpu') returned {outputs['cpu_kind']} {outputs['cpu']!r}; "
            "expected torch.device('cpu')")
        assert outputs["auto"] == secret["auto"], (
            f"get_device(None) picked {outputs['auto']!r} on a machine whose best device is "
            f"{secret['auto']!r}: look for cuda, then mps, then fall back to the cpu")

    @verdict
    def get_device_rejects_an_unknown_name(self, public, secret, outputs):
        """Catches: letting torch's RuntimeError through, or quietly falling back to the cpu."""
        name, unknown = public["unknown"], outputs["unknown"]
        assert unknown.get("raised") == "ValueError", (
            f"get_device({name!r}) " + (f"raised {unknown['raised']}" if unknown else "returned")
            + "; it should raise ValueError that names the device")
        assert names_the_device(unknown["message"], name), (
            f"get_device({name!r}) raised ValueError({unknown['message']!r}): name {name!r} "
            "in the message")


class Seeding(Check):
    step = 1

    def prepare(self, rng, context):
        return {"seed": rng.randrange(2**31)}, None

    def act(self, impl, public, context):
        impl.step(1).set_seed(public["seed"])
        numbers = torch.rand(4)
        return {"torch": numbers, "python": random.random()}

    @verdict
    def set_seed_seeds_torch_and_python(self, public, secret, outputs):
        """Catches: seeding only one of torch and Python's random, or ignoring the seed."""
        seed = public["seed"]
        expected = torch.rand(4, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(outputs["torch"], expected), (
            f"after set_seed({seed}), torch.rand(4) gave {outputs['torch'].tolist()}, not what "
            f"torch.manual_seed({seed}) gives: seed torch with the seed you are given")
        assert outputs["python"] == random.Random(seed).random(), (
            f"after set_seed({seed}), random.random() was not what random.seed({seed}) gives: "
            "seed Python's random too")


class Versions(Check):
    step = 1

    def prepare(self, rng, context):
        import matplotlib
        import torchvision

        versions = {"torch": torch.__version__, "torchvision": torchvision.__version__,
                    "matplotlib": matplotlib.__version__}
        return None, versions

    def act(self, impl, public, context):
        versions = impl.step(1).library_versions()
        return {"kind": kind(versions),
                "versions": {str(k): str(v) for k, v in dict(versions).items()}}

    @verdict
    def library_versions_reports_each_library(self, public, secret, outputs):
        """Catches: a missing or misspelled key, or a value that is not the module's version."""
        for name, version in secret.items():
            got = outputs["versions"].get(name)
            assert got == version, (
                f"library_versions()[{name!r}] is {got!r}; expected {version!r}, "
                f"{name}.__version__")


# ---------------------------------------------------------------- step 2


class Transform(Check):
    step = 2

    def prepare(self, rng, context):
        pixels = torch.randint(0, 256, (3, 28, 28), generator=seeded(rng), dtype=torch.uint8)
        return {"pixels": pixels}, None

    def act(self, impl, public, context):
        from PIL import Image

        step2 = impl.step(2)
        transform = step2.build_transform()
        images = [transform(Image.fromarray(pixels.numpy())) for pixels in public["pixels"]]
        return {"mean": number(step2.MNIST_MEAN), "std": number(step2.MNIST_STD),
                "images": [image if isinstance(image, torch.Tensor) else kind(image)
                           for image in images]}

    @verdict
    def mnist_mean_and_std_are_the_training_set_values(self, public, secret, outputs):
        """MNIST_MEAN and MNIST_STD are 0.1307 and 0.3081, the usual MNIST statistics."""
        for name, value, expected in (("MNIST_MEAN", outputs["mean"], MNIST_MEAN),
                                      ("MNIST_STD", outputs["std"], MNIST_STD)):
            assert value is not None and math.isclose(value, expected, abs_tol=1e-4), (
                f"{name} is {value!r}; it should be {expected}")

    @verdict
    def build_transform_scales_then_normalises_pixels(self, public, secret, outputs):
        """Catches: no normalisation, normalising 0..255 pixels, or other mean and std."""
        for pixels, image in zip(public["pixels"], outputs["images"]):
            assert isinstance(image, torch.Tensor), (
                f"build_transform() made a {image} of an image; it should make a tensor")
            assert tuple(image.shape) == (1, 28, 28) and image.dtype == torch.float32, (
                f"build_transform() made a {image.dtype} tensor of shape {tuple(image.shape)}; "
                "expected float32 (1, 28, 28)")
            expected = (pixels.float() / 255 - MNIST_MEAN) / MNIST_STD
            error = (image[0] - expected).abs().max().item()
            assert error < 1e-4, (
                f"build_transform() is off by up to {error:.4f} from (pixel / 255 - "
                f"{MNIST_MEAN}) / {MNIST_STD}: ToTensor() first, then Normalize")


class LoadMnist(Check):
    step = 2

    def prepare(self, rng, context):
        generator, folder = seeded(rng), context.folder
        raw = folder / "MNIST" / "raw"
        raw.mkdir(parents=True)
        secret = {}
        for prefix, count in (("train", rng.randint(20, 40)), ("t10k", rng.randint(10, 19))):
            pixels = torch.randint(0, 256, (count, 28, 28), generator=generator)
            labels = torch.randint(0, 10, (count,), generator=generator)
            write_idx_images(raw / f"{prefix}-images-idx3-ubyte", pixels)
            write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
            secret[prefix] = {"pixels": pixels, "labels": labels.tolist()}
        (folder / "empty").mkdir()
        return {"root": str(folder), "empty": str(folder / "empty")}, secret

    def act(self, impl, public, context):
        step2 = impl.step(2)
        splits = {}
        for prefix, training in (("train", True), ("t10k", False)):
            dataset = step2.load_mnist(public["root"], train=training)
            samples = [dataset[index] for index in range(len(dataset))]
            splits[prefix] = {
                "length": len(dataset),
                "labels": [number(label) for _, label in samples],
                "images": [image if isinstance(image, torch.Tensor) else kind(image)
                           for image, _ in samples]}
        return {"splits": splits, "missing": raised(lambda: step2.load_mnist(public["empty"]))}

    @verdict
    def load_mnist_reads_the_asked_for_split(self, public, secret, outputs):
        """Catches: ignoring `train`, so that the test set is the training set, or the reverse."""
        for prefix, training in (("train", True), ("t10k", False)):
            got, expected = outputs["splits"][prefix], secret[prefix]["labels"]
            assert got["length"] == len(expected) and got["labels"] == expected, (
                f"load_mnist(root, train={training}) served {got['length']} samples labelled "
                f"{got['labels'][:5]}...; the folder holds {len(expected)} labelled "
                f"{expected[:5]}...: pass train=train to datasets.MNIST")

    @verdict
    def load_mnist_applies_build_transform(self, public, secret, outputs):
        """Catches: leaving out transform=build_transform(), or another transform."""
        for prefix in ("train", "t10k"):
            for image, pixels in zip(outputs["splits"][prefix]["images"],
                                     secret[prefix]["pixels"]):
                assert isinstance(image, torch.Tensor) and tuple(image.shape) == (1, 28, 28), (
                    f"load_mnist's items hold a {image if isinstance(image, str) else 'tensor'}"
                    " image; pass transform=build_transform() to datasets.MNIST")
                expected = (pixels.float() / 255 - MNIST_MEAN) / MNIST_STD
                assert (image[0] - expected).abs().max().item() < 1e-4, (
                    "load_mnist's images are not the normalised pixels of the files: pass "
                    "transform=build_transform() to datasets.MNIST")

    @verdict
    def load_mnist_without_the_files_says_how_to_get_them(self, public, secret, outputs):
        """Catches: torchvision's bare RuntimeError, or a message that does not say what to do."""
        missing, folder = outputs["missing"], public["empty"]
        assert missing.get("raised") == "FileNotFoundError", (
            "load_mnist on an empty folder " + (f"raised {missing['raised']}" if missing
                                               else "returned")
            + "; it should raise FileNotFoundError")
        assert says_how_to_get_mnist(missing["message"], folder), (
            f"load_mnist raised FileNotFoundError({missing['message']!r}); name the folder it "
            f"looked in ({folder}) and a way to get the data (`make data`, download=True or "
            "MNIST_ROOT)")


class MakeLoader(Check):
    step = 2

    def prepare(self, rng, context):
        size = rng.randint(23, 61)
        batch = rng.choice([b for b in range(3, 10) if size % b])
        return {"size": size, "batch": batch, "limit": rng.randint(batch + 1, size - 1),
                "seeds": rng.sample(range(10_000), 2)}, None

    def act(self, impl, public, context):
        make_loader = impl.step(2).make_loader
        size, batch = public["size"], public["batch"]
        digits = TensorDigits(torch.zeros(size, 1, 28, 28), torch.arange(size))

        def served(loader):
            return [labels.tolist() for _, labels in loader]

        first_images, _ = next(iter(make_loader(digits, batch_size=batch)))
        many = TensorDigits(torch.zeros(70, 1, 28, 28), torch.arange(70))
        return {
            "in_order": served(make_loader(digits, batch_size=batch)),
            "limited": served(make_loader(digits, batch_size=batch, limit=public["limit"])),
            "shuffled": [served(make_loader(digits, batch_size=batch, shuffle=True, seed=seed))
                         for seed in (public["seeds"][0], public["seeds"][0], public["seeds"][1])],
            "image_shape": list(first_images.shape), "image_dtype": str(first_images.dtype),
            "default_batch": len(next(iter(make_loader(many)))[1])}

    @staticmethod
    def chunks(size: int, batch: int) -> list[list[int]]:
        return [list(range(start, min(start + batch, size))) for start in range(0, size, batch)]

    @verdict
    def make_loader_serves_batches_in_order(self, public, secret, outputs):
        """Catches: a wrong default batch size, shuffling by default, or drop_last=True."""
        size, batch = public["size"], public["batch"]
        assert outputs["in_order"] == self.chunks(size, batch), (
            f"make_loader(dataset of {size}, batch_size={batch}) served the labels "
            f"{outputs['in_order']}; expected every sample once, in order, in batches of {batch} "
            "and a short last one")
        assert outputs["image_shape"] == [batch, 1, 28, 28], (
            f"the images of a batch have shape {outputs['image_shape']}, not [{batch}, 1, 28, 28]")
        assert outputs["default_batch"] == 64, (
            f"make_loader's default batch size is {outputs['default_batch']}, not 64")

    @verdict
    def make_loader_limit_keeps_the_first_samples(self, public, secret, outputs):
        """Catches: `limit` keeping the last samples, or a random pick, instead of the first."""
        limit, batch = public["limit"], public["batch"]
        assert outputs["limited"] == self.chunks(limit, batch), (
            f"make_loader(limit={limit}) served {outputs['limited']}; expected the first {limit} "
            "samples in order")

    @verdict
    def make_loader_shuffles_the_same_way_for_the_same_seed(self, public, secret, outputs):
        """Catches: ignoring `shuffle` or `seed`, so the order never or always changes."""
        size = public["size"]
        first, again, other = ([label for labels in served for label in labels]
                               for served in outputs["shuffled"])
        assert sorted(first) == list(range(size)), (
            "make_loader(shuffle=True) lost or repeated samples")
        assert first != list(range(size)), "make_loader(shuffle=True) kept the file order"
        assert first == again, "make_loader(shuffle=True) with the same seed gave another order"
        assert first != other, "make_loader(shuffle=True) gave two seeds the same order"


# ---------------------------------------------------------------- step 3


class Network(Check):
    step = 3

    def prepare(self, rng, context):
        return {"seed": rng.randrange(2**31),
                "sizes": [1, rng.randint(2, 9), rng.randint(10, 40)]}, None

    def act(self, impl, public, context):
        torch.manual_seed(public["seed"])
        model = impl.step(3).DigitClassifier()
        layers = getattr(model, "layers", None)
        facts = {"module": isinstance(model, nn.Module),
                 "sequential": isinstance(layers, nn.Sequential),
                 "conv": isinstance(layers, nn.Module)
                 and any(isinstance(m, nn.Conv2d) for m in layers.modules()),
                 "linear": isinstance(layers, nn.Module)
                 and any(isinstance(m, nn.Linear) for m in layers.modules())}
        model = model.to(context.device).eval()
        with torch.no_grad():
            def run(images):
                return model(images.to(context.device)).float().cpu()

            shapes = [list(run(images_from(public["seed"] + size, size)).shape)
                      for size in public["sizes"]]
            a, b = images_from(public["seed"], 4) - 0.5, images_from(public["seed"] + 1, 4) - 0.5
            affine = [run(x) for x in (a, b, a + b, torch.zeros_like(a))]
        return facts | {"shapes": shapes, "affine": affine}

    @verdict
    def digit_classifier_is_a_module_with_a_sequential_of_conv_and_linear(self, public, secret,
                                                                          outputs):
        """DigitClassifier is an nn.Module whose self.layers, an nn.Sequential, has both layers."""
        assert outputs["module"], "DigitClassifier must be a subclass of nn.Module"
        assert outputs["sequential"], "DigitClassifier needs self.layers = nn.Sequential(...)"
        assert outputs["conv"] and outputs["linear"], (
            "self.layers needs at least one nn.Conv2d and one nn.Linear")

    @verdict
    def forward_gives_ten_raw_logits_per_image(self, public, secret, outputs):
        """Catches: a flatten for one batch size, a wrong last layer, or softmax at the end."""
        for size, shape in zip(public["sizes"], outputs["shapes"]):
            assert shape == [size, 10], (
                f"DigitClassifier on {size} images gave shape {shape}; expected [{size}, 10]")
        scores = outputs["affine"][0]
        assert not looks_like_probabilities(scores) and \
            not looks_like_log_probabilities(scores), (
                "forward returns (log-)probabilities: return the raw logits, since "
                "nn.CrossEntropyLoss applies log_softmax itself")

    @verdict
    def forward_is_not_a_linear_function(self, public, secret, outputs):
        """Catches: no activation (e.g. nn.ReLU) between the layers, so the network is linear."""
        f_a, f_b, f_sum, f_zero = outputs["affine"]
        gap = (f_a + f_b - f_sum - f_zero).abs().max().item()
        size = max(output.abs().max().item() for output in outputs["affine"])
        assert gap > 1e-3 * size, (
            "DigitClassifier is a linear function of its input: add an activation such as "
            "nn.ReLU() after each convolution and hidden linear layer")


# ---------------------------------------------------------------- step 4


class Setup(Check):
    step = 4

    def prepare(self, rng, context):
        generator = seeded(rng)
        count = rng.randint(5, 20)
        return ({"logits": torch.randn(count, 10, generator=generator) * 3,
                 "labels": torch.randint(0, 10, (count,), generator=generator),
                 "lr": round(10 ** rng.uniform(-4, -1.5), 6), "seed": rng.randrange(2**31)},
                {"device": context.device.type})

    def act(self, impl, public, context):
        step3, step4 = impl.step(3), impl.step(4)
        model = step4.build_model(context.device)
        loss_fn = step4.build_loss()
        loss = loss_fn(public["logits"], public["labels"])
        torch.manual_seed(public["seed"])
        net = CornerNet()
        optimizer = step4.build_optimizer(net, lr=public["lr"])
        grads = self.gradients(public["seed"])
        before = {name: p.detach().clone() for name, p in net.named_parameters()}
        for name, p in net.named_parameters():
            p.grad = grads[name].clone()
        optimizer.step()
        covered = {id(p) for group in optimizer.param_groups for p in group["params"]}
        return {
            "model_is_yours": isinstance(model, step3.DigitClassifier),
            "model_devices": sorted({p.device.type for p in model.parameters()}),
            "loss_is_module": isinstance(loss_fn, nn.Module), "loss": number(loss),
            "optimizer": isinstance(optimizer, torch.optim.Optimizer),
            "lrs": [group.get("lr") for group in optimizer.param_groups],
            "default_lrs": [group.get("lr")
                            for group in step4.build_optimizer(CornerNet()).param_groups],
            "covered": sum(id(p) in covered for p in net.parameters()),
            "parameters": len(list(net.parameters())),
            "moves": {name: p.detach() - before[name] for name, p in net.named_parameters()}}

    @staticmethod
    def gradients(seed: int) -> dict[str, torch.Tensor]:
        """The gradient the check gives each parameter of its CornerNet, drawn from `seed`."""
        generator = torch.Generator().manual_seed(seed + 1)
        return {name: torch.randn(p.shape, generator=generator)
                for name, p in CornerNet().named_parameters()}

    @verdict
    def build_model_gives_your_digit_classifier_on_the_device(self, public, secret, outputs):
        """Catches: another model than your step 3 DigitClassifier, or a forgotten .to(device)."""
        assert outputs["model_is_yours"], "build_model must return a DigitClassifier of step 3"
        assert outputs["model_devices"] == [secret["device"]], (
            f"build_model's parameters are on {outputs['model_devices']}: move the model with "
            ".to(device)")

    @verdict
    def build_loss_is_the_mean_cross_entropy_of_raw_logits(self, public, secret, outputs):
        """Catches: NLLLoss on raw logits, a softmax first, or a sum instead of the mean."""
        expected = F.cross_entropy(public["logits"], public["labels"]).item()
        assert outputs["loss_is_module"], "build_loss must return an nn.Module"
        assert outputs["loss"] is not None and math.isclose(outputs["loss"], expected,
                                                            rel_tol=1e-4, abs_tol=1e-5), (
            f"build_loss() gave {outputs['loss']} for logits where the mean cross-entropy is "
            f"{expected:.5f}: use nn.CrossEntropyLoss() on the raw logits")

    @verdict
    def build_optimizer_moves_every_parameter_downhill_at_the_given_rate(self, public, secret,
                                                                          outputs):
        """Catches: an optimizer over some parameters only, or ignoring `lr` and its default."""
        assert outputs["optimizer"], "build_optimizer must return a torch.optim.Optimizer"
        assert outputs["covered"] == outputs["parameters"], (
            f"the optimizer holds {outputs['covered']} of the model's {outputs['parameters']} "
            "parameters: pass model.parameters()")
        assert all(lr == public["lr"] for lr in outputs["lrs"]), (
            f"build_optimizer(model, lr={public['lr']}) has the learning rates {outputs['lrs']}")
        assert all(lr == 1e-3 for lr in outputs["default_lrs"]), (
            f"build_optimizer(model) has the learning rates {outputs['default_lrs']}: the "
            "default is lr=1e-3")
        grads = self.gradients(public["seed"])
        assert set(outputs["moves"]) == set(grads), "the check's model lost a parameter"
        for name, grad in grads.items():
            move = outputs["moves"][name]
            assert move.abs().max().item() > 0 and (move * grad).sum().item() < 0, (
                f"one optimizer step did not move {name} against its gradient")


# ---------------------------------------------------------------- step 5


def training_batch(seed: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(count, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (count,), generator=generator))


def corner_net(seed: int, kind_of_net=CornerNet) -> nn.Module:
    torch.manual_seed(seed)
    return kind_of_net()


def weights_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters()}


class TrainStep(Check):
    step = 5

    def prepare(self, rng, context):
        return {"seed": rng.randrange(2**31), "count": rng.randint(4, 12),
                "lr": round(rng.uniform(0.05, 0.5), 4)}, None

    def act(self, impl, public, context):
        model = corner_net(public["seed"]).to(context.device)
        for p in model.parameters():  # left over from an earlier batch: zero_grad must clear it
            p.grad = torch.full_like(p, 0.5)
        images, labels = training_batch(public["seed"], public["count"])
        optimizer = torch.optim.SGD(model.parameters(), lr=public["lr"])
        loss = impl.step(5).train_step(model, images.to(context.device),
                                       labels.to(context.device), nn.CrossEntropyLoss(),
                                       optimizer)
        return {"loss": number(loss), "loss_kind": kind(loss), "weights": weights_of(model)}

    @staticmethod
    def expected(public):
        model = corner_net(public["seed"])
        images, labels = training_batch(public["seed"], public["count"])
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        start = weights_of(model)
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        return loss.item(), start, grads

    @verdict
    def train_step_returns_the_batch_loss_as_a_float(self, public, secret, outputs):
        """Catches: returning the loss tensor, or the loss of a second pass after step()."""
        loss, _, _ = self.expected(public)
        assert outputs["loss_kind"] == "float", (
            f"train_step returned a {outputs['loss_kind']}; return loss.item(), a Python float")
        assert math.isclose(outputs["loss"], loss, rel_tol=1e-4, abs_tol=1e-5), (
            f"train_step returned {outputs['loss']:.5f}; the batch's loss before the update is "
            f"{loss:.5f}")

    @verdict
    def train_step_makes_one_clean_update(self, public, secret, outputs):
        """Catches: forgetting zero_grad(), backward() or step() in the update."""
        _, start, grads = self.expected(public)
        lr = public["lr"]
        for name, weight in outputs["weights"].items():
            update = weight - start[name]
            if torch.allclose(update, -lr * grads[name], atol=1e-5):
                continue
            if update.abs().max() < 1e-8:
                why = "the parameters did not change: call optimizer.step()"
            elif torch.allclose(update, -lr * (grads[name] + 0.5), atol=1e-5):
                why = "the old gradients were added in: call optimizer.zero_grad() first"
            elif torch.allclose(update, -lr * torch.full_like(update, 0.5), atol=1e-5):
                why = "the update used only old gradients: call loss.backward()"
            else:
                why = "one update should be zero_grad(), forward, loss, backward(), step()"
            raise AssertionError(f"after train_step, {name} is not one SGD step from where it "
                                 f"was: {why}")


class TrainEpoch(Check):
    step = 5

    def prepare(self, rng, context):
        count = rng.randint(17, 40)
        return {"seed": rng.randrange(2**31), "count": count,
                "batch": rng.choice([b for b in range(3, 8) if count % b]),
                "lr": round(rng.uniform(0.01, 0.1), 4), "epochs": rng.randint(2, 3)}, None

    @staticmethod
    def loader(public) -> DataLoader:
        images, labels = training_batch(public["seed"] + 1, public["count"])
        return DataLoader(TensorDigits(images, labels), batch_size=public["batch"])

    def act(self, impl, public, context):
        step5, outputs = impl.step(5), {}
        for name, epochs in (("epoch", None), ("fit", public["epochs"])):
            model = corner_net(public["seed"], ModeShiftNet).to(context.device).eval()
            optimizer = torch.optim.SGD(model.parameters(), lr=public["lr"])
            if epochs is None:
                result = step5.train_epoch(model, self.loader(public), nn.CrossEntropyLoss(),
                                           optimizer, context.device)
                outputs["epoch"] = {"mean": number(result), "kind": kind(result)}
            else:
                result = step5.fit(model, self.loader(public), nn.CrossEntropyLoss(), optimizer,
                                   context.device, epochs=epochs)
                outputs["fit"] = {"kind": kind(result), "losses": [number(x) for x in result]
                                  if isinstance(result, list) else []}
            outputs[name]["weights"] = weights_of(model)
        return outputs

    def simulate(self, public, epochs: int, training=True, per_sample=True):
        """The mean loss of each epoch and the final weights, trained here."""
        model = corner_net(public["seed"], ModeShiftNet).train(training)
        optimizer = torch.optim.SGD(model.parameters(), lr=public["lr"])
        means = []
        for _ in range(epochs):
            total, seen, batch_means = 0.0, 0, []
            for images, labels in self.loader(public):
                optimizer.zero_grad()
                loss = F.cross_entropy(model(images), labels)
                loss.backward()
                optimizer.step()
                total, seen = total + loss.item() * len(labels), seen + len(labels)
                batch_means.append(loss.item())
            means.append(total / seen if per_sample else sum(batch_means) / len(batch_means))
        return means, weights_of(model)

    @verdict
    def train_epoch_trains_in_training_mode_and_averages_per_sample(self, public, secret,
                                                                    outputs):
        """Catches: forgetting model.train(), or a mean of batch losses instead of per sample."""
        got = outputs["epoch"]
        assert got["kind"] == "float", (
            f"train_epoch returned a {got['kind']}; return one Python float")
        (mean,), weights = self.simulate(public, 1)
        if math.isclose(got["mean"], mean, rel_tol=1e-4, abs_tol=1e-5):
            for name, weight in got["weights"].items():
                assert torch.allclose(weight, weights[name], atol=1e-4), (
                    f"after train_epoch, {name} is not where one epoch of updates takes it")
            return
        if math.isclose(got["mean"], self.simulate(public, 1, training=False)[0][0],
                        rel_tol=1e-4):
            why = "the model stayed in eval mode: call model.train() at the start"
        elif math.isclose(got["mean"], self.simulate(public, 1, per_sample=False)[0][0],
                          rel_tol=1e-4):
            why = ("that is the mean of the batch losses; weight each by its batch size, so "
                   "a short last batch counts for what it holds")
        else:
            why = "train with train_step on every batch and average the loss per sample"
        raise AssertionError(f"train_epoch returned {got['mean']:.5f}; one epoch here gives "
                             f"{mean:.5f}: {why}")

    @verdict
    def fit_returns_one_mean_loss_per_epoch(self, public, secret, outputs):
        """Catches: an off-by-one epoch count, or epochs that do not train."""
        epochs = public["epochs"]
        means, _ = self.simulate(public, epochs)
        got = outputs["fit"]["losses"]
        assert outputs["fit"]["kind"] == "list" and len(got) == epochs, (
            f"fit(epochs={epochs}) returned a {outputs['fit']['kind']} of {len(got)} losses; "
            f"expected a list of {epochs}")
        assert all(x is not None and math.isclose(x, m, rel_tol=1e-4, abs_tol=1e-5)
                   for x, m in zip(got, means)), (
            f"fit(epochs={epochs}) returned {got}; training here gives {means}: call "
            "train_epoch once per epoch")


# ---------------------------------------------------------------- step 6


class PredictImage(Check):
    step = 6

    def prepare(self, rng, context):
        seed = rng.randrange(2**31)
        images = images_from(seed, 6)
        predicted, _ = clean_predictions(seed, images)
        labels = labels_some_right(rng, predicted)
        wrong = rng.choice([[rng.randint(2, 5), 28, 28], [28, rng.randint(20, 27)],
                            [rng.randint(2, 4), 1, 28, 28], [784]])
        return {"seed": seed, "labels": labels, "wrong": wrong}, None

    def act(self, impl, public, context):
        step6 = impl.step(6)
        model = tattletale(public["seed"]).to(context.device)
        images = images_from(public["seed"], 6)
        shapes = [(28, 28), (1, 28, 28), (1, 1, 28, 28)]
        answers = []
        for index, image in enumerate(images):
            digit, probability = step6.predict_image(model, image.reshape(shapes[index % 3]),
                                                     context.device)
            answers.append({"digit": number(digit), "digit_kind": kind(digit),
                            "probability": number(probability),
                            "probability_kind": kind(probability)})
        dataset = TensorDigits(images, torch.tensor(public["labels"]))
        checked = [step6.check_single(model, dataset, index, context.device)
                   for index in range(len(images))]
        return {"answers": answers,
                "checked": [{"kinds": [kind(x) for x in result],
                             "values": [number(x) if not isinstance(x, bool) else x
                                        for x in result]} for result in map(tuple, checked)],
                "wrong": raised(lambda: step6.predict_image(model, torch.rand(public["wrong"]),
                                                            context.device))}

    @verdict
    def predict_image_reads_the_digit_and_its_probability(self, public, secret, outputs):
        """Catches: no eval() or no_grad(), the wrong argmax or softmax, tensors not numbers."""
        digits, probabilities = clean_predictions(public["seed"], images_from(public["seed"], 6))
        answers = outputs["answers"]
        assert all(a["digit_kind"] == "int" and a["probability_kind"] == "float"
                   for a in answers), (
            "predict_image should return (int, float): use .item() and int()/float()")
        got = [a["digit"] for a in answers]
        assert got == digits, (f"predict_image read the digits {got}; the model's scores say "
                               f"{digits}{mode_hint(shifted_by(got, digits))}")
        for answer, probability in zip(answers, probabilities):
            assert math.isclose(answer["probability"], probability, abs_tol=1e-5), (
                f"predict_image gave the probability {answer['probability']:.5f}; the softmax "
                f"of the scores gives {probability:.5f} for that digit")

    @verdict
    def predict_image_rejects_another_shape_naming_it(self, public, secret, outputs):
        """Catches: quietly reshaping a wrong shape, or an error that does not name it."""
        shape, wrong = public["wrong"], outputs["wrong"]
        assert wrong.get("raised") == "ValueError", (
            f"predict_image on an image of shape {tuple(shape)} "
            + (f"raised {wrong['raised']}" if wrong else "returned")
            + "; raise ValueError for any shape but (28, 28), (1, 28, 28) and (1, 1, 28, 28)")
        import re

        assert re.search(r"\D+".join(rf"\b{size}\b" for size in shape), wrong["message"]), (
            f"predict_image raised ValueError({wrong['message']!r}); name the shape it got, "
            f"{tuple(shape)}")

    @verdict
    def check_single_compares_the_prediction_with_the_label(self, public, secret, outputs):
        """Catches: ignoring `index`, swapping prediction and label, or a wrong agree flag."""
        digits, _ = clean_predictions(public["seed"], images_from(public["seed"], 6))
        for index, (digit, label) in enumerate(zip(digits, public["labels"])):
            kinds, values = outputs["checked"][index]["kinds"], outputs["checked"][index]["values"]
            assert kinds == ["int", "int", "bool"], (
                f"check_single returned ({', '.join(kinds)}); expected (int, int, bool)")
            assert values == [digit, label, digit == label], (
                f"check_single(dataset, {index}) returned {tuple(values)}; expected "
                f"({digit}, {label}, {digit == label}): (predicted, true, agree)")


# ---------------------------------------------------------------- step 7


class PredictBatch(Check):
    step = 7

    def prepare(self, rng, context):
        seed, count = rng.randrange(2**31), rng.randint(11, 50)
        batch = rng.choice([b for b in range(3, 10) if count % b])  # a short last batch
        predicted, _ = clean_predictions(seed, images_from(seed, count))
        while True:  # labels whose mean of batch accuracies differs from the true accuracy
            labels = labels_some_right(rng, predicted, right=0.6)
            right = [p == t for p, t in zip(predicted, labels)]
            batches = [right[i:i + batch] for i in range(0, count, batch)]
            if abs(sum(right) / count - sum(sum(b) / len(b) for b in batches) / len(batches)) \
                    > 1e-3:
                break
        pairs = [(rng.randint(0, 9), rng.randint(0, 9)) for _ in range(rng.randint(5, 30))]
        return {"seed": seed, "count": count, "batch": batch, "labels": labels,
                "pairs": pairs}, None

    def act(self, impl, public, context):
        step7 = impl.step(7)
        model = tattletale(public["seed"]).to(context.device)
        images, labels = images_from(public["seed"], public["count"]), public["labels"]
        predictions = step7.predict_batch(model, images, context.device)
        predictions_ok = isinstance(predictions, torch.Tensor)
        predicted, truth = (torch.tensor([pair[i] for pair in public["pairs"]]) for i in (0, 1))
        fraction = step7.accuracy(predicted, truth)
        loader = DataLoader(TensorDigits(images, torch.tensor(labels)),
                            batch_size=public["batch"])
        score = step7.evaluate(model, loader, context.device)
        return {"kind": kind(predictions),
                "dtype": str(predictions.dtype) if predictions_ok else "",
                "device": predictions.device.type if predictions_ok else "",
                "predictions": predictions.detach().cpu() if predictions_ok else None,
                "accuracy": number(fraction), "accuracy_kind": kind(fraction),
                "evaluate": number(score), "evaluate_kind": kind(score)}

    @verdict
    def predict_batch_reads_every_image_in_eval_mode(self, public, secret, outputs):
        """Catches: scores instead of labels, argmax over dim 0, no eval(), no_grad() or cpu()."""
        digits, _ = clean_predictions(public["seed"], images_from(public["seed"],
                                                                  public["count"]))
        assert outputs["kind"] == "Tensor" and outputs["dtype"] == "torch.int64", (
            f"predict_batch returned a {outputs['kind']} {outputs['dtype']}; expected an "
            "int64 tensor of labels")
        assert outputs["device"] == "cpu", (
            f"predict_batch's labels are on {outputs['device']}: move them with .cpu()")
        got = outputs["predictions"].tolist()
        assert got == digits, (f"predict_batch read {got}; the model's scores say "
                               f"{digits}{mode_hint(shifted_by(got, digits))}")

    @verdict
    def accuracy_is_the_fraction_that_agree(self, public, secret, outputs):
        """Catches: the number right instead of the fraction, or a tensor instead of a float."""
        pairs = public["pairs"]
        expected = sum(p == t for p, t in pairs) / len(pairs)
        assert outputs["accuracy_kind"] == "float", (
            f"accuracy returned a {outputs['accuracy_kind']}; return a Python float")
        assert math.isclose(outputs["accuracy"], expected, abs_tol=1e-6), (
            f"accuracy gave {outputs['accuracy']} where {expected:.4f} of the predictions agree")

    @verdict
    def evaluate_counts_every_sample(self, public, secret, outputs):
        """Catches: a mean of batch accuracies, which overweights a short last batch."""
        digits, _ = clean_predictions(public["seed"], images_from(public["seed"],
                                                                  public["count"]))
        right = sum(p == t for p, t in zip(digits, public["labels"]))
        expected = right / public["count"]
        assert outputs["evaluate_kind"] == "float" and math.isclose(
            outputs["evaluate"], expected, abs_tol=1e-6), (
                f"evaluate gave {outputs['evaluate']} ({outputs['evaluate_kind']}); "
                f"{right} of {public['count']} samples are right: count correct samples over "
                "all batches, then divide once")


# ---------------------------------------------------------------- step 8


class Plots(Check):
    step = 8

    def prepare(self, rng, context):
        seed = rng.randrange(2**31)
        predicted, _ = clean_predictions(seed, images_from(seed, 9))
        labels = labels_some_right(rng, predicted)
        losses = [round(rng.uniform(0.05, 3.0), 4) for _ in range(rng.randint(3, 7))]
        return {"seed": seed, "labels": labels, "indices": rng.sample(range(9), rng.randint(3, 5)),
                "count": rng.randint(4, 9), "cols": rng.randint(2, 4), "losses": losses,
                "name": f"{rng.randrange(10**6)}.png"}, None

    def act(self, impl, public, context):
        step8 = impl.step(8)
        model = tattletale(public["seed"]).to(context.device)
        dataset = TensorDigits(images_from(public["seed"], 9), torch.tensor(public["labels"]))
        chosen = step8.plot_predictions(model, dataset, context.device,
                                        indices=public["indices"])
        first = step8.plot_predictions(model, dataset, context.device, count=public["count"],
                                       cols=public["cols"])
        curve = step8.plot_losses(public["losses"])
        path = context.folder / "nested" / "folder" / public["name"]
        saved = step8.save_figure(curve, path)
        return {"chosen": panel_facts(chosen), "first": panel_facts(first),
                "curves": [[[float(y) for y in line.get_ydata()] for line in ax.get_lines()]
                           for ax in curve.axes],
                "labels": [[ax.get_xlabel(), ax.get_ylabel()] for ax in curve.axes],
                "saved": str(saved), "path": str(path),
                "head": path.read_bytes()[:8].hex() if path.exists() else ""}

    def expected(self, public, indices):
        digits, _ = clean_predictions(public["seed"], images_from(public["seed"], 9))
        return [(digits[i], public["labels"][i]) for i in indices]

    @verdict
    def plot_predictions_titles_each_digit_with_prediction_and_truth(self, public, secret,
                                                                     outputs):
        """Catches: swapped or missing labels in the titles, or green and red the wrong way."""
        for panels, indices in ((outputs["chosen"], public["indices"]),
                                (outputs["first"], range(public["count"]))):
            expected = self.expected(public, indices)
            assert len(panels) == len(expected), (
                f"plot_predictions drew {len(panels)} axes for {len(expected)} images")
            for panel, (predicted, true) in zip(panels, expected):
                shown = (title_number(panel["title"], "pred"), title_number(panel["title"], "true"))
                assert shown == (predicted, true), (
                    f"a title reads {panel['title']!r}; for that image expected pred: "
                    f"{predicted} and true: {true}")
                colour = "green" if predicted == true else "red"
                assert panel["colour"] == colour, (
                    f"the title {panel['title']!r} is {panel['colour']}; it should be {colour}")

    @verdict
    def plot_predictions_shows_the_asked_for_images_in_a_grid(self, public, secret, outputs):
        """Catches: other images than asked for, ticks left on, or `cols` ignored."""
        images = images_from(public["seed"], 9)
        for panel, index in zip(outputs["chosen"], public["indices"]):
            assert len(panel["images"]) == 1, "call imshow once on each axes"
            shown, image = panel["images"][0].flatten(), images[index].flatten()
            assert shown.numel() == image.numel() and torch.corrcoef(
                torch.stack([shown, image]))[0, 1] > 0.99, (
                    f"an axes does not show image {index} of the dataset: show "
                    "dataset[index]'s image for each index, in order")
            assert not panel["ticks"], "turn the ticks off (ax.set_xticks([]), ax.axis('off'))"
        columns = {panel["x0"] for panel in outputs["first"]}
        expected = min(public["cols"], public["count"])
        assert len(columns) == expected, (
            f"plot_predictions(count={public['count']}, cols={public['cols']}) laid the images "
            f"out in {len(columns)} columns, not {expected}")

    @verdict
    def plot_losses_draws_the_losses_with_labelled_axes(self, public, secret, outputs):
        """Catches: a plot of something else than the losses, or axes without labels."""
        lines = [y for axes in outputs["curves"] for y in axes]
        assert any(len(y) == len(public["losses"]) and all(
            math.isclose(a, b, rel_tol=1e-6) for a, b in zip(y, public["losses"]))
            for y in lines), (f"no line of plot_losses({public['losses']}) has those values")
        assert all(x and y for x, y in outputs["labels"]), (
            "label both axes (set_xlabel, set_ylabel)")

    @verdict
    def save_figure_writes_a_png_and_returns_its_path(self, public, secret, outputs):
        """Catches: not creating the folders, another format, or not returning the path."""
        assert outputs["head"] == PNG_SIGNATURE.hex(), (
            f"save_figure did not write a PNG to {outputs['path']} (create its folders first)")
        assert outputs["saved"] == outputs["path"], (
            f"save_figure returned {outputs['saved']!r}; return the path it wrote")


# ---------------------------------------------------------------- step 9 (bonus)


class YourDigits(Check):
    step = 9
    DIGITS = ("0", "1", "4", "7")

    def prepare(self, rng, context):
        """Digits drawn with a pen at a random place and size of a random page, dark on light
        or light on dark, each also in the other polarity, in L, RGB or RGBA."""
        drawings = []
        for digit in [*rng.sample(self.DIGITS, 3), rng.choice(self.DIGITS)]:
            page = (rng.randint(60, 260), rng.randint(60, 260))
            width, height = rng.randint(20, page[0] - 10), rng.randint(30, page[1] - 10)
            left, top = rng.randint(5, page[0] - width - 5), rng.randint(5, page[1] - height - 5)
            # A pen 1/12 to 1/6 of the digit's size: 2 to 3 pixels once scaled, as in MNIST.
            pen = rng.randint(max(2, max(width, height) // 12), max(3, max(width, height) // 6))
            dark = rng.random() < 0.5
            ink, paper = (rng.randint(0, 60), rng.randint(190, 255))
            if not dark:
                ink, paper = 255 - ink, 255 - paper
            image = draw_digit(digit, page, (left, top, left + width, top + height), pen,
                               ink, paper)
            pixels = torch.tensor(np.asarray(image))
            drawings.append({"pixels": pixels, "mode": rng.choice(["L", "RGB", "RGBA"]),
                             "box": ink_extent(pixels, paper)})
        blank = torch.full((rng.randint(20, 90), rng.randint(20, 90)), rng.randint(0, 255),
                           dtype=torch.uint8)
        return {"drawings": drawings, "blank": blank, "seed": rng.randrange(2**31)}, None

    def act(self, impl, public, context):
        from PIL import Image

        step9 = impl.step(9)
        model = tattletale(public["seed"]).to(context.device)

        def as_image(pixels, mode):
            return Image.fromarray(pixels.numpy()).convert(mode)

        outputs = []
        for drawing in public["drawings"]:
            image = as_image(drawing["pixels"], drawing["mode"])
            inverse = as_image(255 - drawing["pixels"], drawing["mode"])
            prepared, opposite = step9.to_mnist(image), step9.to_mnist(inverse)
            digit, probabilities = step9.read_digit(model, image, context.device)
            outputs.append({"prepared": as_sent(prepared), "opposite": as_sent(opposite),
                            "digit": digit if isinstance(digit, int) else kind(digit),
                            "probabilities": [number(p) for p in probabilities]
                            if isinstance(probabilities, list) else kind(probabilities)})
        return {"drawings": outputs,
                "blank": raised(lambda: step9.to_mnist(Image.fromarray(public["blank"].numpy())))}

    @staticmethod
    def images(outputs, key):
        for index, drawing in enumerate(outputs["drawings"]):
            image = drawing[key]
            assert isinstance(image, torch.Tensor), (
                f"to_mnist returned a {image} for drawing {index}; return a tensor")
            assert tuple(image.shape) == (1, 1, 28, 28) and image.dtype == torch.float32, (
                f"to_mnist returned a {image.dtype} tensor of shape {tuple(image.shape)}; "
                "expected float32 (1, 1, 28, 28)")
            yield index, image

    @verdict
    def to_mnist_makes_light_ink_on_black_normalised(self, public, secret, outputs):
        """Catches: no inversion of dark ink on a light page, or the normalisation forgotten."""
        for index, image in self.images(outputs, "prepared"):
            background = float(image.flatten().median())
            assert abs(background - BACKGROUND) < 0.05, (
                f"to_mnist's image {index} has a background of {background:.4f}; black after "
                f"step 2's normalisation is {BACKGROUND:.4f}: ink light on black (invert a "
                "light page), then step 2's transform")

    @verdict
    def to_mnist_gives_the_same_image_for_either_polarity(self, public, secret, outputs):
        """Catches: inverting always, or never: the same digit dark on light and light on dark
        must come out the same."""
        for (index, image), (_, opposite) in zip(self.images(outputs, "prepared"),
                                                 self.images(outputs, "opposite")):
            alike = correlation(image, opposite)
            assert alike > 0.98, (
                f"drawing {index} and its negative come out different from to_mnist "
                f"(correlation {alike:.3f}): both should be light ink on black")

    @verdict
    def to_mnist_scales_the_ink_to_20_pixels_keeping_its_shape(self, public, secret, outputs):
        """Catches: the longer side scaled to 28, no crop, or the aspect ratio not kept."""
        for (index, image), drawing in zip(self.images(outputs, "prepared"),
                                           public["drawings"]):
            height, width = ink_box(image)
            drawn_height, drawn_width = drawing["box"]
            scale = 20 / max(drawn_height, drawn_width)
            expected = (drawn_height * scale, drawn_width * scale)
            assert abs(max(height, width) - 20) <= 1, (
                f"to_mnist's image {index}: the ink is {height} pixels tall and {width} wide; "
                "its longer side should be 20 (crop to the ink, then scale)")
            assert all(abs(got - want) <= 2.5 for got, want in zip((height, width), expected)), (
                f"to_mnist's image {index}: the ink is {height} x {width} pixels; drawn "
                f"{drawn_height} x {drawn_width}, it should be about {expected[0]:.0f} x "
                f"{expected[1]:.0f}: scale both sides by the same factor")

    @verdict
    def to_mnist_centres_the_inks_centre_of_mass(self, public, secret, outputs):
        """Catches: centring the ink's box instead of its centre of mass, or not centring."""
        for index, image in self.images(outputs, "prepared"):
            row, col = centre_of_mass(image)
            assert abs(row - MNIST_CENTRE) <= 1 and abs(col - MNIST_CENTRE) <= 1, (
                f"to_mnist's image {index}: the ink's centre of mass landed at row {row:.1f}, "
                f"column {col:.1f}; it should be within a pixel of ({MNIST_CENTRE:.0f}, "
                f"{MNIST_CENTRE:.0f})")

    @verdict
    def to_mnist_refuses_an_image_without_ink(self, public, secret, outputs):
        """Catches: a digit made out of an empty page."""
        blank = outputs["blank"]
        assert blank.get("raised") == "ValueError", (
            "to_mnist on a page of one flat shade " + (f"raised {blank['raised']}" if blank
                                                      else "returned an image")
            + "; it should raise ValueError: there is no ink")

    @verdict
    def read_digit_gives_the_softmax_of_the_prepared_image(self, public, secret, outputs):
        """Catches: read_digit without eval() or no_grad(), or log-probabilities, or raw
        scores."""
        model = tattletale(public["seed"])
        for (index, image), drawing in zip(self.images(outputs, "prepared"),
                                           outputs["drawings"]):
            with torch.no_grad():
                expected = model.clean_logits(image).softmax(dim=1)[0]
            digit, probabilities = drawing["digit"], drawing["probabilities"]
            assert isinstance(probabilities, list) and len(probabilities) == 10 and None not \
                in probabilities, (f"read_digit returned {probabilities} for the "
                                   "probabilities; expected a list of ten floats")
            got = torch.tensor(probabilities)
            assert abs(got.sum().item() - 1) < 1e-3 and got.min() >= 0, (
                f"read_digit's probabilities add up to {got.sum().item():.4f}: use softmax "
                "(not log_softmax, not the raw scores)")
            best = int(expected.argmax())
            assert digit == best and torch.allclose(got, expected, atol=1e-3), (
                f"read_digit read {digit} in drawing {index}; the model reads {best} in your "
                f"to_mnist's image{mode_hint(shifted_by([digit], [best]))}")


# ---------------------------------------------------------------- the capstone


class Capstone(Check):
    step = "capstone"
    needs_mnist = True
    SAMPLES = 12

    def prepare(self, rng, context):
        root, labels = write_held_out(context.mnist_root, context.folder / "mnist", rng)
        return {"root": str(root), "seed": context.seed}, {"labels": labels}

    def act(self, impl, public, context):
        step2, step4, step6, step7, step8 = (impl.step(n) for n in (2, 4, 6, 7, 8))
        model, losses = train(impl.name, public["root"], context.device, SETTING,
                              seed=public["seed"])
        # Which optimizer the pipeline trained with: when it learns too little, the board
        # can tell a learning rate too slow for one epoch from other causes.
        optimizer = step4.build_optimizer(step4.build_model(context.device))
        settings = optimizer.param_groups[0]
        test_set = step2.load_mnist(public["root"], train=False)
        predictions = torch.cat([step7.predict_batch(model, images, context.device)
                                 for images, _ in step2.make_loader(test_set, batch_size=1000)])
        first = torch.stack([test_set[i][0] for i in range(self.SAMPLES)])
        figure = step8.plot_predictions(model, test_set, context.device, count=6)
        return {"losses": [number(x) for x in losses], "predictions": predictions,
                "batch": step7.predict_batch(model, first, context.device).tolist(),
                "single": [number(step6.check_single(model, test_set, i, context.device)[0])
                           for i in range(self.SAMPLES)],
                "titles": [panel["title"] for panel in panel_facts(figure)],
                "optimizer": [type(optimizer).__name__, number(settings.get("lr")),
                              number(settings.get("momentum", 0))]}

    @verdict
    def one_epoch_reaches_the_accuracy_threshold(self, public, secret, outputs):
        """Catches: a pipeline that runs but does not learn (a bug that no single step shows)."""
        labels = torch.tensor(secret["labels"])
        predictions = outputs["predictions"]
        assert tuple(predictions.shape) == tuple(labels.shape), (
            f"the pipeline predicted {tuple(predictions.shape)} labels for {len(labels)} "
            "test images")
        accuracy = (predictions == labels).float().mean().item()
        observe(accuracy=accuracy, losses=outputs["losses"], optimizer=outputs.get("optimizer"))
        assert accuracy >= SETTING.min_accuracy, (
            f"after one epoch on {SETTING.train_limit:,} training images your network gets "
            f"{accuracy:.2%} of the held-out test images right; at least "
            f"{SETTING.min_accuracy:.0%} is expected. All step tests pass? Then look at how the "
            "steps fit together: the transform of step 2, the learning rate of step 4, the "
            f"loop of step 5. Mean training loss: {outputs['losses']}")
        return [("accuracy", accuracy, SETTING.min_accuracy)]

    @verdict
    def training_loss_is_a_finite_number(self, public, secret, outputs):
        """Catches: a loss that becomes nan or inf on real data (a learning rate far too high)."""
        losses = outputs["losses"]
        assert len(losses) == 1 and all(x is not None and math.isfinite(x) for x in losses), (
            f"fit returned {losses} for one epoch: expected one finite mean loss")

    @verdict
    def single_predictions_agree_with_batch_predictions(self, public, secret, outputs):
        """Step 6 on one image and step 7 on a batch give the same digits for the trained model."""
        assert outputs["single"] == outputs["batch"], (
            f"check_single predicted {outputs['single']} but predict_batch predicted "
            f"{outputs['batch']} for the same first test images: both must run the model the "
            "same way (eval mode, no gradients)")

    @verdict
    def prediction_plot_shows_the_trained_models_answers(self, public, secret, outputs):
        """The step 8 figure of the trained model titles each digit with its prediction."""
        shown = [title_number(title, "pred") for title in outputs["titles"]]
        assert shown == outputs["batch"][:6], (
            f"the titles show the predictions {shown}, but the trained model predicts "
            f"{outputs['batch'][:6]}")


CHECKS = (Device(), Seeding(), Versions(), Transform(), LoadMnist(), MakeLoader(), Network(),
          Setup(), TrainStep(), TrainEpoch(), PredictImage(), PredictBatch(), Plots(),
          YourDigits(), Capstone())


def graders_check_test_for(step):
    """The `test_graders_check` of one step's test file."""
    return graders_check_test(CHECKS, step)
