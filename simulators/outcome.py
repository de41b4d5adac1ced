"""``outcome``: binary feedback, "Correct." or "Incorrect." from the verdict (OREAL, BCO, NFT)."""

from __future__ import annotations

from fbenv.feedback import Feedback
from fbenv.simulators.base import Simulator


class Outcome(Simulator):
    """Reports the verdict's correctness as a label and a one-word text."""

    name = "outcome"
    kinds = ("binary",)

    def respond(self, instance, transcript, verdict, rng) -> Feedback:
        return self.make_feedback("Correct." if verdict.correct else "Incorrect.", verdict.correct)
