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
import __future__

import ast
import functools
import json
import marshal
import secrets
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

    @property
    def sources(self) -> list[str]:
        """The tests' own source: the prelude, then each step's."""
        return [self.prelude, *(item if isinstance(item, str) else item.source for _, item in self.steps)]


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
import builtins as __fbenv_builtins, importlib as __fbenv_importlib, json as __fbenv_json
import linecache as __fbenv_linecache, os as __fbenv_os, sys as __fbenv_sys
import traceback as __fbenv_traceback, types as __fbenv_types


def __fbenv_test_import(name, globals=None, locals=None, fromlist=(), level=0, _import=__import__):
    # The tests' __import__: their own copies of the modules they import (see __fbenv_run).
    copies = globals.get("__fbenv_modules__") if level == 0 and type(globals) is dict else None
    if copies and name in copies:
        return copies[name]
    return _import(name, globals, locals, fromlist, level)


# The tests' builtins, copied here in the warm server before any run: patching builtins.abs, or a
# global abs, in the agent's code changes nothing the tests use. Only the harness reaches this dict:
# __fbenv_main takes the harness's names out of the run's namespace before the agent's code runs.
__fbenv_test_builtins = dict(__fbenv_builtins.__dict__, __import__=__fbenv_test_import)


# Everything the harness uses is bound here, in the warm server, as defaults: patching builtins,
# json or os in the agent's code cannot change how results are judged or written, and a run looks
# nothing up (each lookup in a fresh run copies pages on write).
def __fbenv_run(solution, entry_point, mark, shown, given, prelude, codes, steps, imports, *,
                _builtins=__fbenv_test_builtins, _write=__fbenv_os.write, _dumps=__fbenv_json.dumps,
                _exc=__fbenv_sys.exc_info, _exec=exec, _eval=eval, _compile=compile, _zip=zip, _repr=repr,
                _type=type, _isinstance=isinstance, _len=len, _all=all, _loaded=__fbenv_sys.modules,
                _import_module=__fbenv_importlib.import_module, _Module=__fbenv_types.ModuleType,
                _sources=__fbenv_linecache.cache, _extract_tb=__fbenv_traceback.extract_tb,
                _format_list=__fbenv_traceback.format_list,
                _format_exception_only=__fbenv_traceback.format_exception_only,
                _builtin_types=(int, float, complex, bool, str, bytes, list, tuple, dict, set, frozenset, type(None)),
                _AssertionError=AssertionError, _BaseException=BaseException, _SystemExit=SystemExit,
                _KeyError=KeyError):
    # The tests run in their own namespace, with the builtins above and their own copies of the
    # modules they import, made before the agent's code runs: patching math.fabs or
    # random.Random.randint then changes nothing the tests use. A module written in Python is run
    # afresh (new classes and functions); a C module's namespace is copied (its functions cannot be
    # changed). Swapping a function's code is refused by the sandbox's guard.
    modules = {}
    for name in imports:
        try:
            module = _loaded.get(name) or _import_module(name)
            copy = _Module(name)
            spec = getattr(module, "__spec__", None)
            code = spec.loader.get_code(name) if spec is not None and str(spec.origin).endswith(".py") else None
            if code is None:
                copy.__dict__.update(module.__dict__)
            else:
                copy.__dict__.update(__spec__=spec, __file__=spec.origin, __loader__=spec.loader)
                if spec.submodule_search_locations:
                    copy.__path__ = list(spec.submodule_search_locations)
                _exec(code, copy.__dict__)
        except _BaseException:
            continue
        modules[name] = copy

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

    _sources["<solution>"] = (_len(solution), None, solution.splitlines(True), "<solution>")
    g = {"__name__": "__main__"}
    t = {"__name__": "__main__", "__builtins__": _builtins, "__fbenv_modules__": modules}
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
        load_error = "missing function " + entry_point if _isinstance(error, _KeyError) else trace()
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
        raise _SystemExit(1)


def __fbenv_main(run=__fbenv_run, sys=__fbenv_sys, truncate=__fbenv_os.ftruncate):
    import marshal
    namespace = sys.modules["__main__"].__dict__
    for name in [name for name in namespace if name.startswith("__fbenv_")]:
        del namespace[name]  # nothing of the harness is left for the agent's code to find
    data = sys.stdin.buffer.read()  # 4-byte length, the run's values, then the suite (see harness_input)
    truncate(0, 0)  # the results marker in it is the harness's secret (see new_mark)
    head = int.from_bytes(data[:4], "big")
    run(*marshal.loads(data[4 : 4 + head]), *marshal.loads(data[4 + head :]))
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
    # The given code's annotations are not evaluated: List[float] would run typing's machinery in
    # every fresh run, and the tests only call the given helpers.
    given = compile(suite.given, "<given>", "exec", flags=__future__.annotations.compiler_flag)
    prelude = compile(suite.prelude, "<tests>", "exec")
    return marshal.dumps((given, prelude, tuple(codes), steps, _imports(suite.sources)))


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


def new_mark() -> str:
    """A marker for one run's results line: the public prefix and a secret part.

    Only the harness learns it (from stdin, which it then empties, and which the guard keeps out of
    reach in memory), so a line the agent's code prints, or a process it forked prints after the
    harness's line, is not taken for the results: without it such a line got a wrong solution 6/7
    of HumanEval/0's cases in 15 of 20 tries.
    """
    return RESULT_MARK + secrets.token_hex(12)


def harness_input(solution: str, suite: TestSuite, entry_point: str, mark: str) -> bytes:
    """The run's stdin: the agent's code (as data, compiled inside the run), the run's results
    marker (:func:`new_mark`) and the compiled tests.

    Two marshalled tuples behind a 4-byte length: this run's values, then the problem's cached suite.
    """
    head = marshal.dumps((solution, entry_point, mark, _SHOWN))
    return len(head).to_bytes(4, "big") + head + compiled_suite(suite)


def parse_results(stdout: str, cases: int, mark: str) -> list[dict[str, Any]] | None:
    """The per-case results the harness wrote behind ``mark``, or None when there are none or they
    are malformed."""
    at = stdout.rfind(mark)
    if at < 0:
        return None
    line = stdout[at + len(mark) :].split("\n", 1)[0]
    try:
        results = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(results, list) or len(results) != cases or not all(isinstance(r, dict) for r in results):
        return None
    return results
