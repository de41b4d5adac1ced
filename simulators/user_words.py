"""The persona user's own words: small talk, thanks, nudges, goodbyes and corrections.

Kept apart from the user's decisions (``fbenv.simulators.user``) so that the phrasing can be read,
changed or translated in one place. None of these phrases holds a digit, a catalogue value or a
word the tasks' facts use as a cue ("sure", "mind", "prefer", "must", "misspoke"), so small talk
never reads as information.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SMALL_TALK = (
    "It's been a long week, so thanks for helping.",
    "I'm in a bit of a hurry, sorry.",
    "I really appreciate this.",
    "A friend told me to ask you.",
    "This is for something special, so it matters to me.",
)
THANKS = ("Thanks, that's perfect!", "Great, that's exactly it. Thank you!", "Yes, that works. Thanks!")
NUDGES = ("Hmm, no. Try again?", "Not quite. Another try?", "No, not that. Try once more.")
GOODBYES = (
    "Never mind, I'll figure it out myself. Bye.",
    "This isn't going anywhere. Goodbye.",
    "Forget it, I'll ask someone else.",
)
NOTHING_LEFT = "That's everything, I think."
NOT_FOLLOWING = "Sorry, I don't follow"
SAME_AGAIN = "That's the same as before."


def pick(pool: tuple[str, ...], rng: np.random.Generator) -> str:
    """A seeded pick from a pool of phrasings."""
    return pool[int(rng.integers(len(pool)))]


def correction(fact: dict[str, Any]) -> str:
    """Taking back an earlier slip about a slot (the marker an attentive agent listens for)."""
    return f"Oh, and I misspoke about the {fact['label']} earlier: {fact['answer']}"


def repeat(fact: dict[str, Any], terse: bool) -> str:
    """Answering a question the user has answered before."""
    said = fact["short"] if terse else fact["answer"]
    return f"As I said: {said}"


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, to continue a sentence."""
    return text[:1].lower() + text[1:]
