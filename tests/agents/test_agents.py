"""Agents: the batched protocol, the baselines, model agents over a backend, and agent specs."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import pytest

import fbenv  # noqa: F401
from fbenv.agents import FixedAgent, OracleAgent, RandomAgent, Turn, make_agent
from fbenv.agents.llm import REFLECT_PROMPT, LLMAgent, ReflexionAgent
from fbenv.backends import Generation, GenerationRequest


class RecordingBackend:
    """Replies 'Answer: <n>' with n counting calls; keeps every batch it was sent."""

    def __init__(self) -> None:
        self.batches: list[list[GenerationRequest]] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.batches.append(list(requests))
        return [Generation(f"Answer: {len(self.batches)}", 3, 2, 0.0) for _ in requests]


def test_oracle_solves_from_the_env_and_needs_it() -> None:
    env = gym.make("fbenv/Math-v0")
    env.reset(seed=3)
    [reply] = OracleAgent().act([Turn(({"role": "user", "content": "?"},), env=env)])
    *_, terminated, _, info = env.step(reply)
    assert terminated and info["verdict"].correct
    with pytest.raises(RuntimeError, match="needs the env"):
        OracleAgent().act([Turn(({"role": "user", "content": "?"},))])


def test_random_agent_is_seeded_by_what_it_saw_and_guesses_from_the_conversation() -> None:
    turn = Turn(({"role": "user", "content": "What is 12 + 30?"},), episode="a", seed=5)
    agent = RandomAgent()
    first = agent.act([turn])[0]
    assert first == agent.act([Turn(turn.messages, episode="other condition", seed=5)])[0]
    guess = int(first.removeprefix("Answer: "))
    assert abs(guess - 12) <= 3 or abs(guess - 30) <= 3
    guesses = {agent.act([Turn(turn.messages, seed=s)])[0] for s in range(30)}
    assert len(guesses) > 3
    assert RandomAgent().act([Turn(({"role": "user", "content": "Name the capital of Zorvia."},))])[0] in {
        "Answer: Name", "Answer: the", "Answer: capital", "Answer: Zorvia"}


def test_fixed_agent_batches() -> None:
    assert FixedAgent("x").act([Turn(())] * 3) == ["x", "x", "x"]
    with pytest.raises(TypeError):
        FixedAgent(3)  # type: ignore[arg-type]


def test_llm_agent_sends_one_batch_with_system_prompt_and_paired_seeds() -> None:
    backend = RecordingBackend()
    agent = LLMAgent(backend, system_prompt="Be brief.", temperature=0.7)
    turns = [Turn(({"role": "user", "content": f"q{i}"},), episode=f"e{i}", seed=i) for i in range(4)]
    assert agent.act(turns) == ["Answer: 1"] * 4 and len(backend.batches) == 1
    request = backend.batches[0][0]
    assert request.messages[0] == {"role": "system", "content": "Be brief."} and request.temperature == 0.7
    # The same instance (seed) gets the same sampling seed whatever the condition's episode key.
    again = agent.act([Turn(turns[0].messages, episode="another condition", seed=0)])
    assert backend.batches[1][0].seed == request.seed and again == ["Answer: 2"]
    assert agent.act([]) == []


def test_reflexion_reflects_after_feedback_and_keeps_memory_per_episode() -> None:
    backend = RecordingBackend()
    agent = ReflexionAgent(backend)
    first = [Turn(({"role": "user", "content": "q"},), episode="e")]
    agent.act(first)
    assert len(backend.batches) == 1  # no reflection on a first turn
    retry = Turn(({"role": "user", "content": "q"}, {"role": "assistant", "content": "Answer: 1"},
                  {"role": "user", "content": "Incorrect."}), episode="e")
    agent.act([retry, Turn(({"role": "user", "content": "q2"},), episode="f")])
    reflect_batch, answer_batch = backend.batches[1], backend.batches[2]
    assert len(reflect_batch) == 1 and reflect_batch[0].messages[-1]["content"] == REFLECT_PROMPT
    assert answer_batch[0].messages[0]["role"] == "system"
    assert "Answer: 2" in answer_batch[0].messages[0]["content"]  # the reflection is in memory
    assert answer_batch[1].messages[0]["role"] == "user"  # the other episode has no memory
    agent.act([Turn(({"role": "user", "content": "q"},), episode="e")])  # a new episode under the same key
    assert "e" not in agent.memory


def test_agent_specs(tmp_path) -> None:
    assert make_agent("oracle").name == "oracle"
    assert make_agent("random").name == "random"
    assert make_agent("fixed:Answer: 4").act([Turn(())]) == ["Answer: 4"]
    assert make_agent("fbenv.agents.baselines:FixedAgent").act([Turn(())]) == ["Answer: 0"]
    for bad, match in [("", "non-empty"), ("gpt4", "unknown agent spec"), ("nosuch.mod:X", "could not load"),
                       ("reflexion:oracle", "reflexion needs a model spec"), ("fbenv.agents:Turn", "with no arguments"),
                       ("fbenv.agents.base:Turn.__base__", "no act")]:
        with pytest.raises(ValueError, match=match):
            make_agent(bad)


def test_openai_spec_agent_talks_to_a_real_server(openai_server) -> None:
    url = openai_server("--reply", "Answer: 17")
    agent = make_agent(f"openai:tiny@{url}")
    assert agent.act([Turn(({"role": "user", "content": "3 * 4 + 5?"},))] * 2) == ["Answer: 17", "Answer: 17"]


@pytest.mark.slow
def test_hf_agent_runs_episodes_through_the_real_backend() -> None:
    from tiny_llm import tiny_model_dir

    from fbenv.eval import EpisodeSpec, RolloutStats, rollout

    agent = make_agent("hf:" + tiny_model_dir())
    agent.max_tokens = 16
    stats = RolloutStats()
    specs = [EpisodeSpec("fbenv/Math-v0", {"feedback": "binary", "max_turns": 2}, seed, "binary") for seed in range(3)]
    records = list(rollout(agent, specs, concurrency=3, stats=stats))
    assert len(records) == 3 and stats.agent_batch_sizes[0] == 3
    assert all(m["source"] == "agent" and isinstance(m["content"], str)
               for r in records for m in r["messages"][1::2])
