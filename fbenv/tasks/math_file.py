"""``fbenv/MathFile-v0``: math word problems from a JSONL file (GSM8K's layout understood).

Each line is an object with ``question`` (or ``problem``) and ``answer``; an answer in GSM8K's
form (worked solution, then ``#### 72``) gives both the reference (``72``) and the worked solution
the critic may show at hint level 4. An optional ``id`` names the problem. Answers are compared
with the exact path of :func:`fbenv.tasks.answers.math_equal` first and math-verify only when that
cannot decide. Without ``path``, the team-written fixture shipped in ``fbenv/data`` is used.
"""

from __future__ import annotations

import re
from typing import Any

from fbenv.feedback import Verdict
from fbenv.tasks.answers import (
    check_calculations,
    direction_note,
    extract_final_answer,
    math_equal,
    parse_number,
)
from fbenv.tasks.base import Instance, Task
from fbenv.tasks.jsonl import read_problem_file, records

FIXTURE = "math_word_problems.jsonl"
ANSWER_INSTRUCTIONS = "Show your reasoning, then give the final answer on the last line as `Answer: X`."
_CALCULATOR = re.compile(r"<<[^<>]*>>")
_GSM8K_ANSWER = re.compile(r"####\s*(.*)$", re.DOTALL)


class MathFileTask(Task):
    """Question/answer pairs read from a JSONL file.

    Args:
        path: the JSONL file; None for the fixture that ships with fbenv.
    """

    family = "math"

    def __init__(self, path: str | None = None) -> None:
        text, label = read_problem_file(path, FIXTURE, "MathFile")
        self.path = path
        self.problems = parse_problems(text, label)

    @property
    def name(self) -> str:
        return "math_file"

    def __len__(self) -> int:
        return len(self.problems)

    def instance(self, index: int) -> Instance:
        problem = self.problems[index]
        return Instance(
            task_id=f"math_file/{problem['id']}",
            index=index,
            prompt=f"{problem['question']}\n\n{ANSWER_INSTRUCTIONS}",
            reference=problem["reference"],
            oracle_action=f"Answer: {problem['reference']}",
            data={"solution": problem["solution"], "value": problem["value"]},
        )

    def check(self, instance: Instance, reply: str) -> Verdict:
        answer = extract_final_answer(reply)
        if answer is None:  # an agent trained on GSM8K may end with "#### 72"
            match = _GSM8K_ANSWER.search(reply[-1000:])
            if match and match.group(1).strip():
                answer = match.group(1).strip()
        value = None if answer is None else parse_number(answer)
        reference_value = instance.data["value"]
        if value is not None and reference_value is not None:
            correct = value == reference_value  # both plain numbers: the exact path decides
        else:
            correct = answer is not None and math_equal(answer, instance.reference)
        note = None if correct else direction_note(value, reference_value)
        solution = instance.data["solution"]
        return Verdict(
            correct=correct,
            score=1.0 if correct else 0.0,
            answer=answer,
            reference=instance.reference,
            steps=check_calculations(reply),
            form_error=None if answer is not None else "no final answer: end with a line `Answer: X`",
            solution=f"{solution}\nAnswer: {instance.reference}" if solution else f"Answer: {instance.reference}",
            diagnostics=(note,) if note else (),
        )


def parse_problems(text: str, label: str) -> list[dict[str, Any]]:
    """Read JSONL problems; every error names the file, the line number and what to fix."""
    problems: list[dict[str, Any]] = []
    for where, record in records(text, label, "'question' and 'answer'"):
        question = record.get("question", record.get("problem"))
        answer = record.get("answer")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{where}: missing a non-empty string 'question' (or 'problem')")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        if not isinstance(answer, str) or not answer.strip():
            raise ValueError(f"{where}: missing a non-empty 'answer' (a string or a number)")
        solution, reference = _split_answer(answer)
        if not reference:
            raise ValueError(f"{where}: the answer after '####' is empty")
        problem_id = record.get("id", len(problems))
        problems.append({"id": str(problem_id), "question": question.strip(), "reference": reference,
                         "solution": solution, "value": parse_number(reference)})
    if not problems:
        raise ValueError(f"{label} holds no problems; give one JSON object per line")
    return problems


def _split_answer(answer: str) -> tuple[str, str]:
    """GSM8K's ``worked solution #### 72`` → (solution without calculator marks, "72")."""
    match = _GSM8K_ANSWER.search(answer)
    if match is None:
        return "", answer.strip()
    solution = _CALCULATOR.sub("", answer[: match.start()]).strip()
    reference = match.group(1).strip()
    if parse_number(reference) is not None:
        reference = reference.replace(",", "")  # "1,577" → "1577"
    return solution, reference
