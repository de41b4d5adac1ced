"""Noise and bias wrappers: their rates match their parameters, they compose, and stay seeded."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env, data_equivalence

import fbenv

N = 2_000
WRONG = "Answer: -987654321"


def within_binomial(hits: int, n: int, p: float) -> bool:
    """|hits/n - p| within 4 standard deviations (plus one draw of slack for p near 0 or 1)."""
    return abs(hits / n - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1 / n


def labels(env: gym.Env, reply_for, n: int = N) -> list:
    out = []
    for seed in range(n):
        env.reset(seed=seed)
        *_, info = env.step(reply_for(env))
        out.append((info["feedback"].label, info["verdict"].correct, info["feedback"].text))
    return out


def wrong(env: gym.Env) -> str:
    return WRONG


def right(env: gym.Env) -> str:
    return env.unwrapped.instance.oracle_action


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5])
def test_flip_rate_matches_p_on_wrong_and_right_answers(p: float) -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"flip": p})
    on_wrong = labels(env, wrong)
    assert within_binomial(sum(label is True for label, *_ in on_wrong), N, p)
    assert all(not truth for _, truth, _ in on_wrong)  # ground truth untouched
    on_right = labels(env, right, n=N // 2)
    assert within_binomial(sum(label is False for label, *_ in on_right), N // 2, p)


def test_flipped_text_feedback_reads_like_the_opposite_verdict() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", noise={"flip": 1.0})
    env.reset(seed=0)
    obs, reward, terminated, _, info = env.step(WRONG)
    assert obs == "Correct." and reward == 1.0 and not terminated and not info["verdict"].correct
    env = gym.make("fbenv/Math-v0", feedback="process", noise={"flip": 1.0})
    env.reset(seed=0)
    obs, *_, info = env.step(WRONG)
    assert info["feedback"].step_labels[-1] is True and "Final answer: correct" in obs


def test_drop_rate_and_one_sided_feedback() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"drop": 0.3})
    dropped = sum(label is None and text == "" for label, _, text in labels(env, wrong))
    assert within_binomial(dropped, N, 0.3)
    failures_only = gym.make("fbenv/Math-v0", feedback="binary", noise={"one_sided": "failures"})
    assert all(label is False for label, *_ in labels(failures_only, wrong, 200))
    assert all(label is None for label, *_ in labels(failures_only, right, 200))
    successes_only = gym.make("fbenv/Math-v0", feedback="binary", noise={"one_sided": "successes"})
    assert all(label is None for label, *_ in labels(successes_only, wrong, 200))
    assert all(label is True for label, *_ in labels(successes_only, right, 200))


def test_annotator_pool_flips_at_the_pools_mean_rate_and_names_the_annotator() -> None:
    pool = [0.0, 0.25, 0.5]
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"annotators": pool})
    sources, flips = set(), 0
    for seed in range(N):
        env.reset(seed=seed)
        *_, info = env.step(WRONG)
        flips += info["feedback"].label is True
        sources.add(info["feedback"].source)
    assert within_binomial(flips, N, sum(pool) / len(pool))
    assert sources == {f"outcome+annotators[{i}]" for i in range(3)}


def test_length_bias_grows_with_length() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"length_bias": {"strength": 0.6, "scale": 400}})
    short = labels(env, lambda e: WRONG)  # ~18 characters
    long = labels(env, lambda e: "Let me explain at length. " * 20 + WRONG)
    short_rate = 0.6 * len(WRONG) / 400
    assert within_binomial(sum(label is True for label, *_ in short), N, short_rate)
    assert within_binomial(sum(label is True for label, *_ in long), N, 0.6)


def test_sycophancy_only_rewards_confident_wrong_answers() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"sycophancy": 0.4})
    confident = labels(env, lambda e: "I am definitely sure.\n" + WRONG)
    plain = labels(env, wrong, 500)
    assert within_binomial(sum(label is True for label, *_ in confident), N, 0.4)
    assert not any(label is True for label, *_ in plain)


def test_delay_shifts_feedback_by_k_turns_and_resets_each_episode() -> None:
    env = gym.make("fbenv/Math-v0", feedback="binary", noise={"delay": 2}, max_turns=6)
    for _ in range(2):
        env.reset(seed=3)
        seen = [env.step(reply)[0] for reply in (WRONG, WRONG, WRONG)]
        assert seen == ["", "", "Incorrect."]
        obs, reward, terminated, *_ = env.step(env.unwrapped.instance.oracle_action)
        assert terminated and obs == "Incorrect." and reward == 0.0  # the answer two turns back


def test_layers_compose_in_order_and_stay_deterministic() -> None:
    noise = [{"flip": 0.3}, {"drop": 0.2}, {"delay": 1}]
    first = labels(gym.make("fbenv/Math-v0", feedback="text", noise=noise), wrong, 300)
    again = labels(gym.make("fbenv/Math-v0", feedback="text", noise=noise), wrong, 300)
    assert first == again
    env = gym.make("fbenv/Math-v0", feedback="binary", noise=noise)
    assert env.unwrapped.simulator.name == "outcome+flip+drop+delay"


@pytest.mark.parametrize("env_id", sorted(fbenv.ENVS))
def test_noisy_envs_pass_check_env_and_round_trip_their_spec(env_id: str) -> None:
    noise = {"flip": 0.3, "drop": 0.1}
    env = gym.make(env_id, feedback="text", noise=noise)
    check_env(env.unwrapped)
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec.kwargs["noise"] == noise
    again = spec.make()

    def episode(e):
        out = [e.reset(seed=5)]
        out += [e.step(WRONG), e.step("Answer: 1")]
        return out

    assert data_equivalence(episode(env), episode(again), exact=True)


@pytest.mark.parametrize(
    ("noise", "message"),
    [
        ({"flip": 1.5}, "'flip' must be a probability"),
        ({"wobble": 0.1}, "unknown noise 'wobble'; known: annotators, delay, drop, flip"),
        ({"delay": -1}, "'delay' must be a number of turns"),
        ({"one_sided": "sometimes"}, "'failures' or 'successes'"),
        ({"annotators": []}, "non-empty list"),
        ({"length_bias": {"strength": 0.5, "slope": 2}}, "takes strength and scale"),
        ("flip", "noise must be a dict"),
    ],
)
def test_bad_noise_settings_raise_value_errors(noise, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make("fbenv/Math-v0", feedback="binary", noise=noise)


def test_a_noisy_simulated_user_still_answers_questions_in_person() -> None:
    env = gym.make("fbenv/Clarify-v0", feedback="binary", noise={"flip": 1.0},
                   simulator_kwargs={"persona": {"verbosity": "terse", "cooperativeness": 1.0, "consistency": 1.0}})
    env.reset(seed=0)
    slot = env.unwrapped.instance.data["slots"][0]
    obs, *_, info = env.step(f"ASK: {slot.label}?")
    assert obs == slot.short and info["move"]["signal"] == "answer"  # the persona voiced it: terse
    obs, *_, info = env.step("ANSWER: nothing")
    assert info["feedback"].label is True and not info["verdict"].correct  # the feedback flipped, the truth did not
