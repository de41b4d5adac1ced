"""A test agent for the kill -9 test: random guesses, slowly, so a run can be killed mid-way."""

from __future__ import annotations

import time
from collections.abc import Sequence

from fbenv.agents import RandomAgent, Turn


class SlowAgent(RandomAgent):
    """RandomAgent that takes 30 ms per batch."""

    name = "slow-random"

    def act(self, turns: Sequence[Turn]) -> list[str]:
        time.sleep(0.03)
        return super().act(turns)
