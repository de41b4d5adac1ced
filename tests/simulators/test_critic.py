"""The text critic's hint ladder, and that levels 0-2 never carry the reference answer."""

from __future__ import annotations

import itertools
import random
import re

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.tasks.answers import parse_number, parse_step


def wrong_replies(oracle: str, reference: str, rng: random.Random) -> list[str]:
    """Replies an agent might give: slips in a step, missing steps, no answer, garbage."""
    lines = oracle.splitlines()[:-1]
    slip = list(lines)
    k = rng.randrange(len(slip))
    a, op, b, c = parse_step(slip[k])
    slip[k] = f"{slip[k].rsplit('=', 1)[0]}= {c + rng.choice([-2, -1, 1, 3])}"
    wrong_answer = f"Answer: {parse_number(reference) + 1}"
    return [
        "\n".join([*slip, wrong_answer]),
        "\n".join([*lines[:-1], wrong_answer]),
        "\n".join(lines),  # right steps, no final answer
        "\n".join([*lines, wrong_answer]),  # right steps, wrong final answer
        wrong_answer,
        f"{rng.randint(1, 99)} + {rng.randint(1, 99)} = {rng.randint(1, 200)}\nAnswer: {rng.randint(-99, 99)}",
        "I don't know.",
        "Answer: twelve",
        "",
    ]


@pytest.mark.parametrize("hint_level", [0, 1, 2])
@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_levels_zero_to_two_never_contain_the_reference_answer(hint_level: int, difficulty: int) -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", hint_level=hint_level, difficulty=difficulty,
                   max_turns=20)
    rng = random.Random(hint_level * 10 + difficulty)
    checked = 0
    for seed in range(40):
        env.reset(seed=seed)
        inst = env.unwrapped.instance
        for reply in wrong_replies(inst.oracle_action, inst.reference, rng):
            obs, _, terminated, _, info = env.step(reply)
            if terminated:
                env.reset(seed=seed)
                continue
            assert not re.search(r"\d", obs), (reply, obs)  # no figures at all, so no reference
            checked += 1
    assert checked > 300


@pytest.mark.parametrize("env_id", ["fbenv/MathFile-v0", "fbenv/ReasoningGym-v0"])
def test_other_math_envs_keep_levels_zero_to_two_free_of_figures(env_id: str) -> None:
    for level in (0, 1, 2):
        env = gym.make(env_id, feedback="text", hint_level=level, max_turns=50)
        for seed in range(10):
            env.reset(seed=seed)
            for reply in ("Answer: -1", "2 * 3 = 7\nAnswer: 999999", "no idea", ""):
                obs, *_ = env.step(reply)
                assert not re.search(r"\d", obs), obs


def test_each_level_adds_what_the_ladder_promises() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", difficulty=2, problems="arithmetic", max_turns=10)
    env.reset(seed=0)
    inst = env.unwrapped.instance
    lines = inst.oracle_action.splitlines()[:-1]
    a, op, b, c = parse_step(lines[1])
    reply = "\n".join([lines[0], f"{lines[1].rsplit('=', 1)[0]}= {c + 1}", *lines[2:], "Answer: 123456"])
    texts = []
    for level in range(5):
        level_env = gym.make("fbenv/Math-v0", feedback="text", hint_level=level, difficulty=2, problems="arithmetic")
        level_env.reset(seed=0)
        texts.append(level_env.step(reply)[0])
    assert texts[0] == "That is not correct."
    assert "well-formed" in texts[1]
    assert "The first wrong step is your second step: the arithmetic is wrong." in texts[2]
    assert f"That step should be: {lines[1]}" in texts[3]
    assert "Worked solution:" in texts[4] and inst.oracle_action in texts[4]
    for lower, higher in itertools.pairwise(texts):
        assert higher.startswith(lower)


def test_form_errors_show_from_level_one() -> None:
    for level, expected in ((0, False), (1, True)):
        env = gym.make("fbenv/Math-v0", feedback="text", hint_level=level)
        env.reset(seed=0)
        obs, *_ = env.step("I think it is seventeen")
        assert ("no final answer" in obs) is expected


def test_oracle_critic_defaults_to_level_three() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", simulator="oracle-critic", problems="arithmetic")
    env.reset(seed=0)
    obs, *_ = env.step("Answer: 0")
    assert "Start with:" in obs or "That step should be" in obs
    assert env.unwrapped.simulator.hint_level == 3


def test_task_remarks_show_from_their_own_hint_level_on() -> None:
    from fbenv.feedback import Verdict
    from fbenv.simulators.critic import critique

    verdict = Verdict(False, 0.0, "x", "y", remarks=((1, "at one"), (2, "at two"), (3, "at three"), (4, "at four")))
    for level in range(5):
        text = critique(verdict, level)
        assert [f"at {word}" in text for word in ("one", "two", "three", "four")] == [n <= level for n in (1, 2, 3, 4)]
    assert critique(Verdict(True, 1.0, "y", "y", remarks=((1, "at one"),)), 4) == "Correct."


def test_tasks_without_episode_facts_add_no_info_key() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary")
    env.reset(seed=0)
    *_, info = env.step("Answer: 1")
    assert "episode" not in info
