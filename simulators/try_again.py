"""``try-again``: unary feedback, a fixed nudge after a wrong answer (UFO, "A Simple 'Try Again'").

By default the nudge is always "Let's try again."; ``phrasing="pool"`` draws one of several
phrasings from the env's generator each time, so the agent cannot key on one string.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance

DEFAULT_NUDGE = "Let's try again."
NUDGE_POOL = (
    "Let's try again.",
    "Try again.",
    "Please try once more.",
    "Give it another go.",
    "Let's have another attempt.",
    "Could you try again?",
)


class TryAgain(Simulator):
    """A nudge after a wrong answer and silence after a right one.

    Args:
        phrasing: ``"fixed"`` (always "Let's try again.") or ``"pool"`` (a seeded pick).
    """

    name = "try-again"
    kinds = ("unary",)

    def __init__(self, kind: str | None = None, phrasing: str = "fixed") -> None:
        super().__init__(kind)
        if phrasing not in ("fixed", "pool"):
            raise ValueError(f"phrasing must be 'fixed' or 'pool', got {phrasing!r}")
        self.phrasing = phrasing

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        if verdict.correct:
            return self.make_feedback("", True)
        nudge = NUDGE_POOL[int(rng.integers(len(NUDGE_POOL)))] if self.phrasing == "pool" else DEFAULT_NUDGE
        return self.make_feedback(nudge, False)
