"""llm-critic: the prompt, leakage(), and whole episodes through a server process and a local model."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv  # noqa: F401  (registers the ids)
from fbenv.feedback import Feedback, StepCheck, Verdict
from fbenv.simulators import llm_critic
from fbenv.simulators.llm_critic import DEFAULT_SYSTEM_PROMPT, LLMCritic, critic_messages, leakage
from fbenv.tasks.base import Instance

sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
from server_process import stats

CRITIC = "fbenv.simulators.llm_critic:LLMCritic"
WRONG = "3 * 4 = 12\n12 + 5 = 18\nAnswer: 18"
FIXED = "Check your second step again."


@pytest.fixture
def server(openai_server):  # type: ignore[no-untyped-def]
    """The shared fake-server starter (tests/conftest.py)."""
    return openai_server


def make_env(spec: str, **simulator_kwargs: object) -> gym.Env:
    return gym.make("fbenv/Math-v0", feedback="text", simulator=CRITIC,
                    simulator_kwargs={"backend": spec, **simulator_kwargs})


# --- leakage ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "reference", "leaked"), [
    ("The answer is 17.", "17", True),
    ("17 is what you should get", "17", True),
    ("Check step 2; you wrote 170.", "17", False),
    ("You wrote 3.17 there.", "17", False),
    ("x17 is a label", "17", False),
    ("so x = -3 holds", "-3", True),
    ("so x = -30 holds", "-3", False),
    ("it should be 17.0", "17", True),
    ("the total is 1,200 apples", "1200", True),
    ("the total is 1200", "1,200", True),
    ("close: 12.5 is not it", "12.5", True),
    ("12.55 is not it", "12.5", False),
    ("The answer is (B).", "B", True),
    ("Be careful with brackets.", "B", False),
    ("Nothing here.", "", False),
    ("x = 3/4 is right", "3/4", True),
])
def test_leakage(text: str, reference: str, leaked: bool) -> None:
    assert leakage(text, reference) is leaked


# --- the prompt ---------------------------------------------------------------------------------
def test_prompt_carries_the_ground_truth_and_forbids_revealing_it() -> None:
    instance = Instance("math/0", 0, "What is 3 * 4 + 5?", "17", "Answer: 17")
    verdict = Verdict(correct=False, score=0.0, answer="18", reference="17",
                      steps=(StepCheck(0, "3 * 4 = 12", True), StepCheck(1, "12 + 5 = 18", False, "12 + 5 = 17",
                                                                       "the addition is off")),
                      diagnostics=("answer is larger than the reference",))
    system, user = critic_messages(instance, WRONG, verdict, DEFAULT_SYSTEM_PROMPT)
    assert system == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert "Never state the reference answer" in system["content"]
    content = user["content"]
    for part in ("What is 3 * 4 + 5?", WRONG, "Reference answer (never reveal it): 17", "WRONG",
                 "First wrong step (number 2): '12 + 5 = 18': the addition is off",
                 "answer is larger than the reference", "without revealing the reference answer"):
        assert part in content
    assert "12 + 5 = 17" not in content  # the step's expected value is not handed over


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="needs backend=SPEC"):
        gym.make("fbenv/Math-v0", feedback="text", simulator=CRITIC)
    with pytest.raises(ValueError, match="bad backend spec"):
        make_env("gpt-4")
    with pytest.raises(ValueError, match="max_tokens"):
        make_env("openai:m@http://127.0.0.1:9/v1", max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        make_env("openai:m@http://127.0.0.1:9/v1", temperature=-1)
    with pytest.raises(ValueError, match="gives text feedback"):
        gym.make("fbenv/Math-v0", feedback="binary", simulator=CRITIC,
                 simulator_kwargs={"backend": "openai:m@http://127.0.0.1:9/v1"})
    assert LLMCritic.nondeterministic is True and LLMCritic.batched is True and LLMCritic.kinds == ("text",)


# --- episodes through an OpenAI-compatible server process ---------------------------------------
def test_episode_through_a_server(server) -> None:  # type: ignore[no-untyped-def]
    url = server("--reply", FIXED)
    env = make_env(f"openai:critic@{url}", max_tokens=50)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(WRONG)
    feedback: Feedback = info["feedback"]
    assert obs == FIXED == feedback.text
    assert feedback.source == "llm-critic" and feedback.kind == "text"
    assert feedback.label is info["verdict"].correct is False
    assert reward == 0.0 and not terminated
    body = stats(url)["last"]["body"]
    assert body["max_tokens"] == 50 and body["temperature"] == 0.0
    assert f"Reference answer (never reveal it): {info['verdict'].reference}" in body["messages"][1]["content"]
    if any(f.name == "usage" for f in dataclasses.fields(Feedback)):
        usage = feedback.usage
        assert usage["backend"] == f"openai:critic@{url}"
        assert usage["completion_tokens"] == len(FIXED.split())
        assert usage["prompt_tokens"] > 20 and usage["latency_s"] > 0
        assert usage["leaked"] is False
    oracle = env.unwrapped.instance.oracle_action
    _, reward, terminated, _, info = env.step(oracle)
    assert terminated and info["feedback"].label is True and reward == 1.0


def test_a_critique_that_reveals_the_reference_is_flagged(server) -> None:  # type: ignore[no-untyped-def]
    url = server()  # echoes the prompt back, reference answer included
    env = make_env(f"openai:critic@{url}", max_tokens=400)
    env.reset(seed=1)
    _, _, _, _, info = env.step(WRONG)
    assert info["verdict"].reference in info["feedback"].text
    if any(f.name == "usage" for f in dataclasses.fields(Feedback)):
        assert info["feedback"].usage["leaked"] is True


def test_critics_share_one_backend_and_identical_prompts_are_cached(server) -> None:  # type: ignore[no-untyped-def]
    url = server("--reply", FIXED)
    spec = f"openai:critic@{url}"
    first, second = make_env(spec), make_env(spec)
    assert first.unwrapped.simulator.backend is second.unwrapped.simulator.backend
    for env in (first, second):
        env.reset(seed=3)
        env.step(WRONG)
    assert stats(url)["requests"] == 1  # the same prompt twice: served once


def test_sampling_draws_its_seed_from_the_env(server) -> None:  # type: ignore[no-untyped-def]
    url = server("--reply", FIXED)
    env = make_env(f"openai:critic@{url}", temperature=0.7)
    env.reset(seed=5)
    env.step(WRONG)
    seed = stats(url)["last"]["body"]["seed"]
    env.reset(seed=5)
    env.step(WRONG)  # the same episode: same seed, so the cache serves it
    assert stats(url)["requests"] == 1
    assert isinstance(seed, int) and stats(url)["last"]["body"]["temperature"] == 0.7


def test_vector_envs_batch_their_critiques(server) -> None:  # type: ignore[no-untyped-def]
    from fbenv.backends.base import make_backend
    from fbenv.backends.batching import BatchingBackend
    from fbenv.backends.cache import CachedBackend
    from fbenv.vector import ThreadedVectorEnv

    url = server("--reply", FIXED, "--delay", "0.2")
    spec = f"openai:critic@{url}"
    # The shared backend's 5 ms window is what production uses; on a loaded CI machine six threads can
    # take longer than that to arrive, so this test serves the spec with a window they surely fit in.
    backend = BatchingBackend(CachedBackend(make_backend(spec)), window_s=0.5)
    envs = ThreadedVectorEnv(6, task="arithmetic", feedback="text", simulator=CRITIC,
                             simulator_kwargs={"backend": spec})
    try:
        with llm_critic.serving(spec, backend):
            envs.reset(seed=10)
            obs, _, _, _, _ = envs.step([WRONG] * 6)
            assert list(obs) == [FIXED] * 6
            assert backend.batches <= 2  # six envs' critiques in one or two backend calls, not six
        assert stats(url)["requests"] == 6
    finally:
        envs.close()


# --- a whole episode on a local transformers model ----------------------------------------------
@pytest.mark.slow
def test_episode_on_a_tiny_local_model() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from tiny_llm import tiny_model_dir

    spec = "hf:" + tiny_model_dir()
    env = make_env(spec, max_tokens=24)
    env.reset(seed=0)
    for reply in (WRONG, "I think it is 5.\nAnswer: 5", "no idea"):
        obs, _, terminated, _, info = env.step(reply)
        feedback = info["feedback"]
        assert isinstance(obs, str) and obs.strip() and obs == feedback.text
        assert feedback.label is info["verdict"].correct is False and feedback.source == "llm-critic"
        if any(f.name == "usage" for f in dataclasses.fields(Feedback)):
            assert 1 <= feedback.usage["completion_tokens"] <= 24
            assert feedback.usage["prompt_tokens"] > 50 and feedback.usage["latency_s"] > 0
            assert isinstance(feedback.usage["leaked"], bool)
    _, _, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    assert terminated and info["feedback"].label is True and info["feedback"].text.strip()


def test_the_llm_user_voices_the_asker_through_the_same_backend(server) -> None:  # type: ignore[no-untyped-def]
    url = server("--reply", "Hmm, that is not what I get.")
    env = gym.make("fbenv/Math-v0", feedback="text", simulator="llm-user",
                   simulator_kwargs={"backend": f"openai:user@{url}"})
    env.reset(seed=1)
    obs, *_, info = env.step(WRONG)
    assert obs == "Hmm, that is not what I get." and info["feedback"].source == "llm-user"
    messages = stats(url)["last"]["body"]["messages"]
    assert messages[0]["content"].startswith("You are the person who asked this question")
    assert messages[1]["content"].endswith(
        "Reply to the assistant now, as the user, without revealing the reference answer.")
