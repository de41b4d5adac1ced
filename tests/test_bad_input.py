"""Hostile and odd agent replies are judged wrong with feedback, never a crash."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbenv

ENVS = {(env_id, kind): gym.make(env_id, feedback=kind, max_turns=10**6)
        for env_id in fbenv.ENVS for kind in gym.make(env_id).metadata["feedback_kinds"]}

ODD = [
    "",
    " \n\t ",
    "\x00\x01\x02\xff" * 100,
    bytes(range(256)).decode("latin-1"),
    "\ud800\udfff lone surrogates",
    "Answer: \u202e71\u202c",  # right-to-left override around digits
    "Answer: ７",  # a full-width digit
    "Answer: " + "9" * 5000,
    "Answer: 1e999999",
    "\\boxed{" * 10_000,
    "<answer>" * 5000,
    "1 + 1 = 2\n" * 20_000,
    "Answer: 💥\u0301\u0301\u0301",
    "Answer: NaN",
    "Answer: 1/0",
    "=" * 50_000,
]


@pytest.mark.parametrize(("env_id", "kind"), sorted(ENVS))
@pytest.mark.parametrize("reply", ODD, ids=range(len(ODD)))
def test_odd_replies_are_judged_wrong_with_feedback(env_id: str, kind: str, reply: str) -> None:
    env = ENVS[(env_id, kind)]
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(reply)
    assert not info["verdict"].correct and not terminated
    assert env.observation_space.contains(obs) and math.isfinite(reward)
    assert info["feedback"].kind == kind
    assert (obs == "") == (kind == "none")


@pytest.mark.parametrize("env_id", sorted(fbenv.ENVS))
def test_a_one_megabyte_reply_is_wrong_with_a_clear_form_error(env_id: str) -> None:
    env = gym.make(env_id, feedback="text", hint_level=1)
    env.reset(seed=0)
    obs, reward, terminated, _, info = env.step("Answer: 1\n" + "x" * 2**20)
    assert not terminated and reward == 0.0
    assert "max_action_length" in info["verdict"].form_error and "max_action_length" in obs


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(ENVS)),
    reply=st.one_of(
        st.text(st.characters(codec=None, exclude_categories=()), max_size=300),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.builds(lambda a, b: f"{a}\nAnswer: {b}", st.text(max_size=80), st.text(max_size=20)),
        st.builds(lambda a, op, b, c: f"{a} {op} {b} = {c}\nAnswer: {c}",
                  st.integers(), st.sampled_from("+-*/x÷"), st.integers(), st.integers()),
        st.builds(lambda x: f"\\boxed{{{x}}}", st.text(max_size=40)),
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_replies_never_crash_the_env(key, reply: str, seed: int) -> None:
    env = ENVS[key]
    env.reset(seed=seed)
    obs, reward, terminated, truncated, info = env.step(reply)
    assert env.observation_space.contains(obs)
    assert isinstance(reward, float) and math.isfinite(reward)
    assert terminated == info["verdict"].correct
    if not info["verdict"].correct and key[1] != "none":
        assert obs.strip()
