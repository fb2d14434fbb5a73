"""Which mistake the learner made: one catalogue, read by the board, the notebook and `make
mutants`.

A failing test tells us *that* something is wrong; what it observed tells us *which* of the
mistakes it catches this is. Tests record what they saw with kata.testing.observe (a black
pixel's value, the loss on a batch twice as large); a crash is recorded for them (its type,
message and the learner's function it came from). A diagnosis here names one mistake (the same
name as the mutant in kata/proofs/mistakes.py that plants it), the tests whose failure can
show it, the evidence that identifies it, and what to tell the learner about their code.

How to add a mistake: add its mutant to kata/proofs/mistakes.py, make the test that catches
it observe() what it saw if it does not yet, and add one `diagnosis(...)` line below with the
same name: the step, the name, the test(s), the words (a str.format template over the
evidence) and `when`, a test of the evidence that is true for that mistake only. `make
mutants` then proves that the board names it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from kata.steps import CAPSTONE


@dataclass(frozen=True)
class Diagnosis:
    step: int | str
    name: str  # the mutant's name in kata/proofs/mistakes.py
    tests: tuple[str, ...]  # test functions (without parameters) whose failure can show it
    words: str  # about the learner's code, formatted with the evidence
    # Whether the evidence shows this mistake; by default, the test failed an assertion
    # (a crash in it says something else is wrong).
    when: Callable[[dict], bool] = field(default=lambda facts: "crash" not in facts)
    # Mutants that no test can tell from this one (the same behaviour written otherwise).
    also: tuple[str, ...] = ()

    @property
    def names(self) -> str:
        return "/".join((self.name, *self.also))

    def matches(self, test: str, facts: dict) -> bool:
        """`test`: the test's name with its parameters, test_x[param]; a diagnosis names
        either test_x (every parameter), one test_x[param] (a grader's check), or a family,
        test_x_* (every test a crash in one shared function of the learner can fail)."""
        name = test.split("[")[0]
        named = test in self.tests or name in self.tests or any(
            "*" in pattern and fnmatchcase(name, pattern) for pattern in self.tests)
        try:
            return named and bool(self.when(facts))
        except (KeyError, TypeError, ValueError, IndexError):  # evidence of another kind
            return False

    def explain(self, facts: dict) -> str:
        return self.words.format(**facts)

    def explains(self, facts: dict) -> bool:
        """Whether the words can be written from these facts (a graded run's observations
        come from the learner's process: a value of the wrong kind names nothing)."""
        try:
            self.explain(facts)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return False
        return True


def diagnosis(step, name: str, tests, words: str, when=None, also=()) -> Diagnosis:
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    return Diagnosis(step, name, tests, words,
                     when or (lambda facts: "crash" not in facts), tuple(also))


def near(value, target: float, tolerance: float = 1e-3) -> bool:
    return value is not None and abs(float(value) - target) <= tolerance


def returned_the_logit(facts: dict) -> bool:
    """Evidence of step 6: predict_image's probability is the largest raw logit."""
    return near(facts["probability"], facts["largest_logit"], 1e-5)


def crashed(text: str, kind: str | None = None) -> Callable[[dict], bool]:
    """Evidence test: the test crashed (with `kind`), the message holding `text`."""
    return lambda facts: (text in facts.get("crash_message", "")
                          and (kind is None or facts.get("crash") == kind))


# MNIST's pixel statistics, written out as the tests do.
MEAN, STD = 0.1307, 0.3081

CATALOGUE: tuple[Diagnosis, ...] = (
    # ---------------------------------------------------------------- step 1
    diagnosis(1, "auto-prefers-mps", "test_get_device_auto_prefers_cuda_then_mps",
              "get_device('auto') asks for mps before cuda: check torch.cuda.is_available() "
              "first, then torch.backends.mps.is_available(), then fall back to the cpu",
              lambda facts: facts["returned"] == "mps" and facts["gpu"] == "CUDA"),
    diagnosis(1, "auto-never-looks", "test_get_device_auto_prefers_cuda_then_mps",
              "get_device('auto') gave the cpu on a machine with a {gpu} GPU: ask "
              "torch.cuda.is_available(), then torch.backends.mps.is_available(), and fall "
              "back to the cpu only when neither is there",
              lambda facts: facts["returned"] == "cpu"),
    diagnosis(1, "unknown-device-falls-back", "test_get_device_rejects_an_unknown_name",
              "get_device gives the cpu for a name it does not know; raise ValueError naming it, "
              "so that a typo shows at once"),
    diagnosis(1, "unavailable-device-accepted", "test_get_device_rejects_an_unavailable_device",
              "get_device returns a device this machine does not have; check that it is "
              "available and raise ValueError naming it if not"),
    diagnosis(1, "seed-python-only", "test_set_seed_repeats_torch_rand",
              "set_seed leaves torch unseeded, so torch.rand and the initial weights change from "
              "run to run: add torch.manual_seed(seed)"),
    diagnosis(1, "seed-torch-only", "test_set_seed_repeats_python_random",
              "set_seed leaves Python's random module unseeded: add random.seed(seed)"),
    diagnosis(1, "seed-ignored", "test_set_seed_uses_the_seed_it_is_given",
              "set_seed seeds with a number of its own, not the `seed` it is given"),
    diagnosis(1, "wrong-version", "test_library_versions_reports_each_library",
              "library_versions reports one library's version under another's name: each "
              "entry needs its own module's __version__", lambda facts: not facts["missing_key"]),
    diagnosis(1, "version-missing", "test_library_versions_reports_each_library",
              "library_versions has no {library!r} entry: add \"{library}\": "
              "{library}.__version__", lambda facts: facts["missing_key"]),
    # ---------------------------------------------------------------- step 2
    diagnosis(2, "no-normalize", "test_build_transform_maps_black_to_minus_0_4242",
              "a black pixel stayed {black:.4f} and white {white:.4f}: your transform scales to "
              "[0, 1] but never normalises; add transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)) "
              "after ToTensor()",
              lambda facts: near(facts["black"], 0.0) and near(facts["white"], 1.0)),
    diagnosis(2, "normalize-half", "test_build_transform_maps_black_to_minus_0_4242",
              "a black pixel became {black:.4f}: you normalised with mean 0.5 and std 0.5 "
              "(a convention from other tutorials); MNIST's are 0.1307 and 0.3081, which make "
              "black -0.4242", lambda facts: near(facts["black"], -1.0)),
    diagnosis(2, "mean-std-swapped", "test_build_transform_maps_black_to_minus_0_4242",
              "a black pixel became {black:.4f} = -0.3081 / 0.1307: you gave Normalize the std "
              "first and the mean second; it takes (mean,), then (std,)",
              lambda facts: near(facts["black"], -STD / MEAN)),
    diagnosis(2, "normalize-other", "test_build_transform_maps_black_to_minus_0_4242",
              "a black pixel became {black:.4f} and white {white:.4f}: your transform "
              "normalises with mean {mean:.4f} and std {std:.4f} (worked out from those two); "
              "MNIST's are 0.1307 and 0.3081, which make black -0.4242 and white 2.8215",
              lambda facts: 0 < facts["std"] < 10 and not near(facts["black"], 0.0)
              and not near(facts["black"], -1.0) and not near(facts["black"], -STD / MEAN)),
    diagnosis(2, "no-scaling", "test_build_transform_maps_white_to_2_8215",
              "a white pixel became {white:.1f} = (255 - 0.1307) / 0.3081: your pixels were "
              "still 0..255 when normalised; ToTensor() scales them to [0, 1] first",
              lambda facts: near(facts["white"], (255 - MEAN) / STD, 0.5)),
    diagnosis(2, "normalize-before-totensor", ("test_build_transform_*", "test_load_mnist_*"),
              "a transform that works on tensors (Normalize) was given the PIL image itself: "
              "put transforms.ToTensor() first in the Compose, so that the ones after it get "
              "a tensor",
              crashed("Got <class 'PIL.Image.Image'>", "TypeError")),
    diagnosis(2, "train-ignored", "test_load_mnist_returns_the_asked_for_torchvision_mnist",
              "load_mnist(train=False) still gave the training set: pass train=train on to "
              "datasets.MNIST"),
    diagnosis(2, "no-transform", "test_load_mnist_items_are_image_tensors_and_int_labels",
              "load_mnist's items are PIL images: pass transform=build_transform() to "
              "datasets.MNIST"),
    diagnosis(2, "raw-runtime-error", "test_load_mnist_without_the_files_says_how_to_get_them",
              "without the files, load_mnist lets torchvision's bare RuntimeError through; catch "
              "it and raise FileNotFoundError naming the folder and how to get MNIST"),
    diagnosis(2, "drop-last", "test_make_loader_batches_64_by_default",
              "100 samples came in batches of {sizes}: the short last batch was dropped "
              "(drop_last=True); keep it, it holds real samples",
              lambda facts: facts["sizes"][0] == 64 and sum(facts["sizes"]) < 100),
    diagnosis(2, "batch-32", "test_make_loader_batches_64_by_default",
              "100 samples came in batches of {sizes}: your default batch_size is "
              "{sizes[0]}; the contract's is 64", lambda facts: facts["sizes"][0] != 64),
    diagnosis(2, "limit-unchecked", "test_make_loader_limit_above_the_dataset_size_keeps_"
              "everything", "a limit above the dataset's size asked for samples that are not "
              "there (IndexError): keep range(min(limit, len(dataset)))",
              lambda facts: facts["limit_error"] == "IndexError"),
    diagnosis(2, "shuffle-always", "test_make_loader_without_shuffle_keeps_file_order",
              "with shuffle=False your loader still served the samples out of order: pass "
              "shuffle=shuffle to DataLoader",
              lambda facts: facts["served"] != sorted(facts["served"])),
    diagnosis(2, "unseeded-generator", "test_make_loader_different_seeds_give_different_orders",
              "two seeds gave the same order: the loader's generator is not seeded with `seed` "
              "(torch.Generator().manual_seed(seed))",
              lambda facts: not facts["in_file_order"]),
    diagnosis(2, "shuffle-ignored", ("test_make_loader_with_shuffle_mixes_the_order",
                                     "test_make_loader_different_seeds_give_different_orders"),
              "make_loader(shuffle=True) served the samples in file order: it never shuffles; "
              "pass shuffle=shuffle on to the DataLoader",
              lambda facts: facts["in_file_order"]),
    # ---------------------------------------------------------------- step 3
    diagnosis(3, "no-super-init", "test_*",  # every test builds a DigitClassifier
              "DigitClassifier.__init__ sets a layer before nn.Module has set itself up: call "
              "super().__init__() first, at the top of __init__",
              crashed("cannot assign module before Module.__init__() call")),
    diagnosis(3, "forward-without-return", "test_*",
              "forward returns None: it runs the layers but hands nothing back; end it with "
              "return self.layers(x)",
              lambda facts: facts["forward_returned"] == "NoneType"),
    diagnosis(3, "softmax-in-forward", "test_forward_returns_raw_logits_not_probabilities",
              "every row of your output sums to 1: forward ends with a softmax; return the raw "
              "logits, nn.CrossEntropyLoss applies log_softmax itself",
              lambda facts: facts["probabilities"]),
    diagnosis(3, "log-softmax-in-forward", "test_forward_returns_raw_logits_not_probabilities",
              "your output is log-probabilities: forward ends with log_softmax; return the raw "
              "logits, nn.CrossEntropyLoss applies log_softmax itself",
              lambda facts: facts["log_probabilities"]),
    diagnosis(3, "flatten-the-batch", "test_forward_keeps_one_row_per_image",
              "a batch of {count} gave shape {shape}: your flatten folds the batch into one row "
              "(nn.Flatten(0), x.view(-1)); nn.Flatten() or torch.flatten(x, 1) keep it",
              lambda facts: len(facts["shape"]) < 2 or facts["shape"][0] != facts["count"]),
    diagnosis(3, "linear-network", "test_forward_is_not_a_linear_function",
              "your network is a linear function of its input: there is no nonlinearity "
              "between the layers; add nn.ReLU() after each convolution and hidden Linear"),
    diagnosis(3, "layer-made-in-forward", "test_digit_classifier_registers_every_layer",
              "the same model gives two different answers to the same images: forward builds "
              "a layer anew on every call; build every layer once, in __init__",
              lambda facts: not facts["same_model_repeats"]),
    diagnosis(3, "detached-output", "test_gradients_reach_every_parameter",
              "loss.backward() found no graph behind the logits: forward cuts them off "
              "(.detach(), .data or torch.no_grad()); return self.layers(x) as it is",
              crashed("does not require grad")),
    # ---------------------------------------------------------------- step 4
    diagnosis(4, "model-not-moved", "test_build_model_moves_the_model_to_the_device",
              "build_model leaves the parameters where they were made: return "
              "DigitClassifier().to(device)"),
    diagnosis(4, "nll-on-logits", "test_build_loss_takes_raw_logits",
              "your loss changes when every logit grows by 5, so it never applies log_softmax: "
              "nn.NLLLoss wants log-probabilities; nn.CrossEntropyLoss() takes raw logits"),
    diagnosis(4, "loss-sum", "test_build_loss_averages_over_the_batch",
              "the same batch twice over gave twice the loss: your loss sums over the batch "
              "(reduction='sum'); keep the default mean",
              lambda facts: tuple(facts["loss_shape"]) == ()),
    diagnosis(4, "loss-per-image", "test_build_loss_averages_over_the_batch",
              "your loss gives one value per image, shape {loss_shape}, not one number "
              "(reduction='none'): keep the default reduction='mean'",
              lambda facts: tuple(facts["loss_shape"]) != ()),
    diagnosis(4, "first-layer-only", "test_build_optimizer_covers_every_parameter",
              "your optimizer holds only some of the parameters ({left_out} of {parameters} "
              "left out): give it model.parameters()",
              when=lambda facts: 0 < facts["left_out"] < facts["parameters"]),
    diagnosis(4, "another-model", "test_build_optimizer_covers_every_parameter",
              "your optimizer holds none of the parameters of the model it was given: it "
              "updates another network's (a new DigitClassifier()?), so this one never "
              "learns; give it model.parameters()",
              when=lambda facts: facts["left_out"] == facts["parameters"] > 0),
    diagnosis(4, "parameters-not-called", "test_build_optimizer_*",
              "your optimizer was given a method, not what it returns: write "
              "model.parameters(), with the brackets that call it",
              crashed("'method' object is not iterable", "TypeError")),
    diagnosis(4, "lr-ignored", "test_build_optimizer_uses_the_given_learning_rate",
              "build_optimizer ignores its lr argument and uses a number of its own: pass "
              "lr=lr"),
    diagnosis(4, "default-lr", "test_build_optimizer_defaults_to_lr_0_001",
              "build_optimizer's default learning rate is not 1e-3: write lr: float = 1e-3"),
    # ---------------------------------------------------------------- step 5
    diagnosis(5, "no-zero-grad", "test_train_step_clears_old_gradients",
              "train_step never clears the gradients, so each batch's pile up on the last ones: "
              "call optimizer.zero_grad() in train_step, before loss.backward() (once before "
              "the loop of train_epoch is not enough: it must run for every batch)",
              also=("zero-grad-once",)),
    diagnosis(5, "no-backward", "test_train_step_has_the_batch_gradients_when_the_optimizer_"
              "steps", "optimizer.step() ran without gradients: train_step never calls "
              "loss.backward()",
              lambda facts: facts["stepped"] and not facts["backward_ran"]),
    diagnosis(5, "step-before-backward", "test_train_step_has_the_batch_gradients_when_"
              "the_optimizer_steps", "optimizer.step() ran before loss.backward(), so it had "
              "no gradients to follow: call loss.backward() first, then optimizer.step()",
              lambda facts: facts["stepped"] and facts["backward_ran"]
              and not facts["backward_before_step"]),
    diagnosis(5, "zero-grad-after-backward", "test_train_step_has_the_batch_gradients_when_"
              "the_optimizer_steps", "loss.backward() ran, but the gradients were gone when "
              "optimizer.step() ran: zero_grad() comes before backward(), not between "
              "backward() and step()",
              lambda facts: facts["stepped"] and facts["backward_before_step"]),
    diagnosis(5, "no-step", "test_train_step_has_the_batch_gradients_when_the_optimizer_steps",
              "train_step never calls optimizer.step(), so the model never changes",
              lambda facts: not facts["stepped"]),
    diagnosis(5, "returns-loss-tensor", "test_train_step_returns_python_float",
              "train_step returns the loss {returned} (which keeps the whole graph alive); "
              "return loss.item()", lambda facts: facts["returned"] == "Tensor"),
    diagnosis(5, "item-not-called", "test_train_step_returns_python_float",
              "train_step returns loss.item, the method, not the number it gives: call it, "
              "return loss.item()",
              lambda facts: facts["returned"] in ("builtin_function_or_method", "method")),
    diagnosis(5, "float-labels", ("test_train_step_returns_python_float",
                                  "test_train_step_clears_old_gradients"),
              "the labels reach the loss as floats: CrossEntropyLoss takes integer class "
              "labels (int64); pass `labels` as the loader gives them, without .float()",
              crashed("expected target dtype to be Long")),
    diagnosis(5, "no-train-mode", "test_train_epoch_puts_the_model_in_training_mode",
              "train_epoch runs the model in eval mode: call model.train() at its start"),
    diagnosis(5, "batch-not-moved", "test_train_epoch_moves_each_batch_to_the_device",
              "the batches reach the model where the loader made them: either they are never "
              "moved, or .to(device) is called and its result thrown away (it returns a new "
              "tensor): write images, labels = images.to(device), labels.to(device)",
              also=("to-not-kept",)),
    diagnosis(5, "mean-of-batch-losses", "test_train_epoch_returns_the_mean_loss_per_sample",
              "train_epoch averages the batch losses, so a short last batch counts as much as "
              "a full one: add batch_loss * len(labels) and divide by the number of samples",
              lambda facts: near(facts["returned"], facts["mean_of_batch_losses"])),
    diagnosis(5, "loss-divided-by-batches", "test_train_epoch_returns_the_mean_loss_per_sample",
              "train_epoch returned {returned:.4f}, the losses of all {samples} samples added "
              "up and divided by the {batches} batches: divide by the number of samples",
              lambda facts: near(facts["returned"], facts["summed_over_batches"])),
    diagnosis(5, "last-epoch-only", "test_fit_returns_one_float_per_epoch",
              "fit(epochs={epochs}) returned one loss: it keeps only the last epoch's; append "
              "every epoch's loss to the list",
              lambda facts: facts["returned"] == 1 and facts["epochs"] > 1),
    diagnosis(5, "epochs-off-by-one", "test_fit_returns_one_float_per_epoch",
              "fit(epochs={epochs}) trained {returned} epoch(s): one too few, as range(1, "
              "epochs) does; use range(epochs)",
              lambda facts: facts["returned"] == facts["epochs"] - 1),
    diagnosis(5, "progress-inverted", "test_fit_shows_a_progress_bar_when_asked",
              "the progress bar shows when it should not, and not when asked: "
              "tqdm(..., disable=not progress)",
              lambda facts: facts["shown_when_not_asked"] and not facts["shown_when_asked"]),
    diagnosis(5, "progress-never", "test_fit_shows_a_progress_bar_when_asked",
              "fit shows no progress bar, asked or not: wrap the loader in "
              "tqdm(loader, disable=not progress)",
              lambda facts: not facts["shown_when_not_asked"] and not facts["shown_when_asked"]),
    # ---------------------------------------------------------------- step 6
    diagnosis(6, "no-eval", "test_predict_image_runs_in_eval_mode_without_gradients",
              "predict_image runs the model in training mode: call model.eval() first",
              lambda facts: facts["ran_in_training_mode"]),
    diagnosis(6, "no-no-grad", "test_predict_image_runs_in_eval_mode_without_gradients",
              "predict_image runs the model with gradients on: predict inside "
              "`with torch.no_grad():`",
              lambda facts: facts["ran_with_gradients"] and not facts["ran_in_training_mode"]),
    diagnosis(6, "argmax-dim-0", "test_predict_image_returns_python_int_and_float",
              "predict_image takes the best score over dim 0, the batch of one image, which "
              "leaves ten values where one was wanted: take .max(dim=1) (the ten digits)",
              crashed("a Tensor with 10 elements cannot be converted to Scalar")),
    diagnosis(6, "raw-logit", "test_predict_image_probability_is_the_softmax_of_the_predicted_"
              "digit", "predict_image returns the largest raw score, not a probability: take "
              "torch.softmax(logits, dim=1) first", returned_the_logit),
    diagnosis(6, "not-softmax", "test_predict_image_probability_is_the_softmax_of_the_predicted_"
              "digit", "predict_image returns a number between 0 and 1, but not the softmax's "
              "probability of the predicted digit (a sigmoid? a softmax over dim 0, the batch?): "
              "return torch.softmax(logits, dim=1) at the predicted digit",
              lambda facts: 0 <= facts["probability"] <= 1 and not returned_the_logit(facts)),
    diagnosis(6, "no-shape-check", "test_predict_image_rejects_other_shapes_naming_them",
              "predict_image reshapes any input quietly, a batch or 784 loose pixels too: "
              "raise ValueError for shapes other than (28, 28), (1, 28, 28), (1, 1, 28, 28)"),
    diagnosis(6, "image-not-moved", "test_predict_image_moves_the_image_to_the_device",
              "the image reaches the model without .to(device)",
              lambda facts: facts["model_input_unmoved"]),
    diagnosis(6, "no-batch-dimension", ("test_predict_image_*", "test_check_single_*"),
              "predict_image gives the model the image as it came, shape {model_input_shape}: "
              "a network takes a batch (N, 1, 28, 28), so reshape one image to (1, 1, 28, 28) "
              "first",
              lambda facts: len(facts["model_input_shape"]) != 4),
    diagnosis(6, "check-single-swapped", "test_check_single_compares_prediction_with_label",
              "check_single returns the true label where the prediction belongs: return "
              "(predicted, true, agree) in that order", lambda facts: facts["swapped"]),
    diagnosis(6, "agree-inverted", "test_check_single_compares_prediction_with_label",
              "check_single's agree is True where the two differ and False where they are "
              "equal: agree is predicted == true", lambda facts: facts["agree_inverted"]),
    diagnosis(6, "tensor-label", "test_check_single_returns_int_int_bool",
              "check_single returns the label as the dataset gave it (a tensor): convert it "
              "with int()", lambda facts: facts["returned_types"][1] == "Tensor"),
    diagnosis(6, "agree-tensor", "test_check_single_returns_int_int_bool",
              "check_single returns whether they agree as a tensor (it returned "
              "{returned_types[0]}, {returned_types[1]}, {returned_types[2]}): compare the "
              "prediction with int(label), which gives a bool",
              lambda facts: facts["returned_types"][1] == "int"
              and facts["returned_types"][2] == "Tensor"),
    # ---------------------------------------------------------------- step 7
    diagnosis(7, "batch-no-eval", "test_predict_batch_runs_in_eval_mode_without_gradients",
              "predict_batch runs the model in training mode: call model.eval() first",
              lambda facts: facts["ran_in_training_mode"]),
    diagnosis(7, "batch-no-no-grad", "test_predict_batch_runs_in_eval_mode_without_gradients",
              "predict_batch runs the model with gradients on: predict inside "
              "`with torch.no_grad():`",
              lambda facts: facts["ran_with_gradients"] and not facts["ran_in_training_mode"]),
    diagnosis(7, "batch-argmax-dim-0", "test_predict_batch_returns_int64_labels_of_shape_n",
              "5 images gave labels of shape {shape}: one per digit, not per image; your argmax "
              "runs over dim 0 (the batch); take it over dim 1",
              lambda facts: tuple(facts["shape"]) == (10,)),
    diagnosis(7, "max-values", "test_predict_batch_returns_int64_labels_of_shape_n",
              "the labels are {dtype}: torch.max(logits, 1)[0] gives the best scores; the "
              "digits are its [1], or logits.argmax(dim=1)",
              lambda facts: tuple(facts["shape"]) == (5,) and facts["dtype"].startswith("float")),
    diagnosis(7, "labels-as-list", "test_predict_batch_returns_int64_labels_of_shape_n",
              "predict_batch returns the labels as a Python {returned}, where a tensor (N,) "
              "of int64 labels is asked for: return logits.argmax(dim=1).cpu(), without "
              ".tolist()",
              lambda facts: facts["returned"] in ("list", "tuple")),
    diagnosis(7, "no-cpu", "test_predict_batch_returns_labels_on_the_cpu",
              "predict_batch leaves the labels on the model's device: end with .cpu()"),
    diagnosis(7, "images-not-moved", "test_predict_batch_moves_the_images_to_the_device",
              "predict_batch gives the model the images without .to(device)"),
    diagnosis(7, "accuracy-count", "test_accuracy_is_the_fraction_that_agree",
              "3 right out of 4 gave {fraction:g}: accuracy counts, it does not divide by the "
              "number of predictions", lambda facts: facts["fraction"] == 3),
    diagnosis(7, "accuracy-percent", "test_accuracy_is_the_fraction_that_agree",
              "3 right out of 4 gave {fraction:g}: a percentage; accuracy is the fraction "
              "that agree, between 0 and 1 (0.75 here): leave out the * 100",
              lambda facts: near(facts["fraction"], 75.0)),
    diagnosis(7, "accuracy-tensor", "test_accuracy_returns_a_python_float",
              "accuracy returns a {returned}: end with .item()",
              lambda facts: facts["returned"] == "Tensor"),
    diagnosis(7, "mean-of-batch-accuracies", "test_evaluate_counts_every_sample_not_every_batch",
              "evaluate averages the batch accuracies, so a short last batch counts as much as "
              "a full one: add up the correct predictions and the samples, divide once",
              lambda facts: near(facts["returned"], facts["mean_of_batch_accuracies"])),
    diagnosis(7, "batches-counted", "test_evaluate_counts_every_sample_not_every_batch",
              "{right} right in {batches} batches gave {returned:.3g}: evaluate divides by the "
              "number of batches, not of samples; add len(labels) for each batch and divide "
              "once at the end",
              lambda facts: near(facts["returned"], facts["right"] / facts["batches"])),
    diagnosis(7, "evaluate-in-train-mode", "test_evaluate_runs_in_eval_mode_without_gradients",
              "evaluate runs the model in training mode: call predict_batch (which calls "
              "model.eval()) instead of the model itself",
              lambda facts: facts["ran_in_training_mode"]),
    # ---------------------------------------------------------------- step 8
    diagnosis(8, "imshow-channel", "test_plot_predictions_*",
              "imshow got a digit with its channel dimension, shape (1, 28, 28), which it "
              "cannot draw: give it the 28 x 28 picture, image.squeeze(0)",
              crashed("Invalid shape (1, 28, 28) for image data")),
    diagnosis(8, "title-true-only", "test_plot_predictions_titles_show_the_prediction",
              "the titles hold no `pred:`: show the prediction beside the true label",
              lambda facts: facts["title_without"] == "pred"),
    diagnosis(8, "title-swapped", "test_plot_predictions_titles_show_the_true_label",
              "the titles show the prediction after `true:` and the label after `pred:`: "
              "swap them back", lambda facts: facts["shows_predictions"]),
    diagnosis(8, "title-pred-only", "test_plot_predictions_titles_show_the_true_label",
              "the titles hold no `true:`: show the dataset's label after `true:`, beside the "
              "prediction", lambda facts: facts["title_without"] == "true"),
    diagnosis(8, "colours-swapped", "test_plot_predictions_colours_titles_green_if_right_red_"
              "if_wrong", "the titles are red when right and green when wrong: the colours "
              "are swapped", lambda facts: facts["colours_swapped"]),
    diagnosis(8, "titles-one-colour", "test_plot_predictions_colours_titles_green_if_right_"
              "red_if_wrong", "every title is {one_colour}, right or wrong: colour each one "
              "green where pred == true and red where not (set_title(..., color=...))",
              lambda facts: facts["one_colour"] is not None),
    diagnosis(8, "no-gray", "test_plot_predictions_shows_28x28_grayscale_images",
              "the digits are drawn in colour: pass cmap='gray' to imshow"),
    diagnosis(8, "ticks-left-on", "test_plot_predictions_turns_ticks_off",
              "the ticks are still round every digit: ax.set_xticks([]) and ax.set_yticks([]), "
              "or ax.axis('off')"),
    diagnosis(8, "cols-ignored", "test_plot_predictions_lays_images_out_in_cols_columns",
              "the grid ignores `cols`: build it with cols columns"),
    diagnosis(8, "empty-cells-left", "test_plot_predictions_draws_one_axes_per_image",
              "{count} images in {cols} columns left {axes} axes: the empty cells of the last "
              "row stay in the figure; ax.remove() them",
              lambda facts: facts["axes"] > facts["count"]),
    diagnosis(8, "plot-in-train-mode", "test_plot_predictions_runs_model_in_eval_mode_without_"
              "gradients", "plot_predictions runs the model in training mode: predict with "
              "step 7's predict_batch", lambda facts: facts["ran_in_training_mode"]),
    diagnosis(8, "plt-savefig", "test_save_figure_saves_the_figure_given",
              "save_figure saved another figure (plt.savefig saves the newest one): call "
              "fig.savefig(path) on the figure you are given"),
    diagnosis(8, "no-parent-folders", "test_save_figure_writes_png_and_creates_folders",
              "save_figure fails when the folder does not exist yet: "
              "path.parent.mkdir(parents=True, exist_ok=True) first",
              lambda facts: facts["missing_folder"]),
    diagnosis(8, "no-axis-labels", "test_plot_losses_labels_both_axes",
              "the loss plot has no label on {unlabelled}: name both axes, ax.set_xlabel and "
              "ax.set_ylabel", lambda facts: facts["unlabelled"], also=("one-axis-label",)),
    # ---------------------------------------------------------------- step 9 (bonus)
    diagnosis(9, "no-inversion",
              "test_to_mnist_turns_dark_ink_on_a_light_page_into_light_ink_on_black",
              "a dark 0 drawn on a white page came out with the page inside it at {hole:.2f} "
              "and the frame at {frame:.2f}: your to_mnist kept it dark on light, a picture "
              "the network never saw; when the image's border (its background) is light, "
              "invert it (255 - pixels) so the ink is light on black",
              lambda facts: facts["hole"] - facts["frame"] > 0.5),
    diagnosis(9, "always-inverted", "test_to_mnist_leaves_light_ink_on_black_as_it_is",
              "a 0 already light on black came out inverted: your to_mnist inverts every "
              "image; invert only when the image's border (its background) is light",
              lambda facts: facts.get("no_ink_found") or facts["hole"] - facts["frame"] > 0.5),
    diagnosis(9, "page-kept-grey", "test_a_grey_page_becomes_black",
              "on a grey page the page inside the 0 became {hole:.2f} instead of the frame's "
              "black {frame:.2f}: your to_mnist keeps the page's grey; after inverting, "
              "subtract the background's level (the border's grey) so the page turns black",
              lambda facts: 0.2 <= facts["hole"] - facts["frame"] < facts["ink"] - facts["frame"]),
    diagnosis(9, "no-crop", "test_the_inks_longer_side_is_20_pixels",
              "the ink came out {height} pixels tall and {width} wide, its longer side well "
              "under 20: your to_mnist scales the whole page, margins included; crop to the "
              "ink's bounding box first, then scale its longer side to 20",
              lambda facts: facts["side"] < 19),
    diagnosis(9, "longer-side-28", "test_the_inks_longer_side_is_20_pixels",
              "the ink came out {height} pixels tall and {width} wide: its longer side should "
              "be 20, not {side}; MNIST fits each digit in a 20-pixel box and leaves a "
              "4-pixel margin in the 28x28 frame",
              lambda facts: facts["side"] > 21),
    diagnosis(9, "aspect-not-kept", "test_the_aspect_ratio_is_kept",
              "a thin stroke came out {height} by {width} pixels instead of about 20 by "
              "{expected_short:.0f}: your to_mnist stretches the ink to a square; scale both "
              "sides by the same factor, 20 / the longer side, so a 1 stays thin",
              lambda facts: facts["short"] > facts["expected_short"] + 2),
    diagnosis(9, "box-centred", "test_the_inks_centre_of_mass_is_at_the_centre",
              "the ink's centre of mass landed at row {row:.1f}, column {col:.1f} instead of "
              "(14, 14): your to_mnist centres the ink's box; MNIST centres its centre of "
              "mass, the mean position of the ink weighted by brightness (a 7's ink is mostly "
              "at its top)",
              lambda facts: abs(facts["longer_side"] - 20) <= 1 and
              max(abs(facts["row"] - 14), abs(facts["col"] - 14)) > 1),
    diagnosis(9, "not-normalised", "test_to_mnist_normalises_as_step_2_does",
              "the background came out {background:.4f} and the brightest ink {ink:.4f}: "
              "your to_mnist stops at pixels in 0..1; the network learned on step 2's "
              "normalised pixels (black -0.4242, white 2.8215): finish with step 2's "
              "build_transform",
              lambda facts: near(facts["background"], 0.0, 0.01) and near(facts["ink"], 1.0, 0.05)),
    diagnosis(9, "blank-accepted", "test_a_page_without_ink_raises_value_error",
              "to_mnist on a page without ink (grey level {paper}) {outcome}: look for ink "
              "before cropping, and raise ValueError saying there is none",
              lambda facts: "outcome" in facts),
    diagnosis(9, "read-no-eval", "test_read_digit_returns_the_digit_and_ten_probabilities",
              "read_digit read one digit further than the model reads in eval mode: it ran "
              "the model in training mode; call model.eval() first, as in step 6",
              lambda facts: near(facts["total"], 1.0) and facts["shift"] == 1),
    diagnosis(9, "read-no-no-grad", "test_read_digit_returns_the_digit_and_ten_probabilities",
              "read_digit read two digits further than the model reads without gradients: it "
              "ran the model with gradients on; run it inside torch.no_grad(), as in step 6",
              lambda facts: near(facts["total"], 1.0) and facts["shift"] == 2),
    diagnosis(9, "read-log-probabilities",
              "test_read_digit_returns_the_digit_and_ten_probabilities",
              "read_digit's ten numbers add up to {total:.1f} and the smallest is "
              "{smallest:.1f}: those are log-probabilities or raw scores; apply softmax so "
              "that each lies in [0, 1] and they add up to 1",
              lambda facts: facts["smallest"] < 0),
    # ---------------------------------------------------------------- the capstone
    diagnosis(CAPSTONE, "plain-sgd",
              "test_graders_check[one_epoch_reaches_the_accuracy_threshold]",
              "one epoch got {accuracy:.1%} right (mean loss {losses[0]:.2f}; guessing gives "
              "2.30): your optimizer is plain SGD at lr {optimizer[1]:g}, far too slow for one "
              "epoch; use torch.optim.Adam(model.parameters(), lr=lr) with lr 1e-3",
              lambda facts: facts["optimizer"][0] == "SGD" and facts["optimizer"][1] <= 1e-3
              and not facts["optimizer"][2]),
)


def test_name(nodeid: str) -> str:
    """test_x[param] for tests/test_step2.py::test_x[param]."""
    return nodeid.split("::")[-1]


@dataclass(frozen=True)
class Finding:
    """A mistake named: by which diagnosis, from which test's evidence, in which words."""

    diagnosis: Diagnosis
    nodeid: str
    words: str


def find(step: int | str, failures: list[tuple[str, dict]]) -> Finding | None:
    """The mistake that the first telling failure (nodeid, evidence), in run order,
    identifies; None when no failure's evidence names a known mistake."""
    for nodeid, facts in failures:
        found = [d for d in CATALOGUE if str(d.step) == str(step)
                 and d.matches(test_name(nodeid), facts) and d.explains(facts)]
        if len({d.names for d in found}) == 1:  # two would mean the evidence cannot tell
            return Finding(found[0], nodeid, found[0].explain(facts))
    return None
