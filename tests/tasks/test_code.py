"""The code family: HumanEval from its package, CodeFile from JSONL, judged in the sandbox."""

from __future__ import annotations

import json
import random
import re

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.tasks.code_answers import extract_code
from fbenv.tasks.code_checks import split_check
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
