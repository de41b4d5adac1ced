"""Unit tests as separate checks, and the harness program that runs them in the sandbox.

A HumanEval-style ``check(candidate)`` is split into its statements: a statement that holds an
``assert`` is one test case (one process label); the others (imports, helper values) are set-up run
in place, in order. ``assert f(x) == y`` cases are evaluated in two halves so the feedback can say
"expected y, got z", and a result only counts as equal when it is made of built-in types (an object
whose ``__eq__`` always answers True is a classic way to fake a pass).

The harness runs the agent's code, then every case, and writes one result line per run to stdout
behind a marker. When the tests hold objects written in Python (see :func:`needs_own_process`), the
agent's code runs in a process of its own and the tests call its functions through pipes. The
verdict's correctness never rests on the results line alone: the program ends with an exception when
any case failed, so the sandbox's positive success signal (a per-run nonce sent only
when the whole program ran to completion) is required for a pass, and per-case labels from a run
that did not complete are not trusted.
"""

from __future__ import annotations
import __future__

import ast
import functools
import importlib.util
import json
import marshal
import secrets
import sys
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
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
import linecache as __fbenv_linecache, marshal as __fbenv_marshal, os as __fbenv_os, struct as __fbenv_struct
import sys as __fbenv_sys, traceback as __fbenv_traceback, types as __fbenv_types

# Everything the harness uses is bound as defaults here, in the warm server: patching builtins, json
# or os in the agent's code cannot change how results are judged or written, and a run looks nothing
# up (each lookup in a fresh run copies pages on write).


def __fbenv_trace(*, _exc=__fbenv_sys.exc_info, _extract_tb=__fbenv_traceback.extract_tb,
                  _format_list=__fbenv_traceback.format_list,
                  _format_exception_only=__fbenv_traceback.format_exception_only):
    """The current exception, with the frames of the agent's code only."""
    kind, error, tb = _exc()
    frames = [f for f in _extract_tb(tb) if f.filename == "<solution>"]
    return "".join(_format_list(frames) + _format_exception_only(kind, error)).rstrip()


def __fbenv_plain_test(*, _type=type, _isinstance=isinstance, _all=all,
                       _types=(int, float, complex, bool, str, bytes, list, tuple, dict, set, frozenset, type(None))):
    def plain(value, depth=0):
        """Whether a value is made of built-in types only, so that it compares like one (an object
        whose __eq__ always answers True is a classic way to fake a pass)."""
        if depth > 100 or _type(value) not in _types:
            return False
        if _isinstance(value, dict):
            return _all(plain(k, depth + 1) and plain(v, depth + 1) for k, v in value.items())
        if _isinstance(value, (list, tuple, set, frozenset)):
            return _all(plain(v, depth + 1) for v in value)
        return True

    return plain


__fbenv_plain = __fbenv_plain_test()


# ---- the tests and the agent's code in one process (see __fbenv_main) ----------------------------------


def __fbenv_test_import(name, globals=None, locals=None, fromlist=(), level=0, _import=__import__):
    # The tests' __import__: their own copies of the modules they import (see __fbenv_load_here).
    copies = globals.get("__fbenv_modules__") if level == 0 and type(globals) is dict else None
    if copies and name in copies:
        return copies[name]
    return _import(name, globals, locals, fromlist, level)


# The tests' builtins, copied here in the warm server before any run: patching builtins.abs, or a
# global abs, in the agent's code changes nothing the tests use.
__fbenv_test_builtins = dict(__fbenv_builtins.__dict__, __import__=__fbenv_test_import)


def __fbenv_shield(t, imports, *, _builtins=__fbenv_test_builtins, _loaded=__fbenv_sys.modules,
                   _import_module=__fbenv_importlib.import_module, _Module=__fbenv_types.ModuleType,
                   _BaseException=BaseException):
    """Give the tests the builtins above and copies of the modules they import, before the agent's
    code runs beside them. Only for tests that hold no Python-level object the agent's code could
    reach (see ``needs_own_process``): the modules are compiled ones, whose namespaces are copied
    (patching math.fabs then changes nothing the tests use; a compiled function cannot be changed)."""
    modules = {}
    for name in imports:
        try:
            module = _loaded.get(name) or _import_module(name)
        except _BaseException:
            continue
        modules[name] = copy = _Module(name)
        copy.__dict__.update(module.__dict__)
    t.update(__builtins__=_builtins, __fbenv_modules__=modules)


def __fbenv_run_solution(solution, entry_point, *, _exec=exec, _compile=compile, _len=len, _callable=callable,
                         _sources=__fbenv_linecache.cache, _trace=__fbenv_trace, _BaseException=BaseException):
    """Run the agent's code in a namespace of its own: (that namespace, None), or (None, why not)."""
    _sources["<solution>"] = (_len(solution), None, solution.splitlines(True), "<solution>")
    g = {"__name__": "__main__"}
    try:
        _exec(_compile(solution, "<solution>", "exec"), g)
    except _BaseException:
        return None, _trace()
    if not _callable(g.get(entry_point)):
        return None, "missing function " + entry_point
    return g, None


def __fbenv_load_here(t, solution, entry_point, *, _run=__fbenv_run_solution, _builtins=__fbenv_test_builtins):
    """Run the agent's code in this process and bind its functions for the tests; None, or why not."""
    g, error = _run(solution, entry_point)
    if error is not None:
        return error
    candidate = g[entry_point]
    for name, value in g.items():  # the agent's other definitions, where the tests have none
        if name not in t and name not in _builtins and not name.startswith("__"):
            t[name] = value
    t["candidate"] = t[entry_point] = candidate
    return None


# ---- the agent's code in a process of its own --------------------------------------------------------
# Messages between the two processes: a 4-byte length, then the bytes.


def __fbenv_send(fd, data, *, _write=__fbenv_os.write, _len=len, _memoryview=memoryview):
    view = _memoryview(_len(data).to_bytes(4, "big") + data)
    while view:
        view = view[_write(fd, view):]


def __fbenv_receive(fd, most, *, _read=__fbenv_os.read, _len=len, _join=b"".join, _from_bytes=int.from_bytes):
    """One message, or None at end of file or when it would be longer than ``most`` bytes."""
    chunks, need, size = [], 4, None
    while need:
        chunk = _read(fd, need if need < 1 << 20 else 1 << 20)
        if not chunk:
            return None
        chunks.append(chunk)
        need -= _len(chunk)
        if not need and size is None:
            size = need = _from_bytes(_join(chunks), "big")
            chunks = []
            if size > most:
                return None
    return _join(chunks)


def __fbenv_program(inbox, outbox, *, _receive=__fbenv_receive, _send=__fbenv_send, _loads=__fbenv_marshal.loads,
                    _dumps=__fbenv_marshal.dumps, _run=__fbenv_run_solution, _callable=callable, _type=type,
                    _any=any, _getattr=getattr, _trace=__fbenv_trace, _plain=__fbenv_plain,
                    _exit=__fbenv_os._exit, _BaseException=BaseException, _mutable=(list, dict, set),
                    _builtins=__fbenv_builtins):
    """The agent's process: run its code, then answer the tests' calls until they are done.

    Everything it sends is built of built-in types (marshal format 2); the tests' process reads it
    as hostile data all the same (``__fbenv_decode``), since this process is the agent's to change.
    """
    message = _receive(inbox, 1 << 30)
    if message is None:
        _exit(0)
    g, error = _run(*_loads(message))
    if error is not None:
        _send(outbox, _dumps(("error", error), 2))
        _exit(0)
    names = [name for name in g if not name.startswith("__")]
    functions = [name for name in names if _callable(g[name])]
    values = {name: g[name] for name in names if not _callable(g[name]) and _plain(g[name])}
    _send(outbox, _dumps(("loaded", functions, values), 2))
    while True:
        message = _receive(inbox, 1 << 30)
        if message is None:
            _exit(0)
        name, args, kwargs = _loads(message)
        try:
            result = g[name](*args, **kwargs)
        except _BaseException as error:
            kind = _type(error)
            builtin = _getattr(_builtins, kind.__name__, None) is kind
            _send(outbox, _dumps(("raise", kind.__name__ if builtin else "", _trace()), 2))
            continue
        # The arguments go back when the call may have changed them (a list sorted in place).
        changed = [a if _type(a) in _mutable else None for a in args]
        if not _any(a is not None for a in changed) or not _plain(changed):
            changed = None
        reply = ("ok", result, changed) if _plain(result) else ("object", _type(result).__name__, changed)
        _send(outbox, _dumps(reply, 2))


# The harness defines no class with methods of its own: code running beside the tests finds every
# class through object.__subclasses__(), and a method's __globals__ would be the harness's namespace
# (its functions' keyword defaults, which a dict holds, could then be changed).


class __FbenvCallFailed(Exception):
    """A call into the agent's process failed (the message says how)."""


__FbenvCallFailed.__name__ = __FbenvCallFailed.__qualname__ = "CallFailed"  # as feedback shows it
# What a call returned that is not made of built-in types (it stays in the agent's process): a
# SimpleNamespace(fbenv_object=its type's name), which no built-in value equals.


def __fbenv_decode(data, *, _from_bytes=int.from_bytes, _len=len, _complex=complex,
                   _unpack=__fbenv_struct.unpack_from, _ValueError=ValueError):
    """What the agent's process sent (marshal format 2, built-in types only), read without trusting
    it: anything else, or malformed data, raises ValueError."""
    pos = 0

    def take(n):
        nonlocal pos
        if n < 0 or pos + n > _len(data):
            raise _ValueError("truncated")
        pos += n
        return data[pos - n : pos]

    def size():
        n = _from_bytes(take(4), "little", signed=True)
        if n < 0 or n > _len(data):
            raise _ValueError("bad length")
        return n

    def value(depth):
        if depth > 200:
            raise _ValueError("too deep")
        code = take(1)[0]
        if code == 0x4E:  # N
            return None
        if code in (0x54, 0x46):  # T F
            return code == 0x54
        if code == 0x69:  # i
            return _from_bytes(take(4), "little", signed=True)
        if code == 0x6C:  # l: the count of 15-bit digits, signed as the number is
            n = _from_bytes(take(4), "little", signed=True)
            digits = take(2 * abs(n))
            total = 0
            for i in range(abs(n) - 1, -1, -1):
                digit = _from_bytes(digits[2 * i : 2 * i + 2], "little")
                if digit >= 1 << 15:
                    raise _ValueError("bad digit")
                total = (total << 15) | digit
            return -total if n < 0 else total
        if code == 0x67:  # g
            return _unpack("<d", take(8))[0]
        if code == 0x79:  # y
            return _complex(*_unpack("<dd", take(16)))
        if code in (0x75, 0x74):  # u t
            return take(size()).decode("utf-8", "surrogatepass")
        if code == 0x73:  # s
            return bytes(take(size()))
        if code in (0x28, 0x5B, 0x3C, 0x3E):  # ( [ < >
            items = [value(depth + 1) for _ in range(size())]
            return tuple(items) if code == 0x28 else items if code == 0x5B else set(items) if code == 0x3C \
                else frozenset(items)
        if code == 0x7B:  # {: keys and values, then a null
            out = {}
            while data[pos : pos + 1] != b"0":
                key = value(depth + 1)
                out[key] = value(depth + 1)
            take(1)
            return out
        raise _ValueError("unexpected type %r" % code)

    try:
        result = value(0)
    except (TypeError, RecursionError):  # an unhashable key or member, or nesting past the stack
        raise _ValueError("malformed") from None
    if pos != _len(data):
        raise _ValueError("trailing data")
    return result


def __fbenv_call(outbox, inbox, name, args, kwargs, *, _send=__fbenv_send, _receive=__fbenv_receive,
                 _decode=__fbenv_decode, _dumps=__fbenv_marshal.dumps, _builtins=__fbenv_builtins,
                 _type=type, _isinstance=isinstance, _issubclass=issubclass, _getattr=getattr, _zip=zip,
                 _len=len, _tuple=tuple, _list=list, _dict=dict, _set=set, _Failed=__FbenvCallFailed,
                 _Object=__fbenv_types.SimpleNamespace, _BaseException=BaseException, _ValueError=ValueError):
    """Call the agent's function ``name`` in its process; its result, or its exception raised here."""
    try:
        request = _dumps((name, args, kwargs))
    except _ValueError:
        raise _Failed("the tests pass %s a value that cannot reach the program's process" % name) from None
    try:
        _send(outbox, request)
        reply = _receive(inbox, 1 << 28)
    except OSError:
        reply = None
    if reply is None:
        raise _Failed("the program's process ended before the call to %s returned" % name)
    try:
        answer = _decode(reply)
        kind = answer[0] if _type(answer) is _tuple and _len(answer) == 3 else None
        if kind == "raise":
            exception, trace = answer[1:]
            cls = _getattr(_builtins, exception, None) if exception else None
            if not (_isinstance(cls, _type) and _issubclass(cls, _BaseException)):
                cls = _Failed
            last = trace.rsplit("\n", 1)[-1]
            try:
                error = cls(last)
            except _BaseException:
                error = _Failed(last)
            error.fbenv_trace = trace
        elif kind in ("ok", "object"):
            result, changed = (_Object(fbenv_object=answer[1]) if kind == "object" else answer[1]), answer[2]
            for old, new in _zip(args, changed or ()):  # what the call changed in place
                if new is not None and _type(new) is _type(old) is _list:
                    old[:] = new
                elif new is not None and _type(new) is _type(old) and _type(old) in (_dict, _set):
                    old.clear()
                    old.update(new)
        else:
            raise _ValueError
    except (_ValueError, TypeError, AttributeError):
        raise _Failed("the program's process answered the call to %s with something unreadable" % name) from None
    if kind == "raise":
        raise error
    return result


def __fbenv_load_apart(t, solution, entry_point, outbox, inbox, *, _send=__fbenv_send, _receive=__fbenv_receive,
                       _decode=__fbenv_decode, _call=__fbenv_call, _dumps=__fbenv_marshal.dumps,
                       _builtins=__fbenv_builtins.__dict__, _type=type, _len=len, _tuple=tuple, _list=list,
                       _dict=dict, _str=str, _ValueError=ValueError):
    """Have the agent's process run its code, and bind stand-ins for its functions (each call runs
    there) and copies of its plain values for the tests; None, or why not."""
    _send(outbox, _dumps((solution, entry_point)))
    reply = _receive(inbox, 1 << 28)
    try:
        answer = _decode(reply) if reply is not None else ("error", "the program's process ended")
        if _type(answer) is not _tuple or not answer:
            raise _ValueError
        if answer[0] == "error" and _len(answer) == 2 and _type(answer[1]) is _str:
            return answer[1]
        _, functions, values = answer
        if answer[0] != "loaded" or _type(functions) is not _list or _type(values) is not _dict:
            raise _ValueError
    except (_ValueError, TypeError, IndexError):
        return "the program's process sent something unreadable"

    def stand_in(name):
        def call(*args, **kwargs):
            return _call(outbox, inbox, name, args, kwargs)

        call.__name__ = call.__qualname__ = name
        return call

    for name in functions:  # the agent's other definitions, where the tests have none
        if _type(name) is _str and name not in t and name not in _builtins:
            t[name] = stand_in(name)
    for name, value in values.items():
        if _type(name) is _str and name not in t and name not in _builtins:
            t[name] = value
    t["candidate"] = t[entry_point] = stand_in(entry_point)
    return None


# ---- the tests -------------------------------------------------------------------------------------------


def __fbenv_json_dumps(*, _make=getattr(__fbenv_json.encoder, "c_make_encoder", None), _join="".join,
                       _dumps=__fbenv_json.dumps, _encoder=__fbenv_json.encoder):
    """``json.dumps`` as one C call: the results are plain (lists, dicts, str, bool), and the Python
    layers of json.dumps cost a fresh run ~20 page faults."""
    if _make is None:
        return _dumps
    encode = _make(None, _encoder.JSONEncoder().default, _encoder.encode_basestring_ascii, None, ": ", ", ",
                   False, False, True)
    return lambda value, _encode=encode: _join(_encode(value, 0))


def __fbenv_check(t, load_error, mark, shown, codes, steps, *, _write=__fbenv_os.write, _dumps=__fbenv_json_dumps(),
                  _trace=__fbenv_trace, _plain=__fbenv_plain, _Object=__fbenv_types.SimpleNamespace, _exec=exec,
                  _eval=eval, _zip=zip, _repr=repr, _str=str, _type=type, _len=len, _all=all, _getattr=getattr,
                  _exc=__fbenv_sys.exc_info, _AssertionError=AssertionError, _BaseException=BaseException,
                  _SystemExit=SystemExit):
    """Run every case, write the results behind the run's marker, and end with an exception unless
    all passed."""

    def short(text):
        return text if _len(text) <= shown else text[: shown - 3] + "..."

    def trace():  # the agent's process sends its own traceback with the exception
        return short(_getattr(_exc()[1], "fbenv_trace", None) or _trace())

    results = []
    for (kind, source, call), code in _zip(steps, codes):
        if load_error is not None:
            if kind == "case":
                results.append({"ok": False, "error": short(load_error), "load": True})
            continue
        if kind == "setup":
            try:
                _exec(code, t)
            except _BaseException:
                load_error = "the test set-up failed: " + trace()
            continue
        try:
            if call is not None:
                actual, want = _eval(code[0], t), _eval(code[1], t)
                if _plain(actual) and actual == want:
                    results.append({"ok": True})
                else:
                    # (a result that stayed in the agent's process comes as a namespace naming its type)
                    held = _getattr(actual, "fbenv_object", None) if _type(actual) is _Object else None
                    results.append({"ok": False, "call": short(call), "expected": short(_repr(want)),
                                    "actual": short(_repr(actual)) if _plain(actual) else "an object of type "
                                    + short(held if _type(held) is _str else _type(actual).__name__)})
            else:
                _exec(code, t)
                results.append({"ok": True})
        except _AssertionError:
            results.append({"ok": False, "assert": short(source)})
        except _BaseException:
            results.append({"ok": False, "error": trace()})
    _write(1, ("\n" + mark + _dumps(results) + "\n").encode())
    if load_error is not None or not _all(r["ok"] for r in results):
        raise _SystemExit(1)


def __fbenv_read_all(fd, *, _read=__fbenv_os.read, _fstat=__fbenv_os.fstat, _join=b"".join, _max=max):
    """All of ``fd`` (the run's stdin, a file): one read as a rule, where sys.stdin.buffer.read()
    took a buffered reader's several."""
    chunks, size = [], _max(_fstat(fd).st_size + 1, 1 << 16)
    while True:
        chunk = _read(fd, size)
        if not chunk:
            return _join(chunks)
        chunks.append(chunk)


def __fbenv_main(apart=False, *, shield=__fbenv_shield, load_here=__fbenv_load_here, load_apart=__fbenv_load_apart,
                 check=__fbenv_check, program=__fbenv_program, trace=__fbenv_trace, sys=__fbenv_sys, os=__fbenv_os,
                 read_all=__fbenv_read_all, loads=__fbenv_marshal.loads, _exec=exec,
                 _BaseException=BaseException):
    # Nothing of the harness is left for the agent's code to find: __fbenv_main is the one name a
    # run gets (the server gives runs the warm code's __all__).
    sys.modules["__main__"].__dict__.pop("__fbenv_main", None)
    if apart:
        # The agent's code runs in a process of its own, forked before this one reads its input
        # (the tests, the results marker): the tests call its functions through pipes, so nothing it
        # does to its process (builtins, modules, classes, the tests' objects it is given) reaches
        # the tests or their report.
        program_reads, tests_write = os.pipe()
        tests_read, program_writes = os.pipe()
        pid = os.fork()  # on the tests' CPU: code_sandbox() pins its workers, and what they fork
        if pid == 0:
            os.close(tests_write)
            os.close(tests_read)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)  # the harness's input is not the program's
            os.close(devnull)
            os.close(3)  # the run's success token goes out on fd 3, from the tests' process only
            try:
                program(program_reads, program_writes)
            finally:
                os._exit(0)  # never on into the tests' code below
        os.close(program_reads)
        os.close(program_writes)
    data = read_all(0)  # 4-byte length, the run's values, then the suite (see harness_input)
    os.ftruncate(0, 0)  # the results marker in it is the harness's secret (see new_mark)
    head = int.from_bytes(data[:4], "big")
    solution, entry_point, mark, shown = loads(data[4 : 4 + head])
    given, prelude, codes, steps, imports = loads(data[4 + head :])
    t = {"__name__": "__main__"}
    if not apart:
        shield(t, imports)
    try:
        _exec(given, t)  # the problem's own code and the tests' definitions, before the agent's code
        _exec(prelude, t)
    except _BaseException:
        error = "the test set-up failed: " + trace()
    else:
        error = None
    if not apart:
        check(t, error or load_here(t, solution, entry_point), mark, shown, codes, steps)
        return
    try:
        check(t, error or load_apart(t, solution, entry_point, tests_write, tests_read), mark, shown, codes, steps)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


__all__ = ["__fbenv_main"]  # the one name a run gets (the rest it reaches through its defaults)
'''

#: Trusted source compiled once per sandbox worker (see ``Sandbox(warm=...)``).
HARNESS = _HARNESS
#: What each run executes: the harness, reading the agent's code and the cases from stdin; the
#: second runs the agent's code in a process of its own (see :func:`needs_own_process`).
HARNESS_CALL = "__fbenv_main()\n"
HARNESS_CALL_APART = "__fbenv_main(True)\n"


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
            steps.append(["setup", item, None])
            codes.append(compile(item, "<tests>", "exec"))
        else:
            assert isinstance(item, TestCase)
            steps.append(["case", item.source, item.call])
            if item.call is not None and item.expected is not None:
                codes.append((compile(item.call, "<tests>", "eval"), compile(item.expected, "<tests>", "eval")))
            else:
                codes.append(compile(item.source, "<tests>", "exec"))
    # The given code's annotations are not evaluated: List[float] would run typing's machinery in
    # every fresh run, and the tests only call the given helpers.
    given = compile(suite.given, "<given>", "exec", flags=__future__.annotations.compiler_flag)
    prelude = compile(suite.prelude, "<tests>", "exec")
    return marshal.dumps((given, prelude, tuple(codes), steps, _read_tests(suite)[0]))


@functools.lru_cache(maxsize=1024)
def _read_tests(suite: TestSuite) -> tuple[tuple[str, ...], bool]:
    """What the tests' code (given code included) imports, top-level module names; and whether it
    defines a function, class or lambda."""
    names: set[str] = set()
    defines = False
    for source in [suite.given, *suite.sources]:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                defines = True
    return tuple(sorted(names)), defines


@functools.lru_cache(maxsize=1024)
def needs_own_process(suite: TestSuite) -> bool:
    """Whether the agent's code must run in a process apart from the tests.

    It must when the tests hold a Python-level object that code in their process could reach and
    change: a function or class they define (a lambda they pass to the agent's function carries the
    tests' globals, a class is found through ``object.__subclasses__()``), or a module written in
    Python (its classes lead to its globals: patching the tests' copy of random through
    ``_random.Random.__subclasses__()`` passed HumanEval/32 with a wrong answer, and string's
    ``Template`` made HumanEval/38's random letters all "a"). Otherwise the tests see only built-in
    objects and copies of compiled modules, and both can share one process, which is much cheaper
    (a second fork, and a round trip per call).
    """
    imports, defines = _read_tests(suite)
    return defines or not all(_compiled(name) for name in imports)


def _compiled(module: str) -> bool:
    """Whether a module is built into the interpreter or a compiled extension (no Python code)."""
    if module in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None and spec.origin.endswith(tuple(EXTENSION_SUFFIXES))


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
