"""Noise and bias as composable, seeded wrappers over any simulator.

``gym.make("fbenv/Math-v0", feedback="binary", noise={"flip": 0.3})`` wraps the env's simulator;
several keys (or a list of one-key dicts, applied in order, innermost first) compose:
``noise=[{"flip": 0.25}, {"delay": 2}]``. The ground truth in ``info["verdict"]`` is never touched,
so the flip rate of what the agent was told can always be measured against it.

=================  ==================================================  ============================
key                what it does                                        research setting
=================  ==================================================  ============================
``flip``           with probability p, feedback as if the verdict       AlpacaFarm label flips
                   were the opposite (labels, words, step labels)
``drop``           with probability p, no feedback at all               missing feedback
``delay``          feedback arrives k turns late (nothing before)       delayed reward
``one_sided``      ``"failures"`` or ``"successes"``: only those are    unpaired thumbs (BCO, NFT)
                   reported, the other kind gets no feedback
``annotators``     a pool of flip probabilities; each answer is judged   AlpacaFarm annotator pool
                   by a seeded random annotator
``length_bias``    wrong answers get positive feedback with             evaluator length bias
                   probability ``strength * min(1, len/scale)``
``sycophancy``     a wrong answer that sounds confident gets positive    sycophantic judges
                   feedback with probability p
=================  ==================================================  ============================

Every draw uses the env's generator, so noisy episodes are as reproducible as clean ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from fbenv.feedback import Feedback, Verdict
from fbenv.simulators.base import Message, Simulator
from fbenv.tasks.base import Instance, Move, MoveResult

_CONFIDENT = re.compile(
    r"\b(definitely|certainly|clearly|obviously|undoubtedly|without (a )?doubt|i am (100% )?(sure|certain)|"
    r"i'm (100% )?(sure|certain)|100% (sure|certain)|trust me)\b",
    re.IGNORECASE,
)


class NoiseWrapper(Simulator):
    """A simulator that passes the inner one's feedback through a seeded distortion."""

    key: ClassVar[str] = ""

    def __init__(self, inner: Simulator, value: Any) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.kinds = (inner.kind,)
        self.name = f"{getattr(inner, 'name', type(inner).__name__)}+{self.key}"
        self.configure(value)

    def configure(self, value: Any) -> None:
        """Validate and store this wrapper's parameter (raise ValueError naming a bad one)."""

    def reset(self) -> None:
        """A new episode: forget per-episode state, here and in the inner simulator."""
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset()

    def reply_to_move(self, instance: Instance, transcript: Sequence[Message], move: Move, result: MoveResult,
                      rng: np.random.Generator) -> MoveResult:
        """Answers to moves come from the inner simulated user undistorted: noise is about feedback on answers."""
        reply = getattr(self.inner, "reply_to_move", None)
        return result if reply is None else reply(instance, transcript, move, result, rng)

    def passthrough(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                    rng: np.random.Generator) -> Feedback:
        """The inner simulator's own feedback, stamped with this wrapper's name."""
        return dataclasses.replace(self.inner.respond(instance, transcript, verdict, rng), source=self.name)

    def silent(self) -> Feedback:
        """No feedback: what a dropped or withheld judgement looks like to the agent."""
        return Feedback(kind=self.kind, text="", label=None, source=self.name)

    def as_if(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict, correct: bool,
              rng: np.random.Generator) -> Feedback:
        """The inner simulator's feedback had the verdict been ``correct`` (steps agree with it)."""
        # Approving means approving every step too; disapproving a right answer keeps its steps.
        steps = tuple(dataclasses.replace(step, correct=True) for step in verdict.steps) if correct else verdict.steps
        flipped = dataclasses.replace(verdict, correct=correct, score=1.0 if correct else 0.0, steps=steps)
        feedback = self.inner.respond(instance, transcript, flipped, rng)
        return dataclasses.replace(feedback, source=self.name)


def _probability(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"noise {key!r} must be a probability in [0, 1], got {value!r}")
    return float(value)


class Flip(NoiseWrapper):
    """With probability p the feedback is what the simulator would say about the opposite verdict."""

    key = "flip"

    def configure(self, value: Any) -> None:
        self.p = _probability(self.key, value)

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Flip with probability p, else pass through."""
        if rng.random() < self.p:
            return self.as_if(instance, transcript, verdict, not verdict.correct, rng)
        return self.passthrough(instance, transcript, verdict, rng)


class Drop(NoiseWrapper):
    """With probability p the agent gets no feedback at all."""

    key = "drop"

    def configure(self, value: Any) -> None:
        self.p = _probability(self.key, value)

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Drop with probability p, else pass through."""
        feedback = self.passthrough(instance, transcript, verdict, rng)
        return self.silent() if rng.random() < self.p else feedback


class Delay(NoiseWrapper):
    """Feedback arrives k turns late; the first k turns of an episode get none."""

    key = "delay"

    def configure(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"noise 'delay' must be a number of turns >= 0, got {value!r}")
        self.k = value
        self.queue: deque[Feedback] = deque()

    def reset(self) -> None:
        self.queue.clear()
        super().reset()

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Queue this turn's feedback and release the one from k turns ago."""
        self.queue.append(self.passthrough(instance, transcript, verdict, rng))
        return self.queue.popleft() if len(self.queue) > self.k else self.silent()


class OneSided(NoiseWrapper):
    """Only failures (or only successes) are reported; the other side gets no feedback."""

    key = "one_sided"

    def configure(self, value: Any) -> None:
        if value not in ("failures", "successes"):
            raise ValueError(f"noise 'one_sided' must be 'failures' or 'successes', got {value!r}")
        self.reports_success = value == "successes"

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Pass through the reported side, withhold the other."""
        feedback = self.passthrough(instance, transcript, verdict, rng)
        if feedback.label is not None and feedback.label != self.reports_success:
            return self.silent()
        return feedback


class AnnotatorPool(NoiseWrapper):
    """Each answer is judged by a random annotator of a pool, each with its own flip probability."""

    key = "annotators"

    def configure(self, value: Any) -> None:
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"noise 'annotators' must be a non-empty list of flip probabilities, got {value!r}")
        self.flips = [_probability("annotators", p) for p in value]

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Pick an annotator, then flip with its probability."""
        annotator = int(rng.integers(len(self.flips)))
        flipped = rng.random() < self.flips[annotator]
        feedback = self.as_if(instance, transcript, verdict, not verdict.correct, rng) if flipped else \
            self.inner.respond(instance, transcript, verdict, rng)
        return dataclasses.replace(feedback, source=f"{self.name}[{annotator}]")


class LengthBias(NoiseWrapper):
    """Longer wrong answers are more often judged right: P = strength * min(1, length / scale)."""

    key = "length_bias"

    def configure(self, value: Any) -> None:
        spec = value if isinstance(value, Mapping) else {"strength": value}
        unknown = set(spec) - {"strength", "scale"}
        if unknown:
            raise ValueError(f"noise 'length_bias' takes strength and scale, not {sorted(unknown)}")
        self.strength = _probability("length_bias strength", spec.get("strength", 0.5))
        scale = spec.get("scale", 500)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise ValueError(f"noise 'length_bias' scale must be a positive number of characters, got {scale!r}")
        self.scale = float(scale)

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Approve a wrong answer with a probability that grows with its length."""
        length = len(transcript[-1]["content"]) if transcript else 0
        if not verdict.correct and rng.random() < self.strength * min(1.0, length / self.scale):
            return self.as_if(instance, transcript, verdict, True, rng)
        return self.passthrough(instance, transcript, verdict, rng)


class Sycophancy(NoiseWrapper):
    """A wrong answer that sounds confident ("definitely", "I'm sure") is approved with probability p."""

    key = "sycophancy"

    def configure(self, value: Any) -> None:
        self.p = _probability(self.key, value)

    def respond(self, instance: Instance, transcript: Sequence[Message], verdict: Verdict,
                rng: np.random.Generator) -> Feedback:
        """Agree with confident wrong answers with probability p."""
        reply = transcript[-1]["content"] if transcript else ""
        if not verdict.correct and _CONFIDENT.search(reply[:20_000]) and rng.random() < self.p:
            return self.as_if(instance, transcript, verdict, True, rng)
        return self.passthrough(instance, transcript, verdict, rng)


NOISES: dict[str, type[NoiseWrapper]] = {
    cls.key: cls for cls in (Flip, Drop, Delay, OneSided, AnnotatorPool, LengthBias, Sycophancy)
}


def apply_noise(simulator: Simulator, noise: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Simulator:
    """Wrap ``simulator`` in the noise ``noise`` describes (see the module docstring)."""
    if noise is None:
        return simulator
    layers = [noise] if isinstance(noise, Mapping) else noise
    if not isinstance(layers, (list, tuple)) or not all(isinstance(layer, Mapping) for layer in layers):
        raise ValueError(f"noise must be a dict such as {{'flip': 0.3}} or a list of such dicts, got {noise!r}")
    for layer in layers:
        for key, value in layer.items():
            if key not in NOISES:
                raise ValueError(f"unknown noise {key!r}; known: {', '.join(sorted(NOISES))}")
            simulator = NOISES[key](simulator, value)
    return simulator
