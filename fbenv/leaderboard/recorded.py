"""Stand-ins that say what a bundle recorded, for simulators whose words cannot be regenerated.

A model-backed simulator's text depends on the model, the machine and sampling, so replay cannot
produce it again. Two stand-ins let replay re-check everything else:

* :class:`RecordedVoice` is a backend (``generate(requests)``) that answers with the words recorded
  for the step being replayed. fbenv's model-backed simulators (``llm-critic``, ``llm-user`` and
  the like, which take ``backend=SPEC``) are served by it (:func:`fbenv.simulators.llm_critic.serving`),
  so the simulator itself still runs: its labels, what a simulated user reveals, when it leaves, its
  draws from the env's generator. No model is loaded and no server is called.
* :class:`RecordedFeedback` replaces a whole simulator, for other simulators flagged
  ``nondeterministic``: the env gets the recorded feedback and still judges every answer itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from fbenv.backends import Generation, GenerationRequest
from fbenv.feedback import KINDS, Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance, Move, MoveResult

#: How an env names :class:`RecordedFeedback` as its simulator.
RECORDED = "fbenv.leaderboard.recorded:RecordedFeedback"


class RecordedVoice:
    """A backend whose every generation is ``words``: the replayer sets them before each step."""

    def __init__(self) -> None:
        self.words = ""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """The recorded words, once per request; no tokens, no time."""
        return [Generation(self.words, 0, 0, 0.0) for _ in requests]


class RecordedFeedback(Simulator):
    """Replays a bundle's recorded feedback (for model-backed simulators whose text cannot be regenerated).

    :meth:`load` gives it the episode's recorded steps and messages; ``respond`` returns the
    feedback recorded for the current turn, and ``reply_to_move`` the recorded observation, so the
    env still judges every answer itself (verdict, reward, episode end).
    """

    name = "recorded"
    kinds = KINDS

    def __init__(self, kind: str | None = None) -> None:
        super().__init__(kind)
        self.steps: Sequence[dict[str, Any]] = ()
        self.messages: Sequence[dict[str, Any]] = ()

    def load(self, steps: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]]) -> None:
        """The episode about to be replayed."""
        self.steps, self.messages = steps, messages

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """The feedback recorded for this turn."""
        index = (len(transcript) - 2) // 2
        recorded = self.steps[index]["feedback"] if index < len(self.steps) else None
        if recorded is None:
            raise ValueError(f"the env judged turn {index + 1} as an answer, but the bundle records no feedback")
        return Feedback(**{**recorded, "step_labels": tuple(recorded["step_labels"])})

    def reply_to_move(self, instance: Instance, transcript: Sequence[Message], move: Move, result: MoveResult,
                      rng: np.random.Generator) -> MoveResult:
        """The move's facts from the task, its wording from the bundle."""
        index = len(transcript)
        text = self.messages[index]["content"] if index < len(self.messages) else ""
        return replace(result, text=text)
