"""Inside the test run: has anything changed the machinery that decides and reports outcomes?

Before the learner's modules are first imported (at the end of collection), `snapshot` records
the identity of everything a forgery would have to replace: pytest's report, runner and hook
code and every registered hook implementation, the kata's and the tests' own functions, the
Python builtins, the torch, nn and matplotlib functions that assertions and checks call, the
import machinery and the trace hooks. After every test the run compares and reports what
changed; the grader treats any change as a forged run.

This is evidence gathered inside the learner's process, so code that knows exactly what is
watched can also patch the watcher: it catches the generic forgeries (patch the report, patch
torch.equal, register a hook), not a targeted one. The grader's own checks and canaries do
not depend on it.
"""

import sys
import types

# Modules whose callables are watched, and classes whose attributes are.
WATCHED_MODULES = (
    "builtins", "math", "operator", "random", "json", "os", "sys", "importlib",
    "_pytest.runner", "_pytest.python", "_pytest.skipping", "_pytest.outcomes",
    "_pytest.reports", "_pytest.main", "_pytest.terminal", "_pytest.fixtures",
    "_pytest.python_api", "_pytest.approx", "pytest", "pluggy._callers", "pluggy._hooks",
    "pluggy._manager",
    "torch", "torch.nn.functional", "torch.testing", "numpy",
)
WATCHED_CLASSES = (
    ("_pytest.reports", "BaseReport"), ("_pytest.reports", "TestReport"),
    ("_pytest.runner", "CallInfo"), ("_pytest.python", "Function"),
    ("_pytest.terminal", "TerminalReporter"), ("_pytest.main", "Session"),
    ("pluggy._hooks", "HookCaller"), ("pluggy._manager", "PluginManager"),
    ("torch", "Tensor"), ("torch.nn", "Module"), ("torch.optim", "Optimizer"),
    ("torch.utils.data", "DataLoader"), ("matplotlib.axes", "Axes"),
    ("matplotlib.figure", "Figure"), ("matplotlib.text", "Text"),
    ("matplotlib.image", "AxesImage"), ("random", "Random"),
)
# The kata's own code: every module under these names, and every module loaded from the
# test folder (the test files, their helpers and the grader's checks).
OWN_PACKAGES = ("kata", "conftest", "grader_checks")
MAX_REPORTED = 20
ATTRIBUTES = "the attributes of "


def origin(value) -> str:
    """The file a function (or a property's getter) was written in; "" for anything else."""
    code = getattr(getattr(value, "fget", value), "__code__", None)
    return code.co_filename if code is not None else ""


def identity(value) -> tuple:
    """What identifies a value: the object, for a function its code too, and its origin."""
    code = getattr(value, "__code__", None)
    return (id(value), id(code) if code is not None else 0, origin(value))


def library_folders() -> tuple[str, ...]:
    """Where the libraries live: their own code may change their functions (torch._dynamo
    wraps torch.manual_seed on import, and nn.Module when it first compiles)."""
    folders = []
    for name in ("torch", "torchvision", "matplotlib", "numpy", "PIL", "tqdm"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            folders.append(module.__file__.rsplit("/", 1)[0] + "/")
    return tuple(folders)


def watched_attributes(namespace: dict, prefix: str, fingerprint: dict) -> None:
    for name, value in list(namespace.items()):
        if callable(value) or isinstance(value, (property, staticmethod, classmethod)):
            fingerprint[f"{prefix}.{name}"] = identity(value)


def own_modules(tests_folder: str | None) -> list[types.ModuleType]:
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name.split(".")[0] in OWN_PACKAGES or (tests_folder and path.startswith(tests_folder)):
            found.append(module)
    return found


def snapshot(pluginmanager, tests_folder: str | None = None) -> dict[str, tuple]:
    """The identities of the watched machinery, by name."""
    fingerprint: dict[str, tuple] = {}
    for name in WATCHED_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            fingerprint[f"sys.modules[{name!r}]"] = (id(module), 0, "")
            watched_attributes(vars(module), name, fingerprint)
    for module_name, class_name in WATCHED_CLASSES:
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type):
            fingerprint[f"{module_name}.{class_name}"] = (id(cls), 0, "")
            # A new attribute counts too: a descriptor on TestReport can fix every outcome
            # (plain data, like the flag torch._dynamo leaves on nn.Module, cannot).
            fingerprint[f"{ATTRIBUTES}{module_name}.{class_name}"] = tuple(sorted(
                name for name, value in vars(cls).items()
                if callable(value) or hasattr(type(value), "__get__")))
            watched_attributes(vars(cls), f"{module_name}.{class_name}", fingerprint)
    for module in own_modules(tests_folder):
        fingerprint[f"sys.modules[{module.__name__!r}]"] = (id(module), 0, "")
        watched_attributes(vars(module), module.__name__, fingerprint)
        for name, value in list(vars(module).items()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                watched_attributes(vars(value), f"{module.__name__}.{name}", fingerprint)
    for name, caller in list(vars(pluginmanager.hook).items()):
        if hasattr(caller, "get_hookimpls"):
            fingerprint[f"hook {name}"] = tuple(
                (impl.plugin_name, id(impl.function)) for impl in caller.get_hookimpls())
    fingerprint["sys.meta_path"] = tuple(id(finder) for finder in sys.meta_path)
    fingerprint["sys.path_hooks"] = tuple(id(hook) for hook in sys.path_hooks)
    fingerprint["sys.gettrace()"] = (id(sys.gettrace()), 0, "")
    fingerprint["sys.getprofile()"] = (id(sys.getprofile()), 0, "")
    return fingerprint


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """What differs: "changed: torch.equal", "removed: ...", hooks added. A library's own
    change (the new function was written inside torch, say) does not count."""
    libraries = library_folders()

    def by_a_library(name: str) -> bool:
        entry = after.get(name)
        return bool(entry and len(entry) == 3 and entry[2].startswith(libraries))

    found = []
    for name, value in before.items():
        if name not in after:
            found.append(f"removed: {name}")
        elif name.startswith(ATTRIBUTES):
            owner = name.removeprefix(ATTRIBUTES)
            changed = set(after[name]) ^ set(value)
            if any(not by_a_library(f"{owner}.{attribute}") for attribute in changed):
                found.append(f"changed: {name}")
        elif after[name][:2] != value[:2] and not by_a_library(name):
            found.append(f"changed: {name}")
    # New names are the libraries' lazy attributes, except new hooks: plugins registered late.
    found += [f"added: {name}" for name in after.keys() - before.keys() if name.startswith("hook ")]
    return sorted(found)[:MAX_REPORTED]
