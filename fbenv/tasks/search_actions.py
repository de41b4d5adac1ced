"""The action protocol of search episodes: what an agent may write, how it is read, and how it is explained.

An agent's reply is read for its **first** action, found either at the start of a line or as a tag:

==================  =====================================  ============================================
action              line form                              tag form
==================  =====================================  ============================================
search the corpus   ``search: <query>``                    ``<search>query</search>``
open a document     ``open: <document id>``                ``<open>id</open>``
ask the user        ``ask: <question>``                    ``<ask>question</ask>``
give the answer     ``answer: <text>`` (or ``final answer:``)  ``<answer>text</answer>``
==================  =====================================  ============================================

Verbs are matched without regard to case, with any spaces around the colon, and with Markdown
decoration before the verb or around the colon (``**Answer:** x``, ``- search: y``); an argument
left empty on the verb's line is taken from the next non-empty line. A tag with no closing tag
runs to the end of the reply (generation is often stopped at ``</search>``, which then never
arrives). Anything before the action (reasoning) is ignored; so is anything after it, because the
observation answers that one action.

A reply with no action at all is an answer attempt without an answer (a form error the critic can
name); an action whose argument is missing is a malformed move, answered with
:data:`PROTOCOL` so the agent learns the protocol. Every function here is linear in the reply's
length and never raises on a string.
"""

from __future__ import annotations

import re

from fbenv.tasks.base import Move

VERBS = ("search", "open", "ask", "answer")
#: Shown in every prompt and after a malformed action.
PROTOCOL = (
    "Act with exactly one of these per reply (case and spacing do not matter):\n"
    "  search: <query>          search the corpus; the top results come back with their ids\n"
    "  open: <document id>      read a whole document, e.g. open: {example_id}\n"
    "  ask: <question>          ask me, the user, a clarifying question\n"
    "  answer: <your answer>    give the final answer (a short name, place or year)\n"
    "Tags work too: <search>...</search>, <open>...</open>, <ask>...</ask>, <answer>...</answer>."
)
_LINE = re.compile(r"^[ \t>*#_`\-]*(final[ \t]+answer|search|open|ask|answer)[*_`]*[ \t]*[:：]",
                   re.IGNORECASE | re.MULTILINE)
_TAG = re.compile(r"<[ \t]*(search|open|ask|answer)[ \t]*>", re.IGNORECASE)
_CLOSE = {verb: re.compile(rf"<[ \t]*/[ \t]*{verb}[ \t]*>", re.IGNORECASE) for verb in VERBS}
_DECORATION = " \t*_`\"'"


def read_action(reply: str) -> tuple[str, str] | None:
    """(verb, argument) of the first action in ``reply``, or None when it holds none.

    The argument is stripped of spaces and Markdown decoration; it may be empty (a malformed move,
    or an empty answer).
    """
    line = _LINE.search(reply)
    tag = _TAG.search(reply) if "<" in reply else None
    if line is None and tag is None:
        return None
    if tag is not None and (line is None or tag.start() < line.start()):
        verb = tag.group(1).lower()
        close = _CLOSE[verb].search(reply, tag.end())
        argument = reply[tag.end(): close.start() if close else len(reply)]
        return verb, " ".join(argument.split())
    assert line is not None
    verb = "answer" if line.group(1).lower().startswith("final") else line.group(1).lower()
    end = reply.find("\n", line.end())
    argument = reply[line.end(): end if end >= 0 else len(reply)].strip(_DECORATION)
    while not argument and end >= 0:  # "answer:" alone on its line: the argument is on the next one
        start, end = end + 1, reply.find("\n", end + 1)
        argument = reply[start: end if end >= 0 else len(reply)].strip(_DECORATION)
    return verb, argument


def parse_move(reply: str) -> Move | None:
    """The move a reply makes, or None when it is an answer attempt (an ``answer:`` or no action at all).

    A search, open or ask with nothing after the verb is ``Move("invalid", verb)``.
    """
    action = read_action(reply)
    if action is None or action[0] == "answer":
        return None
    verb, argument = action
    return Move(verb, argument) if argument else Move("invalid", verb)


def answer_of(reply: str) -> str | None:
    """The answer a reply gives (possibly empty), or None when its first action is not an answer."""
    action = read_action(reply)
    return action[1] if action is not None and action[0] == "answer" else None


def protocol(example_id: str) -> str:
    """:data:`PROTOCOL` with a real document id as its example."""
    return PROTOCOL.format(example_id=example_id)
