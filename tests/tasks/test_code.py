"""The code family: HumanEval from its package, CodeFile from JSONL, judged in the sandbox."""

from __future__ import annotations

import contextlib
import json
import marshal
import math
import os
import random
import re
import sys
import textwrap

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.tasks.code_answers import extract_code
from fbenv.tasks.code_checks import HARNESS, assert_lines_suite, needs_own_process, split_check
from fbenv.tasks.code_file import CodeFileTask
from fbenv.tasks.humaneval import HumanEvalTask, load_humaneval

PROBLEMS = load_humaneval()


@pytest.fixture(scope="module")
def humaneval() -> HumanEvalTask:
    return HumanEvalTask()


def test_all_164_problems_come_from_the_package_and_split_into_cases() -> None:
    assert len(PROBLEMS) == 164
    assert all(p.suite.cases for p in PROBLEMS)
    assert sum(len(p.suite.cases) for p in PROBLEMS) > 164 * 3


@pytest.mark.slow
def test_all_164_canonical_solutions_pass(humaneval: HumanEvalTask) -> None:
    failed = []
    for index in range(len(humaneval)):
        inst = humaneval.instance(index)
        verdict = humaneval.check(inst, inst.oracle_action)
        if not verdict.correct:
            failed.append((inst.task_id, verdict.steps[:1], verdict.diagnostics))
    assert failed == []


@pytest.mark.slow
@pytest.mark.parametrize("body", ["    return None\n", "    pass\n"])
def test_every_problem_fails_with_an_empty_body(humaneval: HumanEvalTask, body: str) -> None:
    passed = [p.problem_id for i, p in enumerate(PROBLEMS)
              if humaneval.check(humaneval.instance(i), f"```python\n{p.prompt}{body}```").correct]
    assert passed == []


def mutate(solution: str, rng: random.Random) -> str | None:
    """An off-by-one or a swapped operator somewhere in the canonical body."""
    swaps = [(" + ", " - "), (" - ", " + "), (" < ", " <= "), (" <= ", " < "), (" > ", " >= "), (" >= ", " > "),
             (" == ", " != "), (" != ", " == "), (" * ", " // "), (" and ", " or "), (" or ", " and ")]
    rng.shuffle(swaps)
    numbers = [m for m in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", solution)]
    if numbers and rng.random() < 0.4:
        m = rng.choice(numbers)
        return solution[: m.start()] + str(int(m.group(1)) + 1) + solution[m.end():]
    for old, new in swaps:
        positions = [m.start() for m in re.finditer(re.escape(old), solution)]
        if positions:
            at = rng.choice(positions)
            return solution[:at] + new + solution[at + len(old):]
    return None


@pytest.mark.slow
def test_seeded_mutants_mostly_fail(humaneval: HumanEvalTask) -> None:
    rng = random.Random(0)
    outcomes = []
    for index, problem in enumerate(PROBLEMS):
        body = problem.solution[len(problem.prompt):]
        mutant = mutate(body, rng)
        if mutant is None:
            continue
        outcomes.append(humaneval.check(humaneval.instance(index), problem.prompt + mutant).correct)
    rate = 1 - sum(outcomes) / len(outcomes)
    print(f"mutants killed: {rate:.1%} of {len(outcomes)}")
    assert len(outcomes) >= 120 and rate >= 0.8


def test_text_feedback_names_the_failing_test_input_expected_and_actual() -> None:
    env = gym.make("fbenv/HumanEval-v0", feedback="text", hint_level=3)
    env.reset(options={"task_index": 0})
    problem = PROBLEMS[0]
    obs, reward, terminated, _, info = env.step(f"```python\n{problem.prompt}    return False\n```")
    assert not terminated and reward == 0.0
    assert "The first failing test is the first test: `candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)`" in obs
    assert "expected True, got False" in obs
    assert info["verdict"].unit == "test" and 0 < info["verdict"].score < 1


def test_exceptions_come_back_with_a_traceback_trimmed_to_the_agents_code() -> None:
    env = gym.make("fbenv/HumanEval-v0", feedback="text", hint_level=3)
    env.reset(options={"task_index": 0})
    obs, *_ = env.step(f"```python\n{PROBLEMS[0].prompt}    return numbers[99] > threshold\n```")
    assert "IndexError" in obs and 'File "<solution>"' in obs and "numbers[99]" in obs
    assert "<tests>" not in obs and "__fbenv_run" not in obs


def test_process_feedback_labels_each_test_case() -> None:
    env = gym.make("fbenv/HumanEval-v0", feedback="process")
    env.reset(options={"task_index": 2})  # truncate_number: return number % 1.0
    problem = PROBLEMS[2]
    _, reward, _, _, info = env.step(f"```python\n{problem.prompt}    return 0.5\n```")
    labels = info["feedback"].step_labels
    assert len(labels) == len(problem.suite.cases) + 1 and labels[-1] is False
    assert labels[0] is True and not all(labels[:-1])  # truncate_number(3.5) == 0.5 holds by luck


def test_faking_a_pass_does_not_work() -> None:
    task = HumanEvalTask()
    inst = task.instance(0)
    fakes = [
        "class T:\n    def __eq__(self, other): return True\ndef has_close_elements(a, b): return T()",
        "import os\nos._exit(0)",
        "import sys\nsys.exit(0)",
        "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n"
        "def has_close_elements(a, b): return 1",
        "def has_close_elements(a, b):\n    import os\n"
        "    os.write(1, b'\\x1e__fbenv_results__[{\"ok\": true}]\\n')\n    os._exit(0)",
    ]
    for fake in fakes:
        assert not task.check(inst, fake).correct, fake


# The checker runs in the same process as the agent's code. A program that gets hold of a frame can
# walk down to the checker's frames: read each case's expected value and return it (CHEAT: with the
# guard disarmed it passes all 7 of HumanEval/0's cases), or read the results marker and the number of
# cases and forge the report (FORGE: stopped twice, since the success token is no frame's variable).
FORGE = r"""
import json, os
def forge(frame):
    token = count = mark = None
    while frame is not None:
        for name, value in frame.f_locals.items():
            if name == "steps" and isinstance(value, list):
                count = sum(1 for step in value if step[0] == "case")
            if name == "mark" and isinstance(value, str):
                mark = value
            if isinstance(value, list) and value and isinstance(value[0], bytes) and len(value[0]) == 16:
                token = value[0]
        frame = frame.f_back
    os.write(1, ("\n" + mark + json.dumps([{"ok": True}] * count) + "\n").encode())
    os.write(3, token)
    os._exit(0)
"""
CHEAT = r"""
def cheat(frame):
    while frame is not None:
        tests = [value for value in frame.f_locals.values() if isinstance(value, dict) and "candidate" in value]
        if isinstance(frame.f_locals.get("code"), tuple) and tests:
            return eval(frame.f_locals["code"][1], tests[0])  # the expected value, in the tests' namespace
        frame = frame.f_back
"""
FRAME_SOURCES = {
    "sys._getframe": "import sys\nreturn {attack}(sys._getframe())",
    "inspect": "import inspect\nreturn {attack}(inspect.currentframe())",
    "a traceback": "try:\n    1 / 0\nexcept ZeroDivisionError as error:\n"
                   "    return {attack}(error.__traceback__.tb_frame)",
    "a running generator": "def gen():\n    yield {attack}(me[0].gi_frame)\nme = [gen()]\nreturn next(me[0])",
    "a trace function": "import sys\nfound = []\n"
                        "sys.settrace(lambda frame, *a: found.append({attack}(frame)))\n(lambda: 0)()\nreturn found[0]",
    "a signal handler": "import os, signal\nfound = []\n"
                        "signal.signal(signal.SIGUSR1, lambda n, frame: found.append({attack}(frame)))\n"
                        "os.kill(os.getpid(), signal.SIGUSR1)\nreturn found[0]",
}


@pytest.mark.parametrize("source", list(FRAME_SOURCES))
@pytest.mark.parametrize("attack", ["forge", "cheat"])
def test_reaching_the_checkers_frames_does_not_fake_a_pass(humaneval: HumanEvalTask, source: str, attack: str) -> None:
    inst = humaneval.instance(0)
    body = textwrap.indent(FRAME_SOURCES[source].format(attack=attack), "    ")
    reply = (FORGE if attack == "forge" else CHEAT) + "\ndef has_close_elements(numbers, threshold):\n" + body
    verdict = humaneval.check(inst, f"```python\n{reply}\n```")
    assert not verdict.correct and verdict.score == 0, (source, attack, verdict)
    assert "not allowed in a checked run" in str(verdict.steps[0].expected), verdict.steps[0]


POLY = "import math\ndef poly(xs, x):\n    return sum(c * math.pow(x, i) for i, c in enumerate(xs))\n"


@pytest.mark.parametrize(("index", "reply"), [
    # HumanEval/4's tests are all `assert abs(candidate(...) - x) < 1e-06`.
    (4, "abs = lambda value: 0\ndef mean_absolute_deviation(numbers):\n    return 0"),
    (4, "import builtins\nbuiltins.abs = lambda value: 0\ndef mean_absolute_deviation(numbers):\n    return 0"),
    # HumanEval/32's tests check `math.fabs(poly(coeffs, candidate(coeffs))) < 1e-4` over random coefficients.
    (32, POLY + "math.fabs = lambda value: 0\ndef find_zero(xs):\n    return 0"),
    (32, "def poly(xs, x):\n    return 0\ndef find_zero(xs):\n    return 0"),
    (32, POLY + "import random\nrandom.Random.randint = lambda self, a, b: 0\ndef find_zero(xs):\n    return 0"),
    # The harness itself evaluates every case with eval and exec.
    (0, "import builtins\nbuiltins.eval = lambda *a, **k: 1\nbuiltins.exec = lambda *a, **k: None\n"
        "def has_close_elements(numbers, threshold):\n    return None"),
    # A class leads to its module's globals, and __subclasses__ finds the tests' own copy of a module:
    # 32's random coefficients all 0 (any answer is a root), 38's random letters all "a".
    (32, "import _random\nfor cls in _random.Random.__subclasses__():\n    cls.randint = lambda self, a, b: 0\n"
         "def find_zero(xs):\n    return 0.0"),
    (38, "import string\nfor cls in object.__subclasses__():\n"
         "    if cls.__name__ == 'Template' and cls.__module__ == 'string' and cls is not string.Template:\n"
         "        cls.substitute.__globals__['ascii_lowercase'] = 'a'\ndef decode_cyclic(s):\n    return s"),
    # The same way into the harness's own namespace, had it a class with methods: a keyword default of
    # the function that judges the cases, changed (this one faked HumanEval/0 while the harness had one).
    (0, "for cls in object.__subclasses__():\n    for fn in vars(cls).values():\n"
        "        if '__fbenv_check' in (getattr(fn, '__globals__', None) or ()):\n"
        "            fn.__globals__['__fbenv_check'].__kwdefaults__['_plain'] = lambda value, depth=0: True\n"
        "class T:\n    def __eq__(self, other):\n        return True\n"
        "def has_close_elements(numbers, threshold):\n    return T()"),
])  # fmt: skip
def test_changing_what_the_tests_use_does_not_fake_a_pass(humaneval: HumanEvalTask, index: int, reply: str) -> None:
    # The tests see the builtins, their own modules and HumanEval's given helpers as they were before
    # the agent's code ran (all of these passed here before 2026-12-06: the 32 and 38 cases through
    # __subclasses__ until tests holding such objects ran apart from the agent's code, the last one
    # while the harness had a class with methods).
    verdict = humaneval.check(humaneval.instance(index), reply)
    assert not verdict.correct and verdict.score == 0, verdict


LATE_REPORT = r"""
import json, os, re
os.lseek(0, 0, os.SEEK_SET)
found = re.search(rb"\x1e__fbenv_results__[0-9a-f]*", os.read(0, 1 << 20))  # the run's marker, if stdin has it
mark = found.group().decode() if found else "\x1e__fbenv_results__"
r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    os.read(r, 1)  # end of file: the checked process has exited, after the harness's report
    report = [{"ok": True}] * (CASES - 1) + [{"ok": False, "assert": "x"}]
    os.write(1, ("\n" + mark + json.dumps(report) + "\n").encode())
    os._exit(0)
os.close(r)
def has_close_elements(numbers, threshold):
    return None
"""


def test_a_report_printed_after_the_harness_does_not_count(humaneval: HumanEvalTask) -> None:
    # A process the agent's code forked prints a report of its own once the checked process exits;
    # it lost its race with the sandbox's clean-up 5 times in 20 (the score was 6/7 in the others).
    inst = humaneval.instance(0)
    reply = LATE_REPORT.replace("CASES", str(len(inst.data["problem"].suite.cases)))
    scores = [humaneval.check(inst, f"```python\n{reply}\n```").score for _ in range(10)]
    assert scores == [0.0] * 10


def test_finding_the_token_through_gc_does_not_fake_a_pass(humaneval: HumanEvalTask) -> None:
    # The token waits on the evaluation stack while the program runs; gc can reach what frames hold.
    reply = """
import gc, json, os
token = [o[0] for o in gc.get_objects() if isinstance(o, list) and o and type(o[0]) is bytes and len(o[0]) == 16]
steps = [o for o in gc.get_objects() if isinstance(o, list) and o and isinstance(o[0], list) and o[0][:1] == ["case"]]
os.write(1, ("\\n\\x1e__fbenv_results__" + json.dumps([{"ok": True}] * len(steps[0])) + "\\n").encode())
os.write(3, token[0])
os._exit(0)
"""
    verdict = humaneval.check(humaneval.instance(0), f"```python\n{reply}\n```")
    assert not verdict.correct and "gc.get_objects is not allowed" in str(verdict.steps[0].expected), verdict.steps[0]


def test_tests_holding_python_objects_run_apart_from_the_agents_code(humaneval: HumanEvalTask) -> None:
    apart = [i for i in range(len(humaneval)) if needs_own_process(humaneval.instance(i).data["problem"].suite)]
    assert apart == [32, 38, 50, 53]  # random, string or copy (modules written in Python), or given helpers
    assert not needs_own_process(assert_lines_suite(["assert f(1) == 2"], "import math"))
    assert needs_own_process(assert_lines_suite(["assert f(lambda x: x) == 2"]))
    assert needs_own_process(assert_lines_suite(["assert f(1) == 2"], "import collections"))
    assert needs_own_process(assert_lines_suite(["assert f(1) == 2"], "class A:\n    pass"))


def test_no_class_of_the_harness_leads_to_its_namespace() -> None:
    # Code beside the tests finds every class through object.__subclasses__(); a method of one defined
    # by the harness would hand it the harness's globals (see the last case above).
    namespace: dict = {}
    exec(compile(HARNESS, "<warm>", "exec"), namespace)
    classes = [value for value in namespace.values() if isinstance(value, type)]
    assert classes and all(not callable(member) or isinstance(member, type) for cls in classes
                           for name, member in vars(cls).items() if name != "__weakref__")  # fmt: skip


def _apart_task(tmp_path, test: str, solution: str) -> CodeFileTask:
    """A one-problem CodeFile task whose tests define a function, so they run apart from the agent's code."""
    path = tmp_path / "apart.jsonl"
    path.write_text(json.dumps({"prompt": "Write f.", "solution": solution, "entry_point": "f",
                                "test": "def twice(x):\n    return 2 * x\n" + textwrap.dedent(test)}) + "\n")
    task = CodeFileTask(str(path))
    assert needs_own_process(task.instance(0).data["problem"].suite)
    return task


APART_TESTS = """
def check(candidate):
    xs = [3, 1, 2]
    assert candidate(xs) is None and xs == [1, 2, 3]
    try:
        candidate("no list")
        raised = False
    except AttributeError:
        raised = True
    assert raised
    assert helper(twice(2)) == {"n": (4, 4.5, None, b"x", frozenset({1}))}
"""
APART_SOLUTION = """
def helper(n):
    return {'n': (n, n + 0.5, None, b'x', frozenset({1}))}
def f(xs):
    xs.sort()
"""


def test_calls_into_the_agents_process_behave_like_calls(tmp_path) -> None:
    # In-place changes come back, built-in exceptions keep their type, helpers and values cross whole.
    task = _apart_task(tmp_path, APART_TESTS, APART_SOLUTION)
    inst = task.instance(0)
    verdict = task.check(inst, inst.oracle_action)
    assert verdict.correct, verdict.steps
    wrong = task.check(inst, APART_SOLUTION.replace("xs.sort()", "return sorted(xs)"))
    assert not wrong.correct and str(wrong.steps[0].expected).startswith("the assertion")  # xs stayed unsorted
    errors = task.check(inst, APART_SOLUTION + "    return 1 / 0\n")
    assert not errors.correct and "ZeroDivisionError" in str(errors.steps[0].expected)
    assert 'File "<solution>"' in str(errors.steps[0].expected)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="one CPU")
def test_the_tests_and_the_agents_process_share_a_cpu(tmp_path) -> None:
    # They pass every call back and forth: on one CPU a call is a switch, not a cross-CPU wake-up
    # (code_sandbox() pins each worker, and so everything a check forks, to a CPU of its own).
    tests = ("def check(candidate):\n    import os\n"
             "    assert candidate() == sorted(os.sched_getaffinity(0)) and len(candidate()) == 1\n")
    task = _apart_task(tmp_path, tests, "import os\ndef f():\n    return sorted(os.sched_getaffinity(0))\n")
    verdict = task.check(task.instance(0), task.instance(0).oracle_action)
    assert verdict.correct, verdict.steps


@pytest.mark.parametrize(("hostile", "seen"), [
    # garbage written to every fd, an object whose __eq__ always answers True, an exit during the
    # call, and a well-formed reply in marshal's format 4 (the decoder reads format 2 only)
    ("import os\ndef f(xs):\n    for fd in range(3, 12):\n        try:\n"
     "            os.write(fd, b'\\x00\\x00\\x00\\x03zzz')\n        except OSError:\n            pass\n",
     "answered the call to f with something unreadable"),
    ("class T:\n    def __eq__(self, other):\n        return True\ndef f(xs):\n    return T()\n",
     "the assertion `assert candidate(xs) is None"),
    ("import os\ndef f(xs):\n    os._exit(0)\n", "ended before the call to f returned"),
    ("import marshal, os\ndef f(xs):\n    for fd in range(3, 12):\n        try:\n"
     "            data = marshal.dumps(('ok', None, None))\n"
     "            os.write(fd, len(data).to_bytes(4, 'big') + data)\n        except OSError:\n            pass\n",
     "answered the call to f with something unreadable"),
])  # fmt: skip
def test_a_hostile_agent_process_does_not_fake_a_pass(tmp_path, hostile: str, seen: str) -> None:
    # Its replies are read as hostile data (what it may send is what its functions may return anyway),
    # and the tests' process reports each case itself.
    task = _apart_task(tmp_path, APART_TESTS, APART_SOLUTION)
    verdict = task.check(task.instance(0), hostile)
    assert not verdict.correct and verdict.score == 0, verdict.steps
    assert seen in str(verdict.steps[0].expected), verdict.steps[0]


def test_the_tests_read_what_the_agents_process_sends_as_hostile_data() -> None:
    namespace: dict = {}
    exec(compile(HARNESS, "<warm>", "exec"), namespace)
    decode = namespace["__fbenv_decode"]
    values = [None, True, False, 0, -1, 2**31, -(2**100), 10**5000, 1.5, -0.0, float("inf"), 1 + 2j, "", "é\U0001f600",
              "\ud800", b"\x00\xff", (), (1,), [1, [2, (3,)]], {1: "a", (1, 2): [3]}, set(), {1, 2}, frozenset({3}),
              ("ok", [1.0], None), sys.intern("interned")]  # fmt: skip
    for value in values:
        decoded = decode(marshal.dumps(value, 2))
        assert decoded == value and type(decoded) is type(value)
    assert math.isnan(decode(marshal.dumps(float("nan"), 2)))
    huge = (2**31 - 1).to_bytes(4, "little")
    refused = [marshal.dumps(compile("1", "x", "eval"), 2), marshal.dumps(("ok", 1)), b"(" + huge, b"l" + huge,
               b"[" * 300 + b"\x00" * 4, b"<\x01\x00\x00\x00[\x00\x00\x00\x00", marshal.dumps(1, 2) + b"x"]  # fmt: skip
    for data in refused:  # a code object, format 4, sizes past the data, too deep, an unhashable member, trailing data
        with pytest.raises(ValueError):
            decode(data)
    rng = random.Random(0)
    base = marshal.dumps(("ok", [1, 2.5, "x", (3, {4: b"y"}), {1, 2}], [[3, 2]]), 2)
    for _ in range(3000):  # damaged data decodes to something or raises ValueError, nothing else
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with contextlib.suppress(ValueError):
            decode(bytes(data[: rng.randint(1, len(data))] if rng.random() < 0.3 else data))


def test_code_extraction() -> None:
    reply = "Here:\n```python\ndef helper():\n    pass\n```\nand\n```python\ndef f(x):\n    return x\n```\nok"
    assert extract_code(reply, "f").startswith("def f(x)")
    assert extract_code("```\nprint(1)\n```") == "print(1)\n"
    assert extract_code("def f(): return 1") == "def f(): return 1"
    assert extract_code("```js\nconsole.log(1)\n```\nx = 1") == "```js\nconsole.log(1)\n```\nx = 1"


def test_split_check_keeps_setup_in_order() -> None:
    suite = split_check("def check(candidate):\n    import math\n    x = 2\n    assert candidate(x) == 4\n"
                        "    for i in range(3):\n        assert candidate(i) >= 0\n")
    assert [kind for kind, _ in suite.steps] == ["setup", "setup", "case", "case"]
    assert suite.cases[0].call == "candidate(x)" and suite.cases[1].call is None


def test_code_file_fixture_and_mbpp_layout(tmp_path) -> None:
    task = CodeFileTask()
    for index in range(len(task)):
        inst = task.instance(index)
        assert task.check(inst, inst.oracle_action).correct
        assert not task.check(inst, "def nothing(): pass").correct
    mbpp = {"text": "Write a function to add two numbers.", "code": "def add(a, b):\n    return a + b",
            "test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], "task_id": 7}
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps(mbpp) + "\n")
    env = gym.make("fbenv/CodeFile-v0", path=str(path), feedback="binary")
    env.reset(seed=0)
    assert env.step("def add(a, b):\n    return a - b")[0] == "Incorrect."
    assert env.step("```python\ndef add(a, b):\n    return a + b\n```")[0] == "Correct."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{bad", "line 1: not valid JSON"),
        ('{"prompt": "x", "solution": "def f(): pass"}', "line 1: give 'tests'"),
        ('{"prompt": "x", "solution": "def f(): pass", "tests": ["assert ("]}', "line 1: the tests are not valid"),
        ('{"prompt": "x", "tests": ["assert True"]}', "line 1: give 'entry_point'"),
        ('{"solution": "def f(): pass", "tests": ["assert True"]}', "line 1: missing a non-empty string 'prompt'"),
    ],
)
def test_code_file_errors_name_the_line(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        CodeFileTask(str(path))


def test_the_python_tool_runs_code_inside_the_episode() -> None:
    env = gym.make("fbenv/HumanEval-v0", feedback="binary", max_turns=5, max_tool_calls=1)
    env.reset(options={"task_index": 0})
    obs, reward, terminated, truncated, info = env.step("Let me try.\n<execute>\nprint(sum(range(10)))\n</execute>")
    assert "45" in obs and reward == 0.0 and not terminated and info["turn"] == 1
    assert info["verdict"] is None and info["tool"]["name"] == "python"
    obs, *_ = env.step("<execute>print(1)</execute>")
    assert "No more code execution" in obs
    _, reward, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and reward == 1.0 and info["turn"] == 3


def test_math_envs_have_no_tools_unless_asked() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary")
    env.reset(seed=0)
    obs, *_ = env.step("<execute>print(1)</execute>")
    assert obs == "Incorrect."
    env = gym.make("fbenv/Math-v0", feedback="binary", tools=["python"])
    env.reset(seed=0)
    obs, *_, info = env.step("<execute>print(6 * 7)</execute>")
    assert "42" in obs and info["tool"]["name"] == "python"


def test_level_one_names_what_is_wrong_in_form() -> None:
    env = gym.make("fbenv/HumanEval-v0", feedback="text", hint_level=1)
    env.reset(options={"task_index": 0})
    obs, *_ = env.step("```python\ndef has_close_elements(numbers, threshold:\n    return True\n```")
    assert "the code does not load (SyntaxError" in obs
    obs, *_ = env.step("")
    assert "no code found" in obs
    env = gym.make("fbenv/CodeFile-v0", feedback="text", hint_level=1)
    env.reset(options={"task_index": 0})
    obs, *_ = env.step("```python\ndef something_else():\n    return 1\n```")
    assert "the function `second_largest` is not defined" in obs
