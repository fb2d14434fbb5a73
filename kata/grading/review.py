"""A read of the learner's modules, without running them, for code a step has no need of.

The steps need torch, torchvision, matplotlib, numpy, PIL and a little of the standard
library. Code that reaches for the test machinery (pytest, gc, sys.modules, frames, builtins),
the kata's internals, other processes, the network, or that patches a library's attributes,
executes strings or embeds a lot of data is listed as "needs review" with its file and line.
Nothing here is proof of cheating, and nothing here stops it: it points an instructor at what
to read. With `zero_when_flagged` in grading.toml such a grade is also 0.

The modules are parsed with `ast`, never imported.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

# Modules a step has no use for, by their top-level name.
SUSPECT_MODULES = {
    "_pytest": "the test framework's internals", "pytest": "the test framework",
    "pluggy": "pytest's plugin system", "gc": "the garbage collector (finds any object)",
    "ctypes": "raw memory and C calls", "atexit": "code run at exit",
    "builtins": "Python's builtins", "inspect": "frames and source of other code",
    "importlib": "the import system", "sys": "the interpreter's state",
    "subprocess": "other programs", "socket": "the network", "signal": "signals",
    "threading": "threads", "_thread": "threads", "multiprocessing": "other processes",
    "marshal": "code objects", "pickle": "arbitrary objects from bytes",
    "dill": "arbitrary objects from bytes", "types": "code and function objects",
    "unittest": "mocks and patches", "code": "an interpreter", "codeop": "compiling code",
    "dis": "bytecode", "faulthandler": "the interpreter's crash handler",
    "resource": "process limits", "pty": "terminals", "shutil": "copying and deleting files",
    "urllib": "the network", "http": "the network", "requests": "the network",
    "kata": "the kata's own tooling", "conftest": "the test configuration",
    "grader_checks": "the grader's checks", "tests": "the tests", "solutions": "the answers",
}
# `from kata import KataTodo` is what every stub starts with.
ALLOWED_IMPORTS = {("kata", "KataTodo"), ("importlib", "metadata"),
                   ("importlib.metadata", "version")}
SUSPECT_OS = {"_exit", "system", "popen", "kill", "killpg", "fork", "forkpty", "execv",
              "execve", "execvp", "execl", "execlp", "spawnv", "spawnl", "posix_spawn",
              "setsid", "setuid", "chmod", "chown", "remove", "unlink", "rename", "replace",
              "rmdir", "dup2", "write", "open", "fdopen", "environ", "getenv", "putenv",
              "walk", "scandir", "listdir"}
SUSPECT_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "breakpoint",
                 "setattr", "delattr"}
# Dunder attributes any step may touch; every other one reaches into Python's internals.
PLAIN_DUNDERS = {"__init__", "__name__", "__version__", "__doc__", "__file__", "__len__",
                 "__getitem__", "__call__", "__iter__", "__next__", "__enter__", "__exit__"}
FRAME_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_code", "f_builtins", "tb_frame",
                    "tb_next", "gi_frame", "cr_frame", "_getframe"}
# Assignments to a library's attributes that are configuration, not patching.
CONFIGURATION = ("torch.backends.", "plt.rcParams", "matplotlib.rcParams", "mpl.rcParams")
MAX_MODULE_BYTES = 64 * 1024
MAX_LITERAL_CHARS = 2000
MAX_LITERAL_ITEMS = 256
MAX_WORD_CHARS = 120  # a run without spaces longer than any name or path in a step
MAX_TEXT_IN_LITERALS = 4000  # strings outside docstrings, in all: messages, names, formats
MAX_NUMBERS = 300


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


class Reader(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.Module):
        self.path = path
        self.findings: list[Finding] = []
        self.modules: set[str] = set()  # names bound to imported modules (and their members)
        # How much data the module carries outside its docstrings: a table of answers split
        # into small literals still adds up.
        self.docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                           if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                                ast.AsyncFunctionDef))
                           and node.body and isinstance(node.body[0], ast.Expr)
                           and isinstance(node.body[0].value, ast.Constant)}
        self.text_in_literals = 0
        self.numbers = 0

    def totals(self) -> list[Finding]:
        found = []
        if self.text_in_literals > MAX_TEXT_IN_LITERALS:
            found.append(Finding(self.path, 1, f"carries {self.text_in_literals:,} characters "
                                               "of strings beside its docstrings"))
        if self.numbers > MAX_NUMBERS:
            found.append(Finding(self.path, 1, f"carries {self.numbers:,} numbers"))
        return found

    def flag(self, node, what: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), what))

    def visit_Import(self, node):
        for alias in node.names:
            top = alias.name.split(".")[0]
            self.modules.add((alias.asname or alias.name).split(".")[0])
            if top in SUSPECT_MODULES and (top, alias.name) not in ALLOWED_IMPORTS \
                    and alias.name != "importlib.metadata":
                self.flag(node, f"imports {alias.name} ({SUSPECT_MODULES[top]})")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        top = module.split(".")[0]
        for alias in node.names:
            self.modules.add(alias.asname or alias.name)
            if node.level == 0 and top in SUSPECT_MODULES \
                    and (module, alias.name) not in ALLOWED_IMPORTS \
                    and not module.startswith("importlib.metadata"):
                self.flag(node, f"imports {alias.name} from {module} ({SUSPECT_MODULES[top]})")
            elif module == "os" and alias.name in SUSPECT_OS:
                self.flag(node, f"imports os.{alias.name}")

    def visit_Attribute(self, node):
        name = node.attr
        root = node.value.id if isinstance(node.value, ast.Name) else None
        self.suspect_attribute(node, name)
        if root == "os" and name in SUSPECT_OS:
            self.flag(node, f"calls os.{name}")
        elif root == "importlib" and name != "metadata":  # `import importlib.metadata` binds it
            self.flag(node, f"uses importlib.{name} (the import system)")
        self.generic_visit(node)

    def suspect_attribute(self, node, name: str) -> None:
        if name.startswith("__") and name.endswith("__") and name not in PLAIN_DUNDERS:
            self.flag(node, f"reaches into Python's internals: .{name}")
        elif name in FRAME_ATTRIBUTES:
            self.flag(node, f"reads the call stack: .{name}")

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in SUSPECT_CALLS:
            self.flag(node, f"calls {node.func.id}()")
        elif isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") \
                and len(node.args) > 1:
            name = node.args[1]
            if not isinstance(name, ast.Constant):
                self.flag(node, f"{node.func.id}() with a computed name")
            elif isinstance(name.value, str):
                self.suspect_attribute(node, name.value)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id.startswith("__") and node.id.endswith("__") and node.id not in \
                ("__name__", "__file__", "__doc__", "__all__"):
            self.flag(node, f"uses {node.id}")

    def patched(self, target) -> None:
        """An assignment to an attribute of an imported module: monkeypatching a library."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.patched(element)
            return
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            return
        root = target
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        written = ast.unparse(target)
        if isinstance(root, ast.Name) and root.id in self.modules \
                and not written.startswith(CONFIGURATION):
            self.flag(target, f"changes {written}, which belongs to a library")

    def visit_Assign(self, node):
        for target in node.targets:
            self.patched(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.patched(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self.patched(target)
        self.generic_visit(node)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, (str, bytes)):
            if len(value) > MAX_LITERAL_CHARS:
                self.flag(node, f"embeds a literal of {len(value):,} characters")
            elif max(map(len, value.split()), default=0) > MAX_WORD_CHARS:
                self.flag(node, "embeds a blob (a word of more than "
                                f"{MAX_WORD_CHARS} characters: encoded data?)")
            if id(node) not in self.docstrings:
                self.text_in_literals += len(value)
        elif isinstance(value, (int, float, complex)) and not isinstance(value, bool):
            self.numbers += 1

    def visit_collection(self, node):
        if len(getattr(node, "elts", None) or getattr(node, "keys", ())) > MAX_LITERAL_ITEMS:
            self.flag(node, "embeds a literal of more than "
                            f"{MAX_LITERAL_ITEMS} items (a table of answers?)")
        self.generic_visit(node)

    visit_List = visit_Tuple = visit_Set = visit_Dict = visit_collection


def module_level_code(tree: ast.Module, path: str) -> list[Finding]:
    """Statements that run when the module is imported, beyond imports, definitions and
    assignments (but one that calls the module's own code): a learner's step has nothing to
    do before it is called."""
    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
             ast.Assign, ast.AnnAssign, ast.Pass)
    own = {node.name for node in tree.body
           if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found = []
    for index, node in enumerate(tree.body):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in own for call in ast.walk(node)):
            found.append(Finding(path, node.lineno, "runs its own code when it is imported: "
                                 + ast.unparse(node).splitlines()[0][:60]))
            continue
        if isinstance(node, quiet):
            continue
        if isinstance(node, ast.Try) and all(isinstance(n, (ast.Import, ast.ImportFrom))
                                             for n in node.body):
            continue  # try: import x / except ImportError: an optional library
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            continue  # if __name__ == "__main__": runs only as a script
        found.append(Finding(path, node.lineno, "runs code when it is imported: "
                             + ast.unparse(node).splitlines()[0][:60]))
    return found


def review_source(source: str | bytes, shown_as: str) -> list[str]:
    """Findings for one module's source, as "path:line: what", in line order."""
    findings = []
    if len(source) > MAX_MODULE_BYTES:
        findings.append(Finding(shown_as, 1, f"is {len(source) // 1024} KB, far more than a "
                                             "step needs"))
    try:
        tree = ast.parse(source, filename=shown_as)
    except (SyntaxError, ValueError) as error:
        findings.append(Finding(shown_as, getattr(error, "lineno", 0) or 0,
                                "does not parse, so it could not be read"))
    else:
        reader = Reader(shown_as, tree)
        reader.visit(tree)
        findings += module_level_code(tree, shown_as) + reader.findings + reader.totals()
    return [str(finding) for finding in sorted(set(findings), key=lambda f: (f.line, f.what))]


def review(files: dict[str, Path]) -> list[str]:
    """Findings for the modules {name shown in reports: path}, as "path:line: what"."""
    return [finding for shown_as, path in sorted(files.items())
            for finding in review_source(Path(path).read_bytes(), shown_as)]
