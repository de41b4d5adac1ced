"""Simulator.make_feedback: identical feedback is one shared immutable object, never a wrong one."""

from __future__ import annotations

import dataclasses

import pytest

from fbenv.feedback import Feedback
from fbenv.simulators import base
from fbenv.simulators.base import Simulator


class Plain(Simulator):  # no registered name: feedback is stamped with the class name
    kinds = ("text", "binary")

    def respond(self, instance, transcript, verdict, rng):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class Other(Plain):
    pass


def test_identical_feedback_is_built_once_and_equals_a_fresh_one() -> None:
    sim = Plain("text")
    first, again = sim.make_feedback("Correct.", True), sim.make_feedback("Correct.", True)
    assert first is again
    assert first == Feedback(kind="text", text="Correct.", label=True, source="Plain")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.text = "changed"  # type: ignore[misc]


def test_kind_source_and_every_value_keep_feedback_apart() -> None:
    made = [Plain("text").make_feedback("x", True), Plain("binary").make_feedback("x", True),
            Other("text").make_feedback("x", True), Plain("text").make_feedback("x", False),
            Plain("text").make_feedback("x", True, step_labels=(True,)),
            Plain("text").make_feedback("x", True, score=0.5)]
    assert len({id(f) for f in made}) == len(made)
    assert [f.source for f in made[:3]] == ["Plain", "Plain", "Other"]
    assert made[1].kind == "binary" and made[3].label is False and made[5].score == 0.5
    sim = Plain("text")
    as_float, as_int = sim.make_feedback("y", True, score=1.0), sim.make_feedback("y", True, score=1)
    assert type(as_float.score) is float and type(as_int.score) is int  # equal values, kept as given


def test_feedback_with_more_fields_or_unhashable_labels_is_always_new() -> None:
    sim = Plain("text")
    leaving = sim.make_feedback("bye", None, end_episode=True)
    assert leaving.end_episode and leaving is not sim.make_feedback("bye", None, end_episode=True)
    listed = sim.make_feedback("steps", True, step_labels=[True, False])  # type: ignore[arg-type]
    again = sim.make_feedback("steps", True, step_labels=[True, False])  # type: ignore[arg-type]
    assert listed.step_labels == [True, False] and listed == again and listed is not again


def test_the_store_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_MADE", {})
    monkeypatch.setattr(base, "_MADE_LIMIT", 8)
    sim = Plain("text")
    for i in range(50):
        assert sim.make_feedback(f"critique {i}", False).text == f"critique {i}"
        assert len(base._MADE) <= 8
