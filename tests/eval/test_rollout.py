"""The rollout engine: batched turns, independent episodes, who-said-what transcripts, same results as by hand."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.agents import OracleAgent, RandomAgent, Turn
from fbenv.eval import EpisodeSpec, RolloutStats, rollout

WRONG = "1 + 1 = 3\nAnswer: -987654321"


class WrongThenOracle:
    """Wrong on the first turn of every episode, right after that; records batch sizes."""

    name = "wrong-then-oracle"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def act(self, turns: Sequence[Turn]) -> list[str]:
        self.batches.append(len(turns))
        oracle = OracleAgent().act(turns)
        return [WRONG if len(t.messages) == 1 else right for t, right in zip(turns, oracle, strict=True)]


def specs(n: int, env_id: str = "fbenv/Math-v0", **kwargs: object) -> list[EpisodeSpec]:
    kwargs = {"feedback": "text", "max_turns": 3, **kwargs}
    return [EpisodeSpec(env_id, dict(kwargs), seed, "text") for seed in range(n)]


def test_every_pending_env_is_in_one_batch_and_slots_refill() -> None:
    agent = WrongThenOracle()
    records = list(rollout(agent, specs(10), concurrency=4))
    assert sorted(r["seed"] for r in records) == list(range(10))
    assert agent.batches[0] == 4 and max(agent.batches) == 4
    assert all(r["solved"] and r["solved_turn"] == 2 and r["turns"] == 2 for r in records)


def test_transcript_marks_who_said_what_and_steps_carry_truth_and_feedback() -> None:
    [record] = rollout(WrongThenOracle(), specs(1))
    assert [m["source"] for m in record["messages"]] == ["env", "agent", "user", "agent", "user"]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    first, second = record["steps"]
    assert first["kind"] == "answer" and not first["verdict"]["correct"] and first["feedback"]["kind"] == "text"
    assert first["feedback"]["label"] is False and "usage" not in first["feedback"]
    assert second["verdict"]["correct"] and second["terminated"]
    assert record["env_spec"] and gym.envs.registration.EnvSpec.from_json(record["env_spec"]).id == "fbenv/Math-v0"
    assert record["key"] == "fbenv/Math-v0|text|0" and record["agent"] == "wrong-then-oracle"


def test_records_equal_a_hand_run_of_the_same_seeds() -> None:
    records = {r["seed"]: r for r in rollout(RandomAgent(), specs(6, feedback="binary"), concurrency=3)}
    for seed, record in records.items():
        env = gym.make("fbenv/Math-v0", feedback="binary", max_turns=3)
        obs, _ = env.reset(seed=seed)
        messages = [{"role": "user", "content": obs}]
        for step in record["steps"]:
            reply = RandomAgent().act([Turn(tuple(messages), seed=seed)])[0]
            obs, reward, *_ = env.step(reply)
            assert reward == step["reward"]
            messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": obs}]
        assert [{"role": m["role"], "content": m["content"]} for m in record["messages"]] == messages


def test_tool_calls_are_recorded_as_tool_turns() -> None:
    class ToolThenOracle:
        name = "tool-user"

        def act(self, turns: Sequence[Turn]) -> list[str]:
            oracle = OracleAgent().act(turns)
            return ["<execute>print(6 * 7)</execute>" if len(t.messages) == 1 else o
                    for t, o in zip(turns, oracle, strict=True)]

    [record] = rollout(ToolThenOracle(), specs(1, env_id="fbenv/HumanEval-v0"))
    assert record["steps"][0]["kind"] == "tool" and record["steps"][0]["verdict"] is None
    assert record["messages"][2]["source"] == "tool" and "42" in record["messages"][2]["content"]
    assert record["solved"] and record["solved_turn"] == 2


def test_stats_split_env_and_agent_time() -> None:
    stats = RolloutStats()
    list(rollout(RandomAgent(), specs(5), stats=stats))
    assert stats.episodes == 5 and stats.steps >= 5 and stats.agent_calls >= 1
    assert stats.env_s > 0 and 0 < stats.env_share < 1


def test_bad_agents_get_clear_errors() -> None:
    class Short:
        name = "short"

        def act(self, turns: Sequence[Turn]) -> list[str]:
            return []

    class Bytes:
        name = "bytes"

        def act(self, turns: Sequence[Turn]) -> list[bytes]:
            return [b"x"] * len(turns)

    with pytest.raises(RuntimeError, match="one reply per turn"):
        list(rollout(Short(), specs(2)))
    with pytest.raises(TypeError, match="replies must be str"):
        list(rollout(Bytes(), specs(2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concurrency"):
        list(rollout(RandomAgent(), specs(1), concurrency=0))
