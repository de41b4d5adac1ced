"""``outcome``: binary feedback, "Correct." or "Incorrect." from the verdict (OREAL, BCO, NFT)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance


class Outcome(Simulator):
    """Reports the verdict's correctness as a label and a one-word text."""

    name = "outcome"
    kinds = ("binary",)

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        return self.make_feedback("Correct." if verdict.correct else "Incorrect.", verdict.correct)
