"""Personas of simulated conversation users: who the user is, drawn from the env's seed.

A :class:`Persona` sets how a simulated user behaves, not what they want (the task's goal does that):

=================  ==============================================================  =================
field              what it does                                                    sampled from
=================  ==============================================================  =================
``patience``       unhelpful agent turns (a repeated question, a wrong attempt)     4-8
                   the user takes; at that many they leave
``verbosity``      ``"terse"`` (just the fact), ``"normal"`` (a sentence),         uniform
                   ``"chatty"`` (a sentence and small talk)
``cooperativeness``  probability of answering a question fully; otherwise the      0.6-1.0
                   user is not sure yet and says part at most (asked again,
                   they answer fully)
``consistency``    probability of stating a fact right the first time; otherwise   0.8-1.0
                   they slip (say something false) and correct it in their next
                   reply to a question (or when a text complaint touches it)
``feedback_style``  ``"direct"`` (says what is needed), ``"indirect"`` (says what   uniform
                   is wrong), ``"minimal"`` (a word or two)
=================  ==============================================================  =================

``simulator_kwargs={"persona": {"patience": 2}}`` fixes some fields; the rest are drawn from the
env's generator at the episode's first user turn, always all five in this order, so fixing one field
leaves the others as they were. Same seed, same persona.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

VERBOSITY = ("terse", "normal", "chatty")
FEEDBACK_STYLES = ("direct", "indirect", "minimal")
#: The ranges a persona's numbers are drawn from when not fixed (both ends included).
PATIENCE_RANGE = (4, 8)
COOPERATIVENESS_RANGE = (0.6, 1.0)
CONSISTENCY_RANGE = (0.8, 1.0)


@dataclass(frozen=True)
class Persona:
    """How a simulated user behaves (see the module docstring); JSON-able through :meth:`to_dict`."""

    patience: int
    verbosity: str
    cooperativeness: float
    consistency: float
    feedback_style: str

    def to_dict(self) -> dict[str, Any]:
        """The persona as a plain dict (for ``info`` and result files)."""
        return asdict(self)


def check_persona(fixed: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate fixed persona fields; raise a ValueError naming the bad field and what it takes."""
    if fixed is None:
        return {}
    if not isinstance(fixed, Mapping):
        raise ValueError(f"persona must be a dict of persona fields, got {fixed!r}")
    known = [f.name for f in fields(Persona)]
    unknown = sorted(set(fixed) - set(known))
    if unknown:
        raise ValueError(f"unknown persona field(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")
    rules = {
        "patience": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an int >= 1"),
        "verbosity": (lambda v: v in VERBOSITY, f"one of {', '.join(VERBOSITY)}"),
        "cooperativeness": (_is_probability, "a number in [0, 1]"),
        "consistency": (_is_probability, "a number in [0, 1]"),
        "feedback_style": (lambda v: v in FEEDBACK_STYLES, f"one of {', '.join(FEEDBACK_STYLES)}"),
    }
    for name, value in fixed.items():
        valid, takes = rules[name]
        if not valid(value):
            raise ValueError(f"persona {name} must be {takes}, got {value!r}")
    return dict(fixed)


def _is_probability(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def sample_persona(rng: np.random.Generator, fixed: Mapping[str, Any] | None = None) -> Persona:
    """A persona drawn from ``rng`` (all five fields, always in the same order), with ``fixed`` fields kept."""
    drawn = {
        "patience": int(rng.integers(PATIENCE_RANGE[0], PATIENCE_RANGE[1] + 1)),
        "verbosity": VERBOSITY[int(rng.integers(len(VERBOSITY)))],
        "cooperativeness": round(float(rng.uniform(*COOPERATIVENESS_RANGE)), 3),
        "consistency": round(float(rng.uniform(*CONSISTENCY_RANGE)), 3),
        "feedback_style": FEEDBACK_STYLES[int(rng.integers(len(FEEDBACK_STYLES)))],
    }
    return Persona(**{**drawn, **check_persona(fixed)})
