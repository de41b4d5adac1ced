"""What every code task shares: a problem list, the sandboxed check, and its Verdict.

A code task only has to load :class:`CodeProblem` s (HumanEval from its package, a user's JSONL);
this module turns the agent's reply into a program (:mod:`fbenv.tasks.code_checks`), runs it in the
shared sandbox (:mod:`fbenv.tools.sandbox`) and explains the outcome as a Verdict with one step per
test case: which test failed, on what input, expected vs actual, or the exception with a traceback
trimmed to the agent's own code (the LeTI / MINT kind of feedback).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fbenv.feedback import StepCheck, Verdict
from fbenv.tasks.base import Instance, Task
from fbenv.tasks.code_answers import extract_code
from fbenv.tasks.code_checks import (
    HARNESS,
    HARNESS_CALL,
    HARNESS_CALL_APART,
    TestSuite,
    harness_input,
    needs_own_process,
    new_mark,
    parse_results,
)

if TYPE_CHECKING:
    from fbenv.tools.sandbox import Sandbox

CODE_INSTRUCTIONS = (
    "Reply with the complete function in a ```python code block. To run code before answering, "
    "put it in <execute>...</execute>; you will see its output."
)


@dataclass(frozen=True)
class CodeProblem:
    """One programming problem: the function to write, its tests and a reference solution."""

    problem_id: str
    prompt: str
    entry_point: str
    suite: TestSuite
    solution: str  # a complete reference program that passes the tests
    prompt_is_code: bool = False  # the prompt is the function's signature and docstring (HumanEval)


class CodeTask(Task):
    """Base for code tasks: subclasses fill ``self.problems`` and may override ``prompt_for``.

    Args:
        timeout: wall and CPU seconds each check may take in the sandbox.
    """

    family = "code"
    default_tools = ("python",)
    problems: list[CodeProblem]

    def __init__(self, timeout: float = 3.0) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
            raise ValueError(f"timeout must be a number of seconds in (0, 60], got {timeout!r}")
        self.timeout = float(timeout)
        from fbenv.tools.sandbox import Limits  # the sandbox module is only needed by code tasks

        self.limits = Limits(cpu_seconds=self.timeout, wall_seconds=self.timeout)

    def __len__(self) -> int:
        return len(self.problems)

    def prompt_for(self, problem: CodeProblem) -> str:
        """What the agent is asked; says which function to write and how to reply."""
        return (
            f"Write the Python function `{problem.entry_point}` described below. {CODE_INSTRUCTIONS}\n\n"
            f"```python\n{problem.prompt.rstrip()}\n```"
        )

    def instance(self, index: int) -> Instance:
        problem = self.problems[index]
        return Instance(
            task_id=f"{self.name}/{problem.problem_id}",
            index=index,
            prompt=self.prompt_for(problem),
            reference=problem.solution,
            oracle_action=f"```python\n{problem.solution.rstrip()}\n```",
            data={"problem": problem},
        )

    def close(self) -> None:
        """The shared sandbox outlives tasks; nothing to release here."""

    def code_for(self, problem: CodeProblem, reply: str) -> str:
        """The agent's code: the fenced or bare code, completing the given signature if needed."""
        code = extract_code(reply, problem.entry_point)
        if problem.prompt_is_code and f"def {problem.entry_point}" not in code and code.strip():
            code = problem.prompt + code  # a completion of the given signature, HumanEval style
        return code

    def check(self, instance: Instance, reply: str) -> Verdict:
        problem: CodeProblem = instance.data["problem"]
        code = self.code_for(problem, reply)
        cases = problem.suite.cases
        if not code.strip():
            return self._verdict(problem, (), False, "no code found: reply with the function in a ```python block")
        mark = new_mark()
        program = HARNESS_CALL_APART if needs_own_process(problem.suite) else HARNESS_CALL
        run = code_sandbox().run(program, stdin=harness_input(code, problem.suite, problem.entry_point, mark),
                                 limits=self.limits, success_token=True)
        results = parse_results(run.stdout, len(cases), mark)
        diagnostics = [f"isolation: {run.isolation}"]
        if run.status == "timeout":
            diagnostics.append(f"the program did not finish within {self.timeout:g} s")
        elif run.status == "killed":
            diagnostics.append(f"the program was killed by signal {run.signal} (memory or a crash)")
        if results is None or (all(r.get("ok") for r in results) and not run.passed):
            # No trustworthy per-test record: the run ended early, was killed, or faked its report.
            reason = diagnostics[-1] if len(diagnostics) > 1 else "the program ended before the tests finished"
            results = [{"ok": False, "error": reason}] * len(cases)
        pairs = enumerate(zip(cases, results, strict=True))
        steps = tuple(_step(i, case.source, result) for i, (case, result) in pairs)
        correct = run.passed and all(step.correct for step in steps)
        form_error = None
        if results and results[0].get("load"):  # nothing ran: the code does not even load
            last = str(results[0]["error"]).strip().splitlines()[-1]
            form_error = f"the code does not load ({last})" if not last.startswith("missing function") \
                else f"the function `{problem.entry_point}` is not defined"
        return self._verdict(problem, steps, correct, form_error, tuple(diagnostics))

    @staticmethod
    def _verdict(
        problem: CodeProblem, steps: tuple[StepCheck, ...], correct: bool, form_error: str | None,
        diagnostics: tuple[str, ...] = (),
    ) -> Verdict:
        passed = sum(step.correct for step in steps)
        return Verdict(
            correct=correct,
            score=1.0 if correct else (passed / len(problem.suite.cases) if problem.suite.cases else 0.0),
            answer=None,
            reference=problem.solution,
            steps=steps,
            form_error=form_error,
            solution=f"```python\n{problem.solution.rstrip()}\n```",
            diagnostics=diagnostics,
            unit="test",
        )


_sandbox: Sandbox | None = None
_sandbox_lock = threading.Lock()
# What the code-check workers import before forking checks: the modules HumanEval's and MBPP-style
# solutions and tests import most (typing, collections, itertools, functools, re, math and the
# server's own imports come with the server). Every preloaded module makes every check dearer (its
# memory is copied into each fork's page tables and torn down at each exit): against the sandbox's
# broad default preload this set cut a HumanEval check's CPU by 8-10 % (benchmarks/README.md). A
# check that imports something else (hashlib: 1 of 164 HumanEval problems) imports it in its run.
# random (the tests of 4 HumanEval problems import it) costs a run nothing preloaded: the server
# reseeds it after each fork in C (sandbox_server.preload), and importing it in a run cost ~2.7 ms.
CHECK_PRELOAD = ("typing", "collections", "collections.abc", "itertools", "functools", "operator", "math",
                 "cmath", "re", "string", "heapq", "bisect", "copy", "random")  # fmt: skip


def code_sandbox() -> Sandbox:
    """The process-wide sandbox for code checks: one worker per CPU, each with the test harness
    compiled once (``warm``), and the calls into it (``programs``), so a check only compiles the
    agent's code, and the modules of :data:`CHECK_PRELOAD` imported, each worker on a CPU of its
    own. Closed at exit."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            import atexit

            from fbenv.tools.sandbox import Sandbox

            _sandbox = Sandbox(workers=os.cpu_count(), warm=HARNESS, preload=CHECK_PRELOAD,
                               programs=(HARNESS_CALL, HARNESS_CALL_APART), pin_cpus=True)  # fmt: skip
            atexit.register(_sandbox.close)
        return _sandbox


def _step(index: int, source: str, result: dict) -> StepCheck:
    """One test case's check: which test, what went wrong (level 2), expected vs actual (level 3)."""
    if result.get("ok"):
        return StepCheck(index, source, True, None, "passes")
    if "call" in result:
        return StepCheck(index, source, False, f"expected {result['expected']}, got {result['actual']}",
                         f"`{result['call']}` returns the wrong value")
    if "error" in result:
        error = str(result["error"])
        last = error.strip().splitlines()[-1] if error.strip() else "an error"
        return StepCheck(index, source, False, error, f"it fails with {last}")
    return StepCheck(index, source, False, f"the assertion `{result.get('assert', source)}` is false",
                     "its assertion fails")
