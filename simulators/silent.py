"""``silent``: no feedback at all (MINT's no-feedback condition).

The agent's next observation is empty; it only learns that the episode goes on. With
``reward_from="feedback"`` the reward falls back to the verdict, since no feedback conveys one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance


class Silent(Simulator):
    """Says nothing, whatever the answer."""

    name = "silent"
    kinds = ("none",)

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        return self.make_feedback("", None)
