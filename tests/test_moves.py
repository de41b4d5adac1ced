"""Tasks with moves: a move's result is the observation, answers are judged with the episode's state."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fbenv.env import FeedbackEnv
from fbenv.feedback import Verdict
from fbenv.simulators.outcome import Outcome
from fbenv.tasks.base import Instance, Move, MoveResult, Task


class LookupTask(Task):
    """Answer is the secret; ``look`` reveals it at a cost; ``ask`` goes to the user; ``quit`` ends."""

    family = "search"

    def instance(self, index: int) -> Instance:
        return Instance(f"lookup/{index}", index, "What is the secret? 'look' or answer.", str(index * 7),
                        str(index * 7))

    def check(self, instance: Instance, reply: str) -> Verdict:
        raise AssertionError("check_episode is used instead")

    def parse_move(self, reply: str) -> Move | None:
        word = reply.strip().lower()
        if word in ("look", "ask", "quit"):
            return Move(word, "")
        return None

    def new_episode(self, instance: Instance) -> Any:
        return {"looks": 0}

    def play_move(self, instance: Instance, move: Move, state: Any, rng: np.random.Generator) -> MoveResult:
        if move.name == "quit":
            return MoveResult("bye", end_episode=True, source="user", to_user=True)
        if move.name == "ask":
            return MoveResult("I don't know", {"asked": True}, to_user=True, source="user")
        state["looks"] += 1
        return MoveResult(f"secret: {instance.reference}", {"looks": state["looks"]}, cost=0.25)

    def note_reply(self, instance: Instance, move: Move, result: MoveResult, state: Any) -> None:
        state.setdefault("heard", []).append(result.text)

    def check_episode(self, instance: Instance, reply: str, state: Any) -> Verdict:
        correct = reply.strip() == instance.reference
        return Verdict(correct, float(correct), reply.strip(), instance.reference,
                       diagnostics=(f"looks={state['looks']}",))


class VoicingOutcome(Outcome):
    """A user that voices answers to its questions in its own words."""

    def reply_to_move(self, instance, transcript, move, result, rng):
        return MoveResult(f"(user) {result.text}", {**result.details, "voiced": True}, to_user=True, source="user",
                          end_episode=result.end_episode)


def make(**kwargs: Any) -> FeedbackEnv:
    return FeedbackEnv(task=LookupTask(), feedback="binary", max_turns=4, **kwargs)


def test_move_is_observation_with_cost_and_state_reaches_check() -> None:
    env = make()
    env.reset(seed=0, options={"task_index": 3})
    obs, reward, terminated, truncated, info = env.step("LOOK ")
    assert obs == "secret: 21" and reward == -0.25 and not terminated and not truncated
    assert info["verdict"] is None and info["feedback"] is None
    assert info["move"] == {"name": "look", "argument": "", "source": "tool", "looks": 1}
    obs, reward, terminated, truncated, info = env.step("21")
    assert terminated and reward == 1.0 and info["verdict"].diagnostics == ("looks=1",)
    assert [m["role"] for m in info["messages"]] == ["user", "assistant", "user", "assistant", "user"]


def test_state_is_fresh_each_episode_and_moves_take_turns() -> None:
    env = make()
    env.reset(seed=0, options={"task_index": 1})
    for _ in range(3):
        env.step("look")
    *_, truncated, info = env.step("wrong")
    assert truncated and info["verdict"].diagnostics == ("looks=3",)
    env.reset(seed=1, options={"task_index": 1})
    *_, info = env.step("7")
    assert info["verdict"].diagnostics == ("looks=0",)


def test_user_moves_are_voiced_by_a_simulator_that_can_and_may_end_the_episode() -> None:
    env = make(simulator="tests.test_moves:VoicingOutcome")
    env.reset(seed=0)
    obs, *_, info = env.step("ask")
    assert obs == "(user) I don't know" and info["move"]["voiced"] and info["move"]["source"] == "user"
    obs, reward, terminated, truncated, info = env.step("quit")
    assert terminated and not truncated and reward == 0.0 and env.done
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("7")


def test_plain_simulator_shows_the_tasks_own_text() -> None:
    env = make()
    env.reset(seed=0)
    obs, *_ = env.step("ask")
    assert obs == "I don't know"


def test_the_task_hears_what_the_user_finally_said_to_a_move_and_only_to_user_moves() -> None:
    env = make(simulator="tests.test_moves:VoicingOutcome")
    env.reset(seed=0)
    env.step("look")
    env.step("ask")
    assert env.episode_state["heard"] == ["(user) I don't know"]
