"""The rule-based simulators for none, unary, binary and process feedback."""

from __future__ import annotations

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.feedback import KINDS
from fbenv.simulators import DEFAULTS, SIMULATORS, get_simulator
from fbenv.simulators.try_again import NUDGE_POOL


def step(kind: str, reply: str, seed: int = 0, **kwargs):
    env = gym.make("fbenv/Math-v0", feedback=kind, **kwargs)
    env.reset(seed=seed)
    return env, env.step(reply)


def test_every_kind_has_a_registered_default() -> None:
    assert set(DEFAULTS) == set(KINDS)
    for kind, name in DEFAULTS.items():
        assert kind in get_simulator(name).kinds


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError) as error:
        get_simulator("nope")
    for name in SIMULATORS:
        assert name in str(error.value)


def test_unary_is_a_fixed_nudge_or_a_seeded_pick_from_the_pool() -> None:
    _, (obs, *_) = step("unary", "Answer: -1")
    assert obs == "Let's try again."
    picks = {step("unary", "Answer: -1", seed=s, simulator_kwargs={"phrasing": "pool"})[1][0] for s in range(30)}
    assert picks <= set(NUDGE_POOL) and len(picks) >= 3


def test_binary_says_correct_or_incorrect() -> None:
    env, (obs, reward, *_ , info) = step("binary", "Answer: -1")
    assert (obs, reward, info["feedback"].label) == ("Incorrect.", 0.0, False)
    obs, reward, *_ = env.step(env.unwrapped.instance.oracle_action)
    assert (obs, reward) == ("Correct.", 1.0)


def test_process_labels_each_step_then_the_answer() -> None:
    env = gym.make("fbenv/Math-v0", feedback="process", difficulty=3, problems="arithmetic")
    env.reset(seed=2)
    lines = env.unwrapped.instance.oracle_action.splitlines()
    bad = lines[2].rsplit("=", 1)[0] + "= 0.5"
    obs, reward, _, _, info = env.step("\n".join([*lines[:2], bad, *lines[3:-1], "Answer: 0.25"]))
    labels = info["feedback"].step_labels
    assert labels == (True, True, False, True, False)
    assert reward == pytest.approx(3 / 5)
    shown = obs.splitlines()
    assert shown[2] == f"Step 3 `{bad}`: incorrect" and shown[-1] == "Final answer: incorrect"


def test_process_feedback_quotes_long_steps_briefly() -> None:
    env = gym.make("fbenv/MathFile-v0", feedback="process")
    env.reset(seed=0)
    obs, *_ = env.step(f"{'1' * 150} + 1 = 2\nAnswer: 3")
    assert len(obs.splitlines()[0]) < 120 and "incorrect" in obs
