"""ReasoningGym-v0: any reasoning-gym dataset by name, judged by reasoning-gym's own scorer."""

from __future__ import annotations

import gymnasium as gym
import pytest
import reasoning_gym

import fbenv  # noqa: F401
from fbenv.tasks.reasoning_gym import ReasoningGymTask

# A spread of reasoning-gym's families; each must work by name with its default config.
DATASETS = ["basic_arithmetic", "chain_sum", "leg_counting", "simple_equations", "gcd", "fraction_simplification",
            "word_sorting", "letter_counting", "number_sorting", "base_conversion"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_reference_answers_score_full_marks_by_reasoning_gyms_scorer(dataset: str) -> None:
    env = gym.make("fbenv/ReasoningGym-v0", dataset=dataset, feedback="binary")
    for seed in range(5):
        prompt, _ = env.reset(seed=seed)
        entry = env.unwrapped.instance.data["entry"]
        assert entry["question"] in prompt
        *_, info = env.step(f"Let me think.\nAnswer: {entry['answer']}")
        assert info["verdict"].correct, (dataset, entry)


def test_datasets_without_a_single_reference_still_score_with_their_scorer() -> None:
    task = ReasoningGymTask(dataset="propositional_logic")
    inst = task.instance(0)
    assert inst.data["entry"]["answer"] is None and inst.oracle_action is None and inst.reference == ""
    verdict = task.check(inst, "Answer: banana")
    assert not verdict.correct
    assert verdict.score == task.dataset.score_answer("banana", inst.data["entry"]) < 1.0


def test_instances_are_reasoning_gyms_own_items() -> None:
    task = ReasoningGymTask(dataset="chain_sum", seed=5, size=100, min_terms=3, max_terms=3)
    raw = reasoning_gym.create_dataset("chain_sum", seed=5, size=100, min_terms=3, max_terms=3)
    for i in (0, 17, 99):
        assert task.instance(i).data["entry"]["question"] == raw[i]["question"]
        assert task.instance(i).reference == str(raw[i]["answer"])


def test_partial_scores_are_kept_but_only_full_scores_count() -> None:
    task = ReasoningGymTask(dataset="word_sorting")
    inst = task.instance(0)
    entry = inst.data["entry"]
    partial = entry["answer"].split(", ")[0]
    raw_score = task.dataset.score_answer(partial, entry)
    verdict = task.check(inst, f"Answer: {partial}")
    assert verdict.score == pytest.approx(min(max(raw_score, 0.0), 1.0))
    assert not verdict.correct


def test_config_is_passed_through_as_a_dict_or_as_keywords() -> None:
    a = gym.make("fbenv/ReasoningGym-v0", dataset="basic_arithmetic", config={"min_terms": 5, "max_terms": 5})
    b = gym.make("fbenv/ReasoningGym-v0", dataset="basic_arithmetic", min_terms=5, max_terms=5)
    assert a.reset(seed=1)[0] == b.reset(seed=1)[0]
    assert a.unwrapped.task.dataset.config.min_terms == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "basic_arithmetc"}, "unknown reasoning-gym dataset 'basic_arithmetc'; did you mean basic_arith"),
        ({"config": {"min_termz": 2}}, "no config field.*min_termz.*min_terms"),
        ({"min_terms": 5, "max_terms": 2}, "invalid config"),
        ({"size": 0}, "size must be a positive int"),
    ],
)
def test_bad_dataset_or_config_raises_value_error(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make("fbenv/ReasoningGym-v0", **kwargs)


def test_no_answer_is_a_form_error_and_calculations_are_checked() -> None:
    task = ReasoningGymTask()
    inst = task.instance(0)
    verdict = task.check(inst, "2 + 2 = 5")
    assert verdict.form_error.startswith("no final answer") and verdict.score == 0.0
    assert [s.correct for s in verdict.steps] == [False]
