"""Unit tests as separate checks, and the harness program that runs them in the sandbox.

A HumanEval-style ``check(candidate)`` is split into its statements: a statement that holds an
``assert`` is one test case (one process label); the others (imports, helper values) are set-up run
in place, in order. ``assert f(x) == y`` cases are evaluated in two halves so the feedback can say
"expected y, got z", and a result only counts as equal when it is made of built-in types (an object
whose ``__eq__`` always answers True is a classic way to fake a pass).

The harness runs the agent's code, then every case, and writes one result line per run to stdout
behind a marker. The verdict's correctness never rests on that line alone: the program ends with an
exception when any case failed, so the sandbox's positive success signal (a per-run nonce sent only
when the whole program ran to completion) is required for a pass, and per-case labels from a run
that did not complete are not trusted.
"""

from __future__ import annotations

import ast
import functools
import json
import marshal
from dataclasses import dataclass
from typing import Any

RESULT_MARK = "\x1e__fbenv_results__"
_SHOWN = 300  # characters of a value or traceback kept in feedback


@dataclass(frozen=True)
class TestCase:
    """One test case: its source, and for ``assert call == expected`` the two halves."""

    source: str
    call: str | None = None
    expected: str | None = None


@dataclass(frozen=True)
class TestSuite:
    """A problem's tests: module-level prelude, then set-up statements and cases in order.

    ``given`` is trusted code of the problem that the tests may call (HumanEval's prompt, with
    helpers such as ``poly``): it is defined in the tests' namespace before the agent's code runs,
    so the tests call the dataset's version, not the agent's.
    """

    prelude: str
    steps: tuple[tuple[str, TestCase | str], ...]  # ("setup", source) or ("case", TestCase)
    given: str = ""

    @property
    def cases(self) -> tuple[TestCase, ...]:
        return tuple(item for kind, item in self.steps if kind == "case")  # type: ignore[misc]


def split_check(test_source: str, *, check_name: str = "check") -> TestSuite:
    """Split a test module with ``def check(candidate): ...`` into prelude, set-up and cases."""
    tree = ast.parse(test_source)
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == check_name), None)
    if check is None:
        raise ValueError(f"the tests define no function {check_name}(candidate)")
    prelude = ast.unparse([n for n in tree.body if n is not check])  # type: ignore[arg-type]
    steps: list[tuple[str, TestCase | str]] = []
    for statement in check.body:
        source = ast.unparse(statement)
        if not any(isinstance(node, ast.Assert) for node in ast.walk(statement)):
            steps.append(("setup", source))
            continue
        if (
            isinstance(statement, ast.Assert)
            and isinstance(statement.test, ast.Compare)
            and len(statement.test.ops) == 1
            and isinstance(statement.test.ops[0], ast.Eq)
        ):
            case = TestCase(source, ast.unparse(statement.test.left), ast.unparse(statement.test.comparators[0]))
        else:
            case = TestCase(source)
        steps.append(("case", case))
    return TestSuite(prelude, tuple(steps))


def assert_lines_suite(asserts: list[str], setup: str = "") -> TestSuite:
    """A suite from MBPP-style assert lines (``assert f(1) == 2``), with optional set-up code."""
    source = "def check(candidate):\n" + "\n".join(f"    {line}" for line in asserts or ["pass"])
    suite = split_check(source)
    return TestSuite(setup, suite.steps)


_HARNESS = r'''
def __fbenv_run(solution, entry_point, mark, shown, given, prelude, codes, steps, fresh, copied):
    import builtins, importlib, json, linecache, os, sys, traceback, types
    # Everything the harness needs is bound before the agent's code runs, so patching builtins,
    # json or os afterwards cannot change how results are judged or written.
    _write, _dumps, _exc = os.write, json.dumps, sys.exc_info
    _exec, _eval, _compile, _zip = exec, eval, compile, zip
    _repr, _type, _isinstance, _len, _all = repr, type, isinstance, len, all
    _extract_tb, _format_list, _format_exception_only = (traceback.extract_tb, traceback.format_list,
                                                         traceback.format_exception_only)
    _builtin_types = (int, float, complex, bool, str, bytes, list, tuple, dict, set, frozenset, type(None))
    _AssertionError, _BaseException = AssertionError, BaseException
    # The tests run in their own namespace, with the builtins as they are now and their own copies of
    # the modules they import, made before the agent's code runs: patching builtins.abs, math.fabs or
    # random.Random.randint, or defining a global abs, then changes nothing the tests use. A module
    # the tests import that is written in Python is run afresh (new classes and functions); a C
    # module's namespace, and that of a module only the given code imports (typing, for its
    # annotations), is copied. Swapping a function's code is refused by the sandbox's guard.
    _builtins = dict(builtins.__dict__)
    _modules = {}
    for name in (*fresh, *copied):
        try:
            module = importlib.import_module(name)
            copy = types.ModuleType(name)
            spec = getattr(module, "__spec__", None)
            code = None
            if name in fresh and spec is not None and str(spec.origin).endswith(".py"):
                code = spec.loader.get_code(name)
            if code is None:
                copy.__dict__.update(module.__dict__)
            else:
                copy.__dict__.update(__spec__=spec, __file__=spec.origin, __loader__=spec.loader,
                                     __path__=getattr(module, "__path__", None) or [])
                if not spec.submodule_search_locations:
                    del copy.__path__
                exec(code, copy.__dict__)
        except _BaseException:
            continue
        _modules[name] = copy
    _import = builtins.__import__

    def test_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in _modules:
            return _modules[name]
        return _import(name, globals, locals, fromlist, level)

    _builtins["__import__"] = test_import

    def plain(value, depth=0):
        if depth > 20 or _type(value) not in _builtin_types:
            return False
        if _isinstance(value, dict):
            return _all(plain(k, depth + 1) and plain(v, depth + 1) for k, v in value.items())
        if _isinstance(value, (list, tuple, set, frozenset)):
            return _all(plain(v, depth + 1) for v in value)
        return True

    def short(text):
        return text if _len(text) <= shown else text[: shown - 3] + "..."

    def trace():
        kind, error, tb = _exc()
        frames = [f for f in _extract_tb(tb) if f.filename == "<solution>"]
        lines = _format_list(frames) + _format_exception_only(kind, error)
        return short("".join(lines).rstrip())

    linecache.cache["<solution>"] = (_len(solution), None, solution.splitlines(True), "<solution>")
    g = {"__name__": "__main__"}
    t = {"__name__": "__main__", "__builtins__": _builtins}
    results, loaded = [], True
    try:
        _exec(given, t)  # the problem's own code and the tests' definitions, before the agent's code
        _exec(prelude, t)
        _exec(_compile(solution, "<solution>", "exec"), g)
        candidate = g[entry_point]
        for name, value in g.items():  # the agent's other definitions, where the tests have none
            if name not in t and name not in _builtins and not name.startswith("__"):
                t[name] = value
        t["candidate"] = t[entry_point] = candidate
    except _BaseException as error:
        loaded = False
        load_error = "missing function " + entry_point if _isinstance(error, KeyError) else trace()
    for (kind, source, call, expected), code in _zip(steps, codes):
        if not loaded:
            if kind == "case":
                results.append({"ok": False, "error": load_error, "load": True})
            continue
        if kind == "setup":
            try:
                _exec(code, t)
            except _BaseException:
                loaded, load_error = False, "the test set-up failed: " + trace()
            continue
        try:
            if call is not None:
                actual, want = _eval(code[0], t), _eval(code[1], t)
                if plain(actual) and actual == want:
                    results.append({"ok": True})
                else:
                    results.append({"ok": False, "call": short(call), "expected": short(_repr(want)),
                                    "actual": short(_repr(actual)) if plain(actual) else "an object of type "
                                    + short(_type(actual).__name__)})
            else:
                _exec(code, t)
                results.append({"ok": True})
        except _AssertionError:
            results.append({"ok": False, "assert": short(source)})
        except _BaseException:
            results.append({"ok": False, "error": trace()})
    _write(1, ("\n" + mark + _dumps(results) + "\n").encode())
    if not loaded or not _all(r["ok"] for r in results):
        raise SystemExit(1)


def __fbenv_main():
    import marshal, sys
    data = sys.stdin.buffer.read()  # 4-byte length, the run's values, then the suite (see harness_input)
    head = int.from_bytes(data[:4], "big")
    __fbenv_run(*marshal.loads(data[4 : 4 + head]), *marshal.loads(data[4 + head :]))
'''

#: Trusted source compiled once per sandbox worker (see ``Sandbox(warm=...)``).
HARNESS = _HARNESS
#: What each run executes: the harness, reading the agent's code and the cases from stdin.
HARNESS_CALL = "__fbenv_main()\n"


@functools.lru_cache(maxsize=1024)
def compiled_suite(suite: TestSuite) -> bytes:
    """The suite marshalled once per problem: its prelude and steps compiled, and each step's sources.

    fbenv compiles its own trusted test code here, in the parent, and the run only unmarshals it:
    compiling in a freshly forked sandbox child is several times slower (copy-on-write faults), and
    unmarshalling is cheaper there than parsing JSON. Parent and sandbox run the same interpreter, so
    the marshal format matches.
    """
    steps: list[list[str | None]] = []
    codes: list[object] = []
    for kind, item in suite.steps:
        if kind == "setup":
            assert isinstance(item, str)
            steps.append(["setup", item, None, None])
            codes.append(compile(item, "<tests>", "exec"))
        else:
            assert isinstance(item, TestCase)
            steps.append(["case", item.source, item.call, item.expected])
            if item.call is not None and item.expected is not None:
                codes.append((compile(item.call, "<tests>", "eval"), compile(item.expected, "<tests>", "eval")))
            else:
                codes.append(compile(item.source, "<tests>", "exec"))
    tests = [suite.prelude, *(item if kind == "setup" else item.source for kind, item in suite.steps)]  # type: ignore[union-attr]
    fresh = _imports(tests)
    copied = tuple(name for name in _imports([suite.given]) if name not in fresh)
    given = compile(suite.given, "<given>", "exec")
    return marshal.dumps((given, compile(suite.prelude, "<tests>", "exec"), tuple(codes), steps, fresh, copied))


def _imports(sources: list[str]) -> tuple[str, ...]:
    """The top-level modules this code imports (the harness keeps copies of them from before the
    agent's code runs)."""
    names: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names if "." not in alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and "." not in node.module:
                names.add(node.module)
    return tuple(sorted(names))


def harness_input(solution: str, suite: TestSuite, entry_point: str) -> bytes:
    """The run's stdin: the agent's code (as data, compiled inside the run) and the compiled tests.

    Two marshalled tuples behind a 4-byte length: this run's values, then the problem's cached suite.
    """
    head = marshal.dumps((solution, entry_point, RESULT_MARK, _SHOWN))
    return len(head).to_bytes(4, "big") + head + compiled_suite(suite)


def parse_results(stdout: str, cases: int) -> list[dict[str, Any]] | None:
    """The per-case results the harness wrote last, or None when there are none or they are malformed."""
    at = stdout.rfind(RESULT_MARK)
    if at < 0:
        return None
    line = stdout[at + len(RESULT_MARK) :].split("\n", 1)[0]
    try:
        results = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(results, list) or len(results) != cases or not all(isinstance(r, dict) for r in results):
        return None
    return results
