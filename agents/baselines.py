"""Baseline policies that need no model: an upper bound, floors, and test doubles for the env contract."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from fbenv.agents.base import Turn

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


class OracleAgent:
    """Replies with the task's reference reply (``instance.oracle_action``): an upper bound.

    It reads the current instance from the env in each :class:`~fbenv.agents.base.Turn`, so it is
    for evaluation and tests only; verification of a leaderboard bundle never runs it.
    """

    name = "oracle"

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """The oracle reply of each turn's env."""
        replies = []
        for turn in turns:
            instance = getattr(getattr(turn.env, "unwrapped", turn.env), "instance", None)
            if instance is None:
                raise RuntimeError("the oracle needs the env in each Turn, reset; pass env= when building turns")
            replies.append(instance.oracle_action if instance.oracle_action is not None else "")
        return replies


class FixedAgent:
    """Always gives the same reply (a floor, and a probe of how feedback treats repetition)."""

    def __init__(self, reply: str = "Answer: 0") -> None:
        if not isinstance(reply, str):
            raise TypeError(f"FixedAgent's reply must be a str, got {type(reply).__name__}")
        self.reply = reply
        self.name = "fixed" if reply == "Answer: 0" else f"fixed:{reply}"

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """The fixed reply, once per turn."""
        return [self.reply] * len(turns)


class RandomAgent:
    """Guesses: ``Answer: X`` with X a number (or else a word) drawn from the conversation so far.

    A floor that is in the answer format of the math and search families and that sometimes hits by
    luck, as a random guesser should. Seeded by the episode and turn, so runs repeat exactly.
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def act(self, turns: Sequence[Turn]) -> list[str]:
        """One guess per turn."""
        return [self._guess(turn) for turn in turns]

    def _guess(self, turn: Turn) -> str:
        text = "\n".join(message.get("content", "") for message in turn.messages)[:20_000]
        # Seeded by what the agent has seen, not by the condition's name: under every feedback kind the
        # first guess on an instance is the same, so conditions compare paired.
        rng = random.Random(f"{self.seed}/{turn.seed}/{text}")
        numbers = _NUMBER.findall(text)
        if numbers:
            value = int(float(rng.choice(numbers))) + rng.randint(-3, 3)
            return f"Answer: {value}"
        words = _WORD.findall(text)
        return f"Answer: {rng.choice(words)}" if words else "Answer: 0"
