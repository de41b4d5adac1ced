"""``persona-user``: the seeded, rule-based user of the conversation tasks, for every feedback kind.

In conversation the user *is* the environment. The task resolves each agent turn into facts (a
question: which slots it asks about, their true values, whether it repeats; an attempt: a Verdict
whose ``details`` name the requirements it breaks, in the user's words). This user decides what to
*say* with a :class:`~fbenv.simulators.persona.Persona` drawn from the env's generator:

* **Questions** (:meth:`PersonaUser.reply_to_move`): the fact, tersely, in a sentence or with small
  talk (verbosity); with probability 1 - cooperativeness only part of it ("I'm not sure yet ...";
  asked again, the full answer); with probability 1 - consistency a slip (a false value) the first
  time a slot is told, taken back in the next reply to a question ("Oh, and I misspoke about ...").
* **Attempts** (:meth:`PersonaUser.respond`): feedback of the env's kind. ``binary`` a thumb,
  ``unary`` a nudge, ``text`` a complaint or correction by feedback style (a slip it touches is
  corrected), ``process`` one label per agent turn the task saw (did it make progress) and one for
  the attempt, ``implicit`` just the user's next message — thanks, a follow-up, a reformulation, a
  repeat, a clarification — whose *signal* is kept in ``info["feedback"].signal`` only.
* **Patience**: a repeated question or a wrong attempt is unhelpful; at the persona's patience-th
  unhelpful turn the user leaves (``end_episode``, signal ``"leaving"``): the episode terminates.

Subclasses change only the wording through :meth:`PersonaUser.voice` (the LLM-voiced user does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators import user_words as words
from fbenv.simulators.base import Message, Simulator
from fbenv.simulators.critic import HINT_LEVELS
from fbenv.simulators.persona import Persona, check_persona, sample_persona
from fbenv.tasks.base import Instance, Move, MoveResult

#: What a user's message can do; ``info["move"]["signal"]`` / ``info["feedback"].signal``.
SIGNALS = ("answer", "partial", "repeat", "clarification", "thanks", "follow-up", "reformulation", "leaving")


class PersonaUser(Simulator):
    """A simulated user with a persona (see the module docstring).

    Args:
        persona: fixed persona fields, e.g. ``{"patience": 2, "verbosity": "terse"}``; the others
            are drawn from the env's seed (:mod:`fbenv.simulators.persona`).
        hint_level: for ``text`` feedback, how much a complaint says: 0 only "no", 1 and 2 by
            the persona's feedback style (form problems explained from 1), 3 the correction of the
            first broken requirement whatever the style, 4 the corrections of all of them.
    """

    name = "persona-user"
    kinds = ("implicit", "text", "binary", "unary", "process", "none")

    def __init__(self, kind: str | None = None, persona: Mapping[str, Any] | None = None,
                 hint_level: int | None = None) -> None:
        super().__init__(kind)
        self.fixed = check_persona(persona)
        level = 2 if hint_level is None else hint_level
        if isinstance(level, bool) or level not in HINT_LEVELS:
            raise ValueError(f"hint_level must be one of 0, 1, 2, 3, 4, got {hint_level!r}")
        self.hint_level = level
        self.reset()

    def reset(self) -> None:
        """A new episode: a new persona is drawn at the first user turn; nothing said yet."""
        self.persona: Persona | None = None
        self.unhelpful = 0
        self._voiced: set[str] = set()
        self._partial: set[str] = set()
        self._slips: dict[str, dict[str, Any]] = {}

    def persona_for(self, rng: np.random.Generator) -> Persona:
        """This episode's persona, drawn from ``rng`` on first use."""
        if self.persona is None:
            self.persona = sample_persona(rng, self.fixed)
        return self.persona

    def voice(self, text: str, signal: str, instance: Instance, transcript: Sequence[Message],
              rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
        """The words finally said for the rule user's ``text`` (and what saying them cost); as is here."""
        return text, {}

    def _runs_out(self, unhelpful: bool) -> bool:
        """Count an unhelpful turn; True when it is the one that exhausts the persona's patience."""
        assert self.persona is not None
        self.unhelpful += unhelpful
        return unhelpful and self.unhelpful >= self.persona.patience

    # --- answers to questions ---------------------------------------------------------------------
    def reply_to_move(self, instance: Instance, transcript: Sequence[Message], move: Move, result: MoveResult,
                      rng: np.random.Generator) -> MoveResult:
        """Voice the task's facts for a question with this persona's effects, or leave."""
        persona = self.persona_for(rng)
        facts = result.details.get("facts")
        if facts is None:  # not a conversation task's question: its text is all there is
            return result
        if self._runs_out(bool(result.details.get("repeat"))):
            return self._said(result, words.pick(words.GOODBYES, rng), "leaving", [], {}, instance, transcript, rng,
                              end=True)
        slips_before = dict(self._slips)
        parts, told, effects = [], [], {"partial": [], "slipped": [], "corrected": []}
        for fact in facts:
            slot, relevant = fact["slot"], fact["need"] != "none"
            if fact["repeat"]:
                parts.append(words.repeat(fact, persona.verbosity == "terse"))
            elif slot in self._slips:  # asked about what they slipped on: the answer corrects it
                parts.append(words.correction(self._slips.pop(slot)))
                told.append(slot)
                effects["corrected"].append(slot)
            elif relevant and slot not in self._partial and rng.random() >= persona.cooperativeness:
                self._partial.add(slot)
                parts.append(fact["partial"])
                effects["partial"].append(slot)
            elif relevant and slot not in self._voiced and fact["wrong"] and rng.random() >= persona.consistency:
                self._slips[slot] = fact
                parts.append(fact["wrong"])
                effects["slipped"].append(slot)
            else:
                parts.append(fact["short"] if persona.verbosity == "terse" else fact["answer"])
                told.append(slot)
            self._voiced.add(slot)
        if not facts:
            parts.append(words.NOTHING_LEFT)
        if persona.verbosity == "chatty":
            parts.append(words.pick(words.SMALL_TALK, rng))
        for slot, fact in slips_before.items():  # earlier slips are taken back now
            if self._slips.pop(slot, None) is not None:
                parts.append(words.correction(fact))
                told.append(slot)
                effects["corrected"].append(slot)
        signal = ("clarification" if effects["corrected"] else "partial" if effects["partial"]
                  else "repeat" if facts and all(f["repeat"] for f in facts) else "answer")
        return self._said(result, " ".join(parts), signal, told, effects, instance, transcript, rng)

    def _said(self, result: MoveResult, text: str, signal: str, told: list[str], effects: dict[str, Any],
              instance: Instance, transcript: Sequence[Message], rng: np.random.Generator,
              end: bool = False) -> MoveResult:
        text, usage = self.voice(text, signal, instance, transcript, rng)
        assert self.persona is not None
        details = {**result.details, **effects, "told": told, "signal": signal, "persona": self.persona.to_dict()}
        if usage:
            details["usage"] = usage
        return MoveResult(text, details, cost=result.cost, to_user=True, end_episode=end, source="user")

    # --- feedback on attempts ---------------------------------------------------------------------
    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Feedback of this user's kind on an attempt, or a goodbye when it exhausts their patience."""
        persona = self.persona_for(rng)
        correct = verdict.correct
        leaving = self._runs_out(not correct)
        kind = self.kind
        if kind == "none":
            return self.make_feedback("", None, end_episode=leaving, signal="leaving" if leaving else None)
        if kind == "process":
            return self._process(verdict, words.pick(words.GOODBYES, rng) if leaving else "")
        if leaving:
            text, usage = self.voice(words.pick(words.GOODBYES, rng), "leaving", instance, transcript, rng)
            return self.make_feedback(text, False, end_episode=True, signal="leaving", usage=usage)
        if kind == "binary":
            return self.make_feedback("Thumbs up." if correct else "Thumbs down.", correct)
        if kind == "unary":
            return self.make_feedback("" if correct else words.pick(words.NUDGES, rng), correct)
        if correct:
            text, signal = words.pick(words.THANKS, rng), "thanks"
        elif kind == "text":
            text, signal = self._complaint(verdict), "complaint"
        else:
            text, signal = self._reaction(verdict, persona)
        if persona.verbosity == "chatty":
            text += " " + words.pick(words.SMALL_TALK, rng)
        text, usage = self.voice(text, signal, instance, transcript, rng)
        return self.make_feedback(text, correct, signal=signal if kind == "implicit" else None, usage=usage)

    def _take_back(self, issues: list[dict[str, Any]]) -> list[str]:
        """Corrections of the slips that the attempt's broken requirements touch (they are then settled)."""
        return [words.correction(self._slips.pop(issue["slot"])) for issue in issues if issue["slot"] in self._slips]

    def _complaint(self, verdict: Verdict) -> str:
        """Text feedback: a complaint or a correction, by hint level and feedback style."""
        assert self.persona is not None
        issues: list[dict[str, Any]] = list(verdict.details.get("issues", ()))
        if self.hint_level == 0:
            return "No, that's not what I wanted."
        if verdict.form_error:
            return f"{words.NOT_FOLLOWING}: {verdict.form_error}."
        taken_back = self._take_back(issues)
        if not issues:
            return "No, that's not what I wanted."
        style = "direct" if self.hint_level >= 3 else self.persona.feedback_style
        shown = issues if self.hint_level == 4 else issues[:1]
        said = {"direct": "No. " + " ".join(issue["answer"] for issue in shown),
                "indirect": issues[0]["complaint"],
                "minimal": f"No, the {issues[0]['label']}."}[style]
        return " ".join([*taken_back, said])

    def _reaction(self, verdict: Verdict, persona: Persona) -> tuple[str, str]:
        """Implicit feedback: the user's next message after a wrong attempt, and what it does."""
        issues: list[dict[str, Any]] = list(verdict.details.get("issues", ()))
        if verdict.form_error:
            return f"{words.NOT_FOLLOWING}. What do you mean exactly?", "clarification"
        taken_back = self._take_back(issues)
        if taken_back:
            return " ".join(taken_back), "clarification"
        if not issues:
            return "Hmm, are you sure about that?", "follow-up"
        if verdict.details.get("repeated"):
            return f"{words.SAME_AGAIN} {words.repeat(issues[0], persona.verbosity == 'terse')}", "repeat"
        if persona.feedback_style == "direct":
            return f"Let me put it another way. {issues[0]['answer']}", "reformulation"
        follow_up = issues[0]["follow_up"]
        return (follow_up if persona.feedback_style == "minimal" else f"Hmm. {follow_up}"), "follow-up"

    def _process(self, verdict: Verdict, goodbye: str) -> Feedback:
        """One label per earlier agent turn (progress or not) and one for this attempt."""
        labels = (*(step.correct for step in verdict.steps), verdict.correct)
        turns = verdict.unit == "turn"  # conversation tasks label turns by progress; others label their steps
        good, bad = ("progress", "no progress") if turns else ("right", "wrong")
        lines = [f"{verdict.unit.capitalize()} {step.index + 1}: {good if step.correct else bad}"
                 + (f" ({step.message})" if step.message else "") for step in verdict.steps]
        lines.append(f"This {'attempt' if turns else 'answer'}: {'accepted' if verdict.correct else 'not accepted'}")
        if goodbye:
            lines.append(goodbye)
        return self.make_feedback("\n".join(lines), verdict.correct, step_labels=labels,
                                  score=sum(labels) / len(labels), end_episode=bool(goodbye),
                                  signal="leaving" if goodbye else None)

