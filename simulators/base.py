"""The simulator interface: turn a task's Verdict into the feedback a user or critic would give.

A simulator never re-implements task logic; it reads the :class:`~fbenv.feedback.Verdict` (ground
truth with explanations) and decides what to *say*. Any simulator therefore works with any task.
Randomness comes only from the ``rng`` the env passes in (the env's seeded generator), so the same
seed and actions give the same feedback, byte for byte.

A simulator of your own is a subclass (or any class with ``kinds``, ``kind`` and ``respond``),
named to ``gym.make`` as ``simulator="package.module:Class"``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from fbenv.feedback import Feedback, Verdict, check_kind
from fbenv.tasks.base import Instance

Message = Mapping[str, str]

#: Feedback already built by :meth:`Simulator.make_feedback`, by everything that defines it.
_MADE: dict[tuple[Any, ...], Feedback] = {}
_MADE_LIMIT = 4096


class Simulator(ABC):
    """Base class for simulated users and critics.

    Subclasses set ``kinds`` (the feedback kinds they can give) and implement :meth:`respond`.
    Constructor keyword arguments come from ``gym.make(..., simulator_kwargs={...})`` and must be
    JSON-able, so the env spec names exactly what produced an episode.
    """

    #: The registered name, recorded in every Feedback's ``source``.
    name: ClassVar[str] = ""
    #: The feedback kinds this simulator can give.
    kinds: ClassVar[tuple[str, ...]] = ()
    #: False for simulators that mislead on purpose (the contract tests then skip "the right answer
    #: gets positive feedback" for them; everything else still holds).
    honest: ClassVar[bool] = True

    def __init__(self, kind: str | None = None) -> None:
        kind = kind if kind is not None else self.kinds[0]
        check_kind(kind)
        if kind not in self.kinds:
            raise ValueError(
                f"simulator {self.name or type(self).__name__!r} gives {', '.join(self.kinds)} feedback, "
                f"not {kind!r}"
            )
        self.kind = kind

    @abstractmethod
    def respond(
        self,
        instance: Instance,
        transcript: Sequence[Message],
        verdict: Verdict,
        rng: np.random.Generator,
    ) -> Feedback:
        """The feedback on the agent's latest reply (the last message of ``transcript``).

        ``transcript`` holds the env's own message dicts: read them, never modify them.
        """

    def reset(self) -> None:  # noqa: B027  (optional hook)
        """A new episode starts; simulators with per-episode state (a delay queue) clear it here."""

    def make_feedback(
        self, text: str, label: bool | None, step_labels: tuple[bool, ...] = (), score: float | None = None,
        **fields: Any,
    ) -> Feedback:
        """A Feedback of this simulator's kind, stamped with its name.

        Feedback is an immutable value, so identical feedback (every "Correct.", a phrase from a
        fixed pool) is built once and the same object handed out again: 0.23 µs instead of 0.78 µs a
        call (CPython 3.11), a tenth of a rule-based step. Feedback with further ``fields`` is always new.
        """
        source = self.name or type(self).__name__
        # The types too: 1 == 1.0 == True, and the value handed back must be the one asked for.
        key = None if fields else (self.kind, source, text, label, type(label), step_labels, score, type(score))
        if key is not None:
            try:
                made = _MADE.get(key)
            except TypeError:  # unhashable step labels (a list): nothing to reuse
                key = made = None
            if made is not None:
                return made
        made = Feedback.make(kind=self.kind, text=text, label=label, step_labels=step_labels, score=score,
                             source=source, **fields)
        if key is not None:
            if len(_MADE) >= _MADE_LIMIT:  # varied texts (critiques with numbers): start over, bounded
                _MADE.clear()
            _MADE[key] = made
        return made
