"""What every conversation task shares: a hidden goal made of slots, questions about them, and progress.

The user holds a goal the agent must uncover. The goal is a list of :class:`Slot` (an attribute the
user cares about, a booking detail, a house-style rule), each with the *facts* a simulated user needs
to speak about it: the truthful answer, a terse one, an incomplete one, a wrong one (for users who
contradict themselves), and what the user says when an attempt gets it wrong. The task decides
facts; the simulated user (``fbenv.simulators.user``) decides words and behaviour.

* ``ASK:`` is a move. The question is resolved into the slots it mentions (by their words); a
  question that names none is an open one ("anything else?") and gets the next slot the user has not
  yet told. ``info["move"]`` holds the facts; the default text is the truthful answer.
* ``RECOMMEND:`` / ``ANSWER:`` (or any other reply) is an attempt, judged by the subclass's
  :meth:`ConversationTask.judge` into a Verdict and the slots it got wrong. The verdict's ``steps`` hold
  one check per earlier agent turn the task saw (did that turn make progress: ask about something
  new that matters, or beat every earlier attempt), and its ``details`` the words of each violated slot.

Which slots the user has really told is per-episode state, updated from the user's voiced replies
(:meth:`ConversationTask.note_reply`): a partial answer or a slip of the tongue tells nothing yet.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from fbenv.feedback import StepCheck, Verdict
from fbenv.tasks.base import Instance, Move, MoveResult, Task
from fbenv.tasks.dialogue_acts import mentioned, parse_question
from fbenv.tasks.seeding import ItemRandom, item_key

NEEDS = ("constraint", "preference", "none")
_SHOWN = 200  # characters of an agent turn quoted in its step check


@dataclass(frozen=True)
class Slot:
    """One thing the agent can ask the user about, and everything the user can say about it.

    Attributes:
        name: the slot's key, e.g. ``"price"`` or ``"date"``.
        label: how the user names it ("price", "dates").
        words: words that make a question about it (matched at word starts, any case).
        need: ``"constraint"`` (an attempt must get it right), ``"preference"`` (it decides quality),
            ``"none"`` (the user does not mind).
        answer: the truthful answer in a sentence; also the direct correction of a wrong attempt.
        short: the truthful answer, tersely.
        partial: an incomplete answer (the user is not sure yet); it tells part of the truth at most.
        wrong: a definite but false answer (a slip the user corrects later).
        complaint: what the user says, indirectly, when an attempt gets this slot wrong.
        follow_up: a follow-up request when an attempt gets it wrong ("Is there anything cheaper?").
    """

    name: str
    label: str
    words: tuple[str, ...]
    need: str
    answer: str
    short: str
    partial: str = ""
    wrong: str = ""
    complaint: str = ""
    follow_up: str = ""

    @property
    def relevant(self) -> bool:
        """Whether the slot is part of the goal (a constraint or a preference)."""
        return self.need != "none"

    def facts(self, **extra: Any) -> dict[str, Any]:
        """The JSON-able facts a simulated user voices, plus ``extra`` (repeat, progress)."""
        return {"slot": self.name, "label": self.label, "need": self.need, "answer": self.answer,
                "short": self.short, "partial": self.partial or self.answer, "wrong": self.wrong,
                "complaint": self.complaint or f"The {self.label} is not right.",
                "follow_up": self.follow_up or f"Could you fix the {self.label}?", **extra}


@dataclass
class Episode:
    """Per-episode state: what the user has told, and one progress check per agent turn the task saw."""

    told: set[str] = field(default_factory=set)
    turns: list[StepCheck] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    best: float = 0.0
    exhausted: bool = False


class ConversationTask(Task):
    """Base of the conversation tasks: moves are questions, everything else is an attempt.

    Subclasses build instances whose ``data["slots"]`` is the tuple of :class:`Slot` (goal order:
    constraints first) and whose ``data["goal"]`` says the goal in the user's words (LLM users read
    it), and implement :meth:`judge`.
    """

    family = "conversation"
    feedback_kinds = ("none", "unary", "binary", "text", "process", "implicit")
    default_simulator = "persona-user"
    #: The task's registered name, also the start of its instance ids.
    task_name: ClassVar[str] = "conversation"
    #: What one attempt is called in step checks ("recommendation", "answer").
    attempt_word: ClassVar[str] = "answer"

    def __init__(self, seed: int = 0) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self._key_prefix = repr((self.task_name, seed)).encode()

    @property
    def name(self) -> str:
        """The registered name, e.g. ``"recommend"``."""
        return self.task_name

    def item_random(self, index: int) -> ItemRandom:
        """The generator of instance ``index``: it depends on (task, seed, index) alone."""
        return ItemRandom(item_key(self._key_prefix, index))

    def task_id(self, index: int) -> str:
        """The id naming instance ``index`` of this task and seed."""
        return f"{self.task_name}/s{self.seed}/{index}"

    @abstractmethod
    def judge(self, instance: Instance, reply: str) -> tuple[Verdict, tuple[str, ...]]:
        """The verdict on an attempt (any string, never raising) and the names of the slots it got wrong."""

    # --- moves ------------------------------------------------------------------------------------
    def parse_move(self, reply: str) -> Move | None:
        """An ``ASK:`` line is a question; anything else is an attempt."""
        question = parse_question(reply)
        return None if question is None else Move("ask", question)

    def new_episode(self, instance: Instance) -> Episode:
        """Nothing told yet."""
        return Episode()

    def play_move(self, instance: Instance, move: Move, state: Episode, rng: np.random.Generator) -> MoveResult:
        """Resolve a question into the facts of the slots it asks about (an open one: the next untold slot)."""
        slots: tuple[Slot, ...] = instance.data["slots"]
        by_name = {slot.name: slot for slot in slots}
        asked = [by_name[name] for name in mentioned(move.argument, ((s.name, s.words) for s in slots))]
        is_open = not asked
        if is_open:
            asked = [slot for slot in slots if slot.relevant and slot.name not in state.told][:1]
        facts = [slot.facts(repeat=slot.name in state.told, progress=slot.relevant and slot.name not in state.told)
                 for slot in asked]
        progress = any(fact["progress"] for fact in facts)
        repeat = all(fact["repeat"] for fact in facts) if facts else state.exhausted
        state.exhausted = state.exhausted or (is_open and not facts)
        state.turns.append(StepCheck(len(state.turns), move.argument[:_SHOWN], progress,
                                     message=_question_note(asked, is_open, progress, repeat)))
        text = " ".join(("As I said: " if fact["repeat"] else "") + fact["answer"] for fact in facts)
        details = {"open": is_open, "facts": facts, "progress": progress, "repeat": repeat,
                   "told": [fact["slot"] for fact in facts]}
        return MoveResult(text or "That's everything I need, I think.", details, to_user=True, source="user")

    def note_reply(self, instance: Instance, move: Move, result: MoveResult, state: Episode) -> None:
        """Record the slots the user's reply really told (``details["told"]``)."""
        state.told.update(result.details.get("told", ()))

    # --- attempts ---------------------------------------------------------------------------------
    def check(self, instance: Instance, reply: str) -> Verdict:
        """Judge an attempt as the first turn of a fresh episode."""
        return self.check_episode(instance, reply, self.new_episode(instance))

    def check_episode(self, instance: Instance, reply: str, state: Episode) -> Verdict:
        """Judge an attempt; steps are the earlier turns' progress; this turn is recorded for later ones."""
        verdict, wrong = self.judge(instance, reply)
        key = " ".join((verdict.answer if verdict.answer is not None else reply[:_SHOWN]).split()).lower()
        repeated = verdict.answer is not None and key in state.attempts
        state.attempts.append(key)
        slots = {slot.name: slot for slot in instance.data["slots"]}
        issues = [slots[name].facts() for name in wrong if name in slots]
        steps = tuple(state.turns)
        better = verdict.correct or verdict.score > state.best
        if verdict.correct:
            note = f"the {self.attempt_word} is accepted"
        elif verdict.form_error:
            note = f"no usable {self.attempt_word}: {verdict.form_error}"
        else:
            wrong_labels = ", ".join(issue["label"] for issue in issues) or "details"
            note = f"the {self.attempt_word} gets the {wrong_labels} wrong" + (", but is the best so far" if better
                                                                                else "")
        state.turns.append(StepCheck(len(state.turns), reply[:_SHOWN], better, message=note))
        state.best = max(state.best, verdict.score)
        return dataclasses.replace(verdict, steps=steps, unit="turn",
                                   details={"issues": issues, "repeated": repeated})


def _question_note(asked: list[Slot], is_open: bool, progress: bool, repeat: bool) -> str:
    """A step check's message for a question: what it asked and whether that helped."""
    labels = " and ".join(slot.label for slot in asked)
    if is_open:
        return f"an open question; the user told you about the {labels}" if asked else \
            "an open question when the user had nothing left to tell"
    if repeat:
        return f"asked again about the {labels}, which the user had already told"
    if progress:
        return f"asked about the {labels}, which matters to the user"
    return f"asked about the {labels}, which the user does not mind about"
