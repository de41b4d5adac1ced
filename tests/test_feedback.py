"""fast_init: the generated __init__ and make() build the same frozen values a dataclass would."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from fbenv.feedback import Feedback, StepCheck, Verdict
from fbenv.tasks.base import Instance

CASES = [
    (Verdict, {"correct": False, "score": 0.25, "answer": "4", "reference": "5",
               "steps": (StepCheck(0, "2 + 2 = 4", True, None, "ok"),), "diagnostics": ("too small",)}),
    (Feedback, {"kind": "text", "text": "Not quite.", "label": False, "score": 0.0, "source": "critic"}),
    (Instance, {"task_id": "t/1", "index": 1, "prompt": "2 + 3?", "reference": "5", "oracle_action": "Answer: 5",
                "data": {"a": 1}}),
]


@pytest.mark.parametrize(("cls", "values"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_make_and_init_give_equal_frozen_values(cls: type, values: dict) -> None:
    made, called = cls.make(**values), cls(**values)
    assert made == called and type(made) is cls
    for f in dataclasses.fields(cls):
        assert getattr(made, f.name) == getattr(called, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.reference = "changed"
    assert pickle.loads(pickle.dumps(made)) == made == copy.deepcopy(made)
    first = next(iter(values))
    assert dataclasses.replace(made, **{first: values[first]}) == made


def test_default_factories_give_each_object_its_own() -> None:
    one, two = Feedback.make(kind="text", text="a"), Feedback.make(kind="text", text="a")
    assert one.usage == {} and one.usage is not two.usage
    assert Feedback(kind="text", text="a").usage is not Feedback(kind="text", text="a").usage
