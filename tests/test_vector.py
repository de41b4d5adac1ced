"""gym.make_vec in both modes gives the same episodes as separate envs with the same seeds."""

from __future__ import annotations

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.spaces import UnicodeText

N = 8
WRONG = "Answer: -987654321"


def separate_episodes(env_id: str, seed: int, **kwargs) -> tuple[list, list[list]]:
    """Reset N separate envs with seed + i, then step each with oracle (even i) or wrong (odd i) replies."""
    resets, steps, actions = [], [], []
    for i in range(N):
        env = gym.make(env_id, **kwargs)
        resets.append(env.reset(seed=seed + i))
        first = env.unwrapped.instance.oracle_action if i % 2 == 0 else WRONG
        second = "\u00e9\ud83d\ude00 odd reply"
        actions.append((first, second))
        out = [env.step(first)]
        if i % 2:
            out.append(env.step(second))
        steps.append(out)
    return resets, steps, actions


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("env_id", ["fbenv/Math-v0", "fbenv/MathFile-v0"])
def test_vector_envs_match_separate_envs(mode: str, env_id: str) -> None:
    kwargs = {"feedback": "text", "max_turns": 3}
    resets, steps, actions = separate_episodes(env_id, 100, **kwargs)
    vec = gym.make_vec(env_id, num_envs=N, vectorization_mode=mode, **kwargs)
    try:
        obs, infos = vec.reset(seed=100)
        assert list(obs) == [r[0] for r in resets]
        assert list(infos["task_id"]) == [r[1]["task_id"] for r in resets]

        obs, rewards, terminated, truncated, infos = vec.step([a[0] for a in actions])
        for i in range(N):
            s_obs, s_rew, s_term, s_trunc, s_info = steps[i][0]
            assert (obs[i], float(rewards[i]), bool(terminated[i]), bool(truncated[i])) == (
                s_obs, s_rew, s_term, s_trunc)
            assert infos["verdict"][i] == s_info["verdict"] and infos["feedback"][i] == s_info["feedback"]
            assert bool(terminated[i]) == (i % 2 == 0)

        obs, rewards, terminated, truncated, infos = vec.step([a[1] for a in actions])
        for i in range(1, N, 2):  # the still-running envs; solved ones auto-reset on this step
            s_obs, s_rew, *_ , s_info = steps[i][1]
            assert obs[i] == s_obs and float(rewards[i]) == s_rew
            assert infos["messages"][i] == s_info["messages"]
    finally:
        vec.close()


def test_shared_memory_round_trips_any_unicode() -> None:
    from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

    space = UnicodeText(64)
    memory = create_shared_memory(space, n=3)
    values = ["", "plain", "é中文😀\x00\ud800 end"]
    for i, value in enumerate(values):
        write_to_shared_memory(space, i, value, memory)
    assert tuple(read_from_shared_memory(space, memory, n=3)) == tuple(values)
    with pytest.raises(ValueError, match="does not fit"):
        write_to_shared_memory(space, 0, "x" * 65, memory)


def test_code_vector_env_judges_concurrently_and_maps_results_back() -> None:
    from fbenv.vector import ThreadedVectorEnv

    vec = gym.make_vec("fbenv/CodeFile-v0", num_envs=6, feedback="binary")
    assert isinstance(vec.unwrapped, ThreadedVectorEnv)
    try:
        _, infos = vec.reset(seed=5)
        envs = [gym.make("fbenv/CodeFile-v0", feedback="binary") for _ in range(6)]
        for i, env in enumerate(envs):
            assert env.reset(seed=5 + i)[1]["task_id"] == infos["task_id"][i]
        # Right answers for even envs, a broken function for odd ones: each verdict must land on its env.
        actions = [envs[i].unwrapped.instance.oracle_action if i % 2 == 0 else "def broken(:" for i in range(6)]
        obs, rewards, terminated, _, infos = vec.step(actions)
        assert list(obs) == ["Correct." if i % 2 == 0 else "Incorrect." for i in range(6)]
        assert list(terminated) == [i % 2 == 0 for i in range(6)]
        assert [v.correct for v in infos["verdict"]] == [i % 2 == 0 for i in range(6)]
    finally:
        vec.close()


RESPONDING_THREADS: set[int] = set()


class Batched:
    """A simulator that asks to be called ahead, concurrently (as an LLM critic does), and draws
    from the env's generator so any change of order would show in the feedback."""

    name = "batched-test"
    kinds = ("text",)
    batched = True

    def __init__(self, kind=None) -> None:
        self.kind = kind

    def respond(self, instance, transcript, verdict, rng):
        import threading

        from fbenv.feedback import Feedback

        RESPONDING_THREADS.add(threading.get_ident())
        return Feedback(kind="text", text=f"{verdict.correct} {int(rng.integers(1000))} {len(transcript)}",
                        label=verdict.correct, source=self.name)


def test_batching_simulators_answer_ahead_on_threads_with_the_same_episodes() -> None:
    kwargs = {"feedback": "text", "simulator": f"{__name__}:Batched", "max_turns": 3}
    vec = gym.make_vec("fbenv/Math-v0", num_envs=4, **kwargs)
    singles = [gym.make("fbenv/Math-v0", **kwargs) for _ in range(4)]
    try:
        vec.reset(seed=9)
        for i, env in enumerate(singles):
            env.reset(seed=9 + i)
        for actions in (["Answer: 1"] * 4, ["Answer: 2", "Answer: 3", "Answer: 4", "Answer: 5"]):
            obs, *_ = vec.step(actions)
            assert list(obs) == [env.step(a)[0] for env, a in zip(singles, actions, strict=True)]
        assert len(RESPONDING_THREADS) >= 2  # answered from the pool, not one after another
    finally:
        vec.close()
