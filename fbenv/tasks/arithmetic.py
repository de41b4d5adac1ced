"""``fbenv/Math-v0``: procedural multi-step arithmetic and simple algebra with exact steps.

fbenv generates each problem itself, so every intermediate value of the solution is known exactly
and process feedback is exact: the prompt asks for one ``a op b = c`` step per line and a final
``Answer: X``; each line is checked with exact arithmetic *and* against the solution's own
operations (operands in either order for ``+`` and ``*``, independent steps in any order).
Instance ``i`` depends only on (difficulty, problem type, seed, i), through
:class:`~fbenv.tasks.seeding.ItemRandom`, so it is the same on every machine and run. Every
intermediate value is an integer (division is only generated when exact).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbenv.feedback import StepCheck, Verdict
from fbenv.tasks.answers import (
    apply_op,
    direction_note,
    extract_final_answer,
    has_answer_mark,
    parse_number,
    parse_step,
)
from fbenv.tasks.base import Instance, Task
from fbenv.tasks.seeding import ItemRandom, item_key


@dataclass(frozen=True)
class Level:
    """How hard a difficulty level is: operations per problem, the largest operand, the operators."""

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
_MAX_CHECKED_LINES = 200
_NOT_A_STEP = "this line is not of the form `a op b = c`"
_WRONG_ARITHMETIC = "the arithmetic is wrong"
_OFF_PATH = "the arithmetic is right, but the solution does not need this operation"

FORMAT_INSTRUCTIONS = (
    "Work step by step: write each step on its own line in the form `a op b = c`, where op is one "
    "of + - * / and each line does one operation. Then give the final answer on the last line as "
    "`Answer: X`."
)

Step = tuple[int, str, int, int]


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
        self._id_prefix = f"arithmetic/d{difficulty}/{problems}/s{seed}/"
        self._key_prefix = repr(("arithmetic", difficulty, problems, seed)).encode()

    @property
    def name(self) -> str:
        return "arithmetic"

    # --- generation --------------------------------------------------------------------------
    def instance(self, index: int) -> Instance:
        rng = ItemRandom(item_key(self._key_prefix, index))
        algebra = self.problems == "algebra" or (self.problems == "mixed" and rng.below(4) == 0)
        question, steps, answer = self._equation(rng) if algebra else self._expression(rng)
        reference = str(answer)
        lines = tuple(f"{a} {op} {b} = {c}" for a, op, b, c in steps)
        return Instance(
            task_id=self._id_prefix + str(index),
            index=index,
            prompt=f"{question}\n\n{FORMAT_INSTRUCTIONS}",
            reference=reference,
            oracle_action="\n".join(lines) + f"\nAnswer: {reference}",
            data={"lines": lines, "answer": answer,
                  "by_operation": _index_operations(steps, lines)},
        )

    def _expression(self, rng: ItemRandom) -> tuple[str, list[Step], int]:
        steps: list[Step] = []
        value, text, _ = self._tree(rng, self.level.operations, steps)
        return f"Compute the value of {text}.", steps, value

    def _tree(self, rng: ItemRandom, operations: int, steps: list[Step]) -> tuple[int, str, str | None]:
        """A random expression with ``operations`` operations as (value, text, top operator).

        Appends the solution's steps to ``steps`` in evaluation order (left operand first).
        Division is only generated when exact: by a divisor (2-12) of the left operand's value.
        """
        if operations == 0:
            value = rng.randint(1, self.level.max_operand)
            return value, str(value), None
        left_ops = rng.below(operations)
        right_ops = operations - 1 - left_ops
        op = rng.choice(self.level.ops)
        if left_ops:
            left, left_text, left_op = self._tree(rng, left_ops, steps)
        else:  # a leaf, inline: most nodes are leaves and this runs on every reset
            left = rng.randint(1, self.level.max_operand)
            left_text, left_op = str(left), None
        if op == "/":
            divisors = [d for d in range(2, 13) if left % d == 0] if right_ops == 0 and left else ()
            if divisors:
                right = rng.choice(divisors)
                steps.append((left, op, right, left // right))
                return left // right, f"{_wrap(left_text, left_op, op, right=False)} / {right}", op
            op = rng.choice("+-")
        if right_ops:
            right, right_text, right_op = self._tree(rng, right_ops, steps)
        else:
            right = rng.randint(1, self.level.max_operand)
            right_text, right_op = str(right), None
        if op == "*" and abs(left * right) > 10 ** (2 + self.difficulty):
            op = rng.choice("+-")
        value = left + right if op == "+" else left - right if op == "-" else left * right
        steps.append((left, op, right, value))
        text = f"{_wrap(left_text, left_op, op, right=False)} {op} {_wrap(right_text, right_op, op, right=True)}"
        return value, text, op

    def _equation(self, rng: ItemRandom) -> tuple[str, list[Step], int]:
        top = min(self.level.max_operand, 12 * self.difficulty)
        x = rng.randint(-top, top) or 1
        a = rng.randint(2, max(3, top))
        b = rng.randint(1, self.level.max_operand)
        if self.difficulty >= 3 and rng.below(2):
            c = rng.randint(1, a - 1)
            d = a * x + b - c * x
            steps = [(a, "-", c, a - c), (d, "-", b, d - b), (d - b, "/", a - c, x)]
            right_side = f"{c}x + {d}" if d >= 0 else f"{c}x - {-d}"
            return f"Solve for x: {a}x + {b} = {right_side}.", steps, x
        rhs = a * x + b
        return f"Solve for x: {a}x + {b} = {rhs}.", [(rhs, "-", b, rhs - b), (rhs - b, "/", a, x)], x

    # --- checking ----------------------------------------------------------------------------
    def check(self, instance: Instance, reply: str) -> Verdict:
        lines: tuple[str, ...] = instance.data["lines"]
        steps = _check_steps(reply, instance.data["by_operation"], lines)
        answer = extract_final_answer(reply)
        form_error = value = None
        if answer is None:
            form_error = "no final answer: end with a line `Answer: X`"
        elif answer == instance.reference:
            value = instance.data["answer"]
        else:
            value = parse_number(answer)
            if value is None:
                form_error = "the final answer is not a number"
        reference: int = instance.data["answer"]
        correct = value == reference
        diagnostics: tuple[str, ...] = ()
        if not correct:
            notes = [note] if (note := direction_note(value, reference)) else []
            if not steps:
                notes.append("no steps were written")
            elif len(steps) < len(lines) and all(step.correct for step in steps):
                notes.append("your steps are right but stop before the solution ends")
            diagnostics = tuple(notes)
        return Verdict(
            correct=correct,
            score=1.0 if correct else 0.0,
            answer=answer,
            reference=instance.reference,
            steps=steps,
            form_error=form_error,
            expected_steps=lines,
            solution=instance.oracle_action,
            diagnostics=diagnostics,
        )


def _index_operations(
    steps: list[Step], lines: tuple[str, ...]
) -> dict[tuple[int, str, int] | str, list[int]]:
    """(a, op, b) → the solution steps that do that operation (both operand orders for + and *);
    also each step's own line text → its index, so a verbatim line is matched without parsing."""
    index: dict[tuple[int, str, int] | str, list[int]] = {}
    for i, ((a, op, b, _), line) in enumerate(zip(steps, lines, strict=True)):
        index.setdefault(line, []).append(i)
        index.setdefault((a, op, b), []).append(i)
        if op in "+*" and a != b:
            index.setdefault((b, op, a), []).append(i)
    return index


def _check_steps(
    reply: str, by_operation: dict[tuple[int, str, int] | str, list[int]], lines: tuple[str, ...]
) -> tuple[StepCheck, ...]:
    """Label each line that holds an ``=`` (the answer line aside) against the solution's steps.

    A step is right when its arithmetic is exact and it is one of the solution's operations not yet
    used (operands in either order for ``+`` and ``*``). ``expected`` of a wrong step is the first
    solution step not yet done. Runs on every step of every episode, hence the plain loop.
    """
    if "=" not in reply:
        return ()
    used = [False] * len(lines)
    checks: list[StepCheck] = []
    for raw in reply.split("\n"):
        if "=" not in raw or has_answer_mark(raw):
            continue
        index = len(checks)
        if index >= _MAX_CHECKED_LINES:
            break
        line = raw.strip()
        verbatim = _take(by_operation.get(line, ()), used)  # the solution's own line: no parsing needed
        if verbatim is not None:
            checks.append(StepCheck(index, line, True, line, "right"))
            continue
        parsed = parse_step(line)
        if parsed is None:
            message = _NOT_A_STEP
        else:
            a, op, b, c = parsed
            if apply_op(a, op, b) != c:
                message = _WRONG_ARITHMETIC
            else:
                match = _take(by_operation.get((a, op, b), ()), used)
                if match is not None:
                    checks.append(StepCheck(index, line, True, lines[match], "right"))
                    continue
                message = _OFF_PATH
        expected = next((lines[i] for i, done in enumerate(used) if not done), None)
        checks.append(StepCheck(index, line, False, expected, message))
    return tuple(checks)


def _take(candidates: list[int] | tuple[()], used: list[bool]) -> int | None:
    """The first solution step among ``candidates`` not used yet, now marked used; else None."""
    for i in candidates:
        if not used[i]:
            used[i] = True
            return i
    return None


def _wrap(text: str, node_op: str | None, parent_op: str, *, right: bool) -> str:
    """Parenthesise a sub-expression where precedence or associativity needs it."""
    if node_op is None:
        return text
    if _PRECEDENCE[node_op] < _PRECEDENCE[parent_op] or (
        right and _PRECEDENCE[node_op] == _PRECEDENCE[parent_op] and parent_op in "-/"
    ):
        return f"({text})"
    return text
