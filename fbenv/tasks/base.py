"""What a task is: a set of instances, a prompt for each, and a checker that returns a Verdict.

A task knows the truth and explains it; it never decides what the agent is told (that is the
simulator's job). Adding a task is one file: subclass :class:`Task`, set ``family`` and
``feedback_kinds``, implement ``instance`` and ``check``, and register it in ``fbenv/envs.py``.
The registry-wide contract tests then cover it with no new test code.

Tasks whose episodes are more than answer-and-feedback (search a corpus, open a document, ask the
user a question) declare *moves*: :meth:`Task.parse_move` tells a move from an answer,
:meth:`Task.play_move` plays it against per-episode state from :meth:`Task.new_episode`, and
:meth:`Task.check_episode` judges the final answer with that state (e.g. which queries found a
supporting document), and :meth:`Task.episode_info` may report it in ``info["episode"]``. A move's
result is the next observation; it carries no verdict and no feedback, so the feedback kinds keep
their meaning (they speak only about answers). When a simulated user voices a move's result in its
own way (a partial answer, a slip of the tongue), :meth:`Task.note_reply` tells the task what was
actually said, so its episode state stays true.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

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
    #: ``Instance(...)`` for hot paths (see :func:`fbenv.feedback.fast_init`).
    make: ClassVar[Callable[..., Instance]]


@fast_init
@dataclass(frozen=True)
class Move:
    """A reply that acts inside the episode instead of answering.

    Attributes:
        name: what kind of move, e.g. ``"search"``, ``"open"``, ``"ask"``.
        argument: its argument as the agent wrote it (the query, the document id, the question).
    """

    name: str
    argument: str = ""


@fast_init
@dataclass(frozen=True)
class MoveResult:
    """What a move produced.

    Attributes:
        text: the next observation (search results, a document, the user's answer).
        details: JSON-able facts for ``info["move"]`` and for a simulated user (e.g. retrieved ids,
            which slot a question asked about and its true value).
        cost: subtracted from this step's reward (pay-per-search).
        to_user: the move addresses the user; a simulator with a ``reply_to_move`` method then
            voices the answer (persona, partial answers, leaving), else ``text`` is shown as is.
        end_episode: the episode ends here (a user who leaves).
        source: who produced ``text``: ``"tool"`` (the env's tools) or ``"user"``.
    """

    text: str
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    cost: float = 0.0
    to_user: bool = False
    end_episode: bool = False
    source: str = "tool"


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
    #: The simulator used for every feedback kind it gives when ``simulator=`` names none, before the
    #: per-kind defaults: conversation tasks name their simulated user here (the user *is* the env).
    default_simulator: ClassVar[str | None] = None

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

    # --- episodes with moves (search, open, ask); the defaults make every reply an answer --------
    def parse_move(self, reply: str) -> Move | None:
        """The move ``reply`` makes, or None when it is an answer to judge; must not raise on any string."""
        return None

    def new_episode(self, instance: Instance) -> Any:
        """Fresh per-episode state for ``instance`` (what was searched, what the user revealed)."""
        return None

    def play_move(self, instance: Instance, move: Move, state: Any, rng: np.random.Generator) -> MoveResult:
        """Play ``move`` (updating ``state``); randomness only from ``rng``; must not raise on hostile text."""
        raise NotImplementedError(f"task {self.name!r} parses moves but does not play them")

    def note_reply(self, instance: Instance, move: Move, result: MoveResult, state: Any) -> None:  # noqa: B027
        """What the user finally said in answer to ``move`` (after a simulator voiced it); the default ignores it."""

    def check_episode(self, instance: Instance, reply: str, state: Any) -> Verdict:
        """Judge the final answer knowing the episode so far; the default ignores the state."""
        return self.check(instance, reply)

    def episode_info(self, instance: Instance, state: Any) -> dict[str, Any] | None:
        """JSON-able facts about the episode so far (searches used, documents found) for ``info["episode"]``.

        The env adds the key on every step only for tasks that override this.
        """
        return None

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release resources (processes, files); the default holds none."""
