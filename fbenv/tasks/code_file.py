"""``fbenv/CodeFile-v0``: programming problems from a JSONL file (MBPP's layout understood).

Each line is an object with
    ``prompt`` (or MBPP's ``text``): what to write;
    ``entry_point``: the function's name (default: the first ``def`` of the solution);
    tests as ``tests`` / MBPP's ``test_list`` (assert lines calling the function) or ``test`` (a
    module defining ``check(candidate)``, HumanEval style); optional ``setup`` / ``test_setup_code``;
    ``solution`` (or MBPP's ``code``): a reference program, used for the oracle and hint level 4;
    an optional ``id``.
Without ``path`` the team-written fixture shipped in ``fbenv/data`` is used.
"""

from __future__ import annotations

import ast
from typing import Any

from fbenv.tasks.code_checks import assert_lines_suite, split_check
from fbenv.tasks.code_task import CodeProblem, CodeTask
from fbenv.tasks.jsonl import read_problem_file, records

FIXTURE = "code_problems.jsonl"


class CodeFileTask(CodeTask):
    """Problems read from a JSONL file.

    Args:
        path: the JSONL file; None for the fixture that ships with fbenv.
        timeout: wall and CPU seconds each check may take in the sandbox.
    """

    def __init__(self, path: str | None = None, timeout: float = 3.0) -> None:
        super().__init__(timeout)
        text, label = read_problem_file(path, FIXTURE, "CodeFile")
        self.path = path
        self.problems = parse_code_problems(text, label)

    @property
    def name(self) -> str:
        return "code_file"


def parse_code_problems(text: str, label: str) -> list[CodeProblem]:
    """Read JSONL problems; every error names the file, the line number and what to fix."""
    problems: list[CodeProblem] = []
    for where, record in records(text, label, "'prompt', tests and 'solution'"):
        problems.append(_problem(record, where, len(problems)))
    if not problems:
        raise ValueError(f"{label} holds no problems; give one JSON object per line")
    return problems


def _problem(record: dict[str, Any], where: str, position: int) -> CodeProblem:
    prompt = record.get("prompt", record.get("text"))
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{where}: missing a non-empty string 'prompt' (or 'text')")
    solution = record.get("solution", record.get("code", ""))
    if not isinstance(solution, str):
        raise ValueError(f"{where}: 'solution' must be a string of Python code")
    entry_point = record.get("entry_point") or _first_def(solution)
    if not isinstance(entry_point, str) or not entry_point.isidentifier():
        raise ValueError(f"{where}: give 'entry_point', the name of the function to write")
    setup = record.get("setup", record.get("test_setup_code", "")) or ""
    try:
        if "test" in record:
            suite = split_check(str(record["test"]))
        else:
            asserts = record.get("tests", record.get("test_list"))
            if not isinstance(asserts, list) or not asserts or not all(isinstance(a, str) for a in asserts):
                raise ValueError("give 'tests' (a list of assert lines) or 'test' (a check(candidate) module)")
            suite = assert_lines_suite(asserts, setup)
    except SyntaxError as error:
        raise ValueError(f"{where}: the tests are not valid Python ({error.msg}, line {error.lineno})") from None
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    return CodeProblem(str(record.get("id", position)), prompt.strip(), entry_point, suite, solution)


def _first_def(solution: str) -> str | None:
    try:
        tree = ast.parse(solution)
    except SyntaxError:
        return None
    return next((n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
