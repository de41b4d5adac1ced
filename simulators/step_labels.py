"""``step-labels``: process feedback, one label per step of the answer (Fine-Grained RLHF, StepTool).

The labels come from the task's per-step checks (each equation line, each test, each query), then
one for the final answer. They are rendered for the agent one per line and kept structured in
``Feedback.step_labels``; the feedback's score is the share of positive labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance

_SHOWN = 80  # characters of each step quoted back to the agent
_WORD = {True: "correct", False: "incorrect"}
_FINAL = {True: "Final answer: correct", False: "Final answer: incorrect"}


class StepLabels(Simulator):
    """Labels every step the task checked, then the final answer."""

    name = "step-labels"
    kinds = ("process",)

    def respond(
        self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, rng: np.random.Generator
    ) -> Feedback:
        """See :meth:`fbenv.simulators.base.Simulator.respond`."""
        if not verdict.steps:  # nothing but the final answer to label (what the general case gives, sooner)
            correct = verdict.correct
            return self.make_feedback(_FINAL[correct], correct, step_labels=(correct,), score=1.0 if correct else 0.0)
        labels = (*(step.correct for step in verdict.steps), verdict.correct)
        lines = [
            f"Step {step.index + 1} `{step.text if len(step.text) <= _SHOWN else step.text[: _SHOWN - 1] + '…'}`: "
            f"{_WORD[step.correct]}"
            for step in verdict.steps
        ]
        lines.append(_FINAL[verdict.correct])
        return self.make_feedback(
            "\n".join(lines), verdict.correct, step_labels=labels, score=sum(labels) / len(labels)
        )
