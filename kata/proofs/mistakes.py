"""The catalogue of learner mistakes that `make mutants` plants, one at a time, in a copy of
solutions/ to prove that the tests catch each of them.

Every mistake is a small edit of one step module: the text to find, what to put instead, and
which occurrence to change (the first, unless said otherwise; ALL changes every one). Edits
look for short, stable pieces of code (`return self.layers(x)`, `nn.ReLU()`) so that they
still apply when the reference is rewritten; when one no longer does, `make mutants` reports
it as "does not apply" instead of counting it as caught.

Sources: the mistakes named in the core issue and in the tests' "Catches:" lines, and
questions that come back again and again on the PyTorch forums and in tutorial issues
(softmax before CrossEntropyLoss, a forgotten model.eval() or zero_grad(), torch.max's
(values, indices) tuple, float labels for CrossEntropyLoss, view(-1) that flattens the batch,
summing loss tensors instead of loss.item(), Normalize with 0.5 or without ToTensor first).
"""

from dataclasses import dataclass

ALL = 0  # Edit.occurrence: change every occurrence


@dataclass(frozen=True)
class Edit:
    old: str
    new: str
    occurrence: int = 1  # 1 = the first match, 2 = the second, ...; ALL = every match


@dataclass(frozen=True)
class Mistake:
    name: str
    step: int
    description: str
    edits: tuple[Edit, ...]
    capstone: bool = False  # only training on the real MNIST can show it


class DoesNotApply(ValueError):
    """A mistake's edit found nothing to change: the reference has moved on."""


def apply_edits(source: str, edits: tuple[Edit, ...]) -> str:
    """`source` with every edit made; raises DoesNotApply when an edit's text is missing."""
    for edit in edits:
        found = source.count(edit.old)
        if found < max(edit.occurrence, 1):
            where = "" if edit.occurrence in (ALL, 1) else f" (occurrence {edit.occurrence})"
            raise DoesNotApply(f"found {found} time(s){where}: {edit.old!r}")
        if edit.occurrence == ALL:
            source = source.replace(edit.old, edit.new)
        else:
            before, _, after = source.partition(edit.old)
            for _ in range(edit.occurrence - 1):
                head, _, after = after.partition(edit.old)
                before += edit.old + head
            source = before + edit.new + after
    return source


def mistake(step: int, name: str, description: str, *edits: tuple, capstone: bool = False):
    """A Mistake from plain tuples: (old, new) or (old, new, occurrence)."""
    return Mistake(name, step, description, tuple(Edit(*edit) for edit in edits), capstone)


MISTAKES = (
    # ---------------------------------------------------------------- step 1
    mistake(1, "auto-prefers-mps", "'auto' asks for mps before cuda",
            ('if torch.cuda.is_available():\n            return torch.device("cuda")\n'
             '        if torch.backends.mps.is_available():\n'
             '            return torch.device("mps")',
             'if torch.backends.mps.is_available():\n            return torch.device("mps")\n'
             '        if torch.cuda.is_available():\n'
             '            return torch.device("cuda")')),
    mistake(1, "unknown-device-falls-back", "an unknown device name quietly gives the cpu",
            ('raise ValueError(f"unknown device {preferred!r}: use auto, cpu, cuda or mps") '
             'from error', 'return torch.device("cpu")')),
    mistake(1, "unavailable-device-accepted", "returns a device the machine does not have",
            ("if not _is_available(device):", "if False:")),
    mistake(1, "auto-never-looks", "get_device('auto') returns the cpu without asking for a GPU",
            ('        if torch.cuda.is_available():\n'
             '            return torch.device("cuda")\n', ""),
            ('        if torch.backends.mps.is_available():\n'
             '            return torch.device("mps")\n', "")),
    mistake(1, "seed-python-only", "set_seed seeds random but not torch",
            ("    torch.manual_seed(seed)\n", "")),
    mistake(1, "seed-torch-only", "set_seed seeds torch but not Python's random",
            ("    random.seed(seed)\n", "")),
    mistake(1, "seed-ignored", "set_seed always seeds 0, whatever it is given",
            ("random.seed(seed)", "random.seed(0)"),
            ("torch.manual_seed(seed)", "torch.manual_seed(0)")),
    mistake(1, "wrong-version", "reports torch's version for torchvision",
            ('"torchvision": torchvision.__version__', '"torchvision": torch.__version__')),
    mistake(1, "version-missing", "library_versions leaves out matplotlib",
            ('        "matplotlib": matplotlib.__version__,\n', "")),
    # ---------------------------------------------------------------- step 2
    mistake(2, "no-normalize", "ToTensor() alone, no Normalize (the tutorial's transform)",
            ("transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),", "")),
    mistake(2, "normalize-half", "Normalize((0.5,), (0.5,)), copied from a CIFAR tutorial",
            ("transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))",
             "transforms.Normalize((0.5,), (0.5,))")),
    mistake(2, "mean-std-swapped", "Normalize with the std first and the mean second",
            ("transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))",
             "transforms.Normalize((MNIST_STD,), (MNIST_MEAN,))")),
    mistake(2, "normalize-other", "Normalize with MNIST's mean but a std from elsewhere (0.5)",
            ("transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))",
             "transforms.Normalize((MNIST_MEAN,), (0.5,))")),
    mistake(2, "no-scaling", "PILToTensor keeps pixels 0..255; Normalize as if they were 0..1",
            ("transforms.ToTensor(),",
             "transforms.PILToTensor(),\n"
             "            transforms.Lambda(lambda image: image.float()),")),
    mistake(2, "normalize-before-totensor", "Normalize before ToTensor, so it gets a PIL image",
            ("            transforms.ToTensor(),\n", ""),
            ("(MNIST_STD,)),\n", "(MNIST_STD,)),\n            transforms.ToTensor(),\n")),
    mistake(2, "train-ignored", "load_mnist always loads the training set",
            ("train=train", "train=True")),
    mistake(2, "no-transform", "the dataset without transform=, so items are PIL images",
            (", transform=build_transform()", "")),
    mistake(2, "raw-runtime-error", "missing files raise torchvision's bare RuntimeError",
            ("except RuntimeError as error:", "except FileNotFoundError as error:")),
    mistake(2, "drop-last", "drop_last=True, so the short last batch is lost",
            ("generator=generator)", "generator=generator, drop_last=True)")),
    mistake(2, "shuffle-always", "shuffle=True for every loader, the test loader too",
            ("shuffle=shuffle", "shuffle=True")),
    mistake(2, "shuffle-ignored", "the DataLoader never shuffles (shuffle=False)",
            ("shuffle=shuffle", "shuffle=False")),
    mistake(2, "limit-unchecked", "range(limit) without min(), so a large limit asks for "
            "samples that are not there",
            ("range(min(limit, len(dataset)))", "range(limit)")),
    mistake(2, "unseeded-generator", "a torch.Generator() that is never seeded",
            ("torch.Generator().manual_seed(seed)", "torch.Generator()")),
    mistake(2, "batch-32", "a default batch size of 32",
            ("batch_size: int = 64", "batch_size: int = 32")),
    # ---------------------------------------------------------------- step 3
    mistake(3, "no-super-init", "__init__ without super().__init__()",
            ("        super().__init__()\n", "")),
    mistake(3, "forward-without-return", "forward runs the layers but returns nothing",
            ("return self.layers(x)", "self.layers(x)")),
    mistake(3, "softmax-in-forward", "softmax at the end of forward, before CrossEntropyLoss",
            ("return self.layers(x)", "return self.layers(x).softmax(dim=1)")),
    mistake(3, "log-softmax-in-forward", "log_softmax at the end of forward",
            ("return self.layers(x)", "return self.layers(x).log_softmax(dim=1)")),
    mistake(3, "flatten-the-batch", "a flatten that folds the batch in too, like x.view(-1)",
            ("nn.Flatten()", "nn.Flatten(0)")),
    mistake(3, "linear-network", "no activation and average pooling: the network is linear",
            ("nn.ReLU()", "nn.Identity()", ALL), ("nn.MaxPool2d(", "nn.AvgPool2d(", ALL)),
    mistake(3, "layer-made-in-forward", "a layer created inside forward, new and untrained on "
            "every call",
            ("return self.layers(x)", "return nn.Linear(10, 10)(self.layers(x))")),
    mistake(3, "detached-output", "forward returns .detach()ed logits, cutting the graph",
            ("return self.layers(x)", "return self.layers(x).detach()")),
    # ---------------------------------------------------------------- step 4
    mistake(4, "model-not-moved", "build_model forgets .to(device)",
            ("DigitClassifier().to(device)", "DigitClassifier()")),
    mistake(4, "nll-on-logits", "NLLLoss on raw logits",
            ("nn.CrossEntropyLoss()", "nn.NLLLoss()")),
    mistake(4, "loss-sum", "reduction='sum', so the loss grows with the batch",
            ("nn.CrossEntropyLoss()", 'nn.CrossEntropyLoss(reduction="sum")')),
    mistake(4, "loss-per-image", "reduction='none', so the loss is one value per image",
            ("nn.CrossEntropyLoss()", 'nn.CrossEntropyLoss(reduction="none")')),
    mistake(4, "first-layer-only", "the optimizer over the first layer's parameters only",
            ("model.parameters()", "model.layers[0].parameters()")),
    mistake(4, "parameters-not-called", "the optimizer given the method model.parameters, "
            "not the parameters it returns", ("model.parameters()", "model.parameters")),
    mistake(4, "another-model", "the optimizer over a new network's parameters, not the model's",
            ("Adam(model.parameters()", "Adam(DigitClassifier().parameters()")),
    mistake(4, "lr-ignored", "the optimizer ignores lr (a hard-coded 1e-3)",
            ("lr=lr)", "lr=1e-3)")),
    mistake(4, "default-lr", "a default learning rate of 0.01",
            ("lr: float = 1e-3", "lr: float = 1e-2")),
    mistake(4, "plain-sgd", "plain SGD at lr 1e-3: correct, but far too slow for one epoch",
            ("torch.optim.Adam(", "torch.optim.SGD("), capstone=True),
    # ---------------------------------------------------------------- step 5
    mistake(5, "no-zero-grad", "forgets optimizer.zero_grad()",
            ("optimizer.zero_grad()", "")),
    mistake(5, "zero-grad-once", "optimizer.zero_grad() once per epoch, outside the loop",
            ("optimizer.zero_grad()", ""),
            ("    for images, labels in loader:",
             "    optimizer.zero_grad()\n    for images, labels in loader:")),
    mistake(5, "no-backward", "forgets loss.backward()",
            ("loss.backward()", "")),
    mistake(5, "no-step", "forgets optimizer.step()",
            ("optimizer.step()", "")),
    mistake(5, "step-before-backward", "optimizer.step() before loss.backward()",
            ("    loss.backward()\n    optimizer.step()\n",
             "    optimizer.step()\n    loss.backward()\n")),
    mistake(5, "zero-grad-after-backward", "zero_grad() between backward() and step()",
            ("optimizer.zero_grad()", ""),
            ("loss.backward()\n", "loss.backward()\n    optimizer.zero_grad()\n")),
    mistake(5, "returns-loss-tensor", "returns the loss tensor instead of loss.item()",
            ("return loss.item()", "return loss")),
    mistake(5, "item-not-called", "returns loss.item, the method, instead of calling it",
            ("return loss.item()", "return loss.item")),
    mistake(5, "float-labels", "labels.float() for CrossEntropyLoss",
            ("loss_fn(model(images), labels)", "loss_fn(model(images), labels.float())")),
    mistake(5, "no-train-mode", "train_epoch forgets model.train()",
            ("model.train()", "")),
    mistake(5, "batch-not-moved", "the batches are never moved to the device",
            ("images, labels = images.to(device), labels.to(device)", "")),
    mistake(5, "to-not-kept", "images.to(device) called, but its result thrown away",
            ("images, labels = images.to(device), labels.to(device)",
             "images.to(device), labels.to(device)")),
    mistake(5, "mean-of-batch-losses", "the epoch loss is the mean of the batch losses",
            ("batch_loss * len(labels)", "batch_loss"), ("sample_count += len(labels)",
                                                         "sample_count += 1")),
    mistake(5, "loss-divided-by-batches", "train_epoch divides the summed loss by the batches",
            ("return total_loss / sample_count", "return total_loss / len(loader)")),
    mistake(5, "last-epoch-only", "fit returns only the last epoch's loss",
            ("losses.append(train_epoch(", "losses = [train_epoch("),
            ("optimizer, device))", "optimizer, device)]")),
    mistake(5, "epochs-off-by-one", "range(1, epochs) trains one epoch too few",
            ("range(1, epochs + 1)", "range(1, epochs)")),
    mistake(5, "progress-inverted", "disable=progress: the bar shows when it should not",
            ("disable=not progress", "disable=progress")),
    mistake(5, "progress-never", "the progress bar never shows (disable=True)",
            ("disable=not progress", "disable=True")),
    # ---------------------------------------------------------------- step 6
    mistake(6, "no-eval", "predict_image forgets model.eval()",
            ("model.eval()", "")),
    # A learner drops the `with` and dedents; enable_grad() does the same in a one-line edit.
    mistake(6, "no-no-grad", "predict_image runs without torch.no_grad()",
            ("with torch.no_grad():", "with torch.enable_grad():")),
    mistake(6, "argmax-dim-0", "the best digit taken over dim 0, the batch",
            (".max(dim=1)", ".max(dim=0)")),
    mistake(6, "raw-logit", "returns the largest raw logit instead of its softmax probability",
            ("torch.softmax(logits, dim=1).max(dim=1)", "logits.max(dim=1)")),
    mistake(6, "not-softmax", "returns a sigmoid of the largest logit, in [0, 1] but not the "
            "softmax's probability",
            ("torch.softmax(logits, dim=1).max(dim=1)", "torch.sigmoid(logits).max(dim=1)")),
    mistake(6, "no-shape-check", "any shape is reshaped quietly, 784 pixels or a batch of 2",
            ("if tuple(image.shape) not in IMAGE_SHAPES:", "if False:")),
    mistake(6, "image-not-moved", "the image is never moved to the model's device",
            (".to(device))", ")")),
    mistake(6, "no-batch-dimension", "the image handed to the model without the batch "
            "dimension", ("image.reshape(1, 1, 28, 28).to(device)", "image.to(device)")),
    mistake(6, "check-single-swapped", "check_single returns the true label first",
            ("return predicted, int(label),", "return int(label), predicted,")),
    mistake(6, "agree-inverted", "check_single's agree is True where they differ",
            ("predicted == int(label)", "predicted != int(label)")),
    mistake(6, "tensor-label", "check_single returns the label as the dataset gave it",
            ("return predicted, int(label), predicted == int(label)",
             "return predicted, label, predicted == label")),
    mistake(6, "agree-tensor", "check_single compares the prediction with the tensor label",
            ("predicted == int(label)", "predicted == label")),
    # ---------------------------------------------------------------- step 7
    mistake(7, "batch-no-eval", "predict_batch forgets model.eval()",
            ("model.eval()", "")),
    mistake(7, "batch-no-no-grad", "predict_batch runs without torch.no_grad()",
            ("with torch.no_grad():", "with torch.enable_grad():")),
    mistake(7, "batch-argmax-dim-0", "argmax over dim 0, the batch",
            ("argmax(dim=1)", "argmax(dim=0)")),
    mistake(7, "max-values", "torch.max(logits, 1)[0]: the best scores, not the digits",
            ("logits.argmax(dim=1)", "torch.max(logits, 1)[0]")),
    mistake(7, "labels-as-list", "predict_batch returns the labels as a Python list",
            ("return logits.argmax(dim=1).cpu()", "return logits.argmax(dim=1).cpu().tolist()")),
    mistake(7, "no-cpu", "predict_batch leaves the labels on the GPU",
            (".cpu()  # dim 1", "  # dim 1")),
    mistake(7, "images-not-moved", "predict_batch never moves the images to the device",
            ("model(images.to(device))", "model(images)")),
    mistake(7, "accuracy-count", "accuracy returns how many agree, not the fraction",
            (".float().mean().item()", ".sum().item()")),
    mistake(7, "accuracy-percent", "accuracy returns a percentage, not the fraction",
            (".float().mean().item()", ".float().mean().item() * 100")),
    mistake(7, "accuracy-tensor", "accuracy returns a tensor",
            (".float().mean().item()", ".float().mean()")),
    mistake(7, "mean-of-batch-accuracies", "evaluate averages the batch accuracies",
            ("== labels).sum().item()", "== labels).float().mean().item()"),
            ("total += len(labels)", "total += 1")),
    mistake(7, "batches-counted", "evaluate divides the correct predictions by the batches",
            ("total += len(labels)", "total += 1")),
    mistake(7, "evaluate-in-train-mode", "evaluate calls the model itself, in training mode",
            ("(predict_batch(model, images, device) ==",
             "(model(images.to(device)).argmax(dim=1) ==")),
    # ---------------------------------------------------------------- step 8
    mistake(8, "imshow-channel", "imshow given the image (1, 28, 28) with its channel",
            ("ax.imshow(image.squeeze(0).numpy(),", "ax.imshow(image,")),
    mistake(8, "title-true-only", "titles show only the true label",
            ('f"pred: {predicted}\\ntrue: {true}"', 'f"true: {true}"')),
    mistake(8, "title-swapped", "prediction and true label swapped in the title",
            ('f"pred: {predicted}\\ntrue: {true}"', 'f"pred: {true}\\ntrue: {predicted}"')),
    mistake(8, "title-pred-only", "the titles show the prediction only",
            ("pred: {predicted}\\ntrue: {true}", "pred: {predicted}")),
    mistake(8, "titles-one-colour", "every title in the default colour",
            (", color=colour, fontsize=10)", ", fontsize=10)")),
    mistake(8, "colours-swapped", "red when right, green when wrong",
            ('"green" if predicted == true else "red"', '"red" if predicted == true else "green"')),
    mistake(8, "no-gray", "imshow without cmap='gray'",
            (', cmap="gray"', "")),
    mistake(8, "ticks-left-on", "the ticks are left around every digit",
            ("ax.set_xticks([])", ""), ("ax.set_yticks([])", "")),
    mistake(8, "cols-ignored", "the grid always has 6 columns",
            ("cols = min(cols, len(indices))", "cols = min(6, len(indices))")),
    mistake(8, "empty-cells-left", "the empty cells of the last row stay in the figure",
            ("ax.remove()", "pass")),
    mistake(8, "plot-in-train-mode", "plot_predictions calls the model in training mode",
            ("predict_batch(model, images, device).tolist()",
             "model(images.to(device)).argmax(dim=1).tolist()")),
    mistake(8, "plt-savefig", "plt.savefig saves the newest figure, not the one given",
            ("fig.savefig(path", "plt.savefig(path")),
    mistake(8, "no-parent-folders", "save_figure does not create the missing folders",
            ("path.parent.mkdir(parents=True, exist_ok=True)", "")),
    mistake(8, "no-axis-labels", "the loss plot has no axis labels",
            ('ax.set_xlabel("epoch")', ""), ('ax.set_ylabel("mean training loss")', "")),
    mistake(8, "one-axis-label", "the loss plot labels its x axis only",
            ('ax.set_ylabel("mean training loss")', "")),
    # ---------------------------------------------------------------- step 9 (bonus)
    mistake(9, "no-inversion", "dark ink on a light page is not inverted (nor its page "
            "subtracted): the page becomes the digit",
            ("    if background > 0.5:\n        pixels, background = 1 - pixels, 1 - background\n",
             ""),
            ("pixels = np.clip(pixels - background, 0, 1)", "pixels = pixels")),
    mistake(9, "always-inverted", "every image is inverted, light ink on black too",
            ("if background > 0.5:", "if True:")),
    mistake(9, "page-kept-grey", "a grey page stays grey: the background is not subtracted",
            ("pixels = np.clip(pixels - background, 0, 1)", "pixels = np.clip(pixels, 0, 1)")),
    mistake(9, "no-crop", "the whole page is scaled, not the ink cropped from it",
            ("ink = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]", "ink = pixels")),
    mistake(9, "longer-side-28", "the longer side scaled to 28 pixels instead of 20",
            ("INK_BOX = 20", "INK_BOX = 28")),
    mistake(9, "aspect-not-kept", "the ink stretched into a 20x20 square",
            ("size = (max(1, round(width * scale)), max(1, round(height * scale)))",
             "size = (INK_BOX, INK_BOX)")),
    mistake(9, "box-centred", "the ink's bounding box centred instead of its centre of mass",
            ("centre_y, centre_x = (ys * ink).sum() / ink.sum(), (xs * ink).sum() / ink.sum()",
             "centre_y, centre_x = (ink.shape[0] - 1) / 2, (ink.shape[1] - 1) / 2")),
    mistake(9, "not-normalised", "step 2's normalisation forgotten: pixels left in 0..1",
            ("build_transform()(eight_bit).unsqueeze(0)",
             "torch.from_numpy(np.asarray(eight_bit, dtype=np.float32) / 255)[None, None]")),
    mistake(9, "blank-accepted", "an empty page is made into a digit (no ValueError)",
            ("    if pixels.max() < INK_LEVEL:\n", "    if pixels.max() < 0:\n")),
    mistake(9, "read-no-eval", "read_digit forgets model.eval()",
            ("    model.eval()\n", "")),
    mistake(9, "read-no-no-grad", "read_digit runs the model with gradients on",
            ("with torch.no_grad():", "with torch.enable_grad():")),
    mistake(9, "read-log-probabilities", "read_digit returns log-probabilities",
            ("torch.softmax(logits, dim=1)", "torch.log_softmax(logits, dim=1)")),
)
