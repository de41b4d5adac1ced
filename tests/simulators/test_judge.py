"""WAFER-QA judges: intent × knowledge, measured against the ground truth in info."""

from __future__ import annotations

import math
import re

import gymnasium as gym
import pytest

import fbenv  # noqa: F401

N = 1_000
WRONG = "Answer: -987654321"


def run(simulator: str, reply_for, feedback: str = "text", **kwargs) -> list[tuple]:
    env = gym.make("fbenv/Math-v0", feedback=feedback, simulator=simulator, simulator_kwargs=kwargs)
    out = []
    for seed in range(N):
        env.reset(seed=seed)
        reply = reply_for(env)
        obs, reward, terminated, _, info = env.step(reply)
        out.append((info["feedback"].label, info["verdict"].correct, obs, env.unwrapped.instance.reference))
    return out


def right(env) -> str:
    return env.unwrapped.instance.oracle_action


def wrong(env) -> str:
    return WRONG


def test_misleading_judge_with_ground_truth_flips_every_label() -> None:
    on_right = run("misleading-critic", right)
    assert all(label is False and truth for label, truth, *_ in on_right)  # flip rate of correct answers: 100%
    for _, _, obs, reference in on_right[:200]:
        assert obs.startswith("That is not correct. I get ")
        decoy = re.search(r"I get (-?\d+)", obs).group(1)
        assert decoy != reference  # a plausible wrong value, never the truth
    assert all(label is True for label, *_ in run("misleading-critic", wrong))


def test_malicious_judge_calls_everything_wrong() -> None:
    assert all(label is False for label, *_ in run("malicious-critic", right, feedback="binary"))


def test_constructive_judge_with_ground_truth_is_the_honest_critic() -> None:
    results = run("judge", wrong, hint_level=2)
    assert all(label is False and obs.startswith("That is not correct.\n") for label, _, obs, _ in results[:50])
    assert all(label is True for label, *_ in run("judge", right)[:50])


def test_a_judge_without_knowledge_guesses_half_the_time() -> None:
    results = run("judge", right, knowledge="none")
    approvals = sum(label is True for label, *_ in results)
    assert abs(approvals / N - 0.5) <= 4 * math.sqrt(0.25 / N)
    assert all(truth for _, truth, *_ in results)


def test_bad_judge_settings_fail_clearly() -> None:
    with pytest.raises(ValueError, match="intent must be one of constructive, misleading, malicious"):
        gym.make("fbenv/Math-v0", simulator="judge", simulator_kwargs={"intent": "sneaky"})
    with pytest.raises(ValueError, match="knowledge must be one of"):
        gym.make("fbenv/Math-v0", simulator="judge", simulator_kwargs={"knowledge": "some"})
