"""Math-v0's generator and its exact step checker."""

from __future__ import annotations

from fractions import Fraction

import pytest

from fbenv.tasks.answers import apply_op, parse_number, parse_step
from fbenv.tasks.arithmetic import LEVELS, ArithmeticTask


@pytest.mark.parametrize("difficulty", sorted(LEVELS))
@pytest.mark.parametrize("problems", ["arithmetic", "algebra", "mixed"])
def test_every_generated_solution_is_exact_and_self_consistent(difficulty: int, problems: str) -> None:
    task = ArithmeticTask(difficulty=difficulty, problems=problems)
    for index in range(150):
        inst = task.instance(index)
        lines = inst.data["lines"]
        for line in lines:
            a, op, b, c = parse_step(line)
            assert apply_op(a, op, b) == c, line
        assert parse_step(lines[-1])[3] == parse_number(inst.reference)
        verdict = task.check(inst, inst.oracle_action)
        assert verdict.correct and all(step.correct for step in verdict.steps)
        assert len(verdict.steps) == len(lines)


def test_difficulty_sets_the_number_of_operations() -> None:
    for difficulty, level in LEVELS.items():
        task = ArithmeticTask(difficulty=difficulty, problems="arithmetic")
        assert all(len(task.instance(i).data["lines"]) == level.operations for i in range(30))


def test_instances_depend_only_on_seed_difficulty_and_index() -> None:
    a, b = ArithmeticTask(difficulty=3, seed=1), ArithmeticTask(difficulty=3, seed=1)
    assert [a.instance(i) for i in range(20)] == [b.instance(i) for i in range(20)]
    c = ArithmeticTask(difficulty=3, seed=2)
    assert [a.instance(i).prompt for i in range(20)] != [c.instance(i).prompt for i in range(20)]


def _find(task: ArithmeticTask, predicate) -> object:
    return next(task.instance(i) for i in range(1000) if predicate(task.instance(i)))


def test_steps_in_another_valid_order_and_swapped_operands_are_correct() -> None:
    task = ArithmeticTask(difficulty=2, problems="arithmetic")
    inst = _find(task, lambda x: any(" + " in line or " * " in line for line in x.data["lines"]))
    swapped = []
    for line in inst.data["lines"]:
        a, op, b, c = line.replace(" = ", " ").split(" ")
        swapped.append(f"{b} {op} {a} = {c}" if op in "+*" else line)
    verdict = task.check(inst, "\n".join([*swapped, f"Answer: {inst.reference}"]))
    assert verdict.correct and all(step.correct for step in verdict.steps)


def test_each_step_is_labelled_and_the_first_error_located() -> None:
    task = ArithmeticTask(difficulty=3, problems="arithmetic")
    inst = task.instance(3)
    lines = list(inst.data["lines"])
    a, op, b, c = parse_step(lines[1])
    lines[1] = f"{lines[1].rsplit('=', 1)[0]}= {c + 1}"  # an arithmetic slip in the second step
    verdict = task.check(inst, "\n".join([*lines, f"Answer: {inst.reference}"]))
    assert verdict.correct  # the final answer decides correctness
    assert [s.correct for s in verdict.steps] == [True, False, True, True]
    wrong = verdict.first_wrong_step
    assert wrong.index == 1 and wrong.message == "the arithmetic is wrong"
    assert wrong.expected == inst.data["lines"][1]


def test_right_arithmetic_on_the_wrong_path_is_labelled_wrong() -> None:
    task = ArithmeticTask(difficulty=1, problems="arithmetic")
    inst = task.instance(0)
    verdict = task.check(inst, "1000 + 1 = 1001\nAnswer: 1001")
    assert not verdict.correct
    assert verdict.steps[0].message.startswith("the arithmetic is right, but")


def test_form_errors() -> None:
    task = ArithmeticTask()
    inst = task.instance(0)
    assert task.check(inst, "").form_error.startswith("no final answer")
    assert task.check(inst, "Answer: seventeen").form_error == "the final answer is not a number"
    assert task.check(inst, "3 * = 4\nAnswer: 1").steps[0].message.startswith("this line is not of the form")


def test_answers_in_other_number_forms_count() -> None:
    task = ArithmeticTask(problems="algebra")
    inst = task.instance(1)
    value = parse_number(inst.reference)
    assert task.check(inst, f"\\boxed{{{value}}}").correct
    assert task.check(inst, f"Answer: {Fraction(value)}.0").correct
