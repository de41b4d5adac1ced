"""Contract tests over every registered fbenv id, every feedback kind it declares and every simulator.

A new env id (one ``ENVS`` entry) or a new simulator (one registry line) is covered here with no new
test code: Gymnasium's ``check_env``, same-seed determinism, spec JSON round trip, the reference
answer winning on turn 1 with the best feedback, and a wrong answer getting feedback of its kind.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env, data_equivalence

import fbenv
from fbenv.simulators import SIMULATORS, get_simulator

ENV_IDS = sorted(fbenv.ENVS)
WRONG = "1 + 1 = 3\nAnswer: -987654321"


def kinds_of(env_id: str) -> tuple[str, ...]:
    env = gym.make(env_id)
    kinds = env.metadata["feedback_kinds"]
    env.close()
    return kinds


CASES = [(env_id, kind) for env_id in ENV_IDS for kind in kinds_of(env_id)]
SIMULATOR_CASES = [
    (env_id, name)
    for env_id in ENV_IDS
    for name in SIMULATORS
    if set(get_simulator(name).kinds) & set(kinds_of(env_id))
    # LLM-backed simulators need a backend kwarg and a model; tests/simulators/test_llm_critic.py
    # runs the same contract through a tiny local model and a local server.
    and not getattr(get_simulator(name), "nondeterministic", False)
]


def make(env_id: str, kind: str, **kwargs) -> gym.Env:
    return gym.make(env_id, feedback=kind, **kwargs)


def oracle(env: gym.Env) -> str:
    return env.unwrapped.instance.oracle_action


@pytest.mark.parametrize(("env_id", "kind"), CASES)
def test_check_env_passes_without_warnings(env_id: str, kind: str) -> None:
    env = make(env_id, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize(("env_id", "kind"), CASES)
def test_same_seed_and_actions_give_the_same_episode(env_id: str, kind: str) -> None:
    def episode(seed: int) -> list:
        env = make(env_id, kind, max_turns=4)
        record = [env.reset(seed=seed)]
        actions = [WRONG, "", "Answer: 3\n\\boxed{7}"]
        record.append(env.step(actions[0]))
        record.append(env.step(actions[1]))
        record.append(env.step(actions[2]))
        record.append(env.step(oracle(env)))
        return record

    first, second = episode(7), episode(7)
    assert data_equivalence(first, second, exact=True)
    assert repr(first) == repr(second)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeds_spread_over_instances(env_id: str) -> None:
    env = gym.make(env_id)
    task_ids = {env.reset(seed=seed)[1]["task_id"] for seed in range(30)}
    assert len(task_ids) >= min(10, len(env.unwrapped.task) // 2 + 1)


@pytest.mark.parametrize(("env_id", "kind"), CASES)
def test_spec_json_round_trips_and_makes_the_same_env(env_id: str, kind: str) -> None:
    env = make(env_id, kind, max_turns=3, turn_discount=0.5)
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec == env.spec
    again = spec.make()
    assert again.reset(seed=3) == env.reset(seed=3)
    assert repr(again.step(WRONG)) == repr(env.step(WRONG))


@pytest.mark.parametrize(("env_id", "kind"), CASES)
@pytest.mark.parametrize("seed", range(5))
def test_reference_answer_is_correct_on_turn_one_with_the_best_feedback(env_id: str, kind: str, seed: int) -> None:
    env = make(env_id, kind)
    env.reset(seed=seed)
    _, reward, terminated, truncated, info = env.step(oracle(env))
    assert info["verdict"].correct and info["verdict"].score == 1.0
    assert terminated and not truncated
    assert reward == 1.0
    feedback = info["feedback"]
    assert feedback.kind == kind
    assert feedback.label in (True, None)
    if feedback.value is not None:
        assert feedback.value == 1.0


@pytest.mark.parametrize(("env_id", "kind"), CASES)
def test_wrong_answer_gets_feedback_of_the_declared_kind(env_id: str, kind: str) -> None:
    env = make(env_id, kind)
    prompt, _ = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(WRONG)
    feedback = info["feedback"]
    assert not info["verdict"].correct
    assert feedback.kind == kind
    assert obs == feedback.text
    assert not terminated and not truncated
    assert info["messages"][-1] == {"role": "user", "content": obs}
    if kind == "none":
        assert obs == "" and feedback.label is None
    else:
        assert obs.strip() and feedback.label is False
        assert reward < 1.0
    if kind == "process":
        assert len(feedback.step_labels) == len(info["verdict"].steps) + 1
        assert feedback.step_labels[-1] is False


@pytest.mark.parametrize(("env_id", "name"), SIMULATOR_CASES)
def test_every_simulator_judges_reference_and_wrong_answers_on_every_env(env_id: str, name: str) -> None:
    kind = next(k for k in get_simulator(name).kinds if k in kinds_of(env_id))
    env = make(env_id, kind, simulator=name)
    honest = get_simulator(name).honest
    env.reset(seed=2)
    _, _, _, _, info = env.step(WRONG)
    assert info["feedback"].kind == kind and info["feedback"].source == name
    assert not info["verdict"].correct
    if honest:
        assert info["feedback"].label in (False, None)
    _, _, terminated, _, info = env.step(oracle(env))
    assert terminated and info["verdict"].correct  # the truth ends the episode whatever was said
    if honest:
        assert info["feedback"].label in (True, None)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_declares_family_and_kinds(env_id: str) -> None:
    env = gym.make(env_id)
    assert env.metadata["family"] == fbenv.ENVS[env_id][0]
    assert set(env.metadata["feedback_kinds"]) <= set(fbenv.KINDS)
    assert {"none", "unary", "binary", "text", "process"} <= set(env.metadata["feedback_kinds"])
