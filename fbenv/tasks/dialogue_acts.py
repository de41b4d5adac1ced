"""The agent's turn in a conversation task, read as one dialogue act: ask, recommend or answer.

The protocol every conversation prompt states: a reply holds one act, written as a line that starts
with its keyword and a colon — ``ASK: <question>``, ``RECOMMEND: <item id>`` or ``ANSWER: <answer>``.
Case and surrounding whitespace do not matter, and text before the act's line is allowed (an agent
may think aloud first); the first act line counts, and the act's argument runs to the end of the
reply (an answer may span lines). A reply with no act line is an attempt with no answer in it, which
the task judges wrong with a form error that restates the protocol.

Matching is one linear regular-expression scan, so hostile replies (a megabyte, binary junk) cost
no more than their length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ACTS = ("ask", "recommend", "answer")
#: Questions longer than this are not read as questions (they are judged as attempts, and fail).
MAX_QUESTION_LENGTH = 2000

_ACT_LINE = re.compile(r"^[ \t*_>#-]*(ask|recommend|answer)[ \t*_]*:[ \t]*", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Act:
    """One dialogue act: its name (``"ask"``, ``"recommend"``, ``"answer"``) and its argument."""

    name: str
    argument: str


def parse_act(reply: str) -> Act | None:
    """The first act in ``reply``, or None when no line starts with an act keyword and a colon."""
    match = _ACT_LINE.search(reply)
    if match is None:
        return None
    return Act(match.group(1).lower(), reply[match.end():].strip())


def parse_question(reply: str) -> str | None:
    """The question of an ``ASK:`` reply (at most :data:`MAX_QUESTION_LENGTH` characters), else None."""
    if len(reply) > MAX_QUESTION_LENGTH + 100:
        return None
    act = parse_act(reply)
    if act is None or act.name != "ask" or len(act.argument) > MAX_QUESTION_LENGTH:
        return None
    return act.argument


def mentioned(text: str, names: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """The names whose words occur in ``text`` (at word starts, any case), in order of first mention.

    ``names`` pairs each name with the words that mention it, e.g. ``("price", ("price", "budget"))``;
    a word matches at the start of a word, so "budget" also finds "budgets".
    """
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for name, words in names:
        positions = [match.start() for word in words
                     if (match := re.search(r"(?<![a-z0-9])" + re.escape(word.lower()), lowered))]
        if positions:
            found.append((min(positions), name))
    return [name for _, name in sorted(found)]


def protocol(attempt: str, example: str) -> str:
    """The protocol paragraph every conversation prompt ends with."""
    return (
        "How to reply: one act per turn, on a line that starts with its keyword.\n"
        '  ASK: <question>      ask the user something, e.g. "ASK: What matters most to you?"\n'
        f"  {attempt.upper()}: {example}\n"
        "The user reveals what they want only when asked; they may not know everything at once."
    )
