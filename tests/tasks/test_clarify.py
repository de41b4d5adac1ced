"""Clarify-v0: underspecified requests, lenient slot values and partial credit."""

from __future__ import annotations

import re

import pytest

from fbenv.tasks.clarify import REQUESTS, ClarifyTask, Field, normalise

TASK = ClarifyTask()


def test_every_request_is_drawn_and_its_slots_are_all_needed() -> None:
    instances = [TASK.instance(i) for i in range(80)]
    assert {inst.data["request"].job for inst in instances} == {r.job for r in REQUESTS}
    for inst in instances:
        assert [s.need for s in inst.data["slots"]] == ["constraint"] * len(inst.data["request"].fields)
        for field in inst.data["request"].fields:
            assert field.name in inst.prompt
            value = re.escape(str(inst.data["values"][field.name]).lower())
            assert not re.search(rf"\b{value}\b", inst.prompt.split("you need:")[0].lower())


@pytest.mark.parametrize(("kind", "written", "value"), [
    ("time", "7:30 pm", "19:30"), ("time", "1930", "19:30"), ("time", "19.30", "19:30"), ("time", "12 am", "00:00"),
    ("time", "9", "09:00"), ("count", "4 people", "4"), ("name", " o'kafor. ", "Okafor"),
    ("choice", "le petit bistro", "Le Petit Bistro"), ("choice", "Luigis", "Luigi's"),
])
def test_values_compare_leniently(kind: str, written: str, value: str) -> None:
    field = Field("x", "x", kind, ())
    assert normalise(field, written) == normalise(field, value) is not None


@pytest.mark.parametrize(("kind", "written"), [("time", "25:00"), ("time", "soon"), ("count", "many")])
def test_unreadable_values_never_match(kind: str, written: str) -> None:
    assert normalise(Field("x", "x", kind, ()), written) is None


def test_partial_credit_names_the_wrong_and_missing_slots() -> None:
    instance = TASK.instance(3)
    fields = [field.name for field in instance.data["request"].fields]
    values = instance.data["values"]
    reply = "ANSWER: " + "; ".join(f"{name}={values[name]}" for name in fields[:3]) + f"; {fields[3]}=nonsense"
    verdict = TASK.check(instance, reply)
    assert not verdict.correct and verdict.score == pytest.approx(3 / 5)
    assert [issue["slot"] for issue in verdict.details["issues"]] == fields[3:]
    assert verdict.diagnostics[-1].endswith("is missing")


def test_pairs_may_come_one_per_line_with_colons() -> None:
    instance = TASK.instance(8)
    values = instance.data["values"]
    lines = "\n".join(f"  {name.upper()}: {value}" for name, value in values.items())
    assert TASK.check(instance, f"Here it is.\nANSWER:\n{lines}").correct


def test_an_answer_without_slots_is_a_form_error_that_lists_them() -> None:
    instance = TASK.instance(0)
    verdict = TASK.check(instance, "ANSWER: sounds good")
    assert verdict.form_error and all(f"{f.name}=..." in verdict.form_error for f in instance.data["request"].fields)
