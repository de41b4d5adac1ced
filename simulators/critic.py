"""``critic``: text feedback whose detail climbs the hint ladder (``hint_level`` 0-4).

====  ============================================================  ==================
level the critique adds                                            reveals the answer
====  ============================================================  ==================
0     only that the answer is wrong                                 never
1     what is wrong in form (no final answer, not a number)         never
2     where the first wrong step is, and what kind of error it is   never
3     what that step should give (or which way the answer is off)   possibly
4     the full worked solution                                      yes
====  ============================================================  ==================

Levels 0-2 are built only from fixed phrases and ordinal *words* ("your third step"), never from
numbers or the agent's own text, so they cannot carry the reference answer. A task may add its own
words per level (``Verdict.remarks``, e.g. a search user's "that is the founder, I asked about the
current chief executive"); it vouches that those below level 3 do not carry the reference either. ``oracle-critic`` is
the same critic at level 3 by default: targeted feedback from near-complete ground truth, as in
Feedback Friction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.answers import ordinal
from fbenv.tasks.base import Instance

HINT_LEVELS = (0, 1, 2, 3, 4)


def critique(verdict: Verdict, hint_level: int) -> str:
    """The critique of a verdict at a hint level; "Correct." for a correct answer."""
    if verdict.correct:
        return "Correct."
    parts = ["That is not correct."]
    if hint_level >= 1:
        parts.append(
            f"Problem with the form: {verdict.form_error}." if verdict.form_error
            else "The reply is well-formed, but the answer is wrong."
        )
        parts.extend(_remarks(verdict, 1))
    wrong = verdict.first_wrong_step
    if hint_level >= 2:
        if wrong is not None and verdict.unit == "step":
            parts.append(f"The first wrong step is your {ordinal(wrong.index)} step: {wrong.message}.")
        elif wrong is not None:
            parts.append(f"The first failing {verdict.unit} is the {ordinal(wrong.index)} {verdict.unit}: "
                         f"{wrong.message}.")
        elif verdict.steps:
            parts.append("Every step you wrote checks out; the mistake comes after them.")
        parts.extend(_remarks(verdict, 2))
    if hint_level >= 3:
        if wrong is not None and wrong.expected and verdict.unit == "step":
            parts.append(f"That step should be: {wrong.expected}")
        elif wrong is not None and wrong.expected:
            parts.append(f"In that {verdict.unit}: {wrong.expected}")
        elif not verdict.steps and verdict.expected_steps:
            parts.append(f"Start with: {verdict.expected_steps[0]}")
        parts.extend(f"Note: {note}." for note in verdict.diagnostics)
        parts.extend(_remarks(verdict, 3))
    if hint_level >= 4:
        parts.append(f"Worked solution:\n{verdict.solution or 'Answer: ' + verdict.reference}")
        parts.extend(_remarks(verdict, 4))
    return "\n".join(parts)


def _remarks(verdict: Verdict, level: int) -> list[str]:
    """The task's remarks for exactly this hint level (see :attr:`fbenv.feedback.Verdict.remarks`)."""
    return [text for at, text in verdict.remarks if at == level] if verdict.remarks else []


class Critic(Simulator):
    """A rule-based critic that explains the verdict up to ``hint_level``.

    Args:
        hint_level: 0-4, see the module docstring; 2 by default (locates the error, never reveals
            the answer).
    """

    name = "critic"
    kinds = ("text",)
    default_hint_level = 2

    def __init__(self, kind: str | None = None, hint_level: int | None = None) -> None:
        super().__init__(kind)
        level = self.default_hint_level if hint_level is None else hint_level
        if isinstance(level, bool) or level not in HINT_LEVELS:
            raise ValueError(f"hint_level must be one of 0, 1, 2, 3, 4, got {hint_level!r}")
        self.hint_level = level

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        return self.make_feedback(critique(verdict, self.hint_level), verdict.correct)


class OracleCritic(Critic):
    """The critic at hint level 3: says where the error is and what the step should give."""

    name = "oracle-critic"
    default_hint_level = 3
