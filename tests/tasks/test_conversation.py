"""The conversation family: asking agents succeed, guessing fails, questions are facts, turns are labelled."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import pytest

import fbenv
from fbenv.tasks.dialogue_acts import MAX_QUESTION_LENGTH, mentioned, parse_act, parse_question

sys.path.insert(0, str(Path(__file__).parent))
from conversation_agents import AGENTS, immediate, play

CONVERSATION = sorted(env_id for env_id, (family, _) in fbenv.ENVS.items() if family == "conversation")
SEEDS = range(120)


def test_the_family_has_its_three_ids() -> None:
    assert CONVERSATION == ["fbenv/Clarify-v0", "fbenv/Recommend-v0", "fbenv/Teach-v0"]


@pytest.mark.parametrize("env_id", CONVERSATION)
@pytest.mark.parametrize("kind", ["text", "implicit"])
def test_an_agent_that_asks_the_right_questions_succeeds_in_95_percent_of_seeds(env_id: str, kind: str) -> None:
    env = gym.make(env_id, feedback=kind)
    solved = [play(env, AGENTS[env_id], seed)[1] for seed in SEEDS]
    assert sum(solved) >= 0.95 * len(SEEDS)


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_an_agent_that_answers_immediately_mostly_fails(env_id: str) -> None:
    env = gym.make(env_id, feedback="binary")
    wins = 0
    for seed in SEEDS:
        prompt, _ = env.reset(seed=seed)
        *_, info = env.step(immediate(prompt))
        wins += info["verdict"].correct
    assert wins <= 0.25 * len(SEEDS)


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_questions_are_moves_resolved_into_the_slots_they_name(env_id: str) -> None:
    env = gym.make(env_id, feedback="text", simulator_kwargs={"persona": _plain()})
    env.reset(seed=4)
    slots = env.unwrapped.instance.data["slots"]
    first, last = slots[0], slots[-1]
    obs, reward, terminated, truncated, info = env.step(f"ask: what about the {first.label.upper()}?")
    move = info["move"]
    assert info["verdict"] is None and info["feedback"] is None and not terminated and reward == 0.0
    assert [fact["slot"] for fact in move["facts"]] == [first.name] and move["progress"] and not move["repeat"]
    assert obs == first.answer and move["told"] == [first.name] and move["signal"] == "answer"
    *_, info = env.step(f"ASK: and the {first.label}, once more?")
    assert info["move"]["repeat"] and not info["move"]["progress"] and info["move"]["signal"] == "repeat"
    *_, info = env.step(f"ASK: {first.label} and {last.label}?")  # two at once, one of them new
    assert [f["slot"] for f in info["move"]["facts"]] == [first.name, last.name] and not info["move"]["repeat"]
    obs, *_, info = env.step("ASK: Is there anything else I should know?")  # open: the next untold slot
    untold = next(s for s in slots if s.relevant and s.name not in (first.name, last.name))
    assert info["move"]["open"] and [f["slot"] for f in info["move"]["facts"]] == [untold.name]


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_an_open_question_with_nothing_left_is_unhelpful_only_the_second_time(env_id: str) -> None:
    env = gym.make(env_id, feedback="binary", simulator_kwargs={"persona": _plain()})
    env.reset(seed=1)
    for slot in env.unwrapped.instance.data["slots"]:
        env.step(f"ASK: {slot.label}?")
    obs, *_, info = env.step("ASK: anything else?")
    assert info["move"]["facts"] == [] and not info["move"]["repeat"] and obs == "That's everything, I think."
    *_, info = env.step("ASK: anything else?")
    assert info["move"]["repeat"] and env.unwrapped.simulator.unhelpful == 1


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_process_feedback_labels_every_earlier_turn_by_its_progress(env_id: str) -> None:
    env = gym.make(env_id, feedback="process", simulator_kwargs={"persona": _plain()})
    env.reset(seed=2)
    slots = env.unwrapped.instance.data["slots"]
    env.step(f"ASK: {slots[0].label}?")  # progress: it matters and was untold
    env.step(f"ASK: {slots[0].label}?")  # no progress: asked again
    env.step("ANSWER: ?")  # an attempt that scores nothing: no progress
    obs, reward, terminated, _, info = env.step(env.unwrapped.instance.oracle_action)
    feedback, verdict = info["feedback"], info["verdict"]
    assert [step.correct for step in verdict.steps] == [True, False, False]
    assert feedback.step_labels == (*(s.correct for s in verdict.steps), True) and len(feedback.step_labels) == 4
    assert terminated and reward == feedback.score == sum(feedback.step_labels) / 4
    assert obs.splitlines()[0].startswith("Turn 1: progress") and obs.splitlines()[-1] == "This attempt: accepted"


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_a_partial_answer_tells_nothing_yet_so_asking_again_is_progress(env_id: str) -> None:
    env = gym.make(env_id, feedback="text", simulator_kwargs={"persona": {**_plain(), "cooperativeness": 0.0}})
    env.reset(seed=0)
    slot = next(s for s in env.unwrapped.instance.data["slots"] if s.relevant)
    obs, *_, info = env.step(f"ASK: {slot.label}?")
    assert obs == slot.partial and info["move"]["told"] == [] and info["move"]["signal"] == "partial"
    obs, *_, info = env.step(f"ASK: {slot.label}?")
    assert obs == slot.answer and info["move"]["progress"] and not info["move"]["repeat"]
    assert env.unwrapped.episode_state.told == {slot.name}


@pytest.mark.parametrize("env_id", CONVERSATION)
def test_the_oracle_action_and_instances_depend_on_seed_and_index_alone(env_id: str) -> None:
    first, second = gym.make(env_id).unwrapped.task, gym.make(env_id).unwrapped.task
    other = gym.make(env_id, seed=1).unwrapped.task
    assert first.instance(17).prompt == second.instance(17).prompt and first.instance(17).task_id.endswith("/17")
    assert first.instance(17).prompt != other.instance(17).prompt
    assert first.check(first.instance(17), first.instance(17).oracle_action).correct
    with pytest.raises(ValueError, match="seed must be an int"):
        gym.make(env_id, seed="x")


HOSTILE = ["", "\x00\xff" * 500, "ASK:", "ASK: " + "\u202e\ud800" * 100, "ask: " + "x" * (MAX_QUESTION_LENGTH + 10),
           "RECOMMEND: " + "R01 " * 1000, "ANSWER: " + "=;" * 5000, "Answer:\n" + "é\n" * 3000,
           "x" * 2**20, "ASK: " + "where when who " * 100, "🙂" * 1000]


@pytest.mark.parametrize("env_id", CONVERSATION)
@pytest.mark.parametrize("kind", ["text", "implicit", "process"])
def test_hostile_replies_never_crash_and_every_observation_fits(env_id: str, kind: str) -> None:
    env = gym.make(env_id, feedback=kind, max_turns=len(HOSTILE) + 1, simulator_kwargs={"persona": {"patience": 99}})
    env.reset(seed=0)
    for reply in HOSTILE:
        obs, reward, terminated, truncated, info = env.step(reply)
        assert env.observation_space.contains(obs) and not terminated and not truncated
        question = reply.lower().startswith("ask:") and len(reply) <= MAX_QUESTION_LENGTH  # longer: a failed attempt
        assert (info["verdict"] is None) == question == ("move" in info)
    assert env.step(env.unwrapped.instance.oracle_action)[2]


# --- the dialogue-act protocol --------------------------------------------------------------------
@pytest.mark.parametrize(("reply", "act"), [
    ("ASK: what is your budget?", ("ask", "what is your budget?")),
    ("  ask :   budget?  ", ("ask", "budget?")),
    ("Let me think.\n**Recommend**: R03", ("recommend", "R03")),
    ("- answer: day=Friday\ntime=19:00", ("answer", "day=Friday\ntime=19:00")),
    ("I'd ask you something: no act here", None),
    ("", None),
])
def test_a_reply_is_read_as_its_first_act_in_any_case(reply: str, act: tuple[str, str] | None) -> None:
    parsed = parse_act(reply)
    assert (parsed.name, parsed.argument) == act if act else parsed is None


def test_only_short_ask_replies_are_questions() -> None:
    assert parse_question("ASK: why?") == "why?"
    assert parse_question("RECOMMEND: R01") is None
    assert parse_question("ASK: " + "x" * (MAX_QUESTION_LENGTH + 1)) is None


def test_slots_are_mentioned_at_word_starts_in_order_of_mention() -> None:
    names = [("price", ("price", "budget")), ("area", ("area", "where")), ("cuisine", ("eat",))]
    assert mentioned("Where would you like to eat, and what budgets?", names) == ["area", "cuisine", "price"]
    assert mentioned("a great prize", names) == []


def _plain() -> dict[str, object]:
    """A persona that answers every question fully and truthfully, in a sentence, and never leaves early."""
    return {"patience": 99, "verbosity": "normal", "cooperativeness": 1.0, "consistency": 1.0}
