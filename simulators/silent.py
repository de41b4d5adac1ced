"""``silent``: no feedback at all (MINT's no-feedback condition).

The agent's next observation is empty; it only learns that the episode goes on. With
``reward_from="feedback"`` the reward falls back to the verdict, since no feedback conveys one.
"""

from __future__ import annotations

from fbenv.feedback import Feedback
from fbenv.simulators.base import Simulator


class Silent(Simulator):
    """Says nothing, whatever the answer."""

    name = "silent"
    kinds = ("none",)

    def respond(self, instance, transcript, verdict, rng) -> Feedback:
        return self.make_feedback("", None)
