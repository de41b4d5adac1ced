"""Recommend-v0: catalogues, goals and the judging of recommendations."""

from __future__ import annotations

import pytest

from fbenv.tasks.catalogue import DOMAINS, N_ITEMS, preference_score
from fbenv.tasks.recommend import RecommendTask

TASK = RecommendTask()


@pytest.mark.parametrize("index", range(0, 3000, 10))
def test_goals_have_few_qualifying_items_and_the_reference_is_the_best(index: int) -> None:
    instance = TASK.instance(index)
    catalogue = instance.data["catalogue"]
    needs = [need.need for need in catalogue.needs]
    assert 2 <= needs.count("constraint") <= 3 and 1 <= needs.count("preference") <= 2
    qualifying = [item for item in catalogue.items if not catalogue.violated(item)]
    assert 1 <= len(qualifying) <= 2 and len(catalogue.items) == N_ITEMS
    best = catalogue.best()
    assert instance.reference == best["id"] and preference_score(catalogue, best) == 1.0
    assert all(item["id"] in instance.prompt for item in catalogue.items)
    assert [slot.name for slot in instance.data["slots"][: len(needs)]] == [n.attribute.name for n in catalogue.needs]


def test_every_domain_is_drawn() -> None:
    assert {TASK.instance(i).data["catalogue"].domain.name for i in range(60)} == {d.name for d in DOMAINS}


def test_a_qualifying_item_that_is_not_the_best_is_accepted_with_a_lower_score() -> None:
    for index in range(200):
        instance = TASK.instance(index)
        catalogue = instance.data["catalogue"]
        worse = [item for item in catalogue.items if not catalogue.violated(item)
                 and catalogue.utility(item) < catalogue.utility(catalogue.best())]
        if worse:
            verdict = TASK.check(instance, f"RECOMMEND: {worse[0]['id']}")
            assert verdict.correct and 0.5 < verdict.score < 1.0 and "suits the user's preferences better" in \
                verdict.diagnostics[0]
            return
    pytest.fail("no instance with a worse qualifying item in 200")


def test_a_violating_item_names_the_broken_constraints_in_the_users_words() -> None:
    instance = TASK.instance(5)
    catalogue = instance.data["catalogue"]
    item = next(item for item in catalogue.items if catalogue.violated(item))
    verdict = TASK.check(instance, f"I suggest this one.\nRECOMMEND: {item['id'].lower()}")
    broken = catalogue.violated(item)
    assert not verdict.correct and verdict.score == 0.0 and verdict.answer == item["id"]
    assert [issue["slot"] for issue in verdict.details["issues"]] == list(broken)
    slots = {slot.name: slot for slot in instance.data["slots"]}
    assert verdict.details["issues"][0]["answer"] == slots[broken[0]].answer


@pytest.mark.parametrize(("reply", "error"), [
    ("R01 is nice", "no recommendation"),
    ("RECOMMEND: the blue one", "names no item"),
    ("RECOMMEND: {a} or {b}", "exactly one item"),
])
def test_replies_without_exactly_one_item_are_form_errors(reply: str, error: str) -> None:
    instance = TASK.instance(0)
    a, b = (item["id"] for item in instance.data["catalogue"].items[:2])
    verdict = TASK.check(instance, reply.format(a=a, b=b))
    assert not verdict.correct and error in verdict.form_error and verdict.details["issues"] == []


def test_ids_are_read_leniently() -> None:
    instance = TASK.instance(0)
    prefix, number = instance.reference[0], int(instance.reference[1:])
    for written in (instance.reference, instance.reference.lower(), f"{prefix} {number}", f"{prefix}-{number:02d}"):
        assert TASK.check(instance, f"recommend:   {written}  ").correct, written
