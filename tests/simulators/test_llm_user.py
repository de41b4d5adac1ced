"""llm-persona-user: the rule user decides, a model words it (fake OpenAI server; a tiny local model)."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv
from fbenv.simulators import get_simulator
from fbenv.simulators.llm_user import SYSTEM_PROMPT, LLMPersonaUser

sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
from server_process import stats

SAID = "Well, it has to be something I like."
PERSONA = {"patience": 2, "verbosity": "terse", "cooperativeness": 1.0, "consistency": 1.0,
           "feedback_style": "direct"}


def make(spec: str, kind: str = "implicit", env_id: str = "fbenv/Recommend-v0", **kwargs: object) -> gym.Env:
    return gym.make(env_id, feedback=kind, simulator="llm-persona-user",
                    simulator_kwargs={"backend": spec, "persona": PERSONA, **kwargs})


def test_it_is_flagged_nondeterministic_and_batched_and_checks_its_settings() -> None:
    assert get_simulator("llm-persona-user") is LLMPersonaUser
    assert LLMPersonaUser.nondeterministic and LLMPersonaUser.batched
    assert set(LLMPersonaUser.kinds) == set(fbenv.KINDS)
    with pytest.raises(ValueError, match="llm-persona-user needs backend=SPEC"):
        gym.make("fbenv/Recommend-v0", simulator="llm-persona-user")
    with pytest.raises(ValueError, match="max_tokens"):
        make("openai:m@http://127.0.0.1:9/v1", max_tokens=0)
    with pytest.raises(ValueError, match="persona patience"):
        make("openai:m@http://127.0.0.1:9/v1", persona={"patience": -1})


def test_answers_are_worded_by_the_model_from_goal_persona_and_the_rule_users_guidance(openai_server) -> None:  # type: ignore[no-untyped-def]
    url = openai_server("--reply", SAID)
    env = make(f"openai:user@{url}")
    env.reset(seed=0)
    slot = next(s for s in env.unwrapped.instance.data["slots"] if s.relevant)
    obs, reward, terminated, _, info = env.step(f"ASK: what about the {slot.label}?")
    assert obs == SAID and not terminated and info["move"]["signal"] == "answer"
    assert info["move"]["told"] == [slot.name] and info["move"]["usage"]["completion_tokens"] == len(SAID.split())
    system, user = stats(url)["last"]["body"]["messages"]
    assert system["content"].startswith(SYSTEM_PROMPT.split("{goal}")[0])
    assert all(f"- {line}" in system["content"] for line in env.unwrapped.instance.data["goal"])
    assert "you answer in as few words as possible" in system["content"]
    assert f"[assistant] ASK: what about the {slot.label}?" in user["content"]
    assert f"Guidance (your message; it answers the assistant's question):\n{slot.short}" in user["content"]


def test_feedback_keeps_the_rule_users_label_signal_and_leaving(openai_server) -> None:  # type: ignore[no-untyped-def]
    url = openai_server("--reply", SAID)
    env = make(f"openai:user@{url}")
    env.reset(seed=1)
    obs, reward, terminated, _, info = env.step("RECOMMEND: nothing")
    feedback = info["feedback"]
    assert obs == SAID == feedback.text and feedback.label is False and feedback.signal == "clarification"
    assert feedback.source == "llm-persona-user" and feedback.usage["backend"] == f"openai:user@{url}"
    assert not terminated
    *_, terminated, _, info = env.step("RECOMMEND: nothing")  # patience 2: the user leaves
    assert terminated and info["feedback"].signal == "leaving" and "leaving" in stats(url)["last"]["body"][
        "messages"][1]["content"]
    env.reset(seed=1)
    *_, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and info["feedback"].label is True and info["feedback"].signal == "thanks"


def test_kinds_without_words_are_not_sent_to_the_model(openai_server) -> None:  # type: ignore[no-untyped-def]
    url = openai_server("--reply", SAID)
    env = make(f"openai:user@{url}", kind="binary")
    env.reset(seed=2)
    obs, *_ = env.step("RECOMMEND: nothing")
    assert obs == "Thumbs down." and stats(url)["requests"] == 0


def test_an_empty_model_reply_falls_back_to_the_rule_users_words(openai_server) -> None:  # type: ignore[no-untyped-def]
    url = openai_server("--reply", "")
    env = make(f"openai:user@{url}", env_id="fbenv/Clarify-v0")
    env.reset(seed=0)
    slot = env.unwrapped.instance.data["slots"][0]
    assert env.step(f"ASK: {slot.label}?")[0] == slot.short


@pytest.mark.slow
def test_a_conversation_with_a_tiny_local_model() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from tiny_llm import tiny_model_dir

    env = make("hf:" + tiny_model_dir(), kind="text", env_id="fbenv/Clarify-v0", max_tokens=16)
    env.reset(seed=0)
    slot = env.unwrapped.instance.data["slots"][0]
    obs, *_, info = env.step(f"ASK: {slot.label}?")
    assert isinstance(obs, str) and obs.strip() and 1 <= info["move"]["usage"]["completion_tokens"] <= 16
    obs, *_, info = env.step("ANSWER: nothing")
    assert obs.strip() and info["feedback"].label is False and info["feedback"].usage["prompt_tokens"] > 50
    _, _, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and info["verdict"].correct and info["feedback"].label is True
