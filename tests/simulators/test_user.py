"""persona-user: personas drawn from the seed, and what each persona field and feedback kind does."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import fbenv  # noqa: F401
from fbenv.simulators import user_words
from fbenv.simulators.persona import VERBOSITY, Persona, sample_persona
from fbenv.simulators.user import SIGNALS, PersonaUser

sys.path.insert(0, str(Path(__file__).parents[1] / "tasks"))
from conversation_agents import AGENTS, play

IDS = ("fbenv/Recommend-v0", "fbenv/Clarify-v0", "fbenv/Teach-v0")
KINDS = ("implicit", "text", "binary", "unary", "process", "none")
PLAIN = {"patience": 99, "verbosity": "normal", "cooperativeness": 1.0, "consistency": 1.0}
WRONG = "ANSWER: ?"


def make(env_id: str = "fbenv/Recommend-v0", kind: str = "implicit", **persona: object) -> gym.Env:
    return gym.make(env_id, feedback=kind, max_turns=40, simulator_kwargs={"persona": {**PLAIN, **persona}})


def relevant(env: gym.Env) -> list:
    return [slot for slot in env.unwrapped.instance.data["slots"] if slot.relevant]


# --- personas ---------------------------------------------------------------------------------------
def test_the_persona_user_is_the_default_for_every_kind_of_a_conversation_task() -> None:
    for kind in KINDS:
        assert type(gym.make("fbenv/Teach-v0", feedback=kind).unwrapped.simulator) is PersonaUser
    assert type(gym.make("fbenv/Teach-v0", feedback="binary", simulator="outcome").unwrapped.simulator) is not \
        PersonaUser


def test_same_seed_same_persona_and_fixing_a_field_keeps_the_others() -> None:
    def persona(seed: int, **fixed: object) -> Persona:
        return sample_persona(np.random.default_rng(seed), fixed)

    assert persona(3) == persona(3) and len({persona(seed) for seed in range(20)}) > 10
    assert persona(3, patience=1) == Persona(**{**persona(3).to_dict(), "patience": 1})
    env = gym.make("fbenv/Clarify-v0")
    personas = []
    for _ in range(2):
        env.reset(seed=11)
        env.step("ASK: anything?")
        personas.append(env.unwrapped.simulator.persona)
    assert personas[0] == personas[1] and personas[0].to_dict() == env.step("ASK: ?")[-1]["move"]["persona"]


@pytest.mark.parametrize(("persona", "message"), [
    ({"patience": 0}, "persona patience must be an int >= 1"),
    ({"verbosity": "loud"}, "persona verbosity must be one of terse, normal, chatty"),
    ({"cooperativeness": 1.5}, "persona cooperativeness must be a number in"),
    ({"feedback_style": "rude"}, "persona feedback_style must be one of"),
    ({"mood": "sad"}, "unknown persona field"),
    ("grumpy", "persona must be a dict"),
])
def test_bad_personas_are_refused_with_what_they_take(persona: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make("fbenv/Recommend-v0", simulator_kwargs={"persona": persona})


# --- patience ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("patience", [1, 2, 3])
def test_an_impatient_user_leaves_after_exactly_its_patience(env_id: str, kind: str, patience: int) -> None:
    env = make(env_id, kind, patience=patience)
    env.reset(seed=patience)
    for turn in range(1, patience + 1):
        obs, reward, terminated, truncated, info = env.step(WRONG)
        assert terminated == (turn == patience) and not truncated
    feedback = info["feedback"]
    assert feedback.end_episode and feedback.signal == "leaving" and not info["verdict"].correct and reward < 1
    assert (obs == "") == (kind == "none")
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(env.unwrapped.instance.oracle_action)


@pytest.mark.parametrize("env_id", IDS)
def test_repeated_questions_count_towards_patience_and_the_user_leaves_on_a_question(env_id: str) -> None:
    env = make(env_id, "binary", patience=2)
    env.reset(seed=0)
    label = relevant(env)[0].label
    env.step(f"ASK: {label}?")
    *_, terminated, _, info = env.step(f"ASK: {label}?")
    assert not terminated and info["move"]["signal"] == "repeat"
    obs, reward, terminated, truncated, info = env.step(f"ASK: {label}, again?")
    assert terminated and not truncated and info["move"]["signal"] == "leaving" and obs in user_words.GOODBYES


def test_good_questions_and_accepted_answers_cost_no_patience() -> None:
    env = make("fbenv/Clarify-v0", "text", patience=1)
    info, solved, _ = play(env, AGENTS["fbenv/Clarify-v0"], 5)
    assert solved and env.unwrapped.simulator.unhelpful == 0


# --- cooperativeness, verbosity, consistency ----------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
def test_an_uncooperative_user_answers_partly_then_fully_when_asked_again(env_id: str) -> None:
    env = make(env_id, cooperativeness=0.0)
    env.reset(seed=1)
    for slot in relevant(env):
        first, *_, info = env.step(f"ASK: {slot.label}?")
        assert first == slot.partial and "not sure yet" in first and info["move"]["partial"] == [slot.name]
        second, *_, info = env.step(f"ASK: {slot.label}?")
        assert second == slot.answer and info["move"]["told"] == [slot.name]


def test_a_cooperative_user_never_answers_partly() -> None:
    env = make(cooperativeness=1.0, consistency=0.9)
    for seed in range(30):
        env.reset(seed=seed)
        for slot in env.unwrapped.instance.data["slots"]:
            *_, info = env.step(f"ASK: {slot.label}?")
            assert info["move"]["partial"] == []


@pytest.mark.parametrize("env_id", IDS)
def test_verbosity_changes_the_words_not_the_facts(env_id: str) -> None:
    said = {}
    for verbosity in VERBOSITY:
        env = make(env_id, verbosity=verbosity)
        env.reset(seed=6)
        slot = relevant(env)[0]
        said[verbosity], *_ = env.step(f"ASK: {slot.label}?")
    assert said["terse"] == slot.short and said["normal"] == slot.answer
    assert said["chatty"].startswith(slot.answer + " ") and said["chatty"][len(slot.answer) + 1:] in \
        user_words.SMALL_TALK
    assert len(said["terse"]) <= len(said["normal"]) < len(said["chatty"])


@pytest.mark.parametrize("env_id", IDS)
def test_an_inconsistent_user_slips_then_takes_it_back_in_the_next_reply(env_id: str) -> None:
    env = make(env_id, consistency=0.0)
    env.reset(seed=2)
    first, second = relevant(env)[:2]
    obs, *_, info = env.step(f"ASK: {first.label}?")
    assert obs == first.wrong != first.answer and info["move"]["slipped"] == [first.name] and info["move"]["told"] == []
    obs, *_, info = env.step(f"ASK: {second.label}?")
    assert obs.endswith(f"Oh, and I misspoke about the {first.label} earlier: {first.answer}")
    assert info["move"]["corrected"] == [first.name] and info["move"]["signal"] == "clarification"
    assert env.unwrapped.episode_state.told == {first.name}  # the second slot slipped too


def test_a_slip_is_recoverable_an_asking_agent_still_succeeds() -> None:
    for env_id in IDS:
        env = make(env_id, consistency=0.0)
        assert all(play(env, AGENTS[env_id], seed)[1] for seed in range(40))


def test_a_consistent_user_never_slips() -> None:
    env = make(consistency=1.0, cooperativeness=0.8)
    for seed in range(30):
        env.reset(seed=seed)
        for slot in env.unwrapped.instance.data["slots"]:
            assert env.step(f"ASK: {slot.label}?")[-1]["move"]["slipped"] == []


# --- feedback kinds -----------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize(("style", "signal"), [("direct", "reformulation"), ("indirect", "follow-up"),
                                               ("minimal", "follow-up")])
def test_implicit_feedback_is_the_next_message_with_its_signal_only_in_info(env_id: str, style: str,
                                                                            signal: str) -> None:
    env = make(env_id, feedback_style=style)
    env.reset(seed=3)
    wrong = _wrong_attempt(env)
    cases = [(wrong, signal, False), (wrong, "repeat", False), ("hello?", "clarification", False),
             (env.unwrapped.instance.oracle_action, "thanks", True)]
    for reply, expected, label in cases:
        obs, _, _, _, info = env.step(reply)
        feedback = info["feedback"]
        assert feedback.kind == "implicit" and feedback.signal == expected and feedback.label is label
        assert obs == feedback.text and obs.strip() and "signal" not in obs.lower()
        assert not any(name in obs.lower() for name in SIGNALS if name not in ("thanks", "answer", "repeat"))
    issue = env.unwrapped.task.check(env.unwrapped.instance, wrong).details["issues"][0]
    assert {"direct": issue["answer"], "indirect": issue["follow_up"], "minimal": issue["follow_up"]}[style] in \
        info["messages"][2]["content"]


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize(("style", "says"), [("direct", "answer"), ("indirect", "complaint"), ("minimal", "label")])
def test_text_feedback_is_a_complaint_or_a_correction_by_style(env_id: str, style: str, says: str) -> None:
    env = make(env_id, "text", feedback_style=style)
    env.reset(seed=4)
    wrong = _wrong_attempt(env)
    obs, *_, info = env.step(wrong)
    issue = info["verdict"].details["issues"][0]
    assert issue[says] in obs and info["feedback"].label is False and info["feedback"].signal is None


@pytest.mark.parametrize(("level", "expect"), [(0, "No, that's not what I wanted."), (3, "one"), (4, "all")])
def test_hint_levels_override_the_style_of_text_feedback(level: int, expect: str) -> None:
    env = gym.make("fbenv/Clarify-v0", feedback="text", hint_level=level,
                   simulator_kwargs={"persona": {**PLAIN, "feedback_style": "minimal"}})
    env.reset(seed=0)
    obs, *_, info = env.step("ANSWER: " + "; ".join(f"{s.name}=?" for s in env.unwrapped.instance.data["slots"]))
    issues = info["verdict"].details["issues"]
    assert {"one": "No. " + issues[0]["answer"], "all": "No. " + " ".join(i["answer"] for i in issues)}.get(
        expect, expect) == obs


@pytest.mark.parametrize("env_id", IDS)
def test_binary_unary_and_none_feedback(env_id: str) -> None:
    cases = (("binary", {"Thumbs down."}, "Thumbs up."), ("unary", set(user_words.NUDGES), ""), ("none", {""}, ""))
    for kind, wrong_obs, right_obs in cases:
        env = make(env_id, kind)
        env.reset(seed=0)
        obs, reward, *_, info = env.step(WRONG)
        assert obs in wrong_obs and info["feedback"].label is (None if kind == "none" else False)
        obs, reward, terminated, *_ = env.step(env.unwrapped.instance.oracle_action)
        assert obs == right_obs and terminated and reward == 1.0


def test_on_a_task_without_a_goal_the_user_gives_plain_feedback() -> None:
    env = gym.make("fbenv/Math-v0", feedback="text", simulator="persona-user")
    env.reset(seed=0)
    obs, *_, info = env.step("Answer: -1")
    assert obs == "No, that's not what I wanted." and info["feedback"].source == "persona-user"
    env = gym.make("fbenv/Math-v0", feedback="binary", simulator="persona-user")
    env.reset(seed=0)
    assert env.step("Answer: -1")[0] == "Thumbs down."


def _wrong_attempt(env: gym.Env) -> str:
    """A well-formed attempt that breaks at least one requirement."""
    data = env.unwrapped.instance.data
    if "catalogue" in data:
        catalogue = data["catalogue"]
        return f"RECOMMEND: {next(item['id'] for item in catalogue.items if catalogue.violated(item))}"
    if "expected" in data:
        return "ANSWER:\n" + "\n".join(data["expected"][::-1])
    return "ANSWER: " + "; ".join(f"{slot.name}=0" for slot in data["slots"])
