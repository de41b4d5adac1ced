"""Teach-v0: house styles, and which rule a wrong ledger breaks (what the user's correction teaches)."""

from __future__ import annotations

import pytest

from fbenv.tasks.teach import RULES, TeachTask, explain

TASK = TeachTask()


@pytest.mark.parametrize("index", range(40))
@pytest.mark.parametrize("rule", list(RULES))
def test_breaking_one_rule_is_reported_as_that_rule(index: int, rule: str) -> None:
    instance = TASK.instance(index)
    good = instance.data["expected"]
    kept = next(o for o in RULES[rule] if o.key == instance.data["style"][rule])
    other = next(o for o in RULES[rule] if o.key != kept.key)
    if rule == "order":
        lines = good[::-1] if len(set(good)) > 1 else good
    elif rule == "separator":
        lines = [line.replace(kept.key, other.key) for line in good]
    else:
        lines = list(good)
        for payment in instance.data["payments"]:
            lines = [line.replace(kept.render(payment), other.render(payment)) for line in lines]
    verdict = TASK.check(instance, "ANSWER:\n" + "\n".join(lines))
    assert not verdict.correct and [issue["slot"] for issue in verdict.details["issues"]] == [rule]
    assert verdict.score == pytest.approx(0.8)


def test_the_reference_with_bullets_and_spacing_is_still_right() -> None:
    instance = TASK.instance(2)
    lines = "\n".join(f"  - {line}  " for line in instance.data["expected"])
    verdict = TASK.check(instance, f"Here you go:\nANSWER:\n\n{lines}\n")
    assert verdict.correct and verdict.score == 1.0


def test_extra_text_breaking_no_rule_is_a_form_error_with_most_of_the_score() -> None:
    instance = TASK.instance(4)
    lines = [f"{line} (paid)" for line in instance.data["expected"]]
    verdict = TASK.check(instance, "ANSWER:\n" + "\n".join(lines))
    assert not verdict.correct and verdict.details["issues"] == [] and verdict.score == pytest.approx(0.8)
    assert "just the name, the date and the amount" in verdict.form_error


def test_every_rule_is_explained_on_the_example_not_on_the_payments() -> None:
    for index in range(20):
        instance = TASK.instance(index)
        for slot in instance.data["slots"]:
            assert not any(p.surname in slot.answer or p.surname.upper() in slot.answer
                           for p in instance.data["payments"])
    assert explain("dates", RULES["dates"][1]) == 'We write dates like "01.02.2023" for 1 February 2023.'
    assert explain("separator", RULES["separator"][0]) == 'We separate the fields with " | ".'
