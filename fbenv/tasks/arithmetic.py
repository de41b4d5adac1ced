"""``fbenv/Math-v0``: procedural multi-step arithmetic and simple algebra with exact steps.

fbenv generates each problem itself, so every intermediate value of the solution is known exactly
and process feedback is exact: the prompt asks for one ``a op b = c`` step per line and a final
``Answer: X``; each line is checked with rational arithmetic *and* against the solution's own
operations (operands in either order for ``+`` and ``*``). Instance ``i`` is generated from
``random.Random(seed * 1_000_003 + i)`` alone, so it is the same on every machine and run.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from fbenv.feedback import StepCheck, Verdict
from fbenv.tasks.answers import (
    apply_op,
    extract_final_answer,
    format_number,
    parse_number,
    parse_step,
)
from fbenv.tasks.base import Instance, Task


@dataclass(frozen=True)
class Level:
    """How hard a difficulty level is: operations per problem and the largest operand."""

    operations: int
    max_operand: int
    ops: str


LEVELS: dict[int, Level] = {
    1: Level(2, 9, "+-*"),
    2: Level(3, 20, "+-*"),
    3: Level(4, 50, "+-*/"),
    4: Level(5, 100, "+-*/"),
    5: Level(7, 999, "+-*/"),
}
PROBLEM_TYPES = ("mixed", "arithmetic", "algebra")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

FORMAT_INSTRUCTIONS = (
    "Work step by step: write each step on its own line in the form `a op b = c`, where op is one "
    "of + - * / and each line does one operation. Then give the final answer on the last line as "
    "`Answer: X`."
)


@dataclass(frozen=True)
class _Node:
    value: Fraction
    text: str
    op: str | None = None


class ArithmeticTask(Task):
    """Multi-step arithmetic expressions and linear equations with known intermediate values.

    Args:
        difficulty: 1-5; sets the number of operations (2 to 7) and operand size (up to 999).
        problems: ``"arithmetic"`` (evaluate an expression), ``"algebra"`` (solve a linear
            equation for x) or ``"mixed"`` (a quarter algebra).
        seed: selects the problem set; instance ``i`` depends only on (seed, difficulty, i).
    """

    family = "math"

    def __init__(self, difficulty: int = 2, problems: str = "mixed", seed: int = 0) -> None:
        if isinstance(difficulty, bool) or difficulty not in LEVELS:
            raise ValueError(f"difficulty must be one of {sorted(LEVELS)}, got {difficulty!r}")
        if problems not in PROBLEM_TYPES:
            raise ValueError(f"problems must be one of {', '.join(PROBLEM_TYPES)}, got {problems!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.difficulty = difficulty
        self.problems = problems
        self.seed = seed
        self.level = LEVELS[difficulty]

    @property
    def name(self) -> str:
        return "arithmetic"

    # --- generation --------------------------------------------------------------------------
    def instance(self, index: int) -> Instance:
        rng = random.Random(self.seed * 1_000_003 + index * 7 + self.difficulty)
        algebra = self.problems == "algebra" or (self.problems == "mixed" and rng.random() < 0.25)
        if algebra:
            question, steps, answer = self._equation(rng)
        else:
            question, steps, answer = self._expression(rng)
        reference = format_number(answer)
        lines = [f"{format_number(a)} {op} {format_number(b)} = {format_number(c)}" for a, op, b, c in steps]
        prompt = f"{question}\n\n{FORMAT_INSTRUCTIONS}"
        return Instance(
            task_id=f"arithmetic/d{self.difficulty}/{self.problems}/s{self.seed}/{index}",
            index=index,
            prompt=prompt,
            reference=reference,
            oracle_action="\n".join([*lines, f"Answer: {reference}"]),
            data={"steps": tuple(steps), "lines": tuple(lines)},
        )

    def _operand(self, rng: random.Random) -> int:
        return rng.randint(1, self.level.max_operand)

    def _expression(self, rng: random.Random) -> tuple[str, list, Fraction]:
        steps: list[tuple[Fraction, str, Fraction, Fraction]] = []
        root = self._tree(rng, self.level.operations, steps)
        return f"Compute the value of {root.text}.", steps, root.value

    def _tree(self, rng: random.Random, operations: int, steps: list) -> _Node:
        """A random expression with ``operations`` operations; appends its steps in post-order."""
        if operations == 0:
            value = self._operand(rng)
            return _Node(Fraction(value), str(value))
        left_ops = rng.randint(0, operations - 1)
        op = rng.choice(self.level.ops)
        right_steps: list = []
        right = self._tree(rng, operations - 1 - left_ops, right_steps)
        left_steps: list = []
        if op == "/" and left_ops == 0 and right.value != 0 and abs(right.value) <= 50:
            # Exact division: the dividend is a leaf that is a multiple of the divisor.
            dividend = right.value * rng.randint(1, 12)
            text = format_number(dividend)
            left = _Node(dividend, f"({text})" if dividend < 0 else text)
        else:
            if op == "/":
                op = rng.choice("+-")
            left = self._tree(rng, left_ops, left_steps)
            if op == "*" and abs(left.value * right.value) > 10 ** (2 + self.difficulty):
                op = rng.choice("+-")
        value = apply_op(left.value, op, right.value)
        assert value is not None  # division is only chosen with a nonzero divisor
        steps.extend(left_steps)
        steps.extend(right_steps)
        steps.append((left.value, op, right.value, value))
        text = f"{_wrap(left, op, right=False)} {op} {_wrap(right, op, right=True)}"
        return _Node(value, text, op)

    def _equation(self, rng: random.Random) -> tuple[str, list, Fraction]:
        top = min(self.level.max_operand, 12 * self.difficulty)
        x = Fraction(rng.randint(-top, top) or 1)
        a = rng.randint(2, max(3, top))
        b = rng.randint(1, self.level.max_operand)
        if self.difficulty >= 3 and rng.random() < 0.5:
            c = rng.randint(1, a - 1)
            d = a * x + b - c * x
            steps = [(Fraction(a), "-", Fraction(c), Fraction(a - c)), (d, "-", Fraction(b), d - b),
                     (d - b, "/", Fraction(a - c), x)]
            return (f"Solve for x: {a}x + {b} = {c}x + {format_number(d)}.", steps, x)
        rhs = a * x + b
        steps = [(rhs, "-", Fraction(b), rhs - b), (rhs - b, "/", Fraction(a), x)]
        return f"Solve for x: {a}x + {b} = {format_number(rhs)}.", steps, x

    # --- checking ----------------------------------------------------------------------------
    def check(self, instance: Instance, reply: str) -> Verdict:
        reference_steps: tuple = instance.data["steps"]
        lines: tuple[str, ...] = instance.data["lines"]
        answer = extract_final_answer(reply)
        steps = self._check_steps(reply, reference_steps, lines)
        form_error = None
        value = None
        if answer is None:
            form_error = "no final answer: end with a line `Answer: X`"
        else:
            value = parse_number(answer)
            if value is None:
                form_error = "the final answer is not a number"
        reference = parse_number(instance.reference)
        correct = value is not None and value == reference
        diagnostics: list[str] = []
        if value is not None and not correct:
            diagnostics.append(
                "your final answer is too large" if value > reference else "your final answer is too small"
            )
        if not steps and not correct:
            diagnostics.append("no steps were written")
        elif not correct and all(step.correct for step in steps) and len(steps) < len(lines):
            diagnostics.append("your steps are right but stop before the solution ends")
        return Verdict(
            correct=correct,
            score=1.0 if correct else 0.0,
            answer=answer,
            reference=instance.reference,
            steps=steps,
            form_error=form_error,
            expected_steps=lines,
            solution="\n".join([*lines, f"Answer: {instance.reference}"]),
            diagnostics=tuple(diagnostics),
        )

    @staticmethod
    def _check_steps(reply: str, reference_steps: tuple, lines: tuple[str, ...]) -> tuple[StepCheck, ...]:
        """Label each line that holds an ``=`` (the answer line aside) against the solution's steps."""
        unused = Counter(range(len(reference_steps)))
        checks: list[StepCheck] = []
        for raw in reply.splitlines():
            if "=" not in raw or extract_final_answer(raw) is not None:
                continue
            line = raw.strip()
            if len(checks) >= 200:
                break
            next_expected = next((lines[i] for i in range(len(lines)) if unused[i]), None)
            parsed = parse_step(line)
            if parsed is None:
                checks.append(StepCheck(len(checks), line, False, next_expected,
                                        "this line is not of the form `a op b = c`"))
                continue
            a, op, b, c = parsed
            result = apply_op(a, op, b)
            if result is None or result != c:
                checks.append(StepCheck(len(checks), line, False, next_expected, "the arithmetic is wrong"))
                continue
            match = next((i for i in range(len(reference_steps)) if unused[i]
                          and _same_operation(reference_steps[i], (a, op, b))), None)
            if match is None:
                checks.append(StepCheck(len(checks), line, False, next_expected,
                                        "the arithmetic is right, but the solution does not need this operation"))
                continue
            unused[match] -= 1
            checks.append(StepCheck(len(checks), line, True, lines[match], "right"))
        return tuple(checks)


def _same_operation(reference: tuple, step: tuple) -> bool:
    ra, rop, rb, _ = reference
    a, op, b = step
    if op != rop:
        return False
    return (a, b) == (ra, rb) or (op in "+*" and (b, a) == (ra, rb))


def _wrap(node: _Node, parent_op: str, *, right: bool) -> str:
    if node.op is None:
        return node.text
    if _PRECEDENCE[node.op] < _PRECEDENCE[parent_op] or (
        right and _PRECEDENCE[node.op] == _PRECEDENCE[parent_op] and parent_op in "-/"
    ):
        return f"({node.text})"
    return node.text
