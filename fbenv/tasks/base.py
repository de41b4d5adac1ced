"""What a task is: a set of instances, a prompt for each, and a checker that returns a Verdict.

A task knows the truth and explains it; it never decides what the agent is told (that is the
simulator's job). Adding a task is one file: subclass :class:`Task`, set ``family`` and
``feedback_kinds``, implement ``instance`` and ``check``, and register it in ``fbenv/envs.py``.
The registry-wide contract tests then cover it with no new test code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fbenv.feedback import Verdict, fast_init

#: Index space used for procedural tasks that can generate as many instances as asked for.
PROCEDURAL_SIZE = 2**31 - 1


@fast_init
@dataclass(frozen=True)
class Instance:
    """One concrete problem.

    Attributes:
        task_id: a stable id that names this exact instance (task, config and index).
        index: the instance's index within its task.
        prompt: what the agent sees at reset.
        reference: the reference final answer.
        oracle_action: a reply that solves the instance on the first turn (used by contract tests,
            oracle agents and upper bounds); None only where the source has no reference answer
            (some reasoning-gym datasets accept many answers and only score validity).
        data: task-specific facts the checker needs (kept out of the agent's sight).
    """

    task_id: str
    index: int
    prompt: str
    reference: str
    oracle_action: str | None
    data: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class Task(ABC):
    """A source of instances and the checker for their answers.

    Subclasses take their configuration as keyword arguments in ``__init__`` and must raise
    ValueError naming any bad value, since those arguments arrive straight from ``gym.make``.
    """

    #: The family the task belongs to ("math", "code", "search", "conversation").
    family: ClassVar[str] = ""
    #: The feedback kinds this task supports; the env declares them in its metadata.
    feedback_kinds: ClassVar[tuple[str, ...]] = ("none", "unary", "binary", "text", "process")
    #: Tools the agent may call by default (``tools=`` on the env overrides).
    default_tools: ClassVar[tuple[str, ...]] = ()

    @property
    def name(self) -> str:
        """A short name for ids, e.g. ``"arithmetic"``."""
        return type(self).__name__

    def __len__(self) -> int:
        """How many instances there are (``PROCEDURAL_SIZE`` for generators)."""
        return PROCEDURAL_SIZE

    @abstractmethod
    def instance(self, index: int) -> Instance:
        """The instance at ``index`` (0 <= index < len(self)); the same index gives the same instance."""

    @abstractmethod
    def check(self, instance: Instance, reply: str) -> Verdict:
        """Judge the agent's whole reply to ``instance``; must not raise on any string."""

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release resources (processes, files); the default holds none."""
